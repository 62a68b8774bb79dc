/* transfer.c — directory transfers: put -r and get -r with --transfers workers calling the
 * backend concurrently, --include/--exclude, --skip-existing, --dry-run, and a summary. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "download.h"
#include "host.h"
#include "text.h"
#include "tree.h"

/* One file to move: its path relative to the local directory, which is also its key suffix. */
struct job {
    char *rel;
    int64_t size, mtime_ms;
    const char *sha1; /* remote SHA-1 (get -r), may be NULL */
    int failed;
    dev_t dev;        /* put -r: the file the scan saw, checked again when it is opened */
    ino_t ino;
};

/* What the remote side holds, for --skip-existing and get -r. */
struct remote_entry {
    char *key;
    int64_t size, mtime_ms;
    char *sha1;
};

struct remote_index {
    struct remote_entry *items;
    size_t count, capacity;
};

struct batch {
    struct stor_session *s;
    const char *verb;    /* "put" or "get" */
    const char *dir;     /* the local directory */
    char bucket[256];
    char prefix[2048];   /* key prefix, "" or ending in '/' */
    struct job *jobs;
    size_t count, capacity, next;
    struct remote_index remote;
    pthread_mutex_t lock; /* guards next, the counters and stdout */
    size_t stored, skipped, failed, interrupted;
    uint64_t bytes;
    int first_failure_code;
    int unsynced; /* a directory's new names could not be made durable */
    /* put -r: what the walk left out, reported in the summary */
    size_t links, specials, partials, too_long;
    int top;                   /* the local directory, open */
    struct { dev_t dev; ino_t ino; } *visited; /* directories entered (-L: loops) */
    size_t visited_count, visited_capacity;
};

static int add_job(struct batch *b, const char *rel, int64_t size, int64_t mtime_ms, const char *sha1)
{
    if (b->count == b->capacity) {
        size_t capacity = b->capacity ? b->capacity * 2 : 256;
        struct job *grown = realloc(b->jobs, capacity * sizeof *grown);
        if (!grown)
            return -1;
        b->jobs = grown;
        b->capacity = capacity;
    }
    char *copy = strdup(rel);
    if (!copy)
        return -1;
    b->jobs[b->count++] = (struct job){copy, size, mtime_ms, sha1, 0, 0, 0};
    return 0;
}

/* The walk: one directory at a time from a list (no recursion, so a deep tree cannot exhaust the
 * stack), each opened beneath the top without following links. */
struct pending_dirs {
    char **rels;
    size_t count, capacity;
};

static int push_dir(struct pending_dirs *p, const char *rel)
{
    if (p->count == p->capacity) {
        size_t capacity = p->capacity ? p->capacity * 2 : 64;
        char **grown = realloc(p->rels, capacity * sizeof *grown);
        if (!grown)
            return -1;
        p->rels = grown;
        p->capacity = capacity;
    }
    return (p->rels[p->count] = strdup(rel)) ? (p->count++, 0) : -1;
}

/* -L: each directory is entered once, so a link loop (or a second link to one) ends the descent. */
static int first_visit(struct batch *b, const struct stat *st)
{
    for (size_t i = 0; i < b->visited_count; i++)
        if (b->visited[i].dev == st->st_dev && b->visited[i].ino == st->st_ino)
            return 0;
    if (b->visited_count == b->visited_capacity) {
        size_t capacity = b->visited_capacity ? b->visited_capacity * 2 : 64;
        void *grown = realloc(b->visited, capacity * sizeof *b->visited);
        if (!grown)
            return 0;
        b->visited = grown;
        b->visited_capacity = capacity;
    }
    b->visited[b->visited_count].dev = st->st_dev;
    b->visited[b->visited_count++].ino = st->st_ino;
    return 1;
}

static void left_out(struct batch *b, size_t *counter, const char *rel, const char *why)
{
    (*counter)++;
    if (b->s->verbose) {
        char shown[4096];
        stor_printable(rel, shown, sizeof shown);
        stor_host_progress_done();
        printf("left out %s (%s)\n", shown, why);
    }
}

