/* plugins/b2/versions.c — every version of every name (b2_list_file_versions, paged, bounded
 * memory); remove: a hide marker, the name's newest version (b2_hide_file); and remove_ex: delete
 * one version, or all versions of a name, for good. */
#include "versions.h"

#include "auth.h"
#include "authorized.h"
#include "bucket.h"
#include "instance.h"
#include "names.h"
#include "objects.h"
#include "sp_host.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define B2_VERSIONS_PAGE 1000

enum stor_status b2_list_versions(struct b2_plugin *plugin, const char *bucket, const char *prefix,
                                  const char *exact_name, unsigned flags, stor_object_fn on_object,
                                  void *context, struct stor_error *err)
{
    char *start_name = exact_name ? strdup(exact_name) : NULL, *start_id = NULL;
    char *started_name = NULL, *started_id = NULL;
    char *key_prefix = NULL;
    enum stor_status status = STOR_OK;
    if (exact_name && !start_name)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (exact_name) {
        prefix = exact_name;
    } else {
        status = b2_auth_listing_prefix(plugin, prefix, &key_prefix, err);
        if (status != STOR_OK) {
            free(start_name);
            return status;
        }
        if (key_prefix)
            prefix = key_prefix;
    }
    int done = 0;
    do {
        json_object *request = json_object_new_object(), *response = NULL;
        json_object_object_add(request, "maxFileCount", json_object_new_int(B2_VERSIONS_PAGE));
        if (prefix && *prefix)
            json_object_object_add(request, "prefix", json_object_new_string(prefix));
        if (!exact_name && !(flags & STOR_LIST_RECURSIVE))
            json_object_object_add(request, "delimiter", json_object_new_string("/"));
        if (start_name)
            json_object_object_add(request, "startFileName", json_object_new_string(start_name));
        if (start_id)
            json_object_object_add(request, "startFileId", json_object_new_string(start_id));
        free(started_name);
        free(started_id);
        started_name = start_name; /* where this page begins: the next cursor must pass it */
        started_id = start_id;
        start_name = start_id = NULL;
        struct b2_failure failure;
        status = b2_bucket_call(plugin, bucket, "b2_list_file_versions", request, "listFiles",
                                &response, &failure, err);
        json_object_put(request);
        if (status != STOR_OK)
            break;
        json_object *files, *next_name, *next_id;
        char why[B2_WHY_MAX] = "field files is missing or not an array";
        if (!json_object_object_get_ex(response, "files", &files) ||
            !json_object_is_type(files, json_type_array))
            status = stor_fail(err, STOR_EINTERNAL, "b2_list_file_versions: B2's answer is malformed: %s", why);
        for (size_t i = 0; status == STOR_OK && !done && i < json_object_array_length(files); i++) {
            struct b2_file file;
            if (b2_wire_file(json_object_array_get_idx(files, i), &file, why) != 0) {
                status = stor_fail(err, STOR_EINTERNAL, "b2_list_file_versions: B2's answer is malformed: %s", why);
                break;
            }
            if (prefix && strncmp(file.file_name, prefix, strlen(prefix)) != 0) {
                status = b2_listed_outside(err, "b2_list_file_versions", file.file_name, prefix);
                break;
            }
            if (exact_name && strcmp(file.file_name, exact_name) != 0) {
                done = 1; /* the versions of one name are contiguous */
                break;
            }
            const char *action = file.action ? file.action : "upload";
            if (strcmp(action, "start") == 0)
                continue; /* an unfinished large file is no version (see cleanup) */
            struct stor_object object = b2_file_object(&file, b2_file_sha1(&file));
            if (on_object && on_object(context, &object) != 0)
                status = stor_fail(err, STOR_ECANCELLED, "listing stopped");
        }
        if (status == STOR_OK && !done &&
            json_object_object_get_ex(response, "nextFileName", &next_name) &&
            json_object_is_type(next_name, json_type_string)) {
            start_name = strdup(json_object_get_string(next_name));
            if (json_object_object_get_ex(response, "nextFileId", &next_id) &&
                json_object_is_type(next_id, json_type_string))
                start_id = strdup(json_object_get_string(next_id));
            if (!start_name)
                status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            else if (started_name &&
                     (strcmp(start_name, started_name) < 0 ||
                      (strcmp(start_name, started_name) == 0 &&
                       (!start_id || (started_id && strcmp(start_id, started_id) == 0)))))
                status = b2_cursor_stuck(err, "b2_list_file_versions", "nextFileName/nextFileId");
        }
        json_object_put(response);
        if (status == STOR_OK && sp_cancelled(plugin->host))
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
    } while (status == STOR_OK && !done && start_name);
    free(start_name);
    free(start_id);
    free(started_name);
    free(started_id);
    free(key_prefix);
    return status;
}

