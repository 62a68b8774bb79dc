/* plugins/s3/get.c — get / get_ex: GetObject whole, one range, or (into a regular file) a large
 * object as parallel ranges pwritten into fd; every answer's Content-Range held to the range
 * asked, the object pinned across ranges (If-Match on its ETag, its version id), the whole file
 * verified against X-Amz-Meta-Sha1, else the MD5 of a single-part ETag; a partial file resumed. */
#include "operations.h"

#include "digest.h"
#include "head.h"
#include "instance.h"
#include "meta.h"
#include "request.h"
#include "sp_file_writer.h"
#include "sp_host.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* No S3 object is near this (5 TiB is the limit): larger numbers from a server are refused, so
 * no sum of sizes can overflow. */
#define S3_SIZE_SANE_MAX (1LL << 50)
/* Ranges of one download at most: a tiny range size on a huge object grows instead. */
#define S3_RANGES_MAX (1LL << 20)
#define S3_VERSION_ID_MAX 1024

/* What pins one object across the requests of a download. */
struct identity {
    char etag[80];                        /* as S3 sent it, quotes and all */
    char version[S3_VERSION_ID_MAX + 1];  /* x-amz-version-id, "" when none */
    int64_t size;                         /* the whole object's */
};

/* Progress and failure shared by the requests of one get. */
struct shared {
    struct s3_plugin *plugin;
    const char *bucket, *key;
    pthread_mutex_t lock;
    uint64_t done, total;
    int failed; /* a range failed: the others stop */
};

enum refusal { ACCEPTED = 0, WRONG_RANGE, NOT_PARTIAL, STALE, UNPROVABLE, START_REFUSED,
               STOPPED, WRITE_FAILED };

/* Where one request's body goes, and what it must be before a byte of it is written. */
struct sink {
    struct shared *shared;
    struct sp_file_writer out; /* from the file position of this request's first byte */
    int64_t first, last; /* object bytes asked (first -1: no Range; last -1: to the end) */
    int whole_ok;        /* a 200 with the whole object may stand for the range asked */
    int whole;           /* ... and one arrived */
    int64_t total;       /* the object's size as this answer tells it (-1 unknown) */
    struct s3_digest *md5, *sha1;            /* hashed as it arrives (pipes), or NULL */
    const struct sp_http_response *response; /* its status and headers are there once it flows */
    const struct identity *pinned;           /* what every later range must be, or NULL */
    const struct stor_get_options *contract; /* the first request: resume's expectations */
    int needs_proof;     /* a resume: the object must carry a whole hash to verify against */
    int out_of_range;    /* S3 said InvalidRange: the object has no byte first */
    int started;
    enum refusal refused;
    char said[96];       /* the Content-Range or status refused, made printable */
};

static void printable(const char *text, char *out, size_t size)
{
    snprintf(out, size, "%s", text ? text : "no Content-Range");
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 32 || (unsigned char)*c >= 127)
            *c = '?';
}

/* A size a server sent: decimal digits only, at most S3_SIZE_SANE_MAX; else -1. */
static int64_t parse_size(const char *text, const char **end)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    int64_t number = 0;
    while (*text >= '0' && *text <= '9') {
        number = number * 10 + (*text++ - '0');
        if (number > S3_SIZE_SANE_MAX)
            return -1;
    }
    if (end)
        *end = text;
    else if (*text)
        return -1;
    return number;
}

/* "bytes A-B/TOTAL" into its three numbers; 0, or -1 when it is not exactly that. */
static int parse_content_range(const char *text, int64_t *a, int64_t *b, int64_t *total)
{
    const char *rest;
    if (!text || strncmp(text, "bytes ", 6) != 0 || (*a = parse_size(text + 6, &rest)) < 0 ||
        *rest != '-' || (*b = parse_size(rest + 1, &rest)) < 0 || *rest != '/' ||
        (*total = parse_size(rest + 1, NULL)) < 0)
        return -1;
    return *b >= *a && *b < *total ? 0 : -1;
}

static void identity_of(const struct sp_http_response *response, int64_t size,
                        struct identity *identity)
{
    const char *etag = sp_http_header(response, "ETag");
    const char *version = sp_http_header(response, "x-amz-version-id");
    printable(etag ? etag : "", identity->etag, sizeof identity->etag);
    if (!version || strlen(version) > S3_VERSION_ID_MAX || strpbrk(version, "\r\n"))
        version = "";
    snprintf(identity->version, sizeof identity->version, "%s", version);
    identity->size = size;
}

