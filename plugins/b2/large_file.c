/* plugins/b2/large_file.c — files above the cutoff as B2 large files (reference §8): part sizing,
 * a per-file pool of part URLs, parts in parallel (hashed, then sent: read twice; the whole file's
 * SHA-1 is computed beside the part hashes, on a second thread), resume, finish. */
#include "large_file.h"

#include "authorized.h"
#include "bucket.h"
#include "cleanup.h"
#include "file_info.h"
#include "instance.h"
#include "objects.h"
#include "pool.h"
#include "sha1.h"
#include "sp_host.h"
#include "sp_http.h"
#include "upload_loop.h"
#include "wire.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define B2_HASH_BUFFER (1 << 20)

/* ---- sizes ---- */

int b2_parse_size(const char *text, int64_t *bytes)
{
    static const struct {
        const char *suffix;
        int64_t factor;
    } units[] = {
        /* A bare K/M/G/T is a power of 1024, as in rclone and coreutils; KB/MB/GB/TB are
         * powers of 1000 (B2's own limits: 5 MB parts, 5 GB uploads). */
        {"", 1}, {"b", 1},
        {"k", 1LL << 10}, {"m", 1LL << 20}, {"g", 1LL << 30}, {"t", 1LL << 40},
        {"kib", 1LL << 10}, {"mib", 1LL << 20}, {"gib", 1LL << 30}, {"tib", 1LL << 40},
        {"kb", 1000LL}, {"mb", 1000000LL}, {"gb", 1000000000LL}, {"tb", 1000000000000LL},
    };
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    char *end;
    errno = 0;
    unsigned long long number = strtoull(text, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcasecmp(end, units[i].suffix) != 0)
            continue;
        if (number > (unsigned long long)(INT64_MAX / units[i].factor))
            return -1;
        *bytes = (int64_t)number * units[i].factor;
        return 0;
    }
    return -1;
}

int64_t b2_part_size_for(int64_t size, int64_t configured, int64_t cutoff, int64_t recommended,
                         int64_t minimum, char *why, size_t why_size)
{
    if (minimum <= 0)
        minimum = B2_PART_SIZE_MIN;
    if (recommended <= 0)
        recommended = B2_PART_SIZE_RECOMMENDED;
    int64_t needed = size / B2_PARTS_MAX + (size % B2_PARTS_MAX != 0); /* <= 10,000 parts */
    if (needed > B2_PART_SIZE_MAX) {
        snprintf(why, why_size, "%lld bytes is more than B2 takes in one file (10,000 parts of "
                 "5 GB)", (long long)size);
        return -1;
    }
    int64_t low = needed > minimum ? needed : minimum;
    if (configured > 0) {
        if (configured < low || configured > B2_PART_SIZE_MAX) {
            snprintf(why, why_size, "option part_size (%lld bytes) does not fit this %lld-byte "
                     "file: it must be from %lld to %lld bytes (at most 10,000 parts of at least "
                     "%lld bytes)", (long long)configured, (long long)size, (long long)low,
                     B2_PART_SIZE_MAX, (long long)minimum);
            return -1;
        }
        return configured;
    }
    /* Capped at the cutoff, so a file just above it still takes two parts or more. */
    int64_t part = cutoff > 0 && cutoff < recommended ? cutoff : recommended;
    if (part < low)
        part = low;
    return part > B2_PART_SIZE_MAX ? B2_PART_SIZE_MAX : part;
}

int b2_wants_large(const struct b2_plugin *plugin, int64_t length)
{
    return length > plugin->config.upload_cutoff || length > B2_SINGLE_UPLOAD_MAX;
}

/* ---- one large upload ---- */

struct large_upload {
    struct b2_plugin *plugin;
    const char *bucket;
    const char *key;
    const struct b2_upload_source *source;
    const struct b2_put_meta *meta; /* content type and file info it starts with */
    char *bucket_id;
    char *file_id;            /* once started or found */
    int64_t part_size;
    int part_count;
    char (*part_sha1)[B2_SHA1_HEX_LENGTH + 1];
    unsigned char *present;   /* part already on B2 with these very bytes (resume) */
    char whole_sha1[B2_SHA1_HEX_LENGTH + 1]; /* "" for a stream: not known at the start */
    int streaming;            /* a pipe: parts as they arrive, total unknown until the end */

    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t changed;   /* a stream's buffer was queued or freed */
    struct b2_target *idle;   /* part URLs of this file, ready for a lease */
    size_t idle_count, idle_capacity;
    int next_part;
    int failed;
    enum stor_status status;
    struct stor_error err;
    uint64_t *sent;           /* per part: bytes sent (or present) */
    uint64_t done;            /* their sum */
};

static int64_t part_length(const struct large_upload *large, int index)
{
    int64_t offset = (int64_t)index * large->part_size;
    int64_t left = large->source->length - offset;
    return left < large->part_size ? left : large->part_size;
}

/* The SHA-1 of length bytes of the input from offset, read with pread into buffer. */
static enum stor_status hash_range(const struct large_upload *large, int64_t offset, int64_t length,
                                   char *buffer, char hex[B2_SHA1_HEX_LENGTH + 1],
                                   struct stor_error *err)
{
    struct b2_sha1 sha1;
    if (b2_sha1_init(&sha1) != 0)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    for (int64_t left = length; left > 0;) {
        if (sp_cancelled(large->plugin->host)) {
            b2_sha1_abandon(&sha1);
            return stor_fail(err, STOR_ECANCELLED, "%s: cancelled", large->key);
        }
        size_t want = left < B2_HASH_BUFFER ? (size_t)left : B2_HASH_BUFFER;
        ssize_t got = pread(large->source->fd, buffer, want, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            b2_sha1_abandon(&sha1);
            return stor_fail(err, STOR_EIO, "%s: reading the input failed: %s", large->key,
                             got == 0 ? "the file shrank" : strerror(errno));
        }
        b2_sha1_update(&sha1, buffer, (size_t)got);
        offset += got;
        left -= got;
    }
    b2_sha1_final(&sha1, hex);
    return STOR_OK;
}

