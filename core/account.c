/* account.c — commands on the account rather than on objects: buckets (and `ls` with no
 * bucket), mb, rb, share. Each goes through an ABI 3 slot; a backend without it is told so. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "host.h"
#include "text.h"

static int bucket_name_problem(const char *name)
{
    char why[128], shown[1024];
    if (!name[0] || strchr(name, '/'))
        snprintf(why, sizeof why, "expected a bucket name (not empty, no '/')");
    else if (!stor_key_problem(name, 0, why, sizeof why))
        return 0;
    stor_escape_text(name, shown, sizeof shown);
    stor_error_line("'%s': %s", shown, why);
    return 1;
}

/* --- buckets --------------------------------------------------------------------------------- */

struct bucket_listing {
    const struct stor_session *session;
    size_t count;
};

static const char *visibility(int is_public)
{
    return is_public > 0 ? "public" : is_public == 0 ? "private" : "-";
}

static int print_bucket(void *context, const struct stor_bucket *b)
{
    struct bucket_listing *l = context;
    const struct stor_session *s = l->session;
    l->count++;
    if (s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "name", stor_json_text(b->name));
        json_object_object_add(j, "id", b->id ? stor_json_text(b->id) : NULL);
        json_object_object_add(j, "public", b->is_public >= 0 ? json_object_new_boolean(b->is_public) : NULL);
        json_object_object_add(j, "created", b->created_ms >= 0 ? json_object_new_int64(b->created_ms) : NULL);
        if (b->setting_count) {
            struct json_object *settings = json_object_new_object();
            for (size_t i = 0; i < b->setting_count; i++)
                if (b->settings[i].key)
                    json_object_object_add(settings, b->settings[i].key,
                                           b->settings[i].value ? stor_json_text(b->settings[i].value) : NULL);
            json_object_object_add(j, "settings", settings);
        }
        stor_print_json(j);
        json_object_put(j);
        return 0;
    }
    char name[1024];
    stor_printable(b->name, name, sizeof name);
    printf("%-8s  %s", visibility(b->is_public), name);
    if (s->long_list) {
        char id[512], when[32];
        stor_printable(b->id ? b->id : "-", id, sizeof id);
        stor_format_time(b->created_ms, when, sizeof when);
        printf("  %s  %s", id, when);
        for (size_t i = 0; i < b->setting_count; i++) {
            char setting[2048];
            stor_printable(b->settings[i].value ? b->settings[i].value : "", setting, sizeof setting);
            printf("  %s=%s", b->settings[i].key ? b->settings[i].key : "", setting);
        }
    }
    putchar('\n');
    return ferror(stdout) ? -1 : 0;
}

int stor_cmd_buckets(struct stor_session *s)
{
    if (!s->plugin->table.list_buckets)
        return stor_report_unsupported(s, "listing buckets");
    struct bucket_listing l = {s, 0};
    struct stor_error err = {""};
    enum stor_status status = s->plugin->table.list_buckets(s->instance, print_bucket, &l, &err);
    if (ferror(stdout) || fflush(stdout) != 0) {
        stor_error_line("cannot write the listing: %m");
        return STOR_EXIT_FAILURE;
    }
    return status == STOR_OK ? STOR_EXIT_OK : stor_report_failure(status, &err);
}

/* --- mb, rb ----------------------------------------------------------------------------------- */

static int made_bucket(void *context, const struct stor_bucket *b)
{
    const struct stor_session *s = context;
    if (s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "name", stor_json_text(b->name));
        json_object_object_add(j, "id", b->id ? stor_json_text(b->id) : NULL);
        json_object_object_add(j, "public", b->is_public >= 0 ? json_object_new_boolean(b->is_public) : NULL);
        json_object_object_add(j, "status", json_object_new_string("created"));
        stor_print_json(j);
        json_object_put(j);
    } else if (!s->quiet) {
        char name[1024];
        stor_printable(b->name, name, sizeof name);
        printf("created bucket %s (%s%s%s)\n", name, visibility(b->is_public), b->id ? ", id " : "",
               b->id ? b->id : "");
    }
    return 0;
}

int stor_cmd_mb(struct stor_session *s, const char *bucket)
{
    if (bucket_name_problem(bucket))
        return STOR_EXIT_USAGE;
    if (!s->plugin->table.create_bucket)
        return stor_report_unsupported(s, "mb");
    struct stor_bucket_options options = {.struct_size = sizeof options,
                                          .is_public = s->public_bucket > 0,
                                          .settings = s->bucket_settings,
                                          .setting_count = s->bucket_setting_count};
    struct stor_error err = {""};
    enum stor_status status =
        s->plugin->table.create_bucket(s->instance, bucket, &options, made_bucket, s, &err);
    return status == STOR_OK ? STOR_EXIT_OK : stor_report_failure(status, &err);
}