/* b2_delete_file_version's answer was lost: done if B2 no longer knows the id (asked again, it
 * would say the version is not there, and rm would report a version it just deleted missing). */
static int deleted_after_all(struct b2_plugin *plugin, void *context, json_object **response)
{
    json_object *request = json_object_new_object(), *info = NULL;
    if (!request)
        return 0;
    json_object_object_add(request, "fileId", json_object_new_string(context));
    struct b2_failure failure;
    struct stor_error ignored;
    enum stor_status status = b2_api_call(plugin, "b2_get_file_info", request, "readFiles", &info,
                                          &failure, &ignored);
    json_object_put(request);
    json_object_put(info);
    if (status != STOR_ENOTFOUND || failure.http_status != 404)
        return 0;
    *response = json_object_new_object(); /* rm reads nothing from the answer */
    return *response != NULL;
}

/* B2 refused to delete a version (403 access_denied): Object Lock. b2_get_file_info says until
 * when, or that a legal hold is on, so the one line says why; no bypass is tried. */
static enum stor_status locked(struct b2_plugin *plugin, const char *bucket, const char *name,
                               const char *id, int bypass, const struct b2_failure *failure,
                               struct stor_error *err)
{
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "fileId", json_object_new_string(id));
    struct stor_error ignored;
    struct b2_file file;
    char why[B2_WHY_MAX];
    int known = b2_api_call(plugin, "b2_get_file_info", request, "readFiles", &response, NULL,
                            &ignored) == STOR_OK &&
                b2_wire_file(response, &file, why) == 0;
    json_object_put(request);
    enum stor_status status;
    int64_t now = sp_clock_now(&plugin->clock);
    if (known && file.protection.legal_hold == 1)
        status = stor_fail(err, STOR_EAUTH, "%s/%s: version %s is under a legal hold: it cannot be "
                           "deleted until the hold is removed", bucket, name, id);
    else if (known && file.protection.retention_mode && file.protection.retain_until_ms > now) {
        time_t seconds = (time_t)(file.protection.retain_until_ms / 1000);
        struct tm when;
        char until[40] = "?";
        if (gmtime_r(&seconds, &when))
            strftime(until, sizeof until, "%Y-%m-%d %H:%M:%S UTC", &when);
        int governance = strcmp(file.protection.retention_mode, "governance") == 0;
        status = stor_fail(err, STOR_EAUTH, "%s/%s: version %s is under %s retention until %s: it "
                           "cannot be deleted before then%s", bucket, name, id,
                           file.protection.retention_mode, until,
                           !governance ? " (compliance: not even with the governance bypass)"
                           : bypass ? " (B2 refused the governance bypass)"
                                    : " (governance: the governance bypass, by a key with "
                                      "bypassGovernance, deletes it)");
    } else
        status = stor_fail(err, STOR_EAUTH, "%s/%s: B2 refused to delete version %s: Object Lock "
                           "(retention or legal hold) protects it (B2 says: %s)", bucket, name, id,
                           failure->message[0] ? failure->message : failure->code);
    json_object_put(response);
    return status;
}

/* b2_delete_file_version of exactly (name, id); bypass: bypassGovernance true. */
static enum stor_status delete_version(struct b2_plugin *plugin, const char *bucket,
                                       const char *name, const char *id, int bypass,
                                       struct stor_error *err)
{
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "fileName", json_object_new_string(name));
    json_object_object_add(request, "fileId", json_object_new_string(id));
    if (bypass)
        json_object_object_add(request, "bypassGovernance", json_object_new_boolean(1));
    struct b2_failure failure;
    struct b2_done_check check = {deleted_after_all, (void *)id};
    enum stor_status status = b2_api_call_checked(plugin, "b2_delete_file_version", request,
                                                  "deleteFiles", &check, &response, &failure, err);
    json_object_put(request);
    json_object_put(response);
    if (status == STOR_ENOTFOUND ||
        (strcmp(failure.code, "bad_request") == 0 && strstr(failure.message, "ileId")))
        status = stor_fail(err, STOR_ENOTFOUND, "no version %s of %s/%s", id, bucket, name);
    else if (status != STOR_OK && failure.outcome == SP_HTTP_COMPLETE &&
             failure.http_status == 403 && strcmp(failure.code, "access_denied") == 0)
        status = locked(plugin, bucket, name, id, bypass, &failure, err);
    else if (status == STOR_EAUTH && bypass && strcmp(failure.code, "unauthorized") == 0 &&
             b2_auth_has_capability(plugin, "deleteFiles") == 1 &&
             b2_auth_has_capability(plugin, "bypassGovernance") != 1)
        status = stor_fail(err, STOR_EAUTH, "b2_delete_file_version: the application key lacks "
                           "the bypassGovernance capability the governance bypass needs (B2 "
                           "says: %s)", failure.message[0] ? failure.message : failure.code);
    return status;
}

