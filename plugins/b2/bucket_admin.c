/* plugins/b2/bucket_admin.c — the bucket slots: list_buckets (b2_list_buckets, or the key's own
 * buckets from its authorization), create_bucket (b2_create_bucket), delete_bucket, and
 * update_bucket (b2_update_bucket; a partial lifecycle change merged into the rule B2 keeps). */
#include "operations.h"

#include "auth.h"
#include "authorized.h"
#include "bucket.h"
#include "instance.h"
#include "lifecycle.h"
#include "pool.h"
#include "protection.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* B2's bucket names: 6 to 63 letters, digits and '-', not starting with '-' or "b2-". */
static const char *bucket_name_problem(const char *name)
{
    size_t length = strlen(name);
    if (length < 6 || length > 63)
        return "a B2 bucket name is 6 to 63 characters long";
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != length)
        return "a B2 bucket name holds only letters, digits and '-'";
    if (name[0] == '-' || strncasecmp(name, "b2-", 3) == 0)
        return "a B2 bucket name does not start with '-' or 'b2-'";
    return NULL;
}

static int is_public(const char *type)
{
    return !type ? -1 : strcmp(type, "allPublic") == 0 ? 1 : strcmp(type, "allPrivate") == 0 ? 0 : -1;
}

/* One bucket as the host sees it: bucketType, lifecycle rules and default encryption as its
 * settings (what B2 said, as it said it). */
static int report_bucket(const struct b2_bucket *bucket, stor_bucket_fn on_bucket, void *context)
{
    struct stor_option settings[9];
    size_t count = 0;
    char keep[32], hide[32];
    if (bucket->type)
        settings[count++] = (struct stor_option){"bucketType", bucket->type};
    if (bucket->lifecycle_rules)
        settings[count++] = (struct stor_option){"lifecycleRules", bucket->lifecycle_rules};
    if (bucket->default_encryption)
        settings[count++] = (struct stor_option){"defaultServerSideEncryption",
                                                 bucket->default_encryption};
    /* The same again under the names bucket.* settings take, so they read back as given. */
    if (bucket->default_encryption)
        settings[count++] = (struct stor_option){"default_sse", bucket->default_encryption};
    if (bucket->file_lock >= 0)
        settings[count++] = (struct stor_option){"object_lock", bucket->file_lock ? "yes" : "no"};
    if (bucket->keep_old_days > 0) {
        snprintf(keep, sizeof keep, "%lldd", (long long)bucket->keep_old_days);
        settings[count++] = (struct stor_option){"keep_old_versions", keep};
    }
    if (bucket->hide_after_days > 0) {
        snprintf(hide, sizeof hide, "%lldd", (long long)bucket->hide_after_days);
        settings[count++] = (struct stor_option){"hide_after", hide};
    }
    if (bucket->lifecycle_rule_count > 0 && bucket->lifecycle_prefix && *bucket->lifecycle_prefix)
        settings[count++] = (struct stor_option){"lifecycle_prefix", bucket->lifecycle_prefix};
    struct stor_bucket reported = {
        .name = bucket->name,
        .id = bucket->id,
        .is_public = is_public(bucket->type),
        .created_ms = -1, /* B2 does not say when a bucket was made */
        .settings = count ? settings : NULL,
        .setting_count = count,
    };
    return on_bucket ? on_bucket(context, &reported) : 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct b2_bucket *)a)->name, ((const struct b2_bucket *)b)->name);
}

