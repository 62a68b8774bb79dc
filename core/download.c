/* core/download.c — a download into a local file: it lands in a partial file beside its
 * destination, and takes the destination's name only complete, verified and durable. */
#include "download.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* 0666 less the umask, read once: umask() is process-wide and not safe to toggle in threads. */
static mode_t file_mode;
static pthread_once_t file_mode_once = PTHREAD_ONCE_INIT;

static void read_umask(void)
{
    mode_t mask = umask(0);
    umask(mask);
    file_mode = 0666 & ~mask;
}

/* What a partial download records of the version it holds (ABI 3 on_start), so that the next get
 * resumes only that very version. */
#define PARTIAL_VERSION_ATTR "user.stor.version"

struct partial_version {
    int fd;        /* the partial file */
    char id[512];  /* recorded by an earlier attempt ("" if none) */
    char sha1[48];
};

static int record_version(void *context, const struct stor_object *object)
{
    struct partial_version *v = context;
    char text[600];
    int n = snprintf(text, sizeof text, "%s\n%s", object->id ? object->id : "",
                     object->sha1 ? object->sha1 : "");
    if (n > 0 && (size_t)n < sizeof text && (object->id || object->sha1))
        fsetxattr(v->fd, PARTIAL_VERSION_ATTR, text, (size_t)n, 0);
    return 0;
}

static void read_recorded_version(struct partial_version *v)
{
    char text[600];
    ssize_t n = fgetxattr(v->fd, PARTIAL_VERSION_ATTR, text, sizeof text - 1);
    v->id[0] = v->sha1[0] = '\0';
    if (n <= 0)
        return;
    text[n] = '\0';
    char *newline = strchr(text, '\n');
    if (newline)
        *newline = '\0';
    snprintf(v->id, sizeof v->id, "%.511s", text);
    snprintf(v->sha1, sizeof v->sha1, "%s", newline ? newline + 1 : "");
}

/* get, or get_ex when the session asks for a version or a range, when `resume_from` bytes of an
 * earlier attempt are already in fd, or when a partial file (version) should learn which version
 * it holds. */
static enum stor_status fetch(struct stor_session *s, const char *bucket, const char *key, int fd,
                              int64_t resume_from, struct partial_version *version,
                              struct stor_result *result, struct stor_error *err)
{
    const struct stor_backend *b = &s->plugin->table;
    int ranged = s->range_start >= 0;
    int contract = version && !ranged && (s->plugin->capabilities & STOR_CAP_RESUME_GET);
    if (!s->version_id && !ranged && resume_from == 0 && !contract)
        return b->get(s->instance, bucket, key, fd, stor_keep_result, result, err);
    if (!b->get_ex)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend %s does not support %s", b->name,
                         s->version_id ? "get --version" : "get --range");
    struct stor_get_options options = {
        .struct_size = sizeof options,
        .version_id = s->version_id,
        .offset = ranged ? s->range_start : resume_from,
        .length = ranged && s->range_end >= 0 ? s->range_end - s->range_start + 1 : -1,
        .resume = resume_from > 0,
    };
    if (contract && resume_from > 0) {
        options.expected_id = version->id[0] ? version->id : NULL;
        options.expected_sha1 = version->sha1[0] ? version->sha1 : NULL;
    } else if (contract) {
        options.on_start = record_version;
        options.start_context = version;
    }
    return b->get_ex(s->instance, bucket, key, &options, fd, stor_keep_result, result, err);
}

/* Downloads land in ".NAME.stor-partial" beside the destination, locked against a second stor and
 * marked as stor's own (an extended attribute naming the object). Complete and verified, it is
 * renamed into place; interrupted by a temporary failure or a signal, it stays, and the next get
 * of the same object continues where it stopped. A file of that name that stor did not make (no
 * mark, a link, another owner) is never resumed, written or removed: the download then goes to a
 * fresh unique name and is not resumable. */
#define PARTIAL_MARK_ATTR "user.stor.partial"

