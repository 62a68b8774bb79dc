/* plugins/b2/download.c — get and get_ex: by name or version id, whole, ranged or resumed, large
 * objects as parallel ranges pwritten into the caller's fd; the whole-object SHA-1 is verified. */
#include "operations.h"

#include "auth.h"
#include "authorized.h"
#include "bucket.h"
#include "call.h"
#include "instance.h"
#include "names.h"
#include "protection.h"
#include "sha1.h"
#include "sp_file_writer.h"
#include "sp_host.h"
#include "sp_http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* What is downloaded: a name (current version) or one version by id. */
struct source {
    const char *bucket;
    const char *key;
    const char *file_id; /* NULL: by name */
};

/* Progress shared by the requests of one get. */
struct shared {
    struct b2_plugin *plugin;
    const char *key;
    pthread_mutex_t lock;
    uint64_t done, total;
    int failed; /* a parallel range failed: the others stop */
};

struct body_writer {
    struct shared *shared;
    /* Where the bytes go: into a regular file at start + their offset (so a retry can start
     * over), gathered into writes of SP_WRITE_CHUNK. */
    struct sp_file_writer out;
    struct b2_sha1 *sha1; /* hash as it arrives (a whole object from byte 0), or NULL */
    int partial_only; /* a range was asked for: a whole-object 200 must not reach fd */
    /* The first request's resume contract (stor_get_options): before its first byte is written
     * the version arriving is compared with the expected one and announced through on_start. */
    const struct stor_get_options *contract;
    const struct sp_http_response *response; /* being received, headers first */
    int started, stale, refused;
};

static const char *expected_sha1(const struct sp_http_response *response);

/* The version about to be written is the one a resume expects (else stale), and on_start hears
 * of it. Returns 0 to go on. */
static int start_body(struct body_writer *writer)
{
    writer->started = 1;
    const struct stor_get_options *c = writer->contract;
    const char *id = sp_http_header(writer->response, "X-Bz-File-Id");
    const char *sha1 = expected_sha1(writer->response);
    if ((c->expected_id && (!id || strcmp(id, c->expected_id) != 0)) ||
        (c->expected_sha1 && sha1 && strcasecmp(sha1, c->expected_sha1) != 0)) {
        writer->stale = 1;
        return -1;
    }
    if (c->on_start) {
        struct stor_object object = {.key = writer->shared->key, .size = -1, .mtime_ms = -1,
                                     .sha1 = sha1, .id = id, .upload_ms = -1,
                                     .protection = {.retain_until_ms = -1, .legal_hold = -1}};
        if (c->on_start(c->start_context, &object) != 0) {
            writer->refused = 1;
            return -1;
        }
    }
    return 0;
}

static void count_done(struct shared *shared, size_t size)
{
    pthread_mutex_lock(&shared->lock);
    shared->done += (uint64_t)size;
    pthread_mutex_unlock(&shared->lock);
}

static int write_body(void *context, const char *data, size_t size)
{
    struct body_writer *writer = context;
    if (writer->contract && !writer->started && start_body(writer) != 0)
        return -1;
    if (writer->sha1)
        b2_sha1_update(writer->sha1, data, size);
    int64_t before = writer->out.written;
    int failed = sp_file_writer_put(&writer->out, data, size);
    count_done(writer->shared, (size_t)(writer->out.written - before));
    return failed;
}

static int on_progress(void *context, uint64_t sent, uint64_t received)
{
    (void)sent;
    (void)received;
    struct body_writer *writer = context;
    struct shared *shared = writer->shared;
    pthread_mutex_lock(&shared->lock);
    uint64_t done = shared->done, total = shared->total;
    int failed = shared->failed;
    pthread_mutex_unlock(&shared->lock);
    sp_progress(shared->plugin->host, shared->key, done, total);
    return failed || sp_cancelled(shared->plugin->host);
}

/* The SHA-1 B2 holds for the whole file, or NULL when it has none (large file without
 * large_file_sha1). */
