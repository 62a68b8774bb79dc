/* describe.c — an object's every field, as JSON (ls --json, put --json, stat --json) and as the
 * text of `stor stat`. A field exists only in objects of plugins built for the ABI that added it,
 * so the plugin's ABI version decides what is read. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "host.h"

static struct json_object *text_or_null(const char *text)
{
    return text ? stor_json_text(text) : NULL;
}

static struct json_object *count_or_null(int64_t n)
{
    return n >= 0 ? json_object_new_int64(n) : NULL;
}

struct json_object *stor_object_json(unsigned abi_version, const char *bucket,
                                     const struct stor_object *o)
{
    struct json_object *j = json_object_new_object();
    if (bucket)
        json_object_object_add(j, "bucket", json_object_new_string(bucket));
    json_object_object_add(j, "key", stor_json_text(o->key));
    if (o->is_prefix) {
        json_object_object_add(j, "prefix", json_object_new_boolean(1));
        return j;
    }
    json_object_object_add(j, "size", count_or_null(o->size));
    json_object_object_add(j, "mtime", count_or_null(o->mtime_ms));
    json_object_object_add(j, "sha1", text_or_null(o->sha1));
    json_object_object_add(j, "id", text_or_null(o->id));
    json_object_object_add(j, "contentType", text_or_null(o->content_type));
    if (abi_version < 3)
        return j;
    json_object_object_add(j, "uploaded", count_or_null(o->upload_ms));
    if (o->md5)
        json_object_object_add(j, "md5", text_or_null(o->md5));
    static const char *const names[] = {"cacheControl", "contentDisposition", "contentEncoding",
                                        "contentLanguage", "expires"};
    const char *const values[] = {o->cache_control, o->content_disposition, o->content_encoding,
                                  o->content_language, o->expires};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (values[i])
            json_object_object_add(j, names[i], stor_json_text(values[i]));
    if (o->metadata_count) {
        struct json_object *meta = json_object_new_object();
        for (size_t i = 0; i < o->metadata_count; i++)
            if (o->metadata[i].key)
                json_object_object_add(meta, o->metadata[i].key, text_or_null(o->metadata[i].value));
        json_object_object_add(j, "metadata", meta);
    }
    const struct stor_protection *p = &o->protection;
    if (p->encryption)
        json_object_object_add(j, "encryption", stor_json_text(p->encryption));
    if (p->retention_mode || p->retain_until_ms >= 0) {
        struct json_object *retention = json_object_new_object();
        json_object_object_add(retention, "mode", text_or_null(p->retention_mode));
        json_object_object_add(retention, "until", count_or_null(p->retain_until_ms));
        json_object_object_add(j, "retention", retention);
    }
    if (p->legal_hold >= 0)
        json_object_object_add(j, "legalHold", json_object_new_boolean(p->legal_hold));
    return j;
}

/* --- stat ------------------------------------------------------------------------------------ */

struct described {
    const struct stor_session *session;
    const char *bucket;
    int calls;
};

static void line(const char *label, const char *value)
{
    char shown[4096];
    stor_printable(value, shown, sizeof shown);
    printf("%-20s %s\n", label, shown);
}

static void time_line(const char *label, int64_t ms)
{
    char when[32];
    stor_format_time(ms, when, sizeof when);
    line(label, when);
}

static int print_stat(void *context, const struct stor_object *o)
{
    struct described *d = context;
    if (d->calls++) /* the contract says once; a second report would print a second object */
        return 0;
    unsigned abi = d->session->plugin->table.abi_version;
    if (d->session->json) {
        struct json_object *j = stor_object_json(abi, d->bucket, o);
        stor_print_json(j);
        json_object_put(j);
        return 0;
    }
    char size[32];
    snprintf(size, sizeof size, "%lld", (long long)o->size);
    line("key:", o->key);
    line("size:", o->size >= 0 ? size : "-");
    line("sha1:", o->sha1 ? o->sha1 : "-");
    line("id:", o->id ? o->id : "-");
    line("content-type:", o->content_type ? o->content_type : "-");
    time_line("modified:", o->mtime_ms);
    if (abi < 3)
        return 0;
    time_line("uploaded:", o->upload_ms);
    if (o->md5)
        line("md5:", o->md5);
    const char *const labels[] = {"cache-control:", "content-disposition:", "content-encoding:",
                                  "content-language:", "expires:"};
    const char *const values[] = {o->cache_control, o->content_disposition, o->content_encoding,
                                  o->content_language, o->expires};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (values[i])
            line(labels[i], values[i]);
    for (size_t i = 0; i < o->metadata_count; i++) {
        char label[128], key[96];
        stor_printable(o->metadata[i].key ? o->metadata[i].key : "", key, sizeof key);
        snprintf(label, sizeof label, "meta %s:", key);
        line(label, o->metadata[i].value ? o->metadata[i].value : "");
    }
    const struct stor_protection *p = &o->protection;
    if (p->encryption)
        line("encryption:", p->encryption);
    if (p->retention_mode || p->retain_until_ms >= 0) {
        char until[32], retention[160];
        stor_format_time(p->retain_until_ms, until, sizeof until);
        snprintf(retention, sizeof retention, "%s until %s",
                 p->retention_mode ? p->retention_mode : "-", until);
        line("retention:", retention);
    }
    if (p->legal_hold >= 0)
        line("legal-hold:", p->legal_hold ? "on" : "off");
    return 0;
}

int stor_cmd_stat(struct stor_session *s, const char *remote)
{
    char bucket[256];
    const char *key;
    int code = stor_split_remote(remote, bucket, sizeof bucket, &key, 1, "BUCKET/KEY");
    if (code != STOR_EXIT_OK)
        return code;
    if (!s->plugin->table.stat)
        return stor_report_unsupported(s, "stat");
    if (s->version_id && !(s->plugin->capabilities & STOR_CAP_VERSIONS))
        return stor_report_unsupported(s, "stat --version");
    struct described d = {s, bucket, 0};
    struct stor_error err = {""};
    enum stor_status status =
        s->plugin->table.stat(s->instance, bucket, key, s->version_id, print_stat, &d, &err);
    if (status != STOR_OK)
        return stor_report_failure(status, &err);
    if (d.calls == 0) {
        stor_error_line("backend %s reported no object for %s/%s", s->plugin->table.name, bucket, key);
        return STOR_EXIT_FAILURE;
    }
    return STOR_EXIT_OK;
}
