/* plugins/b2/object_lock.c — protect: one version's Object Lock changed after the upload
 * (b2_update_file_retention, b2_update_file_legal_hold), B2's refusals said in one line, and the
 * version reported as it now is (stat's b2_get_file_info and object mapping). */
#include "operations.h"

#include "auth.h"
#include "authorized.h"
#include "instance.h"
#include "names.h"
#include "stat.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The version as stat reports it before the change: its id and what protects it. */
struct before {
    char *id;
    struct stor_protection protection; /* retention_mode points to a literal (wire.c) */
};

static int capture(void *context, const struct stor_object *object)
{
    struct before *before = context;
    free(before->id);
    before->id = object->id ? strdup(object->id) : NULL;
    before->protection = object->protection;
    before->protection.encryption = NULL; /* points into the answer: not kept */
    return 0;
}

static void format_time(int64_t ms, char *text, size_t size)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm when;
    snprintf(text, size, "?");
    if (gmtime_r(&seconds, &when))
        strftime(text, size, "%Y-%m-%d %H:%M:%S UTC", &when);
}

/* fileLockConfiguration of bucket (b2_list_buckets of its name): 1, 0, or -1 unknown. */
static int bucket_file_lock(struct b2_plugin *plugin, const char *bucket)
{
    struct b2_credentials credentials;
    struct stor_error ignored;
    if (b2_auth_get(plugin, &credentials, &ignored) != STOR_OK)
        return -1;
    json_object *request = json_object_new_object(), *response = NULL, *list;
    json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
    json_object_object_add(request, "bucketName", json_object_new_string(bucket));
    b2_credentials_free(&credentials);
    int lock = -1;
    if (b2_api_call(plugin, "b2_list_buckets", request, "listBuckets", &response, NULL,
                    &ignored) == STOR_OK &&
        json_object_object_get_ex(response, "buckets", &list) &&
        json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            struct b2_bucket found;
            char why[B2_WHY_MAX];
            if (b2_wire_bucket(json_object_array_get_idx(list, i), &found, why) == 0 &&
                strcmp(found.name, bucket) == 0)
                lock = found.file_lock;
        }
    json_object_put(request);
    json_object_put(response);
    return lock;
}

static const char *said(const struct b2_failure *failure)
{
    return failure->message[0] ? failure->message : failure->code[0] ? failure->code : "no message";
}

static int refusal(const struct b2_failure *failure)
{
    return failure->outcome == SP_HTTP_COMPLETE &&
           ((failure->http_status == 403 && strcmp(failure->code, "access_denied") == 0) ||
            (failure->http_status == 400 && strcmp(failure->code, "bad_request") == 0));
}

/* A retention change B2 refused: why, from what protected the version before. */
static enum stor_status retention_refused(struct b2_plugin *plugin, const char *bucket,
                                          const char *key, const char *id,
                                          const struct stor_protection *was,
                                          const struct stor_protection *asked, int bypass,
                                          const struct b2_failure *failure, struct stor_error *err)
{
    int64_t now = sp_clock_now(&plugin->clock);
    int removing = strcmp(asked->retention_mode, "none") == 0;
    char until[40];
    format_time(was->retain_until_ms, until, sizeof until);
    int active = was->retention_mode && was->retain_until_ms > now;
    if (active && strcmp(was->retention_mode, "compliance") == 0 &&
        (removing || strcmp(asked->retention_mode, "governance") == 0 ||
         asked->retain_until_ms < was->retain_until_ms))
        return stor_fail(err, STOR_EAUTH, "%s/%s: version %s is under compliance retention until "
                         "%s: compliance cannot be shortened or removed by any key, only extended "
                         "(B2 says: %s)", bucket, key, id, until, said(failure));
    if (active && strcmp(was->retention_mode, "governance") == 0 &&
        (removing || asked->retain_until_ms < was->retain_until_ms)) {
        if (!bypass)
            return stor_fail(err, STOR_EAUTH, "%s/%s: version %s is under governance retention "
                             "until %s: shortening or removing it needs the governance bypass, "
                             "by a key with the bypassGovernance capability (B2 says: %s)", bucket,
                             key, id, until, said(failure));
        return stor_fail(err, STOR_EAUTH, "%s/%s: B2 refused to bypass the governance retention "
                         "of version %s (until %s): the key needs the bypassGovernance "
                         "capability (B2 says: %s)", bucket, key, id, until, said(failure));
    }
    if (bucket_file_lock(plugin, bucket) == 0)
        return stor_fail(err, STOR_EAUTH, "%s/%s: bucket %s has no Object Lock, so its versions "
                         "take no retention (B2 enables it only when a bucket is made: "
                         "-o bucket.object_lock=yes) (B2 says: %s)", bucket, key, bucket,
                         said(failure));
    return stor_fail(err, STOR_EAUTH, "%s/%s: B2 refused to change the retention of version %s "
                     "(B2 says: %s)", bucket, key, id, said(failure));
}

