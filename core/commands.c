/* commands.c — put, get, ls, rm and upload-target: argument checks, local files (downloads land
 * in a temporary file renamed into place only on success), and human or JSON output. */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "mime.h"
#include "text.h"

void stor_error_line(const char *fmt, ...)
{
    char line[2048], shown[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Names and servers' words inside: no byte of them may drive the terminal or end the line. */
    stor_escape_text(line, shown, sizeof shown);
    stor_host_progress_done();
    fprintf(stderr, "stor: %s\n", shown);
}

int stor_exit_code(enum stor_status status)
{
    switch (status) {
    case STOR_OK:
        return STOR_EXIT_OK;
    case STOR_EINVAL:
        return STOR_EXIT_USAGE;
    case STOR_ENOTFOUND:
        return STOR_EXIT_NOT_FOUND;
    case STOR_EAUTH:
        return STOR_EXIT_AUTH;
    case STOR_ETRANSIENT:
        return STOR_EXIT_TRANSIENT;
    case STOR_EUNSUPPORTED:
        return STOR_EXIT_UNSUPPORTED;
    case STOR_ECANCELLED:
        return STOR_EXIT_CANCELLED;
    case STOR_EIO:
    case STOR_EINTERNAL:
    default:
        return STOR_EXIT_FAILURE;
    }
}

int stor_errno_exit_code(int e)
{
    return e == ENOENT || e == ENOTDIR ? STOR_EXIT_NOT_FOUND
           : e == EACCES || e == EPERM ? STOR_EXIT_AUTH
                                       : STOR_EXIT_FAILURE;
}

int stor_report_failure(enum stor_status status, const struct stor_error *err)
{
    stor_error_line("%s", err->message[0] ? err->message : "operation failed without a message");
    return stor_exit_code(status);
}

int stor_report_unsupported(const struct stor_session *s, const char *what)
{
    stor_error_line("backend %s does not support %s", s->plugin->table.name, what);
    return STOR_EXIT_UNSUPPORTED;
}

int stor_split_remote(const char *remote, char *bucket, size_t size, const char **key,
                        int key_required, const char *usage)
{
    const char *slash = strchr(remote, '/');
    size_t bucket_len = slash ? (size_t)(slash - remote) : strlen(remote);
    *key = slash ? slash + 1 : "";
    if (bucket_len == 0 || bucket_len >= size || (key_required && !**key)) {
        stor_error_line("expected %s, got '%s'", usage, remote);
        return STOR_EXIT_USAGE;
    }
    char why[128], shown[1024], name[1024];
    snprintf(name, sizeof name, "%.*s", (int)bucket_len, remote);
    if (stor_key_problem(name, 0, why, sizeof why) ||
        stor_key_problem(*key, slash ? (size_t)(*key - remote) : 0, why, sizeof why)) {
        stor_escape_text(remote, shown, sizeof shown);
        stor_error_line("'%s' %s", shown, why);
        return STOR_EXIT_USAGE;
    }
    memcpy(bucket, remote, bucket_len);
    bucket[bucket_len] = '\0';
    return STOR_EXIT_OK;
}

void stor_format_time(int64_t ms, char *out, size_t size)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&seconds, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, size, "-");
}

struct json_object *stor_json_text(const char *text)
{
    if (stor_utf8_problem(text) < 0)
        return json_object_new_string(text);
    size_t size = strlen(text) * 3 + 1;
    char *valid = malloc(size);
    if (!valid)
        return NULL;
    stor_valid_utf8(text, valid, size);
    struct json_object *j = json_object_new_string(valid);
    free(valid);
    return j;
}

