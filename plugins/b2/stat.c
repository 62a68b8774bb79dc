/* plugins/b2/stat.c — stat: one object's whole metadata, by version id (b2_get_file_info) or the
 * current version of exactly that name (b2_list_file_names from it, one entry), never a listing. */
#include "stat.h"

#include "authorized.h"
#include "bucket.h"
#include "instance.h"
#include "names.h"
#include "objects.h"
#include "sp_host.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static enum stor_status report(struct b2_plugin *plugin, const struct b2_file *file,
                               stor_object_fn on_result, void *context)
{
    if (file->info_truncated)
        sp_log(plugin->host, STOR_LOG_WARN,
               "%s: holds more than %d file-info entries; only the first "
               "are reported", file->file_name, B2_FILE_INFO_MAX);
    struct stor_object object = b2_file_object(file, b2_file_sha1(file));
    if (on_result)
        on_result(context, &object);
    return STOR_OK;
}

/* b2_get_file_info of version_id, which must be a version of bucket/key. */
static enum stor_status stat_version(struct b2_plugin *plugin, const char *bucket, const char *key,
                                     const char *version_id, stor_object_fn on_result,
                                     void *context, struct stor_error *err)
{
    char *bucket_id;
    enum stor_status status = b2_bucket_id(plugin, bucket, 0, &bucket_id, err);
    if (status != STOR_OK)
        return status;
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "fileId", json_object_new_string(version_id));
    struct b2_failure failure;
    status = b2_api_call(plugin, "b2_get_file_info", request, "readFiles", &response, &failure, err);
    json_object_put(request);
    /* A malformed id is B2's 400 "bad fileId"; an unfinished large file is 400 too: no version. */
    if (status == STOR_ENOTFOUND ||
        (status == STOR_EINVAL && strcmp(failure.code, "bad_request") == 0))
        status = stor_fail(err, STOR_ENOTFOUND, "no version %s of %s/%s", version_id, bucket, key);
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (status == STOR_OK && b2_wire_file(response, &file, why) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_file_info: B2's answer is malformed: %s",
                           why);
    else if (status == STOR_OK && (!file.file_id || strcmp(file.file_id, version_id) != 0))
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_file_info: B2 answered for another file "
                           "id than was asked: not believed");
    else if (status == STOR_OK &&
             (strcmp(file.file_name, key) != 0 ||
              (file.bucket_id && strcmp(file.bucket_id, bucket_id) != 0) ||
              (file.action && strcmp(file.action, "upload") != 0 && strcmp(file.action, "hide") != 0)))
        status = stor_fail(err, STOR_ENOTFOUND, "no version %s of %s/%s (B2 knows that id as "
                           "another file, or as an unfinished one)", version_id, bucket, key);
    if (status == STOR_OK)
        status = report(plugin, &file, on_result, context);
    json_object_put(response);
    free(bucket_id);
    return status;
}

enum stor_status b2_stat(void *instance, const char *bucket, const char *key,
                         const char *version_id, stor_object_fn on_result, void *context,
                         struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    if (version_id)
        return stat_version(plugin, bucket, key, version_id, on_result, context, err);
    /* b2_current_version takes only exactly key, uploaded: another name (a hidden one's next
     * neighbour, or a server's lie) and a hide marker are both "no such object". */
    json_object *answer, *entry;
    enum stor_status status = b2_current_version(plugin, bucket, key, &answer, &entry, err);
    if (status != STOR_OK)
        return status;
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (b2_wire_file(entry, &file, why) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "b2_list_file_names: B2's answer is malformed: %s",
                           why);
    else
        status = report(plugin, &file, on_result, context);
    json_object_put(answer);
    return status;
}
