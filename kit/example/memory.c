/* memory.c — an example stor backend, "memory": objects live in this process's memory for the
 * life of one instance, from open to close, and are gone after.
 *
 * It is a complete plugin of ABI 3 written against the installed header alone, meant to be read
 * as a model: every slot it fills follows <stor/plugin.h> to the letter (options, errors,
 * threading, callbacks, the struct_size rules for older callers). Build and install it with
 *
 *     cc -shared -fPIC $(pkg-config --cflags stor-plugin) -o memory.so memory.c -lpthread
 *     install -m 0644 memory.so "$(pkg-config --variable=plugindir stor-plugin)/"
 *
 * then try `stor --backend=memory --help`, or check it with `stor-plugin-check ./memory.so`.
 *
 * Design. One mutex per instance guards all its state, because every slot may run at once from
 * many threads. Objects sit in an array sorted by (bucket, key) in strcmp order, found by binary
 * search. A stored object never changes: a put builds a new one and swaps it in, so get, stat and
 * list take a reference under the lock and use the object after releasing it. File I/O and the
 * caller's callbacks never run under the lock. */
#include <stor/plugin.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES ((uint64_t)1 << 30) /* 1 GiB */
#define STEP ((size_t)1 << 20) /* I/O in 1 MiB steps, polling the host's cancellation between */
#define ID_MAX 24              /* a uint64 in decimal, with its NUL */

/* ---- state --------------------------------------------------------------------------------- */

/* One stored object, immutable once in the table. */
struct object {
    atomic_uint refs; /* the table's reference, plus one per get, stat or listing using it */
    char *bucket, *key;
    char *data; /* malloc'd, never NULL once read (even when empty): data + offset is defined */
    size_t size;
    int64_t mtime_ms, upload_ms;
    uint64_t generation; /* from the instance's counter, new at every put: the object's id */
    char *content_type, *cache_control, *content_disposition, *content_encoding,
        *content_language, *expires; /* NULL when not given */
    struct stor_option *metadata;    /* keys and values malloc'd */
    size_t metadata_count;
};

struct memory {
    const struct stor_host *host; /* may be NULL; set at open like max_bytes, read-only after */
    uint64_t max_bytes;
    pthread_mutex_t lock; /* guards everything below */
    struct object **objects; /* sorted by (bucket, key) */
    size_t count, capacity;
    char **buckets; /* sorted names; a put creates its bucket, like a directory backend */
    size_t bucket_count, bucket_capacity;
    uint64_t used_bytes; /* sum of the stored objects' sizes, at most max_bytes */
    uint64_t generation; /* the last one handed out */
};

/* The options put (ABI 1) stands for, and put_ex's defaults: ask for nothing. */
static const struct stor_put_options no_options = {
    .struct_size = sizeof(struct stor_put_options), .size = -1, .mtime_ms = -1,
    .protection = {.retain_until_ms = -1, .legal_hold = -1}};

/* ---- small helpers ------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The host may be NULL (a test driving the table directly), so every service is checked first. */
static int cancelled(const struct memory *m)
{
    return m->host && STOR_HOST_HAS(m->host, cancelled) && m->host->cancelled(m->host);
}

/* The host validated names already; empty ones would still break the sorted table's meaning. */
static enum stor_status refuse_empty(const char *bucket, const char *key, struct stor_error *err)
{
    if (!bucket || !bucket[0])
        return stor_fail(err, STOR_EINVAL, "the bucket name is empty");
    if (key && !key[0])
        return stor_fail(err, STOR_EINVAL, "the key is empty");
    return STOR_OK;
}

/* A positive decimal number. The first digit is tested because strtoull alone would take "-1"
 * and " 5"; the bound keeps every buffer size a size_t. */
static int parse_bytes(const char *text, uint64_t *out)
{
    if (!text || text[0] < '0' || text[0] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end || errno || value == 0 || value > SIZE_MAX / 2)
        return -1;
    *out = value;
    return 0;
}

/* Room for one more element in a growing array: the array (maybe moved), or NULL when out of
 * memory, leaving the old one as it was. */