struct version_ids {
    char **ids;
    size_t count, capacity;
};

static int collect_id(void *context, const struct stor_object *object)
{
    struct version_ids *versions = context;
    if (!object->id)
        return 0;
    if (versions->count == versions->capacity) {
        size_t capacity = versions->capacity ? versions->capacity * 2 : 16;
        char **grown = realloc(versions->ids, capacity * sizeof *grown);
        if (!grown)
            return 1;
        versions->ids = grown;
        versions->capacity = capacity;
    }
    versions->ids[versions->count] = strdup(object->id);
    return versions->ids[versions->count++] == NULL;
}

/* ---- remove: hide the name ---- */

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
    enum stor_status status = b2_bucket_call_checked(plugin, bucket, "b2_hide_file", request,
                                                     "writeFiles", &check, &response, &failure,
                                                     err);
    json_object_put(request);
    json_object_put(response);
    if (status != STOR_OK && (strcmp(failure.code, "no_such_file") == 0 ||
                              strcmp(failure.code, "file_not_present") == 0 ||
                              strcmp(failure.code, "already_hidden") == 0))
        status = stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
    return status;
}

/* ---- remove_ex: delete versions ---- */

enum stor_status b2_remove_ex(void *instance, const char *bucket, const char *key,
                              const struct stor_remove_options *options, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    struct stor_remove_options opts = {0};
    if (options)
        memcpy(&opts, options, options->struct_size < sizeof opts ? options->struct_size : sizeof opts);
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    if (opts.flags & ~(unsigned)(STOR_REMOVE_ALL_VERSIONS | STOR_REMOVE_BYPASS_GOVERNANCE))
        return stor_fail(err, STOR_EINVAL, "remove: unknown flags 0x%x", opts.flags);
    int bypass = (opts.flags & STOR_REMOVE_BYPASS_GOVERNANCE) != 0;
    if (bypass) { /* a key known to lack the capability is refused before anything is sent */
        enum stor_status known = b2_auth_ensure(plugin, err);
        if (known != STOR_OK)
            return known;
        if (b2_auth_has_capability(plugin, "bypassGovernance") == 0)
            return stor_fail(err, STOR_EAUTH, "%s/%s: the application key lacks the "
                             "bypassGovernance capability, which the governance bypass needs",
                             bucket, key);
    }
    if (opts.version_id)
        return delete_version(plugin, bucket, key, opts.version_id, bypass, err);
    if (!(opts.flags & STOR_REMOVE_ALL_VERSIONS))
        return b2_remove(instance, bucket, key, err);
    /* Every version of exactly this name, hide markers included; ids first, then deletes, so the
     * listing's pages do not shift under it. */
    struct version_ids versions = {0};
    enum stor_status status = b2_list_versions(plugin, bucket, key, key, STOR_LIST_RECURSIVE,
                                               collect_id, &versions, err);
    if (status == STOR_ECANCELLED && !sp_cancelled(plugin->host))
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (status == STOR_OK && versions.count == 0)
        status = stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
    size_t deleted = 0;
    for (size_t i = 0; status == STOR_OK && i < versions.count; i++) {
        status = delete_version(plugin, bucket, key, versions.ids[i], bypass, err);
        if (status == STOR_ENOTFOUND) /* gone meanwhile: what we wanted */
            status = STOR_OK;
        deleted += status == STOR_OK;
    }
    sp_log(plugin->host, STOR_LOG_INFO, "%s: %zu of %zu versions deleted", key, deleted,
           versions.count);
    for (size_t i = 0; i < versions.count; i++)
        free(versions.ids[i]);
    free(versions.ids);
    return status;
}