static const char *expected_sha1(const struct sp_http_response *response)
{
    const char *sha1 = sp_http_header(response, "X-Bz-Content-Sha1");
    if (!sha1 || strcmp(sha1, "none") == 0)
        sha1 = sp_http_header(response, "X-Bz-Info-large_file_sha1");
    if (sha1 && strncmp(sha1, "unverified:", 11) == 0)
        sha1 += 11;
    return sha1 && strlen(sha1) == B2_SHA1_HEX_LENGTH ? sha1 : NULL;
}

/* No B2 file is near this (10 TB is the limit): larger numbers from a server are refused, so no
 * sum or difference of sizes can overflow. */
#define B2_SIZE_SANE_MAX (1LL << 50)

/* A size a server sent: decimal digits only, at most B2_SIZE_SANE_MAX; else -1. */
static int64_t parse_size_field(const char *text)
{
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    errno = 0;
    char *end;
    long long number = strtoll(text, &end, 10);
    return errno == 0 && *end == '\0' && number <= B2_SIZE_SANE_MAX ? number : -1;
}

static int64_t header_int(const struct sp_http_response *response, const char *name)
{
    return parse_size_field(sp_http_header(response, name));
}

/* The object's size from "Content-Range: bytes A-B/TOTAL", or -1. */
static int64_t range_total(const struct sp_http_response *response)
{
    const char *range = sp_http_header(response, "Content-Range");
    const char *slash = range ? strchr(range, '/') : NULL;
    return slash ? parse_size_field(slash + 1) : -1;
}

/* Whether a 206 carries the very bytes asked for: "Content-Range: bytes A-B/TOTAL" with A the
 * first byte asked, B no further than the last, and B - A + 1 bytes received. A server that
 * answers another stretch would otherwise be written in place of the one asked for. */
static int range_is_the_one_asked(const struct sp_http_response *response, int64_t first,
                                  int64_t last, int64_t received)
{
    const char *range = sp_http_header(response, "Content-Range");
    long long a, b;
    int used = 0;
    if (!range || sscanf(range, "bytes %lld-%lld/%n", &a, &b, &used) != 2 || !used)
        return 0;
    return a == first && b >= a && (last < 0 || b <= last) && b - a + 1 == received;
}

static char *source_url(struct b2_plugin *plugin, const struct source *source,
                        const struct b2_credentials *credentials)
{
    char *url = NULL;
    if (source->file_id) {
        char *id = b2_percent_encode(source->file_id);
        if (id && asprintf(&url, "%s/b2api/v2/b2_download_file_by_id?fileId=%s",
                           credentials->download_url, id) < 0)
            url = NULL;
        free(id);
        return url;
    }
    const char *base = plugin->config.download_url ? plugin->config.download_url
                                                   : credentials->download_url;
    char *bucket = b2_url_path_encode(source->bucket), *key = b2_url_path_encode(source->key);
    if (bucket && key && asprintf(&url, "%s/file/%s/%s", base, bucket, key) < 0)
        url = NULL;
    free(bucket);
    free(key);
    return url;
}

/* A download by name found nothing: the bucket or the object, said as the local backend says it
 * (the bucket's id is known, or one b2_list_buckets call finds out). */
static enum stor_status missing(struct b2_plugin *plugin, const char *bucket, const char *key,
                                struct stor_error *err)
{
    char *id = NULL;
    struct stor_error lookup;
    enum stor_status found = b2_bucket_id(plugin, bucket, 0, &id, &lookup);
    free(id);
    return found == STOR_ENOTFOUND ? stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket)
                                   : stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
}

/* One GET of bytes first..last (last -1: to the end; first -1: no Range at all) into writer, with
 * retries and one re-authorization. On STOR_OK *kept holds the response's status and headers. */
