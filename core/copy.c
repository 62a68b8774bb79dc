/* copy.c — one object from one place to another: inside the service where one backend holds both
 * and can copy, else streamed through stor, never through a file of the object's size.
 *
 * The destination's put_ex reads one end of a socket pair; a relay thread writes the other end
 * with the source's bytes, hashing and counting them as they pass. Every backend stores an object
 * only once its input has ended, so the relay holds back the end until the source has vouched
 * for the whole: its get returned OK, the bytes are as many as listed, their SHA-1 is the listed
 * one. Then the destination reads an end of file. Otherwise it reads ECONNRESET (a byte left
 * unread on the relay's end when it closes: Linux's unix sockets report that to the peer), fails
 * like on any read error, and its previous object stays as it was. A large source that serves
 * ranges is fetched in parallel parts into a ring of part buffers, handed on in order. */
#include "copy.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"

#define COPY_CHUNK (256u << 10)          /* one read and write of the relay */
#define COPY_PART_SIZE (8LL << 20)       /* one ranged get */
#define COPY_RANGED_MIN (2 * COPY_PART_SIZE) /* smaller objects come in one get */
#define COPY_RANGES_MAX 64

/* --- what is known of the source ------------------------------------------------------------ */

static char *copy_or_null(const char *text, int *failed)
{
    char *copy = text ? strdup(text) : NULL;
    *failed |= text && !copy;
    return copy;
}

int stor_copy_source_keep(struct stor_copy_source *k, unsigned abi, const struct stor_object *o)
{
    int failed = 0;
    k->size = o->size;
    k->mtime_ms = o->mtime_ms;
    snprintf(k->sha1, sizeof k->sha1, "%s", o->sha1 && strlen(o->sha1) == 40 ? o->sha1 : "");
    snprintf(k->id, sizeof k->id, "%s", o->id && strlen(o->id) < sizeof k->id ? o->id : "");
    if (abi < 3)
        return 0;
    k->content_type = copy_or_null(o->content_type, &failed);
    const char *headers[5] = {o->cache_control, o->content_disposition, o->content_encoding,
                              o->content_language, o->expires};
    for (int i = 0; i < 5; i++)
        k->headers[i] = copy_or_null(headers[i], &failed);
    for (size_t i = 0; i < o->metadata_count && k->metadata_count < STOR_META_MAX; i++) {
        struct stor_option *m = &k->metadata[k->metadata_count++];
        m->key = copy_or_null(o->metadata[i].key, &failed);
        m->value = copy_or_null(o->metadata[i].value, &failed);
    }
    return failed ? -1 : 0;
}

void stor_copy_source_free(struct stor_copy_source *k)
{
    free(k->content_type);
    for (int i = 0; i < 5; i++)
        free(k->headers[i]);
    for (size_t i = 0; i < k->metadata_count; i++) {
        free((char *)k->metadata[i].key);
        free((char *)k->metadata[i].value);
    }
    memset(k, 0, sizeof *k);
}

int stor_copy_listing_suffices(const struct stor_session *from, const struct stor_session *to,
                               const struct stor_object *o)
{
    if (o->size < 0 || ((to->plugin->capabilities & STOR_CAP_MTIME) && o->mtime_ms < 0))
        return 0;
    /* A backend whose listing carries what it keeps always lists a content type; one that lists
     * less lists none, and then only stat knows the metadata. */
    int both_keep_metadata = (from->plugin->capabilities & STOR_CAP_METADATA) &&
                             (to->plugin->capabilities & STOR_CAP_METADATA);
    return !both_keep_metadata || (from->plugin->table.abi_version >= 3 && o->content_type);
}

static int keep_stat(void *context, const struct stor_object *o)
{
    return stor_copy_source_keep(context, 3, o); /* stat is a slot of ABI 3 */
}

/* --- the relay: the source's bytes to the destination's socket ------------------------------ */

enum part_state { PART_FREE, PART_FILLING, PART_READY };

struct part {
    char *buffer;
    int64_t index, length;
    enum part_state state;
};

