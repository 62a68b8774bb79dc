/* plugins/s3/get.c — get / get_ex: GetObject, whole or one range, into the host's fd (pwrite at
 * the offset for a regular file, in order for a pipe); a whole object is verified against its
 * ETag (a single PUT's MD5) and the SHA-1 the plugin keeps in X-Amz-Meta-Sha1. */
#include "operations.h"

#include "digest.h"
#include "host_services.h"
#include "instance.h"
#include "meta.h"
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sink {
    int fd, seekable;
    int64_t base, written;
    struct s3_digest *md5, *sha1;
    struct s3_http_response *response; /* its headers are there once the body flows */
    const char *key;
    stor_object_fn on_start;
    void *start_context;
    int started, start_refused;
};

static int write_body(void *context, const char *data, size_t size)
{
    struct sink *sink = context;
    if (!sink->started) {
        sink->started = 1;
        if (sink->on_start) {
            struct s3_object_view view;
            s3_meta_read(sink->response, sink->key, &view);
            if (sink->on_start(sink->start_context, &view.object) != 0) {
                sink->start_refused = 1;
                return -1;
            }
        }
    }
    s3_digest_update(sink->md5, data, size);
    s3_digest_update(sink->sha1, data, size);
    while (size > 0) {
        ssize_t done = sink->seekable ? pwrite(sink->fd, data, size, sink->base + sink->written)
                                      : write(sink->fd, data, size);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return -1;
        data += done;
        size -= (size_t)done;
        sink->written += done;
    }
    return 0;
}

static int restart(void *context)
{
    struct sink *sink = context;
    if (!sink->seekable && sink->written > 0)
        return -1; /* a pipe cannot take the bytes back */
    sink->written = 0;
    sink->started = 0;
    if (sink->md5) {
        s3_digest_free(sink->md5);
        sink->md5 = s3_digest_new(S3_MD5);
    }
    if (sink->sha1) {
        s3_digest_free(sink->sha1);
        sink->sha1 = s3_digest_new(S3_SHA1);
    }
    return 0;
}

enum stor_status s3_get_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_get_options *options, int fd, stor_object_fn on_result,
                           void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    int64_t offset = options ? options->offset : 0, length = options ? options->length : -1;
    if (options && options->version_id)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 does not keep versions");
    if (options && options->resume)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 does not resume downloads");
    if (offset < 0 || length < -1)
        return stor_fail(err, STOR_EINVAL, "a range starts at 0 or later");
    int ranged = offset > 0 || length >= 0;
    if (length == 0) { /* nothing asked: still a 404 for a missing object */
        struct s3_call head = {.operation = "HeadObject", .method = "HEAD", .bucket = bucket,
                               .key = key, .body_fd = -1};
        struct s3_http_response response;
        enum stor_status status = s3_request(plugin, &head, &response, NULL, err);
        if (status == STOR_ENOTFOUND)
            return stor_fail(err, status, "not found: %s/%s", bucket, key);
        if (status != STOR_OK)
            return status;
        struct s3_object_view view;
        s3_meta_read(&response, key, &view);
        int stop = on_result && on_result(context, &view.object) != 0;
        s3_http_response_free(&response);
        return stop ? stor_fail(err, STOR_ECANCELLED, "stopped") : STOR_OK;
    }
    struct stat info;
    int seekable = fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
    struct s3_http_response response;
    struct sink sink = {.fd = fd, .seekable = seekable, .base = seekable ? lseek(fd, 0, SEEK_CUR) : 0,
                        .md5 = ranged ? NULL : s3_digest_new(S3_MD5),
                        .sha1 = ranged ? NULL : s3_digest_new(S3_SHA1), .response = &response,
                        .key = key, .on_start = options && options->struct_size >=
                                                offsetof(struct stor_get_options, start_context) +
                                                sizeof(void *) ? options->on_start : NULL,
                        .start_context = options ? options->start_context : NULL};
    if (sink.base < 0)
        sink.base = 0;
    char range[64];
    struct s3_sigv4_header headers[1];
    size_t header_count = 0;
    if (ranged) {
        if (length > 0)
            snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)offset,
                     (long long)(offset + length - 1));
        else
            snprintf(range, sizeof range, "bytes=%lld-", (long long)offset);
        headers[header_count++] = (struct s3_sigv4_header){"Range", range};
    }
    struct s3_call call = {.operation = "GetObject", .method = "GET", .bucket = bucket, .key = key,
                           .headers = headers, .header_count = header_count, .body_fd = -1,
                           .write_body = write_body, .write_context = &sink, .restart = restart,
                           .progress_key = key};
    struct s3_wire_error error;
    enum stor_status status = s3_request(plugin, &call, &response, &error, err);
    if (status == STOR_EINVAL && strcmp(error.code, "InvalidRange") == 0)
        status = stor_fail(err, STOR_EINVAL, "%s/%s: the range starts outside the object",
                           bucket, key);
    if (sink.start_refused)
        status = stor_fail(err, STOR_ECANCELLED, "stopped");
    unsigned char md5[16], sha1[20];
    size_t have_md5 = s3_digest_finish(sink.md5, md5), have_sha1 = s3_digest_finish(sink.sha1, sha1);
    if (status != STOR_OK)
        return status;
    if (!sink.started && sink.on_start) { /* an empty object: no body, still a start */
        struct s3_object_view view;
        s3_meta_read(&response, key, &view);
        if (sink.on_start(sink.start_context, &view.object) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "stopped");
    }
    struct s3_object_view view;
    s3_meta_read(&response, key, &view);
    if (status == STOR_OK && !ranged) {
        char md5_hex[33], sha1_hex[41];
        s3_hex(md5, have_md5, md5_hex);
        s3_hex(sha1, have_sha1, sha1_hex);
        if (view.object.size >= 0 && sink.written != view.object.size)
            status = stor_fail(err, STOR_EIO, "%s/%s: %lld bytes arrived of %lld", bucket, key,
                               (long long)sink.written, (long long)view.object.size);
        else if (view.object.sha1 && strcmp(view.object.sha1, sha1_hex) != 0)
            status = stor_fail(err, STOR_EIO, "%s/%s: the bytes' SHA-1 is %s, not the stored %s",
                               bucket, key, sha1_hex, view.object.sha1);
        else if (view.object.md5 && strcmp(view.object.md5, md5_hex) != 0)
            status = stor_fail(err, STOR_EIO, "%s/%s: the bytes' MD5 is %s, not the stored %s",
                               bucket, key, md5_hex, view.object.md5);
        else if (!view.object.sha1 && !view.object.md5)
            s3_log(plugin, STOR_LOG_WARN, "%s/%s: nothing to verify the download against", bucket, key);
        if (status == STOR_OK && !view.object.sha1) {
            memcpy(view.sha1, sha1_hex, sizeof view.sha1);
            view.object.sha1 = view.sha1;
        }
    }
    if (status == STOR_OK && on_result && on_result(context, &view.object) != 0)
        status = stor_fail(err, STOR_ECANCELLED, "stopped");
    s3_http_response_free(&response);
    return status;
}

enum stor_status s3_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct stor_get_options options = {.struct_size = sizeof options, .length = -1};
    return s3_get_ex(instance, bucket, key, &options, fd, on_result, context, err);
}
