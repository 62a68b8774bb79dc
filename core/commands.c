/* commands.c — put, get, ls, rm and upload-target: argument checks, local files (downloads land
 * in a temporary file renamed into place only on success), and human or JSON output. */
#include "commands.h"
#include "download.h"

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
        enum stor_status status = stor_get_fd(s, bucket, key, STDOUT_FILENO, &r, &err);
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
