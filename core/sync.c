/* sync.c — stor sync and stor check: a local directory and BUCKET/PREFIX walked as two streams in
 * ascending byte order, merged in one pass; transfers go to workers through a bounded queue and
 * deletes come last, only after every transfer succeeded. */
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
#include "copy.h"
#include "download.h"
#include "host.h"
#include "text.h"
#include "tree.h"
#include "stream.h"
#include "walk.h"

/* --- the run --------------------------------------------------------------------------------- */

enum action_kind { ACTION_COPY, ACTION_UPDATE, ACTION_VERIFY, ACTION_DELETE };

/* One file to move (or, with ACTION_VERIFY, to hash first: same size, --checksum). */
struct action {
    enum action_kind kind;
    char *rel;
    int64_t size, mtime_ms; /* the source's */
    dev_t dev;              /* the local file as walked (the source up, the destination down) */
    ino_t ino;
    char sha1[41];          /* the remote SHA-1, for ACTION_VERIFY */
    struct stor_copy_source *known; /* across: what the source's listing said, when enough */
};

struct doomed {
    char *rel;
    int64_t size;
    dev_t dev;
    ino_t ino;
};

struct sync_run {
    struct stor_session *s;
    int up;     /* local to remote */
    int across; /* remote to remote: the destination is dst's dst_bucket/dst_prefix */
    int check;  /* stor check: compare only */
    const char *local;
    char bucket[256];  /* the remote that is listed: the destination up, else the source */
    char prefix[2048]; /* "" or ending in '/' */
    size_t prefix_len;
    struct stor_session *dst; /* across: the destination's session (s itself in one place) */
    char dst_bucket[256], dst_prefix[2048];
    int top; /* the local directory, or -1 when it does not exist (a dry run, an empty source) */
    /* the side pulled in step with the listing: the local walk, or across the destination's
     * listing */
    struct stor_walker walker;
    struct stor_stream stream;
    char *last_key;   /* the listing's previous key, for the order check */
    const struct stor_object *listed; /* across: the source's object on_remote is merging */
    int refused;      /* the listing broke a rule: stop, delete nothing */
    size_t source_files;
    int no_sha1_said;
    /* the bounded queue between the listing and the workers */
    pthread_mutex_t lock; /* guards the queue, the counters and stdout */
    pthread_cond_t can_push, can_pop;
    struct action **queue;
    size_t queue_capacity, queue_head, queue_count;
    int closed;
    /* what happened */
    size_t copied, updated, deleted, unchanged, failed, interrupted, missing, extra;
    uint64_t bytes;
    /* what DST has and SRC lacks, deleted last (with --delete) */
    struct doomed *doomed;
    size_t doomed_count, doomed_capacity;
};

static const char *action_word(const struct sync_run *r, enum action_kind kind, int done)
{
    if (r->check)
        return kind == ACTION_COPY ? "missing" : kind == ACTION_DELETE ? "extra" : "differs";
    if (!done)
        return kind == ACTION_COPY ? "would copy" : kind == ACTION_DELETE ? "would delete" : "would update";
    return kind == ACTION_COPY ? "copied" : kind == ACTION_DELETE ? "deleted" : "updated";
}

/* What the user sees for rel: the destination's name. */
static void destination_name(const struct sync_run *r, int remote, const char *rel, char *out,
                             size_t size)
{
    char whole[8192];
    if (r->across)
        snprintf(whole, sizeof whole, "%s/%s%s", r->dst_bucket, r->dst_prefix, rel);
    else if (remote)
        snprintf(whole, sizeof whole, "%s/%s%s", r->bucket, r->prefix, rel);
    else
        snprintf(whole, sizeof whole, "%s%s%s", r->local,
                 r->local[0] && r->local[strlen(r->local) - 1] == '/' ? "" : "/", rel);
    stor_printable(whole, out, size);
}

/* One action's end: counted, and shown with -v, --dry-run, in check, or as JSON; an error is a
 * `stor:` line. done: it happened (else it would, in a dry run or check). */