/* The name on_start gives the object and expected_id is compared with: its version id on a
 * versioned bucket, else its ETag as S3 sends it (quoted), which changes with every overwrite. */
static const char *pin_name(const struct identity *identity)
{
    if (identity->version[0] && strcmp(identity->version, "null") != 0)
        return identity->version;
    return identity->etag[0] ? identity->etag : NULL;
}

/* The resume contract: the version arriving is the one the partial file holds, and it carries
 * a whole hash the finished file can be proven against. */
static enum refusal check_contract(struct sink *sink, struct s3_object_view *view)
{
    const struct stor_get_options *c = sink->contract;
    if (c->struct_size < offsetof(struct stor_get_options, start_context) + sizeof(void *))
        return ACCEPTED; /* an ABI 2 caller: no expectations, no on_start */
    struct identity identity;
    identity_of(sink->response, -1, &identity);
    view->object.id = pin_name(&identity);
    if ((c->expected_id && (!view->object.id || strcmp(view->object.id, c->expected_id) != 0)) ||
        (c->expected_sha1 && (!view->object.sha1 ||
                              strcasecmp(view->object.sha1, c->expected_sha1) != 0)))
        return STALE;
    /* Without a whole hash, bytes of an older object kept in the partial file could not be told
     * from this one's: such an object is fetched afresh, never resumed. */
    if (sink->needs_proof && !view->object.sha1 && !view->object.md5)
        return UNPROVABLE;
    if (c->on_start && c->on_start(c->start_context, &view->object) != 0)
        return START_REFUSED;
    return ACCEPTED;
}

/* Before the first byte of an answer is written: is it the range asked, of the object pinned? */
static enum refusal check_answer(struct sink *sink)
{
    const struct sp_http_response *response = sink->response;
    const char *range = sp_http_header(response, "Content-Range");
    if (sink->first < 0) {
        sink->total = -1;
    } else if (response->status == 200 && sink->whole_ok) {
        sink->whole = 1;
        sink->total = -1;
    } else if (response->status != 206) {
        snprintf(sink->said, sizeof sink->said, "HTTP %ld without the range", response->status);
        return NOT_PARTIAL;
    } else {
        int64_t a, b, total;
        int64_t expected_last = sink->last;
        if (parse_content_range(range, &a, &b, &total) == 0 && (expected_last < 0 ||
                                                              expected_last >= total))
            expected_last = total - 1;
        if (parse_content_range(range, &a, &b, &total) != 0 || a != sink->first ||
            b != expected_last || (sink->pinned && total != sink->pinned->size)) {
            printable(range, sink->said, sizeof sink->said);
            return sink->pinned && parse_content_range(range, &a, &b, &total) == 0 &&
                           total != sink->pinned->size ? STALE : WRONG_RANGE;
        }
        sink->total = total;
    }
    if (sink->pinned) {
        struct identity now;
        identity_of(response, sink->pinned->size, &now);
        if (strcmp(now.etag, sink->pinned->etag) != 0 ||
            strcmp(now.version, sink->pinned->version) != 0)
            return STALE; /* a server that ignored If-Match, or served another version */
    }
    if (sink->contract) {
        struct s3_object_view view;
        s3_meta_read(response, sink->shared->key, &view);
        return check_contract(sink, &view);
    }
    return ACCEPTED;
}

static int write_body(void *context, const char *data, size_t size)
{
    struct sink *sink = context;
    struct shared *shared = sink->shared;
    if (!sink->started) {
        sink->started = 1;
        if ((sink->refused = check_answer(sink)) != ACCEPTED)
            return -1;
        if (sink->md5) {
            struct s3_object_view view;
            s3_meta_read(sink->response, shared->key, &view);
            if (view.object.sha1) { /* the kept SHA-1 is the proof (new_digests) */
                s3_digest_free(sink->md5);
                sink->md5 = NULL;
            }
        }
    }
    pthread_mutex_lock(&shared->lock);
    int failed = shared->failed;
    pthread_mutex_unlock(&shared->lock);
    if (failed) {
        sink->refused = STOPPED;
        return -1;
    }
    s3_digest_update(sink->md5, data, size);
    s3_digest_update(sink->sha1, data, size);
    int64_t before = sink->out.written;
    int wrote = sp_file_writer_put(&sink->out, data, size);
    pthread_mutex_lock(&shared->lock);
    shared->done += (uint64_t)(sink->out.written - before);
    uint64_t all = shared->done, total = shared->total;
    pthread_mutex_unlock(&shared->lock);
    sp_progress(shared->plugin->host, shared->key, all, total);
    if (wrote != 0)
        sink->refused = WRITE_FAILED;
    return wrote;
}

