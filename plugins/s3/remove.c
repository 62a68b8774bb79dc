/* plugins/s3/remove.c — remove: DeleteObject, after a HeadObject (S3 answers 204 for a missing
 * key too, and the ABI wants STOR_ENOTFOUND for it). */
#include "operations.h"

#include "head.h"
#include "instance.h"
#include "request.h"

enum stor_status s3_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct s3_http_response response;
    enum stor_status status = s3_head_object(plugin, bucket, key, &response, err);
    if (status != STOR_OK)
        return status;
    s3_http_response_free(&response);
    struct s3_call call = {.operation = "DeleteObject", .method = "DELETE", .bucket = bucket,
                           .key = key, .body_fd = -1};
    status = s3_request(plugin, &call, &response, NULL, err);
    if (status == STOR_OK)
        s3_http_response_free(&response);
    return status;
}