static enum stor_status fetch(struct b2_plugin *plugin, const struct source *source, int64_t first,
                              int64_t last, struct body_writer *writer,
                              struct sp_http_response *kept, struct stor_error *err)
{
    const char *key = source->key;
    struct b2_credentials credentials;
    enum stor_status status = b2_auth_get(plugin, &credentials, err);
    if (status != STOR_OK)
        return status;
    struct b2_backoff backoff;
    b2_backoff_start(plugin, &backoff);
    int reauthorized = 0;
    for (;;) {
        char *url = source_url(plugin, source, &credentials), *authorization = NULL;
        char range[80] = "";
        if (first >= 0 && last >= 0)
            snprintf(range, sizeof range, "Range: bytes=%" PRId64 "-%" PRId64, first, last);
        else if (first >= 0)
            snprintf(range, sizeof range, "Range: bytes=%" PRId64 "-", first);
        /* With -o sse_c_key_file every download, range and resume sends the key. */
        char *sse_c[3] = {NULL, NULL, NULL};
        size_t sse_c_count = 0;
        if (!url || asprintf(&authorization, "Authorization: %s", credentials.token) < 0 ||
            b2_sse_c_headers(&plugin->config, sse_c, &sse_c_count, 3) != 0 ||
            (writer->sha1 && b2_sha1_init(writer->sha1) != 0)) {
            free(url);
            free(authorization);
            for (size_t i = 0; i < sse_c_count; i++)
                free(sse_c[i]);
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        const char *headers[5] = {authorization};
        size_t header_count = 1;
        if (range[0])
            headers[header_count++] = range;
        for (size_t i = 0; i < sse_c_count; i++)
            headers[header_count++] = sse_c[i];
        struct sp_http_request request = {
            .method = "GET", .url = url, .headers = headers, .header_count = header_count,
            .write_body = write_body, .write_context = writer,
            .receive_buffer = SP_DOWNLOAD_BUFFER,
            .write_status = writer->partial_only && range[0] ? 206 : 0,
            .progress = on_progress, .progress_context = writer};
        struct sp_http_response response;
        writer->response = &response;
        sp_log(plugin->host, STOR_LOG_TRACE, "GET %s %s", url, range);
        b2_perform(plugin, "class_b", &request, &response);
        free(url);
        free(authorization);
        for (size_t i = 0; i < sse_c_count; i++) {
            explicit_bzero(sse_c[i], strlen(sse_c[i]));
            free(sse_c[i]);
        }
        struct b2_failure failure;
        b2_failure_from_response(&response, &plugin->config, credentials.token, &failure);
        if (failure.kind == B2_FAILURE_NONE && sp_file_writer_flush(&writer->out) != 0) {
            status = stor_fail(err, STOR_EIO, "%s: writing the output failed: %s", key,
                               strerror(writer->out.error));
            sp_http_response_free(&response);
            if (writer->sha1)
                b2_sha1_abandon(writer->sha1);
            break;
        }
        writer->out.pending_length = 0; /* a failed answer's bytes: written again or not at all */
        if (failure.kind == B2_FAILURE_NONE && response.status == 206 && first >= 0 &&
            !range_is_the_one_asked(&response, first, last, writer->out.written)) {
            const char *said = sp_http_header(&response, "Content-Range");
            char shown[80];
            snprintf(shown, sizeof shown, "%s", said ? said : "no Content-Range");
            for (char *c = shown; *c; c++)
                if ((unsigned char)*c < 32 || *c == 127)
                    *c = '?';
            status = stor_fail(err, STOR_EIO, "%s: asked for bytes from %lld, B2 answered %s (%lld "
                               "bytes): not accepted", key, (long long)first, shown,
                               (long long)writer->out.written);
            sp_http_response_free(&response);
            if (writer->sha1)
                b2_sha1_abandon(writer->sha1);
            break;
        }
        if (failure.kind == B2_FAILURE_NONE) {
            *kept = response;
            break;
        }
        sp_http_response_free(&response);
        if (writer->sha1)
            b2_sha1_abandon(writer->sha1);
        if (failure.outcome == SP_HTTP_LOCAL && writer->stale) {
            status = stor_fail(err, STOR_ESTALE, "%s changed since the partial download began",
                               key);
            break;
        }
        if (failure.outcome == SP_HTTP_LOCAL && writer->refused) {
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", key);
            break;
        }
        if (failure.outcome == SP_HTTP_LOCAL) {
            status = stor_fail(err, STOR_EIO, "%s: writing the output failed: %s", key,
                               strerror(writer->out.error ? writer->out.error : EIO));
            break;
        }
        if (failure.kind == B2_FAILURE_CANCELLED) {
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", key);
            break;
        }
        int retry = failure.kind == B2_FAILURE_TRANSIENT ||
                    (failure.kind == B2_FAILURE_EXPIRED && !reauthorized);
        if (retry && writer->out.written > 0) {
            if (!writer->out.seekable) {
                status = stor_fail(err, STOR_EIO, "%s: the download broke off after %lld bytes and "
                                   "cannot restart into a pipe (%s)", key,
                                   (long long)writer->out.written, failure.message);
                break;
            }
            pthread_mutex_lock(&writer->shared->lock);
            writer->shared->done -= (uint64_t)writer->out.written;
            pthread_mutex_unlock(&writer->shared->lock);
            sp_file_writer_restart(&writer->out); /* the retry overwrites the same bytes */
        }
        if (failure.kind == B2_FAILURE_EXPIRED && !reauthorized) {
            status = b2_auth_reauthorize(plugin, &credentials, err);
            if (status != STOR_OK)
                return status;
            reauthorized = 1;
            continue;
        }
        if (failure.kind == B2_FAILURE_TRANSIENT) {
            b2_note_unreachable(plugin, key, &failure);
            int waited = b2_backoff_wait(plugin, &backoff, failure.retry_after_ms);
            if (waited == 0)
                continue;
            char detail[400];
            b2_failure_describe(&failure, detail, sizeof detail);
            status = waited == -2 ? stor_fail(err, STOR_ECANCELLED, "%s: cancelled", key)
                                  : stor_fail(err, STOR_ETRANSIENT, "%s: download failed %d time%s; "
                                              "last error: %s", key, backoff.tries,
                                              backoff.tries == 1 ? "" : "s", detail);
            break;
        }
        if (b2_sse_c_refused(plugin, &failure, key, &status, err))
            ; /* one line: no key, or another key than the file's */
        else if (failure.http_status == 416)
            status = stor_fail(err, STOR_EINVAL, "%s: the range starting at byte %lld is outside "
                               "the file (B2 says: %s)", key, (long long)first, failure.message);
        else if (failure.http_status == 404)
            status = source->file_id
                         ? stor_fail(err, STOR_ENOTFOUND, "no version %s of %s/%s",
                                     source->file_id, source->bucket, key)
                         : missing(plugin, source->bucket, key, err);
        else
            status = b2_fail(plugin, err, source->file_id ? "b2_download_file_by_id"
                                                          : "b2_download_file_by_name",
                             &failure, "readFiles");
        break;
    }
    b2_credentials_free(&credentials);
    return status;
}

/* ---- parallel ranges of a large object ---- */

struct ranges {
    struct b2_plugin *plugin;
    struct shared *shared;
    struct source source; /* by id: every range of one version */
    int fd;
    int64_t base;       /* file position of object byte 0 */
    int64_t first, end; /* object bytes [first, end) still to fetch */
    int64_t part;
    int64_t next;       /* next range to hand out */
    enum stor_status status;
    struct stor_error err;
    unsigned char *complete;  /* per range: all its bytes are in fd (under shared->lock) */
    pthread_cond_t completed; /* a range completed or one failed */
};

/* Range index of the range starting at object byte first. */
static int64_t range_index(const struct ranges *ranges, int64_t first)
{
    return (first - ranges->first) / ranges->part;
}

/* Takes the next range to fetch until none is left or one failed. */
static void *range_worker(void *context)
{
    struct ranges *ranges = context;
    struct shared *shared = ranges->shared;
    for (;;) {
        pthread_mutex_lock(&shared->lock);
        int64_t first = ranges->next;
        int stop = shared->failed || first >= ranges->end;
        if (!stop)
            ranges->next = first + ranges->part < ranges->end ? first + ranges->part : ranges->end;
        int64_t last = ranges->next - 1;
        pthread_mutex_unlock(&shared->lock);
        if (stop)
            return NULL;
        struct body_writer writer = {.shared = shared, .partial_only = 1,
                                     .out = sp_file_writer_at(ranges->fd, 1, ranges->base + first)};
        struct sp_http_response response;
        struct stor_error err = {""};
        enum stor_status status = fetch(ranges->plugin, &ranges->source, first, last, &writer,
                                        &response, &err);
        sp_file_writer_release(&writer.out);
        if (status == STOR_OK) {
            if (response.status != 206 || writer.out.written != last - first + 1)
                status = stor_fail(&err, STOR_EIO, "%s: B2 sent %lld bytes (HTTP %ld) for the "
                                   "range %lld-%lld", ranges->source.key,
                                   (long long)writer.out.written, response.status,
                                   (long long)first, (long long)last);
            sp_http_response_free(&response);
        }
        pthread_mutex_lock(&shared->lock);
        if (status == STOR_OK) {
            ranges->complete[range_index(ranges, first)] = 1;
        } else {
            if (!shared->failed || ranges->status == STOR_ECANCELLED) {
                ranges->status = status;
                ranges->err = err;
            }
            shared->failed = 1;
        }
        pthread_cond_broadcast(&ranges->completed);
        pthread_mutex_unlock(&shared->lock);
        if (status != STOR_OK)
            return NULL;
    }
}

#define B2_HASH_BUFFER (1 << 20)

/* Add length bytes of fd from offset to sha1. 0, or -1 when they cannot be read. */
static int hash_from_fd(struct b2_sha1 *sha1, int fd, int64_t offset, int64_t length, char *buffer)
{
    while (length > 0) {
        size_t want = length < B2_HASH_BUFFER ? (size_t)length : B2_HASH_BUFFER;
        ssize_t got = pread(fd, buffer, want, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        b2_sha1_update(sha1, buffer, (size_t)got);
        offset += got;
        length -= got;
    }
    return 0;
}

/* The whole object's SHA-1, continued from *sha1 (which holds object bytes [0, first), hashed as
 * the first request arrived) by reading each range back from fd as it completes, in order: while
 * later ranges are still arriving, and from the page cache. *sha1 is consumed. hex is "" when a
 * range failed or fd could not be read (finish then reads the file back itself). */
static void hash_completed_ranges(struct ranges *ranges, int64_t count, struct b2_sha1 *sha1,
                                  char hex[B2_SHA1_HEX_LENGTH + 1])
{
    struct shared *shared = ranges->shared;
    char *buffer = malloc(B2_HASH_BUFFER);
    hex[0] = '\0';
    if (!buffer) {
        b2_sha1_abandon(sha1);
        return;
    }
    int ok = 1;
    for (int64_t index = 0; ok && index < count; index++) {
        pthread_mutex_lock(&shared->lock);
        while (!ranges->complete[index] && !shared->failed)
            pthread_cond_wait(&ranges->completed, &shared->lock);
        ok = ranges->complete[index];
        pthread_mutex_unlock(&shared->lock);
        int64_t from = ranges->first + index * ranges->part;
        int64_t to = from + ranges->part < ranges->end ? from + ranges->part : ranges->end;
        ok = ok && hash_from_fd(sha1, ranges->fd, ranges->base + from, to - from, buffer) == 0;
    }
    if (ok)
        b2_sha1_final(sha1, hex);
    else
        b2_sha1_abandon(sha1);
    free(buffer);
}

/* Fetch object bytes [first, end) with up to `transfers` threads, each pwriting its ranges,
 * while this thread continues *sha1 (bytes [0, first), consumed) into the whole object's hex as
 * they complete ("" if it could not). */
static enum stor_status fetch_ranges(struct ranges *ranges, int transfers, struct b2_sha1 *sha1,
                                     char hex[B2_SHA1_HEX_LENGTH + 1], struct stor_error *err)
{
    int64_t count = (ranges->end - ranges->first + ranges->part - 1) / ranges->part;
    if (transfers > count)
        transfers = (int)count;
    ranges->next = ranges->first;
    ranges->status = STOR_OK;
    hex[0] = '\0';
    ranges->complete = calloc((size_t)count, 1);
    if (!ranges->complete) {
        b2_sha1_abandon(sha1);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    pthread_cond_init(&ranges->completed, NULL);
    pthread_t threads[64];
    int started = 0;
    for (; started < transfers; started++)
        if (pthread_create(&threads[started], NULL, range_worker, ranges) != 0)
            break;
    if (started == 0)
        range_worker(ranges);
    hash_completed_ranges(ranges, count, sha1, hex);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_cond_destroy(&ranges->completed);
    free(ranges->complete);
    ranges->complete = NULL;
    if (ranges->status != STOR_OK) {
        hex[0] = '\0';
        if (err)
            *err = ranges->err;
    }
    return ranges->status;
}

/* ---- get_ex ---- */

static int64_t part_size(struct b2_plugin *plugin)
{
    if (plugin->config.download_part_size > 0)
        return plugin->config.download_part_size;
    struct stor_error ignored; /* a failure shows again in the first request */
    b2_auth_ensure(plugin, &ignored); /* so that the account's size is known */
    pthread_mutex_lock(&plugin->auth_lock);
    int64_t part = plugin->account.recommended_part_size;
    pthread_mutex_unlock(&plugin->auth_lock);
    /* A server's tiny size would split a small file into a request per byte: bounded below. */
    return part <= 0 ? 100 * 1000 * 1000 : part < B2_PART_SIZE_MIN ? B2_PART_SIZE_MIN : part;
}

/* The first request of a whole download asks for at most this much: its answer tells the size,
 * and the rest goes in parallel ranges at once rather than after a whole part alone. */
#define B2_FIRST_RANGE (16LL << 20)

/* Ranges for rest bytes: no larger than part and, when there are more than the transfers, as
 * many as a multiple of them, so that the last round keeps every connection busy (1 GiB, 100 MB
 * parts, 4 transfers: 12 ranges of 88 MB rather than 10 of 100 MB and one of 24). */
static int64_t range_size(int64_t rest, int64_t part, int transfers)
{
    int64_t count = (rest + part - 1) / part;
    if (transfers > 1 && count > transfers)
        count = (count + transfers - 1) / transfers * transfers;
    return (rest + count - 1) / count;
}

/* Verify the whole object against B2's SHA-1 (hashing fd back unless already hashed) and
 * report it. ranged: only part of the object passed, nothing to verify. */
static enum stor_status finish(struct b2_plugin *plugin, const char *key, int fd,
                               const struct sp_http_response *response, int ranged,
                               const char *hashed, int64_t hash_from, int64_t size,
                               stor_object_fn on_result, void *context, struct stor_error *err)
{
    char sha1[B2_SHA1_HEX_LENGTH + 1] = "";
    if (hashed)
        snprintf(sha1, sizeof sha1, "%s", hashed);
    const char *expected = expected_sha1(response);
    if (ranged) {
        sp_log(plugin->host, STOR_LOG_INFO,
               "%s: a byte range was downloaded; the whole file's SHA-1 cannot be verified", key);
    } else if (!sp_http_header(response, "X-Bz-Content-Sha1")) {
        /* B2 always sends the header ("none" for large files): an answer without it is not
         * B2's, or is broken, and its bytes are not kept. */
        return stor_fail(err, STOR_EIO, "%s: the download answer has no X-Bz-Content-Sha1 header: "
                         "not accepted", key);
    } else if (!expected) {
        sp_log(plugin->host, STOR_LOG_WARN, "%s: no SHA-1 to verify the download against: B2 holds "
               "none for this file", key);
    } else {
        if (!hashed && b2_sha1_of_fd(fd, hash_from, size, sha1) != 0)
            return stor_fail(err, STOR_EIO, "%s: cannot read the download back to verify it: %s",
                             key, strerror(errno));
        if (strcasecmp(expected, sha1) != 0)
            return stor_fail(err, STOR_EIO, "%s: the downloaded data does not match its SHA-1 "
                             "(B2 has %s, received %s)", key, expected, sha1);
    }
    int64_t mtime = header_int(response, "X-Bz-Info-src_last_modified_millis");
    struct stor_object object = {
        .key = key,
        .size = size,
        .mtime_ms = mtime >= 0 ? mtime : header_int(response, "X-Bz-Upload-Timestamp"),
        .sha1 = ranged ? NULL : sha1[0] ? sha1 : expected,
        .id = sp_http_header(response, "X-Bz-File-Id"),
        .content_type = sp_http_header(response, "Content-Type"),
    };
    if (on_result)
        on_result(context, &object);
    return STOR_OK;
}

enum stor_status b2_get_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_get_options *options, int fd,
                           stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    if (!*bucket)
        return stor_fail(err, STOR_EINVAL, "a bucket name is required");
    struct stor_get_options opts = {.length = -1};
    if (options)
        memcpy(&opts, options, options->struct_size < sizeof opts ? options->struct_size : sizeof opts);
    if (opts.offset < 0 || opts.length == 0 || opts.length < -1)
        return stor_fail(err, STOR_EINVAL, "%s: a range needs offset >= 0 and length > 0 "
                         "(or -1 for the rest)", key);
    struct stat info;
    if (fstat(fd, &info) != 0)
        return stor_fail(err, STOR_EIO, "%s: cannot stat the output: %s", key, strerror(errno));
    /* A regular file we can read back gets parallel ranges, restarts and a SHA-1 read back from
     * it; a write-only one (standard output redirected to a file) is written like a pipe. */
    int flags = fcntl(fd, F_GETFL);
    int regular = S_ISREG(info.st_mode) && flags >= 0 && (flags & O_ACCMODE) != O_WRONLY;
    if (opts.resume && (!regular || opts.length != -1))
        return stor_fail(err, STOR_EINVAL, "%s: resuming needs a regular file and the rest of "
                         "the object (no length)", key);
    if (opts.version_id && (!*opts.version_id || strpbrk(opts.version_id, "/?&# \r\n")))
        return stor_fail(err, STOR_EINVAL, "%s: '%s' is not a B2 file id", key, opts.version_id);
    int resume = opts.resume && opts.offset > 0;
    int ranged = !opts.resume && (opts.offset > 0 || opts.length > 0);

    struct shared shared = {.plugin = plugin, .key = key};
    pthread_mutex_init(&shared.lock, NULL);
    struct source source = {bucket, key, opts.version_id};
    /* A whole object is hashed as it arrives from byte 0, never read back; a resumed one is read
     * back by finish (its first bytes came in an earlier run), a range is not verified. */
    struct b2_sha1 hash;
    /* A server (a CDN) that ignores Range would send the whole object: into a pipe that could
     * not be taken back, so only a 206 answer reaches fd when a range is asked for. */
    struct body_writer writer = {.shared = &shared, .out = sp_file_writer_at(fd, regular, 0),
                                 .sha1 = ranged || resume ? NULL : &hash,
                                 .partial_only = ranged || resume, .contract = &opts};
    if (regular && !resume && (writer.out.start = lseek(fd, 0, SEEK_CUR)) < 0)
        writer.out.start = 0;
    /* Resuming asks from the last byte already there (rewritten with the same value): even a file
     * complete but not yet verified gets a satisfiable range. */
    if (resume)
        writer.out.start = opts.offset - 1; /* the first offset bytes are already at [0, offset) */
    int64_t base = resume ? 0 : writer.out.start - (ranged ? opts.offset : 0); /* object byte 0 */

    /* The first request: the range asked for, the rest when resuming, or (into a regular file)
     * the first part, whose Content-Range tells whether the rest is worth parallel ranges. */
    int64_t part = part_size(plugin), first = -1, last = -1;
    if (resume) {
        first = opts.offset - 1;
    } else if (ranged) {
        first = opts.offset;
        last = opts.length > 0 ? opts.offset + opts.length - 1 : -1;
    } else if (regular) {
        first = 0;
        last = (part < B2_FIRST_RANGE ? part : B2_FIRST_RANGE) - 1;
    }
    struct sp_http_response response;
    char hashed[B2_SHA1_HEX_LENGTH + 1] = ""; /* the whole object's, when hashed on the way */
    enum stor_status status = fetch(plugin, &source, first, last, &writer, &response, err);
    if (status == STOR_EINVAL && !ranged && !resume && first == 0) {
        /* An empty file has no byte 0: ask again for all of it. */
        status = fetch(plugin, &source, -1, -1, &writer, &response, err);
    }
    if (status == STOR_EINVAL && resume && (opts.expected_id || opts.expected_sha1))
        status = stor_fail(err, STOR_ESTALE, "%s changed since the partial download began: it "
                           "is now shorter than the %lld bytes already fetched", key,
                           (long long)opts.offset);
    else if (status == STOR_EINVAL && resume)
        stor_fail(err, status, "%s: cannot resume: the partial file's %lld bytes are more than "
                  "this file holds in B2", key, (long long)opts.offset);
    if (status != STOR_OK) {
        sp_file_writer_release(&writer.out);
        pthread_mutex_destroy(&shared.lock);
        return status;
    }
    int64_t total = response.status == 206 ? range_total(&response) : writer.out.written;
    if (total < 0)
        total = writer.out.written;
    if (response.status != 206 && (ranged || resume)) {
        status = stor_fail(err, STOR_EIO, "%s: B2 answered HTTP %ld without the range asked "
                           "for", key, response.status);
    } else if (!ranged && !resume && first == 0 && response.status == 206 &&
               total > writer.out.written) {
        /* The rest of a large object, by id so every range comes from this very version; through
         * download_url (a CDN) by name, the whole-file SHA-1 then catching a name overwritten. */
        const char *id = plugin->config.download_url ? NULL
                                                     : sp_http_header(&response, "X-Bz-File-Id");
        struct ranges ranges = {.plugin = plugin, .shared = &shared,
                                .source = {bucket, key, id ? id : opts.version_id}, .fd = fd,
                                .base = base, .first = writer.out.written, .end = total,
                                .part = range_size(total - writer.out.written, part,
                                                   plugin->config.transfers)};
        pthread_mutex_lock(&shared.lock);
        shared.total = (uint64_t)total;
        pthread_mutex_unlock(&shared.lock);
        sp_log(plugin->host, STOR_LOG_DEBUG, "%s: %lld bytes in ranges of %lld, %d at a time", key,
               (long long)total, (long long)part, plugin->config.transfers);
        status = fetch_ranges(&ranges, plugin->config.transfers, writer.sha1, hashed, err);
        writer.sha1 = NULL; /* consumed */
    }
    if (status == STOR_OK) {
        if (writer.sha1)
            b2_sha1_final(writer.sha1, hashed);
        int64_t size = resume ? opts.offset - 1 + writer.out.written : ranged ? writer.out.written
                                                                       : total;
        status = finish(plugin, key, fd, &response, ranged, hashed[0] ? hashed : NULL,
                        resume ? 0 : base, size, on_result, context, err);
        if (status == STOR_OK && regular)
            lseek(fd, resume ? size : writer.out.start + size, SEEK_SET);
    } else if (writer.sha1) {
        b2_sha1_abandon(writer.sha1);
    }
    sp_http_response_free(&response);
    sp_file_writer_release(&writer.out);
    pthread_mutex_destroy(&shared.lock);
    return status;
}

enum stor_status b2_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct stor_get_options options = {.struct_size = sizeof options, .length = -1};
    return b2_get_ex(instance, bucket, key, &options, fd, on_result, context, err);
}