/* The whole file's SHA-1, on a thread of its own beside the part hashes. */
struct whole_hash {
    const struct large_upload *large;
    char hex[B2_SHA1_HEX_LENGTH + 1];
    enum stor_status status;
    struct stor_error err;
};

static void *hash_whole_file(void *context)
{
    struct whole_hash *whole = context;
    const struct large_upload *large = whole->large;
    char *buffer = malloc(B2_HASH_BUFFER);
    whole->status = buffer ? hash_range(large, large->source->offset, large->source->length,
                                        buffer, whole->hex, &whole->err)
                           : stor_fail(&whole->err, STOR_EINTERNAL, "out of memory");
    free(buffer);
    return NULL;
}

/* Part SHA-1s at large->part_size, and the whole file's when whole is set. Two hashes of every
 * byte on one core were the slowest step of a large put: the whole file's is computed on a
 * second thread while this one hashes the parts. */
static enum stor_status hash_parts(struct large_upload *large, int whole, struct stor_error *err)
{
    struct whole_hash whole_hash = {.large = large, .status = STOR_OK};
    pthread_t whole_thread;
    int threaded = whole && pthread_create(&whole_thread, NULL, hash_whole_file, &whole_hash) == 0;
    char *buffer = malloc(B2_HASH_BUFFER);
    enum stor_status status = buffer ? STOR_OK : stor_fail(err, STOR_EINTERNAL, "out of memory");
    for (int index = 0; index < large->part_count && status == STOR_OK; index++)
        status = hash_range(large, large->source->offset + (int64_t)index * large->part_size,
                            part_length(large, index), buffer, large->part_sha1[index], err);
    free(buffer);
    if (threaded)
        pthread_join(whole_thread, NULL);
    else if (whole && status == STOR_OK)
        hash_whole_file(&whole_hash); /* no thread to be had: after the parts */
    if (whole && status == STOR_OK && whole_hash.status != STOR_OK) {
        *err = whole_hash.err;
        status = whole_hash.status;
    }
    if (whole && status == STOR_OK)
        memcpy(large->whole_sha1, whole_hash.hex, sizeof large->whole_sha1);
    return status;
}

/* (Re)size the per-part arrays for part_size. */
static enum stor_status set_part_size(struct large_upload *large, int64_t part_size,
                                      struct stor_error *err)
{
    large->part_size = part_size;
    int64_t count = large->source->length / part_size + (large->source->length % part_size != 0);
    large->part_count = (int)count;
    free(large->part_sha1);
    free(large->present);
    free(large->sent);
    large->part_sha1 = calloc((size_t)count, sizeof *large->part_sha1);
    large->present = calloc((size_t)count, 1);
    large->sent = calloc((size_t)count, sizeof *large->sent);
    if (!large->part_sha1 || !large->present || !large->sent)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    return STOR_OK;
}

/* ---- the per-file pool of part URLs (b2_get_upload_part_url) ---- */

static enum stor_status get_part_url(struct large_upload *large, struct b2_target *target,
                                     struct stor_error *err)
{
    struct b2_plugin *plugin = large->plugin;
    json_object *request = json_object_new_object(), *response = NULL;
    if (!request)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    json_object_object_add(request, "fileId", json_object_new_string(large->file_id));
    sp_log(plugin->host, STOR_LOG_DEBUG, "%s: asking B2 for a part URL", large->key);
    enum stor_status status = b2_api_call(plugin, "b2_get_upload_part_url", request, "writeFiles",
                                          &response, NULL, err);
    json_object_put(request);
    if (status != STOR_OK)
        return status;
    char why[B2_WHY_MAX];
    if (b2_wire_upload_part_url(response, large->file_id, target, why) != 0) {
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_upload_part_url: B2's answer is "
                           "malformed: %s", why);
    } else if (b2_wire_url_keeps_tls(plugin->config.endpoint, "uploadUrl", target->url, why) != 0) {
        b2_target_free(target);
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_upload_part_url: %s", why);
    } else {
        target->issued_at_ms = sp_clock_now(&plugin->clock);
    }
    json_object_put(response);
    return status;
}

struct part_job {
    struct large_upload *large;
    int index;
    struct b2_upload_source source;
    char label[300];
};

/* A lease is exclusive: one part at a time per part URL. After a failure (fresh) it comes from
 * B2, never from the pool. */
static enum stor_status lease_part_url(struct b2_plugin *plugin, void *context, int fresh,
                                       struct b2_target *target, struct stor_error *err)
{
    struct large_upload *large = ((struct part_job *)context)->large;
    memset(target, 0, sizeof *target);
    pthread_mutex_lock(&large->lock);
    while (!fresh && large->idle_count > 0) {
        struct b2_target idle = large->idle[--large->idle_count];
        if (b2_target_usable(plugin, &idle)) {
            *target = idle;
            pthread_mutex_unlock(&large->lock);
            return STOR_OK;
        }
        b2_target_free(&idle);
    }
    pthread_mutex_unlock(&large->lock);
    return get_part_url(large, target, err);
}