int stor_is_partial_name(const char *name)
{
    size_t length = strlen(name), suffix = strlen(STOR_PARTIAL_SUFFIX);
    if (name[0] != '.')
        return 0;
    if (length > suffix && strcmp(name + length - suffix, STOR_PARTIAL_SUFFIX) == 0)
        return 1;
    const char *unique = strstr(name, STOR_PARTIAL_SUFFIX ".");
    return unique != NULL && unique != name;
}

/* What the mark says: which object the partial file holds the first bytes of. */
static void partial_mark(const char *bucket, const char *key, const char *version, char *out,
                         size_t size)
{
    snprintf(out, size, "%s/%s%s%s", bucket, key, version ? "\n" : "", version ? version : "");
}

/* The partial file at dir/name is ours to continue: a regular file of this user, one link, with
 * the mark of this very object. */
static int partial_is_ours(int fd, const char *mark)
{
    struct stat st;
    char found[8192];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
        return 0;
    ssize_t n = fgetxattr(fd, PARTIAL_MARK_ATTR, found, sizeof found - 1);
    if (n < 0)
        return 0;
    found[n] = '\0';
    return strcmp(found, mark) == 0;
}

/* A fresh ".NAME.stor-partial.RANDOM" for name into out: 0, or -1 (too long, no entropy). */
static int unique_partial_name(const char *name, char *out, size_t size)
{
    unsigned char random[6];
    if (getentropy(random, sizeof random) != 0)
        return -1;
    return snprintf(out, size, ".%s%s.%02x%02x%02x%02x%02x%02x", name, STOR_PARTIAL_SUFFIX,
                    random[0], random[1], random[2], random[3], random[4], random[5]) < (int)size
               ? 0 : -1;
}

/* Opens (creating if need be) the partial file for dir/name into *fd. *resumable: it may be kept
 * and continued (it carries our mark). partial holds its name. */
static enum stor_status open_partial(int dir, const char *name, const char *mark, char *partial,
                                     size_t size, int *fd, int *resumable, struct stor_error *err)
{
    *resumable = 0;
    if (snprintf(partial, size, ".%s%s", name, STOR_PARTIAL_SUFFIX) >= (int)size)
        return stor_fail(err, STOR_EINVAL, "destination name too long: %s", name);
    *fd = openat(dir, partial, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd >= 0) {
        *resumable = fsetxattr(*fd, PARTIAL_MARK_ATTR, mark, strlen(mark), 0) == 0;
        return STOR_OK;
    }
    if (errno == EEXIST) {
        *fd = openat(dir, partial, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (*fd >= 0 && partial_is_ours(*fd, mark)) {
            *resumable = 1;
            return STOR_OK;
        }
        if (*fd >= 0)
            close(*fd);
    } else if (errno != ELOOP) {
        return stor_fail(err, errno == ENOENT ? STOR_ENOTFOUND : STOR_EIO, "cannot write %s: %s",
                         name, strerror(errno));
    }
    /* Someone else's file (or link, or a partial of another object) has that name: leave it. */
    for (int attempt = 0; attempt < 100; attempt++) {
        if (unique_partial_name(name, partial, size) != 0)
            return stor_fail(err, STOR_EINVAL, "destination name too long: %s", name);
        *fd = openat(dir, partial, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (*fd >= 0)
            return STOR_OK;
        if (errno != EEXIST)
            break;
    }
    return stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
}

/* A destination that exists and is not a regular file (a device, a FIFO, a socket) is written
 * into, as "-" is: *fd is then open on it (else -1: a regular file, or nothing there yet). A
 * symbolic link is refused, never replaced nor followed. */
static enum stor_status open_special_destination(int dir, const char *name, int regular_only,
                                                 int *fd, struct stor_error *err)
{
    struct stat st;
    *fd = -1;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode))
        return STOR_OK;
    /* A tree's names are the backend's, not the user's: a FIFO or device found under one was
     * planted, not chosen, and is never written into (nor would a link be). */
    if (regular_only && !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode))
        return stor_fail(err, STOR_EINVAL, "%s is not a regular file: a directory transfer writes "
                         "regular files only, and left it as it is", name);
    if (S_ISLNK(st.st_mode))
        return stor_fail(err, STOR_EINVAL,
                         "%s is a symbolic link: stor neither replaces nor follows it (name its "
                         "target instead)", name);
    if (S_ISDIR(st.st_mode))
        return stor_fail(err, STOR_EINVAL, "%s is a directory", name);
    /* Blocks until a FIFO has a reader; a signal ends the wait (no SA_RESTART). */
    *fd = openat(dir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0 && errno == EINTR)
        return stor_fail(err, STOR_ECANCELLED, "interrupted while waiting to write %s", name);
    if (*fd < 0)
        return stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
    return STOR_OK;
}