/* A key restricted to buckets: those of its authorization, no listBuckets needed. */
static enum stor_status list_allowed(struct b2_plugin *plugin, struct b2_bucket_ref *allowed,
                                     size_t count, stor_bucket_fn on_bucket, void *context,
                                     struct stor_error *err)
{
    struct b2_bucket *buckets = calloc(count, sizeof *buckets);
    if (!buckets)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    size_t named = 0;
    for (size_t i = 0; i < count; i++)
        if (allowed[i].name) /* B2 names none for a bucket deleted since the key was made */
            buckets[named++] = (struct b2_bucket){.name = allowed[i].name, .id = allowed[i].id};
    qsort(buckets, named, sizeof *buckets, by_name);
    enum stor_status status = STOR_OK;
    for (size_t i = 0; i < named && status == STOR_OK; i++) {
        b2_bucket_learn(plugin, buckets[i].name, buckets[i].id);
        if (report_bucket(&buckets[i], on_bucket, context) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "listing stopped");
    }
    free(buckets);
    return status;
}

enum stor_status b2_list_buckets(void *instance, stor_bucket_fn on_bucket, void *context,
                                 struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    struct b2_bucket_ref *allowed;
    size_t allowed_count;
    enum stor_status status = b2_auth_allowed_buckets(plugin, &allowed, &allowed_count, err);
    if (status != STOR_OK)
        return status;
    if (allowed_count > 0) {
        status = list_allowed(plugin, allowed, allowed_count, on_bucket, context, err);
        b2_bucket_refs_free(allowed, allowed_count);
        return status;
    }
    struct b2_credentials credentials;
    if ((status = b2_auth_get(plugin, &credentials, err)) != STOR_OK)
        return status;
    json_object *request = json_object_new_object(), *types = json_object_new_array();
    json_object *response = NULL;
    json_object_array_add(types, json_object_new_string("all"));
    json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
    json_object_object_add(request, "bucketTypes", types);
    b2_credentials_free(&credentials);
    status = b2_api_call(plugin, "b2_list_buckets", request, "listBuckets", &response, NULL, err);
    json_object_put(request);
    if (status != STOR_OK)
        return status;
    json_object *list;
    char why[B2_WHY_MAX] = "field buckets is missing or not an array";
    size_t count = json_object_object_get_ex(response, "buckets", &list) &&
                           json_object_is_type(list, json_type_array)
                       ? json_object_array_length(list)
                       : 0;
    struct b2_bucket *buckets = calloc(count ? count : 1, sizeof *buckets);
    if (!buckets)
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    else if (!json_object_is_type(list, json_type_array))
        status = stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2's answer is malformed: %s", why);
    for (size_t i = 0; status == STOR_OK && i < count; i++)
        if (b2_wire_bucket(json_object_array_get_idx(list, i), &buckets[i], why) != 0)
            status = stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2's answer is malformed: "
                               "%s", why);
    if (status == STOR_OK)
        qsort(buckets, count, sizeof *buckets, by_name);
    for (size_t i = 1; status == STOR_OK && i < count; i++)
        if (strcmp(buckets[i - 1].name, buckets[i].name) == 0)
            status = stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2 listed bucket %s twice: "
                               "not believed", buckets[i].name);
    for (size_t i = 0; status == STOR_OK && i < count; i++) {
        b2_bucket_learn(plugin, buckets[i].name, buckets[i].id);
        if (report_bucket(&buckets[i], on_bucket, context) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "listing stopped");
    }
    free(buckets);
    json_object_put(response);
    return status;
}

/* b2_list_buckets of one name (or id): the bucket object, or NULL when B2 lists none. */
static json_object *find_bucket(struct b2_plugin *plugin, const char *field, const char *value,
                                int *answered)
{
    struct b2_credentials credentials;
    struct stor_error ignored;
    *answered = 0;
    if (b2_auth_get(plugin, &credentials, &ignored) != STOR_OK)
        return NULL;
    json_object *request = json_object_new_object(), *response = NULL, *list, *found = NULL;
    json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
    json_object_object_add(request, field, json_object_new_string(value));
    b2_credentials_free(&credentials);
    if (b2_api_call(plugin, "b2_list_buckets", request, "listBuckets", &response, NULL,
                    &ignored) == STOR_OK &&
        json_object_object_get_ex(response, "buckets", &list) &&
        json_object_is_type(list, json_type_array)) {
        *answered = 1;
        for (size_t i = 0; !found && i < json_object_array_length(list); i++) {
            struct b2_bucket bucket;
            char why[B2_WHY_MAX];
            json_object *entry = json_object_array_get_idx(list, i);
            if (b2_wire_bucket(entry, &bucket, why) == 0 &&
                strcmp(strcmp(field, "bucketName") == 0 ? bucket.name : bucket.id, value) == 0)
                found = json_object_get(entry);
        }
    }
    json_object_put(request);
    json_object_put(response);
    return found;
}