static void report(struct sync_run *r, enum action_kind kind, const char *rel, int64_t size,
                   int done, const char *error)
{
    pthread_mutex_lock(&r->lock);
    const char *word = error ? "failed" : action_word(r, kind, done);
    if (error) {
        r->failed++;
    } else if (r->check) {
        if (kind == ACTION_COPY)
            r->missing++;
        else if (kind == ACTION_DELETE)
            r->extra++;
        else
            r->updated++;
    } else if (kind == ACTION_COPY) {
        r->copied++;
    } else if (kind == ACTION_DELETE) {
        r->deleted++;
    } else {
        r->updated++;
    }
    if (done && !error && kind != ACTION_DELETE)
        r->bytes += (uint64_t)(size > 0 ? size : 0);
    char shown[8192];
    destination_name(r, r->up, rel, shown, sizeof shown);
    if (r->s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "action", json_object_new_string(
            kind == ACTION_COPY ? "copy" : kind == ACTION_DELETE ? "delete" : "update"));
        json_object_object_add(j, "status", json_object_new_string(word));
        json_object_object_add(j, "path", stor_json_text(rel));
        json_object_object_add(j, "bucket", json_object_new_string(r->across ? r->dst_bucket : r->bucket));
        char key[4096];
        snprintf(key, sizeof key, "%s%s", r->across ? r->dst_prefix : r->prefix, rel);
        json_object_object_add(j, "key", stor_json_text(key));
        if (r->local)
            json_object_object_add(j, "local", stor_json_text(r->local));
        json_object_object_add(j, "size", json_object_new_int64(size));
        if (error)
            json_object_object_add(j, "error", stor_json_text(error));
        stor_print_json(j);
        json_object_put(j);
    } else if (error) {
        stor_error_line("%s %s: %s", r->check ? "check" : "sync", shown, error);
    } else if (r->s->verbose || r->s->dry_run || r->check) {
        stor_host_progress_done();
        if (!r->s->quiet || r->check)
            printf("%s %s\n", word, shown);
    }
    pthread_mutex_unlock(&r->lock);
    if (done)
        stor_progress_file_done(rel, (uint64_t)(size > 0 ? size : 0));
}

static void count_unchanged(struct sync_run *r)
{
    pthread_mutex_lock(&r->lock);
    r->unchanged++;
    pthread_mutex_unlock(&r->lock);
}

/* Whether the local file open on fd holds the object of that SHA-1 (--checksum). */
static int same_sha1(int fd, const char *sha1)
{
    char hex[41];
    return stor_sha1_of_file(fd, hex) == 0 && strcmp(hex, sha1) == 0;
}

/* A transfer that ended: reported, or counted as interrupted by the user's signal. */
static void transferred(struct sync_run *r, const struct action *a, enum stor_status status,
                        const struct stor_error *err)
{
    if (status == STOR_ECANCELLED) {
        pthread_mutex_lock(&r->lock);
        r->interrupted++;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    report(r, a->kind, a->rel, a->size, 1, status == STOR_OK ? NULL : err->message);
}

static void sync_up(struct sync_run *r, struct action *a)
{
    char key[4096], why[512], problem[128];
    snprintf(key, sizeof key, "%s%s", r->prefix, a->rel);
    if (stor_key_problem(a->rel, 0, problem, sizeof problem)) {
        snprintf(why, sizeof why, "the name %s", problem);
        report(r, a->kind, a->rel, a->size, 0, why);
        return;
    }
    int fd = stor_open_walked_file(r->top, a->rel, 0, a->dev, a->ino, why, sizeof why);
    if (fd < 0) {
        report(r, a->kind, a->rel, a->size, 0, why);
        return;
    }
    if (a->kind == ACTION_VERIFY) {
        if (same_sha1(fd, a->sha1)) {
            close(fd);
            count_unchanged(r);
            return;
        }
        a->kind = ACTION_UPDATE;
    }
    if (r->s->dry_run || r->check) {
        close(fd);
        report(r, a->kind, a->rel, a->size, 0, NULL);
        return;
    }
    struct stor_result result;
    struct stor_error err = {""};
    enum stor_status status = stor_put_fd(r->s, r->bucket, key, fd, &result, &err);
    close(fd);
    json_object_put(result.json);
    transferred(r, a, status, &err);
}

static void sync_down(struct sync_run *r, struct action *a, struct stor_dir_cursor *cursor)
{
    char key[4096], why[512];
    snprintf(key, sizeof key, "%s%s", r->prefix, a->rel);
    const char *unsafe = stor_unsafe_relative_path(a->rel);
    if (unsafe) {
        snprintf(why, sizeof why, "refused: the name would escape %s (%s)", r->local, unsafe);
        report(r, a->kind, a->rel, a->size, 0, why);
        return;
    }
    if (a->kind == ACTION_VERIFY) {
        int fd = stor_open_walked_file(r->top, a->rel, 0, a->dev, a->ino, why, sizeof why);
        if (fd < 0) {
            report(r, ACTION_UPDATE, a->rel, a->size, 0, why);
            return;
        }
        int same = same_sha1(fd, a->sha1);
        close(fd);
        if (same) {
            count_unchanged(r);
            return;
        }
        a->kind = ACTION_UPDATE;
    }
    if (r->s->dry_run || r->check) {
        report(r, a->kind, a->rel, a->size, 0, NULL);
        return;
    }
    /* Directories are made and entered one by one beneath the target, never through a link. */
    const char *name;
    int dir = stor_dir_cursor_enter(cursor, a->rel, &name);
    if (dir < 0) {
        snprintf(why, sizeof why, "cannot create its directory: %s",
                 errno == ELOOP || errno == ENOTDIR ? "a symbolic link or a file is in the way"
                                                    : strerror(errno));
        report(r, a->kind, a->rel, a->size, 0, why);
        return;
    }
    /* A link, a directory, a FIFO or a device in the way is refused by stor_get_at (the session
     * asks for regular files only) and left as it is. */
    struct stor_result result;
    struct stor_error err = {""};
    int linked;
    enum stor_status status =
        stor_get_listed_at(r->s, r->bucket, key, dir, name, a->size, &linked, &result, &err);
    cursor->dirty |= linked;
    if (status == STOR_OK)
        json_object_put(result.json);
    transferred(r, a, status, &err);
}

/* Between two remotes: server-side where one place can copy, else streamed through stor. */
static void sync_across(struct sync_run *r, struct action *a)
{
    char from[4096], to[4096], why[512], problem[128];
    snprintf(from, sizeof from, "%s%s", r->prefix, a->rel);
    snprintf(to, sizeof to, "%s%s", r->dst_prefix, a->rel);
    if (stor_key_problem(a->rel, 0, problem, sizeof problem)) {
        snprintf(why, sizeof why, "the name %s", problem);
        report(r, a->kind, a->rel, a->size, 0, why);
        return;
    }
    struct stor_result result = {.abi_version = r->dst->plugin->table.abi_version};
    struct stor_error err = {""};
    /* Files run in parallel already: each comes in one get, which bounds memory to the files. */
    enum stor_status status = stor_copy_object(r->s, r->dst, r->bucket, from, a->known, 1,
                                               r->dst_bucket, to, &result, &err);
    if (status == STOR_OK)
        json_object_put(result.json);
    transferred(r, a, status, &err);
}

static void free_action(struct action *a)
{
    if (a) {
        free(a->rel);
        if (a->known)
            stor_copy_source_free(a->known);
        free(a->known);
    }
    free(a);
}

static void *worker(void *arg)
{
    struct sync_run *r = arg;
    struct stor_dir_cursor cursor;
    stor_dir_cursor_init(&cursor, r->top);
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->queue_count == 0 && !r->closed)
            pthread_cond_wait(&r->can_pop, &r->lock);
        if (r->queue_count == 0) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        struct action *a = r->queue[r->queue_head];
        r->queue_head = (r->queue_head + 1) % r->queue_capacity;
        r->queue_count--;
        pthread_cond_signal(&r->can_push);
        int cancelled = r->s->host->cancelled(r->s->host);
        if (cancelled)
            r->interrupted++;
        pthread_mutex_unlock(&r->lock);
        if (cancelled)
            ;
        else if (r->up)
            sync_up(r, a);
        else if (r->across)
            sync_across(r, a);
        else
            sync_down(r, a, &cursor);
        free_action(a);
    }
    stor_dir_cursor_leave(&cursor);
    if (cursor.sync_errno) {
        char why[600];
        snprintf(why, sizeof why, "cannot sync the directory (its new files may not survive a "
                 "crash): %s", strerror(cursor.sync_errno));
        report(r, ACTION_UPDATE, cursor.sync_failed, 0, 1, why); /* a failure: nothing deleted */
    }
    return NULL;
}