static void *grow(void *array, size_t *capacity, size_t count, size_t element_size)
{
    if (count < *capacity)
        return array;
    size_t grown = *capacity ? 2 * *capacity : 16;
    void *bigger = realloc(array, grown * element_size);
    if (bigger)
        *capacity = grown;
    return bigger;
}

/* strdup that keeps NULL as NULL and remembers a failure, so a struct is copied with one check. */
static char *copy_string(const char *s, int *failed)
{
    char *copy = s ? strdup(s) : NULL;
    if (s && !copy)
        *failed = 1;
    return copy;
}

/* ---- objects ------------------------------------------------------------------------------- */

static void object_free(struct object *o)
{
    char *strings[] = {o->bucket,           o->key,           o->data,
                       o->content_type,     o->cache_control, o->content_disposition,
                       o->content_encoding, o->content_language, o->expires};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(strings[i]);
    for (size_t i = 0; i < o->metadata_count; i++) {
        free((char *)o->metadata[i].key); /* ours: allocated in object_new */
        free((char *)o->metadata[i].value);
    }
    free(o->metadata);
    free(o);
}

static struct object *retain(struct object *o)
{
    atomic_fetch_add(&o->refs, 1);
    return o;
}

/* The last reference frees: a get may still be writing an object a put has just replaced. */
static void release(struct object *o)
{
    if (o && atomic_fetch_sub(&o->refs, 1) == 1)
        object_free(o);
}

/* A new object holding copies of the names and of what put_ex keeps; no data yet. */
static struct object *object_new(const char *bucket, const char *key,
                                 const struct stor_put_options *o)
{
    struct object *obj = calloc(1, sizeof *obj);
    if (!obj)
        return NULL;
    atomic_init(&obj->refs, 1);
    int failed = 0;
    obj->bucket = copy_string(bucket, &failed);
    obj->key = copy_string(key, &failed);
    obj->content_type = copy_string(o->content_type, &failed);
    obj->cache_control = copy_string(o->cache_control, &failed);
    obj->content_disposition = copy_string(o->content_disposition, &failed);
    obj->content_encoding = copy_string(o->content_encoding, &failed);
    obj->content_language = copy_string(o->content_language, &failed);
    obj->expires = copy_string(o->expires, &failed);
    if (o->metadata && o->metadata_count > 0) {
        obj->metadata = calloc(o->metadata_count, sizeof *obj->metadata);
        failed |= !obj->metadata;
        for (size_t i = 0; obj->metadata && i < o->metadata_count; i++) {
            obj->metadata[i].key = copy_string(o->metadata[i].key, &failed);
            obj->metadata[i].value = copy_string(o->metadata[i].value, &failed);
            obj->metadata_count = i + 1; /* so object_free frees what was copied */
        }
    }
    if (failed) {
        object_free(obj);
        return NULL;
    }
    return obj;
}

/* The ABI's view of o, with id written into the caller's buffer. Valid while the caller holds
 * its reference to o: that is what lets callbacks run after the lock is released. */
static struct stor_object describe(const struct object *o, char id[static ID_MAX])
{
    snprintf(id, ID_MAX, "%" PRIu64, o->generation);
    return (struct stor_object){
        .key = o->key, .size = (int64_t)o->size, .mtime_ms = o->mtime_ms, .id = id,
        .content_type = o->content_type, .upload_ms = o->upload_ms,
        .cache_control = o->cache_control, .content_disposition = o->content_disposition,
        .content_encoding = o->content_encoding, .content_language = o->content_language,
        .expires = o->expires, .metadata = o->metadata, .metadata_count = o->metadata_count,
        .protection = {.retain_until_ms = -1, .legal_hold = -1}, /* sha1 and md5 stay NULL */
    };
}

static void report(stor_object_fn on_result, void *context, const struct object *o)
{
    char id[ID_MAX];
    if (!on_result)
        return;
    struct stor_object view = describe(o, id);
    on_result(context, &view);
}

