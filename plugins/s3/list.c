/* plugins/s3/list.c — list: every object (or, with STOR_LIST_VERSIONS, every version and delete
 * marker, markers as hidden) from pages.c's guarded pages, reported as the host's objects; with
 * list_metadata (default) each object or version is HEADed for its mtime and SHA-1. */
#include "operations.h"

#include "head.h"
#include "instance.h"
#include "meta.h"
#include "pages.h"

#include <string.h>

struct listing {
    struct s3_plugin *plugin;
    const char *bucket;
    stor_object_fn on_object;
    void *context;
};

static enum stor_status report_entry(void *context, const struct s3_list_entry *entry,
                                     struct stor_error *err)
{
    struct listing *listing = context;
    struct stor_object object = {.key = entry->key, .is_prefix = entry->is_prefix,
                                 .size = entry->is_prefix ? -1 : entry->size,
                                 .mtime_ms = entry->modified_ms, .upload_ms = entry->modified_ms,
                                 .id = entry->version_id, .is_hidden = entry->is_delete_marker,
                                 .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    char md5[33] = "";
    if (!entry->is_prefix && entry->etag && strlen(entry->etag) == 32 &&
        strspn(entry->etag, "0123456789abcdef") == 32) {
        memcpy(md5, entry->etag, sizeof md5);
        object.md5 = md5;
    }
    struct sp_http_response response;
    struct s3_object_view view;
    int headed = 0;
    if (!entry->is_prefix && !entry->is_delete_marker && listing->plugin->config.list_metadata) {
        enum stor_status status = s3_head_version(listing->plugin, listing->bucket, entry->key,
                                                  entry->version_id, &response, NULL, err);
        if (status == STOR_ENOTFOUND)
            return STOR_OK; /* deleted since the page was made */
        if (status != STOR_OK)
            return status;
        headed = 1;
        s3_meta_read(&response, entry->key, &view);
        object.mtime_ms = view.object.mtime_ms;
        object.sha1 = view.object.sha1;
        object.md5 = view.object.md5;
        object.content_type = view.object.content_type;
    }
    int stop = listing->on_object && listing->on_object(listing->context, &object) != 0;
    if (headed)
        sp_http_response_free(&response);
    return stop ? stor_fail(err, STOR_ECANCELLED, "listing stopped") : STOR_OK;
}

enum stor_status s3_list(void *instance, const char *bucket, const char *prefix, unsigned flags,
                         stor_object_fn on_object, void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct listing listing = {plugin, bucket, on_object, context};
    return s3_pages_list(plugin, bucket, prefix ? prefix : "", flags, report_entry, &listing, err);
}