/* Before another attempt of the same request: a regular file takes the same bytes again at the
 * same place; a pipe cannot take back what it was given. */
static int restart(void *context)
{
    struct sink *sink = context;
    if (!sink->out.seekable && sink->out.written > 0)
        return -1;
    pthread_mutex_lock(&sink->shared->lock);
    sink->shared->done -= (uint64_t)sink->out.written;
    pthread_mutex_unlock(&sink->shared->lock);
    sp_file_writer_restart(&sink->out);
    sink->started = 0;
    sink->whole = 0;
    sink->refused = ACCEPTED;
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

/* One GetObject into sink: bytes first..last (first -1: no Range), of the object pinned (If-Match
 * and versionId) when there is one. On STOR_OK response holds the answer's headers. */
static enum stor_status fetch(struct shared *shared, const char *version_id, struct sink *sink,
                              struct sp_http_response *response, struct stor_error *err)
{
    const char *bucket = shared->bucket, *key = shared->key;
    char range[64];
    struct s3_sigv4_header headers[2];
    struct s3_sigv4_param params[1];
    size_t header_count = 0, param_count = 0;
    if (sink->first >= 0) {
        if (sink->last >= 0)
            snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)sink->first,
                     (long long)sink->last);
        else
            snprintf(range, sizeof range, "bytes=%lld-", (long long)sink->first);
        headers[header_count++] = (struct s3_sigv4_header){"Range", range};
    }
    if (sink->pinned && sink->pinned->etag[0])
        headers[header_count++] = (struct s3_sigv4_header){"If-Match", sink->pinned->etag};
    if (sink->pinned && sink->pinned->version[0])
        version_id = sink->pinned->version;
    if (version_id)
        params[param_count++] = (struct s3_sigv4_param){"versionId", version_id};
    sink->response = response;
    struct s3_call call = {.operation = "GetObject", .method = "GET", .bucket = bucket, .key = key,
                           .params = params, .param_count = param_count, .headers = headers,
                           .header_count = header_count, .body_fd = -1, .write_body = write_body,
                           .write_context = sink, .restart = restart,
                           .receive_buffer = SP_DOWNLOAD_BUFFER};
    struct s3_wire_error error;
    enum stor_status status = s3_request(shared->plugin, &call, response, &error, err);
    if (status == STOR_OK && sink->refused == ACCEPTED && sp_file_writer_flush(&sink->out) != 0)
        sink->refused = WRITE_FAILED;
    sink->out.pending_length = 0; /* a failed answer's bytes: written again or not at all */
    switch (sink->refused) {
    case ACCEPTED:
        break;
    case WRONG_RANGE:
        status = stor_fail(err, STOR_EIO, "%s/%s: asked for bytes %lld-%lld, S3 answered %s: not "
                           "accepted", bucket, key, (long long)sink->first, (long long)sink->last,
                           sink->said);
        break;
    case NOT_PARTIAL:
        status = stor_fail(err, STOR_EIO, "%s/%s: asked for bytes from %lld, S3 answered %s: "
                           "not accepted", bucket, key, (long long)sink->first, sink->said);
        break;
    case STALE:
        status = stor_fail(err, STOR_ESTALE, "%s/%s changed while it was being downloaded (%s): "
                           "nothing of it kept", bucket, key, sink->contract
                               ? "not the version the partial file holds"
                               : "another ETag, version or size");
        break;
    case UNPROVABLE:
        status = stor_fail(err, STOR_ESTALE, "%s/%s has no SHA-1 or single-part MD5 to prove a "
                           "resumed download against: fetched afresh", bucket, key);
        break;
    case START_REFUSED:
    case STOPPED:
        status = stor_fail(err, STOR_ECANCELLED, "stopped");
        break;
    case WRITE_FAILED:
        status = stor_fail(err, STOR_EIO, "%s/%s: writing the output failed: %s", bucket, key,
                           strerror(sink->out.error ? sink->out.error : EIO));
        break;
    }
    if (sink->refused != ACCEPTED) {
        sp_http_response_free(response);
        return status;
    }
    if (status == STOR_ESTALE && sink->pinned)
        return stor_fail(err, STOR_ESTALE, "%s/%s changed while it was being downloaded (its "
                         "ETag is no longer %s): nothing of it kept", bucket, key,
                         sink->pinned->etag);
    sink->out_of_range = status == STOR_EINVAL && strcmp(error.code, "InvalidRange") == 0;
    if (sink->out_of_range)
        return stor_fail(err, STOR_EINVAL, "%s/%s: the range starts outside the object", bucket,
                         key);
    if (status == STOR_EINVAL && version_id && strcmp(error.code, "MethodNotAllowed") == 0)
        return stor_fail(err, STOR_ENOTFOUND, "version %s of %s/%s is a delete marker",
                         version_id, bucket, key);
    if (status == STOR_ENOTFOUND && version_id && !sink->pinned)
        return stor_fail(err, STOR_ENOTFOUND, "not found: version %s of %s/%s", version_id,
                         bucket, key);
    if (status != STOR_OK)
        return status;
    if (!sink->started && sink->first >= 0 && response->status != 206 && !sink->whole_ok) {
        /* No body reached write_body, so nothing was checked: an empty 200 for a range. */
        sp_http_response_free(response);
        return stor_fail(err, STOR_EIO, "%s/%s: asked for bytes from %lld, S3 answered HTTP %ld "
                         "without them: not accepted", bucket, key, (long long)sink->first,
                         response->status);
    }
    if (!sink->started && sink->first >= 0 && response->status == 206) {
        sink->started = 1; /* a 206 without a body: its range is still checked */
        sink->refused = check_answer(sink);
    }
    int64_t want = -1;
    if (response->status == 206 && !sink->whole) {
        int64_t a, b, total;
        if (parse_content_range(sp_http_header(response, "Content-Range"), &a, &b, &total) == 0)
            want = b - a + 1;
    }
    if (sink->refused == ACCEPTED && want >= 0 && sink->out.written != want)
        sink->refused = WRONG_RANGE;
    if (sink->refused != ACCEPTED) {
        sp_http_response_free(response);
        return stor_fail(err, STOR_EIO, "%s/%s: S3 sent %lld bytes for the range %lld-%lld it "
                         "announced: not accepted", bucket, key, (long long)sink->out.written,
                         (long long)sink->first, (long long)(sink->first + want - 1));
    }
    return STOR_OK;
}

