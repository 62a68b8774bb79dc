/* beneath.h — file access below the local backend's root that never follows a symbolic link:
 * directories are opened one component at a time (openat + O_NOFOLLOW), new objects are written
 * to an unnamed temporary file that only a finished write names. */
#ifndef STOR_LOCAL_BENEATH_H
#define STOR_LOCAL_BENEATH_H

#include <stddef.h>

#define LOCAL_MAX_KEY 1024
#define LOCAL_MAX_DEPTH (LOCAL_MAX_KEY / 2 + 2) /* root, bucket, one per "x/" of the longest key */
#define LOCAL_TEMP_PREFIX ".stor-tmp-"

/* The open directories from the root down: fd[0] the root, fd[1] the bucket, fd[1 + j] the j-th
 * directory of the key. */
struct local_chain {
    int fd[LOCAL_MAX_DEPTH];
    size_t depth; /* how many are open: after a failure, where the walk stopped */
    int link;     /* the walk stopped at a symbolic link */
};

/* Opens root, bucket and the directories named by the first dirs_len bytes of dirs ("a/b/"),
 * creating missing ones when create is set; with bucket NULL, the root alone. Returns 0, or -1 with errno set and the chain
 * holding what was opened so far (close it either way). */
int local_chain_open(struct local_chain *chain, const char *root, const char *bucket,
                     const char *dirs, size_t dirs_len, int create);
void local_chain_close(struct local_chain *chain);

static inline int local_chain_last(const struct local_chain *chain)
{
    return chain->fd[chain->depth - 1];
}

/* A new object being written in directory dir: unnamed (O_TMPFILE) where the file system allows,
 * so that a killed writer leaves nothing behind, else under a reserved random name. */
struct local_temp {
    int fd;
    int named;     /* created under name (the fallback) */
    char name[32]; /* LOCAL_TEMP_PREFIX + random, once it has a name */
};

int local_temp_create(struct local_temp *temp, int dir);
/* Gives the finished file the name leaf in dir, replacing what was there (never through a
 * link: rename replaces the link itself). Returns 0 or -1 with errno; the temp is discarded
 * on failure. The fd stays open. */
int local_temp_commit(struct local_temp *temp, int dir, const char *leaf);
/* Drops an unfinished temp: closes it and removes its name, if it has one. */
void local_temp_discard(struct local_temp *temp, int dir);

#endif
