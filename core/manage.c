/* manage.c — commands that change what is stored without moving local files: rm (one version,
 * every version, a whole prefix), cp and mv (copy.c moves the bytes), cleanup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "copy.h"
#include "host.h"
#include "values.h"

static void report_removed(const struct stor_session *s, const char *verb, const char *bucket,
                           const char *key, const char *version)
{
    if (s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "bucket", json_object_new_string(bucket));
        json_object_object_add(j, "key", json_object_new_string(key));
        if (version)
            json_object_object_add(j, "version", json_object_new_string(version));
        json_object_object_add(j, "status", json_object_new_string(verb));
        stor_print_json(j);
        json_object_put(j);
    } else if (!s->quiet) {
        char shown[2048];
        stor_printable(key, shown, sizeof shown);
        printf("%s %s/%s%s%s\n", verb, bucket, shown, version ? " version " : "", version ? version : "");
    }
}

/* One object: hidden or deleted as the backend's remove does, every version (--hard), or one. */
static enum stor_status remove_one(struct stor_session *s, const char *bucket, const char *key,
                                   struct stor_error *err)
{
    const struct stor_backend *b = &s->plugin->table;
    if (!s->hard && !s->version_id)
        return b->remove(s->instance, bucket, key, err);
    if (!b->remove_ex && s->hard)
        return b->remove(s->instance, bucket, key, err); /* no versions: remove is for good */
    struct stor_remove_options options = {
        .struct_size = sizeof options,
        .version_id = s->version_id,
        .flags = (s->hard ? STOR_REMOVE_ALL_VERSIONS : 0) |
                 (s->bypass_governance ? STOR_REMOVE_BYPASS_GOVERNANCE : 0),
    };
    return b->remove_ex(s->instance, bucket, key, &options, err);
}

static const char *removed_word(const struct stor_session *s)
{
    return s->dry_run ? "would remove" : s->hard ? "deleted" : "removed";
}

int stor_cmd_rm(struct stor_session *s, const char *remote)
{
    char bucket[256];
    const char *key;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &key, !s->recursive,
                                 s->recursive ? "BUCKET[/PREFIX]" : "BUCKET/KEY");
    if (code != STOR_EXIT_OK)
        return code;
    if (!s->plugin->table.remove)
        return stor_report_unsupported(s, "rm");
    if (s->version_id && !s->plugin->table.remove_ex)
        return stor_report_unsupported(s, "rm --version");
    if (s->bypass_governance && !(s->hard || s->version_id)) {
        stor_error_line("--bypass-governance deletes locked versions: with --hard or --version only");
        return STOR_EXIT_USAGE;
    }
    if (s->bypass_governance && !(s->plugin->capabilities & STOR_CAP_RETENTION))
        return stor_report_unsupported(s, "rm --bypass-governance");
    if (s->recursive)
        return stor_cmd_rm_tree(s, bucket, key);
    struct stor_error err = {""};
    if (s->dry_run) {
        report_removed(s, removed_word(s), bucket, key, s->version_id);
        return STOR_EXIT_OK;
    }
    enum stor_status status = remove_one(s, bucket, key, &err);
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    report_removed(s, removed_word(s), bucket, key, s->version_id);
    return STOR_EXIT_OK;
}

/* --- rm -r ------------------------------------------------------------------------------------ */

struct key_list {
    char **keys;
    size_t count, capacity;
};

static int collect_key(void *context, const struct stor_object *o)
{
    struct key_list *l = context;
    if (o->is_prefix || (l->count && strcmp(l->keys[l->count - 1], o->key) == 0))
        return 0; /* a version listing names each key once per version, adjacent */
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 256;
        char **grown = realloc(l->keys, capacity * sizeof *grown);
        if (!grown)
            return -1;
        l->keys = grown;
        l->capacity = capacity;
    }
    return (l->keys[l->count] = strdup(o->key)) ? (l->count++, 0) : -1;
}