/* One directory of the walk: files become jobs, directories join the list. The filter sees each
 * name before anything is stat'ed, so excluded directories are never entered. */
static int scan_directory(struct batch *b, int top, const char *rel, struct pending_dirs *pending)
{
    int follow = b->s->follow_links;
    int fd = stor_open_directory_beneath(top, rel, follow, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        char shown[4096];
        stor_printable(rel[0] ? rel : b->dir, shown, sizeof shown);
        stor_error_line("cannot read directory %s: %s", shown, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct stat st;
    if (fstat(dirfd(d), &st) == 0 && !first_visit(b, &st) && rel[0]) {
        closedir(d);
        left_out(b, &b->links, rel, "a directory already walked: a link loop or a second link");
        return 0;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= (int)sizeof child) {
            char shown[512];
            stor_printable(rel, shown, sizeof shown);
            stor_error_line("skipping a name in %s: the path is longer than %d bytes", shown, PATH_MAX - 1);
            b->too_long++;
            continue;
        }
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone since readdir */
        if (S_ISLNK(st.st_mode)) {
            struct stat target;
            if (!follow) {
                left_out(b, &b->links, child, "a symbolic link: -L follows links");
                continue;
            }
            if (fstatat(dirfd(d), de->d_name, &target, 0) != 0) {
                left_out(b, &b->links, child, "a dangling symbolic link");
                continue;
            }
            st = target;
        }
        int is_dir = S_ISDIR(st.st_mode);
        if (!is_dir && !S_ISREG(st.st_mode)) {
            left_out(b, &b->specials, child, "not a regular file");
            continue;
        }
        if (!is_dir && stor_is_partial_name(de->d_name)) {
            left_out(b, &b->partials, child, "a name reserved for stor's partial downloads");
            continue;
        }
        if (!stor_filter_allows(b->s->filter, child, is_dir))
            continue;
        if (is_dir) {
            rc = push_dir(pending, child);
        } else {
            rc = add_job(b, child, st.st_size, stor_mtime_ms_of(&st), NULL);
            if (rc == 0) {
                b->jobs[b->count - 1].dev = st.st_dev;
                b->jobs[b->count - 1].ino = st.st_ino;
            }
            if (b->count % 1000 == 0)
                stor_progress_scan(b->count); /* a large tree takes a while to walk */
        }
    }
    closedir(d);
    return rc;
}

static int scan_local(struct batch *b, int top)
{
    struct pending_dirs pending = {0};
    int rc = push_dir(&pending, "");
    while (rc == 0 && pending.count > 0) {
        char *rel = pending.rels[--pending.count];
        rc = scan_directory(b, top, rel, &pending);
        free(rel);
    }
    while (pending.count > 0)
        free(pending.rels[--pending.count]);
    free(pending.rels);
    return rc;
}

static int compare_jobs(const void *a, const void *b)
{
    return strcmp(((const struct job *)a)->rel, ((const struct job *)b)->rel);
}

static int compare_remote(const void *a, const void *b)
{
    return strcmp(((const struct remote_entry *)a)->key, ((const struct remote_entry *)b)->key);
}

static int remember_remote(void *context, const struct stor_object *o)
{
    struct remote_index *r = context;
    if (o->is_prefix)
        return 0;
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? r->capacity * 2 : 256;
        struct remote_entry *grown = realloc(r->items, capacity * sizeof *grown);
        if (!grown)
            return -1;
        r->items = grown;
        r->capacity = capacity;
    }
    struct remote_entry *e = &r->items[r->count];
    e->key = strdup(o->key);
    e->sha1 = o->sha1 ? strdup(o->sha1) : NULL;
    e->size = o->size;
    e->mtime_ms = o->mtime_ms;
    if (!e->key)
        return -1;
    r->count++;
    return 0;
}