/* The fsync before the rename would otherwise write the whole file out after its last byte
 * arrived. Writeback started every 100 ms while a download arrives overlaps the disk with the
 * network, and the fsync finds little left to do. */
struct flusher {
    int fd;
    int running, stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

#define FLUSH_INTERVAL_NS 100000000L

static void *flush_while_downloading(void *context)
{
    struct flusher *f = context;
    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += FLUSH_INTERVAL_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&f->wake, &f->lock, &until) == 0 || f->stop)
            continue;
        pthread_mutex_unlock(&f->lock);
        sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* starts writeback, never waits */
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

static void flusher_start(struct flusher *f, int fd)
{
    pthread_condattr_t attributes;
    memset(f, 0, sizeof *f);
    f->fd = fd;
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&f->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    /* Without the thread the download is as durable, only its fsync takes longer. */
    f->running = pthread_create(&f->thread, NULL, flush_while_downloading, f) == 0;
}

static void flusher_stop(struct flusher *f)
{
    if (f->running) {
        pthread_mutex_lock(&f->lock);
        f->stop = 1;
        pthread_cond_signal(&f->wake);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->thread, NULL);
    }
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
}

/* A complete download becomes the user's file: the object's modification time, the mode a new
 * file gets, its bytes durable before any name points at them. */
static enum stor_status seal(int fd, const struct stor_result *result, const char *name,
                             struct stor_error *err)
{
    if (result->mtime_ms >= 0) {
        struct timespec times[2] = {
            {.tv_nsec = UTIME_OMIT},
            {.tv_sec = result->mtime_ms / 1000, .tv_nsec = (result->mtime_ms % 1000) * 1000000},
        };
        futimens(fd, times);
    }
    if (fchmod(fd, file_mode) != 0 || fsync(fd) != 0)
        return stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
    return STOR_OK;
}

static void restart_result(struct stor_session *s, struct stor_result *result)
{
    json_object_put(result->json);
    memset(result, 0, sizeof *result);
    result->want_json = s->json;
    result->abi_version = s->plugin->table.abi_version;
}

