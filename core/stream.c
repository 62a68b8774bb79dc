/* stream.c — a listing turned from the backend's push (a callback per object) into a pull. */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "text.h"

/* The listing broke a rule: believe none of it (the listing stops). */
static int refuse(struct stor_stream *st, const char *what, const char *key, const char *other)
{
    char shown[1024], previous[1024];
    stor_printable(key, shown, sizeof shown);
    stor_printable(other, previous, sizeof previous);
    pthread_mutex_lock(&st->lock);
    st->refused = 1;
    stor_fail(&st->err, STOR_EINVAL, "'%s', %s %s", shown, what, previous);
    pthread_mutex_unlock(&st->lock);
    return -1;
}

static int on_object(void *context, const struct stor_object *o)
{
    struct stor_stream *st = context;
    if (o->is_prefix || (st->s->plugin->table.abi_version >= 2 && o->is_hidden))
        return 0;
    if (!o->key || strncmp(o->key, st->prefix, st->prefix_len) != 0) {
        char where[2400];
        snprintf(where, sizeof where, "%s/%s", st->bucket, st->prefix);
        return refuse(st, "outside the prefix", o->key ? o->key : "(no name)", where);
    }
    if (st->last_key && strcmp(o->key, st->last_key) <= 0)
        return refuse(st, "not in ascending order after", o->key, st->last_key);
    char *key = strdup(o->key);
    if (!key)
        return -1;
    free(st->last_key);
    st->last_key = key;
    const char *rel = o->key + st->prefix_len;
    if (!stor_filter_allows_listed(st->filter, rel))
        return 0;
    struct stor_entry e = {.rel = strdup(rel), .size = o->size, .mtime_ms = o->mtime_ms};
    if (!e.rel)
        return -1;
    if (o->sha1 && strlen(o->sha1) == 40)
        memcpy(e.sha1, o->sha1, sizeof e.sha1);
    pthread_mutex_lock(&st->lock);
    while (st->count == STOR_STREAM_RING && !st->abandoned)
        pthread_cond_wait(&st->changed, &st->lock);
    int abandoned = st->abandoned;
    if (!abandoned) {
        st->ring[(st->head + st->count) % STOR_STREAM_RING] = e;
        st->count++;
        pthread_cond_broadcast(&st->changed);
    }
    pthread_mutex_unlock(&st->lock);
    if (abandoned)
        free(e.rel);
    return abandoned ? -1 : 0;
}

static void *run_listing(void *arg)
{
    struct stor_stream *st = arg;
    struct stor_error err = {""};
    enum stor_status status = st->s->plugin->table.list(st->s->instance, st->bucket, st->prefix,
                                                        STOR_LIST_RECURSIVE, on_object, st, &err);
    pthread_mutex_lock(&st->lock);
    if (!st->refused) {
        /* No such bucket or prefix: nothing there. */
        st->status = status == STOR_ENOTFOUND ? STOR_OK : status;
        if (st->status != STOR_OK)
            st->err = err;
    }
    st->done = 1;
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

int stor_stream_start(struct stor_stream *st, const struct stor_session *s, const char *bucket,
                      const char *prefix, const struct stor_filter *filter)
{
    memset(st, 0, sizeof *st);
    st->s = s;
    snprintf(st->bucket, sizeof st->bucket, "%s", bucket);
    st->prefix = prefix;
    st->prefix_len = strlen(prefix);
    st->filter = filter;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->changed, NULL);
    if (pthread_create(&st->thread, NULL, run_listing, st) != 0) {
        pthread_cond_destroy(&st->changed);
        pthread_mutex_destroy(&st->lock);
        return -1;
    }
    stor_stream_next(st);
    return 0;
}

void stor_stream_next(struct stor_stream *st)
{
    free(st->current.rel);
    st->current.rel = NULL;
    pthread_mutex_lock(&st->lock);
    while (st->count == 0 && !st->done)
        pthread_cond_wait(&st->changed, &st->lock);
    /* A refused listing is believed no further, not even what came before the broken name. */
    st->have = st->count > 0 && !st->refused;
    if (st->have) {
        st->current = st->ring[st->head];
        st->head = (st->head + 1) % STOR_STREAM_RING;
        st->count--;
        pthread_cond_broadcast(&st->changed);
    }
    if (st->refused)
        st->status = STOR_EINVAL;
    pthread_mutex_unlock(&st->lock);
}

void stor_stream_stop(struct stor_stream *st)
{
    pthread_mutex_lock(&st->lock);
    st->abandoned = 1;
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->lock);
    pthread_join(st->thread, NULL);
    for (; st->count; st->count--, st->head = (st->head + 1) % STOR_STREAM_RING)
        free(st->ring[st->head].rel);
    free(st->current.rel);
    st->current.rel = NULL;
    st->have = 0;
    free(st->last_key);
    pthread_cond_destroy(&st->changed);
    pthread_mutex_destroy(&st->lock);
}
