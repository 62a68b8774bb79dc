/* plugins/b2/list.c — list (b2_list_file_names, page by page; versions.c for STOR_LIST_VERSIONS).
 * Memory stays bounded by one page of names however large the bucket. */
#include "operations.h"

#include "auth.h"
#include "bucket.h"
#include "instance.h"
#include "objects.h"
#include "sp_host.h"
#include "versions.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define B2_LIST_PAGE 1000 /* one Class C transaction per 1000 names returned */

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
        status = b2_bucket_call(plugin, bucket, "b2_list_file_names", request, "listFiles",
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
        if (status == STOR_OK && sp_cancelled(plugin->host))
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
    } while (status == STOR_OK && start);
    free(start);
    free(started);
    free(key_prefix);
    return status;
}
