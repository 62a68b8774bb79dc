/* plugins/b2/copy.c — copy inside B2, never through this machine: b2_copy_file for sources up to
 * 5 GB, above that b2_start_large_file + parallel b2_copy_part ranges + b2_finish_large_file. */
#include "operations.h"

#include "authorized.h"
#include "bucket.h"
#include "cleanup.h"
#include "instance.h"
#include "names.h"
#include "objects.h"
#include "protection.h"
#include "sha1.h"
#include "sp_host.h"
#include "wire.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define B2_MAX_PARTS 10000
#define B2_MIN_PART 5000000LL

static enum stor_status report(json_object *answer, const char *call, stor_object_fn on_result,
                               void *context, struct stor_error *err)
{
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (b2_wire_file(answer, &file, why) != 0)
        return stor_fail(err, STOR_EINTERNAL, "%s: B2's answer is malformed: %s", call, why);
    struct stor_object object = b2_file_object(&file, b2_file_sha1(&file));
    if (on_result)
        on_result(context, &object);
    return STOR_OK;
}

/* ---- above 5 GB: parts copied in parallel ---- */

/* The copy's encryption: the source's SSE-C key when it is SSE-C, and what the destination is
 * kept with (SSE-C with -o sse_c_key_file, else SSE-B2 when the source was). */
static void add_encryption(struct b2_plugin *plugin, json_object *request, enum b2_sse source,
                           const char *destination_field)
{
    enum b2_sse destination = plugin->config.sse_c_key_b64 ? B2_SSE_C : source == B2_SSE_B2 ? B2_SSE_B2
                                                                                          : B2_SSE_NONE;
    json_object *sse;
    if (source == B2_SSE_C && (sse = b2_sse_json(&plugin->config, B2_SSE_C)))
        json_object_object_add(request, "sourceServerSideEncryption", sse);
    if (destination_field && (sse = b2_sse_json(&plugin->config, destination)))
        json_object_object_add(request, destination_field, sse);
}

static enum b2_sse sse_of(const struct b2_file *file)
{
    const char *mode = file->protection.encryption;
    return !mode ? B2_SSE_NONE : strcmp(mode, "SSE-C") == 0 ? B2_SSE_C : B2_SSE_B2;
}

struct part_copy {
    struct b2_plugin *plugin;
    enum b2_sse source_sse;
    const char *source_id, *large_id, *key;
    int64_t size, part;
    int parts;
    char (*sha1s)[B2_SHA1_HEX_LENGTH + 1];
    pthread_mutex_t lock;
    int next;
    enum stor_status status;
    struct stor_error err;
};

static enum stor_status copy_one_part(struct part_copy *copy, int number, struct stor_error *err)
{
    int64_t first = (int64_t)(number - 1) * copy->part;
    int64_t last = first + copy->part < copy->size ? first + copy->part - 1 : copy->size - 1;
    char range[80];
    snprintf(range, sizeof range, "bytes=%" PRId64 "-%" PRId64, first, last);
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "sourceFileId", json_object_new_string(copy->source_id));
    json_object_object_add(request, "largeFileId", json_object_new_string(copy->large_id));
    json_object_object_add(request, "partNumber", json_object_new_int(number));
    json_object_object_add(request, "range", json_object_new_string(range));
    add_encryption(copy->plugin, request, copy->source_sse,
                   copy->plugin->config.sse_c_key_b64 ? "destinationServerSideEncryption" : NULL);
    struct b2_failure failure = {0};
    enum stor_status status = b2_api_call(copy->plugin, "b2_copy_part", request, "writeFiles",
                                          &response, &failure, err);
    json_object_put(request);
    if (status != STOR_OK) {
        b2_sse_c_refused(copy->plugin, &failure, copy->key, &status, err);
        return status;
    }
    json_object *sha1;
    if (json_object_object_get_ex(response, "contentSha1", &sha1) &&
        json_object_is_type(sha1, json_type_string) &&
        strlen(json_object_get_string(sha1)) == B2_SHA1_HEX_LENGTH)
        snprintf(copy->sha1s[number - 1], B2_SHA1_HEX_LENGTH + 1, "%s", json_object_get_string(sha1));
    else
        status = stor_fail(err, STOR_EINTERNAL, "b2_copy_part: B2's answer has no contentSha1");
    json_object_put(response);
    return status;
}

static void *part_worker(void *context)
{
    struct part_copy *copy = context;
    for (;;) {
        pthread_mutex_lock(&copy->lock);
        int number = copy->status == STOR_OK && copy->next <= copy->parts ? copy->next++ : 0;
        pthread_mutex_unlock(&copy->lock);
        if (number == 0 || sp_cancelled(copy->plugin->host))
            return NULL;
        struct stor_error err = {""};
        enum stor_status status = copy_one_part(copy, number, &err);
        if (status != STOR_OK) {
            pthread_mutex_lock(&copy->lock);
            if (copy->status == STOR_OK) {
                copy->status = status;
                copy->err = err;
            }
            pthread_mutex_unlock(&copy->lock);
            return NULL;
        }
    }
}