static int list_remote(struct batch *b)
{
    struct stor_error err = {""};
    enum stor_status status = b->s->plugin->table.list(b->s->instance, b->bucket, b->prefix,
                                                       STOR_LIST_RECURSIVE, remember_remote,
                                                       &b->remote, &err);
    if (status == STOR_ENOTFOUND && strcmp(b->verb, "put") == 0)
        return 0; /* nothing there yet: nothing to skip */
    if (status != STOR_OK) {
        stor_error_line("%s", err.message);
        return stor_exit_code(status);
    }
    qsort(b->remote.items, b->remote.count, sizeof *b->remote.items, compare_remote);
    return 0;
}

static const struct remote_entry *find_remote(const struct batch *b, const char *key)
{
    struct remote_entry wanted = {.key = (char *)key};
    return bsearch(&wanted, b->remote.items, b->remote.count, sizeof wanted, compare_remote);
}

/* Same size and modification time, or same size and SHA-1: the copy there is this file. */
static int same_content(int fd, int64_t local_size, int64_t local_mtime, int64_t size,
                        int64_t mtime_ms, const char *sha1)
{
    if (size != local_size)
        return 0;
    if (mtime_ms >= 0 && mtime_ms == local_mtime)
        return 1;
    char hex[41];
    return sha1 && strlen(sha1) == 40 && stor_sha1_of_file(fd, hex) == 0 && strcmp(hex, sha1) == 0;
}

/* put -r opens each file as the scan saw it: beneath the top without following links (unless
 * -L), not blocking on a FIFO swapped in since, and only if it is still that regular file. */
static int open_scanned_file(struct batch *b, const struct job *job, char *why, size_t why_size)
{
    return stor_open_walked_file(b->top, job->rel, b->s->follow_links, job->dev, job->ino, why,
                                 why_size);
}

enum outcome { DONE, SKIPPED, FAILED, INTERRUPTED };

static const char *outcome_word(const struct batch *b, enum outcome outcome)
{
    int put = strcmp(b->verb, "put") == 0;
    if (outcome == FAILED)
        return "failed";
    if (outcome == INTERRUPTED)
        return "interrupted";
    if (outcome == SKIPPED)
        return b->s->dry_run ? "would skip" : "skipped";
    return b->s->dry_run ? (put ? "would store" : "would fetch") : (put ? "stored" : "fetched");
}

static void report_file(struct batch *b, struct job *job, enum outcome outcome,
                        const struct stor_result *r, const char *error, int code)
{
    const char *state = outcome_word(b, outcome);
    pthread_mutex_lock(&b->lock);
    if (outcome == FAILED) {
        b->failed++;
        job->failed = 1;
        if (!b->first_failure_code)
            b->first_failure_code = code;
    } else if (outcome == SKIPPED) {
        b->skipped++;
    } else if (outcome == INTERRUPTED) {
        b->interrupted++;
    } else {
        b->stored++;
        b->bytes += (uint64_t)(job->size > 0 ? job->size : 0);
    }
    char key[4096];
    snprintf(key, sizeof key, "%s%s", b->prefix, job->rel);
    if (b->s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "bucket", json_object_new_string(b->bucket));
        json_object_object_add(j, "key", stor_json_text(key));
        json_object_object_add(j, "local", stor_json_text(job->rel));
        json_object_object_add(j, "status", json_object_new_string(state));
        json_object_object_add(j, "size", json_object_new_int64(job->size));
        if (r && r->sha1[0])
            json_object_object_add(j, "sha1", json_object_new_string(r->sha1));
        if (r && r->id[0])
            json_object_object_add(j, "id", json_object_new_string(r->id));
        if (error)
            json_object_object_add(j, "error", stor_json_text(error));
        stor_print_json(j);
        json_object_put(j);
    } else if (error && outcome != INTERRUPTED) {
        char shown[4096];
        stor_printable(job->rel, shown, sizeof shown);
        int length = (int)strlen(shown), cut = length > 200 ? 197 : length;
        stor_error_line("%s %.*s%s: %s", b->verb, cut, shown, cut < length ? "..." : "", error);
    } else if (b->s->verbose || b->s->dry_run) {
        char shown[4096];
        stor_printable(key, shown, sizeof shown);
        stor_host_progress_done();
        printf("%s %s/%s (%lld bytes)\n", state, b->bucket, shown, (long long)job->size);
    }
    pthread_mutex_unlock(&b->lock);
    stor_progress_file_done(key, (uint64_t)(job->size > 0 ? job->size : 0));
}