/* ---- parallel ranges of a large object ---- */

struct ranges {
    struct shared *shared;
    const struct identity *pinned;
    int fd;
    int64_t base;        /* file position of object byte 0 */
    int64_t first, end;  /* object bytes [first, end) to fetch */
    int64_t part;
    int64_t next;        /* next range to hand out */
    enum stor_status status;
    struct stor_error err;
    unsigned char *complete;  /* per range: all its bytes are in fd (under shared->lock) */
    pthread_cond_t completed; /* a range completed, or one failed */
};

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
        if (stop || sp_cancelled(shared->plugin->host)) {
            if (!stop) {
                pthread_mutex_lock(&shared->lock);
                if (!shared->failed) {
                    ranges->status = stor_fail(&ranges->err, STOR_ECANCELLED, "cancelled");
                    shared->failed = 1;
                }
                pthread_cond_broadcast(&ranges->completed);
                pthread_mutex_unlock(&shared->lock);
            }
            return NULL;
        }
        struct sink sink = {.shared = shared,
                            .out = sp_file_writer_at(ranges->fd, 1, ranges->base + first),
                            .first = first, .last = last, .pinned = ranges->pinned};
        struct sp_http_response response;
        struct stor_error err = {""};
        enum stor_status status = fetch(shared, NULL, &sink, &response, &err);
        sp_file_writer_release(&sink.out);
        if (status == STOR_OK)
            sp_http_response_free(&response);
        pthread_mutex_lock(&shared->lock);
        if (status == STOR_OK) {
            ranges->complete[(first - ranges->first) / ranges->part] = 1;
        } else if (!shared->failed) { /* the first failure is the one reported */
            ranges->status = status;
            ranges->err = err;
            shared->failed = 1;
        }
        pthread_cond_broadcast(&ranges->completed);
        pthread_mutex_unlock(&shared->lock);
        if (status != STOR_OK)
            return NULL;
    }
}

