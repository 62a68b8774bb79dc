/* plugins/s3/stat.c — stat: HeadObject (of one version, when asked), every header the plugin
 * keeps read back (meta.c). */
#include "operations.h"

#include "head.h"
#include "instance.h"
#include "meta.h"

#include <string.h>

enum stor_status s3_stat(void *instance, const char *bucket, const char *key,
                         const char *version_id, stor_object_fn on_result, void *context,
                         struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    if (version_id && (!*version_id || strlen(version_id) > 1024 || strpbrk(version_id, "\r\n")))
        return stor_fail(err, STOR_EINVAL, "%s: '%s' is not an S3 version id", key, version_id);
    struct sp_http_response response;
    enum stor_status status = s3_head_version(plugin, bucket, key, version_id, &response, NULL,
                                              err);
    if (status != STOR_OK)
        return status;
    struct s3_object_view view;
    s3_meta_read(&response, key, &view);
    if (on_result && on_result(context, &view.object) != 0)
        status = stor_fail(err, STOR_ECANCELLED, "stopped");
    sp_http_response_free(&response);
    return status;
}