/* A file whose transfer ended: stored or fetched, failed, or cut short by the user's signal. */
static void report_status(struct batch *b, struct job *job, enum stor_status status,
                          const struct stor_result *r, const struct stor_error *err)
{
    if (status == STOR_OK)
        report_file(b, job, DONE, r, NULL, 0);
    else if (status == STOR_ECANCELLED)
        report_file(b, job, INTERRUPTED, NULL, err->message, STOR_EXIT_CANCELLED);
    else
        report_file(b, job, FAILED, NULL, err->message, stor_exit_code(status));
}

static void put_one(struct batch *b, struct job *job)
{
    char key[4096], why[512];
    snprintf(key, sizeof key, "%s%s", b->prefix, job->rel);
    char problem[128];
    if (stor_key_problem(job->rel, 0, problem, sizeof problem)) {
        snprintf(why, sizeof why, "the name %s", problem);
        report_file(b, job, FAILED, NULL, why, STOR_EXIT_USAGE);
        return;
    }
    if (b->s->dry_run && !b->s->skip_existing) {
        report_file(b, job, DONE, NULL, NULL, 0);
        return;
    }
    int fd = open_scanned_file(b, job, why, sizeof why);
    if (fd < 0) {
        report_file(b, job, FAILED, NULL, why, errno == ESTALE ? STOR_EXIT_FAILURE : stor_errno_exit_code(errno));
        return;
    }
    if (b->s->skip_existing) {
        const struct remote_entry *e = find_remote(b, key);
        if (e && same_content(fd, job->size, job->mtime_ms, e->size, e->mtime_ms, e->sha1)) {
            close(fd);
            report_file(b, job, SKIPPED, NULL, NULL, 0);
            return;
        }
    }
    if (b->s->dry_run) {
        close(fd);
        report_file(b, job, DONE, NULL, NULL, 0);
        return;
    }
    struct stor_result r;
    struct stor_error err = {""};
    enum stor_status status = stor_put_fd(b->s, b->bucket, key, fd, &r, &err);
    close(fd);
    report_status(b, job, status, &r, &err);
    json_object_put(r.json);
}

/* Whether the local file dir/name already holds this object (--skip-existing). */
static int already_there(int dir, const char *name, const struct job *job)
{
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int same = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
               same_content(fd, st.st_size, stor_mtime_ms_of(&st), job->size, job->mtime_ms, job->sha1);
    if (fd >= 0)
        close(fd);
    return same;
}

static void get_one(struct batch *b, struct job *job, struct stor_dir_cursor *cursor)
{
    char key[4096];
    const char *unsafe = stor_unsafe_relative_path(job->rel);
    if (unsafe) {
        char message[512];
        snprintf(message, sizeof message, "refused: the name would escape %s (%s)", b->dir, unsafe);
        report_file(b, job, FAILED, NULL, message, STOR_EXIT_USAGE);
        return;
    }
    snprintf(key, sizeof key, "%s%s", b->prefix, job->rel);
    /* Directories are made and entered one by one beneath the target, never through a link; a
     * dry run makes none. */
    const char *name = job->rel;
    int dir = b->top < 0 ? (errno = ENOENT, -1) /* a dry run into a directory not made yet */
              : b->s->dry_run ? stor_open_parent_beneath(b->top, job->rel, 0, 0, &name)
                              : stor_dir_cursor_enter(cursor, job->rel, &name);
    if (dir < 0 && !(b->s->dry_run && errno == ENOENT)) {
        char message[512];
        snprintf(message, sizeof message, "cannot create its directory: %s",
                 errno == ELOOP || errno == ENOTDIR ? "a symbolic link or a file is in the way" : strerror(errno));
        report_file(b, job, FAILED, NULL, message, STOR_EXIT_FAILURE);
        return;
    }
    int skip = b->s->skip_existing && dir >= 0 && already_there(dir, name, job);
    if (b->s->dry_run && dir >= 0)
        close(dir); /* not the cursor's */
    if (skip || b->s->dry_run) {
        report_file(b, job, skip ? SKIPPED : DONE, NULL, NULL, 0);
        return;
    }
    struct stor_result r;
    struct stor_error err = {""};
    int linked;
    enum stor_status status =
        stor_get_listed_at(b->s, b->bucket, key, dir, name, job->size, &linked, &r, &err);
    cursor->dirty |= linked;
    report_status(b, job, status, &r, &err);
    if (status == STOR_OK)
        json_object_put(r.json);
}

