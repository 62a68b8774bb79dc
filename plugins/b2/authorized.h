/* plugins/b2/authorized.h — B2's JSON calls with the account token (authorized.c), a new token
 * once when B2 refuses one: what every operation calls. */
#ifndef B2_AUTHORIZED_H
#define B2_AUTHORIZED_H

#include "call.h"

/* POST {apiUrl}/b2api/v2/<call> with the account token and JSON body request; retries transient
 * failures, re-authorizes once on an expired token. On STOR_OK *response holds the parsed
 * object; otherwise err is filled and failure (if given) tells what B2 said. */
enum stor_status b2_api_call(struct b2_plugin *plugin, const char *call, json_object *request,
                             const char *capability, json_object **response,
                             struct b2_failure *failure, struct stor_error *err);
/* The same for a call that is not idempotent: check looks whether B2 did it when its answer was
 * lost, before it is asked again. */
enum stor_status b2_api_call_checked(struct b2_plugin *plugin, const char *call,
                                     json_object *request, const char *capability,
                                     const struct b2_done_check *check, json_object **response,
                                     struct b2_failure *failure, struct stor_error *err);
/* One try of call even after the user's Ctrl-C: the clean-up a cancelled operation owes (its
 * unfinished large file cancelled, so that nothing is left billed). A second Ctrl-C ends the
 * process, so this cannot hold it up against the user's will. */
enum stor_status b2_api_call_after_cancel(struct b2_plugin *plugin, const char *call,
                                          json_object *request, const char *capability,
                                          json_object **response, struct stor_error *err);
/* Report failure of call as the user should read it, asking auth.c whether the key has
 * capability (what call needs, or NULL) when B2 says unauthorized. */
enum stor_status b2_fail(struct b2_plugin *plugin, struct stor_error *err, const char *call,
                         const struct b2_failure *failure, const char *capability);

#endif
