/* transfer.c — directory transfers: put -r and get -r with --transfers workers calling the
 * backend concurrently, --include/--exclude, --skip-existing, --dry-run, and a summary. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "host.h"

/* One file to move: its path relative to the local directory, which is also its key suffix. */
struct job {
    char *rel;
    int64_t size, mtime_ms;
    const char *sha1; /* remote SHA-1 (get -r), may be NULL */
    int failed;
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
    size_t stored, skipped, failed;
    uint64_t bytes;
    int first_failure_code;
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
    b->jobs[b->count++] = (struct job){copy, size, mtime_ms, sha1, 0};
    return 0;
}

static int64_t mtime_ms_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Walks dir/rel depth first; the filter sees each name before anything is stat'ed, so excluded
 * directories are never entered. */
static int scan_local(struct batch *b, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", b->dir, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) {
        stor_error_line("cannot read directory %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= (int)sizeof child)
            continue;
        int is_dir = de->d_type == DT_DIR, is_file = de->d_type == DT_REG;
        struct stat st;
        if (!is_dir && !is_file) {
            /* Symbolic links and unknown types: look once. Links to files are followed; links
             * to directories are not, so a loop cannot hold the walk. */
            struct stat lst;
            if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 ||
                fstatat(dirfd(d), de->d_name, &lst, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            is_file = S_ISREG(st.st_mode);
            is_dir = S_ISDIR(st.st_mode) && !S_ISLNK(lst.st_mode);
        }
        if ((!is_dir && !is_file) || !stor_filter_allows(b->s->filter, child, is_dir))
            continue;
        if (is_dir)
            rc = scan_local(b, child);
        else if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode)) {
            /* Relative to the open directory: one name to look up, not the whole path. */
            rc = add_job(b, child, st.st_size, mtime_ms_of(&st), NULL);
            if (b->count % 1000 == 0)
                stor_progress_scan(b->count); /* a large tree takes a while to walk */
        }
    }
    closedir(d);
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

static int sha1_of_file(const char *path, char hex[41])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    close(fd);
    unsigned char digest[EVP_MAX_MD_SIZE];
    EVP_DigestFinal_ex(ctx, digest, NULL);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return n < 0 ? -1 : 0;
}

/* Same size and modification time, or same size and SHA-1: the copy there is this file. */
static int same_content(const char *local_path, int64_t local_size, int64_t local_mtime,
                        int64_t size, int64_t mtime_ms, const char *sha1)
{
    if (size != local_size)
        return 0;
    if (mtime_ms >= 0 && mtime_ms == local_mtime)
        return 1;
    char hex[41];
    return sha1 && strlen(sha1) == 40 && sha1_of_file(local_path, hex) == 0 && strcmp(hex, sha1) == 0;
}

/* A remote name becomes a local path only if it stays inside the target directory. */
static const char *unsafe_relative_path(const char *rel)
{
    if (!rel[0])
        return "empty name";
    if (rel[0] == '/')
        return "absolute path";
    for (const char *p = rel; *p; p++)
        if ((unsigned char)*p < 32 || *p == 127 || *p == '\\')
            return "control character or backslash";
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

enum outcome { DONE, SKIPPED, FAILED };

static const char *outcome_word(const struct batch *b, enum outcome outcome)
{
    int put = strcmp(b->verb, "put") == 0;
    if (outcome == FAILED)
        return "failed";
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
    } else {
        b->stored++;
        b->bytes += (uint64_t)(job->size > 0 ? job->size : 0);
    }
    char key[4096];
    snprintf(key, sizeof key, "%s%s", b->prefix, job->rel);
    if (b->s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "bucket", json_object_new_string(b->bucket));
        json_object_object_add(j, "key", json_object_new_string(key));
        json_object_object_add(j, "local", json_object_new_string(job->rel));
        json_object_object_add(j, "status", json_object_new_string(state));
        json_object_object_add(j, "size", json_object_new_int64(job->size));
        if (r && r->sha1[0])
            json_object_object_add(j, "sha1", json_object_new_string(r->sha1));
        if (r && r->id[0])
            json_object_object_add(j, "id", json_object_new_string(r->id));
        if (error)
            json_object_object_add(j, "error", json_object_new_string(error));
        stor_print_json(j);
        json_object_put(j);
    } else if (error) {
        int shown = strlen(job->rel) > 200 ? 197 : (int)strlen(job->rel);
        stor_error_line("%s %.*s%s: %s", b->verb, shown, job->rel,
                        shown < (int)strlen(job->rel) ? "..." : "", error);
    } else if (b->s->verbose || b->s->dry_run) {
        char shown[4096];
        stor_printable(key, shown, sizeof shown);
        stor_host_progress_done();
        printf("%s %s/%s (%lld bytes)\n", state, b->bucket, shown, (long long)job->size);
    }
    pthread_mutex_unlock(&b->lock);
    stor_progress_file_done(key, (uint64_t)(job->size > 0 ? job->size : 0));
}