static void *worker(void *arg)
{
    struct batch *b = arg;
    const struct stor_host *host = b->s->host;
    struct stor_dir_cursor cursor;
    stor_dir_cursor_init(&cursor, b->top);
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->count && !host->cancelled(host) ? b->next++ : b->count;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->count)
            break;
        if (strcmp(b->verb, "put") == 0)
            put_one(b, &b->jobs[i]);
        else
            get_one(b, &b->jobs[i], &cursor);
    }
    stor_dir_cursor_leave(&cursor);
    if (cursor.sync_errno) {
        char path[8192], shown[8192];
        snprintf(path, sizeof path, "%s/%s", b->dir, cursor.sync_failed);
        stor_printable(path, shown, sizeof shown);
        pthread_mutex_lock(&b->lock);
        b->unsynced = 1;
        stor_error_line("get -r: cannot sync the directory %s (its new files may not survive a "
                        "crash): %s", shown, strerror(cursor.sync_errno));
        pthread_mutex_unlock(&b->lock);
    }
    return NULL;
}

static void run_workers(struct batch *b)
{
    size_t n = (size_t)(b->s->transfers > 0 ? b->s->transfers : 1);
    if (n > b->count)
        n = b->count ? b->count : 1;
    pthread_t threads[256];
    if (n > sizeof threads / sizeof threads[0])
        n = sizeof threads / sizeof threads[0];
    size_t started = 0;
    for (; started < n; started++)
        if (pthread_create(&threads[started], NULL, worker, b) != 0)
            break;
    if (started == 0)
        worker(b); /* no thread could start: do the work here, one file at a time */
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

static void add_counter(void *context, const char *name, uint64_t value)
{
    json_object_object_add(context, name, json_object_new_int64((int64_t)value));
}

static int finish(struct batch *b, struct timespec start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    int cancelled = b->s->host->cancelled(b->s->host);
    size_t not_started = b->count - b->next;
    stor_host_progress_done();
    const char *done_word = outcome_word(b, DONE);
    if (b->s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "schema", json_object_new_int(1));
        json_object_object_add(j, "summary", json_object_new_string(b->verb));
        json_object_object_add(j, "files", json_object_new_int64((int64_t)b->count));
        json_object_object_add(j, strcmp(b->verb, "put") == 0 ? "stored" : "fetched",
                               json_object_new_int64((int64_t)b->stored));
        json_object_object_add(j, "dryRun", json_object_new_boolean(b->s->dry_run));
        json_object_object_add(j, "skipped", json_object_new_int64((int64_t)b->skipped));
        json_object_object_add(j, "failed", json_object_new_int64((int64_t)b->failed));
        json_object_object_add(j, "notStarted", json_object_new_int64((int64_t)not_started));
        json_object_object_add(j, "interrupted", json_object_new_int64((int64_t)b->interrupted));
        struct json_object *out = json_object_new_object();
        json_object_object_add(out, "links", json_object_new_int64((int64_t)b->links));
        json_object_object_add(out, "special", json_object_new_int64((int64_t)b->specials));
        json_object_object_add(out, "partial", json_object_new_int64((int64_t)b->partials));
        json_object_object_add(out, "tooLong", json_object_new_int64((int64_t)b->too_long));
        json_object_object_add(j, "leftOut", out);
        json_object_object_add(j, "bytes", json_object_new_int64((int64_t)b->bytes));
        char rounded[32];
        snprintf(rounded, sizeof rounded, "%.3f", seconds);
        json_object_object_add(j, "seconds", json_object_new_double_s(seconds, rounded));
        json_object_object_add(j, "retries",
                               json_object_new_int64((int64_t)stor_host_counter("retries")));
        struct json_object *counters = json_object_new_object();
        stor_host_each_counter(add_counter, counters);
        json_object_object_add(j, "counters", counters);
        stor_print_json(j);
        json_object_put(j);
    } else if (!b->s->quiet) {
        char speed[64] = "";
        if (!b->s->dry_run)
            snprintf(speed, sizeof speed, " (%.1f MiB/s)",
                     seconds > 0 ? (double)b->bytes / 1048576.0 / seconds : 0.0);
        printf("%s -r: %zu files: %zu %s, %zu skipped, %zu failed", b->verb, b->count, b->stored,
               done_word, b->skipped, b->failed);
        if (b->interrupted || cancelled)
            printf(", %zu interrupted, %zu not started", b->interrupted, not_started);
        printf("; %.1f MiB in %.2f s%s; %llu retries%s\n", (double)b->bytes / 1048576.0, seconds,
               speed, (unsigned long long)stor_host_counter("retries"),
               cancelled ? " (interrupted)" : "");
    }
    if (b->links || b->specials || b->partials || b->too_long)
        stor_error_line("%s -r left out %zu symbolic link%s (-L follows them), %zu special file%s "
                        "(FIFOs, devices, sockets), %zu stor partial download%s and %zu path%s too long%s",
                        b->verb, b->links, b->links == 1 ? "" : "s", b->specials,
                        b->specials == 1 ? "" : "s", b->partials, b->partials == 1 ? "" : "s",
                        b->too_long, b->too_long == 1 ? "" : "s",
                        b->s->verbose ? "" : " (-v names them)");
    if (b->failed) {
        /* Named in job order, whatever order the workers finished in. */
        char names[1024] = "";
        size_t len = 0;
        for (size_t i = 0; i < b->count; i++) {
            if (!b->jobs[i].failed)
                continue;
            const char *rel = b->jobs[i].rel;
            int shown = strlen(rel) > 120 ? 117 : (int)strlen(rel); /* a name, not a screenful */
            if (len + (size_t)shown + 12 >= sizeof names) {
                strcpy(names + len, ", ...");
                break;
            }
            len += (size_t)sprintf(names + len, "%s%.*s%s", len ? ", " : "", shown, rel,
                                   shown < (int)strlen(rel) ? "..." : "");
        }
        stor_error_line("%s -r: %zu of %zu files failed: %s", b->verb, b->failed, b->count, names);
    }
    if (cancelled)
        return STOR_EXIT_CANCELLED;
    return b->failed || b->too_long || b->unsynced ? STOR_EXIT_PARTIAL : STOR_EXIT_OK;
}