/* Asks on the terminal; without one, only --yes lets a whole prefix go. */
static int confirmed(const struct stor_session *s, size_t count, const char *bucket, const char *prefix)
{
    if (s->yes || s->dry_run)
        return 1;
    if (!isatty(STDIN_FILENO)) {
        stor_error_line("refusing to remove %zu objects under %s/%s without --yes (no terminal to ask)",
                        count, bucket, prefix);
        return 0;
    }
    fprintf(stderr, "remove %zu objects under %s/%s%s? [y/N] ", count, bucket, prefix,
            s->hard ? " with every version, for good" : "");
    char answer[16] = "";
    if (!fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
        stor_error_line("nothing removed");
        return 0;
    }
    return 1;
}

/* What remove_many told of one batch, so that a key it left untold is told by the host. */
struct batch {
    stor_removed_fn on_removed;
    void *context;
    size_t base;          /* index of the batch's first key among all */
    unsigned char *told;  /* per key of the batch */
};

static void told_of(void *context, size_t index, enum stor_status status, const char *message)
{
    struct batch *b = context;
    if (b->told[index])
        return; /* a plugin telling a key twice: the first word stands */
    b->told[index] = 1;
    b->on_removed(b->context, b->base + index, status, message);
}

size_t stor_remove_keys(const struct stor_session *s, const char *bucket, const char *const *keys,
                        size_t count, stor_removed_fn on_removed, void *context)
{
    const struct stor_backend *b = &s->plugin->table;
    size_t done = 0;
    unsigned char told[STOR_REMOVE_MANY_MAX];
    while (done < count && !s->host->cancelled(s->host)) {
        struct stor_error err = {""};
        if (!b->remove_many) {
            enum stor_status status =
                b->remove ? b->remove(s->instance, bucket, keys[done], &err)
                          : stor_fail(&err, STOR_EUNSUPPORTED, "backend %s does not remove objects",
                                      b->name);
            on_removed(context, done, status, status == STOR_OK ? NULL : err.message);
            done++;
            continue;
        }
        size_t n = count - done < STOR_REMOVE_MANY_MAX ? count - done : STOR_REMOVE_MANY_MAX;
        memset(told, 0, n);
        struct batch batch = {on_removed, context, done, told};
        enum stor_status status = b->remove_many(s->instance, bucket, keys + done, n, told_of,
                                                 &batch, &err);
        for (size_t i = 0; i < n; i++)
            if (!told[i]) /* every key is told once: what the plugin did not say, its result does */
                on_removed(context, done + i, status == STOR_OK ? STOR_EINTERNAL : status,
                           status == STOR_OK ? "the backend did not say whether it was removed"
                                             : err.message);
        done += n;
    }
    return done;
}

struct tree_removal {
    struct stor_session *s;
    const char *bucket;
    char **keys;
    size_t failures;
};

static void tree_removed(void *context, size_t index, enum stor_status status, const char *message)
{
    struct tree_removal *t = context;
    if (status != STOR_OK) {
        stor_error_line("rm %s: %s", t->keys[index], message ? message : "failed");
        t->failures++;
        return;
    }
    report_removed(t->s, removed_word(t->s), t->bucket, t->keys[index], NULL);
}

int stor_cmd_rm_tree(struct stor_session *s, const char *bucket, const char *given_prefix)
{
    char prefix[2048];
    size_t len = strlen(given_prefix);
    snprintf(prefix, sizeof prefix, "%s%s", given_prefix, len && given_prefix[len - 1] != '/' ? "/" : "");
    struct key_list l = {0};
    struct stor_error err = {""};
    /* --hard deletes every version: names that are only hidden versions are listed too. */
    unsigned flags = STOR_LIST_RECURSIVE |
                     (s->hard && (s->plugin->capabilities & STOR_CAP_VERSIONS) ? STOR_LIST_VERSIONS : 0);
    enum stor_status status = s->plugin->table.list(s->instance, bucket, prefix, flags,
                                                    collect_key, &l, &err);
    int code = STOR_EXIT_OK;
    if (status != STOR_OK) {
        code = stor_report_failure(status, &err);
    } else if (l.count == 0) {
        stor_error_line("nothing under %s/%s", bucket, prefix);
        code = STOR_EXIT_NOT_FOUND;
    } else if (!confirmed(s, l.count, bucket, prefix)) {
        code = STOR_EXIT_USAGE;
    }
    size_t failures = 0;
    if (code == STOR_EXIT_OK && !s->dry_run && !s->hard && !s->version_id) {
        /* A plain remove of each: in batches where the backend takes them. */
        struct tree_removal t = {s, bucket, l.keys, 0};
        size_t attempted = stor_remove_keys(s, bucket, (const char *const *)l.keys, l.count,
                                            tree_removed, &t);
        failures = t.failures;
        if (attempted < l.count)
            code = STOR_EXIT_CANCELLED;
    }
    for (size_t i = 0; code == STOR_EXIT_OK && (s->dry_run || s->hard || s->version_id) &&
                       i < l.count; i++) {
        if (s->host->cancelled(s->host)) {
            code = STOR_EXIT_CANCELLED;
            break;
        }
        if (!s->dry_run && (status = remove_one(s, bucket, l.keys[i], &err)) != STOR_OK) {
            stor_error_line("rm %s: %s", l.keys[i], err.message);
            failures++;
            continue;
        }
        report_removed(s, removed_word(s), bucket, l.keys[i], NULL);
    }
    if (code == STOR_EXIT_OK && failures)
        code = failures == l.count ? STOR_EXIT_FAILURE : STOR_EXIT_PARTIAL;
    for (size_t i = 0; i < l.count; i++)
        free(l.keys[i]);
    free(l.keys);
    return code;
}