enum stor_status stor_get_at(struct stor_session *s, const char *bucket, const char *key, int dir,
                             const char *name, struct stor_result *result, struct stor_error *err)
{
    pthread_once(&file_mode_once, read_umask);
    memset(result, 0, sizeof *result);
    result->want_json = s->json;
    result->abi_version = s->plugin->table.abi_version;
    if (stor_is_partial_name(name))
        return stor_fail(err, STOR_EINVAL, "%s: names like this are stor's partial downloads", name);
    int fd;
    enum stor_status opened = open_special_destination(dir, name, s->regular_files_only, &fd, err);
    if (opened != STOR_OK)
        return opened;
    if (fd >= 0) {
        enum stor_status status = fetch(s, bucket, key, fd, 0, NULL, result, err);
        if (close(fd) != 0 && status == STOR_OK)
            status = stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
        return status;
    }
    char mark[8192], partial[NAME_MAX + 64];
    partial_mark(bucket, key, s->version_id, mark, sizeof mark);
    int marked;
    opened = open_partial(dir, name, mark, partial, sizeof partial, &fd, &marked, err);
    if (opened != STOR_OK)
        return opened;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return stor_fail(err, STOR_EIO, "another stor is downloading to %s", name);
    }
    struct stat st;
    int64_t resume_from = 0;
    /* Kept and continued only where the backend can continue a download: else a kept partial
     * would make every later get of the object fail. */
    int resumable = marked && s->plugin->table.get_ex && s->range_start < 0 &&
                    (s->plugin->capabilities & STOR_CAP_RESUME_GET);
    if (resumable && fstat(fd, &st) == 0 && st.st_size > 0)
        resume_from = st.st_size;
    else if (ftruncate(fd, 0) != 0)
        resume_from = -1;
    enum stor_status status = STOR_OK;
    struct partial_version version = {.fd = fd};
    if (resume_from > 0)
        read_recorded_version(&version);
    if (resume_from < 0 || lseek(fd, resume_from, SEEK_SET) < 0)
        status = stor_fail(err, STOR_EIO, "cannot write %s: %s", partial, strerror(errno));
    struct flusher flusher;
    flusher_start(&flusher, fd);
    if (status == STOR_OK)
        status = fetch(s, bucket, key, fd, resume_from, marked ? &version : NULL, result, err);
    if ((status == STOR_EIO || status == STOR_ESTALE) && resume_from > 0) {
        /* What was kept belongs to another version (ESTALE: the backend knew before writing),
         * or was damaged: start over once. */
        s->host->log(s->host, status == STOR_ESTALE ? STOR_LOG_INFO : STOR_LOG_WARN,
                     "%s: %s; starting over", name, status == STOR_ESTALE
                         ? "the object changed since the partial download began"
                         : "the partial download did not verify");
        restart_result(s, result);
        resume_from = 0;
        fremovexattr(fd, PARTIAL_VERSION_ATTR);
        if (ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0)
            status = fetch(s, bucket, key, fd, 0, marked ? &version : NULL, result, err);
    } else if (status == STOR_OK && resume_from > 0) {
        s->host->log(s->host, STOR_LOG_WARN, "%s: continued a partial download from byte %lld", name,
                     (long long)resume_from);
    }
    flusher_stop(&flusher);
    /* The finished file is the user's, not a partial: it loses the mark and the version it
     * recorded before it gets its name. */
    if (status == STOR_OK && marked &&
        (fremovexattr(fd, PARTIAL_MARK_ATTR) != 0 ||
         (fremovexattr(fd, PARTIAL_VERSION_ATTR) != 0 && errno != ENODATA)))
        status = stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
    if (status == STOR_OK)
        status = seal(fd, result, name, err);
    int keep = (status == STOR_ETRANSIENT || status == STOR_ECANCELLED) && resumable &&
               fstat(fd, &st) == 0 && st.st_size > 0;
    /* The name must still be our file, and the destination still a regular file or nothing. */
    struct stat here, there;
    if (status == STOR_OK &&
        (fstat(fd, &here) != 0 || fstatat(dir, partial, &there, AT_SYMLINK_NOFOLLOW) != 0 ||
         here.st_dev != there.st_dev || here.st_ino != there.st_ino))
        status = stor_fail(err, STOR_EIO, "cannot write %s: its partial file was replaced meanwhile", name);
    if (status == STOR_OK && fstatat(dir, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISREG(there.st_mode))
        status = stor_fail(err, STOR_EIO, "%s appeared meanwhile as something else than a regular file: left as it is", name);
    if (status == STOR_OK && renameat(dir, partial, dir, name) != 0)
        status = stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
    if (status != STOR_OK) {
        if (keep) {
            size_t len = strlen(err->message);
            snprintf(err->message + len, sizeof err->message - len,
                     " (%lld bytes kept: the same get continues from there)", (long long)st.st_size);
        } else if (fstat(fd, &here) == 0 && fstatat(dir, partial, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
                   here.st_dev == there.st_dev && here.st_ino == there.st_ino) {
            unlinkat(dir, partial, 0); /* only ever the file we made */
        }
        json_object_put(result->json);
        result->json = NULL;
    }
    close(fd);
    return status;
}

enum stor_status stor_get_to_path(struct stor_session *s, const char *bucket, const char *key,
                                  const char *path, struct stor_result *result,
                                  struct stor_error *err)
{
    const char *slash = strrchr(path, '/');
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
             slash ? path : ".");
    int dir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return stor_fail(err, errno == ENOENT || errno == ENOTDIR ? STOR_ENOTFOUND : STOR_EIO,
                         "cannot write %s: %s", path, strerror(errno));
    enum stor_status status = stor_get_at(s, bucket, key, dir, slash ? slash + 1 : path, result, err);
    close(dir);
    return status;
}