/* bucket.* settings of create_bucket, as B2's b2_create_bucket fields. */
struct bucket_settings {
    int default_sse;            /* default_sse=b2 */
    int object_lock;            /* object_lock=yes */
    int64_t keep_old_days, hide_after_days; /* -1: none */
    const char *lifecycle_prefix;
    json_object *rules;         /* lifecycle=RULE settings, each a rule; owned, NULL if none */
};

/* --lifecycle rules say everything of the lifecycle: not with the one-rule settings too. */
static enum stor_status lifecycle_alone(json_object *rules, int one_rule_settings,
                                        struct stor_error *err)
{
    if (rules && one_rule_settings)
        return stor_fail(err, STOR_EINVAL, "--lifecycle gives every rule: not with "
                         "--keep-old-versions, --hide-after or bucket.lifecycle_prefix");
    return rules ? b2_lifecycle_check(rules, err) : STOR_OK;
}

/* "30d" (or "30"): days, 1 to 100000. -1 otherwise. */
static int64_t parse_days(const char *text)
{
    char *end;
    errno = 0;
    long long days = text && *text >= '0' && *text <= '9' ? strtoll(text, &end, 10) : -1;
    if (days < 1 || errno || (*end && strcmp(end, "d") != 0) || days > 100000)
        return -1;
    return days;
}

static enum stor_status parse_settings(const struct stor_bucket_options *asked,
                                       struct bucket_settings *settings, struct stor_error *err)
{
    *settings = (struct bucket_settings){.keep_old_days = -1, .hide_after_days = -1};
    for (size_t i = 0; asked->settings && i < asked->setting_count; i++) {
        const char *key = asked->settings[i].key ? asked->settings[i].key : "";
        const char *value = asked->settings[i].value ? asked->settings[i].value : "";
        if (strcmp(key, "default_sse") == 0) {
            if (strcasecmp(value, "b2") != 0 && strcasecmp(value, "SSE-B2") != 0)
                return stor_fail(err, STOR_EINVAL, "bucket.default_sse takes b2 (SSE-B2): B2 "
                                 "keeps no other default (SSE-C needs a key per request)");
            settings->default_sse = 1;
        } else if (strcmp(key, "object_lock") == 0) {
            if (strcasecmp(value, "yes") != 0 && strcasecmp(value, "no") != 0)
                return stor_fail(err, STOR_EINVAL, "bucket.object_lock takes yes or no");
            settings->object_lock = strcasecmp(value, "yes") == 0;
        } else if (strcmp(key, "keep_old_versions") == 0 || strcmp(key, "hide_after") == 0) {
            int64_t days = parse_days(value);
            if (days < 0)
                return stor_fail(err, STOR_EINVAL, "bucket.%s takes a number of days, e.g. 30d "
                                 "(1 to 100000)", key);
            *(key[0] == 'k' ? &settings->keep_old_days : &settings->hide_after_days) = days;
        } else if (strcmp(key, "lifecycle_prefix") == 0) {
            settings->lifecycle_prefix = value;
        } else if (strcmp(key, "lifecycle") == 0) {
            if (!settings->rules)
                settings->rules = json_object_new_array();
            enum stor_status status = b2_lifecycle_add(settings->rules, value, err);
            if (status != STOR_OK)
                return status;
        } else {
            return stor_fail(err, STOR_EINVAL, "bucket setting '%s' is unknown to backend b2 "
                             "(it takes bucket.default_sse, object_lock, keep_old_versions, "
                             "hide_after, lifecycle_prefix, lifecycle)", key);
        }
    }
    if (settings->lifecycle_prefix && settings->keep_old_days < 0 && settings->hide_after_days < 0)
        return stor_fail(err, STOR_EINVAL, "bucket.lifecycle_prefix needs bucket.keep_old_versions "
                         "or bucket.hide_after: it says which names they apply to");
    return lifecycle_alone(settings->rules, settings->keep_old_days >= 0 ||
                                                settings->hide_after_days >= 0 ||
                                                settings->lifecycle_prefix, err);
}