static void return_part_url(struct b2_plugin *plugin, void *context, struct b2_target *target)
{
    struct large_upload *large = ((struct part_job *)context)->large;
    if (!b2_target_usable(plugin, target)) {
        b2_target_free(target);
        return;
    }
    pthread_mutex_lock(&large->lock);
    if (large->idle_count == large->idle_capacity) {
        size_t capacity = large->idle_capacity ? large->idle_capacity * 2 : 8;
        struct b2_target *grown = realloc(large->idle, capacity * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&large->lock);
            b2_target_free(target);
            return;
        }
        large->idle = grown;
        large->idle_capacity = capacity;
    }
    large->idle[large->idle_count++] = *target;
    memset(target, 0, sizeof *target);
    pthread_mutex_unlock(&large->lock);
}

/* ---- parts ---- */

static int part_headers(struct b2_plugin *plugin, void *context, char **lines, size_t max_lines)
{
    (void)plugin;
    const struct part_job *job = context;
    size_t count = 0;
    if (sp_http_add_header_line(lines, &count, max_lines, "X-Bz-Part-Number: %d", job->index + 1) != 0 ||
        b2_put_meta_part_headers(job->large->meta, lines, &count, max_lines) != 0) {
        sp_http_free_header_lines(lines, count);
        return -1;
    }
    return (int)count;
}

static enum stor_status accept_part(struct b2_plugin *plugin, void *context,
                                    const struct sp_http_response *response,
                                    const char *sent_sha1, struct stor_error *err)
{
    (void)plugin;
    const struct part_job *job = context;
    char why[B2_WHY_MAX] = "";
    struct b2_part part;
    json_object *root = b2_wire_parse(response->body, response->body_length, why);
    enum stor_status status = STOR_OK;
    if (!root || b2_wire_part(root, &part, why) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "b2_upload_part: B2's answer is malformed: %s", why);
    else if (part.part_number != job->index + 1 || part.content_length != job->source.length ||
             strcmp(part.content_sha1, sent_sha1) != 0)
        status = stor_fail(err, STOR_EIO, "%s: B2 stored part %d with %lld bytes and SHA-1 %.40s, "
                           "but part %d with %lld bytes and SHA-1 %s was sent", job->label,
                           part.part_number, (long long)part.content_length, part.content_sha1,
                           job->index + 1, (long long)job->source.length, sent_sha1);
    json_object_put(root);
    return status;
}

static void report_progress(struct large_upload *large, int index, uint64_t sent)
{
    pthread_mutex_lock(&large->lock);
    large->done = large->done - large->sent[index] + sent;
    large->sent[index] = sent;
    uint64_t done = large->done;
    pthread_mutex_unlock(&large->lock);
    sp_progress(large->plugin->host, large->key, done,
                large->streaming ? 0 : (uint64_t)large->source->length);
}

static int on_part_progress(void *context, uint64_t sent, uint64_t received)
{
    (void)received;
    struct part_job *job = context;
    uint64_t length = (uint64_t)job->source.length;
    report_progress(job->large, job->index, sent < length ? sent : length);
    return sp_cancelled(job->large->plugin->host);
}

/* Part index (its bytes in part: a range of the file, or a stream's buffer) through the pool. */
static enum stor_status send_part(struct large_upload *large, int index,
                                  const struct b2_upload_source *part, struct stor_error *err)
{
    struct part_job job = {.large = large, .index = index, .source = *part};
    memcpy(job.source.sha1, large->part_sha1[index], sizeof job.source.sha1);
    snprintf(job.label, sizeof job.label, "%s (part %d of %d)", large->key, index + 1,
             large->part_count);
    struct b2_upload_job upload = {
        .label = job.label, .call = "b2_upload_part", .source = &job.source,
        .lease = lease_part_url, .give_back = return_part_url, .headers = part_headers,
        .accept = accept_part, .context = &job,
        .progress = on_part_progress, .progress_context = &job};
    enum stor_status status = b2_upload_through_targets(large->plugin, &upload, err);
    if (status == STOR_OK)
        report_progress(large, index, (uint64_t)job.source.length);
    return status;
}

static enum stor_status upload_part(struct large_upload *large, int index, struct stor_error *err)
{
    /* spool_fd only marks a spooled pipe as ours (upload.c tells it from the caller's file);
     * its owner closes it. */
    struct b2_upload_source part = {.fd = large->source->fd, .spool_fd = large->source->spool_fd,
                                    .rest_fd = -1,
                                    .mtime_ms = -1, .length = part_length(large, index),
                                    .offset = large->source->offset + (int64_t)index * large->part_size};
    return send_part(large, index, &part, err);
}

/* A worker takes the next part nobody has, until none is left or one failed. */
static void *part_worker(void *context)
{
    struct large_upload *large = context;
    for (;;) {
        pthread_mutex_lock(&large->lock);
        while (large->next_part < large->part_count && large->present[large->next_part])
            large->next_part++;
        if (large->failed || large->next_part >= large->part_count) {
            pthread_mutex_unlock(&large->lock);
            return NULL;
        }
        int index = large->next_part++;
        pthread_mutex_unlock(&large->lock);
        struct stor_error err = {""};
        enum stor_status status = upload_part(large, index, &err);
        if (status != STOR_OK) {
            pthread_mutex_lock(&large->lock);
            if (!large->failed) {
                large->failed = 1;
                large->status = status;
                large->err = err;
            }
            pthread_mutex_unlock(&large->lock);
            return NULL;
        }
    }
}

static enum stor_status upload_parts(struct large_upload *large, struct stor_error *err)
{
    int missing = 0;
    for (int i = 0; i < large->part_count; i++)
        missing += !large->present[i];
    int workers = large->plugin->config.transfers < missing ? large->plugin->config.transfers
                                                             : missing;
    pthread_t threads[B2_MAX_TRANSFERS];
    int started = 0;
    for (; started < workers; started++)
        if (pthread_create(&threads[started], NULL, part_worker, large) != 0)
            break;
    if (started == 0 && workers > 0)
        part_worker(large); /* no thread to be had: do it here */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (large->failed) {
        *err = large->err;
        return large->status;
    }
    return STOR_OK;
}