enum stor_status stor_get_fd(struct stor_session *s, const char *bucket, const char *key, int fd,
                             struct stor_result *result, struct stor_error *err)
{
    return fetch(s, bucket, key, fd, 0, NULL, result, err);
}

/* ---- small files of a listing: unnamed until complete ---- */

/* Up to this size a file is fetched again whole after an interruption rather than resumed, so it
 * needs no partial file: a large share of a tree's per-file system calls (mark, lock, checks). */
#define SMALL_GET_MAX (16 << 20)

static int proc_fd_links;
static pthread_once_t proc_once = PTHREAD_ONCE_INIT;

/* An unnamed file gets its name through /proc/self/fd (linkat with AT_EMPTY_PATH would need a
 * capability). */
static void probe_proc(void)
{
    proc_fd_links = access("/proc/self/fd", X_OK) == 0;
}

/* Gives the complete unnamed file fd the name `name` in dir: linked directly when the name is
 * free; over an existing regular file, linked under a unique partial name renamed over it
 * (linkat never replaces). */
static enum stor_status link_unnamed(int fd, int dir, const char *name, struct stor_error *err)
{
    char proc[64], temporary[NAME_MAX + 64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, dir, name, AT_SYMLINK_FOLLOW) == 0)
        return STOR_OK;
    if (errno != EEXIST)
        return stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
    struct stat here, there;
    if (fstatat(dir, name, &there, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(there.st_mode))
        return stor_fail(err, STOR_EIO, "%s appeared meanwhile as something else than a regular "
                         "file: left as it is", name);
    for (int attempt = 0; attempt < 100; attempt++) {
        if (unique_partial_name(name, temporary, sizeof temporary) != 0)
            return stor_fail(err, STOR_EINVAL, "destination name too long: %s", name);
        if (linkat(AT_FDCWD, proc, dir, temporary, AT_SYMLINK_FOLLOW) != 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        if (renameat(dir, temporary, dir, name) == 0)
            return STOR_OK;
        int e = errno;
        if (fstat(fd, &here) == 0 && fstatat(dir, temporary, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
            here.st_dev == there.st_dev && here.st_ino == there.st_ino)
            unlinkat(dir, temporary, 0); /* only ever our own link */
        errno = e;
        break;
    }
    return stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
}

enum stor_status stor_get_listed_at(struct stor_session *s, const char *bucket, const char *key,
                                    int dir, const char *name, int64_t size, int *linked,
                                    struct stor_result *result, struct stor_error *err)
{
    pthread_once(&file_mode_once, read_umask);
    pthread_once(&proc_once, probe_proc);
    struct stat st;
    int fd = -1;
    /* Anything but a regular file in the way (a link, a FIFO) is stor_get_at's to refuse. */
    int plain = size >= 0 && size <= SMALL_GET_MAX && s->range_start < 0 && proc_fd_links &&
                !stor_is_partial_name(name) &&
                (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode));
    if (plain)
        fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (!plain || errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        enum stor_status status = stor_get_at(s, bucket, key, dir, name, result, err);
        *linked = status == STOR_OK;
        return status;
    }
    *linked = 0;
    memset(result, 0, sizeof *result);
    result->want_json = s->json;
    result->abi_version = s->plugin->table.abi_version;
    if (fd < 0)
        return stor_fail(err, errno == ENOENT ? STOR_ENOTFOUND : STOR_EIO, "cannot write %s: %s",
                         name, strerror(errno));
    enum stor_status status = fetch(s, bucket, key, fd, 0, NULL, result, err);
    if (status == STOR_OK)
        status = seal(fd, result, name, err);
    if (status == STOR_OK)
        status = link_unnamed(fd, dir, name, err);
    *linked = status == STOR_OK;
    if (status != STOR_OK) {
        json_object_put(result->json);
        result->json = NULL;
    }
    close(fd); /* unlinked, a failed download leaves nothing behind */
    return status;
}
