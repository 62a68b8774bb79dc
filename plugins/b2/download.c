/* plugins/b2/download.c — get (b2_download_file_by_name): stream the body to the caller's fd,
 * hashing as it arrives, and refuse the result unless it matches the SHA-1 B2 stored. */
#include "b2.h"
#include "names.h"
#include "sha1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct body_writer {
    struct b2_plugin *plugin;
    const char *key;
    int fd;
    int regular;      /* pwrite at start + written, so a retry can start over */
    int64_t start;
    int64_t written;
    struct b2_sha1 sha1;
    int error;        /* errno of a failed write */
};

static int write_body(void *context, const char *data, size_t size)
{
    struct body_writer *writer = context;
    b2_sha1_update(&writer->sha1, data, size);
    while (size > 0) {
        ssize_t wrote = writer->regular
                            ? pwrite(writer->fd, data, size, writer->start + writer->written)
                            : write(writer->fd, data, size);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            writer->error = wrote < 0 ? errno : EIO;
            return -1;
        }
        data += wrote;
        size -= (size_t)wrote;
        writer->written += wrote;
    }
    return 0;
}

static int on_progress(void *context, uint64_t sent, uint64_t received)
{
    (void)sent;
    struct body_writer *writer = context;
    const struct stor_host *host = writer->plugin->host;
    if (host && host->progress)
        host->progress(host, writer->key, received, 0);
    return b2_cancelled(writer->plugin);
}

/* The SHA-1 B2 holds for the whole file, or NULL when it has none (large file without
 * large_file_sha1). */
static const char *expected_sha1(const struct b2_http_response *response)
{
    const char *sha1 = b2_http_header(response, "X-Bz-Content-Sha1");
    if (!sha1 || strcmp(sha1, "none") == 0)
        sha1 = b2_http_header(response, "X-Bz-Info-large_file_sha1");
    if (sha1 && strncmp(sha1, "unverified:", 11) == 0)
        sha1 += 11;
    return sha1 && strlen(sha1) == B2_SHA1_HEX_LENGTH ? sha1 : NULL;
}

static int64_t header_int(const struct b2_http_response *response, const char *name)
{
    const char *value = b2_http_header(response, name);
    char *end;
    long long number = value ? strtoll(value, &end, 10) : -1;
    return value && end != value && *end == '\0' ? number : -1;
}

static enum stor_status finish(struct b2_plugin *plugin, const char *key,
                               const struct b2_http_response *response, struct body_writer *writer,
                               stor_object_fn on_result, void *context, struct stor_error *err)
{
    char sha1[B2_SHA1_HEX_LENGTH + 1];
    b2_sha1_final(&writer->sha1, sha1);
    const char *expected = expected_sha1(response);
    if (expected && strcasecmp(expected, sha1) != 0)
        return stor_fail(err, STOR_EIO, "%s: the downloaded data does not match its SHA-1 "
                         "(B2 has %s, received %s)", key, expected, sha1);
    if (!expected)
        b2_log(plugin, STOR_LOG_WARN, "%s: B2 holds no SHA-1 for this file; not verified", key);
    if (writer->regular)
        lseek(writer->fd, writer->start + writer->written, SEEK_SET);
    int64_t mtime = header_int(response, "X-Bz-Info-src_last_modified_millis");
    struct stor_object object = {
        .key = key,
        .size = writer->written,
        .mtime_ms = mtime >= 0 ? mtime : header_int(response, "X-Bz-Upload-Timestamp"),
        .sha1 = sha1,
        .id = b2_http_header(response, "X-Bz-File-Id"),
        .content_type = b2_http_header(response, "Content-Type"),
    };
    if (on_result)
        on_result(context, &object);
    return STOR_OK;
}