void stor_print_json(struct json_object *value)
{
    puts(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int stor_keep_result(void *context, const struct stor_object *object)
{
    struct stor_result *r = context;
    if (r->want_json) { /* only --json prints it: built for every file of a put -r, it was waste */
        json_object_put(r->json);
        r->json = stor_object_json(r->abi_version, NULL, object);
    }
    r->size = object->size;
    r->mtime_ms = object->mtime_ms;
    snprintf(r->sha1, sizeof r->sha1, "%s", object->sha1 ? object->sha1 : "");
    snprintf(r->id, sizeof r->id, "%s", object->id ? object->id : "");
    return 0;
}

static void print_result(const struct stor_session *s, struct stor_result *r, const char *verb,
                         const char *bucket, const char *key, const char *local)
{
    if (s->json && r->json) {
        json_object_object_add(r->json, "bucket", json_object_new_string(bucket));
        if (local)
            json_object_object_add(r->json, "local", json_object_new_string(local));
        stor_print_json(r->json);
    } else if (!s->quiet) {
        printf("%s %s/%s%s%s (%lld bytes%s%s%s%s)\n", verb, bucket, key, local ? " to " : "",
               local ? local : "", (long long)r->size, r->sha1[0] ? ", sha1 " : "", r->sha1,
               r->id[0] ? ", id " : "", r->id);
    }
    json_object_put(r->json);
}

enum stor_status stor_put_fd(struct stor_session *s, const char *bucket, const char *key, int fd,
                             struct stor_result *result, struct stor_error *err)
{
    memset(result, 0, sizeof *result);
    result->want_json = s->json;
    result->abi_version = s->plugin->table.abi_version;
    enum stor_status status;
    if (s->plugin->table.put_ex) {
        /* What the host knows of the source: a regular file's size and mtime (the backend keeps
         * the mtime where it can, for sync's compare); a pipe's neither. */
        struct stor_put_options options = {.struct_size = sizeof options, .size = -1, .mtime_ms = -1,
                                           .protection = {.retain_until_ms = -1, .legal_hold = -1}};
        if (s->keep)
            options = *s->keep;
        if (s->guess_content_type)
            options.content_type = stor_mime_type(key);
        struct stat st;
        off_t at = lseek(fd, 0, SEEK_CUR);
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && at >= 0 && at <= st.st_size) {
            options.size = st.st_size - at;
            options.mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        }
        status = s->plugin->table.put_ex(s->instance, bucket, key, &options, fd, stor_keep_result,
                                         result, err);
    } else {
        status = s->plugin->table.put(s->instance, bucket, key, fd, stor_keep_result, result, err);
    }
    if (status != STOR_OK) {
        json_object_put(result->json);
        result->json = NULL;
    }
    return status;
}

static int put_named(struct stor_session *s, const char *local, const char *bucket, const char *key)
{
    int fd = STDIN_FILENO;
    if (strcmp(local, "-") != 0) {
        fd = open(local, O_RDONLY | O_CLOEXEC); /* a FIFO blocks until a writer comes; Ctrl-C ends it */
        struct stat st;
        if (fd < 0 && errno == EINTR) {
            stor_error_line("interrupted while waiting to read %s", local);
            return STOR_EXIT_CANCELLED;
        }
        if (fd < 0) {
            stor_error_line("cannot open %s: %s", local, strerror(errno));
            return stor_errno_exit_code(errno);
        }
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(fd);
            stor_error_line("%s is a directory: use put -r to store a directory", local);
            return STOR_EXIT_USAGE;
        }
    }
    struct stor_error err = {""};
    struct stor_result r;
    enum stor_status status = stor_put_fd(s, bucket, key, fd, &r, &err);
    if (fd != STDIN_FILENO)
        close(fd);
    stor_host_progress_done();
    if (status == STOR_ECANCELLED) { /* say what the interruption left, not only that it came */
        char shown[512];
        stor_printable(key, shown, sizeof shown);
        stor_error_line("interrupted: %s/%s was not stored, and what it held before is unchanged "
                        "(%s)", bucket, shown, err.message);
        return STOR_EXIT_CANCELLED;
    }
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    print_result(s, &r, "stored", bucket, key, NULL);
    return STOR_EXIT_OK;
}

int stor_cmd_put(struct stor_session *s, const char *local, const char *remote)
{
    char bucket[256], *joined = NULL;
    const char *key;
    size_t length = strlen(remote);
    /* BUCKET/PREFIX/ (or BUCKET alone) keeps the file's own name under it, as cp does. */
    if (strcmp(local, "-") != 0 && length && (remote[length - 1] == '/' || !strchr(remote, '/'))) {
        const char *base = strrchr(local, '/') ? strrchr(local, '/') + 1 : local;
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
            stor_error_line("%s has no file name to keep: name the key (BUCKET/KEY)", local);
            return STOR_EXIT_USAGE;
        }
        if (asprintf(&joined, "%s%s%s", remote, strchr(remote, '/') ? "" : "/", base) < 0)
            return STOR_EXIT_FAILURE;
        remote = joined;
    }
    int code = stor_split_remote(remote, bucket, sizeof bucket, &key, 1, "BUCKET/KEY");
    if (code != STOR_EXIT_OK) {
        free(joined);
        return code;
    }
    code = put_named(s, local, bucket, key);
    free(joined);
    return code;
}

