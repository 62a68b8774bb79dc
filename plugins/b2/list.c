/* plugins/b2/list.c — list (b2_list_file_names, page by page; versions.c for STOR_LIST_VERSIONS)
 * and remove (b2_hide_file). Memory stays bounded by one page of names however large the bucket. */
#include "b2.h"
#include "names.h"
#include "sha1.h"

#include <stdlib.h>
#include <string.h>

#define B2_LIST_PAGE 1000 /* one Class C transaction per 1000 names returned */

/* Call a bucket-scoped API, re-resolving the bucket name once if B2 says bad_bucket_id. */
static enum stor_status bucket_call(struct b2_plugin *plugin, const char *bucket, const char *call,
                                    json_object *request, const char *capability,
                                    const struct b2_done_check *check, json_object **response,
                                    struct b2_failure *failure, struct stor_error *err)
{
    memset(failure, 0, sizeof *failure);
    for (int attempt = 0;; attempt++) {
        char *bucket_id;
        enum stor_status status = b2_bucket_id(plugin, bucket, attempt > 0, &bucket_id, err);
        if (status != STOR_OK)
            return status;
        json_object_object_add(request, "bucketId", json_object_new_string(bucket_id));
        free(bucket_id);
        status = b2_api_call_checked(plugin, call, request, capability, check, response, failure,
                                     err);
        if (status == STOR_ENOTFOUND && (strcmp(failure->code, "bad_bucket_id") == 0 ||
                                         strcmp(failure->code, "invalid_bucket_id") == 0)) {
            if (attempt == 0)
                continue;
            return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
        }
        return status;
    }
}

enum stor_status b2_list(void *instance, const char *bucket, const char *prefix, unsigned flags,
                         stor_object_fn on_object, void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    char *start = NULL, *started = NULL, *key_prefix = NULL;
    enum stor_status status = STOR_OK;
    if (flags & STOR_LIST_VERSIONS)
        return b2_list_versions(plugin, bucket, prefix, NULL, flags, on_object, context, err);
    status = b2_auth_listing_prefix(plugin, prefix, &key_prefix, err);
    if (status != STOR_OK)
        return status;
    if (key_prefix)
        prefix = key_prefix;
    do {
        json_object *request = json_object_new_object(), *response = NULL;
        json_object_object_add(request, "maxFileCount", json_object_new_int(B2_LIST_PAGE));
        if (prefix && *prefix)
            json_object_object_add(request, "prefix", json_object_new_string(prefix));
        if (!(flags & STOR_LIST_RECURSIVE))
            json_object_object_add(request, "delimiter", json_object_new_string("/"));
        if (start)
            json_object_object_add(request, "startFileName", json_object_new_string(start));
        free(started);
        started = start; /* where this page begins, to check the next one's cursor against */
        start = NULL;
        struct b2_failure failure;
        status = bucket_call(plugin, bucket, "b2_list_file_names", request, "listFiles", NULL,
                             &response, &failure, err);
        json_object_put(request);
        if (status != STOR_OK)
            break;
        json_object *files, *next;
        char why[B2_WHY_MAX] = "field files is missing or not an array";
        if (!json_object_object_get_ex(response, "files", &files) ||
            !json_object_is_type(files, json_type_array))
            status = stor_fail(err, STOR_EINTERNAL, "b2_list_file_names: B2's answer is malformed: %s", why);
        for (size_t i = 0; status == STOR_OK && i < json_object_array_length(files); i++) {
            struct b2_file file;
            if (b2_wire_file(json_object_array_get_idx(files, i), &file, why) != 0) {
                status = stor_fail(err, STOR_EINTERNAL, "b2_list_file_names: B2's answer is malformed: %s", why);
                break;
            }
            if (prefix && strncmp(file.file_name, prefix, strlen(prefix)) != 0) {
                status = b2_listed_outside(err, "b2_list_file_names", file.file_name, prefix);
                break;
            }
            struct stor_object object = b2_file_object(&file, b2_file_sha1(&file));
            if (on_object && on_object(context, &object) != 0)
                status = stor_fail(err, STOR_ECANCELLED, "listing stopped");
        }
        if (status == STOR_OK && json_object_object_get_ex(response, "nextFileName", &next) &&
            json_object_is_type(next, json_type_string)) {
            /* Names come in ascending order: a page must end beyond where it began. */
            if (started && strcmp(json_object_get_string(next), started) <= 0)
                status = b2_cursor_stuck(err, "b2_list_file_names", "nextFileName");
            else if (!(start = strdup(json_object_get_string(next))))
                status = stor_fail(err, STOR_EINTERNAL, "out of memory");
        }
        json_object_put(response);
        if (status == STOR_OK && b2_cancelled(plugin))
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
    } while (status == STOR_OK && start);
    free(start);
    free(started);
    free(key_prefix);
    return status;
}

struct hidden_check {
    const char *bucket;
    const char *key;
};

/* b2_hide_file's answer was lost: done if the name has no current version any more (asked
 * again, B2 would say already_hidden and rm would report a file it just hid as missing). */