/* The settings into b2_create_bucket's request, which takes the rules over. */
static void add_settings(struct b2_plugin *plugin, struct bucket_settings *settings,
                         json_object *request)
{
    if (settings->default_sse)
        json_object_object_add(request, "defaultServerSideEncryption",
                               b2_sse_json(&plugin->config, B2_SSE_B2));
    if (settings->object_lock)
        json_object_object_add(request, "fileLockEnabled", json_object_new_boolean(1));
    if (settings->rules) {
        json_object_object_add(request, "lifecycleRules", settings->rules);
        settings->rules = NULL;
    } else if (settings->keep_old_days > 0 || settings->hide_after_days > 0) {
        json_object *rule = json_object_new_object(), *rules = json_object_new_array();
        json_object_object_add(rule, "fileNamePrefix", json_object_new_string(
                                   settings->lifecycle_prefix ? settings->lifecycle_prefix : ""));
        json_object_object_add(rule, "daysFromHidingToDeleting", settings->keep_old_days > 0
                               ? json_object_new_int64(settings->keep_old_days) : NULL);
        json_object_object_add(rule, "daysFromUploadingToHiding", settings->hide_after_days > 0
                               ? json_object_new_int64(settings->hide_after_days) : NULL);
        json_object_array_add(rules, rule);
        json_object_object_add(request, "lifecycleRules", rules);
    }
}

/* b2_create_bucket's answer was lost: done if the bucket is there now. */
static int created_after_all(struct b2_plugin *plugin, void *context, json_object **response)
{
    int answered;
    *response = find_bucket(plugin, "bucketName", context, &answered);
    return *response != NULL;
}

enum stor_status b2_create_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    struct stor_bucket_options asked = {.struct_size = sizeof asked};
    if (options)
        memcpy(&asked, options,
               options->struct_size < sizeof asked ? options->struct_size : sizeof asked);
    struct bucket_settings settings;
    enum stor_status status = parse_settings(&asked, &settings, err);
    const char *problem = bucket_name_problem(bucket);
    if (status == STOR_OK && problem)
        status = stor_fail(err, STOR_EINVAL, "bucket name '%s': %s", bucket, problem);
    struct b2_credentials credentials;
    if (status == STOR_OK)
        status = b2_auth_get(plugin, &credentials, err);
    if (status != STOR_OK) {
        json_object_put(settings.rules);
        return status;
    }
    json_object *request = json_object_new_object(), *response = NULL;
    json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
    json_object_object_add(request, "bucketName", json_object_new_string(bucket));
    json_object_object_add(request, "bucketType",
                           json_object_new_string(asked.is_public == 1 ? "allPublic" : "allPrivate"));
    add_settings(plugin, &settings, request);
    b2_credentials_free(&credentials);
    struct b2_failure failure;
    struct b2_done_check check = {created_after_all, (void *)bucket};
    status = b2_api_call_checked(plugin, "b2_create_bucket", request, "writeBuckets", &check,
                                 &response, &failure, err);
    json_object_put(request);
    if (status != STOR_OK && strcmp(failure.code, "duplicate_bucket_name") == 0)
        return stor_fail(err, STOR_EINVAL, "bucket '%s' already exists (B2 bucket names are "
                         "global: it may be another account's; B2 says: %s)", bucket,
                         failure.message[0] ? failure.message : "duplicate_bucket_name");
    if (status != STOR_OK && strcmp(failure.code, "too_many_buckets") == 0)
        return stor_fail(err, STOR_EINVAL, "bucket '%s' cannot be made: the account has as many "
                         "buckets as B2 allows (B2 says: %s)", bucket, failure.message);
    if (status != STOR_OK)
        return status;
    struct b2_bucket made;
    char why[B2_WHY_MAX];
    if (b2_wire_bucket(response, &made, why) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "b2_create_bucket: B2's answer is malformed: %s",
                           why);
    else if (strcmp(made.name, bucket) != 0)
        status = stor_fail(err, STOR_EINTERNAL, "b2_create_bucket: B2's answer names another "
                           "bucket than was made: not believed");
    if (status == STOR_OK) {
        b2_bucket_learn(plugin, made.name, made.id);
        report_bucket(&made, on_result, context);
    }
    json_object_put(response);
    return status;
}