/* The whole object's digests, read back from fd as the ranges complete, in order, while later
 * ones are still arriving. Returns the object bytes hashed: ranges->end when all of them. */
static int64_t hash_completed_ranges(struct ranges *ranges, int64_t count,
                                     struct s3_digest *const *digests, size_t digest_count)
{
    struct shared *shared = ranges->shared;
    /* Object bytes [0, first) came before any range (the first request, or a resumed file). */
    if (s3_digest_fd(ranges->fd, ranges->base, ranges->first, digests, digest_count) != 0)
        return 0;
    int64_t hashed = ranges->first;
    for (int64_t index = 0; index < count; index++) {
        pthread_mutex_lock(&shared->lock);
        while (!ranges->complete[index] && !shared->failed)
            pthread_cond_wait(&ranges->completed, &shared->lock);
        int complete = ranges->complete[index];
        pthread_mutex_unlock(&shared->lock);
        int64_t to = hashed + ranges->part < ranges->end ? hashed + ranges->part : ranges->end;
        if (!complete ||
            s3_digest_fd(ranges->fd, ranges->base + hashed, to - hashed, digests,
                         digest_count) != 0)
            break;
        hashed = to;
    }
    return hashed;
}

/* Fetch object bytes [first, end) with up to transfers threads, each pwriting its ranges, while
 * this thread hashes the object into digests. *contiguous: the bytes from 0 known to be in fd. */
static enum stor_status fetch_ranges(struct ranges *ranges, int transfers,
                                     struct s3_digest *const *digests, size_t digest_count,
                                     int64_t *contiguous, struct stor_error *err)
{
    int64_t count = (ranges->end - ranges->first + ranges->part - 1) / ranges->part;
    if (transfers > count)
        transfers = (int)count;
    ranges->next = ranges->first;
    ranges->status = STOR_OK;
    ranges->complete = calloc((size_t)count, 1);
    if (!ranges->complete)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    pthread_cond_init(&ranges->completed, NULL);
    pthread_t threads[S3_MAX_TRANSFERS];
    int started = 0;
    for (; started < transfers; started++)
        if (pthread_create(&threads[started], NULL, range_worker, ranges) != 0)
            break;
    if (started == 0)
        range_worker(ranges);
    int64_t hashed = hash_completed_ranges(ranges, count, digests, digest_count);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    /* After the join nothing moves: the ranges complete from the start are in fd. */
    int64_t index = 0;
    while (index < count && ranges->complete[index])
        index++;
    *contiguous = index == count ? ranges->end : ranges->first + index * ranges->part;
    pthread_cond_destroy(&ranges->completed);
    free(ranges->complete);
    ranges->complete = NULL;
    if (ranges->status == STOR_OK && hashed != ranges->end)
        return stor_fail(err, STOR_EIO, "%s/%s: cannot read the download back to verify it: %s",
                         ranges->shared->bucket, ranges->shared->key, strerror(errno));
    if (ranges->status != STOR_OK && err)
        *err = ranges->err;
    return ranges->status;
}

/* ---- get_ex ---- */

static int64_t range_size(const struct s3_plugin *plugin, int64_t rest)
{
    int64_t part = plugin->config.download_part_size > 0 ? plugin->config.download_part_size
                                                         : S3_DEFAULT_PART_SIZE;
    if (rest / part >= S3_RANGES_MAX)
        part = rest / (S3_RANGES_MAX - 1) + 1;
    return part;
}

/* The digests a download is verified with: the SHA-1 always (what stor compares on, kept or
 * reported), the MD5 only for an object without a kept SHA-1 (its single-part ETag is then the
 * proof). Returns how many are in digests, 0 on no memory (none left allocated). */