static int hidden_after_all(struct b2_plugin *plugin, void *context, json_object **response)
{
    const struct hidden_check *hidden = context;
    json_object *answer, *entry;
    struct stor_error ignored;
    enum stor_status status = b2_current_version(plugin, hidden->bucket, hidden->key, &answer,
                                                 &entry, &ignored);
    if (status == STOR_OK)
        json_object_put(answer);
    if (status != STOR_ENOTFOUND)
        return 0;
    *response = json_object_new_object(); /* rm reads nothing from the answer */
    return *response != NULL;
}

enum stor_status b2_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "fileName", json_object_new_string(key));
    struct b2_failure failure;
    struct hidden_check hidden = {bucket, key};
    struct b2_done_check check = {hidden_after_all, &hidden};
    enum stor_status status = bucket_call(plugin, bucket, "b2_hide_file", request, "writeFiles",
                                          &check, &response, &failure, err);
    json_object_put(request);
    json_object_put(response);
    if (status != STOR_OK && (strcmp(failure.code, "no_such_file") == 0 ||
                              strcmp(failure.code, "file_not_present") == 0 ||
                              strcmp(failure.code, "already_hidden") == 0))
        status = stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
    return status;
}

/* ---- shared with versions.c, cleanup.c, large_file.c and copy.c ---- */

enum stor_status b2_listed_outside(struct stor_error *err, const char *call, const char *name,
                                   const char *prefix)
{
    char shown[200];
    b2_printable_name(name, shown, sizeof shown);
    return stor_fail(err, STOR_EINTERNAL,
                     "%s: B2 listed '%s', outside the prefix asked for ('%.200s'): not believed",
                     call, shown, prefix);
}

enum stor_status b2_cursor_stuck(struct stor_error *err, const char *call, const char *field)
{
    return stor_fail(err, STOR_EINTERNAL,
                     "%s: B2's listing did not advance (%s repeats or goes back): stopped", call,
                     field);
}

enum stor_status b2_bucket_call(struct b2_plugin *plugin, const char *bucket, const char *call,
                                json_object *request, const char *capability,
                                json_object **response, struct b2_failure *failure,
                                struct stor_error *err)
{
    return bucket_call(plugin, bucket, call, request, capability, NULL, response, failure, err);
}

enum stor_status b2_current_version(struct b2_plugin *plugin, const char *bucket, const char *key,
                                    json_object **answer, json_object **entry,
                                    struct stor_error *err)
{
    json_object *request = json_object_new_object();
    json_object_object_add(request, "startFileName", json_object_new_string(key));
    json_object_object_add(request, "prefix", json_object_new_string(key));
    json_object_object_add(request, "maxFileCount", json_object_new_int(1));
    struct b2_failure failure;
    enum stor_status status = b2_bucket_call(plugin, bucket, "b2_list_file_names", request,
                                             "listFiles", answer, &failure, err);
    json_object_put(request);
    if (status != STOR_OK)
        return status;
    json_object *files;
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (json_object_object_get_ex(*answer, "files", &files) &&
        json_object_is_type(files, json_type_array) && json_object_array_length(files) > 0 &&
        b2_wire_file(json_object_array_get_idx(files, 0), &file, why) == 0 &&
        strcmp(file.file_name, key) == 0 && file.file_id &&
        (!file.action || strcmp(file.action, "upload") == 0)) {
        *entry = json_object_array_get_idx(files, 0);
        return STOR_OK;
    }
    json_object_put(*answer);
    *answer = NULL;
    return stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
}

struct stor_object b2_file_object(const struct b2_file *file, const char *sha1)
{
    int folder = file->action && strcmp(file->action, "folder") == 0;
    int hidden = file->action && strcmp(file->action, "hide") == 0;
    struct stor_object object = {
        .key = file->file_name,
        .is_prefix = folder,
        .size = folder ? -1 : hidden ? 0 : file->content_length,
        .mtime_ms = file->src_last_modified_millis >= 0 && !hidden ? file->src_last_modified_millis
                                                                   : file->upload_timestamp,
        .sha1 = folder || hidden ? NULL : sha1,
        .id = file->file_id,
        .is_hidden = hidden,
        .upload_ms = folder ? -1 : file->upload_timestamp,
        .protection = file->protection,
    };
    if (!folder && !hidden) {
        object.content_type = file->content_type;
        object.md5 = file->content_md5;
        object.cache_control = file->cache_control;
        object.content_disposition = file->content_disposition;
        object.content_encoding = file->content_encoding;
        object.content_language = file->content_language;
        object.expires = file->expires;
        object.metadata = file->metadata_count ? file->metadata : NULL;
        object.metadata_count = file->metadata_count;
    }
    return object;
}

/* contentSha1, else (a large file: "none") large_file_sha1; only 40 lowercase hex digits count.
 * "unverified:<hex>" is what the uploader claimed and B2 never checked: not reported. */
const char *b2_file_sha1(const struct b2_file *file)
{
    const char *sha1 = file->content_sha1;
    if (!sha1 || strcmp(sha1, "none") == 0)
        sha1 = file->large_file_sha1;
    if (!sha1 || strlen(sha1) != B2_SHA1_HEX_LENGTH)
        return NULL;
    for (const char *c = sha1; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return NULL;
    return sha1;
}