static void free_batch(struct batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        free(b->jobs[i].rel);
    free(b->jobs);
    for (size_t i = 0; i < b->remote.count; i++) {
        free(b->remote.items[i].key);
        free(b->remote.items[i].sha1);
    }
    free(b->remote.items);
    free(b->visited);
    if (b->top >= 0)
        close(b->top);
    pthread_mutex_destroy(&b->lock);
}

/* BUCKET[/PREFIX] with the prefix taken as a directory: "photos" means "photos/". */
static int init_batch(struct batch *b, struct stor_session *s, const char *verb, const char *dir,
                      const char *remote)
{
    memset(b, 0, sizeof *b);
    b->s = s;
    b->verb = verb;
    b->dir = dir;
    b->top = -1;
    pthread_mutex_init(&b->lock, NULL);
    const char *prefix;
    int code = stor_split_remote(remote, b->bucket, sizeof b->bucket, &prefix, 0, "BUCKET[/PREFIX]");
    if (code != STOR_EXIT_OK)
        return code;
    size_t len = strlen(prefix);
    if (len + 2 > sizeof b->prefix) {
        stor_error_line("prefix too long");
        return STOR_EXIT_USAGE;
    }
    snprintf(b->prefix, sizeof b->prefix, "%s%s", prefix, len && prefix[len - 1] != '/' ? "/" : "");
    return STOR_EXIT_OK;
}

