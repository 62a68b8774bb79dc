/* walk.h — a local directory as a pull stream of its files, in the byte order of the whole
 * relative path (the order of a recursive listing's keys), so that sync can merge it with a
 * listing in one pass. Memory: the directories on the way down, never the whole tree. */
#ifndef STOR_WALK_H
#define STOR_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "filter.h"

/* One file of a side: a local file as walked (dev, ino), or an object as listed (sha1, or ""). */
struct stor_entry {
    char *rel; /* the path below the side's top */
    int64_t size, mtime_ms;
    dev_t dev;
    ino_t ino;
    char sha1[41];
};

/* Memory: the frames on the way down, each one directory's names (depth x directory size). */
struct stor_walk_frame;

struct stor_walker {
    const struct stor_filter *filter;
    struct stor_walk_frame *frames;
    size_t depth, capacity;
    size_t links, specials, partials;
    int failed;             /* a directory could not be read: the source is not fully known */
    struct stor_entry file; /* the current file, when have */
    int have;
};

/* Starts at the directory open on top (not taken over) and moves to its first file. -1 when
 * the top cannot be read (reported). */
int stor_walker_start(struct stor_walker *w, const struct stor_filter *filter, int top);

/* Moves to the next file (have is 0 at the end). A directory that cannot be read marks the walk
 * failed and is passed over. */
void stor_walker_next(struct stor_walker *w);

void stor_walker_free(struct stor_walker *w);

#endif
