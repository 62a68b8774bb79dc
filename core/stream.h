/* stream.h — a recursive listing pulled one object at a time, as the local walk is: the listing
 * runs on its own thread and hands objects over through a small ring, so the consumer (the merge
 * of a sync between two remotes) sets the pace and memory stays bounded by the ring, whatever
 * the number of names. The listing is held to the rules every listing must keep: names inside
 * the prefix, in strictly ascending byte order. */
#ifndef STOR_STREAM_H
#define STOR_STREAM_H

#include <pthread.h>

#include "commands.h"
#include "walk.h"

#define STOR_STREAM_RING 256

struct stor_stream {
    struct stor_entry current; /* when have */
    int have;
    /* the listing's end: STOR_OK, its failure, or refused (with the reason in err) */
    enum stor_status status;
    int refused;
    struct stor_error err;

    const struct stor_session *s;
    char bucket[256];
    const char *prefix;
    size_t prefix_len;
    const struct stor_filter *filter;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct stor_entry ring[STOR_STREAM_RING];
    size_t head, count;
    int done, abandoned;
    char *last_key;
};

/* Starts listing bucket/prefix (prefix "" or ending in '/', kept by the caller) of the session's
 * backend, and moves to its first object. Entries are named below the prefix and pass filter. */
int stor_stream_start(struct stor_stream *st, const struct stor_session *s, const char *bucket,
                      const char *prefix, const struct stor_filter *filter);

/* Moves to the next object; have is 0 at the end (see status). */
void stor_stream_next(struct stor_stream *st);

/* Ends the listing early if it still runs, waits for it and frees everything. */
void stor_stream_stop(struct stor_stream *st);

#endif