int stor_cmd_put_tree(struct stor_session *s, const char *dir, const char *remote)
{
    struct batch b;
    int code = init_batch(&b, s, "put", dir, remote);
    if (code == STOR_EXIT_OK && (b.top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        stor_error_line("%s is not a directory: %s", dir, strerror(errno));
        code = errno == ENOENT ? STOR_EXIT_NOT_FOUND : STOR_EXIT_USAGE;
    }
    if (code == STOR_EXIT_OK && scan_local(&b, b.top) != 0)
        code = STOR_EXIT_FAILURE;
    if (code == STOR_EXIT_OK && s->skip_existing)
        code = list_remote(&b);
    if (code == STOR_EXIT_OK) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        qsort(b.jobs, b.count, sizeof *b.jobs, compare_jobs);
        uint64_t bytes = 0;
        for (size_t i = 0; i < b.count; i++)
            bytes += (uint64_t)b.jobs[i].size;
        stor_progress_batch(b.count, bytes);
        run_workers(&b);
        code = finish(&b, start);
    }
    free_batch(&b);
    return code;
}

int stor_cmd_get_tree(struct stor_session *s, const char *remote, const char *dir)
{
    struct batch b;
    int code = init_batch(&b, s, "get", dir, remote);
    /* The target itself is the user's path (links followed); below it nothing is. */
    if (code == STOR_EXIT_OK && !s->dry_run && stor_make_directories(dir) != 0) {
        stor_error_line("cannot create %s: %s", dir, strerror(errno));
        code = stor_errno_exit_code(errno);
    }
    if (code == STOR_EXIT_OK && (b.top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 &&
        !(s->dry_run && errno == ENOENT)) {
        stor_error_line("cannot open %s: %s", dir, strerror(errno));
        code = stor_errno_exit_code(errno);
    }
    if (code == STOR_EXIT_OK)
        code = list_remote(&b);
    size_t prefix_len = strlen(b.prefix);
    for (size_t i = 0; code == STOR_EXIT_OK && i < b.remote.count; i++) {
        const struct remote_entry *e = &b.remote.items[i];
        if (strncmp(e->key, b.prefix, prefix_len) != 0) {
            char shown[512];
            stor_printable(e->key, shown, sizeof shown);
            stor_error_line("the backend listed '%s', outside %s/%s: nothing fetched", shown, b.bucket, b.prefix);
            code = STOR_EXIT_FAILURE;
            break;
        }
        const char *rel = e->key + prefix_len;
        /* Every directory on the way must pass the filter too, as put -r would not descend. */
        int allowed = 1;
        char parent[PATH_MAX];
        for (const char *slash = strchr(rel, '/'); allowed && slash; slash = strchr(slash + 1, '/')) {
            snprintf(parent, sizeof parent, "%.*s", (int)(slash - rel), rel);
            allowed = stor_filter_allows(s->filter, parent, 1);
        }
        if (allowed && stor_filter_allows(s->filter, rel, 0) &&
            add_job(&b, rel, e->size, e->mtime_ms, e->sha1) != 0)
            code = STOR_EXIT_FAILURE;
    }
    if (code == STOR_EXIT_OK) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        uint64_t bytes = 0;
        for (size_t i = 0; i < b.count; i++)
            bytes += (uint64_t)(b.jobs[i].size > 0 ? b.jobs[i].size : 0);
        stor_progress_batch(b.count, bytes);
        run_workers(&b);
        code = finish(&b, start);
    }
    free_batch(&b);
    return code;
}