static void put_one(struct batch *b, struct job *job)
{
    char path[PATH_MAX], key[4096];
    snprintf(path, sizeof path, "%s/%s", b->dir, job->rel);
    snprintf(key, sizeof key, "%s%s", b->prefix, job->rel);
    if (b->s->skip_existing) {
        const struct remote_entry *e = find_remote(b, key);
        if (e && same_content(path, job->size, job->mtime_ms, e->size, e->mtime_ms, e->sha1)) {
            report_file(b, job, SKIPPED, NULL, NULL, 0);
            return;
        }
    }
    if (b->s->dry_run) {
        report_file(b, job, DONE, NULL, NULL, 0);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char message[512];
        snprintf(message, sizeof message, "cannot open: %s", strerror(errno));
        report_file(b, job, FAILED, NULL, message, stor_errno_exit_code(errno));
        return;
    }
    struct stor_result r;
    struct stor_error err = {""};
    enum stor_status status = stor_put_fd(b->s, b->bucket, key, fd, &r, &err);
    close(fd);
    if (status == STOR_OK)
        report_file(b, job, DONE, &r, NULL, 0);
    else
        report_file(b, job, FAILED, NULL, err.message, stor_exit_code(status));
    json_object_put(r.json);
}

static int make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        int e = errno;
        *p = '/';
        if (rc != 0 && e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    return 0;
}

static void get_one(struct batch *b, struct job *job)
{
    char path[PATH_MAX], key[4096];
    const char *unsafe = unsafe_relative_path(job->rel);
    if (unsafe) {
        char message[512];
        snprintf(message, sizeof message, "refused: the name would escape %s (%s)", b->dir, unsafe);
        report_file(b, job, FAILED, NULL, message, STOR_EXIT_USAGE);
        return;
    }
    snprintf(path, sizeof path, "%s/%s", b->dir, job->rel);
    snprintf(key, sizeof key, "%s%s", b->prefix, job->rel);
    struct stat st;
    if (b->s->skip_existing && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        same_content(path, st.st_size, mtime_ms_of(&st), job->size, job->mtime_ms, job->sha1)) {
        report_file(b, job, SKIPPED, NULL, NULL, 0);
        return;
    }
    if (b->s->dry_run) {
        report_file(b, job, DONE, NULL, NULL, 0);
        return;
    }
    struct stor_result r;
    struct stor_error err = {""};
    enum stor_status status;
    if (make_parents(path) != 0)
        status = stor_fail(&err, STOR_EIO, "cannot create the directories of %s: %s", path,
                           strerror(errno));
    else
        status = stor_get_to_path(b->s, b->bucket, key, path, &r, &err);
    if (status == STOR_OK) {
        report_file(b, job, DONE, &r, NULL, 0);
        json_object_put(r.json);
    } else {
        report_file(b, job, FAILED, NULL, err.message, stor_exit_code(status));
    }
}

static void *worker(void *arg)
{
    struct batch *b = arg;
    const struct stor_host *host = b->s->host;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->count && !host->cancelled(host) ? b->next++ : b->count;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->count)
            return NULL;
        if (strcmp(b->verb, "put") == 0)
            put_one(b, &b->jobs[i]);
        else
            get_one(b, &b->jobs[i]);
    }
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
        printf("%s -r: %zu files: %zu %s, %zu skipped, %zu failed; %.1f MiB in %.2f s (%.1f MiB/s); "
               "%llu retries%s\n",
               b->verb, b->count, b->stored, done_word, b->skipped, b->failed,
               (double)b->bytes / 1048576.0, seconds,
               seconds > 0 ? (double)b->bytes / 1048576.0 / seconds : 0.0,
               (unsigned long long)stor_host_counter("retries"), cancelled ? " (interrupted)" : "");
    }
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
    if (b->failed)
        return b->failed == b->count ? b->first_failure_code : STOR_EXIT_PARTIAL;
    return STOR_EXIT_OK;
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
    struct stat st;
    if (code == STOR_EXIT_OK && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        stor_error_line("%s is not a directory", dir);
        code = errno == ENOENT ? STOR_EXIT_NOT_FOUND : STOR_EXIT_USAGE;
    }
    if (code == STOR_EXIT_OK && scan_local(&b, "") != 0)
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
    char top[PATH_MAX];
    snprintf(top, sizeof top, "%s/", dir);
    if (code == STOR_EXIT_OK && (make_parents(top) != 0 || mkdir(dir, 0777) != 0) && errno != EEXIST) {
        stor_error_line("cannot create %s: %s", dir, strerror(errno));
        code = stor_errno_exit_code(errno);
    }
    if (code == STOR_EXIT_OK)
        code = list_remote(&b);
    size_t prefix_len = strlen(b.prefix);
    for (size_t i = 0; code == STOR_EXIT_OK && i < b.remote.count; i++) {
        const struct remote_entry *e = &b.remote.items[i];
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
