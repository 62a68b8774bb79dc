/* plugins/s3/share.c — share: a presigned GET of one key (SigV4 query signing), 1 s to 7 days.
 * S3 presigns one key at a time: a prefix is refused. */
#include "operations.h"

#include "instance.h"
#include "request.h"
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stor_status s3_share(void *instance, const char *bucket, const char *key_or_prefix,
                          int64_t expires_ms, stor_url_fn on_url, void *context,
                          struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    if (expires_ms < 1 || expires_ms > (int64_t)S3_SIGV4_MAX_EXPIRES * 1000)
        return stor_fail(err, STOR_EINVAL, "a share lasts from 1 second to 7 days (604800 s) on S3");
    size_t length = strlen(key_or_prefix);
    if (length == 0 || key_or_prefix[length - 1] == '/')
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 shares one object, not a prefix: "
                         "a presigned URL names one key");
    unsigned seconds = (unsigned)((expires_ms + 999) / 1000);
    char *host = NULL, *path = NULL;
    char *url = s3_request_url(plugin, bucket, key_or_prefix, &host, &path);
    if (!url)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    struct s3_sigv4_header headers[] = {{"host", host}};
    struct s3_sigv4_request request = {.method = "GET", .path = path, .headers = headers,
                                       .header_count = 1};
    struct s3_sigv4_credentials credentials = {plugin->config.access_key,
                                               plugin->config.secret_key,
                                               plugin->config.session_token};
    char date[17], why[200];
    struct s3_sigv4_scope scope;
    s3_request_scope(plugin, date, &scope);
    char *query = NULL;
    enum stor_status status = STOR_OK;
    if (s3_sigv4_presign(&request, &credentials, &scope, seconds, &query, why, sizeof why) !=
        S3_SIGV4_OK)
        status = stor_fail(err, STOR_EINVAL, "cannot presign %s/%s: %s", bucket, key_or_prefix, why);
    char *whole = NULL;
    if (status == STOR_OK && asprintf(&whole, "%s?%s", url, query) < 0)
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (status == STOR_OK && on_url)
        on_url(context, whole, sp_clock_now(&plugin->clock) + (int64_t)seconds * 1000);
    free(whole);
    free(query);
    free(url);
    free(host);
    free(path);
    return status;
}
