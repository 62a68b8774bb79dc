/* plugins/b2/cleanup.c — unfinished large files: listing them (b2_list_unfinished_large_files,
 * paged), cancelling one (b2_cancel_large_file), telling whether one got finished after all
 * (b2_get_file_info), and the ABI 2 cleanup slot built on them. */
#include "cleanup.h"

#include "auth.h"
#include "authorized.h"
#include "bucket.h"
#include "instance.h"
#include "objects.h"
#include "sp_host.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

enum stor_status b2_list_unfinished(struct b2_plugin *plugin, const char *bucket_id,
                                    const char *prefix, b2_unfinished_fn on_file, void *context,
                                    struct stor_error *err)
{
    char *start = NULL, *started = NULL;
    enum stor_status status = STOR_OK;
    do {
        json_object *request = json_object_new_object(), *response = NULL, *files, *next;
        if (!request) {
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        json_object_object_add(request, "bucketId", json_object_new_string(bucket_id));
        if (prefix && *prefix)
            json_object_object_add(request, "namePrefix", json_object_new_string(prefix));
        if (start)
            json_object_object_add(request, "startFileId", json_object_new_string(start));
        json_object_object_add(request, "maxFileCount", json_object_new_int(100));
        free(started);
        started = start; /* the next page's cursor must differ from it */
        start = NULL;
        status = b2_api_call(plugin, "b2_list_unfinished_large_files", request, "listFiles",
                             &response, NULL, err);
        json_object_put(request);
        if (status != STOR_OK)
            break;
        if (!json_object_object_get_ex(response, "files", &files) ||
            !json_object_is_type(files, json_type_array)) {
            json_object_put(response);
            status = stor_fail(err, STOR_EINTERNAL, "b2_list_unfinished_large_files: B2's answer "
                               "is malformed: field files is missing or not an array");
            break;
        }
        for (size_t i = 0; i < json_object_array_length(files) && status == STOR_OK; i++) {
            json_object *file = json_object_array_get_idx(files, i), *name;
            const char *file_name = json_object_object_get_ex(file, "fileName", &name) &&
                                            json_object_is_type(name, json_type_string)
                                        ? json_object_get_string(name)
                                        : "";
            /* Never act on an unfinished file outside the prefix, whatever B2 says. */
            if (prefix && strncmp(file_name, prefix, strlen(prefix)) != 0)
                status = b2_listed_outside(err, "b2_list_unfinished_large_files", file_name, prefix);
            else if (on_file(context, file) != 0)
                status = STOR_ECANCELLED;
        }
        if (status == STOR_OK && json_object_object_get_ex(response, "nextFileId", &next) &&
            json_object_is_type(next, json_type_string) && *json_object_get_string(next)) {
            if (started && strcmp(json_object_get_string(next), started) == 0)
                status = b2_cursor_stuck(err, "b2_list_unfinished_large_files", "nextFileId");
            else if (!(start = strdup(json_object_get_string(next))))
                status = stor_fail(err, STOR_EINTERNAL, "out of memory");
        }
        json_object_put(response);
    } while (status == STOR_OK && start);
    free(start);
    free(started);
    return status;
}

enum stor_status b2_cancel_large_file(struct b2_plugin *plugin, const char *file_id,
                                      struct stor_error *err)
{
    json_object *request = json_object_new_object(), *response = NULL;
    if (!request)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    json_object_object_add(request, "fileId", json_object_new_string(file_id));
    /* After Ctrl-C this is the clean-up of what was cut short: it still goes out, once. */
    enum stor_status status =
        sp_cancelled(plugin->host)
            ? b2_api_call_after_cancel(plugin, "b2_cancel_large_file", request, "writeFiles",
                                       &response, err)
            : b2_api_call(plugin, "b2_cancel_large_file", request, "writeFiles", &response, NULL,
                          err);
    json_object_put(request);
    json_object_put(response);
    return status;
}

struct cleanup {
    struct b2_plugin *plugin;
    int64_t older_than_ms;
    int64_t now_ms;
    int dry_run;
    stor_object_fn on_object;
    void *context;
    struct stor_error *err;
    enum stor_status status; /* of a cancel that failed */
};

/* Old enough: cancel it (unless dry run), then report it, so what is reported was done. */
static int clean_one(void *context, json_object *object)
{
    struct cleanup *cleanup = context;
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (b2_wire_file(object, &file, why) != 0 || !file.file_id) {
        cleanup->status = stor_fail(cleanup->err, STOR_EINTERNAL, "b2_list_unfinished_large_files: "
                                    "B2's answer is malformed: %s", why);
        return 1;
    }
    if (cleanup->older_than_ms > 0 &&
        (file.upload_timestamp < 0 || cleanup->now_ms - file.upload_timestamp < cleanup->older_than_ms))
        return 0;
    if (!cleanup->dry_run) {
        cleanup->status = b2_cancel_large_file(cleanup->plugin, file.file_id, cleanup->err);
        if (cleanup->status != STOR_OK)
            return 1;
    }
    struct stor_object reported = {
        .key = file.file_name,
        .size = -1,
        .mtime_ms = file.upload_timestamp,
        .id = file.file_id,
        .content_type = file.content_type,
    };
    if (cleanup->on_object && cleanup->on_object(cleanup->context, &reported) != 0) {
        cleanup->status = stor_fail(cleanup->err, STOR_ECANCELLED, "cleanup stopped");
        return 1;
    }
    return 0;
}

enum stor_status b2_cleanup(void *instance, const char *bucket, const char *prefix,
                            int64_t older_than_ms, int dry_run, stor_object_fn on_object,
                            void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    char *bucket_id;
    enum stor_status status = b2_bucket_id(plugin, bucket, 0, &bucket_id, err);
    if (status != STOR_OK)
        return status;
    char *narrowed = NULL;
    status = b2_auth_listing_prefix(plugin, prefix, &narrowed, err);
    if (status != STOR_OK) {
        free(bucket_id);
        return status;
    }
    struct cleanup cleanup = {.plugin = plugin, .older_than_ms = older_than_ms,
                              .now_ms = sp_clock_now(&plugin->clock), .dry_run = dry_run,
                              .on_object = on_object, .context = context, .err = err};
    status = b2_list_unfinished(plugin, bucket_id, narrowed ? narrowed : prefix, clean_one,
                                &cleanup, err);
    free(narrowed);
    if (status == STOR_ECANCELLED && cleanup.status != STOR_OK)
        status = cleanup.status;
    free(bucket_id);
    return status;
}

int b2_large_file_finished(struct b2_plugin *plugin, const char *file_id, int64_t length,
                           json_object **response)
{
    json_object *request = json_object_new_object();
    struct stor_error ignored;
    if (!request)
        return 0;
    json_object_object_add(request, "fileId", json_object_new_string(file_id));
    enum stor_status status = b2_api_call(plugin, "b2_get_file_info", request, "readFiles",
                                          response, NULL, &ignored);
    json_object_put(request);
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (status != STOR_OK)
        return 0;
    if (b2_wire_file(*response, &file, why) == 0 && file.action &&
        strcmp(file.action, "upload") == 0 && file.content_length == length)
        return 1;
    json_object_put(*response);
    *response = NULL;
    return 0;
}
