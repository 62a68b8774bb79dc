/* download.h — a download into a local file (download.c): partial file, verification, rename. */
#ifndef STOR_DOWNLOAD_H
#define STOR_DOWNLOAD_H

#include "commands.h"

/* Into the open fd (standard output, a FIFO): written as it arrives, nothing renamed. */
enum stor_status stor_get_fd(struct stor_session *s, const char *bucket, const char *key, int fd,
                             struct stor_result *result, struct stor_error *err);
/* Downloads into a temporary file beside path, renamed over it only when complete; the file
 * gets the object's modification time. */
enum stor_status stor_get_to_path(struct stor_session *s, const char *bucket, const char *key,
                                  const char *path, struct stor_result *result,
                                  struct stor_error *err);
/* The same into the entry name of the open directory dir (get -r opens each directory of its
 * tree without following links). */
enum stor_status stor_get_at(struct stor_session *s, const char *bucket, const char *key, int dir,
                             const char *name, struct stor_result *result, struct stor_error *err);
/* The same for an object a listing said is `size` bytes: a small one goes to an unnamed file
 * (O_TMPFILE) linked under name when complete, no partial file, mark or lock needed (it is
 * fetched again whole rather than resumed). *linked is set when a name was linked or renamed in
 * dir (the caller syncs dir once for many files). */
enum stor_status stor_get_listed_at(struct stor_session *s, const char *bucket, const char *key,
                                    int dir, const char *name, int64_t size, int *linked,
                                    struct stor_result *result, struct stor_error *err);
/* Partial downloads are ".NAME" STOR_PARTIAL_SUFFIX (or that and ".RANDOM" when the name was
 * taken by a file stor did not make). Names like these are reserved: get refuses to write them,
 * put -r skips them. */
#define STOR_PARTIAL_SUFFIX ".stor-partial"
int stor_is_partial_name(const char *name);

#endif