/* Where a download goes: LOCAL itself, or LOCAL/<last segment of key> when LOCAL is a directory. */
static int download_path(const char *local, const char *key, char *path, size_t size)
{
    struct stat st;
    const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    int n = stat(local, &st) == 0 && S_ISDIR(st.st_mode)
                ? snprintf(path, size, "%s/%s", local, base)
                : snprintf(path, size, "%s", local);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

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
        unsigned char random[6];
        if (getentropy(random, sizeof random) != 0)
            break;
        if (snprintf(partial, size, ".%s%s.%02x%02x%02x%02x%02x%02x", name, STOR_PARTIAL_SUFFIX,
                     random[0], random[1], random[2], random[3], random[4], random[5]) >= (int)size)
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
    if (status == STOR_OK && result->mtime_ms >= 0) {
        struct timespec times[2] = {
            {.tv_nsec = UTIME_OMIT},
            {.tv_sec = result->mtime_ms / 1000, .tv_nsec = (result->mtime_ms % 1000) * 1000000},
        };
        futimens(fd, times);
    }
    /* The finished file is the user's, not a partial: it loses the mark before it gets its name. */
    if (status == STOR_OK && marked && fremovexattr(fd, PARTIAL_MARK_ATTR) != 0)
        status = stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
    if (status == STOR_OK && (fchmod(fd, file_mode) != 0 || fsync(fd) != 0))
        status = stor_fail(err, STOR_EIO, "cannot write %s: %s", name, strerror(errno));
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

int stor_cmd_get(struct stor_session *s, const char *remote, const char *local)
{
    char bucket[256];
    const char *key;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &key, 1, "BUCKET/KEY");
    if (code != STOR_EXIT_OK)
        return code;
    struct stor_error err = {""};
    struct stor_result r = {0};
    if (strcmp(local, "-") == 0) {
        enum stor_status status = fetch(s, bucket, key, STDOUT_FILENO, 0, NULL, &r, &err);
        json_object_put(r.json);
        stor_host_progress_done();
        return status == STOR_OK ? STOR_EXIT_OK : stor_report_failure(status, &err);
    }
    char path[PATH_MAX];
    if (download_path(local, key, path, sizeof path) != 0) {
        stor_error_line("destination path too long: %s", local);
        return STOR_EXIT_USAGE;
    }
    enum stor_status status = stor_get_to_path(s, bucket, key, path, &r, &err);
    stor_host_progress_done();
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    print_result(s, &r, "fetched", bucket, key, path);
    return STOR_EXIT_OK;
}

struct listing {
    const struct stor_session *session;
    const char *bucket;
    size_t count;
    int write_errno; /* stdout failed (a closed pipe, a full disk): the listing stopped for it */
};

