/* plugins/s3/put.c — put_ex / put: one PutObject up to the cutoff (Content-MD5, the whole file's
 * SHA-1 and rclone's mtime kept as metadata), multipart.c above it; a pipe is read one part ahead
 * and goes up whole when it ends within that part. */
#include "operations.h"

#include "digest.h"
#include "instance.h"
#include "meta.h"
#include "multipart.h"
#include "request.h"
#include "sp_host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int report(stor_object_fn on_result, void *context, const char *key, int64_t size,
                  int64_t mtime_ms, const char *sha1, const char *md5, const char *content_type)
{
    struct stor_object object = {.key = key, .size = size, .mtime_ms = mtime_ms,
                                 .sha1 = sha1 && *sha1 ? sha1 : NULL, .md5 = md5 && *md5 ? md5 : NULL,
                                 .content_type = content_type, .upload_ms = -1,
                                 .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    return on_result ? on_result(context, &object) : 0;
}

/* One PutObject of a file range (fd, offset, size) or of memory (body). */
static enum stor_status put_whole(struct s3_plugin *plugin, const char *bucket, const char *key,
                                  const struct stor_put_options *options, int64_t mtime_ms, int fd,
                                  int64_t offset, int64_t size, const char *body, char sha1[41],
                                  char md5_hex[33], struct stor_error *err)
{
    unsigned char md5[16], raw_sha1[20];
    const char *trusted = options && options->sha1 && strlen(options->sha1) == 40 ? options->sha1 : NULL;
    if (body) {
        s3_digest_of(S3_MD5, body, (size_t)size, md5);
        s3_digest_of(S3_SHA1, body, (size_t)size, raw_sha1);
        s3_hex(raw_sha1, 20, sha1);
    } else {
        struct s3_digest *digest_md5 = s3_digest_new(S3_MD5);
        struct s3_digest *digest_sha1 = trusted ? NULL : s3_digest_new(S3_SHA1);
        struct s3_digest *digests[] = {digest_md5, digest_sha1};
        if (!digest_md5 || (!trusted && !digest_sha1) ||
            s3_digest_fd(fd, offset, size, digests, trusted ? 1 : 2) != 0) {
            int error = errno;
            s3_digest_free(digest_md5);
            s3_digest_free(digest_sha1);
            return stor_fail(err, STOR_EIO, "reading the source: %s", strerror(error));
        }
        s3_digest_finish(digest_md5, md5);
        if (trusted) {
            memcpy(sha1, trusted, 40);
            sha1[40] = '\0';
        } else {
            s3_digest_finish(digest_sha1, raw_sha1);
            s3_hex(raw_sha1, 20, sha1);
        }
    }
    if (trusted && strcmp(trusted, sha1) != 0)
        return stor_fail(err, STOR_EIO, "the source's SHA-1 is %s, not %s as given", sha1, trusted);
    s3_hex(md5, 16, md5_hex);
    char md5_base64[32];
    s3_base64(md5, 16, md5_base64);
    struct s3_put_meta meta;
    enum stor_status status = s3_meta_build(plugin, options, sha1, NULL, mtime_ms, &meta, err);
    if (status != STOR_OK)
        return status;
    struct s3_sigv4_header headers[S3_META_HEADERS_MAX + 1];
    size_t count = 0;
    headers[count++] = (struct s3_sigv4_header){"Content-MD5", md5_base64};
    for (size_t i = 0; i < meta.count; i++)
        headers[count++] = meta.headers[i];
    struct s3_call call = {.operation = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
                           .headers = headers, .header_count = count, .body = body,
                           .body_length = body ? (size_t)size : 0, .body_fd = body ? -1 : fd,
                           .body_offset = offset, .body_size = size, .sign_body = body != NULL,
                           .progress_key = key, .progress_total = size};
    struct sp_http_response response;
    status = s3_request(plugin, &call, &response, NULL, err);
    s3_meta_free(&meta);
    if (status != STOR_OK)
        return status;
    char etag[80];
    s3_wire_etag(sp_http_header(&response, "ETag"), etag);
    int etag_is_md5 = s3_meta_etag_is_md5(&response);
    sp_http_response_free(&response);
    /* A plain PUT's ETag is its MD5 (not with SSE-KMS or SSE-C, whose ETags are opaque). */
    if (etag_is_md5 && strlen(etag) == 32 && strcmp(etag, md5_hex) != 0 && !strchr(etag, '-'))
        sp_log(plugin->host, STOR_LOG_WARN,
               "%s/%s: S3's ETag %s is not the MD5 %s (encrypted by KMS?)",
               bucket, key, etag, md5_hex);
    return STOR_OK;
}

static ssize_t read_full(int fd, char *buffer, size_t size)
{
    size_t have = 0;
    while (have < size) {
        ssize_t got = read(fd, buffer + have, size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        have += (size_t)got;
    }
    return (ssize_t)have;
}

enum stor_status s3_put_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_put_options *options, int fd, stor_object_fn on_result,
                           void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct stat info;
    if (fstat(fd, &info) != 0)
        return stor_fail(err, STOR_EIO, "the source: %s", strerror(errno));
    int64_t mtime_ms = options && options->mtime_ms >= 0 ? options->mtime_ms : -1;
    const char *content_type = options && options->content_type ? options->content_type
                                                                : plugin->config.content_type;
    char sha1[41] = "", md5[33] = "";
    enum stor_status status;
    if (S_ISREG(info.st_mode)) {
        if (mtime_ms < 0)
            mtime_ms = (int64_t)info.st_mtim.tv_sec * 1000 + info.st_mtim.tv_nsec / 1000000;
        off_t offset = lseek(fd, 0, SEEK_CUR);
        if (offset < 0)
            offset = 0;
        int64_t size = (int64_t)info.st_size - offset;
        if (size < 0)
            size = 0;
        if (size <= plugin->config.upload_cutoff) {
            status = put_whole(plugin, bucket, key, options, mtime_ms, fd, offset, size, NULL,
                               sha1, md5, err);
        } else {
            struct s3_upload_source source = {.fd = fd, .offset = offset, .size = size};
            struct s3_upload_result result;
            status = s3_multipart_put(plugin, bucket, key, options, mtime_ms, &source, &result, err);
            memcpy(sha1, result.sha1, sizeof sha1);
            memcpy(md5, result.md5, sizeof md5);
        }
        if (status == STOR_OK && report(on_result, context, key, size, mtime_ms, sha1, md5,
                                        content_type) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "stopped");
        return status;
    }
    /* A pipe: one part's worth first; a stream that ends inside it goes up in one PutObject. */
    int64_t part_size;
    status = s3_multipart_part_size(plugin->config.part_size, -1, &part_size, err);
    if (status != STOR_OK)
        return status;
    size_t first_size = (size_t)(part_size < plugin->config.upload_cutoff ? part_size
                                                                          : plugin->config.upload_cutoff);
    char *first = malloc(first_size + 1);
    if (!first)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    ssize_t got = read_full(fd, first, first_size);
    if (got < 0) {
        status = stor_fail(err, STOR_EIO, "reading the source: %s", strerror(errno));
    } else if ((size_t)got < first_size) {
        status = put_whole(plugin, bucket, key, options, mtime_ms, -1, 0, got, first, sha1, md5, err);
        if (status == STOR_OK && report(on_result, context, key, got, mtime_ms, sha1, md5,
                                        content_type) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "stopped");
    } else {
        if (options && options->sha1)
            sp_log(plugin->host, STOR_LOG_INFO, "%s/%s: a stream's SHA-1 is not kept in parts", bucket, key);
        struct s3_upload_source source = {.fd = fd, .size = -1, .first = first,
                                          .first_length = (size_t)got};
        struct s3_upload_result result;
        status = s3_multipart_put(plugin, bucket, key, options, mtime_ms, &source, &result, err);
        if (status == STOR_OK && report(on_result, context, key, result.size, mtime_ms,
                                        result.sha1, result.md5, content_type) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "stopped");
    }
    free(first);
    return status;
}

enum stor_status s3_put(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct stor_put_options options = {.struct_size = sizeof options, .size = -1, .mtime_ms = -1,
                                       .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    return s3_put_ex(instance, bucket, key, &options, fd, on_result, context, err);
}
