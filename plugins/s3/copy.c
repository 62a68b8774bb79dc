/* plugins/s3/copy.c — copy: CopyObject inside S3 (metadata copied with the bytes), up to 5 GiB;
 * the new object read back with HeadObject for the report. */
#include "operations.h"

#include "head.h"
#include "instance.h"
#include "meta.h"
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stor_status s3_copy(void *instance, const char *source_bucket, const char *source_key,
                         const char *bucket, const char *key, stor_object_fn on_result,
                         void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct s3_http_response response;
    enum stor_status status = s3_head_object(plugin, source_bucket, source_key, &response, err);
    if (status != STOR_OK)
        return status;
    struct s3_object_view view;
    s3_meta_read(&response, source_key, &view);
    int64_t size = view.object.size;
    s3_http_response_free(&response);
    if (size > S3_SINGLE_PUT_MAX)
        return stor_fail(err, STOR_EUNSUPPORTED, "%s/%s is above 5 GiB: S3 copies that only in "
                         "parts (UploadPartCopy), which the s3 backend does not do yet",
                         source_bucket, source_key);
    if (strcmp(source_bucket, bucket) == 0 && strcmp(source_key, key) == 0)
        return stor_fail(err, STOR_EINVAL, "a copy onto itself");
    char *source = NULL;
    if (asprintf(&source, "/%s/%s", source_bucket, source_key) < 0)
        source = NULL;
    char *escaped = source ? s3_sigv4_escape(source, strlen(source), true) : NULL;
    free(source);
    if (!escaped)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    struct s3_sigv4_header headers[] = {{"x-amz-copy-source", escaped},
                                        {"x-amz-metadata-directive", "COPY"}};
    struct s3_call call = {.operation = "CopyObject", .method = "PUT", .bucket = bucket,
                           .key = key, .headers = headers, .header_count = 2, .body_fd = -1};
    status = s3_request(plugin, &call, &response, NULL, err);
    free(escaped);
    if (status != STOR_OK)
        return status;
    char etag[80], why[S3_WHY_MAX];
    struct s3_wire_error error;
    /* S3 may answer 200 and fail inside the body, when the copy went wrong after it began. */
    if (s3_wire_result_etag(response.body, response.body_length, "CopyObjectResult", etag, &error,
                            why) != 0)
        status = stor_fail(err, STOR_EIO, "S3 CopyObject %s/%s to %s/%s: %s", source_bucket,
                           source_key, bucket, key, why);
    s3_http_response_free(&response);
    if (status != STOR_OK)
        return status;
    status = s3_head_object(plugin, bucket, key, &response, err);
    if (status != STOR_OK)
        return status;
    s3_meta_read(&response, key, &view);
    if (on_result && on_result(context, &view.object) != 0)
        status = stor_fail(err, STOR_ECANCELLED, "stopped");
    s3_http_response_free(&response);
    return status;
}