/* b2_delete_bucket's answer was lost: done if B2 no longer lists the id. */
static int deleted_after_all(struct b2_plugin *plugin, void *context, json_object **response)
{
    int answered;
    json_object *still = find_bucket(plugin, "bucketId", context, &answered);
    json_object_put(still);
    if (!answered || still)
        return 0;
    *response = json_object_new_object(); /* nothing of the answer is read */
    return *response != NULL;
}

enum stor_status b2_delete_bucket(void *instance, const char *bucket, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    enum stor_status status = STOR_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *id;
        struct b2_credentials credentials;
        if ((status = b2_bucket_id(plugin, bucket, attempt > 0, &id, err)) != STOR_OK)
            return status;
        if ((status = b2_auth_get(plugin, &credentials, err)) != STOR_OK) {
            free(id);
            return status;
        }
        json_object *request = json_object_new_object(), *response = NULL;
        json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
        json_object_object_add(request, "bucketId", json_object_new_string(id));
        b2_credentials_free(&credentials);
        struct b2_failure failure;
        struct b2_done_check check = {deleted_after_all, id};
        status = b2_api_call_checked(plugin, "b2_delete_bucket", request, "deleteBuckets", &check,
                                     &response, &failure, err);
        json_object_put(request);
        json_object_put(response);
        if (status == STOR_OK) {
            b2_bucket_forget(plugin, bucket);
            b2_pool_forget_bucket(plugin, id);
        }
        free(id);
        if (status != STOR_OK && strcmp(failure.code, "cannot_delete_non_empty_bucket") == 0)
            return stor_fail(err, STOR_EINVAL, "bucket '%s' is not empty: delete every version "
                             "in it first (B2 says: %s)", bucket,
                             failure.message[0] ? failure.message : failure.code);
        int stale = status == STOR_ENOTFOUND && (strcmp(failure.code, "bad_bucket_id") == 0 ||
                                                 strcmp(failure.code, "invalid_bucket_id") == 0);
        if (!stale) /* else the id may be of a bucket deleted and made again: look once more */
            return status;
    }
    return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
}

/* ---- update_bucket ---- */

/* bucket.* settings of update_bucket: what is given changes, the rest stays. */
struct bucket_changes {
    int default_sse;                   /* -1 kept, 0 none, 1 SSE-B2 */
    int64_t keep_old_days, hide_after_days; /* -2 kept, -1 removed ("none"), else days */
    const char *lifecycle_prefix;      /* NULL: kept */
    json_object *rules; /* lifecycle=RULE settings: every rule there is to be (none: empty) */
};