/* Hands a to the workers, waiting while the queue is full: the listing goes no faster than the
 * transfers, so memory stays bounded by the queue. */
static int enqueue(struct sync_run *r, enum action_kind kind, const char *rel, int64_t size,
                   int64_t mtime_ms, dev_t dev, ino_t ino, const char *sha1)
{
    struct action *a = calloc(1, sizeof *a);
    if (!a || !(a->rel = strdup(rel))) {
        free(a);
        stor_error_line("out of memory");
        return -1;
    }
    a->kind = kind;
    a->size = size;
    a->mtime_ms = mtime_ms;
    a->dev = dev;
    a->ino = ino;
    if (sha1)
        snprintf(a->sha1, sizeof a->sha1, "%s", sha1);
    /* Across, a listing that says all the copy keeps spares a stat of the source per file. */
    if (r->across && r->listed && kind != ACTION_VERIFY &&
        stor_copy_listing_suffices(r->s, r->dst, r->listed) &&
        (!(a->known = calloc(1, sizeof *a->known)) ||
         stor_copy_source_keep(a->known, r->s->plugin->table.abi_version, r->listed) != 0)) {
        free_action(a);
        stor_error_line("out of memory");
        return -1;
    }
    pthread_mutex_lock(&r->lock);
    while (r->queue_count == r->queue_capacity)
        pthread_cond_wait(&r->can_push, &r->lock);
    r->queue[(r->queue_head + r->queue_count) % r->queue_capacity] = a;
    r->queue_count++;
    pthread_cond_signal(&r->can_pop);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* The source has rel and the destination does not. */
static int source_only(struct sync_run *r, const char *rel, int64_t size, int64_t mtime_ms,
                       dev_t dev, ino_t ino)
{
    r->source_files++;
    if (r->check || r->s->dry_run) {
        report(r, ACTION_COPY, rel, size, 0, NULL);
        return 0;
    }
    return enqueue(r, ACTION_COPY, rel, size, mtime_ms, dev, ino, NULL);
}

/* The destination has rel and the source does not: with --delete it goes, last. */
static int destination_only(struct sync_run *r, const char *rel, int64_t size, dev_t dev, ino_t ino)
{
    if (r->check) {
        report(r, ACTION_DELETE, rel, size, 0, NULL);
        return 0;
    }
    if (!r->s->delete_extra)
        return 0;
    if (r->doomed_count == r->doomed_capacity) {
        size_t capacity = r->doomed_capacity ? r->doomed_capacity * 2 : 64;
        struct doomed *grown = realloc(r->doomed, capacity * sizeof *grown);
        if (!grown)
            return -1;
        r->doomed = grown;
        r->doomed_capacity = capacity;
    }
    char *copy = strdup(rel);
    if (!copy)
        return -1;
    r->doomed[r->doomed_count++] = (struct doomed){copy, size, dev, ino};
    return 0;
}

/* Both sides have rel: by size, then (by default) modification time, or --checksum's SHA-1.
 * other is the side pulled in step: the local file, or across the destination's object. */
static int both_sides(struct sync_run *r, const struct stor_entry *other,
                      const struct stor_object *o)
{
    r->source_files++;
    int64_t size = r->up ? other->size : o->size, mtime_ms = r->up ? other->mtime_ms : o->mtime_ms;
    int differ = other->size != o->size;
    /* Across, both SHA-1s come with the listings: nothing is read to compare them. */
    int sha1 = o->sha1 && strlen(o->sha1) == 40 && (!r->across || other->sha1[0]);
    if (!differ && r->s->checksum && sha1 && !r->across)
        return enqueue(r, ACTION_VERIFY, other->rel, size, mtime_ms, other->dev, other->ino, o->sha1);
    if (!differ && r->s->checksum && sha1) {
        differ = strcmp(o->sha1, other->sha1) != 0;
    } else if (!differ && r->s->checksum && !r->no_sha1_said) {
        r->no_sha1_said = 1;
        stor_error_line("--checksum: %s has no SHA-1 at the backend: such files are compared by "
                        "size and modification time", other->rel);
    }
    if (!differ && !r->s->size_only && !(r->s->checksum && sha1))
        differ = o->mtime_ms < 0 || o->mtime_ms != other->mtime_ms;
    if (!differ) {
        count_unchanged(r);
        return 0;
    }
    if (r->check || r->s->dry_run) {
        report(r, ACTION_UPDATE, other->rel, size, 0, NULL);
        return 0;
    }
    return enqueue(r, ACTION_UPDATE, other->rel, size, mtime_ms, other->dev, other->ino, NULL);
}

/* The side pulled in step with the listing: its current file, or NULL at its end. */
static const struct stor_entry *pulled(const struct sync_run *r)
{
    if (r->across)
        return r->stream.have ? &r->stream.current : NULL;
    return r->walker.have ? &r->walker.file : NULL;
}

static void pull_next(struct sync_run *r)
{
    if (r->across)
        stor_stream_next(&r->stream);
    else
        stor_walker_next(&r->walker);
}

/* A file of the pulled side that the listing does not have. */
static int pulled_only(struct sync_run *r, const struct stor_entry *f)
{
    return r->up ? source_only(r, f->rel, f->size, f->mtime_ms, f->dev, f->ino)
                 : destination_only(r, f->rel, f->size, f->dev, f->ino);
}

/* The listing broke a rule (a name outside the prefix, out of order): believe none of it. */
static int refuse(struct sync_run *r, const char *why)
{
    stor_error_line("the backend listed %s: refused, nothing %s", why,
                    r->check ? "compared further" : "deleted");
    r->refused = 1;
    return -1;
}

/* The merge, driven by the remote listing: every local name before this key is local only. */
static int on_remote(void *context, const struct stor_object *o)
{
    struct sync_run *r = context;
    const struct stor_session *s = r->s;
    if (s->host->cancelled(s->host))
        return -1;
    if (o->is_prefix || (s->plugin->table.abi_version >= 2 && o->is_hidden))
        return 0;
    if (!o->key || strncmp(o->key, r->prefix, r->prefix_len) != 0) {
        char why[4096], shown[1024];
        stor_printable(o->key ? o->key : "(no name)", shown, sizeof shown);
        snprintf(why, sizeof why, "'%s', outside the prefix %s/%s", shown, r->bucket, r->prefix);
        return refuse(r, why);
    }
    if (r->last_key && strcmp(o->key, r->last_key) <= 0) {
        char why[4096], shown[1024], previous[1024];
        stor_printable(o->key, shown, sizeof shown);
        stor_printable(r->last_key, previous, sizeof previous);
        snprintf(why, sizeof why, "'%s' after '%s': not in ascending order", shown, previous);
        return refuse(r, why);
    }
    char *key = strdup(o->key);
    if (!key)
        return -1;
    free(r->last_key);
    r->last_key = key;
    const char *rel = o->key + r->prefix_len;
    if (!stor_filter_allows_listed(s->filter, rel))
        return 0;
    const struct stor_entry *e;
    while ((e = pulled(r)) && strcmp(e->rel, rel) < 0) {
        if (pulled_only(r, e) != 0)
            return -1;
        pull_next(r);
    }
    if (r->across && r->stream.refused)
        return -1; /* the destination's listing broke a rule: said at the end */
    int rc;
    r->listed = o;
    if (e && strcmp(e->rel, rel) == 0) {
        rc = both_sides(r, e, o);
        pull_next(r);
    } else if (r->up) {
        rc = destination_only(r, rel, o->size, 0, 0);
    } else {
        rc = source_only(r, rel, o->size, o->mtime_ms, 0, 0);
    }
    r->listed = NULL;
    return rc;
}

/* --- deletes, last ----------------------------------------------------------------------------- */

static void delete_one(struct sync_run *r, const struct doomed *d)
{
    if (r->s->dry_run) {
        report(r, ACTION_DELETE, d->rel, d->size, 0, NULL);
        return;
    }
    struct stor_error err = {""};
    enum stor_status status;
    if (r->up || r->across) {
        const struct stor_session *to = r->across ? r->dst : r->s;
        const char *bucket = r->across ? r->dst_bucket : r->bucket;
        char key[4096];
        snprintf(key, sizeof key, "%s%s", r->across ? r->dst_prefix : r->prefix, d->rel);
        const struct stor_backend *t = &to->plugin->table;
        /* Where the backend keeps versions, remove hides (the versions stay); --hard deletes
         * every version for good. */
        if (r->s->hard && t->remove_ex && (to->plugin->capabilities & STOR_CAP_VERSIONS)) {
            struct stor_remove_options options = {.struct_size = sizeof options,
                                                  .flags = STOR_REMOVE_ALL_VERSIONS};
            status = t->remove_ex(to->instance, bucket, key, &options, &err);
        } else if (t->remove) {
            status = t->remove(to->instance, bucket, key, &err);
        } else {
            status = stor_fail(&err, STOR_EUNSUPPORTED, "backend %s does not remove objects", t->name);
        }
        if (status == STOR_ENOTFOUND)
            status = STOR_OK; /* gone already: what --delete wanted */
    } else {
        /* Unlinked beneath the target, never through a link, and only the file the walk saw. */
        const char *name;
        int dir = stor_open_parent_beneath(r->top, d->rel, 0, 0, &name);
        struct stat st;
        status = STOR_OK;
        if (dir < 0)
            status = stor_fail(&err, STOR_EIO, "cannot open its directory: %s", strerror(errno));
        else if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            status = errno == ENOENT ? STOR_OK : stor_fail(&err, STOR_EIO, "%s", strerror(errno));
        else if (!S_ISREG(st.st_mode) || st.st_dev != d->dev || st.st_ino != d->ino)
            status = stor_fail(&err, STOR_EIO, "it was replaced since the walk: left as it is");
        else if (unlinkat(dir, name, 0) != 0 && errno != ENOENT)
            status = stor_fail(&err, STOR_EIO, "cannot delete: %s", strerror(errno));
        if (dir >= 0)
            close(dir);
    }
    report(r, ACTION_DELETE, d->rel, d->size, 1, status == STOR_OK ? NULL : err.message);
}

struct remote_deletes {
    struct sync_run *r;
    char **keys;
};

static void deleted_remote(void *context, size_t index, enum stor_status status, const char *message)
{
    struct remote_deletes *d = context;
    const struct doomed *doomed = &d->r->doomed[index];
    /* gone already: what --delete wanted */
    int failed = status != STOR_OK && status != STOR_ENOTFOUND;
    report(d->r, ACTION_DELETE, doomed->rel, doomed->size, 1,
           failed ? (message ? message : "failed") : NULL);
}

/* The doomed objects of a remote target, removed as remove does each (in batches where the
 * backend takes them: stor_remove_keys). */
static void delete_remote(struct sync_run *r)
{
    const struct stor_session *to = r->across ? r->dst : r->s;
    const char *bucket = r->across ? r->dst_bucket : r->bucket;
    const char *prefix = r->across ? r->dst_prefix : r->prefix;
    struct remote_deletes d = {r, calloc(r->doomed_count ? r->doomed_count : 1, sizeof(char *))};
    size_t ready = 0;
    while (d.keys && ready < r->doomed_count &&
           asprintf(&d.keys[ready], "%s%s", prefix, r->doomed[ready].rel) >= 0)
        ready++;
    if (!d.keys || ready < r->doomed_count) {
        for (size_t i = 0; i < r->doomed_count && !r->s->host->cancelled(r->s->host); i++)
            delete_one(r, &r->doomed[i]); /* no memory for the batch: one by one */
    } else {
        stor_remove_keys(to, bucket, (const char *const *)d.keys, r->doomed_count,
                         deleted_remote, &d);
    }
    for (size_t i = 0; d.keys && i < ready; i++)
        free(d.keys[i]);
    free(d.keys);
}

/* --- the command -------------------------------------------------------------------------------- */

/* BUCKET[/PREFIX] into bucket and a prefix that is "" or ends in '/'. */
static int split_place(const char *remote, char *bucket, size_t bucket_size, char *prefix,
                       size_t prefix_size)
{
    const char *given;
    int code = stor_split_remote(remote, bucket, bucket_size, &given, 0, "BUCKET[/PREFIX]");
    if (code != STOR_EXIT_OK)
        return code;
    size_t len = strlen(given);
    if (len + 2 > prefix_size) {
        stor_error_line("prefix too long");
        return STOR_EXIT_USAGE;
    }
    snprintf(prefix, prefix_size, "%s%s", given, len && given[len - 1] != '/' ? "/" : "");
    return STOR_EXIT_OK;
}

static int split_arguments(struct sync_run *r, const char *src, const char *dst, const char *name)
{
    /* Which argument is a local directory, the host decided with the places (a named remote,
     * b2:bucket, is remote whatever the directory holds). */
    int src_local = (r->s->local_args & 1) != 0, dst_local = (r->s->local_args & 2) != 0;
    if (src_local && dst_local) {
        stor_error_line("%s needs a remote side: both %s and %s are local directories (a bucket "
                        "of the local backend is local:BUCKET) (see stor %s --help)", name, src,
                        dst, name);
        return STOR_EXIT_USAGE;
    }
    r->up = src_local;
    r->across = !src_local && !dst_local;
    r->local = src_local ? src : dst_local ? dst : NULL;
    /* The remote that is listed: the destination up, else the source (across, the destination
     * is pulled in step). */
    int code = split_place(r->up ? dst : src, r->bucket, sizeof r->bucket, r->prefix, sizeof r->prefix);
    r->prefix_len = strlen(r->prefix);
    if (code != STOR_EXIT_OK || !r->across)
        return code;
    r->dst = r->s->target ? r->s->target : r->s;
    code = split_place(dst, r->dst_bucket, sizeof r->dst_bucket, r->dst_prefix, sizeof r->dst_prefix);
    if (code != STOR_EXIT_OK)
        return code;
    size_t a = strlen(r->prefix), b = strlen(r->dst_prefix);
    if (r->dst == r->s && strcmp(r->bucket, r->dst_bucket) == 0 &&
        strncmp(r->prefix, r->dst_prefix, a < b ? a : b) == 0) {
        stor_error_line("%s: %s and %s overlap (one lies inside the other): refused", name, src, dst);
        return STOR_EXIT_USAGE;
    }
    return STOR_EXIT_OK;
}

struct counters_text {
    char text[512];
    size_t length;
};

static void add_counter_json(void *context, const char *name, uint64_t value)
{
    json_object_object_add(context, name, json_object_new_int64((int64_t)value));
}

static void add_counter_text(void *context, const char *name, uint64_t value)
{
    struct counters_text *c = context;
    int n = snprintf(c->text + c->length, sizeof c->text - c->length, "%s%s %llu",
                     c->length ? ", " : "; backend: ", name, (unsigned long long)value);
    if (n > 0 && (size_t)n < sizeof c->text - c->length)
        c->length += (size_t)n;
}

static void print_summary(struct sync_run *r, double seconds)
{
    stor_host_progress_done();
    if (r->s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "schema", json_object_new_int(1));
        json_object_object_add(j, "summary", json_object_new_string(r->check ? "check" : "sync"));
        json_object_object_add(j, "dryRun", json_object_new_boolean(r->s->dry_run));
        if (r->check) {
            json_object_object_add(j, "identical", json_object_new_int64((int64_t)r->unchanged));
            json_object_object_add(j, "missing", json_object_new_int64((int64_t)r->missing));
            json_object_object_add(j, "extra", json_object_new_int64((int64_t)r->extra));
            json_object_object_add(j, "differing", json_object_new_int64((int64_t)r->updated));
        } else {
            json_object_object_add(j, "copied", json_object_new_int64((int64_t)r->copied));
            json_object_object_add(j, "updated", json_object_new_int64((int64_t)r->updated));
            json_object_object_add(j, "deleted", json_object_new_int64((int64_t)r->deleted));
            json_object_object_add(j, "unchanged", json_object_new_int64((int64_t)r->unchanged));
            json_object_object_add(j, "bytes", json_object_new_int64((int64_t)r->bytes));
        }
        json_object_object_add(j, "failed", json_object_new_int64((int64_t)r->failed));
        json_object_object_add(j, "interrupted", json_object_new_int64((int64_t)r->interrupted));
        char rounded[32];
        snprintf(rounded, sizeof rounded, "%.3f", seconds);
        json_object_object_add(j, "seconds", json_object_new_double_s(seconds, rounded));
        struct json_object *counters = json_object_new_object();
        stor_host_each_counter(add_counter_json, counters); /* API calls by class, retries */
        json_object_object_add(j, "counters", counters);
        stor_print_json(j);
        json_object_put(j);
    } else if (r->check) {
        printf("check: %zu identical, %zu missing, %zu extra, %zu differing%s%s\n", r->unchanged,
               r->missing, r->extra, r->updated, r->failed ? ", could not compare " : "",
               r->failed ? "some" : "");
    } else if (!r->s->quiet) {
        printf("sync%s: %zu copied, %zu updated, %zu deleted, %zu unchanged, %zu failed",
               r->s->dry_run ? " (dry run: nothing changed)" : "", r->copied, r->updated,
               r->deleted, r->unchanged, r->failed);
        if (r->interrupted)
            printf(", %zu interrupted", r->interrupted);
        struct counters_text c = {.length = 0};
        stor_host_each_counter(add_counter_text, &c);
        printf("; %.1f MiB in %.2f s%s\n", (double)r->bytes / 1048576.0, seconds, c.text);
    }
    struct stor_walker *w = &r->walker;
    if (r->up && (w->links || w->specials || w->partials))
        stor_error_line("sync left out %zu symbolic link%s, %zu special file%s and %zu stor partial "
                        "download%s of %s", w->links, w->links == 1 ? "" : "s", w->specials,
                        w->specials == 1 ? "" : "s", w->partials, w->partials == 1 ? "" : "s",
                        r->local);
}