static int print_entry(void *context, const struct stor_object *o)
{
    struct listing *l = context;
    const struct stor_session *s = l->session;
    /* is_hidden exists only in objects of plugins built for ABI 2 or later. */
    int hidden = s->versions && s->plugin->table.abi_version >= 2 && o->is_hidden;
    if (s->json) {
        struct json_object *j = stor_object_json(s->plugin->table.abi_version, l->bucket, o);
        if (s->versions)
            json_object_object_add(j, "hidden", json_object_new_boolean(hidden));
        stor_print_json(j); /* one object per line: streams, and scripts read it line by line */
        json_object_put(j);
    } else if (o->is_prefix) {
        char key[2048];
        stor_printable(o->key, key, sizeof key);
        printf("%12s  %-20s  %s\n", "DIR", "", key);
    } else {
        char when[32], key[2048];
        stor_format_time(o->mtime_ms, when, sizeof when);
        stor_printable(o->key, key, sizeof key);
        printf("%12lld  %-20s  %s", (long long)o->size, when, key);
        if (s->long_list)
            printf("  %s  %s", o->sha1 ? o->sha1 : "-", o->content_type ? o->content_type : "-");
        if (s->long_list || s->versions)
            printf("  %s", o->id ? o->id : "-");
        if (hidden)
            printf("  (hidden)");
        putchar('\n');
    }
    l->count++;
    if (ferror(stdout)) {
        l->write_errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

/* A backend without one-level listings (no STOR_CAP_DELIMITER) is asked for everything below
 * the prefix, and the host folds each name at its first '/' after the prefix. The names under
 * one folded prefix are adjacent in byte order ("a-" < "a/..." < "a0"), so a repeat can only
 * follow the previous one. */
struct fold {
    size_t prefix_length;
    char *last; /* the prefix entry reported last */
    stor_object_fn next;
    void *context;
};

static int fold_entry(void *context, const struct stor_object *o)
{
    struct fold *f = context;
    const char *slash = o->is_prefix || strlen(o->key) < f->prefix_length
                            ? NULL
                            : strchr(o->key + f->prefix_length, '/');
    if (!slash)
        return f->next(f->context, o);
    size_t length = (size_t)(slash - o->key) + 1;
    if (f->last && strncmp(f->last, o->key, length) == 0 && f->last[length] == '\0')
        return 0;
    char *name = strndup(o->key, length);
    if (!name)
        return -1;
    free(f->last);
    f->last = name;
    struct stor_object directory = {.key = name, .is_prefix = 1, .size = -1, .mtime_ms = -1,
                                    .upload_ms = -1,
                                    .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    return f->next(f->context, &directory);
}

int stor_cmd_ls(struct stor_session *s, const char *remote)
{
    char bucket[256];
    const char *prefix;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &prefix, 0, "BUCKET[/PREFIX]");
    if (code != STOR_EXIT_OK)
        return code;
    struct listing l = {s, bucket, 0, 0};
    struct stor_error err = {""};
    if (s->versions && s->plugin->table.abi_version < 2)
        return stor_report_unsupported(s, "ls --versions");
    /* A backend of ABI 3 that keeps no versions is not asked for them: each object is then its
     * only version. */
    int ask_versions = s->versions && (s->plugin->table.abi_version < 3 ||
                                       (s->plugin->capabilities & STOR_CAP_VERSIONS));
    int fold = !s->recursive && !(s->plugin->capabilities & STOR_CAP_DELIMITER);
    unsigned flags = (s->recursive || fold ? STOR_LIST_RECURSIVE : 0) |
                     (ask_versions ? STOR_LIST_VERSIONS : 0);
    struct fold folder = {strlen(prefix), NULL, print_entry, &l};
    enum stor_status status =
        fold ? s->plugin->table.list(s->instance, bucket, prefix, flags, fold_entry, &folder, &err)
             : s->plugin->table.list(s->instance, bucket, prefix, flags, print_entry, &l, &err);
    free(folder.last);
    if (l.write_errno) {
        stor_error_line("cannot write the listing: %s", strerror(l.write_errno));
        return STOR_EXIT_FAILURE;
    }
    if (fflush(stdout) != 0 && status == STOR_OK) {
        stor_error_line("cannot write the listing: %s", strerror(errno));
        return STOR_EXIT_FAILURE;
    }
    return status == STOR_OK ? STOR_EXIT_OK : stor_report_failure(status, &err);
}

/* The target goes to stdout as JSON: this is the one command that prints a token, on purpose. */
static void print_target(void *context, const struct stor_upload_target *t)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "bucketId", json_object_new_string(t->bucket_id ? t->bucket_id : ""));
    json_object_object_add(j, "uploadUrl", json_object_new_string(t->url ? t->url : ""));
    json_object_object_add(j, "authorizationToken", t->token ? json_object_new_string(t->token) : NULL);
    json_object_object_add(j, "expiresAt",
                           t->expires_at_ms >= 0 ? json_object_new_int64(t->expires_at_ms) : NULL);
    stor_print_json(j);
    json_object_put(j);
    *(int *)context = 1;
}

int stor_cmd_upload_target(struct stor_session *s, const char *bucket)
{
    if (!bucket[0] || strchr(bucket, '/')) {
        stor_error_line("expected BUCKET, got '%s'", bucket);
        return STOR_EXIT_USAGE;
    }
    if (!s->plugin->table.get_upload_target)
        return stor_report_unsupported(s, "upload-target");
    struct stor_error err = {""};
    int printed = 0;
    enum stor_status status =
        s->plugin->table.get_upload_target(s->instance, bucket, print_target, &printed, &err);
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    if (!printed) {
        stor_error_line("backend %s returned no upload target", s->plugin->table.name);
        return STOR_EXIT_FAILURE;
    }
    return STOR_EXIT_OK;
}