static size_t new_digests(const struct s3_object_view *view, struct s3_digest **md5,
                          struct s3_digest **sha1, struct s3_digest *digests[2])
{
    *sha1 = s3_digest_new(S3_SHA1);
    *md5 = view->object.sha1 ? NULL : s3_digest_new(S3_MD5);
    if (!*sha1 || (!view->object.sha1 && !*md5)) {
        s3_digest_free(*sha1);
        s3_digest_free(*md5);
        *sha1 = *md5 = NULL;
        return 0;
    }
    digests[0] = *sha1;
    digests[1] = *md5;
    return *md5 ? 2 : 1;
}

/* The finished object against what S3 keeps of it: its size, its SHA-1 (X-Amz-Meta-Sha1), else
 * the MD5 of a single-part ETag; then reported. */
static enum stor_status finish(struct shared *shared, struct s3_object_view *view, int verify,
                               int64_t size, struct s3_digest *md5, struct s3_digest *sha1,
                               stor_object_fn on_result, void *context, struct stor_error *err)
{
    const char *bucket = shared->bucket, *key = shared->key;
    unsigned char md5_raw[16], sha1_raw[20];
    size_t have_md5 = s3_digest_finish(md5, md5_raw), have_sha1 = s3_digest_finish(sha1, sha1_raw);
    if (verify) {
        char md5_hex[33] = "", sha1_hex[41] = "";
        if (have_md5 == 16)
            s3_hex(md5_raw, 16, md5_hex);
        if (have_sha1 == 20)
            s3_hex(sha1_raw, 20, sha1_hex);
        if (!have_sha1 || (!view->object.sha1 && view->object.md5 && !have_md5))
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        if (view->object.size >= 0 && size != view->object.size)
            return stor_fail(err, STOR_EIO, "%s/%s: %lld bytes arrived of %lld", bucket, key,
                             (long long)size, (long long)view->object.size);
        if (view->object.sha1 && strcmp(view->object.sha1, sha1_hex) != 0)
            return stor_fail(err, STOR_EIO, "%s/%s: the bytes' SHA-1 is %s, not the stored %s",
                             bucket, key, sha1_hex, view->object.sha1);
        if (view->object.md5 && have_md5 && strcmp(view->object.md5, md5_hex) != 0)
            return stor_fail(err, STOR_EIO, "%s/%s: the bytes' MD5 is %s, not the stored %s",
                             bucket, key, md5_hex, view->object.md5);
        if (!view->object.sha1 && !view->object.md5)
            sp_log(shared->plugin->host, STOR_LOG_WARN,
                   "%s/%s: nothing to verify the download against "
                   "(no SHA-1 kept, a multipart ETag)", bucket, key);
        if (!view->object.sha1) {
            memcpy(view->sha1, sha1_hex, sizeof view->sha1);
            view->object.sha1 = view->sha1;
        }
    }
    view->object.size = size;
    if (on_result && on_result(context, &view->object) != 0)
        return stor_fail(err, STOR_ECANCELLED, "stopped");
    return STOR_OK;
}

/* The host's partial file (a get with a resume contract) is resumed from its size: after a
 * failure it is cut where the bytes known to be the object's stop, so that no hole left by a
 * failed range, nor the tail of an earlier attempt, counts as downloaded. */
static void trim_partial(struct shared *shared, int fd, const struct stor_get_options *opts,
                         int whole_file, enum stor_status status, int64_t base, int64_t kept)
{
    if (!whole_file || !(opts->resume || opts->on_start) || status == STOR_ESTALE)
        return; /* not a partial file, or one the host starts afresh anyway */
    if (ftruncate(fd, base + kept) != 0)
        sp_log(shared->plugin->host, STOR_LOG_WARN, "%s/%s: cannot trim the partial file: %s",
               shared->bucket, shared->key, strerror(errno));
}

/* length 0: nothing asked, still a not-found for a missing object. */
static enum stor_status head_only(struct s3_plugin *plugin, const char *bucket, const char *key,
                                  const char *version_id, stor_object_fn on_result, void *context,
                                  struct stor_error *err)
{
    struct sp_http_response response;
    enum stor_status status = s3_head_version(plugin, bucket, key, version_id, &response, NULL,
                                              err);
    if (status != STOR_OK)
        return status;
    struct s3_object_view view;
    s3_meta_read(&response, key, &view);
    int stop = on_result && on_result(context, &view.object) != 0;
    sp_http_response_free(&response);
    return stop ? stor_fail(err, STOR_ECANCELLED, "stopped") : STOR_OK;
}