static enum stor_status update_retention(struct b2_plugin *plugin, const char *bucket,
                                         const char *key, const struct before *before,
                                         const struct stor_protection *asked, int bypass,
                                         struct stor_error *err)
{
    json_object *request = json_object_new_object(), *retention = json_object_new_object();
    json_object *response = NULL;
    int removing = strcmp(asked->retention_mode, "none") == 0;
    json_object_object_add(request, "fileName", json_object_new_string(key));
    json_object_object_add(request, "fileId", json_object_new_string(before->id));
    json_object_object_add(retention, "mode", removing ? NULL
                                                       : json_object_new_string(asked->retention_mode));
    json_object_object_add(retention, "retainUntilTimestamp",
                           removing ? NULL : json_object_new_int64(asked->retain_until_ms));
    json_object_object_add(request, "fileRetention", retention);
    if (bypass)
        json_object_object_add(request, "bypassGovernance", json_object_new_boolean(1));
    struct b2_failure failure;
    enum stor_status status = b2_api_call(plugin, "b2_update_file_retention", request,
                                          "writeFileRetentions", &response, &failure, err);
    json_object_put(request);
    json_object_put(response);
    if (status == STOR_OK)
        return STOR_OK;
    if (status == STOR_ENOTFOUND)
        return stor_fail(err, STOR_ENOTFOUND, "no version %s of %s/%s", before->id, bucket, key);
    if (status == STOR_EAUTH && strcmp(failure.code, "unauthorized") == 0 && bypass &&
        b2_auth_has_capability(plugin, "writeFileRetentions") == 1 &&
        b2_auth_has_capability(plugin, "bypassGovernance") != 1)
        return stor_fail(err, STOR_EAUTH, "b2_update_file_retention: the application key lacks "
                         "the bypassGovernance capability the governance bypass needs (B2 says: "
                         "%s)", said(&failure));
    if (refusal(&failure))
        return retention_refused(plugin, bucket, key, before->id, &before->protection, asked,
                                 bypass, &failure, err);
    return status;
}

static enum stor_status update_legal_hold(struct b2_plugin *plugin, const char *bucket,
                                          const char *key, const char *id, int on,
                                          int retention_changed, struct stor_error *err)
{
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "fileName", json_object_new_string(key));
    json_object_object_add(request, "fileId", json_object_new_string(id));
    json_object_object_add(request, "legalHold", json_object_new_string(on ? "on" : "off"));
    struct b2_failure failure;
    enum stor_status status = b2_api_call(plugin, "b2_update_file_legal_hold", request,
                                          "writeFileLegalHolds", &response, &failure, err);
    json_object_put(request);
    json_object_put(response);
    const char *done = retention_changed ? " (its retention was changed)" : "";
    if (status == STOR_OK)
        return STOR_OK;
    if (status == STOR_ENOTFOUND)
        return stor_fail(err, STOR_ENOTFOUND, "no version %s of %s/%s", id, bucket, key);
    if (refusal(&failure) && bucket_file_lock(plugin, bucket) == 0)
        return stor_fail(err, STOR_EAUTH, "%s/%s: bucket %s has no Object Lock, so its versions "
                         "take no legal hold (B2 enables it only when a bucket is made: "
                         "-o bucket.object_lock=yes) (B2 says: %s)", bucket, key, bucket,
                         said(&failure));
    if (refusal(&failure))
        return stor_fail(err, STOR_EAUTH, "%s/%s: B2 refused to turn the legal hold of version %s "
                         "%s%s (B2 says: %s)", bucket, key, id, on ? "on" : "off", done,
                         said(&failure));
    if (retention_changed && err) {
        char reason[STOR_ERROR_MAX];
        snprintf(reason, sizeof reason, "%s", err->message);
        return stor_fail(err, status, "%s%s", reason, done);
    }
    return status;
}