static enum stor_status copy_large(struct b2_plugin *plugin, json_object *source,
                                   const char *bucket, const char *key, int64_t size,
                                   stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct b2_file file;
    char why[B2_WHY_MAX];
    if (b2_wire_file(source, &file, why) != 0)
        return stor_fail(err, STOR_EINTERNAL, "b2_list_file_names: B2's answer is malformed: %s", why);
    if (sse_of(&file) == B2_SSE_C && !plugin->config.sse_c_key_b64)
        return stor_fail(err, STOR_EAUTH, "%s: this file is encrypted with SSE-C: give its key "
                         "with -o sse_c_key_file=PATH", file.file_name);
    pthread_mutex_lock(&plugin->auth_lock);
    int64_t part = plugin->account.recommended_part_size;
    pthread_mutex_unlock(&plugin->auth_lock);
    if (part < B2_MIN_PART)
        part = 100 * 1000 * 1000;
    if ((size + part - 1) / part > B2_MAX_PARTS)
        part = (size + B2_MAX_PARTS - 1) / B2_MAX_PARTS;
    json_object *request = json_object_new_object(), *response = NULL, *info;
    json_object_object_add(request, "fileName", json_object_new_string(key));
    json_object_object_add(request, "contentType",
                           json_object_new_string(file.content_type ? file.content_type
                                                                    : "application/octet-stream"));
    if (json_object_object_get_ex(source, "fileInfo", &info) &&
        json_object_is_type(info, json_type_object))
        json_object_object_add(request, "fileInfo", json_object_get(info));
    enum b2_sse destination = plugin->config.sse_c_key_b64 ? B2_SSE_C
                              : sse_of(&file) == B2_SSE_B2 ? B2_SSE_B2 : B2_SSE_NONE;
    json_object *sse = b2_sse_json(&plugin->config, destination);
    if (sse)
        json_object_object_add(request, "serverSideEncryption", sse);
    struct b2_failure failure;
    enum stor_status status = b2_bucket_call(plugin, bucket, "b2_start_large_file", request,
                                             "writeFiles", &response, &failure, err);
    json_object_put(request);
    if (status != STOR_OK)
        return status;
    json_object *id_object;
    char *large_id = json_object_object_get_ex(response, "fileId", &id_object) &&
                             json_object_is_type(id_object, json_type_string)
                         ? strdup(json_object_get_string(id_object))
                         : NULL;
    json_object_put(response);
    if (!large_id)
        return stor_fail(err, STOR_EINTERNAL, "b2_start_large_file: B2's answer has no fileId");
    struct part_copy copy = {.plugin = plugin, .source_sse = sse_of(&file), .source_id = file.file_id, .large_id = large_id,
                             .key = key, .size = size, .part = part,
                             .parts = (int)((size + part - 1) / part), .next = 1};
    copy.sha1s = calloc((size_t)copy.parts, sizeof *copy.sha1s);
    pthread_mutex_init(&copy.lock, NULL);
    sp_log(plugin->host, STOR_LOG_DEBUG, "%s: copying %d parts of %lld bytes, %d at a time", key,
           copy.parts, (long long)part, plugin->config.transfers);
    pthread_t threads[64];
    int started = 0;
    if (!copy.sha1s) {
        copy.status = stor_fail(&copy.err, STOR_EINTERNAL, "out of memory");
    } else {
        for (; started < plugin->config.transfers && started < copy.parts; started++)
            if (pthread_create(&threads[started], NULL, part_worker, &copy) != 0)
                break;
        if (started == 0)
            part_worker(&copy);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (copy.status == STOR_OK && sp_cancelled(plugin->host))
        copy.status = stor_fail(&copy.err, STOR_ECANCELLED, "%s: cancelled", key);
    if (copy.status == STOR_OK) {
        request = json_object_new_object();
        json_object *sha1s = json_object_new_array();
        for (int i = 0; i < copy.parts; i++)
            json_object_array_add(sha1s, json_object_new_string(copy.sha1s[i]));
        json_object_object_add(request, "fileId", json_object_new_string(large_id));
        json_object_object_add(request, "partSha1Array", sha1s);
        copy.status = b2_api_call(plugin, "b2_finish_large_file", request, "writeFiles",
                                  &response, NULL, &copy.err);
        json_object_put(request);
        if (copy.status != STOR_OK && copy.status != STOR_ECANCELLED &&
            b2_large_file_finished(plugin, large_id, size, &response))
            copy.status = STOR_OK;
        if (copy.status == STOR_OK)
            copy.status = report(response, "b2_finish_large_file", on_result, context, &copy.err);
        json_object_put(response);
    }
    if (copy.status != STOR_OK) {
        /* Leave no unfinished large file behind (best effort). */
        struct stor_error ignored;
        b2_cancel_large_file(plugin, large_id, &ignored);
        if (err)
            *err = copy.err;
    }
    status = copy.status;
    pthread_mutex_destroy(&copy.lock);
    free(copy.sha1s);
    free(large_id);
    return status;
}

/* b2_copy_file's answer was lost: the copy was done if the destination's current version holds
 * the source's bytes (as for a lost upload's answer, upload.c). */
struct copied_check {
    const char *bucket;
    const char *key;
    char sha1[B2_SHA1_HEX_LENGTH + 1]; /* "" when the source has none: cannot tell */
    int64_t size;
};

static int copied_after_all(struct b2_plugin *plugin, void *context, json_object **response)
{
    const struct copied_check *copied = context;
    json_object *answer, *entry;
    struct stor_error ignored;
    if (!copied->sha1[0] ||
        b2_current_version(plugin, copied->bucket, copied->key, &answer, &entry, &ignored) != STOR_OK)
        return 0;
    struct b2_file file;
    char why[B2_WHY_MAX];
    const char *sha1 = b2_wire_file(entry, &file, why) == 0 ? b2_file_sha1(&file) : NULL;
    int done = sha1 && strcmp(sha1, copied->sha1) == 0 && file.content_length == copied->size;
    if (done)
        *response = json_object_get(entry);
    json_object_put(answer);
    return done;
}

enum stor_status b2_copy(void *instance, const char *source_bucket, const char *source_key,
                         const char *bucket, const char *key, stor_object_fn on_result,
                         void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    for (const char *const *name = (const char *const[]){source_key, key, NULL}; *name; name++) {
        const char *problem = b2_file_name_problem(*name);
        if (problem)
            return stor_fail(err, STOR_EINVAL, "%s: %s", *name, problem);
    }
    if (!*source_bucket || !*bucket)
        return stor_fail(err, STOR_EINVAL, "a bucket name is required");
    json_object *answer = NULL, *source = NULL;
    enum stor_status status = b2_current_version(plugin, source_bucket, source_key, &answer, &source, err);
    if (status != STOR_OK)
        return status;
    json_object *length_object, *id_object;
    int64_t size = json_object_object_get_ex(source, "contentLength", &length_object)
                       ? json_object_get_int64(length_object) : 0;
    /* No B2 file is negative or above 10,000 parts of 5 GB; such a length would also overflow
     * the part arithmetic of copy_large. */
    if (size < 0 || size > B2_PARTS_MAX * B2_PART_SIZE_MAX) {
        json_object_put(answer);
        return stor_fail(err, STOR_EINTERNAL, "b2_list_file_names: B2's answer is malformed: "
                         "contentLength %lld of %s/%s is out of range", (long long)size,
                         source_bucket, source_key);
    }
    if (size > B2_SINGLE_UPLOAD_MAX) {
        status = copy_large(plugin, source, bucket, key, size, on_result, context, err);
        json_object_put(answer);
        return status;
    }
    struct copied_check copied = {.bucket = bucket, .key = key, .size = size};
    struct b2_file source_file;
    char why[B2_WHY_MAX];
    int parsed = b2_wire_file(source, &source_file, why) == 0;
    if (parsed && b2_file_sha1(&source_file))
        snprintf(copied.sha1, sizeof copied.sha1, "%s", b2_file_sha1(&source_file));
    enum b2_sse source_sse = parsed ? sse_of(&source_file) : B2_SSE_NONE;
    if (source_sse == B2_SSE_C && !plugin->config.sse_c_key_b64) {
        json_object_put(answer);
        return stor_fail(err, STOR_EAUTH, "%s/%s: this file is encrypted with SSE-C: give its key "
                         "with -o sse_c_key_file=PATH", source_bucket, source_key);
    }
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_get_ex(source, "fileId", &id_object);
    json_object_object_add(request, "sourceFileId", json_object_get(id_object));
    json_object_object_add(request, "fileName", json_object_new_string(key));
    json_object_object_add(request, "metadataDirective", json_object_new_string("COPY"));
    add_encryption(plugin, request, source_sse, "destinationServerSideEncryption");
    json_object_put(answer);
    if (strcmp(source_bucket, bucket) != 0) {
        char *bucket_id;
        status = b2_bucket_id(plugin, bucket, 0, &bucket_id, err);
        if (status != STOR_OK) {
            json_object_put(request);
            return status;
        }
        json_object_object_add(request, "destinationBucketId", json_object_new_string(bucket_id));
        free(bucket_id);
    }
    struct b2_failure failure;
    struct b2_done_check check = {copied_after_all, &copied};
    status = b2_api_call_checked(plugin, "b2_copy_file", request, "writeFiles", &check, &response,
                                 &failure, err);
    json_object_put(request);
    if (status != STOR_OK)
        b2_sse_c_refused(plugin, &failure, source_key, &status, err);
    if (status == STOR_OK)
        status = report(response, "b2_copy_file", on_result, context, err);
    json_object_put(response);
    return status;
}