/* ---- start, resume, finish ---- */

struct unfinished_match {
    const struct large_upload *large;
    char *file_id;     /* the newest match */
    char **others;     /* older matches (cancelled with resume=no) */
    size_t other_count;
    int failed;
};

/* Ours if the name, large_file_sha1 and src_last_modified_millis (or its absence) all match. */
static int is_ours(const struct large_upload *large, json_object *object, struct b2_file *file)
{
    char why[B2_WHY_MAX];
    if (b2_wire_file(object, file, why) != 0 || !file->file_id ||
        strcmp(file->file_name, large->key) != 0)
        return 0;
    const char *sha1 = b2_wire_file_info(object, "large_file_sha1");
    return sha1 && strcmp(sha1, large->whole_sha1) == 0 &&
           file->src_last_modified_millis == large->meta->mtime_ms;
}

static int match_unfinished(void *context, json_object *object)
{
    struct unfinished_match *match = context;
    struct b2_file file;
    if (!is_ours(match->large, object, &file))
        return 0;
    char *id = strdup(file.file_id);
    char **grown = match->file_id ? realloc(match->others, (match->other_count + 1) * sizeof *grown)
                                  : match->others;
    if (!id || (match->file_id && !grown)) {
        free(id);
        match->failed = 1;
        return 1;
    }
    if (match->file_id) {
        match->others = grown;
        match->others[match->other_count++] = match->file_id;
    }
    match->file_id = id;
    return 0;
}

/* b2_start_large_file's answer was lost: if B2 started the file anyway it is listed as an
 * unfinished file of ours (none was left when we started: try_resume took or cancelled them). */
struct found_start {
    const struct large_upload *large;
    json_object *file;
};

static int keep_newest_ours(void *context, json_object *object)
{
    struct found_start *found = context;
    struct b2_file file;
    if (is_ours(found->large, object, &file)) {
        json_object_put(found->file);
        found->file = json_object_get(object);
    }
    return 0;
}

static int started_after_all(struct b2_plugin *plugin, void *context, json_object **response)
{
    struct found_start found = {.large = context};
    struct stor_error ignored;
    if (!found.large->whole_sha1[0])
        return 0; /* a stream's start carries nothing to tell it from another's */
    if (b2_list_unfinished(plugin, found.large->bucket_id, found.large->key, keep_newest_ours,
                           &found, &ignored) != STOR_OK) {
        json_object_put(found.file);
        return 0;
    }
    *response = found.file;
    return found.file != NULL;
}

