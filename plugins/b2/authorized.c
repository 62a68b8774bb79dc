/* plugins/b2/authorized.c — B2's JSON calls with the account's token: authorize first if needed,
 * and once per call a new token when B2 refuses this one or its cached apiUrl cannot be reached.
 * Above auth.c, which sits above call.c (the call itself). */
#include "authorized.h"

#include "auth.h"
#include "call.h"
#include "instance.h"
#include "sp_host.h"

#include <string.h>

enum stor_status b2_fail(struct b2_plugin *plugin, struct stor_error *err, const char *call,
                         const struct b2_failure *failure, const char *capability)
{
    /* Only an "unauthorized" refusal asks what the key may do (auth's account, under its lock). */
    int has = capability && strcmp(failure->code, "unauthorized") == 0
                  ? b2_auth_has_capability(plugin, capability)
                  : -1;
    return b2_failure_report(err, call, failure, capability, has);
}

/* after_cancel: one try that does not watch the user's Ctrl-C (backing off does: it ends). */
static enum stor_status api_call(struct b2_plugin *plugin, const char *call, json_object *request,
                                 const char *capability, const struct b2_done_check *check,
                                 int after_cancel, json_object **response,
                                 struct b2_failure *failure, struct stor_error *err)
{
    struct b2_failure local_failure;
    if (!failure)
        failure = &local_failure;
    memset(failure, 0, sizeof *failure);
    *response = NULL;
    const char *body = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
    if (!body)
        return stor_fail(err, STOR_EINTERNAL, "%s: out of memory", call);
    struct b2_credentials credentials;
    enum stor_status status = b2_auth_get(plugin, &credentials, err);
    if (status != STOR_OK)
        return status;
    struct b2_json_call json_call = {.call = call, .body = body, .check = check,
                                     .after_cancel = after_cancel};
    b2_backoff_start(plugin, &json_call.backoff); /* one budget, whatever the tokens */
    int reauthorized = 0;
    for (;;) {
        struct b2_call_token token = {.api_url = credentials.api_url, .token = credentials.token,
                                      .from_cache = credentials.from_cache};
        enum b2_call_end end = b2_call_json(plugin, &json_call, &token, !reauthorized, response,
                                            failure, &status, err);
        if (end == B2_CALL_DONE)
            break;
        if (end == B2_CALL_REFUSED) {
            status = b2_fail(plugin, err, call, failure, capability);
            break;
        }
        if (end == B2_CALL_API_URL_UNREACHABLE)
            sp_log(plugin->host, STOR_LOG_INFO, "%s: cannot reach the cached apiUrl %s (%s); "
                   "authorizing again", call, credentials.api_url, failure->message);
        else
            sp_log(plugin->host, STOR_LOG_INFO, "%s: account token refused (%s), re-authorizing",
                   call, failure->code[0] ? failure->code : "401");
        status = b2_auth_reauthorize(plugin, &credentials, err);
        if (status != STOR_OK)
            return status;
        reauthorized = 1;
    }
    b2_credentials_free(&credentials);
    return status;
}

enum stor_status b2_api_call(struct b2_plugin *plugin, const char *call, json_object *request,
                             const char *capability, json_object **response,
                             struct b2_failure *failure, struct stor_error *err)
{
    return api_call(plugin, call, request, capability, NULL, 0, response, failure, err);
}

enum stor_status b2_api_call_checked(struct b2_plugin *plugin, const char *call,
                                     json_object *request, const char *capability,
                                     const struct b2_done_check *check, json_object **response,
                                     struct b2_failure *failure, struct stor_error *err)
{
    return api_call(plugin, call, request, capability, check, 0, response, failure, err);
}

enum stor_status b2_api_call_after_cancel(struct b2_plugin *plugin, const char *call,
                                          json_object *request, const char *capability,
                                          json_object **response, struct stor_error *err)
{
    return api_call(plugin, call, request, capability, NULL, 1, response, NULL, err);
}
