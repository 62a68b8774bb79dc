/* plugins/s3/buckets.c — list_buckets (ListBuckets, checked for byte order), create_bucket
 * (CreateBucket in the plugin's region), delete_bucket (DeleteBucket of an empty bucket). */
#include "operations.h"

#include "instance.h"
#include "request.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct s3_bucket_entry *)a)->name, ((const struct s3_bucket_entry *)b)->name);
}

enum stor_status s3_list_buckets(void *instance, stor_bucket_fn on_bucket, void *context,
                                 struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct s3_call call = {.operation = "ListBuckets", .method = "GET", .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(plugin, &call, &response, NULL, err);
    if (status != STOR_OK)
        return status;
    struct s3_bucket_entry *buckets;
    size_t count;
    char why[S3_WHY_MAX];
    if (s3_wire_buckets(response.body, response.body_length, &buckets, &count, why) != 0) {
        sp_http_response_free(&response);
        return stor_fail(err, STOR_EINTERNAL, "S3 ListBuckets: the answer is malformed: %s", why);
    }
    sp_http_response_free(&response);
    if (count > 1) /* buckets may be NULL when there are none: qsort may not take NULL */
        qsort(buckets, count, sizeof *buckets, by_name);
    for (size_t i = 0; i + 1 < count; i++)
        if (strcmp(buckets[i].name, buckets[i + 1].name) == 0) {
            status = stor_fail(err, STOR_EINTERNAL, "S3 ListBuckets: %s is listed twice: not "
                               "believed", buckets[i].name);
            break;
        }
    for (size_t i = 0; status == STOR_OK && i < count; i++) {
        struct stor_bucket bucket = {.name = buckets[i].name, .is_public = -1,
                                     .created_ms = buckets[i].created_ms};
        if (on_bucket && on_bucket(context, &bucket) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "stopped");
    }
    s3_buckets_free(buckets, count);
    return status;
}

enum stor_status s3_create_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    if (options && options->setting_count > 0)
        return stor_fail(err, STOR_EINVAL, "backend s3 has no bucket setting %s",
                         options->settings[0].key);
    if (options && options->is_public == 1)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 makes private buckets only (public "
                         "access is a bucket policy, set outside stor)");
    char body[256];
    int constrained = strcmp(plugin->config.region, "us-east-1") != 0;
    if (constrained)
        snprintf(body, sizeof body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
                 "doc/2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                 "</CreateBucketConfiguration>", plugin->config.region);
    struct s3_call call = {.operation = "CreateBucket", .method = "PUT", .bucket = bucket,
                           .body = constrained ? body : NULL,
                           .body_length = constrained ? strlen(body) : 0, .body_fd = -1,
                           .sign_body = 1};
    struct sp_http_response response;
    struct s3_wire_error error;
    enum stor_status status = s3_request(plugin, &call, &response, &error, err);
    if (status != STOR_OK) {
        if (strcmp(error.code, "BucketAlreadyOwnedByYou") == 0)
            return stor_fail(err, STOR_EINVAL, "bucket %s exists already (it is yours)", bucket);
        if (strcmp(error.code, "BucketAlreadyExists") == 0)
            return stor_fail(err, STOR_EINVAL, "bucket %s exists already (bucket names are "
                             "global: another account has it)", bucket);
        return status;
    }
    sp_http_response_free(&response);
    struct stor_bucket made = {.name = bucket, .is_public = 0, .created_ms = -1};
    if (on_result && on_result(context, &made) != 0)
        return stor_fail(err, STOR_ECANCELLED, "stopped");
    return STOR_OK;
}

enum stor_status s3_delete_bucket(void *instance, const char *bucket, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct s3_call call = {.operation = "DeleteBucket", .method = "DELETE", .bucket = bucket,
                           .body_fd = -1};
    struct sp_http_response response;
    struct s3_wire_error error;
    enum stor_status status = s3_request(plugin, &call, &response, &error, err);
    if (status == STOR_OK)
        sp_http_response_free(&response);
    else if (strcmp(error.code, "BucketNotEmpty") == 0)
        return stor_fail(err, STOR_EINVAL, "bucket %s is not empty: remove its objects (and "
                         "unfinished uploads: stor cleanup) first", bucket);
    return status;
}