static enum stor_status parse_changes(const struct stor_bucket_options *asked,
                                      struct bucket_changes *changes, struct stor_error *err)
{
    *changes = (struct bucket_changes){.default_sse = -1, .keep_old_days = -2,
                                       .hide_after_days = -2};
    if (asked->is_public < -1 || asked->is_public > 1)
        return stor_fail(err, STOR_EINVAL, "is_public is 1, 0 or -1 (unchanged), not %d",
                         asked->is_public);
    for (size_t i = 0; asked->settings && i < asked->setting_count; i++) {
        const char *key = asked->settings[i].key ? asked->settings[i].key : "";
        const char *value = asked->settings[i].value ? asked->settings[i].value : "";
        if (strcmp(key, "default_sse") == 0) {
            if (strcasecmp(value, "none") == 0)
                changes->default_sse = 0;
            else if (strcasecmp(value, "b2") == 0 || strcasecmp(value, "SSE-B2") == 0)
                changes->default_sse = 1;
            else
                return stor_fail(err, STOR_EINVAL, "bucket.default_sse takes b2 (SSE-B2) or none: "
                                 "B2 keeps no other default (SSE-C needs a key per request)");
        } else if (strcmp(key, "object_lock") == 0) {
            return stor_fail(err, STOR_EINVAL, "bucket.object_lock cannot be changed after the "
                             "bucket is made: B2 enables Object Lock only at creation "
                             "(b2_create_bucket's fileLockEnabled)");
        } else if (strcmp(key, "keep_old_versions") == 0 || strcmp(key, "hide_after") == 0) {
            int64_t days = strcasecmp(value, "none") == 0 ? -1 : parse_days(value);
            if (days < 0 && strcasecmp(value, "none") != 0)
                return stor_fail(err, STOR_EINVAL, "bucket.%s takes a number of days, e.g. 30d "
                                 "(1 to 100000), or none", key);
            *(key[0] == 'k' ? &changes->keep_old_days : &changes->hide_after_days) = days;
        } else if (strcmp(key, "lifecycle_prefix") == 0) {
            changes->lifecycle_prefix = value;
        } else if (strcmp(key, "lifecycle") == 0) {
            int none = strcasecmp(value, "none") == 0;
            if (!changes->rules)
                changes->rules = json_object_new_array();
            else if (none || json_object_array_length(changes->rules) == 0)
                return stor_fail(err, STOR_EINVAL, "--lifecycle=none removes every rule: not "
                                 "with other rules");
            enum stor_status status = none ? STOR_OK : b2_lifecycle_add(changes->rules, value, err);
            if (status != STOR_OK)
                return status;
        } else {
            return stor_fail(err, STOR_EINVAL, "bucket setting '%s' is unknown to backend b2 "
                             "(update_bucket takes bucket.default_sse, keep_old_versions, "
                             "hide_after, lifecycle_prefix, lifecycle)", key);
        }
    }
    return lifecycle_alone(changes->rules, changes->keep_old_days != -2 ||
                                               changes->hide_after_days != -2 ||
                                               changes->lifecycle_prefix, err);
}

static int changes_lifecycle(const struct bucket_changes *changes)
{
    return changes->keep_old_days != -2 || changes->hide_after_days != -2 ||
           changes->lifecycle_prefix;
}

/* Whether a rule still says something: a day count of any kind that is set. */
static int rule_has_days(json_object *rule)
{
    int any = 0;
    json_object_object_foreach(rule, name, value) {
        if (strncmp(name, "days", 4) == 0 && value && !json_object_is_type(value, json_type_null))
            any = 1;
    }
    return any;
}

/* The lifecycleRules to send: B2's current rules (existing, may be NULL) with the first rule
 * changed as asked (every other member of it, and every other rule, kept), or NULL + err. */