/* --- cp and mv ----------------------------------------------------------------------------- */

static int copy_command(struct stor_session *s, const char *source, const char *target, int move)
{
    char src_bucket[256], bucket[256];
    const char *src_key, *key;
    int code = stor_split_remote(source, src_bucket, sizeof src_bucket, &src_key, 1, "BUCKET/KEY");
    if (code == STOR_EXIT_OK)
        code = stor_split_remote(target, bucket, sizeof bucket, &key, 1, "BUCKET/KEY");
    if (code != STOR_EXIT_OK)
        return code;
    if (!s->target && strcmp(src_bucket, bucket) == 0 && strcmp(src_key, key) == 0) {
        stor_error_line("%s and %s are the same object", source, target);
        return STOR_EXIT_USAGE;
    }
    if (move && !s->plugin->table.remove)
        return stor_report_unsupported(s, "mv");
    struct stor_result r = {.want_json = s->json, .abi_version = s->plugin->table.abi_version};
    struct stor_error err = {""};
    enum stor_status status = stor_copy_object(s, s->target ? s->target : s, src_bucket, src_key,
                                               NULL, s->transfers, bucket, key, &r, &err);
    stor_host_progress_done();
    if (status == STOR_OK && move) {
        int hard = s->hard;
        const char *version = s->version_id;
        s->version_id = NULL;
        status = remove_one(s, src_bucket, src_key, &err);
        s->hard = hard;
        s->version_id = version;
        if (status != STOR_OK) {
            json_object_put(r.json);
            stor_error_line("copied %s to %s, but could not remove the source: %s", source, target,
                            err.message);
            return stor_exit_code(status);
        }
    }
    if (status != STOR_OK) {
        json_object_put(r.json);
        return stor_report_failure(status, &err);
    }
    if (s->json && r.json) {
        json_object_object_add(r.json, "bucket", json_object_new_string(bucket));
        json_object_object_add(r.json, "source", json_object_new_string(source));
        stor_print_json(r.json);
    } else if (!s->quiet) {
        printf("%s %s to %s (%lld bytes%s%s)\n", move ? "moved" : "copied", source, target,
               (long long)r.size, r.sha1[0] ? ", sha1 " : "", r.sha1);
    }
    json_object_put(r.json);
    return STOR_EXIT_OK;
}

int stor_cmd_cp(struct stor_session *s, const char *source, const char *target)
{
    return copy_command(s, source, target, 0);
}

int stor_cmd_mv(struct stor_session *s, const char *source, const char *target)
{
    return copy_command(s, source, target, 1);
}

/* --- cleanup ---------------------------------------------------------------------------------- */

struct cleanup_report {
    const struct stor_session *s;
    const char *bucket;
    size_t count;
};