/* What was asked, checked before any request. */
static enum stor_status check_asked(struct b2_plugin *plugin, const struct stor_protection *asked,
                                    unsigned flags, struct stor_error *err)
{
    if (!asked)
        return stor_fail(err, STOR_EINVAL, "protect: no protection given");
    if (flags & ~(unsigned)STOR_PROTECT_BYPASS_GOVERNANCE)
        return stor_fail(err, STOR_EINVAL, "protect: unknown flags 0x%x", flags);
    if (asked->encryption)
        return stor_fail(err, STOR_EINVAL, "protect changes retention and legal hold only: B2 "
                         "changes a version's encryption only by copying it (asked: %s)",
                         asked->encryption);
    if (asked->legal_hold < -1 || asked->legal_hold > 1)
        return stor_fail(err, STOR_EINVAL, "legal hold is on (1), off (0) or unchanged (-1), "
                         "not %d", asked->legal_hold);
    const char *mode = asked->retention_mode;
    if (!mode && asked->retain_until_ms != -1)
        return stor_fail(err, STOR_EINVAL, "a retention time needs a retention mode (governance "
                         "or compliance)");
    if (!mode && asked->legal_hold == -1)
        return stor_fail(err, STOR_EINVAL, "protect: nothing to change (no retention mode, no "
                         "legal hold)");
    if (mode && strcmp(mode, "none") == 0 && asked->retain_until_ms != -1)
        return stor_fail(err, STOR_EINVAL, "retention mode none removes the retention: it takes "
                         "no time");
    if (mode && strcmp(mode, "none") != 0 && strcmp(mode, "governance") != 0 &&
        strcmp(mode, "compliance") != 0)
        return stor_fail(err, STOR_EINVAL, "retention mode '%s' is not one B2 keeps: governance, "
                         "compliance or none", mode);
    if (mode && strcmp(mode, "none") != 0 &&
        asked->retain_until_ms <= sp_clock_now(&plugin->clock))
        return stor_fail(err, STOR_EINVAL, "%s retention needs a time in the future to retain "
                         "until", mode);
    enum stor_status status = b2_auth_ensure(plugin, err);
    if (status != STOR_OK)
        return status;
    if (mode && b2_auth_has_capability(plugin, "writeFileRetentions") == 0)
        return stor_fail(err, STOR_EAUTH, "the application key lacks the writeFileRetentions "
                         "capability, which changing a version's retention needs");
    if (asked->legal_hold >= 0 && b2_auth_has_capability(plugin, "writeFileLegalHolds") == 0)
        return stor_fail(err, STOR_EAUTH, "the application key lacks the writeFileLegalHolds "
                         "capability, which changing a version's legal hold needs");
    if (mode && (flags & STOR_PROTECT_BYPASS_GOVERNANCE) &&
        b2_auth_has_capability(plugin, "bypassGovernance") == 0)
        return stor_fail(err, STOR_EAUTH, "the application key lacks the bypassGovernance "
                         "capability, which the governance bypass needs");
    return STOR_OK;
}

enum stor_status b2_protect(void *instance, const char *bucket, const char *key,
                            const char *version_id, const struct stor_protection *protection,
                            unsigned flags, stor_object_fn on_result, void *context,
                            struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    enum stor_status status = check_asked(plugin, protection, flags, err);
    if (status != STOR_OK)
        return status;
    if (b2_auth_refuses_bucket(plugin, bucket, err))
        return STOR_EAUTH;
    /* The version to change (version_id NULL: the current version of exactly that name), and
     * what protects it now, so a refusal can say why. */
    struct before before = {0};
    status = b2_stat(plugin, bucket, key, version_id, capture, &before, err);
    if (status == STOR_OK && !before.id)
        status = stor_fail(err, STOR_EINTERNAL, "%s/%s: B2 gave the version no file id", bucket,
                           key);
    int bypass = (flags & STOR_PROTECT_BYPASS_GOVERNANCE) != 0, retention_changed = 0;
    if (status == STOR_OK && protection->retention_mode) {
        status = update_retention(plugin, bucket, key, &before, protection, bypass, err);
        retention_changed = status == STOR_OK;
    }
    if (status == STOR_OK && protection->legal_hold >= 0)
        status = update_legal_hold(plugin, bucket, key, before.id, protection->legal_hold,
                                   retention_changed, err);
    if (status == STOR_OK) /* as it now is, through stat's own mapping */
        status = b2_stat(plugin, bucket, key, before.id, on_result, context, err);
    free(before.id);
    return status;
}
