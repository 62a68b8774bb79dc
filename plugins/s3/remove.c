/* plugins/s3/remove.c — remove: DeleteObject after a HeadObject (S3 answers 204 for a missing key
 * too, and the ABI wants STOR_ENOTFOUND for it); on a versioned bucket it leaves a delete marker.
 * remove_ex: one version for good (DeleteObject ?versionId), or every version of the name. */
#include "operations.h"

#include "head.h"
#include "host_services.h"
#include "instance.h"
#include "pages.h"
#include "request.h"

#include <stdlib.h>
#include <string.h>

static enum stor_status delete_object(struct s3_plugin *plugin, const char *bucket,
                                      const char *key, const char *version_id, int bypass,
                                      struct stor_error *err)
{
    struct s3_sigv4_param params[1] = {{"versionId", version_id}};
    struct s3_sigv4_header headers[1] = {{"x-amz-bypass-governance-retention", "true"}};
    struct s3_call call = {.operation = "DeleteObject", .method = "DELETE", .bucket = bucket,
                           .key = key, .params = params, .param_count = version_id ? 1 : 0,
                           .headers = headers, .header_count = bypass ? 1 : 0, .body_fd = -1};
    struct s3_http_response response;
    enum stor_status status = s3_request(plugin, &call, &response, NULL, err);
    if (status == STOR_OK)
        s3_http_response_free(&response);
    return status;
}

enum stor_status s3_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct s3_http_response response;
    enum stor_status status = s3_head_object(plugin, bucket, key, &response, err);
    if (status != STOR_OK)
        return status;
    s3_http_response_free(&response);
    return delete_object(plugin, bucket, key, NULL, 0, err);
}

/* The version ids of exactly key, newest first, from a version listing of its prefix. */
struct versions {
    const char *key;
    char **ids;
    size_t count;
};

static enum stor_status collect_version(void *context, const struct s3_list_entry *entry,
                                        struct stor_error *err)
{
    struct versions *v = context;
    if (entry->is_prefix || !entry->version_id || strcmp(entry->key, v->key) != 0)
        return STOR_OK; /* a longer name under the same prefix */
    char **grown = realloc(v->ids, (v->count + 1) * sizeof *grown);
    if (grown)
        v->ids = grown;
    if (!grown || !(grown[v->count] = strdup(entry->version_id)))
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    v->count++;
    return STOR_OK;
}

static enum stor_status remove_all_versions(struct s3_plugin *plugin, const char *bucket,
                                            const char *key, int bypass, struct stor_error *err)
{
    struct versions v = {.key = key};
    enum stor_status status = s3_pages_list(plugin, bucket, key,
                                            STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS,
                                            collect_version, &v, err);
    if (status == STOR_OK && v.count == 0)
        status = stor_fail(err, STOR_ENOTFOUND, "not found: %s/%s", bucket, key);
    for (size_t i = 0; status == STOR_OK && i < v.count; i++) {
        status = delete_object(plugin, bucket, key, v.ids[i], bypass, err);
        if (status == STOR_OK)
            s3_log(plugin, STOR_LOG_DEBUG, "%s/%s: version %s deleted", bucket, key, v.ids[i]);
    }
    for (size_t i = 0; i < v.count; i++)
        free(v.ids[i]);
    free(v.ids);
    return status;
}

enum stor_status s3_remove_ex(void *instance, const char *bucket, const char *key,
                              const struct stor_remove_options *options, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct stor_remove_options opts = {0};
    if (options)
        memcpy(&opts, options, options->struct_size < sizeof opts ? options->struct_size
                                                                  : sizeof opts);
    int bypass = (opts.flags & STOR_REMOVE_BYPASS_GOVERNANCE) != 0;
    if (opts.version_id && (!*opts.version_id || strlen(opts.version_id) > 1024 ||
                            strpbrk(opts.version_id, "\r\n")))
        return stor_fail(err, STOR_EINVAL, "%s: '%s' is not an S3 version id", key,
                         opts.version_id);
    if (opts.version_id) {
        /* S3 deletes a version that is not there without a word: HEAD it first (a delete
         * marker answers 405, and is there to delete). */
        struct s3_http_response response;
        int marker = 0;
        enum stor_status status = s3_head_version(plugin, bucket, key, opts.version_id, &response,
                                                  &marker, err);
        if (status != STOR_OK && !marker)
            return status;
        if (status == STOR_OK)
            s3_http_response_free(&response);
        return delete_object(plugin, bucket, key, opts.version_id, bypass, err);
    }
    if (opts.flags & STOR_REMOVE_ALL_VERSIONS)
        return remove_all_versions(plugin, bucket, key, bypass, err);
    return s3_remove(instance, bucket, key, err);
}