static int report_unfinished(void *context, const struct stor_object *o)
{
    struct cleanup_report *c = context;
    const struct stor_session *s = c->s;
    c->count++;
    if (s->json) {
        struct json_object *j = stor_object_json(s->plugin->table.abi_version, c->bucket, o);
        json_object_object_add(j, "status", json_object_new_string(s->dry_run ? "would cancel" : "cancelled"));
        stor_print_json(j);
        json_object_put(j);
    } else if (!s->quiet) {
        char when[32] = "-", shown[2048];
        stor_format_time(o->mtime_ms, when, sizeof when);
        stor_printable(o->key, shown, sizeof shown);
        printf("%s %s/%s (started %s, id %s)\n", s->dry_run ? "would cancel" : "cancelled", c->bucket,
               shown, when, o->id ? o->id : "-");
    }
    return 0;
}

int stor_cmd_cleanup(struct stor_session *s, const char *remote)
{
    char bucket[256];
    const char *prefix;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &prefix, 0, "BUCKET[/PREFIX]");
    if (code != STOR_EXIT_OK)
        return code;
    if (!s->plugin->table.cleanup)
        return stor_report_unsupported(s, "cleanup");
    struct cleanup_report c = {s, bucket, 0};
    struct stor_error err = {""};
    enum stor_status status = s->plugin->table.cleanup(s->instance, bucket, prefix, s->older_than_ms,
                                                       s->dry_run, report_unfinished, &c, &err);
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    if (!s->json && !s->quiet)
        printf("cleanup: %zu unfinished upload%s %s\n", c.count, c.count == 1 ? "" : "s",
               s->dry_run ? "would be cancelled" : "cancelled");
    return STOR_EXIT_OK;
}

/* --- retention, legal-hold: the Object Lock of one version ------------------------------------ */

static int report_protected(void *context, const struct stor_object *o)
{
    const struct stor_session *s = context;
    const struct stor_protection *p = &o->protection;
    if (s->json) {
        struct json_object *j = stor_object_json(s->plugin->table.abi_version, NULL, o);
        stor_print_json(j);
        json_object_put(j);
    } else if (!s->quiet) {
        char shown[2048], until[32];
        stor_printable(o->key, shown, sizeof shown);
        stor_format_time(p->retain_until_ms, until, sizeof until);
        printf("%s: retention %s%s%s, legal hold %s\n", shown,
               p->retention_mode ? p->retention_mode : "none", p->retention_mode ? " until " : "",
               p->retention_mode ? until : "",
               p->legal_hold > 0 ? "on" : p->legal_hold == 0 ? "off" : "-");
    }
    return 0;
}

static int protect(struct stor_session *s, const char *remote, const struct stor_protection *p,
                   const char *what)
{
    char bucket[256];
    const char *key;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &key, 1, "BUCKET/KEY");
    if (code != STOR_EXIT_OK)
        return code;
    if (!s->plugin->table.protect || !(s->plugin->capabilities & STOR_CAP_RETENTION))
        return stor_report_unsupported(s, what);
    struct stor_error err = {""};
    enum stor_status status = s->plugin->table.protect(
        s->instance, bucket, key, s->version_id, p,
        s->bypass_governance ? STOR_PROTECT_BYPASS_GOVERNANCE : 0, report_protected, s, &err);
    return status == STOR_OK ? STOR_EXIT_OK : stor_report_failure(status, &err);
}

int stor_cmd_retention(struct stor_session *s, const char *remote, const char *retention)
{
    struct stor_protection p = {.retain_until_ms = -1, .legal_hold = -1};
    if (strcmp(retention, "none") == 0) {
        p.retention_mode = "none";
    } else if (stor_parse_retention(retention, &p) != 0) {
        stor_error_line("retention expects governance:DURATION, compliance:DATE (30d, 2027-01-31, "
                        "2027-01-31T12:00:00Z) in the future, or none; got '%s'", retention);
        return STOR_EXIT_USAGE;
    }
    return protect(s, remote, &p, "retention");
}

int stor_cmd_legal_hold(struct stor_session *s, const char *remote, const char *state)
{
    if (strcmp(state, "on") != 0 && strcmp(state, "off") != 0) {
        stor_error_line("legal-hold expects on or off, got '%s'", state);
        return STOR_EXIT_USAGE;
    }
    struct stor_protection p = {.retain_until_ms = -1, .legal_hold = strcmp(state, "on") == 0};
    return protect(s, remote, &p, "legal-hold");
}
