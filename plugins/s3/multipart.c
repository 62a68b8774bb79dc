/* plugins/s3/multipart.c — a put above the cutoff as an S3 multipart upload (multipart.h):
 * hashed first (whole SHA-1 and MD5, each part's MD5), resumed where an unfinished upload of the
 * same name has parts with our sizes and MD5s, the rest sent `transfers` at a time, completed;
 * and a copy above copy_cutoff as UploadPartCopy parts, pinned to the source's ETag. */
#include "multipart.h"

#include "digest.h"
#include "meta.h"
#include "request.h"
#include "sp_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1LL << 20)

enum stor_status s3_multipart_part_size(int64_t configured, int64_t size, int64_t *part_size,
                                        struct stor_error *err)
{
    if (configured > 0) {
        if (size > 0 && (size + configured - 1) / configured > S3_PARTS_MAX) {
            int64_t fits = (size + S3_PARTS_MAX - 1) / S3_PARTS_MAX;
            return stor_fail(err, STOR_EINVAL, "option part_size %lld is too small for %lld "
                             "bytes: S3 takes %d parts, so at least %lld bytes a part (up to "
                             "%lld)", (long long)configured, (long long)size, S3_PARTS_MAX,
                             (long long)fits, (long long)S3_PART_SIZE_MAX);
        }
        *part_size = configured;
        return STOR_OK;
    }
    int64_t part = S3_DEFAULT_PART_SIZE;
    if (size > 0 && (size + part - 1) / part > S3_PARTS_MAX)
        part = ((size + S3_PARTS_MAX - 1) / S3_PARTS_MAX + MIB - 1) / MIB * MIB;
    if (part > S3_PART_SIZE_MAX)
        return stor_fail(err, STOR_EINVAL, "%lld bytes is more than S3 keeps in one object "
                         "(%lld)", (long long)size, (long long)S3_OBJECT_MAX);
    *part_size = part;
    return STOR_OK;
}

struct part {
    int64_t offset, size;
    unsigned char md5[16];
    char etag[80];
    int done;
};

struct upload {
    struct s3_plugin *plugin;
    const char *bucket, *key, *upload_id;
    const struct s3_upload_source *source;
    int64_t part_size;
    struct part *parts;
    size_t part_count;           /* a stream's grows as it is read */
    size_t next;                 /* the next part a worker takes */
    int stream_ended;
    struct s3_digest *stream_sha1, *stream_md5;
    int64_t stream_total;
    pthread_mutex_t lock;
    enum stor_status status;
    struct stor_error error;
    uint64_t bytes_done;
};

static void fail_upload(struct upload *upload, enum stor_status status, const struct stor_error *err)
{
    pthread_mutex_lock(&upload->lock);
    if (upload->status == STOR_OK) {
        upload->status = status;
        upload->error = *err;
    }
    pthread_mutex_unlock(&upload->lock);
}

/* A stream's next part, read under the lock into buffer: its index, or -1 at the end / failure. */
static long read_stream_part(struct upload *upload, char *buffer, size_t *length, struct stor_error *err,
                             enum stor_status *status)
{
    *status = STOR_OK;
    if (upload->stream_ended)
        return -1;
    size_t have = 0;
    if (upload->part_count == 0 && upload->source->first_length) {
        memcpy(buffer, upload->source->first, upload->source->first_length);
        have = upload->source->first_length;
    }
    while (have < (size_t)upload->part_size) {
        ssize_t got = read(upload->source->fd, buffer + have, (size_t)upload->part_size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *status = stor_fail(err, STOR_EIO, "reading the source: %s", strerror(errno));
            return -1;
        }
        if (got == 0) {
            upload->stream_ended = 1;
            break;
        }
        have += (size_t)got;
    }
    if (have == 0 && upload->part_count > 0)
        return -1;
    if (upload->part_count >= S3_PARTS_MAX) {
        *status = stor_fail(err, STOR_EINVAL, "the stream is longer than %d parts of %lld bytes: "
                            "give a larger -o part_size", S3_PARTS_MAX, (long long)upload->part_size);
        return -1;
    }
    struct part *part = &upload->parts[upload->part_count];
    memset(part, 0, sizeof *part);
    part->offset = upload->stream_total;
    part->size = (int64_t)have;
    s3_digest_of(S3_MD5, buffer, have, part->md5);
    s3_digest_update(upload->stream_sha1, buffer, have);
    s3_digest_update(upload->stream_md5, buffer, have);
    upload->stream_total += (int64_t)have;
    *length = have;
    return (long)upload->part_count++;
}