enum stor_status s3_get_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_get_options *options, int fd, stor_object_fn on_result,
                           void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct stor_get_options opts = {.length = -1};
    if (options)
        memcpy(&opts, options, options->struct_size < sizeof opts ? options->struct_size
                                                                  : sizeof opts);
    opts.struct_size = options ? options->struct_size : sizeof opts;
    if (opts.offset < 0 || opts.length < -1)
        return stor_fail(err, STOR_EINVAL, "a range starts at 0 or later");
    if (opts.version_id && (!*opts.version_id || strlen(opts.version_id) > S3_VERSION_ID_MAX ||
                            strpbrk(opts.version_id, "\r\n")))
        return stor_fail(err, STOR_EINVAL, "%s: '%s' is not an S3 version id", key,
                         opts.version_id);
    if (opts.length == 0)
        return head_only(plugin, bucket, key, opts.version_id, on_result, context, err);
    struct stat info;
    if (fstat(fd, &info) != 0)
        return stor_fail(err, STOR_EIO, "%s: cannot stat the output: %s", key, strerror(errno));
    /* A regular file we can read back gets parallel ranges and a hash read back from it; a
     * write-only one (standard output redirected) is written in order, like a pipe. */
    int flags = fcntl(fd, F_GETFL);
    int regular = S_ISREG(info.st_mode) && flags >= 0 && (flags & O_ACCMODE) != O_WRONLY;
    if (opts.resume && (!regular || opts.length != -1))
        return stor_fail(err, STOR_EINVAL, "%s: resuming needs a regular file and the rest of "
                         "the object (no length)", key);
    int resume = opts.resume && opts.offset > 0;
    int ranged = !opts.resume && (opts.offset > 0 || opts.length > 0);
    int parallel = regular && !ranged;

    struct shared shared = {.plugin = plugin, .bucket = bucket, .key = key};
    pthread_mutex_init(&shared.lock, NULL);
    /* An expected version or ETag pins a resumed object by itself; without one only a whole hash
     * proves that the bytes kept belong to the object now there. */
    struct sink sink = {.shared = &shared, .out = sp_file_writer_at(fd, regular, 0),
                        .first = -1, .last = -1,
                        .total = -1, .contract = &opts,
                        .needs_proof = resume && !opts.expected_id && !opts.expected_sha1};
    int64_t base = 0; /* file position of object byte 0 */
    if (regular && !resume && (base = lseek(fd, 0, SEEK_CUR)) < 0)
        base = 0;
    int64_t part = range_size(plugin, 0);
    if (resume) {
        /* From the last byte already there (written again, the same): even a file complete but
         * not yet verified asks for a range the object has. */
        sink.first = opts.offset - 1;
        sink.last = sink.first + part - 1;
    } else if (ranged) {
        sink.first = opts.offset;
        sink.last = opts.length > 0 ? opts.offset + opts.length - 1 : -1;
        base -= opts.offset;
    } else if (parallel) {
        /* The first range; its Content-Range tells whether the rest is worth parallel ranges. A
         * server that ignores Range and sends it all is taken as the whole object. */
        sink.first = 0;
        sink.last = part - 1;
        sink.whole_ok = 1;
    }
    sink.out.start = base + (sink.first > 0 ? sink.first : 0);
    if (!regular) {
        sink.md5 = s3_digest_new(S3_MD5);
        sink.sha1 = s3_digest_new(S3_SHA1);
    }
    struct sp_http_response response;
    enum stor_status status = fetch(&shared, opts.version_id, &sink, &response, err);
    if (status == STOR_EINVAL && parallel && !resume && sink.out_of_range) {
        /* An empty object has no byte 0: ask again for all of it. */
        sink.first = sink.last = -1;
        sink.whole_ok = 0;
        status = fetch(&shared, opts.version_id, &sink, &response, err);
    }
    sp_file_writer_release(&sink.out);
    if (status == STOR_EINVAL && resume && sink.out_of_range)
        status = stor_fail(err, STOR_ESTALE, "%s/%s is now shorter than the %lld bytes already "
                           "downloaded: fetched afresh", bucket, key, (long long)opts.offset);
    if (status != STOR_OK) {
        int64_t kept = sink.out.start - base + sink.out.written;
        trim_partial(&shared, fd, &opts, regular && !ranged, status, base,
                     resume && kept < opts.offset ? opts.offset : kept);
        s3_digest_free(sink.md5);
        s3_digest_free(sink.sha1);
        pthread_mutex_destroy(&shared.lock);
        return status;
    }
    if (!sink.started) { /* an empty object: no body, still a start */
        struct s3_object_view view;
        s3_meta_read(&response, key, &view);
        enum refusal refused = sink.contract ? check_contract(&sink, &view) : ACCEPTED;
        if (refused != ACCEPTED)
            status = stor_fail(err, refused == START_REFUSED ? STOR_ECANCELLED : STOR_ESTALE,
                               "%s/%s: %s", bucket, key, refused == START_REFUSED ? "stopped"
                                   : "not the version the partial file holds");
    }
    struct s3_object_view view;
    s3_meta_read(&response, key, &view);
    int64_t size = sink.out.written;
    if (sink.total >= 0)
        size = sink.total;
    struct s3_digest *md5 = sink.md5, *sha1 = sink.sha1;
    int64_t contiguous = sink.out.start - base + sink.out.written;
    if (resume && contiguous < opts.offset)
        contiguous = opts.offset; /* the partial file's own bytes stay */
    int64_t have = sink.first > 0 ? sink.first + sink.out.written : sink.out.written;
    if (status == STOR_OK && parallel && !sink.whole && !ranged && size > have) {
        /* The rest of a large object, every range pinned to this very object. */
        struct identity pinned;
        identity_of(&response, size, &pinned);
        part = range_size(plugin, size - have);
        struct ranges ranges = {.shared = &shared, .pinned = &pinned, .fd = fd, .base = base,
                                .first = have, .end = size, .part = part};
        struct s3_digest *digests[2];
        size_t digest_count = new_digests(&view, &md5, &sha1, digests);
        pthread_mutex_lock(&shared.lock);
        shared.total = (uint64_t)size;
        pthread_mutex_unlock(&shared.lock);
        sp_log(plugin->host, STOR_LOG_DEBUG, "%s/%s: %lld bytes in ranges of %lld, %d at a time",
               bucket, key, (long long)size, (long long)part, plugin->config.transfers);
        status = digest_count ? fetch_ranges(&ranges, plugin->config.transfers, digests,
                                             digest_count, &contiguous, err)
                              : stor_fail(err, STOR_EINTERNAL, "out of memory");
        have = size;
    } else if (status == STOR_OK && regular && !ranged) {
        /* All of it came in the first answer (and, resuming, the partial file before it). */
        struct s3_digest *digests[2];
        size_t digest_count = new_digests(&view, &md5, &sha1, digests);
        if (!digest_count)
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
        else if (s3_digest_fd(fd, base, have, digests, digest_count) != 0)
            status = stor_fail(err, STOR_EIO, "%s/%s: cannot read the download back to verify "
                               "it: %s", bucket, key, strerror(errno));
    }
    if (status == STOR_OK && !ranged && !sink.whole && sink.total >= 0 && have != size)
        status = stor_fail(err, STOR_EIO, "%s/%s: %lld bytes arrived of %lld", bucket, key,
                           (long long)have, (long long)size);
    if (status == STOR_OK)
        status = finish(&shared, &view, !ranged, ranged ? sink.out.written : have, md5, sha1,
                        on_result, context, err);
    else {
        s3_digest_free(md5);
        s3_digest_free(sha1);
    }
    if (status == STOR_OK && regular)
        lseek(fd, base + (ranged ? opts.offset + sink.out.written : have), SEEK_SET);
    if (status != STOR_OK)
        trim_partial(&shared, fd, &opts, regular && !ranged, status, base, contiguous);
    if (md5 != sink.md5)
        s3_digest_free(sink.md5);
    if (sha1 != sink.sha1)
        s3_digest_free(sink.sha1);
    sp_http_response_free(&response);
    pthread_mutex_destroy(&shared.lock);
    return status;
}

enum stor_status s3_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct stor_get_options options = {.struct_size = sizeof options, .length = -1};
    return s3_get_ex(instance, bucket, key, &options, fd, on_result, context, err);
}
