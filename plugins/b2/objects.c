/* plugins/b2/objects.c — stored files as the operations share them: B2's file object as the host
 * sees it (stor_object, SHA-1), a name's current version, and the checks that make a listing
 * believable. */
#include "objects.h"

#include "bucket.h"
#include "instance.h"
#include "names.h"
#include "sha1.h"
#include "wire.h"

#include <string.h>

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