/* The local directory, walked in step with the listing: made first when it is the target; a
 * missing or empty source is refused unless allowed. */
static int open_local_side(struct sync_run *r, int allow_empty)
{
    const struct stor_session *s = r->s;
    int check = r->check;
    int make_target = !r->up && !s->dry_run && !check;
    if (make_target && stor_make_directories(r->local) != 0) {
        stor_error_line("cannot create %s: %s", r->local, strerror(errno));
        return stor_errno_exit_code(errno);
    }
    r->top = open(r->local, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->top < 0 && !(errno == ENOENT && (r->up ? allow_empty : 1))) {
        int e = errno;
        if (r->up && e == ENOENT)
            stor_error_line("the source %s does not exist: refusing to sync from a missing source "
                            "(an unmounted disk?); --allow-empty-source to sync it anyway", r->local);
        else
            stor_error_line("cannot open %s: %s", r->local, strerror(e));
        return r->up && e == ENOENT ? STOR_EXIT_USAGE : stor_errno_exit_code(e);
    }
    if (r->top >= 0 && stor_walker_start(&r->walker, s->filter, r->top) != 0) {
        stor_walker_free(&r->walker);
        close(r->top);
        return STOR_EXIT_FAILURE;
    }
    if (r->up && !r->walker.have && !allow_empty && !r->walker.failed) {
        stor_error_line("the source %s holds no files%s: refusing to sync from an empty source; "
                        "--allow-empty-source to sync it anyway", r->local,
                        s->filter && s->filter->count ? " that pass --include/--exclude" : "");
        stor_walker_free(&r->walker);
        close(r->top);
        return STOR_EXIT_USAGE;
    }
    return STOR_EXIT_OK;
}

