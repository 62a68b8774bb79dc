/* tree.c — a local directory tree as put -r, get -r and sync walk it (see tree.h): everything
 * below the directory the user named is opened beneath it, never through a link. */
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int64_t stor_mtime_ms_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

int stor_open_directory_beneath(int top, const char *rel, int follow, int create)
{
    int dir = dup(top);
    char component[NAME_MAX + 1];
    for (const char *p = rel; dir >= 0 && *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n > NAME_MAX) {
            close(dir);
            errno = n ? ENAMETOOLONG : EINVAL;
            return -1;
        }
        memcpy(component, p, n);
        component[n] = '\0';
        int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
        int next = openat(dir, component, flags);
        /* Another worker may make the same directory at the same moment: EEXIST is fine. */
        if (next < 0 && errno == ENOENT && create) {
            /* A new directory's name is made durable at once (rare: once per directory); the
             * names later linked inside it are the caller's to sync. */
            int made = mkdirat(dir, component, 0777) == 0;
            if (made && fsync(dir) != 0)
                next = -1;
            else if (made || errno == EEXIST)
                next = openat(dir, component, flags);
        }
        int e = errno;
        close(dir);
        errno = e;
        dir = next;
        p += n + (p[n] == '/');
    }
    return dir;
}

int stor_open_parent_beneath(int top, const char *rel, int follow, int create, const char **name)
{
    const char *slash = strrchr(rel, '/');
    *name = slash ? slash + 1 : rel;
    if (!slash)
        return dup(top);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - rel), rel);
    return stor_open_directory_beneath(top, parent, follow, create);
}

void stor_dir_cursor_init(struct stor_dir_cursor *cursor, int top)
{
    memset(cursor, 0, sizeof *cursor);
    cursor->top = top;
    cursor->dir = -1;
}

void stor_dir_cursor_leave(struct stor_dir_cursor *cursor)
{
    if (cursor->dir < 0)
        return;
    if (cursor->dirty && fsync(cursor->dir) != 0 && !cursor->sync_errno) {
        cursor->sync_errno = errno;
        snprintf(cursor->sync_failed, sizeof cursor->sync_failed, "%s",
                 cursor->parent[0] ? cursor->parent : ".");
    }
    close(cursor->dir);
    cursor->dir = -1;
    cursor->dirty = 0;
}

int stor_dir_cursor_enter(struct stor_dir_cursor *cursor, const char *rel, const char **name)
{
    const char *slash = strrchr(rel, '/');
    size_t length = slash ? (size_t)(slash - rel) : 0;
    *name = slash ? slash + 1 : rel;
    if (cursor->dir >= 0 && strlen(cursor->parent) == length &&
        memcmp(cursor->parent, rel, length) == 0)
        return cursor->dir;
    stor_dir_cursor_leave(cursor);
    if (length >= sizeof cursor->parent) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(cursor->parent, rel, length);
    cursor->parent[length] = '\0';
    cursor->dir = stor_open_directory_beneath(cursor->top, cursor->parent, 0, 1);
    return cursor->dir;
}

int stor_open_walked_file(int top, const char *rel, int follow, dev_t dev, ino_t ino, char *why,
                          size_t why_size)
{
    const char *name;
    int dir = stor_open_parent_beneath(top, rel, follow, 0, &name);
    int fd = dir < 0 ? -1
                     : openat(dir, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    int e = errno;
    if (dir >= 0)
        close(dir);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open: %s", e == ELOOP ? "it became a symbolic link" : strerror(e));
        errno = e;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino) {
        close(fd);
        snprintf(why, why_size, "it was replaced since the scan (no longer the same regular file)");
        errno = ESTALE;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

const char *stor_unsafe_relative_path(const char *rel)
{
    if (!rel[0])
        return "empty name";
    if (rel[0] == '/')
        return "absolute path";
    for (const char *p = rel; *p; p++)
        if ((unsigned char)*p < 32 || *p == 127)
            return "control character";
    for (const char *seg = rel; seg;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0)
            return "empty path segment";
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return "'.' or '..' segment";
        seg = end ? end + 1 : NULL;
    }
    return NULL;
}

int stor_sha1_of_file(int fd, char hex[41])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -1;
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    char buf[65536];
    ssize_t n;
    off_t at = 0;
    while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        at += n;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    EVP_DigestFinal_ex(ctx, digest, NULL);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return n < 0 ? -1 : 0;
}

int stor_make_directories(const char *path)
{
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s/", path) >= (int)sizeof copy) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(copy, 0777), e = errno;
        *p = '/';
        if (rc != 0 && e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    return 0;
}