/* ---- the sorted table (every function here runs under the lock) ---------------------------- */

static int compare(const struct object *o, const char *bucket, const char *key)
{
    int c = strcmp(o->bucket, bucket);
    return c ? c : strcmp(o->key, key);
}

/* The index of (bucket, key), or where it would be inserted; *found says which. */
static size_t find_object(const struct memory *m, const char *bucket, const char *key, int *found)
{
    size_t low = 0, high = m->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (compare(m->objects[middle], bucket, key) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *found = low < m->count && compare(m->objects[low], bucket, key) == 0;
    return low;
}

static size_t find_bucket(const struct memory *m, const char *bucket, int *found)
{
    size_t low = 0, high = m->bucket_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (strcmp(m->buckets[middle], bucket) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *found = low < m->bucket_count && strcmp(m->buckets[low], bucket) == 0;
    return low;
}

/* Where bucket/key is, or STOR_ENOTFOUND saying whether the bucket or the object is missing. */
static enum stor_status locate(const struct memory *m, const char *bucket, const char *key,
                               size_t *at, struct stor_error *err)
{
    int found;
    find_bucket(m, bucket, &found);
    if (!found)
        return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
    *at = find_object(m, bucket, key, &found);
    return found ? STOR_OK : stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
}

/* Makes room for one more object and one more bucket before anything changes, so a put or
 * create_bucket that runs out of memory leaves the table as it was. */
static int make_room(struct memory *m)
{
    struct object **objects = grow(m->objects, &m->capacity, m->count, sizeof *objects);
    if (objects)
        m->objects = objects;
    char **buckets = grow(m->buckets, &m->bucket_capacity, m->bucket_count, sizeof *buckets);
    if (buckets)
        m->buckets = buckets;
    return objects && buckets ? 0 : -1;
}

/* Puts name at index b of the sorted bucket list, where make_room left space. */
static void insert_bucket(struct memory *m, size_t b, char *name)
{
    memmove(m->buckets + b + 1, m->buckets + b, (m->bucket_count - b) * sizeof *m->buckets);
    m->buckets[b] = name;
    m->bucket_count++;
}

/* Takes the lock just long enough to find bucket/key and take a reference to it. */
static enum stor_status acquire(struct memory *m, const char *bucket, const char *key,
                                struct object **out, struct stor_error *err)
{
    size_t at;
    *out = NULL;
    enum stor_status status = refuse_empty(bucket, key, err);
    if (status != STOR_OK)
        return status;
    pthread_mutex_lock(&m->lock);
    status = locate(m, bucket, key, &at, err);
    *out = status == STOR_OK ? retain(m->objects[at]) : NULL;
    pthread_mutex_unlock(&m->lock);
    return status;
}

/* ---- moving bytes -------------------------------------------------------------------------- */

/* Reads fd from its position to EOF into o->data, without the lock: a slow source must not stall
 * other threads. On failure the caller frees o, and with it what was read. */
static enum stor_status read_source(struct memory *m, int fd, struct object *o,
                                    struct stor_error *err)
{
    size_t capacity = 0, next_poll = 0;
    for (;;) {
        if (o->size >= next_poll) {
            if (cancelled(m))
                return stor_fail(err, STOR_ECANCELLED, "the put was cancelled");
            next_poll = o->size + STEP;
        }
        if (o->size == capacity) {
            size_t grown = capacity ? 2 * capacity : 64 * 1024;
            char *bigger = realloc(o->data, grown);
            if (!bigger)
                return stor_fail(err, STOR_EINTERNAL, "out of memory");
            o->data = bigger;
            capacity = grown;
        }
        size_t room = capacity - o->size < STEP ? capacity - o->size : STEP;
        ssize_t n = read(fd, o->data + o->size, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return stor_fail(err, STOR_EIO, "reading the source: %s", strerror(errno));
        if (n == 0)
            break;
        o->size += (size_t)n;
        if (o->size > m->max_bytes) /* no need to read the rest to know */
            return stor_fail(err, STOR_EIO, "memory backend full");
    }
    char *fit = realloc(o->data, o->size ? o->size : 1); /* shrink: it is kept a long time */
    if (fit)
        o->data = fit;
    return STOR_OK;
}

/* Writes size bytes to fd: with pwrite at offset when offset >= 0 (a file being resumed), else
 * sequentially (fd may be a pipe). Retries EINTR and continues short writes. */
static enum stor_status write_out(struct memory *m, int fd, const char *data, size_t size,
                                  int64_t offset, struct stor_error *err)
{
    size_t done = 0, next_poll = 0;
    while (done < size) {
        if (done >= next_poll) {
            if (cancelled(m))
                return stor_fail(err, STOR_ECANCELLED, "the get was cancelled");
            next_poll = done + STEP;
        }
        size_t step = size - done < STEP ? size - done : STEP;
        ssize_t n = offset >= 0 ? pwrite(fd, data + done, step, (off_t)(offset + (int64_t)done))
                                : write(fd, data + done, step);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return stor_fail(err, STOR_EIO, "writing the destination: %s",
                             n < 0 ? strerror(errno) : "no progress");
        done += (size_t)n;
    }
    return STOR_OK;
}

/* ---- the slots ----------------------------------------------------------------------------- */

static enum stor_status memory_open(const struct stor_host *host, const struct stor_option *options,
                                    size_t option_count, void **instance, struct stor_error *err)
{
    uint64_t max_bytes = DEFAULT_MAX_BYTES;
    for (size_t i = 0; i < option_count; i++) { /* a repeated key: the last value wins */
        if (strcmp(options[i].key, "max_bytes") != 0)
            return stor_fail(err, STOR_EINVAL,
                             "unknown option '%s' for backend memory (it knows: max_bytes)",
                             options[i].key);
        if (parse_bytes(options[i].value, &max_bytes) != 0)
            return stor_fail(err, STOR_EINVAL,
                             "option max_bytes must be a positive whole number of bytes, not '%s'",
                             options[i].value ? options[i].value : "");
    }
    /* Every service used here is of ABI 1, so any host will do; host->intent (ABI 3) does not
     * matter either: open creates nothing. */
    struct memory *m = calloc(1, sizeof *m);
    if (!m)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return stor_fail(err, STOR_EINTERNAL, "cannot create a mutex");
    }
    m->host = host;
    m->max_bytes = max_bytes;
    if (host && STOR_HOST_HAS(host, log) && host->log_level >= STOR_LOG_DEBUG)
        host->log(host, STOR_LOG_DEBUG, "memory: holding up to %" PRIu64 " bytes", max_bytes);
    *instance = m; /* only on success: on failure it stays NULL */
    return STOR_OK;
}

static void memory_close(void *instance)
{
    struct memory *m = instance;
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        release(m->objects[i]); /* nothing is in flight now: the table's is the last reference */
    for (size_t i = 0; i < m->bucket_count; i++)
        free(m->buckets[i]);
    free(m->objects);
    free(m->buckets);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* put and put_ex: refuse what cannot be kept, read, then swap the new object in at once. */
static enum stor_status store(struct memory *m, const char *bucket, const char *key,
                              const struct stor_put_options *o, int fd, stor_object_fn on_result,
                              void *context, struct stor_error *err)
{
    enum stor_status status = refuse_empty(bucket, key, err);
    if (status != STOR_OK)
        return status;
    if (o->protection.encryption)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory does not keep encryption");
    if (o->protection.retention_mode || o->protection.retain_until_ms >= 0)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory does not keep retention");
    if (o->protection.legal_hold >= 0)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory does not keep legal-hold");
    /* o->sha1 is not verified: that needs a SHA-1 implementation, and STOR_CAP_SHA1 is not
     * declared, so the host expects no hashing here. */
    if (o->size > (int64_t)m->max_bytes)
        return stor_fail(err, STOR_EIO, "memory backend full"); /* known already: read nothing */
    struct object *obj = object_new(bucket, key, o);
    if (!obj)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    status = read_source(m, fd, obj, err);
    if (status != STOR_OK) {
        release(obj); /* a failed or cancelled read changes nothing */
        return status;
    }
    obj->upload_ms = now_ms();
    obj->mtime_ms = o->mtime_ms >= 0 ? o->mtime_ms : obj->upload_ms;

    pthread_mutex_lock(&m->lock);
    int has_bucket, has_object;
    size_t b = find_bucket(m, bucket, &has_bucket);
    size_t at = find_object(m, bucket, key, &has_object);
    struct object *old = has_object ? m->objects[at] : NULL;
    char *name = has_bucket ? NULL : strdup(bucket);
    if (m->used_bytes - (old ? old->size : 0) + obj->size > m->max_bytes)
        status = stor_fail(err, STOR_EIO, "memory backend full");
    else if ((!has_bucket && !name) || make_room(m) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (status == STOR_OK) {
        if (!has_bucket)
            insert_bucket(m, b, name);
        if (!old) {
            memmove(m->objects + at + 1, m->objects + at, (m->count - at) * sizeof *m->objects);
            m->count++;
        }
        m->objects[at] = obj;
        m->used_bytes = m->used_bytes - (old ? old->size : 0) + obj->size;
        obj->generation = ++m->generation;
        retain(obj); /* ours, to report it after the unlock, whatever other threads do */
    } else {
        free(name);
        old = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    release(old); /* the table's reference: a get still writing it keeps its own */
    if (status == STOR_OK)
        report(on_result, context, obj);
    release(obj); /* ours; on failure the only one, which frees it */
    return status;
}

static enum stor_status memory_put(void *instance, const char *bucket, const char *key, int fd,
                                   stor_object_fn on_result, void *context, struct stor_error *err)
{
    return store(instance, bucket, key, &no_options, fd, on_result, context, err);
}

static enum stor_status memory_put_ex(void *instance, const char *bucket, const char *key,
                                      const struct stor_put_options *options, int fd,
                                      stor_object_fn on_result, void *context,
                                      struct stor_error *err)
{
    /* Defaults, then as much of the caller's struct as it has: an older caller's is shorter. */
    struct stor_put_options o = no_options;
    if (options)
        memcpy(&o, options, options->struct_size < sizeof o ? options->struct_size : sizeof o);
    return store(instance, bucket, key, &o, fd, on_result, context, err);
}

static enum stor_status memory_get_ex(void *instance, const char *bucket, const char *key,
                                      const struct stor_get_options *options, int fd,
                                      stor_object_fn on_result, void *context,
                                      struct stor_error *err)
{
    struct memory *m = instance;
    struct stor_get_options o = {.struct_size = sizeof o, .length = -1};
    if (options) /* as in put_ex: never read past the caller's struct */
        memcpy(&o, options, options->struct_size < sizeof o ? options->struct_size : sizeof o);
    if (o.version_id)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory keeps no versions");
    if (o.offset < 0 || o.length == 0 || o.length < -1)
        return stor_fail(err, STOR_EINVAL, "invalid range: offset %" PRId64 ", length %" PRId64,
                         o.offset, o.length);
    struct object *obj;
    enum stor_status status = acquire(m, bucket, key, &obj, err);
    if (status != STOR_OK)
        return status;
    char id[ID_MAX];
    struct stor_object view = describe(obj, id);
    int64_t size = (int64_t)obj->size, end = size;
    /* The id alone names the version: expected_sha1 is ignored, there being no SHA-1 here, and
     * the bytes a resumed file already holds are trusted because they came from that version. */
    if (o.expected_id && strcmp(o.expected_id, id) != 0)
        status = stor_fail(err, STOR_ESTALE, "object %s/%s is no longer version %s (now %s)",
                           bucket, key, o.expected_id, id);
    else if (o.resume && o.offset > size)
        status = stor_fail(err, STOR_EINVAL,
                           "the file to resume holds %" PRId64 " bytes, more than the object "
                           "(%" PRId64 " bytes)", o.offset, size);
    else if (!o.resume && o.offset > 0 && o.offset >= size)
        status = stor_fail(err, STOR_EINVAL,
                           "the range starting at byte %" PRId64 " is outside the object "
                           "(%" PRId64 " bytes)", o.offset, size);
    else if (!o.resume && o.length > 0 && o.length < size - o.offset)
        end = o.offset + o.length; /* a range reaching past the end is clipped to it */
    if (status == STOR_OK && o.on_start && o.on_start(o.start_context, &view) != 0)
        status = stor_fail(err, STOR_ECANCELLED, "the get was cancelled by its caller");
    if (status == STOR_OK) /* a resumed file is appended to in place, anything else in order */
        status = write_out(m, fd, obj->data + o.offset, (size_t)(end - o.offset),
                           o.resume ? o.offset : -1, err);
    if (status == STOR_OK && on_result)
        on_result(context, &view); /* the whole object, even for a range */
    release(obj);
    return status;
}

static enum stor_status memory_get(void *instance, const char *bucket, const char *key, int fd,
                                   stor_object_fn on_result, void *context, struct stor_error *err)
{
    return memory_get_ex(instance, bucket, key, NULL, fd, on_result, context, err);
}

static enum stor_status memory_stat(void *instance, const char *bucket, const char *key,
                                    const char *version_id, stor_object_fn on_result,
                                    void *context, struct stor_error *err)
{
    if (version_id)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory keeps no versions");
    struct object *obj;
    enum stor_status status = acquire(instance, bucket, key, &obj, err);
    if (status == STOR_OK)
        report(on_result, context, obj);
    release(obj);
    return status;
}

/* One entry of a listing's snapshot: an object (a reference) or a folded prefix (a copy). */
struct entry {
    struct object *object;
    char *prefix;
};

static enum stor_status memory_list(void *instance, const char *bucket, const char *prefix,
                                    unsigned flags, stor_object_fn on_object, void *context,
                                    struct stor_error *err)
{
    struct memory *m = instance;
    if (flags & STOR_LIST_VERSIONS)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory keeps no versions");
    enum stor_status status = refuse_empty(bucket, NULL, err);
    if (status != STOR_OK)
        return status;
    prefix = prefix ? prefix : "";
    size_t prefix_length = strlen(prefix), count = 0, capacity = 0;
    struct entry *entries = NULL;

    /* Snapshot under the lock, report after it: on_object may be slow, or call back into us. */
    pthread_mutex_lock(&m->lock);
    int has_bucket, unused;
    find_bucket(m, bucket, &has_bucket);
    if (!has_bucket)
        status = stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
    /* The keys under prefix are contiguous in the table, starting where prefix would sort. */
    size_t start = has_bucket ? find_object(m, bucket, prefix, &unused) : m->count;
    for (size_t i = start; i < m->count; i++) {
        struct object *o = m->objects[i];
        if (strcmp(o->bucket, bucket) != 0 || strncmp(o->key, prefix, prefix_length) != 0)
            break;
        /* One level: fold at the first '/' after prefix. Keys under one folded name are adjacent,
         * and the name sorts where its first key does, so the table's order stays the listing's
         * order ("a-" < "a/" < "a0"): a repeat can only be the previous entry. */
        const char *rest = o->key + prefix_length;
        const char *slash = flags & STOR_LIST_RECURSIVE ? NULL : strchr(rest, '/');
        size_t folded = slash ? (size_t)(slash - o->key) + 1 : 0; /* its length, with the '/' */
        struct entry *last = count ? &entries[count - 1] : NULL;
        if (slash && last && last->prefix && strncmp(last->prefix, o->key, folded) == 0 &&
            last->prefix[folded] == '\0')
            continue;
        struct entry *bigger = grow(entries, &capacity, count, sizeof *entries);
        char *name = slash ? strndup(o->key, folded) : NULL;
        if (bigger)
            entries = bigger;
        if (!bigger || (slash && !name)) {
            free(name);
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        entries[count++] = (struct entry){slash ? NULL : retain(o), name};
    }
    pthread_mutex_unlock(&m->lock);

    for (size_t i = 0; i < count; i++) {
        struct stor_object directory = {.key = entries[i].prefix, .is_prefix = 1, .size = -1,
                                        .mtime_ms = -1, .upload_ms = -1,
                                        .protection = {.retain_until_ms = -1, .legal_hold = -1}};
        char id[ID_MAX];
        struct stor_object view = entries[i].object ? describe(entries[i].object, id) : directory;
        if (status == STOR_OK && on_object && on_object(context, &view) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "the listing was stopped by its caller");
        release(entries[i].object); /* after a stop too: every entry is released */
        free(entries[i].prefix);
    }
    free(entries);
    return status;
}

static enum stor_status memory_remove(void *instance, const char *bucket, const char *key,
                                      struct stor_error *err)
{
    struct memory *m = instance;
    enum stor_status status = refuse_empty(bucket, key, err);
    if (status != STOR_OK)
        return status;
    struct object *old = NULL;
    size_t at;
    pthread_mutex_lock(&m->lock);
    status = locate(m, bucket, key, &at, err);
    if (status == STOR_OK) {
        old = m->objects[at];
        memmove(m->objects + at, m->objects + at + 1, (m->count - at - 1) * sizeof *m->objects);
        m->count--;
        m->used_bytes -= old->size;
    }
    pthread_mutex_unlock(&m->lock);
    release(old); /* freed once no get still uses it */
    return status;
}

static enum stor_status memory_list_buckets(void *instance, stor_bucket_fn on_bucket,
                                            void *context, struct stor_error *err)
{
    struct memory *m = instance;
    enum stor_status status = STOR_OK;
    size_t count = 0;
    pthread_mutex_lock(&m->lock); /* copy the names, to report them without the lock */
    char **names = m->bucket_count ? calloc(m->bucket_count, sizeof *names) : NULL;
    if (m->bucket_count && !names)
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    for (; names && count < m->bucket_count; count++)
        if (!(names[count] = strdup(m->buckets[count]))) {
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < count; i++) {
        struct stor_bucket view = {.name = names[i], .is_public = 0, .created_ms = -1};
        if (status == STOR_OK && on_bucket && on_bucket(context, &view) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "the listing was stopped by its caller");
        free(names[i]);
    }
    free(names);
    return status;
}

static enum stor_status memory_create_bucket(void *instance, const char *bucket,
                                             const struct stor_bucket_options *options,
                                             stor_bucket_fn on_result, void *context,
                                             struct stor_error *err)
{
    struct memory *m = instance;
    struct stor_bucket_options o = {.struct_size = sizeof o};
    if (options)
        memcpy(&o, options, options->struct_size < sizeof o ? options->struct_size : sizeof o);
    enum stor_status status = refuse_empty(bucket, NULL, err);
    if (status != STOR_OK)
        return status;
    if (o.is_public)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory has no public buckets");
    if (o.settings && o.setting_count > 0) /* it documents no bucket.KEY setting */
        return stor_fail(err, STOR_EINVAL, "unknown bucket setting '%s' for backend memory",
                         o.settings[0].key);
    char *name = strdup(bucket);
    if (!name)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    pthread_mutex_lock(&m->lock);
    int found;
    size_t b = find_bucket(m, bucket, &found);
    if (found)
        status = stor_fail(err, STOR_EINVAL, "bucket '%s' already exists", bucket);
    else if (make_room(m) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    else {
        insert_bucket(m, b, name);
        name = NULL; /* the table's now */
    }
    pthread_mutex_unlock(&m->lock);
    free(name);
    if (status == STOR_OK && on_result) {
        struct stor_bucket view = {.name = bucket, .is_public = 0, .created_ms = -1};
        on_result(context, &view);
    }
    return status;
}

static enum stor_status memory_delete_bucket(void *instance, const char *bucket,
                                             struct stor_error *err)
{
    struct memory *m = instance;
    enum stor_status status = refuse_empty(bucket, NULL, err);
    if (status != STOR_OK)
        return status;
    char *name = NULL;
    pthread_mutex_lock(&m->lock);
    int found, unused;
    size_t b = find_bucket(m, bucket, &found);
    size_t first = find_object(m, bucket, "", &unused); /* the bucket's first object, if any */
    if (!found)
        status = stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
    else if (first < m->count && strcmp(m->objects[first]->bucket, bucket) == 0)
        status = stor_fail(err, STOR_EINVAL, "bucket '%s' is not empty", bucket);
    else {
        name = m->buckets[b];
        memmove(m->buckets + b, m->buckets + b + 1, (m->bucket_count - b - 1) * sizeof *m->buckets);
        m->bucket_count--;
    }
    pthread_mutex_unlock(&m->lock);
    free(name);
    return status;
}

/* Nothing of a bucket can change here (every bucket is private, with no settings), but the
 * slot still says so precisely: a missing bucket, an unknown setting, a public bucket. */
static enum stor_status memory_update_bucket(void *instance, const char *bucket,
                                             const struct stor_bucket_options *options,
                                             stor_bucket_fn on_result, void *context,
                                             struct stor_error *err)
{
    struct memory *m = instance;
    enum stor_status status = refuse_empty(bucket, NULL, err);
    if (status != STOR_OK)
        return status;
    struct stor_bucket_options o = {.struct_size = sizeof o, .is_public = -1};
    if (options)
        memcpy(&o, options, options->struct_size < sizeof o ? options->struct_size : sizeof o);
    if (o.setting_count > 0)
        return stor_fail(err, STOR_EINVAL, "unknown bucket setting '%s' for backend memory",
                         o.settings[0].key);
    if (o.is_public > 0)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend memory has no public buckets");
    pthread_mutex_lock(&m->lock);
    int found;
    find_bucket(m, bucket, &found);
    pthread_mutex_unlock(&m->lock);
    if (!found)
        return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
    struct stor_bucket kept = {.name = bucket, .is_public = 0, .created_ms = -1};
    if (on_result)
        on_result(context, &kept);
    return STOR_OK;
}

/* ---- the table and the entry point --------------------------------------------------------- */

static const struct stor_option_doc memory_options[] = {
    {"max_bytes", "the most bytes the instance holds in all its objects together (default 1 GiB); "
                  "a put beyond it fails"},
    {NULL, NULL},
};

static const struct stor_backend memory_backend = {
    .abi_version = STOR_ABI_VERSION,
    .struct_size = sizeof(struct stor_backend),
    .name = "memory",
    .description = "objects in this process's memory, gone when the instance closes (an example)",
    .options = memory_options,
    .notes = "Objects live in memory for the life of one instance, from open to close: nothing "
             "is written to disk and everything is gone when stor exits, so this backend is for "
             "tests and for reading as an example plugin. A put to a missing bucket creates it. "
             "There are no versions: a put replaces the object and rm deletes it. Content type, "
             "the HTTP headers, user metadata and the source mtime are kept; encryption, "
             "retention and legal hold are refused. Each put gives the object a new id, so an "
             "interrupted get resumes only on the very version it started with.",
    .open = memory_open,
    .close = memory_close,
    .put = memory_put,
    .get = memory_get,
    .list = memory_list,
    .remove = memory_remove,
    /* get_upload_target, remove_ex, copy, cleanup, share and protect stay NULL: nothing outside
     * this process can reach it, there are no versions (nor locks on them), the host copies by
     * get + put, and no put is ever left half done. */
    .get_ex = memory_get_ex,
    .capabilities = STOR_CAP_DELIMITER | STOR_CAP_RANGED_GET | STOR_CAP_RESUME_GET |
                    STOR_CAP_METADATA | STOR_CAP_MTIME | STOR_CAP_BUCKETS,
    .put_ex = memory_put_ex,
    .stat = memory_stat,
    .list_buckets = memory_list_buckets,
    .create_bucket = memory_create_bucket,
    .delete_bucket = memory_delete_bucket,
    .update_bucket = memory_update_bucket,
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void)
{
    return &memory_backend;
}
