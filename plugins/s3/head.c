/* plugins/s3/head.c — HeadObject (head.h), of the current object or of one version; a 404 has no
 * body, so its words are ours; a delete marker's 405 is a name that is not there. */
#include "head.h"

#include "request.h"

#include <string.h>

enum stor_status s3_head_version(struct s3_plugin *plugin, const char *bucket, const char *key,
                                 const char *version_id, struct sp_http_response *response,
                                 int *delete_marker, struct stor_error *err)
{
    struct s3_sigv4_param params[1] = {{"versionId", version_id}};
    struct s3_call call = {.operation = "HeadObject", .method = "HEAD", .bucket = bucket,
                           .key = key, .params = params, .param_count = version_id ? 1 : 0,
                           .body_fd = -1};
    if (delete_marker)
        *delete_marker = 0;
    struct s3_wire_error error;
    enum stor_status status = s3_request(plugin, &call, response, &error, err);
    /* S3 answers a delete marker's version with 405 MethodNotAllowed (no body for HEAD). */
    if (version_id && status == STOR_EINVAL && strcmp(error.code, "MethodNotAllowed") == 0) {
        if (delete_marker)
            *delete_marker = 1;
        return stor_fail(err, STOR_ENOTFOUND, "version %s of %s/%s is a delete marker",
                         version_id, bucket, key);
    }
    if (status == STOR_ENOTFOUND && version_id)
        return stor_fail(err, STOR_ENOTFOUND, "not found: version %s of %s/%s", version_id,
                         bucket, key);
    if (status == STOR_ENOTFOUND)
        return stor_fail(err, STOR_ENOTFOUND, "not found: %s/%s", bucket, key);
    return status;
}

enum stor_status s3_head_object(struct s3_plugin *plugin, const char *bucket, const char *key,
                                struct sp_http_response *response, struct stor_error *err)
{
    return s3_head_version(plugin, bucket, key, NULL, response, NULL, err);
}
