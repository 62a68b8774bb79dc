/* beneath.c — directory chains opened component by component, and temporary files that only a
 * finished write names. A symbolic link planted below the root (as a bucket, a key's directory
 * or an object) is never followed, so no operation reads or writes outside the root. */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p of the root itself: the user chose it, so links above and in it are theirs. */
static int make_root(const char *root)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/", root) >= (int)sizeof path)
        return errno = ENAMETOOLONG, -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* Opens directory name below dir, never through a link; ENOTDIR with *link set when a link
 * stands there. */
static int open_below(int dir, const char *name, int create, int *link)
{
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dir, name, 0777) != 0 && errno != EEXIST)
            return -1;
        fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
        struct stat st;
        *link = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        errno = ENOTDIR;
    }
    return fd;
}

static int push(struct local_chain *chain, int fd)
{
    if (fd < 0)
        return -1;
    if (chain->depth == LOCAL_MAX_DEPTH) {
        close(fd);
        return errno = ENAMETOOLONG, -1;
    }
    chain->fd[chain->depth++] = fd;
    return 0;
}

int local_chain_open(struct local_chain *chain, const char *root, const char *bucket,
                     const char *dirs, size_t dirs_len, int create)
{
    chain->depth = 0;
    chain->link = 0;
    if (create && make_root(root) != 0)
        return -1;
    if (push(chain, open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != 0 ||
        (bucket && push(chain, open_below(chain->fd[0], bucket, create, &chain->link)) != 0))
        return -1;
    for (size_t at = 0; at < dirs_len;) {
        const char *slash = memchr(dirs + at, '/', dirs_len - at);
        size_t n = slash ? (size_t)(slash - (dirs + at)) : dirs_len - at;
        char name[LOCAL_MAX_KEY + 1];
        if (n == 0 || n > LOCAL_MAX_KEY)
            return errno = EINVAL, -1;
        memcpy(name, dirs + at, n);
        name[n] = '\0';
        if (push(chain, open_below(local_chain_last(chain), name, create, &chain->link)) != 0)
            return -1;
        at += n + 1;
    }
    return 0;
}

void local_chain_close(struct local_chain *chain)
{
    while (chain->depth)
        close(chain->fd[--chain->depth]);
}

static int random_name(char name[32])
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char bytes[12];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return -1;
    int n = snprintf(name, 32, "%s", LOCAL_TEMP_PREFIX);
    for (size_t i = 0; i < sizeof bytes; i++)
        name[n++] = letters[bytes[i] % (sizeof letters - 1)];
    name[n] = '\0';
    return 0;
}

int local_temp_create(struct local_temp *temp, int dir)
{
    temp->named = 0;
    temp->name[0] = '\0';
    temp->fd = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (temp->fd >= 0 && access("/proc/self/fd", X_OK) == 0) /* the link in commit needs /proc */
        return 0;
    if (temp->fd >= 0)
        close(temp->fd);
    for (int attempt = 0; attempt < 100; attempt++) {
        if (random_name(temp->name) != 0)
            return -1;
        temp->fd = openat(dir, temp->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (temp->fd >= 0) {
            temp->named = 1;
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    return errno = EEXIST, -1;
}

int local_temp_commit(struct local_temp *temp, int dir, const char *leaf)
{
    if (!temp->named) { /* name the unnamed file, then rename it over the old object atomically */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", temp->fd);
        for (int attempt = 0; !temp->named && attempt < 100; attempt++) {
            if (random_name(temp->name) != 0)
                break;
            if (linkat(AT_FDCWD, proc, dir, temp->name, AT_SYMLINK_FOLLOW) == 0)
                temp->named = 1;
            else if (errno != EEXIST)
                break;
        }
        if (!temp->named) {
            int e = errno;
            local_temp_discard(temp, dir);
            return errno = e, -1;
        }
    }
    if (renameat(dir, temp->name, dir, leaf) != 0) {
        int e = errno;
        local_temp_discard(temp, dir);
        return errno = e, -1;
    }
    temp->named = 0; /* the name is the object's now */
    return 0;
}

void local_temp_discard(struct local_temp *temp, int dir)
{
    if (temp->named)
        unlinkat(dir, temp->name, 0);
    temp->named = 0;
    if (temp->fd >= 0)
        close(temp->fd);
    temp->fd = -1;
}