static enum stor_status send_part(struct upload *upload, size_t index, const char *buffer,
                                  struct stor_error *err)
{
    struct part *part = &upload->parts[index];
    char number[24], md5_base64[32], md5_hex[33];
    snprintf(number, sizeof number, "%zu", index + 1);
    s3_base64(part->md5, 16, md5_base64);
    s3_hex(part->md5, 16, md5_hex);
    struct s3_sigv4_param params[] = {{"partNumber", number}, {"uploadId", upload->upload_id}};
    struct s3_sigv4_header headers[] = {{"Content-MD5", md5_base64}};
    struct s3_call call = {
        .operation = "UploadPart", .method = "PUT", .bucket = upload->bucket, .key = upload->key,
        .params = params, .param_count = 2, .headers = headers, .header_count = 1,
        .body = buffer, .body_length = buffer ? (size_t)part->size : 0,
        .body_fd = buffer ? -1 : upload->source->fd,
        .body_offset = upload->source->offset + part->offset, .body_size = part->size};
    struct sp_http_response response;
    enum stor_status status = s3_request(upload->plugin, &call, &response, NULL, err);
    if (status != STOR_OK)
        return status;
    char etag[80];
    s3_wire_etag(sp_http_header(&response, "ETag"), etag);
    int etag_is_md5 = s3_meta_etag_is_md5(&response); /* not under SSE-KMS or SSE-C */
    sp_http_response_free(&response);
    if (!etag[0] || strpbrk(etag, "\"<>&\r\n"))
        return stor_fail(err, STOR_EINTERNAL, "S3 UploadPart %s/%s part %zu: no usable ETag in "
                         "the answer", upload->bucket, upload->key, index + 1);
    if (etag_is_md5 && strlen(etag) == 32 && strcmp(etag, md5_hex) != 0)
        return stor_fail(err, STOR_EIO, "S3 UploadPart %s/%s part %zu: stored MD5 %s is not the "
                         "part's %s", upload->bucket, upload->key, index + 1, etag, md5_hex);
    snprintf(part->etag, sizeof part->etag, "%s", etag);
    part->done = 1;
    return STOR_OK;
}

static void *worker(void *context)
{
    struct upload *upload = context;
    int streaming = upload->source->size < 0;
    char *buffer = streaming ? malloc((size_t)upload->part_size) : NULL;
    struct stor_error err = {{0}};
    if (streaming && !buffer) {
        stor_fail(&err, STOR_EINTERNAL, "out of memory for a part of %lld bytes",
                  (long long)upload->part_size);
        fail_upload(upload, STOR_EINTERNAL, &err);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&upload->lock);
        long index = -1;
        size_t length = 0;
        enum stor_status status = STOR_OK;
        if (upload->status == STOR_OK && !sp_cancelled(upload->plugin->host)) {
            if (streaming) {
                index = read_stream_part(upload, buffer, &length, &err, &status);
            } else {
                while (upload->next < upload->part_count && upload->parts[upload->next].done)
                    upload->next++;
                if (upload->next < upload->part_count)
                    index = (long)upload->next++;
            }
        }
        pthread_mutex_unlock(&upload->lock);
        if (status != STOR_OK) {
            fail_upload(upload, status, &err);
            break;
        }
        if (index < 0)
            break;
        status = send_part(upload, (size_t)index, buffer, &err);
        if (status != STOR_OK) {
            fail_upload(upload, status, &err);
            break;
        }
        pthread_mutex_lock(&upload->lock);
        upload->bytes_done += (uint64_t)upload->parts[index].size;
        uint64_t done = upload->bytes_done;
        pthread_mutex_unlock(&upload->lock);
        sp_progress(upload->plugin->host, upload->key, done,
                    upload->source->size > 0 ? (uint64_t)upload->source->size : 0);
    }
    free(buffer);
    return NULL;
}

static enum stor_status run_workers(struct upload *upload, struct stor_error *err)
{
    int count = upload->plugin->config.transfers;
    if (upload->source->size >= 0 && (size_t)count > upload->part_count)
        count = (int)(upload->part_count ? upload->part_count : 1);
    pthread_t threads[S3_MAX_TRANSFERS];
    int started = 0;
    for (int i = 0; i < count; i++)
        if (pthread_create(&threads[started], NULL, worker, upload) == 0)
            started++;
    if (started == 0)
        worker(upload);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (upload->status != STOR_OK) {
        *err = upload->error;
        return upload->status;
    }
    if (sp_cancelled(upload->plugin->host))
        return stor_fail(err, STOR_ECANCELLED, "cancelled");
    return STOR_OK;
}

