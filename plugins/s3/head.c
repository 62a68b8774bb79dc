/* plugins/s3/head.c — HeadObject (head.h); a 404 has no body, so its words are ours. */
#include "head.h"

#include "request.h"

enum stor_status s3_head_object(struct s3_plugin *plugin, const char *bucket, const char *key,
                                struct s3_http_response *response, struct stor_error *err)
{
    struct s3_call call = {.operation = "HeadObject", .method = "HEAD", .bucket = bucket,
                           .key = key, .body_fd = -1};
    enum stor_status status = s3_request(plugin, &call, response, NULL, err);
    if (status == STOR_ENOTFOUND)
        return stor_fail(err, STOR_ENOTFOUND, "not found: %s/%s", bucket, key);
    return status;
}
