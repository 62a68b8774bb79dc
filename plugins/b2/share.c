/* plugins/b2/share.c — share: a URL anyone may fetch until it expires, from a download
 * authorization (b2_get_download_authorization, shareFiles) for the name or the prefix. */
#include "operations.h"

#include "auth.h"
#include "bucket.h"
#include "instance.h"
#include "names.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stor_status b2_share(void *instance, const char *bucket, const char *key_or_prefix,
                          int64_t expires_ms, stor_url_fn on_url, void *context,
                          struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    /* B2 takes whole seconds from 1 to one week; a part of a second is rounded up. */
    if (expires_ms <= 0 || expires_ms > (int64_t)B2_SHARE_SECONDS_MAX * 1000)
        return stor_fail(err, STOR_EINVAL, "a B2 share lasts from 1 second to %d seconds (7 "
                         "days); %lld ms is outside that range", B2_SHARE_SECONDS_MAX,
                         (long long)expires_ms);
    int64_t seconds = (expires_ms + 999) / 1000;
    size_t length = strlen(key_or_prefix);
    int is_prefix = length > 0 && key_or_prefix[length - 1] == '/';
    if (!is_prefix) {
        const char *problem = b2_file_name_problem(key_or_prefix);
        if (problem)
            return stor_fail(err, STOR_EINVAL, "%s: %s", key_or_prefix, problem);
    }
    enum stor_status status = b2_auth_ensure(plugin, err);
    if (status != STOR_OK)
        return status;
    if (b2_auth_has_capability(plugin, "shareFiles") == 0)
        return stor_fail(err, STOR_EAUTH, "share: the application key lacks the shareFiles "
                         "capability (b2_get_download_authorization needs it)");
    if (b2_auth_refuses_bucket(plugin, bucket, err))
        return STOR_EAUTH;
    int64_t now = sp_clock_now(&plugin->clock);
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "fileNamePrefix", json_object_new_string(key_or_prefix));
    json_object_object_add(request, "validDurationInSeconds", json_object_new_int64(seconds));
    struct b2_failure failure;
    status = b2_bucket_call(plugin, bucket, "b2_get_download_authorization", request, "shareFiles",
                            &response, &failure, err);
    json_object *bucket_id = NULL;
    json_object_object_get_ex(request, "bucketId", &bucket_id);
    const char *token = NULL;
    char why[B2_WHY_MAX];
    if (status == STOR_OK &&
        b2_wire_download_authorization(response, json_object_get_string(bucket_id), key_or_prefix,
                                       &token, why) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_download_authorization: B2's answer is "
                           "malformed: %s", why);
    struct b2_credentials credentials = {0};
    if (status == STOR_OK)
        status = b2_auth_get(plugin, &credentials, err);
    char *path = status == STOR_OK ? b2_url_path_encode(key_or_prefix) : NULL;
    char *query = status == STOR_OK ? b2_percent_encode(token) : NULL, *url = NULL;
    if (status == STOR_OK &&
        (!path || !query ||
         asprintf(&url, "%s/file/%s/%s?Authorization=%s",
                  plugin->config.download_url ? plugin->config.download_url
                                              : credentials.download_url,
                  bucket, path, query) < 0)) {
        url = NULL;
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    /* For a prefix the URL is the prefix's own: the caller appends the names below it. */
    if (status == STOR_OK && on_url)
        on_url(context, url, now + seconds * 1000);
    free(url);
    free(path);
    free(query);
    b2_credentials_free(&credentials);
    json_object_put(request);
    json_object_put(response);
    return status;
}
