/* usage.c — stor du: what a bucket or prefix holds, and with --versions what it costs besides
 * (old versions, hidden names, unfinished uploads), from one listing, in constant memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "host.h"
#include "text.h"

struct tally {
    uint64_t count, bytes;
};

struct usage {
    const struct stor_session *s;
    const char *prefix;
    size_t prefix_len;
    char *last_key;   /* the name listed last (a version listing: whose versions come now) */
    size_t last_room;
    struct tally current, old, hidden, unfinished;
    int unfinished_sizes; /* every unfinished upload reported its size */
    char refused[1200];
};

static int refuse(struct usage *u, const char *key, const char *why)
{
    char shown[1024];
    stor_printable(key ? key : "(no name)", shown, sizeof shown);
    snprintf(u->refused, sizeof u->refused, "the backend listed '%s', %s: refused", shown, why);
    return -1;
}

/* Every tally, and their sum, stays within what an int64 holds (8 EiB): a server's sizes that
 * add up past it are refused rather than wrapped around into a small number. */
static int add(struct usage *u, struct tally *t, const char *key, int64_t size)
{
    uint64_t bytes = size > 0 ? (uint64_t)size : 0;
    uint64_t all = u->current.bytes + u->old.bytes + u->unfinished.bytes;
    if (bytes > (uint64_t)INT64_MAX - all)
        return refuse(u, key, "whose size brings the total past 8 EiB");
    t->count++;
    t->bytes += bytes;
    return 0;
}

/* Names come in ascending byte order (a version listing repeats a name for each version): the
 * versions of a name are told apart by what came before, so a listing that goes back is not
 * believed. Returns 1 for a name not listed just before, 0 for the same name, -1 refused. */
static int next_name(struct usage *u, const char *key)
{
    if (u->last_key) {
        int order = strcmp(key, u->last_key);
        if (order < 0 || (order == 0 && !u->s->versions))
            return refuse(u, key, "out of order (after the name before it)");
        if (order == 0)
            return 0;
    }
    size_t length = strlen(key) + 1;
    if (length > u->last_room) {
        char *room = realloc(u->last_key, length);
        if (!room)
            return -1;
        u->last_key = room;
        u->last_room = length;
    }
    memcpy(u->last_key, key, length);
    return 1;
}

static int on_object(void *context, const struct stor_object *o)
{
    struct usage *u = context;
    if (u->s->host->cancelled(u->s->host))
        return -1;
    if (o->is_prefix)
        return 0;
    if (!o->key || strncmp(o->key, u->prefix, u->prefix_len) != 0)
        return refuse(u, o->key, "outside the prefix asked for");
    int hidden = u->s->plugin->table.abi_version >= 2 && o->is_hidden;
    /* Newest first within a name: the first version is what the name holds now. */
    int newest = next_name(u, o->key);
    if (newest < 0)
        return -1;
    if (!hidden)
        return add(u, newest ? &u->current : &u->old, o->key, o->size);
    return newest ? add(u, &u->hidden, o->key, 0) : 0; /* older hide markers hold nothing */
}

static int on_unfinished(void *context, const struct stor_object *o)
{
    struct usage *u = context;
    if (!o->key || strncmp(o->key, u->prefix, u->prefix_len) != 0)
        return refuse(u, o->key, "outside the prefix asked for");
    u->unfinished_sizes &= o->size >= 0;
    return add(u, &u->unfinished, o->key, o->size);
}

static void json_tally(struct json_object *j, const char *name, const struct tally *t, int sized)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "count", json_object_new_int64((int64_t)t->count));
    json_object_object_add(o, "bytes", sized ? json_object_new_int64((int64_t)t->bytes) : NULL);
    json_object_object_add(j, name, o);
}

static void print_tally(const char *name, const struct tally *t, const char *unit, int sized)
{
    char human[32];
    stor_human_bytes((double)t->bytes, human, sizeof human);
    if (sized)
        printf("%-19s %llu %s%s, %s (%llu bytes)\n", name, (unsigned long long)t->count, unit,
               t->count == 1 ? "" : "s", human, (unsigned long long)t->bytes);
    else
        printf("%-19s %llu %s%s (the backend does not say how much their parts hold)\n", name,
               (unsigned long long)t->count, unit, t->count == 1 ? "" : "s");
}

int stor_cmd_du(struct stor_session *s, const char *remote)
{
    char bucket[256];
    const char *prefix;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &prefix, 0, "BUCKET[/PREFIX]");
    if (code != STOR_EXIT_OK)
        return code;
    const struct stor_backend *t = &s->plugin->table;
    if (s->versions && !(s->plugin->capabilities & STOR_CAP_VERSIONS))
        return stor_report_unsupported(s, "du --versions");
    struct usage u = {.s = s, .prefix = prefix, .prefix_len = strlen(prefix), .unfinished_sizes = 1};
    struct stor_error err = {""};
    unsigned flags = STOR_LIST_RECURSIVE | (s->versions ? STOR_LIST_VERSIONS : 0);
    enum stor_status status = t->list(s->instance, bucket, prefix, flags, on_object, &u, &err);
    /* Unfinished uploads cost storage too: counted where the backend lists them (a dry run of
     * cleanup cancels nothing). */
    int unfinished = s->versions && t->cleanup;
    if (status == STOR_OK && !u.refused[0] && unfinished)
        status = t->cleanup(s->instance, bucket, prefix, 0, 1, on_unfinished, &u, &err);
    free(u.last_key);
    if (u.refused[0]) {
        stor_error_line("%s", u.refused);
        return STOR_EXIT_FAILURE;
    }
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    uint64_t total = u.current.bytes + u.old.bytes + u.unfinished.bytes;
    if (s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "bucket", json_object_new_string(bucket));
        json_object_object_add(j, "prefix", stor_json_text(prefix));
        json_object_object_add(j, "objects", json_object_new_int64((int64_t)u.current.count));
        json_object_object_add(j, "bytes", json_object_new_int64((int64_t)u.current.bytes));
        if (s->versions) {
            json_tally(j, "oldVersions", &u.old, 1);
            json_object_object_add(j, "hiddenNames", json_object_new_int64((int64_t)u.hidden.count));
            if (unfinished)
                json_tally(j, "unfinishedUploads", &u.unfinished, u.unfinished_sizes);
            json_object_object_add(j, "storedBytes", json_object_new_int64((int64_t)total));
        }
        stor_print_json(j);
        json_object_put(j);
        return STOR_EXIT_OK;
    }
    char shown[2400];
    snprintf(shown, sizeof shown, "%s/%s", bucket, prefix);
    char escaped[4096];
    stor_printable(shown, escaped, sizeof escaped);
    printf("%s\n", escaped);
    print_tally("objects:", &u.current, "object", 1);
    if (s->versions) {
        print_tally("old versions:", &u.old, "version", 1);
        printf("%-19s %llu\n", "hidden names:", (unsigned long long)u.hidden.count);
        if (unfinished)
            print_tally("unfinished uploads:", &u.unfinished, "upload", u.unfinished_sizes);
        char human[32];
        stor_human_bytes((double)total, human, sizeof human);
        printf("%-19s %s (%llu bytes)%s\n", "stored in all:", human, (unsigned long long)total,
               unfinished && !u.unfinished_sizes ? ", unfinished uploads' parts aside" : "");
    }
    return STOR_EXIT_OK;
}