static int stop_at_first(void *context, const struct stor_object *o)
{
    *(int *)context = 1;
    return 1;
}

int stor_cmd_rb(struct stor_session *s, const char *bucket)
{
    if (bucket_name_problem(bucket))
        return STOR_EXIT_USAGE;
    if (!s->plugin->table.delete_bucket)
        return stor_report_unsupported(s, "rb");
    struct stor_error err = {""};
    if (s->force) {
        /* Empty it first: every version of every name, hidden ones too (rm -r --hard), asking
         * on a terminal as rm -r does. */
        int any = 0;
        unsigned flags = STOR_LIST_RECURSIVE |
                         (s->plugin->capabilities & STOR_CAP_VERSIONS ? STOR_LIST_VERSIONS : 0);
        enum stor_status status =
            s->plugin->table.list(s->instance, bucket, "", flags, stop_at_first, &any, &err);
        if (status != STOR_OK && !any)
            return stor_report_failure(status, &err);
        if (any) {
            s->hard = 1;
            int code = stor_cmd_rm_tree(s, bucket, "");
            if (code != STOR_EXIT_OK)
                return code;
        }
    }
    enum stor_status status = s->plugin->table.delete_bucket(s->instance, bucket, &err);
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    if (s->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "name", stor_json_text(bucket));
        json_object_object_add(j, "status", json_object_new_string("deleted"));
        stor_print_json(j);
        json_object_put(j);
    } else if (!s->quiet) {
        printf("deleted bucket %s\n", bucket);
    }
    return STOR_EXIT_OK;
}

/* bucket NAME: one bucket as buckets -l shows it, after the changes asked (update_bucket). */
struct one_bucket {
    struct bucket_listing listing;
    const char *name;
    int found;
};

static int print_named_bucket(void *context, const struct stor_bucket *b)
{
    struct one_bucket *one = context;
    if (strcmp(b->name, one->name) != 0)
        return 0;
    one->found = 1;
    return print_bucket(&one->listing, b);
}

int stor_cmd_bucket(struct stor_session *s, const char *bucket)
{
    if (bucket_name_problem(bucket))
        return STOR_EXIT_USAGE;
    struct one_bucket one = {{s, 0}, bucket, 0};
    struct stor_error err = {""};
    enum stor_status status;
    int change = s->public_bucket >= 0 || s->bucket_setting_count > 0;
    s->long_list = 1;
    if (change) {
        if (!s->plugin->table.update_bucket)
            return stor_report_unsupported(s, "changing a bucket");
        struct stor_bucket_options options = {.struct_size = sizeof options,
                                              .is_public = s->public_bucket,
                                              .settings = s->bucket_settings,
                                              .setting_count = s->bucket_setting_count};
        status = s->plugin->table.update_bucket(s->instance, bucket, &options, print_named_bucket,
                                                &one, &err);
    } else {
        if (!s->plugin->table.list_buckets)
            return stor_report_unsupported(s, "listing buckets");
        status = s->plugin->table.list_buckets(s->instance, print_named_bucket, &one, &err);
    }
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    if (!one.found) {
        stor_error_line("no bucket '%s'", bucket);
        return STOR_EXIT_NOT_FOUND;
    }
    return STOR_EXIT_OK;
}

/* --- share ------------------------------------------------------------------------------------ */

struct shared {
    const struct stor_session *session;
    int calls;
};

static void print_url(void *context, const char *url, int64_t expires_at_ms)
{
    struct shared *sh = context;
    if (sh->calls++)
        return;
    if (sh->session->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "url", stor_json_text(url));
        json_object_object_add(j, "expires", json_object_new_int64(expires_at_ms));
        stor_print_json(j);
        json_object_put(j);
        return;
    }
    char when[32];
    stor_format_time(expires_at_ms, when, sizeof when);
    puts(url); /* alone on its line, for scripts; the expiry goes to stderr */
    if (!sh->session->quiet)
        fprintf(stderr, "stor: valid until %s\n", when);
}

int stor_cmd_share(struct stor_session *s, const char *remote)
{
    char bucket[256];
    const char *key;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &key, 1, "BUCKET/KEY or BUCKET/PREFIX/");
    if (code != STOR_EXIT_OK)
        return code;
    if (!s->plugin->table.share || !(s->plugin->capabilities & STOR_CAP_SHARE))
        return stor_report_unsupported(s, "share");
    struct shared sh = {s, 0};
    struct stor_error err = {""};
    enum stor_status status =
        s->plugin->table.share(s->instance, bucket, key, s->share_ms, print_url, &sh, &err);
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    if (sh.calls == 0) {
        stor_error_line("backend %s gave no URL for %s/%s", s->plugin->table.name, bucket, key);
        return STOR_EXIT_FAILURE;
    }
    return STOR_EXIT_OK;
}
