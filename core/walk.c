/* walk.c — the local side of sync: directories read one at a time, each sorted, links,
 * special files and stor's partial downloads left out (and counted). */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "download.h"
#include "host.h"
#include "text.h"
#include "tree.h"

/* One entry of a directory being walked; a directory sorts as "name/", so that the files come
 * out in the order of their full paths ("a.txt" < "a/b" < "a0"), as a recursive listing's keys. */
struct walk_entry {
    char *sort_name;
    int is_dir;
    int64_t size, mtime_ms;
    dev_t dev;
    ino_t ino;
};

struct stor_walk_frame {
    int fd;
    char *rel; /* "" for the top, else "a/b" */
    struct walk_entry *entries;
    size_t count, next;
};

static int compare_walk_entries(const void *a, const void *b)
{
    return strcmp(((const struct walk_entry *)a)->sort_name,
                  ((const struct walk_entry *)b)->sort_name);
}

static void free_entries(struct walk_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(entries[i].sort_name);
    free(entries);
}

/* Reads, filters and sorts one directory; links, special files and stor's partial names are not
 * files of the tree. -1 when it cannot be read (reported). */
static int push_frame(struct stor_walker *w, int fd, const char *rel)
{
    int copy = dup(fd);
    DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
    if (!d) {
        char shown[4096];
        stor_printable(rel[0] ? rel : ".", shown, sizeof shown);
        stor_error_line("cannot read directory %s: %s", shown, strerror(errno));
        if (copy >= 0)
            close(copy);
        close(fd);
        w->failed = 1;
        return -1;
    }
    struct walk_entry *entries = NULL;
    size_t count = 0, capacity = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        char child[PATH_MAX];
        struct stat st;
        if (snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", name) >= (int)sizeof child) {
            stor_error_line("a path below %s is longer than %d bytes", rel[0] ? rel : ".", PATH_MAX - 1);
            w->failed = 1;
            continue;
        }
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone since readdir */
        int is_dir = S_ISDIR(st.st_mode);
        if (S_ISLNK(st.st_mode)) {
            w->links++;
            continue;
        }
        if (!is_dir && !S_ISREG(st.st_mode)) {
            w->specials++;
            continue;
        }
        if (!is_dir && stor_is_partial_name(name)) {
            w->partials++;
            continue;
        }
        if (!stor_filter_allows(w->filter, child, is_dir))
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 32;
            struct walk_entry *grown = realloc(entries, capacity * sizeof *grown);
            if (!grown) {
                rc = -1;
                break;
            }
            entries = grown;
        }
        struct walk_entry *e = &entries[count];
        *e = (struct walk_entry){NULL, is_dir, st.st_size, stor_mtime_ms_of(&st), st.st_dev, st.st_ino};
        if (asprintf(&e->sort_name, "%s%s", name, is_dir ? "/" : "") < 0) {
            rc = -1;
            break;
        }
        count++;
    }
    closedir(d);
    if (count > 1)
        qsort(entries, count, sizeof *entries, compare_walk_entries);
    if (rc == 0 && w->depth == w->capacity) {
        size_t grown_capacity = w->capacity ? w->capacity * 2 : 16;
        struct stor_walk_frame *grown = realloc(w->frames, grown_capacity * sizeof *grown);
        if (grown) {
            w->frames = grown;
            w->capacity = grown_capacity;
        } else {
            rc = -1;
        }
    }
    char *rel_copy = rc == 0 ? strdup(rel) : NULL;
    if (!rel_copy) {
        stor_error_line("out of memory walking %s", rel[0] ? rel : ".");
        free_entries(entries, count);
        close(fd);
        w->failed = 1;
        return -1;
    }
    w->frames[w->depth++] = (struct stor_walk_frame){fd, rel_copy, entries, count, 0};
    return 0;
}

static void pop_frame(struct stor_walker *w)
{
    struct stor_walk_frame *f = &w->frames[--w->depth];
    close(f->fd);
    free(f->rel);
    free_entries(f->entries, f->count);
}

void stor_walker_next(struct stor_walker *w)
{
    free(w->file.rel);
    w->file.rel = NULL;
    w->have = 0;
    while (w->depth > 0) {
        struct stor_walk_frame *f = &w->frames[w->depth - 1];
        if (f->next == f->count) {
            pop_frame(w);
            continue;
        }
        struct walk_entry *e = &f->entries[f->next++];
        char rel[PATH_MAX];
        size_t name_len = strlen(e->sort_name) - (size_t)e->is_dir;
        snprintf(rel, sizeof rel, "%s%s%.*s", f->rel, f->rel[0] ? "/" : "", (int)name_len, e->sort_name);
        if (e->is_dir) {
            char name[NAME_MAX + 1];
            snprintf(name, sizeof name, "%.*s", (int)name_len, e->sort_name);
            int fd = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            struct stat st;
            if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != e->dev || st.st_ino != e->ino)) {
                close(fd);
                fd = -1;
                errno = ESTALE;
            }
            if (fd < 0) {
                char shown[4096];
                stor_printable(rel, shown, sizeof shown);
                stor_error_line("cannot read directory %s: %s", shown,
                                errno == ESTALE ? "it was replaced while walking" : strerror(errno));
                w->failed = 1;
                continue;
            }
            push_frame(w, fd, rel);
            continue;
        }
        w->file = (struct stor_entry){strdup(rel), e->size, e->mtime_ms, e->dev, e->ino, ""};
        if (!w->file.rel) {
            w->failed = 1;
            return;
        }
        w->have = 1;
        return;
    }
}

void stor_walker_free(struct stor_walker *w)
{
    while (w->depth > 0)
        pop_frame(w);
    free(w->frames);
    free(w->file.rel);
}

int stor_walker_start(struct stor_walker *w, const struct stor_filter *filter, int top)
{
    w->filter = filter;
    int fd = dup(top);
    if (fd < 0 || push_frame(w, fd, "") != 0) {
        if (fd < 0)
            stor_error_line("cannot read the directory: %s", strerror(errno));
        return -1;
    }
    stor_walker_next(w);
    return 0;
}