static json_object *merged_rules(json_object *existing, const struct bucket_changes *changes,
                                 const char *bucket, struct stor_error *err)
{
    json_object *rules = NULL;
    if (existing && json_object_is_type(existing, json_type_array))
        json_object_deep_copy(existing, &rules, NULL);
    else
        rules = json_object_new_array();
    if (!rules) {
        stor_fail(err, STOR_EINTERNAL, "out of memory");
        return NULL;
    }
    json_object *rule = json_object_array_length(rules) > 0 ? json_object_array_get_idx(rules, 0)
                                                            : NULL;
    int added = 0;
    if (!rule || !json_object_is_type(rule, json_type_object)) {
        rule = json_object_new_object();
        json_object_object_add(rule, "fileNamePrefix", json_object_new_string(""));
        added = 1;
    }
    if (changes->lifecycle_prefix)
        json_object_object_add(rule, "fileNamePrefix",
                               json_object_new_string(changes->lifecycle_prefix));
    if (changes->keep_old_days != -2)
        json_object_object_add(rule, "daysFromHidingToDeleting", changes->keep_old_days > 0
                               ? json_object_new_int64(changes->keep_old_days) : NULL);
    if (changes->hide_after_days != -2)
        json_object_object_add(rule, "daysFromUploadingToHiding", changes->hide_after_days > 0
                               ? json_object_new_int64(changes->hide_after_days) : NULL);
    int says_something = rule_has_days(rule);
    if (added && says_something) {
        json_object_array_add(rules, rule);
    } else if (added) {
        json_object_put(rule);
        if (changes->lifecycle_prefix) {
            json_object_put(rules);
            stor_fail(err, STOR_EINVAL, "bucket.lifecycle_prefix: bucket '%s' has no lifecycle "
                      "rule to apply it to; give bucket.keep_old_versions or bucket.hide_after "
                      "too", bucket);
            return NULL;
        }
    } else if (!says_something) {
        json_object_array_del_idx(rules, 0, 1); /* nothing left of the rule: it goes */
    }
    return rules;
}

/* The bucket object B2 keeps for name (b2_list_buckets of that name): *found, or an error
 * (STOR_ENOTFOUND when B2 lists none). */
static enum stor_status read_bucket(struct b2_plugin *plugin, const char *name, json_object **found,
                                    struct stor_error *err)
{
    *found = NULL;
    struct b2_credentials credentials;
    enum stor_status status = b2_auth_get(plugin, &credentials, err);
    if (status != STOR_OK)
        return status;
    json_object *request = json_object_new_object(), *response = NULL, *list;
    json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
    json_object_object_add(request, "bucketName", json_object_new_string(name));
    b2_credentials_free(&credentials);
    status = b2_api_call(plugin, "b2_list_buckets", request, "listBuckets", &response, NULL, err);
    json_object_put(request);
    if (status != STOR_OK)
        return status;
    if (!json_object_object_get_ex(response, "buckets", &list) ||
        !json_object_is_type(list, json_type_array))
        status = stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2's answer is malformed: "
                           "field buckets is missing or not an array");
    for (size_t i = 0; status == STOR_OK && !*found && i < json_object_array_length(list); i++) {
        struct b2_bucket bucket;
        char why[B2_WHY_MAX];
        json_object *entry = json_object_array_get_idx(list, i);
        if (b2_wire_bucket(entry, &bucket, why) != 0)
            status = stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2's answer is malformed: "
                               "%s", why);
        else if (strcmp(bucket.name, name) == 0)
            *found = json_object_get(entry);
    }
    json_object_put(response);
    if (status == STOR_OK && !*found)
        status = stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", name);
    return status;
}