static int run_sync(struct stor_session *s, const char *src, const char *dst, int check)
{
    struct sync_run run = {.s = s, .check = check, .top = -1};
    struct sync_run *r = &run;
    const char *name = check ? "check" : "sync";
    int code = split_arguments(r, src, dst, name);
    if (code != STOR_EXIT_OK)
        return code;
    int allow_empty = s->allow_empty_source || check;
    if (r->across && stor_stream_start(&r->stream, r->dst, r->dst_bucket, r->dst_prefix, s->filter) != 0) {
        stor_error_line("cannot start listing the destination");
        return STOR_EXIT_FAILURE;
    }
    if (!r->across && (code = open_local_side(r, allow_empty)) != STOR_EXIT_OK)
        return code;
    const struct stor_plugin *no_sha1 = !(s->plugin->capabilities & STOR_CAP_SHA1) ? s->plugin
                                        : r->across && !(r->dst->plugin->capabilities & STOR_CAP_SHA1)
                                            ? r->dst->plugin
                                            : NULL;
    if (s->checksum && no_sha1) {
        stor_error_line("--checksum: backend %s keeps no SHA-1: comparing by size and modification "
                        "time", no_sha1->table.name);
        r->no_sha1_said = 1;
    }

    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->can_push, NULL);
    pthread_cond_init(&r->can_pop, NULL);
    size_t workers = (size_t)(s->transfers > 0 ? s->transfers : 1);
    if (workers > 256)
        workers = 256;
    r->queue_capacity = workers * 2;
    r->queue = calloc(r->queue_capacity, sizeof *r->queue);
    pthread_t threads[256];
    size_t started = 0;
    while (r->queue && started < workers &&
           pthread_create(&threads[started], NULL, worker, r) == 0)
        started++;
    if (!r->queue || started == 0) {
        stor_error_line("cannot start the transfer threads");
        free(r->queue);
        stor_walker_free(&r->walker);
        if (r->top >= 0)
            close(r->top);
        if (r->across)
            stor_stream_stop(&r->stream);
        return STOR_EXIT_FAILURE;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    stor_progress_batch(0, 0);

    struct stor_error err = {""};
    enum stor_status status = s->plugin->table.list(s->instance, r->bucket, r->prefix,
                                                    STOR_LIST_RECURSIVE, on_remote, r, &err);
    /* No such bucket or prefix: nothing there (an empty source, or a destination to fill). */
    int listed = status == STOR_OK || status == STOR_ENOTFOUND;
    int cancelled = s->host->cancelled(s->host);
    for (const struct stor_entry *e; listed && !cancelled && (e = pulled(r)); pull_next(r)) {
        if (pulled_only(r, e) != 0) {
            listed = 0;
            status = STOR_EINTERNAL;
            break;
        }
    }
    if (r->across) {
        stor_stream_stop(&r->stream); /* ends a listing the merge left early */
        if (r->stream.refused) {
            stor_error_line("the backend listed %s: refused, nothing %s", r->stream.err.message,
                            check ? "compared further" : "deleted");
            r->refused = 1;
        } else if (listed && !cancelled && r->stream.status != STOR_OK) {
            stor_error_line("listing the destination: %s%s", r->stream.err.message,
                            check ? "" : ": nothing deleted");
            code = stor_exit_code(r->stream.status);
        }
    }
    pthread_mutex_lock(&r->lock);
    r->closed = 1;
    pthread_cond_broadcast(&r->can_pop);
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    cancelled = s->host->cancelled(s->host);

    if (r->refused) {
        code = STOR_EXIT_FAILURE;
    } else if (code != STOR_EXIT_OK) {
        /* said above */
    } else if (!listed && status == STOR_ECANCELLED && cancelled) {
        code = STOR_EXIT_CANCELLED;
    } else if (!listed) {
        stor_error_line("%s%s", err.message[0] ? err.message : "the listing failed",
                        check ? "" : ": nothing deleted");
        code = stor_exit_code(status);
    } else if (!r->up && r->source_files == 0 && !allow_empty) {
        stor_error_line("the source %s/%s holds no files%s: refusing to sync from an empty source; "
                        "--allow-empty-source to sync it anyway", r->bucket, r->prefix,
                        s->filter && s->filter->count ? " that pass --include/--exclude" : "");
        code = STOR_EXIT_USAGE;
    }
    if (code == STOR_EXIT_OK && r->walker.failed)
        r->failed++; /* part of the local tree could not be read: not every file is known */
    if (code == STOR_EXIT_OK && cancelled)
        code = STOR_EXIT_CANCELLED;
    if (code == STOR_EXIT_OK && r->doomed_count) {
        if (r->failed) {
            stor_error_line("%zu file%s failed: nothing deleted (%zu would have been)", r->failed,
                            r->failed == 1 ? "" : "s", r->doomed_count);
        } else if (s->max_delete >= 0 && (int64_t)r->doomed_count > s->max_delete) {
            stor_error_line("%zu files to delete, more than --max-delete=%lld: nothing deleted",
                            r->doomed_count, (long long)s->max_delete);
            code = STOR_EXIT_PARTIAL;
        } else if ((r->up || r->across) && !s->dry_run && !s->hard) {
            delete_remote(r);
        } else {
            for (size_t i = 0; i < r->doomed_count && !s->host->cancelled(s->host); i++)
                delete_one(r, &r->doomed[i]);
            if (s->host->cancelled(s->host))
                code = STOR_EXIT_CANCELLED;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    if (code == STOR_EXIT_OK || code == STOR_EXIT_PARTIAL || code == STOR_EXIT_CANCELLED)
        print_summary(r, seconds);
    if (code == STOR_EXIT_OK && (r->failed || r->interrupted))
        code = STOR_EXIT_PARTIAL;
    if (code == STOR_EXIT_OK && check && (r->missing || r->extra || r->updated))
        code = STOR_EXIT_FAILURE;
    if (check && code == STOR_EXIT_FAILURE && (r->refused || !listed))
        code = STOR_EXIT_PARTIAL; /* check: 1 means "they differ"; not knowing is 7 */

    for (size_t i = 0; i < r->doomed_count; i++)
        free(r->doomed[i].rel);
    free(r->doomed);
    free(r->queue);
    free(r->last_key);
    stor_walker_free(&r->walker);
    if (r->top >= 0)
        close(r->top);
    pthread_cond_destroy(&r->can_push);
    pthread_cond_destroy(&r->can_pop);
    pthread_mutex_destroy(&r->lock);
    return code;
}

int stor_cmd_sync(struct stor_session *s, const char *src, const char *dst)
{
    return run_sync(s, src, dst, 0);
}

int stor_cmd_check(struct stor_session *s, const char *src, const char *dst)
{
    return run_sync(s, src, dst, 1);
}
