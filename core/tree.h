/* tree.h — a local directory tree as put -r, get -r and sync walk it: paths opened beneath an
 * open directory without following links, names that are safe as local paths, file hashes. */
#ifndef STOR_TREE_H
#define STOR_TREE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

int64_t stor_mtime_ms_of(const struct stat *st);

/* Opens the directory rel ("" for top itself) below the open directory top, one component at a
 * time and never through a symbolic link unless follow. With create, missing directories are
 * made on the way. -1 with errno on failure. */
int stor_open_directory_beneath(int top, const char *rel, int follow, int create);
/* The parent directory of rel below top (as above) and rel's last name in *name. */
int stor_open_parent_beneath(int top, const char *rel, int follow, int create, const char **name);
/* A worker's destination directory in a download of a tree: kept open while consecutive files
 * share it, and fsynced once when the worker leaves it, so the names it linked there are
 * durable without one directory sync per file. */
struct stor_dir_cursor {
    int top;
    int dir;         /* -1: none open */
    int dirty;       /* a name was linked in dir since it was opened */
    int sync_errno;  /* the first failed directory sync (0: none), of the directory below */
    char sync_failed[PATH_MAX];
    char parent[PATH_MAX];
};

void stor_dir_cursor_init(struct stor_dir_cursor *cursor, int top);
/* The open parent directory of rel (made if need be, as stor_open_parent_beneath), owned by the
 * cursor, and rel's last name in *name; leaving another directory syncs it. -1 with errno. */
int stor_dir_cursor_enter(struct stor_dir_cursor *cursor, const char *rel, const char **name);
/* Syncs (when dirty) and closes the open directory. */
void stor_dir_cursor_leave(struct stor_dir_cursor *cursor);

/* Opens for reading the file rel beneath top as a walk saw it: not through a link (unless
 * follow), not blocking on a FIFO swapped in since, and only if it is still the regular file
 * dev/ino. -1 with errno (ESTALE: replaced) and why filled. */
int stor_open_walked_file(int top, const char *rel, int follow, dev_t dev, ino_t ino, char *why,
                          size_t why_size);

/* NULL when a remote name is safe as a path below a local directory, else why not. */
const char *stor_unsafe_relative_path(const char *rel);

/* The SHA-1 of the file open on fd, from its start (pread: its offset stays); 0 or -1. */
int stor_sha1_of_file(int fd, char hex[41]);

/* mkdir -p of a path the user named (links followed: it is the user's path). */
int stor_make_directories(const char *path);

#endif