static enum stor_status complete(struct upload *upload, struct stor_error *err)
{
    size_t capacity = 128 + upload->part_count * 160;
    char *body = malloc(capacity);
    if (!body)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    size_t length = (size_t)snprintf(body, capacity, "<CompleteMultipartUpload xmlns=\"http://s3."
                                                     "amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < upload->part_count; i++)
        length += (size_t)snprintf(body + length, capacity - length,
                                   "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
                                   i + 1, upload->parts[i].etag);
    length += (size_t)snprintf(body + length, capacity - length, "</CompleteMultipartUpload>");
    struct s3_sigv4_param params[] = {{"uploadId", upload->upload_id}};
    struct s3_sigv4_header headers[] = {{"Content-Type", "application/xml"}};
    struct s3_call call = {.operation = "CompleteMultipartUpload", .method = "POST",
                           .bucket = upload->bucket, .key = upload->key, .params = params,
                           .param_count = 1, .headers = headers, .header_count = 1, .body = body,
                           .body_length = length, .body_fd = -1, .sign_body = 1};
    struct sp_http_response response;
    enum stor_status status = s3_request(upload->plugin, &call, &response, NULL, err);
    free(body);
    if (status != STOR_OK)
        return status;
    char etag[80], why[S3_WHY_MAX];
    struct s3_wire_error error;
    if (s3_wire_result_etag(response.body, response.body_length, "CompleteMultipartUploadResult",
                            etag, &error, why) != 0)
        status = stor_fail(err, error.code[0] && strcmp(error.code, "InternalError") != 0
                                    ? STOR_EIO : STOR_ETRANSIENT,
                           "S3 CompleteMultipartUpload %s/%s: %s", upload->bucket, upload->key, why);
    sp_http_response_free(&response);
    return status;
}

enum stor_status s3_multipart_list(struct s3_plugin *plugin, const char *bucket, const char *prefix,
                                   const char *key_marker, const char *upload_id_marker,
                                   struct s3_uploads_page *page, struct stor_error *err)
{
    struct s3_sigv4_param params[4] = {{"uploads", NULL}};
    size_t count = 1;
    if (prefix && *prefix)
        params[count++] = (struct s3_sigv4_param){"prefix", prefix};
    if (key_marker) {
        params[count++] = (struct s3_sigv4_param){"key-marker", key_marker};
        if (upload_id_marker)
            params[count++] = (struct s3_sigv4_param){"upload-id-marker", upload_id_marker};
    }
    struct s3_call call = {.operation = "ListMultipartUploads", .method = "GET", .bucket = bucket,
                           .params = params, .param_count = count, .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(plugin, &call, &response, NULL, err);
    if (status != STOR_OK)
        return status;
    char why[S3_WHY_MAX];
    if (s3_wire_uploads(response.body, response.body_length, page, why) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "S3 ListMultipartUploads %s: the answer is "
                           "malformed: %s", bucket, why);
    sp_http_response_free(&response);
    return status;
}

enum stor_status s3_multipart_abort(struct s3_plugin *plugin, const char *bucket, const char *key,
                                    const char *upload_id, struct stor_error *err)
{
    struct s3_sigv4_param params[] = {{"uploadId", upload_id}};
    struct s3_call call = {.operation = "AbortMultipartUpload", .method = "DELETE",
                           .bucket = bucket, .key = key, .params = params, .param_count = 1,
                           .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(plugin, &call, &response, NULL, err);
    if (status == STOR_OK)
        sp_http_response_free(&response);
    return status;
}

/* The newest unfinished upload of exactly key (malloc'd id), or NULL; with abort_all every one
 * of them is aborted instead. */
static enum stor_status find_unfinished(struct s3_plugin *plugin, const char *bucket,
                                        const char *key, int abort_all, char **upload_id,
                                        struct stor_error *err)
{
    *upload_id = NULL;
    char *key_marker = NULL, *id_marker = NULL;
    int64_t newest = -2;
    enum stor_status status = STOR_OK;
    for (int pages = 0; status == STOR_OK && pages < 100; pages++) {
        struct s3_uploads_page page;
        status = s3_multipart_list(plugin, bucket, key, key_marker, id_marker, &page, err);
        if (status != STOR_OK)
            break;
        for (size_t i = 0; i < page.count && status == STOR_OK; i++) {
            struct s3_upload_entry *entry = &page.entries[i];
            if (strcmp(entry->key, key) != 0)
                continue;
            if (abort_all) {
                status = s3_multipart_abort(plugin, bucket, key, entry->upload_id, err);
                if (status == STOR_ENOTFOUND)
                    status = STOR_OK;
                else if (status == STOR_OK)
                    sp_log(plugin->host, STOR_LOG_WARN,
                           "resume=no: aborted the unfinished upload %s "
                           "of %s/%s", entry->upload_id, bucket, key);
            } else if (entry->initiated_ms > newest) {
                newest = entry->initiated_ms;
                free(*upload_id);
                *upload_id = strdup(entry->upload_id);
            }
        }
        int more = page.truncated && page.next_key_marker && *page.next_key_marker &&
                   (!key_marker || strcmp(page.next_key_marker, key_marker) != 0 ||
                    (page.next_upload_id_marker && id_marker &&
                     strcmp(page.next_upload_id_marker, id_marker) != 0));
        free(key_marker);
        free(id_marker);
        key_marker = more ? strdup(page.next_key_marker) : NULL;
        id_marker = more && page.next_upload_id_marker ? strdup(page.next_upload_id_marker) : NULL;
        s3_uploads_page_free(&page);
        /* Markers sort after the key once past it: nothing of ours comes later. */
        if (!key_marker || strcmp(key_marker, key) > 0)
            break;
    }
    free(key_marker);
    free(id_marker);
    if (status != STOR_OK) {
        free(*upload_id);
        *upload_id = NULL;
    }
    return status;
}

/* Marks the parts S3 already holds with our size and MD5; the count of them. */
static enum stor_status mark_uploaded(struct upload *upload, size_t *reused, struct stor_error *err)
{
    *reused = 0;
    int marker = 0;
    for (int pages = 0; pages < 1000; pages++) {
        char marker_text[16];
        snprintf(marker_text, sizeof marker_text, "%d", marker);
        struct s3_sigv4_param params[] = {{"uploadId", upload->upload_id},
                                          {"part-number-marker", marker_text}};
        struct s3_call call = {.operation = "ListParts", .method = "GET", .bucket = upload->bucket,
                               .key = upload->key, .params = params, .param_count = marker ? 2 : 1,
                               .body_fd = -1};
        struct sp_http_response response;
        enum stor_status status = s3_request(upload->plugin, &call, &response, NULL, err);
        if (status != STOR_OK)
            return status;
        struct s3_parts_page page;
        char why[S3_WHY_MAX];
        int bad = s3_wire_parts(response.body, response.body_length, &page, why);
        sp_http_response_free(&response);
        if (bad)
            return stor_fail(err, STOR_EINTERNAL, "S3 ListParts %s/%s: the answer is malformed: "
                             "%s", upload->bucket, upload->key, why);
        for (size_t i = 0; i < page.count; i++) {
            struct s3_part_entry *listed = &page.entries[i];
            if ((size_t)listed->number > upload->part_count)
                continue;
            struct part *part = &upload->parts[listed->number - 1];
            char md5_hex[33];
            s3_hex(part->md5, 16, md5_hex);
            if (!part->done && listed->size == part->size && strcmp(listed->etag, md5_hex) == 0) {
                part->done = 1;
                snprintf(part->etag, sizeof part->etag, "%s", listed->etag);
                (*reused)++;
            }
        }
        int next = page.next_marker;
        int truncated = page.truncated;
        free(page.entries);
        if (!truncated || next <= marker)
            break; /* the end, or a marker that does not advance */
        marker = next;
    }
    return STOR_OK;
}

/* After a resumed upload: the object must carry our SHA-1 (an unfinished upload started by
 * another version of the file carries that one's metadata); a copy onto itself puts ours. */
static enum stor_status check_metadata(struct upload *upload, const struct stor_put_options *options,
                                       int64_t mtime_ms, const char *sha1, const char *md5_base64,
                                       struct stor_error *err)
{
    struct s3_call head = {.operation = "HeadObject", .method = "HEAD", .bucket = upload->bucket,
                           .key = upload->key, .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(upload->plugin, &head, &response, NULL, err);
    if (status != STOR_OK)
        return status;
    const char *stored = sp_http_header(&response, "x-amz-meta-sha1");
    int same = stored && strcmp(stored, sha1) == 0;
    sp_http_response_free(&response);
    if (same)
        return STOR_OK;
    if (upload->source->size > S3_SINGLE_PUT_MAX)
        return stor_fail(err, STOR_EIO, "%s/%s: the resumed upload kept another file's metadata "
                         "(SHA-1 %s); put it again with -o resume=no", upload->bucket, upload->key,
                         stored ? stored : "none");
    struct s3_put_meta meta;
    status = s3_meta_build(upload->plugin, options, sha1, md5_base64, mtime_ms, &meta, err);
    if (status != STOR_OK)
        return status;
    char *source = NULL;
    if (asprintf(&source, "/%s/%s", upload->bucket, upload->key) < 0)
        source = NULL;
    char *escaped = source ? s3_sigv4_escape(source, strlen(source), true) : NULL;
    free(source);
    if (!escaped) {
        s3_meta_free(&meta);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    struct s3_sigv4_header headers[S3_META_HEADERS_MAX + 2];
    size_t count = 0;
    headers[count++] = (struct s3_sigv4_header){"x-amz-copy-source", escaped};
    headers[count++] = (struct s3_sigv4_header){"x-amz-metadata-directive", "REPLACE"};
    for (size_t i = 0; i < meta.count; i++)
        headers[count++] = meta.headers[i];
    struct s3_call copy = {.operation = "CopyObject", .method = "PUT", .bucket = upload->bucket,
                           .key = upload->key, .headers = headers, .header_count = count,
                           .body_fd = -1};
    status = s3_request(upload->plugin, &copy, &response, NULL, err);
    if (status == STOR_OK) {
        char etag[80], why[S3_WHY_MAX];
        struct s3_wire_error error;
        if (s3_wire_result_etag(response.body, response.body_length, "CopyObjectResult", etag,
                                &error, why) != 0)
            status = stor_fail(err, STOR_EIO, "S3 CopyObject %s/%s (its metadata): %s",
                               upload->bucket, upload->key, why);
        sp_http_response_free(&response);
    }
    s3_meta_free(&meta);
    free(escaped);
    return status;
}

/* The whole file's MD5 and (unless trusted) SHA-1, part by part in order: on a thread of its
 * own beside the part MD5s (as B2's large files hash), so the pass before the upload takes the
 * longer of the two instead of their sum. */
struct whole_hash {
    struct upload *upload;
    struct s3_digest *md5, *sha1; /* sha1 NULL when trusted */
    int error;                    /* errno of a failed read, ECANCELED, or 0 */
};

static void *hash_whole(void *context)
{
    struct whole_hash *job = context;
    struct upload *upload = job->upload;
    struct s3_digest *digests[] = {job->md5, job->sha1};
    for (size_t i = 0; i < upload->part_count && !job->error; i++) {
        struct part *part = &upload->parts[i];
        if (sp_cancelled(upload->plugin->host))
            job->error = ECANCELED;
        else if (s3_digest_fd(upload->source->fd, upload->source->offset + part->offset,
                              part->size, digests, job->sha1 ? 2 : 1) != 0)
            job->error = errno ? errno : EIO;
    }
    return NULL;
}

/* Each part's MD5 (its Content-MD5, and what resume compares with ListParts), the same pass of
 * the file that hash_whole makes, for the same bytes. */
static int hash_parts(struct upload *upload)
{
    for (size_t i = 0; i < upload->part_count; i++) {
        struct part *part = &upload->parts[i];
        if (sp_cancelled(upload->plugin->host))
            return ECANCELED;
        struct s3_digest *md5 = s3_digest_new(S3_MD5);
        struct s3_digest *digests[] = {md5};
        if (!md5)
            return ENOMEM;
        if (s3_digest_fd(upload->source->fd, upload->source->offset + part->offset, part->size,
                         digests, 1) != 0) {
            int error = errno ? errno : EIO;
            s3_digest_free(md5);
            return error;
        }
        s3_digest_finish(md5, part->md5);
    }
    return 0;
}

/* Hashes a regular file: each part's MD5, the whole MD5 and (unless trusted) SHA-1. */
static enum stor_status hash_file(struct upload *upload, const char *trusted_sha1,
                                  unsigned char whole_md5[16], char sha1[41], struct stor_error *err)
{
    struct whole_hash whole = {.upload = upload, .md5 = s3_digest_new(S3_MD5),
                               .sha1 = trusted_sha1 ? NULL : s3_digest_new(S3_SHA1)};
    if (!whole.md5 || (!trusted_sha1 && !whole.sha1)) {
        s3_digest_free(whole.md5);
        s3_digest_free(whole.sha1);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    pthread_t thread;
    int threaded = pthread_create(&thread, NULL, hash_whole, &whole) == 0;
    int error = hash_parts(upload);
    if (threaded)
        pthread_join(thread, NULL);
    else if (!error)
        hash_whole(&whole);
    if (!error)
        error = whole.error;
    if (error) {
        s3_digest_free(whole.md5);
        s3_digest_free(whole.sha1);
        if (error == ECANCELED)
            return stor_fail(err, STOR_ECANCELLED, "cancelled");
        return stor_fail(err, error == ENOMEM ? STOR_EINTERNAL : STOR_EIO, "reading the source: "
                         "%s", error == ENOMEM ? "out of memory" : strerror(error));
    }
    s3_digest_finish(whole.md5, whole_md5);
    if (trusted_sha1) {
        snprintf(sha1, 41, "%s", trusted_sha1);
    } else {
        unsigned char raw[20];
        s3_digest_finish(whole.sha1, raw);
        s3_hex(raw, 20, sha1);
    }
    return STOR_OK;
}

enum stor_status s3_multipart_put(struct s3_plugin *plugin, const char *bucket, const char *key,
                                  const struct stor_put_options *options, int64_t mtime_ms,
                                  const struct s3_upload_source *source,
                                  struct s3_upload_result *result, struct stor_error *err)
{
    memset(result, 0, sizeof *result);
    struct upload upload = {.plugin = plugin, .bucket = bucket, .key = key, .source = source};
    enum stor_status status = s3_multipart_part_size(plugin->config.part_size, source->size,
                                                     &upload.part_size, err);
    if (status != STOR_OK)
        return status;
    int streaming = source->size < 0;
    unsigned char whole_md5[16];
    char sha1[41] = "", md5_base64[32] = "";
    const char *trusted = options && options->sha1 && strlen(options->sha1) == 40 ? options->sha1 : NULL;
    if (!streaming) {
        upload.part_count = (size_t)((source->size + upload.part_size - 1) / upload.part_size);
        if (upload.part_count == 0)
            upload.part_count = 1;
        upload.parts = calloc(upload.part_count, sizeof *upload.parts);
        if (!upload.parts)
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        for (size_t i = 0; i < upload.part_count; i++) {
            upload.parts[i].offset = (int64_t)i * upload.part_size;
            upload.parts[i].size = i + 1 < upload.part_count ? upload.part_size
                                   : source->size - (int64_t)i * upload.part_size;
        }
        if ((status = hash_file(&upload, trusted, whole_md5, sha1, err)) != STOR_OK) {
            free(upload.parts);
            return status;
        }
        s3_base64(whole_md5, 16, md5_base64);
    } else {
        upload.stream_sha1 = s3_digest_new(S3_SHA1);
        upload.stream_md5 = s3_digest_new(S3_MD5);
        /* Every part a stream may have, up front: workers hold pointers into it as it fills. */
        upload.parts = calloc(S3_PARTS_MAX, sizeof *upload.parts);
        if (!upload.stream_sha1 || !upload.stream_md5 || !upload.parts) {
            free(upload.parts);
            s3_digest_free(upload.stream_sha1);
            s3_digest_free(upload.stream_md5);
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        }
    }
    struct s3_put_meta meta;
    status = s3_meta_build(plugin, options, streaming ? NULL : sha1, streaming ? NULL : md5_base64,
                           mtime_ms, &meta, err);
    char *upload_id = NULL;
    size_t reused = 0;
    int resumed = 0;
    if (status == STOR_OK && !streaming) {
        status = find_unfinished(plugin, bucket, key, !plugin->config.resume, &upload_id, err);
        if (status == STOR_EAUTH) { /* a key that may write but not list uploads */
            sp_log(plugin->host, STOR_LOG_WARN, "%s/%s: cannot list unfinished uploads (%s): not "
                   "resuming", bucket, key, err->message);
            status = STOR_OK;
        }
        if (status == STOR_OK && upload_id) {
            upload.upload_id = upload_id;
            struct stor_error listing;
            /* Continued even with none of this file's parts in it: they are uploaded into it,
             * so the kept upload is finished, not left behind beside a fresh one. */
            if (mark_uploaded(&upload, &reused, &listing) == STOR_OK) {
                resumed = 1;
                if (reused > 0)
                    sp_log(plugin->host, STOR_LOG_WARN, "resumed: %zu of %zu parts already "
                           "uploaded", reused, upload.part_count);
            } else {
                sp_log(plugin->host, STOR_LOG_WARN, "%s/%s: cannot list the parts of the "
                       "unfinished upload (%s): starting a fresh one; stor --backend=s3 cleanup "
                       "%s/%s removes the old one", bucket, key, listing.message, bucket, key);
                free(upload_id);
                upload_id = NULL;
                upload.upload_id = NULL;
                for (size_t i = 0; i < upload.part_count; i++)
                    upload.parts[i].done = 0;
            }
        }
    }
    if (status == STOR_OK && !upload_id) {
        struct s3_sigv4_param params[] = {{"uploads", NULL}};
        struct s3_call call = {.operation = "CreateMultipartUpload", .method = "POST",
                               .bucket = bucket, .key = key, .params = params, .param_count = 1,
                               .headers = meta.headers, .header_count = meta.count, .body_fd = -1};
        struct sp_http_response response;
        status = s3_request(plugin, &call, &response, NULL, err);
        if (status == STOR_OK) {
            char why[S3_WHY_MAX];
            if (s3_wire_upload_id(response.body, response.body_length, &upload_id, why) != 0)
                status = stor_fail(err, STOR_EINTERNAL, "S3 CreateMultipartUpload %s/%s: the "
                                   "answer is malformed: %s", bucket, key, why);
            sp_http_response_free(&response);
        }
        upload.upload_id = upload_id;
    }
    s3_meta_free(&meta);
    if (status == STOR_OK) {
        pthread_mutex_init(&upload.lock, NULL);
        status = run_workers(&upload, err);
        if (status == STOR_OK)
            status = complete(&upload, err);
        pthread_mutex_destroy(&upload.lock);
        int completed = status == STOR_OK; /* no unfinished upload is left to keep or abort */
        if (status == STOR_OK && resumed)
            status = check_metadata(&upload, options, mtime_ms, sha1, md5_base64, err);
        if (status != STOR_OK && status != STOR_ECANCELLED && upload_id && !completed) {
            if (streaming || !plugin->config.resume) {
                struct stor_error ignored;
                s3_multipart_abort(plugin, bucket, key, upload_id, &ignored);
                size_t length = strlen(err->message);
                snprintf(err->message + length, sizeof err->message - length,
                         "; the unfinished upload was aborted");
            } else {
                size_t length = strlen(err->message);
                snprintf(err->message + length, sizeof err->message - length,
                         "; the unfinished upload is kept: run the same put again to resume it, "
                         "or stor --backend=s3 cleanup %s/%s", bucket, key);
            }
        }
    }
    if (streaming) {
        unsigned char raw[20];
        s3_digest_finish(upload.stream_sha1, raw);
        s3_hex(raw, 20, sha1);
        s3_digest_finish(upload.stream_md5, whole_md5);
    }
    if (status == STOR_OK) {
        result->size = streaming ? upload.stream_total : source->size;
        snprintf(result->sha1, sizeof result->sha1, "%s", sha1);
        s3_hex(whole_md5, 16, result->md5);
    }
    free(upload_id);
    free(upload.parts);
    return status;
}

/* ---- UploadPartCopy ---- */

struct part_copy {
    struct upload *upload;
    const char *copy_source; /* x-amz-copy-source, escaped */
    const char *source_etag;
};

static enum stor_status copy_part(struct part_copy *copy, size_t index, struct stor_error *err)
{
    struct upload *upload = copy->upload;
    struct part *part = &upload->parts[index];
    char number[24], range[64];
    snprintf(number, sizeof number, "%zu", index + 1);
    snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)part->offset,
             (long long)(part->offset + part->size - 1));
    struct s3_sigv4_param params[] = {{"partNumber", number}, {"uploadId", upload->upload_id}};
    struct s3_sigv4_header headers[] = {{"x-amz-copy-source", copy->copy_source},
                                        {"x-amz-copy-source-range", range},
                                        {"x-amz-copy-source-if-match", copy->source_etag}};
    struct s3_call call = {.operation = "UploadPartCopy", .method = "PUT", .bucket = upload->bucket,
                           .key = upload->key, .params = params, .param_count = 2,
                           .headers = headers, .header_count = copy->source_etag[0] ? 3 : 2,
                           .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(upload->plugin, &call, &response, NULL, err);
    if (status == STOR_ESTALE)
        return stor_fail(err, STOR_ESTALE, "the source changed during the copy (its ETag is no "
                         "longer %s): copy aborted", copy->source_etag);
    if (status != STOR_OK)
        return status;
    char why[S3_WHY_MAX];
    struct s3_wire_error error;
    /* A 200 may still carry an <Error>: the part was not copied. */
    if (s3_wire_result_etag(response.body, response.body_length, "CopyPartResult", part->etag,
                            &error, why) != 0 || !part->etag[0])
        status = stor_fail(err, STOR_EIO, "S3 UploadPartCopy %s/%s part %zu: %s", upload->bucket,
                           upload->key, index + 1, part->etag[0] ? why : "no ETag");
    sp_http_response_free(&response);
    return status;
}

static void *copy_worker(void *context)
{
    struct part_copy *copy = context;
    struct upload *upload = copy->upload;
    for (;;) {
        pthread_mutex_lock(&upload->lock);
        long index = upload->status == STOR_OK && !sp_cancelled(upload->plugin->host) &&
                             upload->next < upload->part_count
                         ? (long)upload->next++ : -1;
        pthread_mutex_unlock(&upload->lock);
        if (index < 0)
            return NULL;
        struct stor_error err = {{0}};
        enum stor_status status = copy_part(copy, (size_t)index, &err);
        if (status != STOR_OK) {
            fail_upload(upload, status, &err);
            return NULL;
        }
        pthread_mutex_lock(&upload->lock);
        upload->bytes_done += (uint64_t)upload->parts[index].size;
        uint64_t done = upload->bytes_done;
        pthread_mutex_unlock(&upload->lock);
        sp_progress(upload->plugin->host, upload->key, done, (uint64_t)upload->source->size);
    }
}

enum stor_status s3_multipart_copy(struct s3_plugin *plugin, const char *source_bucket,
                                   const char *source_key, const char *source_etag, int64_t size,
                                   const char *bucket, const char *key,
                                   const struct s3_sigv4_header *headers, size_t header_count,
                                   struct stor_error *err)
{
    struct s3_upload_source source = {.fd = -1, .size = size};
    struct upload upload = {.plugin = plugin, .bucket = bucket, .key = key, .source = &source};
    enum stor_status status = s3_multipart_part_size(plugin->config.part_size, size,
                                                     &upload.part_size, err);
    if (status != STOR_OK)
        return status;
    upload.part_count = (size_t)((size + upload.part_size - 1) / upload.part_size);
    upload.parts = calloc(upload.part_count ? upload.part_count : 1, sizeof *upload.parts);
    char *path = NULL;
    if (asprintf(&path, "/%s/%s", source_bucket, source_key) < 0)
        path = NULL;
    char *copy_source = path ? s3_sigv4_escape(path, strlen(path), true) : NULL;
    free(path);
    if (!upload.parts || !copy_source || size <= 0) {
        free(upload.parts);
        free(copy_source);
        return size <= 0 ? stor_fail(err, STOR_EINVAL, "an empty object is copied whole")
                         : stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < upload.part_count; i++) {
        upload.parts[i].offset = (int64_t)i * upload.part_size;
        upload.parts[i].size = i + 1 < upload.part_count ? upload.part_size
                                                         : size - (int64_t)i * upload.part_size;
    }
    struct s3_sigv4_param params[] = {{"uploads", NULL}};
    struct s3_call call = {.operation = "CreateMultipartUpload", .method = "POST",
                           .bucket = bucket, .key = key, .params = params, .param_count = 1,
                           .headers = headers, .header_count = header_count, .body_fd = -1};
    struct sp_http_response response;
    char *upload_id = NULL;
    status = s3_request(plugin, &call, &response, NULL, err);
    if (status == STOR_OK) {
        char why[S3_WHY_MAX];
        if (s3_wire_upload_id(response.body, response.body_length, &upload_id, why) != 0)
            status = stor_fail(err, STOR_EINTERNAL, "S3 CreateMultipartUpload %s/%s: the answer "
                               "is malformed: %s", bucket, key, why);
        sp_http_response_free(&response);
    }
    if (status == STOR_OK) {
        upload.upload_id = upload_id;
        struct part_copy copy = {&upload, copy_source, source_etag ? source_etag : ""};
        pthread_mutex_init(&upload.lock, NULL);
        int count = plugin->config.transfers < (int)upload.part_count ? plugin->config.transfers
                                                                      : (int)upload.part_count;
        pthread_t threads[S3_MAX_TRANSFERS];
        int started = 0;
        for (int i = 0; i < count; i++)
            if (pthread_create(&threads[started], NULL, copy_worker, &copy) == 0)
                started++;
        if (started == 0)
            copy_worker(&copy);
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&upload.lock);
        if (upload.status != STOR_OK) {
            status = upload.status;
            *err = upload.error;
        } else if (sp_cancelled(plugin->host)) {
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
        } else {
            status = complete(&upload, err);
        }
        if (status != STOR_OK) {
            /* Nothing of a failed copy is kept: its parts are S3's copies, made again at will. */
            struct stor_error ignored;
            s3_multipart_abort(plugin, bucket, key, upload_id, &ignored);
            size_t length = strlen(err->message);
            snprintf(err->message + length, sizeof err->message - length,
                     "; the unfinished copy was aborted");
        }
    }
    free(upload_id);
    free(copy_source);
    free(upload.parts);
    return status;
}