enum stor_status b2_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    if (!*bucket)
        return stor_fail(err, STOR_EINVAL, "a bucket name is required");
    struct stat info;
    if (fstat(fd, &info) != 0)
        return stor_fail(err, STOR_EIO, "%s: cannot stat the output: %s", key, strerror(errno));
    struct b2_credentials credentials;
    enum stor_status status = b2_auth_get(plugin, &credentials, err);
    if (status != STOR_OK)
        return status;
    char *encoded_bucket = b2_percent_encode(bucket), *encoded_key = b2_percent_encode(key);
    struct body_writer writer = {.plugin = plugin, .key = key, .fd = fd,
                                 .regular = S_ISREG(info.st_mode)};
    if (writer.regular && (writer.start = lseek(fd, 0, SEEK_CUR)) < 0)
        writer.start = 0;
    struct b2_backoff backoff;
    b2_backoff_start(plugin, &backoff);
    int reauthorized = 0;
    for (;;) {
        char *url = NULL, *authorization = NULL;
        if (!encoded_bucket || !encoded_key ||
            asprintf(&url, "%s/file/%s/%s", credentials.download_url, encoded_bucket, encoded_key) < 0 ||
            asprintf(&authorization, "Authorization: %s", credentials.token) < 0 ||
            b2_sha1_init(&writer.sha1) != 0) {
            free(url);
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        const char *headers[] = {authorization};
        struct b2_http_request request = {
            .method = "GET", .url = url, .headers = headers, .header_count = 1,
            .write_body = write_body, .write_context = &writer,
            .progress = on_progress, .progress_context = &writer};
        struct b2_http_response response;
        b2_log(plugin, STOR_LOG_TRACE, "GET %s", url);
        b2_perform(plugin, "class_b", &request, &response);
        free(url);
        free(authorization);
        struct b2_failure failure;
        b2_failure_from_response(&response, credentials.token, &failure);
        if (failure.kind == B2_FAILURE_NONE) {
            status = finish(plugin, key, &response, &writer, on_result, context, err);
            b2_http_response_free(&response);
            break;
        }
        b2_http_response_free(&response);
        b2_sha1_abandon(&writer.sha1);
        if (failure.outcome == B2_HTTP_LOCAL) {
            status = stor_fail(err, STOR_EIO, "%s: writing the output failed: %s", key,
                               strerror(writer.error ? writer.error : EIO));
            break;
        }
        int retry = failure.kind == B2_FAILURE_TRANSIENT ||
                    (failure.kind == B2_FAILURE_EXPIRED && !reauthorized);
        if (retry && writer.written > 0) {
            if (!writer.regular) {
                status = stor_fail(err, STOR_EIO, "%s: the download broke off after %lld bytes and "
                                   "cannot restart into a pipe (%s)", key,
                                   (long long)writer.written, failure.message);
                break;
            }
            if (ftruncate(fd, writer.start) != 0) {
                status = stor_fail(err, STOR_EIO, "%s: cannot restart the download: %s", key,
                                   strerror(errno));
                break;
            }
            writer.written = 0;
        }
        if (failure.kind == B2_FAILURE_EXPIRED && !reauthorized) {
            uint64_t stale = credentials.generation;
            b2_credentials_free(&credentials);
            status = b2_auth_refresh(plugin, stale, err);
            if (status == STOR_OK)
                status = b2_auth_get(plugin, &credentials, err);
            if (status != STOR_OK)
                break;
            reauthorized = 1;
            continue;
        }
        if (failure.kind == B2_FAILURE_TRANSIENT) {
            int waited = b2_backoff_wait(plugin, &backoff, failure.retry_after_ms);
            if (waited == 0)
                continue;
            status = waited == -2 ? stor_fail(err, STOR_ECANCELLED, "%s: cancelled", key)
                                  : stor_fail(err, STOR_ETRANSIENT, "%s: download failed %d times; "
                                              "last error: HTTP %ld %s %s", key, backoff.tries,
                                              failure.http_status, failure.code, failure.message);
            break;
        }
        if (failure.http_status == 404)
            status = stor_fail(err, STOR_ENOTFOUND, "no such file: %s/%s", bucket, key);
        else
            status = b2_fail(plugin, err, "b2_download_file_by_name", &failure, "readFiles");
        break;
    }
    b2_credentials_free(&credentials);
    free(encoded_bucket);
    free(encoded_key);
    return status;
}