static enum stor_status start_large_file(struct large_upload *large, struct stor_error *err)
{
    struct b2_plugin *plugin = large->plugin;
    /* Every entry put_ex asked for goes into the start: a large file keeps its metadata too. */
    json_object *request = json_object_new_object();
    json_object *info = b2_put_meta_file_info(large->meta, large->whole_sha1);
    json_object *response = NULL;
    if (!request || !info) {
        json_object_put(request);
        json_object_put(info);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    json_object_object_add(request, "bucketId", json_object_new_string(large->bucket_id));
    json_object_object_add(request, "fileName", json_object_new_string(large->key));
    json_object_object_add(request, "contentType",
                           json_object_new_string(large->meta->content_type));
    json_object_object_add(request, "fileInfo", info);
    b2_put_meta_start_fields(large->meta, request);
    struct b2_done_check check = {started_after_all, large};
    struct b2_failure failure = {0};
    enum stor_status status = b2_api_call_checked(plugin, "b2_start_large_file", request,
                                                  "writeFiles", &check, &response, &failure, err);
    json_object_put(request);
    if (status != STOR_OK)
        return b2_lock_refused(large->meta, large->bucket, large->key, &failure, status, err);
    char why[B2_WHY_MAX] = "";
    struct b2_file file;
    if (b2_wire_file(response, &file, why) != 0 || !file.file_id)
        status = stor_fail(err, STOR_EINTERNAL, "b2_start_large_file: B2's answer is malformed: %s",
                           why[0] ? why : "field fileId is missing");
    else if (!(large->file_id = strdup(file.file_id)))
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    json_object_put(response);
    return status;
}

struct listed_part {
    int number;
    int64_t length;
    char sha1[B2_SHA1_HEX_LENGTH + 1];
};

/* Every part of file_id already on B2 (b2_list_parts, paged). */
static enum stor_status list_parts(struct b2_plugin *plugin, const char *file_id,
                                   struct listed_part **parts, size_t *count,
                                   struct stor_error *err)
{
    *parts = NULL;
    *count = 0;
    int64_t start = 1;
    enum stor_status status = STOR_OK;
    while (status == STOR_OK && start > 0) {
        json_object *request = json_object_new_object(), *response = NULL, *list;
        if (!request)
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        json_object_object_add(request, "fileId", json_object_new_string(file_id));
        json_object_object_add(request, "startPartNumber", json_object_new_int64(start));
        json_object_object_add(request, "maxPartCount", json_object_new_int(1000));
        status = b2_api_call(plugin, "b2_list_parts", request, "writeFiles", &response, NULL, err);
        json_object_put(request);
        if (status != STOR_OK)
            break;
        if (!json_object_object_get_ex(response, "parts", &list) ||
            !json_object_is_type(list, json_type_array)) {
            json_object_put(response);
            return stor_fail(err, STOR_EINTERNAL, "b2_list_parts: B2's answer is malformed: field "
                             "parts is missing or not an array");
        }
        size_t length = json_object_array_length(list);
        struct listed_part *grown = realloc(*parts, (*count + length + 1) * sizeof *grown);
        if (!grown) {
            json_object_put(response);
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        }
        *parts = grown;
        for (size_t i = 0; i < length && status == STOR_OK; i++) {
            struct b2_part part;
            char why[B2_WHY_MAX];
            if (b2_wire_part(json_object_array_get_idx(list, i), &part, why) != 0) {
                status = stor_fail(err, STOR_EINTERNAL, "b2_list_parts: B2's answer is malformed: "
                                   "%s", why);
                break;
            }
            struct listed_part *entry = &grown[(*count)++];
            entry->number = part.part_number;
            entry->length = part.content_length;
            snprintf(entry->sha1, sizeof entry->sha1, "%s", part.content_sha1);
        }
        json_object *next;
        int64_t next_start = json_object_object_get_ex(response, "nextPartNumber", &next) &&
                                     json_object_is_type(next, json_type_int)
                                 ? json_object_get_int64(next)
                                 : 0;
        json_object_put(response);
        /* Part numbers only grow, and there are at most 10,000: anything else would loop. */
        if (status == STOR_OK && next_start > 0 && (next_start <= start || next_start > B2_PARTS_MAX))
            status = b2_cursor_stuck(err, "b2_list_parts", "nextPartNumber");
        start = next_start;
    }
    return status;
}

/* The part size the parts on B2 were cut with (the largest of them), checked: -1 if they cannot
 * come from this file cut in equal parts. */
static int64_t resumed_part_size(const struct large_upload *large, const struct listed_part *parts,
                                 size_t count, int64_t minimum)
{
    int64_t size = 0;
    for (size_t i = 0; i < count; i++)
        size = parts[i].length > size ? parts[i].length : size;
    int64_t length = large->source->length;
    if (size < minimum || size > B2_PART_SIZE_MAX)
        return -1;
    int64_t part_count = length / size + (length % size != 0);
    if (part_count > B2_PARTS_MAX)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (parts[i].number > part_count)
            return -1;
    return size;
}

static void free_match(struct unfinished_match *match)
{
    free(match->file_id);
    for (size_t i = 0; i < match->other_count; i++)
        free(match->others[i]);
    free(match->others);
}

/* Find our unfinished file; with resume=no cancel it, else take it over with the parts that are
 * already right. Sets large->file_id when resuming. */
static enum stor_status try_resume(struct large_upload *large, int64_t minimum,
                                   struct stor_error *err)
{
    struct b2_plugin *plugin = large->plugin;
    struct unfinished_match match = {.large = large};
    enum stor_status status = b2_list_unfinished(plugin, large->bucket_id, large->key,
                                                 match_unfinished, &match, err);
    if (status == STOR_EAUTH && plugin->config.resume) {
        /* A key that may write but not list: upload without resuming. */
        sp_log(plugin->host, STOR_LOG_WARN,
               "%s: cannot look for an unfinished upload to resume (%s); "
               "starting a new one", large->key, err->message);
        err->message[0] = '\0';
        free_match(&match);
        return STOR_OK;
    }
    if (match.failed)
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (status != STOR_OK || !match.file_id) {
        free_match(&match);
        return status;
    }
    if (!plugin->config.resume) {
        sp_log(plugin->host, STOR_LOG_INFO,
               "%s: resume=no: cancelling the unfinished upload of this file", large->key);
        status = b2_cancel_large_file(plugin, match.file_id, err);
        for (size_t i = 0; i < match.other_count && status == STOR_OK; i++)
            status = b2_cancel_large_file(plugin, match.others[i], err);
        free_match(&match);
        return status;
    }
    struct listed_part *parts;
    size_t count;
    status = list_parts(plugin, match.file_id, &parts, &count, err);
    int64_t size = status == STOR_OK && count > 0 ? resumed_part_size(large, parts, count, minimum)
                                                  : large->part_size;
    if (status == STOR_OK && size < 0) {
        sp_log(plugin->host, STOR_LOG_WARN,
               "%s: the unfinished upload's parts do not fit this file; "
               "cancelling it and starting again", large->key);
        status = b2_cancel_large_file(plugin, match.file_id, err);
    } else if (status == STOR_OK) {
        if (size != large->part_size) {
            sp_log(plugin->host, STOR_LOG_INFO,
                   "%s: resuming with the unfinished upload's part size "
                   "(%lld bytes)", large->key, (long long)size);
            status = set_part_size(large, size, err);
            if (status == STOR_OK)
                status = hash_parts(large, 0, err);
        }
        int already = 0;
        for (size_t i = 0; status == STOR_OK && i < count; i++) {
            int index = parts[i].number - 1;
            if (parts[i].length == part_length(large, index) &&
                strcmp(parts[i].sha1, large->part_sha1[index]) == 0 && !large->present[index]) {
                large->present[index] = 1;
                large->sent[index] = (uint64_t)parts[i].length;
                large->done += (uint64_t)parts[i].length;
                already++;
            }
        }
        if (status == STOR_OK) {
            large->file_id = match.file_id;
            match.file_id = NULL;
            sp_log(plugin->host, STOR_LOG_WARN, "%s: resumed: %d of %d parts already uploaded",
                   large->key, already, large->part_count);
        }
    }
    free(parts);
    free_match(&match);
    return status;
}

/* B2's answer naming the finished file: checked against what was sent, then reported. */
static enum stor_status report_finished(struct large_upload *large, json_object *response,
                                        stor_object_fn on_result, void *context,
                                        struct stor_error *err)
{
    enum stor_status status = STOR_OK;
    char why[B2_WHY_MAX] = "";
    struct b2_file file;
    if (b2_wire_file(response, &file, why) != 0 || !file.file_id) {
        status = stor_fail(err, STOR_EINTERNAL, "b2_finish_large_file: B2's answer is malformed: "
                           "%s", why[0] ? why : "field fileId is missing");
    } else if (strcmp(file.file_name, large->key) != 0 || strcmp(file.file_id, large->file_id) != 0) {
        status = stor_fail(err, STOR_EIO, "%s: B2's answer names another file than was finished: "
                           "not taken as stored", large->key);
    } else if (file.content_length != large->source->length) {
        status = stor_fail(err, STOR_EIO, "%s: B2 finished the file with %lld bytes, but %lld were "
                           "sent", large->key, (long long)file.content_length,
                           (long long)large->source->length);
    } else if (b2_file_sha1(&file) && strcmp(b2_file_sha1(&file), large->whole_sha1) != 0) {
        status = stor_fail(err, STOR_EIO, "%s: B2 finished the file with SHA-1 %s, but its SHA-1 "
                           "is %s: not taken as stored", large->key, b2_file_sha1(&file),
                           large->whole_sha1);
    } else if (on_result) {
        struct stor_object object = b2_file_object(&file, large->whole_sha1);
        on_result(context, &object);
    }
    return status;
}

static enum stor_status finish_large_file(struct large_upload *large, stor_object_fn on_result,
                                          void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = large->plugin;
    json_object *request = json_object_new_object(), *sha1s = json_object_new_array();
    json_object *response = NULL;
    if (!request || !sha1s) {
        json_object_put(request);
        json_object_put(sha1s);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    for (int i = 0; i < large->part_count; i++)
        json_object_array_add(sha1s, json_object_new_string(large->part_sha1[i]));
    json_object_object_add(request, "fileId", json_object_new_string(large->file_id));
    json_object_object_add(request, "partSha1Array", sha1s);
    enum stor_status status = b2_api_call(plugin, "b2_finish_large_file", request, "writeFiles",
                                          &response, NULL, err);
    json_object_put(request);
    if (status != STOR_OK && status != STOR_ECANCELLED &&
        b2_large_file_finished(plugin, large->file_id, large->source->length, &response)) {
        sp_log(plugin->host, STOR_LOG_INFO, "%s: b2_finish_large_file failed (%s), but the file is "
               "finished", large->key, err->message);
        status = STOR_OK;
    }
    if (status == STOR_OK)
        status = report_finished(large, response, on_result, context, err);
    json_object_put(response);
    return status;
}

/* Another put of the same file may have resumed this very upload and finished it while our
 * parts were going: B2 then refuses them, "No active upload". The object is stored, so that is
 * a success, found by looking rather than failing with advice to run the put again. */
static int finished_by_another_put(struct large_upload *large, stor_object_fn on_result,
                                   void *context, const struct stor_error *err)
{
    json_object *response = NULL;
    struct stor_error ignored;
    if (!strstr(err->message, "No active upload") ||
        !b2_large_file_finished(large->plugin, large->file_id, large->source->length, &response))
        return 0;
    sp_log(large->plugin->host, STOR_LOG_INFO, "%s: %s; but the file was finished meanwhile, by "
           "another put of it", large->key, err->message);
    int reported = report_finished(large, response, on_result, context, &ignored) == STOR_OK;
    json_object_put(response);
    return reported;
}

/* The account's part sizes, known once authorized. */
static void account_part_sizes(struct b2_plugin *plugin, int64_t *recommended, int64_t *minimum)
{
    pthread_mutex_lock(&plugin->auth_lock);
    *recommended = plugin->account.recommended_part_size;
    *minimum = plugin->account.absolute_minimum_part_size;
    pthread_mutex_unlock(&plugin->auth_lock);
    if (*minimum <= 0)
        *minimum = B2_PART_SIZE_MIN;
}

/* One line on how to go on after a failure: the unfinished file is kept on purpose. */
static void append_to_error(struct stor_error *err, const char *text)
{
    size_t room = sizeof err->message - strlen(text) - 1;
    if (strlen(err->message) > room)
        err->message[room] = '\0';
    strcat(err->message, text);
}

/* A failed upload's unfinished file: kept for the next put to resume (the default), else
 * cancelled, so that nothing half-written is left billed. The error says which. not_resumable:
 * why no later put could resume it, or NULL. */
static void keep_or_cancel(struct large_upload *large, const char *not_resumable,
                           struct stor_error *err)
{
    char text[400];
    struct stor_error ignored;
    if (!not_resumable && large->plugin->config.resume) {
        snprintf(text, sizeof text, "; the unfinished upload is kept: run the same put again to "
                 "resume it, or cancel it with: stor --backend=b2 cleanup %s/%s", large->bucket,
                 large->key);
    } else if (b2_cancel_large_file(large->plugin, large->file_id, &ignored) == STOR_OK) {
        snprintf(text, sizeof text, "; the partial upload was cancelled (%s)",
                 not_resumable ? not_resumable : "resume=no");
    } else {
        snprintf(text, sizeof text, "; the partial upload is left: stor --backend=b2 cleanup "
                 "%s/%s removes it", large->bucket, large->key);
    }
    append_to_error(err, text);
}

static void large_free(struct large_upload *large)
{
    for (size_t i = 0; i < large->idle_count; i++)
        b2_target_free(&large->idle[i]); /* part URLs die with their file */
    free(large->idle);
    free(large->bucket_id);
    free(large->file_id);
    free(large->part_sha1);
    free(large->present);
    free(large->sent);
    pthread_cond_destroy(&large->changed);
    pthread_mutex_destroy(&large->lock);
}

enum stor_status b2_put_large(struct b2_plugin *plugin, const char *bucket, const char *key,
                              const struct b2_upload_source *source,
                              const struct b2_put_meta *meta, stor_object_fn on_result,
                              void *context, struct stor_error *err)
{
    struct large_upload large = {.plugin = plugin, .bucket = bucket, .key = key, .source = source,
                                 .meta = meta};
    pthread_mutex_init(&large.lock, NULL);
    pthread_cond_init(&large.changed, NULL);
    enum stor_status status = b2_bucket_id(plugin, bucket, 0, &large.bucket_id, err);
    int64_t recommended = 0, minimum = 0, part_size = 0;
    if (status == STOR_OK) {
        char why[300];
        account_part_sizes(plugin, &recommended, &minimum);
        part_size = b2_part_size_for(source->length, plugin->config.part_size,
                                     plugin->config.upload_cutoff, recommended, minimum, why,
                                     sizeof why);
        if (part_size < 0)
            status = stor_fail(err, STOR_EINVAL, "%s: %s", key, why);
    }
    if (status == STOR_OK)
        status = set_part_size(&large, part_size, err);
    if (status == STOR_OK) {
        /* A SHA-1 the caller gave is the large_file_sha1 (B2 hashes parts, not the whole). */
        status = hash_parts(&large, !meta->sha1[0], err);
        if (meta->sha1[0])
            memcpy(large.whole_sha1, meta->sha1, sizeof large.whole_sha1);
    }
    if (status == STOR_OK) {
        sp_log(plugin->host, STOR_LOG_INFO, "%s: large file of %lld bytes, %d parts of %lld bytes",
               key, (long long)source->length, large.part_count, (long long)large.part_size);
        status = try_resume(&large, minimum, err);
    }
    if (status == STOR_OK && !large.file_id)
        status = start_large_file(&large, err);
    if (status == STOR_OK) {
        status = upload_parts(&large, err);
        if (status == STOR_OK)
            status = finish_large_file(&large, on_result, context, err);
        else if (status != STOR_ECANCELLED && finished_by_another_put(&large, on_result, context, err))
            status = STOR_OK;
    }
    if (status != STOR_OK && large.file_id)
        keep_or_cancel(&large, b2_source_changed(source) ? "the file changed" : NULL, err);
    large_free(&large);
    return status;
}

/* ---- a pipe above the cutoff: parts sent as they fill ---- */

/* One part's buffer: free, queued for a worker, or being sent. */
struct stream_slot {
    char *buffer;
    int64_t length;
    int index;
    int state;
};

enum { SLOT_FREE, SLOT_QUEUED, SLOT_SENDING };

struct stream {
    struct large_upload *large;
    struct b2_upload_source *whole; /* length grows as the pipe is read */
    const struct b2_upload_source *prefix; /* read before the cutoff: memory or spool file */
    int64_t prefix_used;
    struct stream_slot *slots;
    int slot_count;
    int reading_done;
};

/* Up to size bytes of the stream: the prefix first, then the pipe. 0 at the end, -1 on error. */
static ssize_t stream_read(struct stream *stream, char *buffer, size_t size)
{
    const struct b2_upload_source *prefix = stream->prefix;
    if (stream->prefix_used < prefix->length) {
        ssize_t got = b2_source_read(prefix, stream->prefix_used, buffer, size);
        if (got > 0)
            stream->prefix_used += got;
        return got;
    }
    ssize_t got;
    do
        got = read(prefix->rest_fd, buffer, size);
    while (got < 0 && errno == EINTR);
    return got;
}

static void *stream_worker(void *context)
{
    struct stream *stream = context;
    struct large_upload *large = stream->large;
    pthread_mutex_lock(&large->lock);
    for (;;) {
        struct stream_slot *next = NULL;
        for (int i = 0; i < stream->slot_count; i++)
            if (stream->slots[i].state == SLOT_QUEUED &&
                (!next || stream->slots[i].index < next->index))
                next = &stream->slots[i];
        if (!next && (stream->reading_done || large->failed))
            break;
        if (!next) {
            pthread_cond_wait(&large->changed, &large->lock);
            continue;
        }
        next->state = SLOT_SENDING;
        pthread_mutex_unlock(&large->lock);
        struct b2_upload_source part = {.fd = -1, .spool_fd = -1, .rest_fd = -1, .mtime_ms = -1,
                                        .memory = next->buffer, .length = next->length};
        struct stor_error err = {""};
        enum stor_status status = large->failed ? STOR_OK : send_part(large, next->index, &part, &err);
        pthread_mutex_lock(&large->lock);
        if (status != STOR_OK && !large->failed) {
            large->failed = 1;
            large->status = status;
            large->err = err;
        }
        next->state = SLOT_FREE;
        pthread_cond_broadcast(&large->changed);
    }
    pthread_mutex_unlock(&large->lock);
    return NULL;
}

/* Fill free buffers from the stream, one part each, hashing the parts and the whole. */
static enum stor_status read_parts(struct stream *stream, struct stor_error *err)
{
    struct large_upload *large = stream->large;
    struct b2_sha1 whole;
    if (b2_sha1_init(&whole) != 0)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    enum stor_status status = STOR_OK;
    for (int index = 0;; index++) {
        pthread_mutex_lock(&large->lock);
        struct stream_slot *slot = NULL;
        while (!large->failed && !slot) {
            for (int i = 0; i < stream->slot_count && !slot; i++)
                if (stream->slots[i].state == SLOT_FREE)
                    slot = &stream->slots[i];
            if (!slot)
                pthread_cond_wait(&large->changed, &large->lock);
        }
        pthread_mutex_unlock(&large->lock);
        if (!slot)
            break; /* a worker failed: its error is the one to report */
        if (!slot->buffer && !(slot->buffer = malloc((size_t)large->part_size))) {
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        int64_t length = 0;
        while (length < large->part_size) {
            if (sp_cancelled(large->plugin->host)) {
                status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", large->key);
                break;
            }
            ssize_t got = stream_read(stream, slot->buffer + length,
                                      (size_t)(large->part_size - length));
            if (got < 0) {
                status = stor_fail(err, STOR_EIO, "%s: reading the input failed: %s", large->key,
                                   strerror(errno));
                break;
            }
            if (got == 0)
                break;
            length += got;
        }
        if (status != STOR_OK || length == 0)
            break;
        if (index >= B2_PARTS_MAX) {
            status = stor_fail(err, STOR_EINVAL, "%s: standard input is longer than 10,000 parts "
                               "of %lld bytes; set a larger part_size", large->key,
                               (long long)large->part_size);
            break;
        }
        struct b2_sha1 part;
        if (b2_sha1_init(&part) != 0) {
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        b2_sha1_update(&part, slot->buffer, (size_t)length);
        b2_sha1_update(&whole, slot->buffer, (size_t)length);
        b2_sha1_final(&part, large->part_sha1[index]);
        pthread_mutex_lock(&large->lock);
        stream->whole->length += length;
        large->part_count = index + 1;
        slot->index = index;
        slot->length = length;
        slot->state = SLOT_QUEUED;
        pthread_cond_broadcast(&large->changed);
        pthread_mutex_unlock(&large->lock);
        if (length < large->part_size)
            break; /* the pipe ended */
    }
    if (status == STOR_OK)
        b2_sha1_final(&whole, large->whole_sha1);
    else
        b2_sha1_abandon(&whole);
    return status;
}

enum stor_status b2_put_large_stream(struct b2_plugin *plugin, const char *bucket, const char *key,
                                     const struct b2_upload_source *source,
                                     const struct b2_put_meta *meta, int64_t stated,
                                     stor_object_fn on_result, void *context,
                                     struct stor_error *err)
{
    struct b2_upload_source whole = {.fd = -1, .spool_fd = -1, .rest_fd = -1, .mtime_ms = -1};
    struct large_upload large = {.plugin = plugin, .bucket = bucket, .key = key, .source = &whole,
                                 .meta = meta, .streaming = 1};
    pthread_mutex_init(&large.lock, NULL);
    pthread_cond_init(&large.changed, NULL);
    int slot_count = plugin->config.transfers;
    struct stream stream = {.large = &large, .whole = &whole, .prefix = source,
                            .slots = calloc((size_t)slot_count, sizeof *stream.slots),
                            .slot_count = slot_count};
    large.part_sha1 = calloc(B2_PARTS_MAX, sizeof *large.part_sha1);
    large.sent = calloc(B2_PARTS_MAX, sizeof *large.sent);
    enum stor_status status = stream.slots && large.part_sha1 && large.sent
                                  ? STOR_OK
                                  : stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (status == STOR_OK)
        status = b2_bucket_id(plugin, bucket, 0, &large.bucket_id, err);
    if (status == STOR_OK) {
        /* Without a stated size: the part size the options or the account give, which also
         * bounds the stream (10,000 parts). A stated size below the cutoff takes the least parts
         * B2 allows (two at least, memory transfers x 5 MB), above it the usual ones. */
        int64_t recommended, minimum;
        char why[300];
        account_part_sizes(plugin, &recommended, &minimum);
        int small = stated >= 0 && stated <= plugin->config.upload_cutoff && plugin->config.part_size <= 0;
        large.part_size = small ? minimum
                                : b2_part_size_for(stated > 0 ? stated : 0, plugin->config.part_size,
                                                   plugin->config.upload_cutoff, recommended,
                                                   minimum, why, sizeof why);
        if (large.part_size < 0)
            status = stor_fail(err, STOR_EINVAL, "%s: %s", key, why);
        /* A SHA-1 the caller gave is the large_file_sha1; the parts as read must have it. */
        if (meta->sha1[0])
            memcpy(large.whole_sha1, meta->sha1, sizeof large.whole_sha1);
    }
    if (status == STOR_OK) {
        sp_log(plugin->host, STOR_LOG_INFO, "%s: %s: a large file in parts of %lld bytes", key,
               stated >= 0 ? "a stream of a stated size beyond memory" : "standard input above the cutoff",
               (long long)large.part_size);
        status = start_large_file(&large, err);
    }
    if (status == STOR_OK) {
        pthread_t threads[B2_MAX_TRANSFERS];
        int started = 0;
        for (; started < slot_count; started++)
            if (pthread_create(&threads[started], NULL, stream_worker, &stream) != 0)
                break;
        if (started == 0)
            status = stor_fail(err, STOR_EINTERNAL, "cannot start a thread for the parts");
        else
            status = read_parts(&stream, err);
        pthread_mutex_lock(&large.lock);
        stream.reading_done = 1;
        if (status != STOR_OK)
            large.failed = 1; /* queued parts are dropped */
        pthread_cond_broadcast(&large.changed);
        pthread_mutex_unlock(&large.lock);
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        if (status == STOR_OK && large.failed) {
            *err = large.err;
            status = large.status;
        }
    }
    large.streaming = 0;
    if (status == STOR_OK && stated >= 0 && whole.length != stated)
        status = stor_fail(err, STOR_EIO, "%s: the stream held %lld bytes, not the %lld stated: "
                           "not stored", key, (long long)whole.length, (long long)stated);
    else if (status == STOR_OK && meta->sha1[0] && strcmp(meta->sha1, large.whole_sha1) != 0)
        status = stor_fail(err, STOR_EIO, "%s: standard input's SHA-1 is %s, not the %s given for "
                           "it: not stored", key, large.whole_sha1, meta->sha1);
    if (status == STOR_OK)
        status = finish_large_file(&large, on_result, context, err);
    if (status != STOR_OK && large.file_id)
        keep_or_cancel(&large, "a stream cannot be resumed", err);
    for (int i = 0; stream.slots && i < slot_count; i++)
        free(stream.slots[i].buffer);
    free(stream.slots);
    large_free(&large);
    return status;
}