static enum stor_status update_bucket(struct b2_plugin *plugin, const char *bucket,
                                      const struct stor_bucket_options asked,
                                      const struct bucket_changes changes, stor_bucket_fn on_result,
                                      void *context, struct stor_error *err)
{
    enum stor_status status;
    if (b2_auth_refuses_bucket(plugin, bucket, err))
        return STOR_EAUTH;
    for (int attempt = 0; attempt < 2; attempt++) {
        /* The bucket as B2 keeps it: its id, and the rules a partial change must keep. */
        json_object *current;
        if ((status = read_bucket(plugin, bucket, &current, err)) != STOR_OK)
            return status;
        struct b2_bucket known;
        char why[B2_WHY_MAX];
        if (b2_wire_bucket(current, &known, why) != 0) { /* checked by read_bucket */
            json_object_put(current);
            return stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2's answer is malformed: %s",
                             why);
        }
        json_object *request = json_object_new_object(), *response = NULL, *existing = NULL;
        struct b2_credentials credentials;
        if ((status = b2_auth_get(plugin, &credentials, err)) != STOR_OK) {
            json_object_put(request);
            json_object_put(current);
            return status;
        }
        json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
        json_object_object_add(request, "bucketId", json_object_new_string(known.id));
        b2_credentials_free(&credentials);
        if (asked.is_public >= 0)
            json_object_object_add(request, "bucketType", json_object_new_string(
                                       asked.is_public ? "allPublic" : "allPrivate"));
        if (changes.default_sse == 1)
            json_object_object_add(request, "defaultServerSideEncryption",
                                   b2_sse_json(&plugin->config, B2_SSE_B2));
        else if (changes.default_sse == 0) {
            json_object *none = json_object_new_object();
            json_object_object_add(none, "mode", json_object_new_string("none"));
            json_object_object_add(request, "defaultServerSideEncryption", none);
        }
        if (changes.rules) {
            json_object_object_add(request, "lifecycleRules", json_object_get(changes.rules));
        } else if (changes_lifecycle(&changes)) {
            json_object_object_get_ex(current, "lifecycleRules", &existing);
            json_object *rules = merged_rules(existing, &changes, bucket, err);
            if (!rules) {
                json_object_put(request);
                json_object_put(current);
                return STOR_EINVAL;
            }
            json_object_object_add(request, "lifecycleRules", rules);
        }
        b2_bucket_learn(plugin, known.name, known.id);
        if (json_object_object_length(request) == 2) { /* nothing to change: report it as it is */
            report_bucket(&known, on_result, context);
            json_object_put(request);
            json_object_put(current);
            return STOR_OK;
        }
        json_object_put(current);
        struct b2_failure failure;
        status = b2_api_call(plugin, "b2_update_bucket", request, "writeBuckets", &response,
                             &failure, err);
        json_object_put(request);
        int stale = status == STOR_ENOTFOUND && (strcmp(failure.code, "bad_bucket_id") == 0 ||
                                                 strcmp(failure.code, "invalid_bucket_id") == 0);
        if (stale) /* deleted meanwhile (or made again): look once more */
            continue;
        if (status == STOR_EAUTH && strcmp(failure.code, "unauthorized") == 0 &&
            changes.default_sse >= 0 && b2_auth_has_capability(plugin, "writeBuckets") == 1 &&
            b2_auth_has_capability(plugin, "writeBucketEncryption") == 0)
            return stor_fail(err, STOR_EAUTH, "b2_update_bucket: the application key lacks the "
                             "writeBucketEncryption capability bucket.default_sse needs (B2 says: "
                             "%s)", failure.message[0] ? failure.message : failure.code);
        if (status != STOR_OK)
            return status;
        struct b2_bucket updated;
        if (b2_wire_bucket(response, &updated, why) != 0)
            status = stor_fail(err, STOR_EINTERNAL, "b2_update_bucket: B2's answer is malformed: "
                               "%s", why);
        else if (strcmp(updated.name, bucket) != 0)
            status = stor_fail(err, STOR_EINTERNAL, "b2_update_bucket: B2's answer names another "
                               "bucket than was changed: not believed");
        else
            report_bucket(&updated, on_result, context);
        json_object_put(response);
        return status;
    }
    return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
}

enum stor_status b2_update_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err)
{
    struct stor_bucket_options asked = {.struct_size = sizeof asked, .is_public = -1};
    if (options)
        memcpy(&asked, options,
               options->struct_size < sizeof asked ? options->struct_size : sizeof asked);
    struct bucket_changes changes;
    enum stor_status status = parse_changes(&asked, &changes, err);
    if (status == STOR_OK)
        status = update_bucket(instance, bucket, asked, changes, on_result, context, err);
    json_object_put(changes.rules);
    return status;
}