struct relay {
    struct stor_session *from;
    const char *bucket, *key;
    const struct stor_copy_source *source;
    int out;         /* the relay's end of the destination's socket pair */
    int reader;      /* the destination's end: where the relay leaves the byte that resets it */
    EVP_MD_CTX *sha;
    uint64_t passed;
    /* the first failure of the source's side (its get, or a lie the relay caught) */
    enum stor_status status;
    struct stor_error err;
    int destination_gone; /* the destination stopped reading: its own error is the cause */
    /* parallel ranges */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct part *ring;
    int ring_size;
    int64_t parts, next_part;
    int stop;
};

/* The source's side failed (the first failure is the one reported): stop everything. */
__attribute__((format(printf, 3, 4))) static void relay_fail(struct relay *r,
                                                             enum stor_status status,
                                                             const char *fmt, ...)
{
    pthread_mutex_lock(&r->lock);
    if (r->status == STOR_OK) {
        va_list ap;
        va_start(ap, fmt);
        r->status = stor_vfail(&r->err, status, fmt, ap);
        va_end(ap);
    }
    r->stop = 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* Hands bytes on to the destination, hashed; 0, or -1 when the destination stopped reading. */
static int pass_on(struct relay *r, const char *data, size_t length)
{
    EVP_DigestUpdate(r->sha, data, length);
    r->passed += length;
    while (length > 0) {
        ssize_t sent = send(r->out, data, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            pthread_mutex_lock(&r->lock);
            r->destination_gone = 1;
            r->stop = 1;
            pthread_cond_broadcast(&r->changed);
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        data += sent;
        length -= (size_t)sent;
    }
    return 0;
}

/* One get into a pipe, on a thread of its own, so that its reader can sit in another. */
struct fetch {
    struct stor_session *from;
    const char *bucket, *key;
    const struct stor_get_options *range; /* NULL: the whole object through get */
    int fd;                               /* the pipe's writing end, closed when the get ends */
    enum stor_status status;
    struct stor_error err;
};

static int ignore_object(void *context, const struct stor_object *object)
{
    return 0;
}

static void *fetch_thread(void *arg)
{
    struct fetch *f = arg;
    const struct stor_backend *b = &f->from->plugin->table;
    f->status = f->range ? b->get_ex(f->from->instance, f->bucket, f->key, f->range, f->fd,
                                     ignore_object, NULL, &f->err)
                         : b->get(f->from->instance, f->bucket, f->key, f->fd, ignore_object,
                                  NULL, &f->err);
    close(f->fd);
    return NULL;
}

static int start_fetch(struct fetch *f, pthread_t *thread, int *read_end)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    f->fd = fds[1];
    f->status = STOR_OK;
    f->err.message[0] = '\0';
    if (pthread_create(thread, NULL, fetch_thread, f) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    *read_end = fds[0];
    return 0;
}

/* The whole object in one get, handed on as it comes. */
static void relay_whole(struct relay *r)
{
    struct fetch f = {.from = r->from, .bucket = r->bucket, .key = r->key};
    pthread_t thread;
    int in;
    char *buffer = malloc(COPY_CHUNK);
    if (!buffer || start_fetch(&f, &thread, &in) != 0) {
        free(buffer);
        relay_fail(r, STOR_EINTERNAL, "%s/%s: cannot start the stream", r->bucket, r->key);
        return;
    }
    int64_t size = r->source->size;
    for (;;) {
        if (r->from->host->cancelled(r->from->host)) {
            relay_fail(r, STOR_ECANCELLED, "%s/%s: cancelled", r->bucket, r->key);
            break;
        }
        ssize_t got = read(in, buffer, COPY_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            relay_fail(r, STOR_EIO, "%s/%s: reading the source's stream failed: %s", r->bucket,
                       r->key, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        if (size >= 0 && r->passed + (uint64_t)got > (uint64_t)size) {
            relay_fail(r, STOR_EIO, "%s/%s: the source sent more than the %lld bytes it listed: "
                       "not stored", r->bucket, r->key, (long long)size);
            break;
        }
        if (pass_on(r, buffer, (size_t)got) != 0)
            break;
    }
    close(in); /* a get still writing ends with EPIPE */
    pthread_join(thread, NULL);
    free(buffer);
    if (f.status != STOR_OK && !r->destination_gone) {
        pthread_mutex_lock(&r->lock);
        if (r->status == STOR_OK) {
            r->status = f.status;
            r->err = f.err;
        }
        pthread_mutex_unlock(&r->lock);
    }
}

/* One part of a ranged copy: exactly its bytes of the pinned version, or a failure. */
static enum stor_status fetch_part(struct relay *r, struct part *p, int64_t index,
                                   struct stor_error *err)
{
    const struct stor_copy_source *k = r->source;
    int64_t offset = index * COPY_PART_SIZE;
    int64_t length = k->size - offset < COPY_PART_SIZE ? k->size - offset : COPY_PART_SIZE;
    /* Every range comes from the version the listing saw, or the get fails: never a mix. */
    struct stor_get_options range = {.struct_size = sizeof range, .offset = offset, .length = length};
    if (r->from->plugin->capabilities & STOR_CAP_VERSIONS)
        range.version_id = k->id;
    else
        range.expected_id = k->id;
    struct fetch f = {.from = r->from, .bucket = r->bucket, .key = r->key, .range = &range};
    pthread_t thread;
    int in;
    if (start_fetch(&f, &thread, &in) != 0)
        return stor_fail(err, STOR_EINTERNAL, "%s/%s: cannot start a ranged get", r->bucket, r->key);
    int64_t have = 0;
    int excess = 0;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int stop = r->stop;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            break;
        char extra;
        ssize_t got = have < length ? read(in, p->buffer + have, (size_t)(length - have))
                                    : read(in, &extra, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (have == length) {
            excess = 1;
            break;
        }
        have += got;
    }
    close(in);
    pthread_join(thread, NULL);
    if (f.status != STOR_OK) {
        *err = f.err;
        return f.status;
    }
    if (excess || have != length)
        return stor_fail(err, STOR_EIO, "%s/%s: the source's range at byte %lld held %s bytes "
                         "than the %lld asked for: not stored", r->bucket, r->key,
                         (long long)offset, excess ? "more" : "fewer", (long long)length);
    p->length = length;
    return STOR_OK;
}

/* A range worker: takes the next part, waits for its slot of the ring, fills it. */
static void *range_worker(void *arg)
{
    struct relay *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop && r->next_part < r->parts) {
        int64_t index = r->next_part++;
        struct part *p = &r->ring[index % r->ring_size];
        while (!r->stop && p->state != PART_FREE)
            pthread_cond_wait(&r->changed, &r->lock); /* part index - ring_size is still there */
        if (r->stop)
            break;
        p->state = PART_FILLING;
        pthread_mutex_unlock(&r->lock);
        struct stor_error err = {""};
        enum stor_status status = STOR_OK;
        if (!p->buffer && !(p->buffer = malloc((size_t)COPY_PART_SIZE)))
            status = stor_fail(&err, STOR_EINTERNAL, "out of memory");
        if (status == STOR_OK)
            status = fetch_part(r, p, index, &err);
        pthread_mutex_lock(&r->lock);
        if (status != STOR_OK && r->status == STOR_OK && !r->stop) {
            r->status = status;
            r->err = err;
        }
        if (status != STOR_OK)
            r->stop = 1;
        p->index = index;
        p->state = status == STOR_OK ? PART_READY : PART_FREE;
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* The parts in order, from the ring: memory stays ring_size parts, whatever the object's size. */
static void relay_ranged(struct relay *r)
{
    pthread_t threads[COPY_RANGES_MAX];
    int started = 0;
    for (; started < r->ring_size; started++)
        if (pthread_create(&threads[started], NULL, range_worker, r) != 0)
            break;
    if (started == 0)
        relay_fail(r, STOR_EINTERNAL, "%s/%s: cannot start a thread for the ranges", r->bucket,
                   r->key);
    for (int64_t index = 0; started > 0 && index < r->parts; index++) {
        struct part *p = &r->ring[index % r->ring_size];
        pthread_mutex_lock(&r->lock);
        while (!r->stop && !(p->state == PART_READY && p->index == index))
            pthread_cond_wait(&r->changed, &r->lock);
        int stop = r->stop;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            break;
        if (r->from->host->cancelled(r->from->host)) {
            relay_fail(r, STOR_ECANCELLED, "%s/%s: cancelled", r->bucket, r->key);
            break;
        }
        int gone = pass_on(r, p->buffer, (size_t)p->length);
        pthread_mutex_lock(&r->lock);
        p->state = PART_FREE;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        if (gone)
            break;
    }
    pthread_mutex_lock(&r->lock);
    r->stop = 1; /* every part is through, or none is wanted any more */
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

/* The source's bytes, then the verdict: an end of file when the source vouched for the whole,
 * a reset otherwise. */
static void *relay_thread(void *arg)
{
    struct relay *r = arg;
    if (r->ring_size > 0)
        relay_ranged(r);
    else
        relay_whole(r);
    unsigned char digest[EVP_MAX_MD_SIZE];
    char sha1[41];
    EVP_DigestFinal_ex(r->sha, digest, NULL);
    for (int i = 0; i < 20; i++)
        snprintf(sha1 + 2 * i, 3, "%02x", digest[i]);
    const struct stor_copy_source *k = r->source;
    if (r->status == STOR_OK && !r->destination_gone) {
        if (k->size >= 0 && r->passed != (uint64_t)k->size)
            relay_fail(r, STOR_EIO, "%s/%s: the source sent %llu bytes, fewer than the %lld it "
                       "listed: not stored", r->bucket, r->key, (unsigned long long)r->passed,
                       (long long)k->size);
        else if (k->sha1[0] && strcasecmp(sha1, k->sha1) != 0)
            relay_fail(r, STOR_EIO, "%s/%s: the source's bytes have SHA-1 %s, not the %s it "
                       "listed: not stored", r->bucket, r->key, sha1, k->sha1);
    }
    if (r->status != STOR_OK || r->destination_gone) {
        ssize_t planted = send(r->reader, "!", 1, MSG_NOSIGNAL); /* unread when out closes: the
                                                                   * peer's next read resets */
        (void)planted;
    }
    close(r->out);
    return NULL;
}

/* --- the copy -------------------------------------------------------------------------------- */

static void put_options_from(const struct stor_session *to, const struct stor_copy_source *k,
                             struct stor_put_options *options)
{
    *options = (struct stor_put_options){
        .struct_size = sizeof *options, .size = k->size, .mtime_ms = -1,
        .sha1 = k->sha1[0] ? k->sha1 : NULL,
        .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    if (to->plugin->capabilities & STOR_CAP_MTIME)
        options->mtime_ms = k->mtime_ms;
    if (to->plugin->capabilities & STOR_CAP_METADATA) {
        options->content_type = k->content_type;
        options->cache_control = k->headers[0];
        options->content_disposition = k->headers[1];
        options->content_encoding = k->headers[2];
        options->content_language = k->headers[3];
        options->expires = k->headers[4];
        options->metadata = k->metadata;
        options->metadata_count = k->metadata_count;
    }
}

/* How many ranged gets at once (0: one plain get): only for a large object of a source that
 * serves ranges and can pin each to the listed version. */
static int ring_size_for(const struct stor_session *from, const struct stor_copy_source *k,
                         int ranges)
{
    uint64_t caps = from->plugin->capabilities;
    if (ranges < 2 || !from->plugin->table.get_ex || !(caps & STOR_CAP_RANGED_GET) ||
        !(caps & (STOR_CAP_VERSIONS | STOR_CAP_RESUME_GET)) || !k->id[0] ||
        k->size < COPY_RANGED_MIN)
        return 0;
    int64_t parts = (k->size + COPY_PART_SIZE - 1) / COPY_PART_SIZE;
    int64_t n = ranges < parts ? ranges : parts;
    return (int)(n < COPY_RANGES_MAX ? n : COPY_RANGES_MAX);
}

static enum stor_status stream_between(struct stor_session *from, struct stor_session *to,
                                       const char *src_bucket, const char *src_key,
                                       const struct stor_copy_source *k, int ranges,
                                       const char *bucket, const char *key,
                                       struct stor_result *result, struct stor_error *err)
{
    const struct stor_backend *target = &to->plugin->table;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return stor_fail(err, STOR_EIO, "cannot make a socket pair: %s", strerror(errno));
    struct relay r = {.from = from, .bucket = src_bucket, .key = src_key, .source = k,
                      .out = fds[0], .reader = fds[1], .sha = EVP_MD_CTX_new(),
                      .ring_size = ring_size_for(from, k, ranges)};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    if (r.ring_size > 0) {
        r.parts = (k->size + COPY_PART_SIZE - 1) / COPY_PART_SIZE;
        r.ring = calloc((size_t)r.ring_size, sizeof *r.ring);
        from->host->log(from->host, STOR_LOG_INFO, "%s/%s: %lld bytes in %lld ranges, %d at once",
                        src_bucket, src_key, (long long)k->size, (long long)r.parts, r.ring_size);
    }
    enum stor_status status = STOR_OK;
    pthread_t thread;
    if (!r.sha || !EVP_DigestInit_ex(r.sha, EVP_sha1(), NULL) || (r.ring_size > 0 && !r.ring))
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    else if (pthread_create(&thread, NULL, relay_thread, &r) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "cannot start a thread");
    if (status != STOR_OK) {
        close(fds[0]);
        close(fds[1]);
        EVP_MD_CTX_free(r.sha);
        free(r.ring);
        return status;
    }
    memset(result, 0, sizeof *result);
    result->want_json = to->json;
    result->abi_version = target->abi_version;
    if (target->put_ex) {
        struct stor_put_options options;
        put_options_from(to, k, &options);
        status = target->put_ex(to->instance, bucket, key, &options, fds[1], stor_keep_result,
                                result, err);
    } else {
        status = target->put(to->instance, bucket, key, fds[1], stor_keep_result, result, err);
    }
    shutdown(fds[1], SHUT_RDWR); /* a relay still writing gets EPIPE, and stops the source */
    pthread_join(thread, NULL);
    close(fds[1]);
    if (r.status != STOR_OK) { /* the cause, whatever the destination made of the reset */
        *err = r.err;
        status = r.status;
    } else if (status == STOR_OK && r.destination_gone) {
        status = stor_fail(err, STOR_EIO, "backend %s returned from %s/%s before the stream "
                           "ended", target->name, bucket, key);
    }
    if (status != STOR_OK) {
        json_object_put(result->json);
        result->json = NULL;
    }
    for (int i = 0; r.ring && i < r.ring_size; i++)
        free(r.ring[i].buffer);
    free(r.ring);
    EVP_MD_CTX_free(r.sha);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.changed);
    return status;
}

enum stor_status stor_copy_object(struct stor_session *from, struct stor_session *to,
                                  const char *src_bucket, const char *src_key,
                                  const struct stor_copy_source *known, int ranges,
                                  const char *bucket, const char *key, struct stor_result *result,
                                  struct stor_error *err)
{
    if (from == to && from->plugin->table.copy)
        return from->plugin->table.copy(from->instance, src_bucket, src_key, bucket, key,
                                         stor_keep_result, result, err);
    const struct stor_backend *source = &from->plugin->table;
    if (from == to)
        from->host->log(from->host, STOR_LOG_INFO, "backend %s has no server-side copy: streaming "
                        "%s/%s through stor", source->name, src_bucket, src_key);
    struct stor_copy_source stated = {.size = -1, .mtime_ms = -1};
    if (!known && source->stat) {
        enum stor_status status = source->stat(from->instance, src_bucket, src_key, NULL,
                                                keep_stat, &stated, err);
        if (status != STOR_OK) {
            stor_copy_source_free(&stated);
            return status;
        }
    }
    enum stor_status status = stream_between(from, to, src_bucket, src_key,
                                             known ? known : &stated, ranges, bucket, key, result,
                                             err);
    stor_copy_source_free(&stated);
    return status;
}
