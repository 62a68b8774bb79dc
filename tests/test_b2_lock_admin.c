/* tests/test_b2_lock_admin.c — update_bucket, protect and remove_ex's governance bypass in the B2
 * plugin against the fake B2: every request they send, partial lifecycle changes keeping the rest
 * of the rule, refusals before any request, B2's refusals as one line saying why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2_fake.h"

#define JSON "Content-Type: application/json\n"
#define UNTIL "4102444800000" /* 2100-01-01 */

static const char *const lock_caps[] = {"writeBuckets", "writeBucketEncryption", "deleteFiles",
                                        "writeFileRetentions", "writeFileLegalHolds",
                                        "bypassGovernance", NULL};

static int setup(void **state)
{
    int status = b2_test_setup(state, NULL, 0);
    if (status == 0)
        ((struct b2_test *)*state)->world.more_capabilities = lock_caps;
    return status;
}

static int setup_plain_key(void **state)
{
    return b2_test_setup(state, NULL, 0);
}

static int teardown(void **state)
{
    return b2_test_teardown(state);
}

static json_object *member(json_object *object, const char *path)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *save = NULL, *name = strtok_r(copy, ".", &save); name && object;
         name = strtok_r(NULL, ".", &save))
        if (!json_object_object_get_ex(object, name, &object))
            object = NULL;
    return object;
}

static void assert_member(json_object *object, const char *path, const char *expected)
{
    json_object *found = member(object, path);
    assert_non_null(found);
    assert_string_equal(json_object_get_string(found), expected);
}

static json_object *last_body(struct b2_test *test, const char *call)
{
    const struct fake_request *request = fake_last(test->http, call);
    assert_non_null(request);
    return json_tokener_parse(request->body);
}

static void assert_one_line(const struct stor_error *err)
{
    assert_true(err->message[0] != '\0');
    assert_null(strchr(err->message, '\n'));
}

/* ---- update_bucket ---- */

struct reported {
    int calls, is_public;
    char settings[16][2][200];
    size_t count;
};

static int on_bucket(void *context, const struct stor_bucket *bucket)
{
    struct reported *r = context;
    r->calls++;
    r->is_public = bucket->is_public;
    r->count = bucket->setting_count;
    for (size_t i = 0; i < bucket->setting_count && i < 16; i++) {
        snprintf(r->settings[i][0], 200, "%s", bucket->settings[i].key);
        snprintf(r->settings[i][1], 200, "%s", bucket->settings[i].value);
    }
    return 0;
}

static const char *setting(const struct reported *r, const char *key)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->settings[i][0], key) == 0)
            return r->settings[i][1];
    return NULL;
}

#define BUCKET_WITH(type, rules, sse)                                                            \
    "{\"accountId\": \"account-1\", \"bucketName\": \"bucket1\", \"bucketId\": \"bkt00000001\", " \
    "\"bucketType\": \"" type "\", \"lifecycleRules\": " rules ", "                              \
    "\"defaultServerSideEncryption\": {\"isClientAuthorizedToRead\": true, \"value\": "          \
    "{\"mode\": " sse "}}, \"fileLockConfiguration\": {\"isClientAuthorizedToRead\": true, "     \
    "\"value\": {\"isFileLockEnabled\": true}}}"
#define TWO_RULES                                                                                \
    "[{\"fileNamePrefix\": \"logs/\", \"daysFromHidingToDeleting\": 30, "                        \
    "\"daysFromUploadingToHiding\": 7, \"daysFromStartingToCancelingUnfinishedLargeFiles\": 2}, " \
    "{\"fileNamePrefix\": \"tmp/\", \"daysFromHidingToDeleting\": 1}]"

static void update_bucket_sends_each_change_and_keeps_the_rest(void **state)
{
    struct b2_test *test = *state;
    struct stor_option settings[] = {{"keep_old_versions", "10d"}, {"default_sse", "none"}};
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = 1,
                                          .settings = settings, .setting_count = 2};
    struct reported reported = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", TWO_RULES, "\"SSE-B2\"") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON,
                BUCKET_WITH("allPublic", "[{\"fileNamePrefix\": \"logs/\", "
                            "\"daysFromHidingToDeleting\": 10, \"daysFromUploadingToHiding\": 7}]",
                            "null"));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, on_bucket, &reported,
                                      &err), STOR_OK);
    json_object *listed = last_body(test, "b2_list_buckets");
    assert_member(listed, "bucketName", FAKE_BUCKET);
    json_object_put(listed);
    json_object *body = last_body(test, "b2_update_bucket"), *rules;
    assert_member(body, "accountId", "account-1");
    assert_member(body, "bucketId", FAKE_BUCKET_ID);
    assert_member(body, "bucketType", "allPublic");
    assert_member(body, "defaultServerSideEncryption.mode", "none");
    assert_null(member(body, "fileLockEnabled"));
    assert_true(json_object_object_get_ex(body, "lifecycleRules", &rules));
    assert_int_equal(json_object_array_length(rules), 2); /* the second rule kept as it was */
    json_object *first = json_object_array_get_idx(rules, 0);
    assert_member(first, "fileNamePrefix", "logs/");
    assert_member(first, "daysFromHidingToDeleting", "10");
    assert_member(first, "daysFromUploadingToHiding", "7");                    /* kept */
    assert_member(first, "daysFromStartingToCancelingUnfinishedLargeFiles", "2"); /* kept */
    assert_member(json_object_array_get_idx(rules, 1), "fileNamePrefix", "tmp/");
    json_object_put(body);
    /* reported as B2 answered, through list_buckets' mapping */
    assert_int_equal(reported.calls, 1);
    assert_int_equal(reported.is_public, 1);
    assert_string_equal(setting(&reported, "keep_old_versions"), "10d");
    assert_string_equal(setting(&reported, "hide_after"), "7d");
    assert_string_equal(setting(&reported, "default_sse"), "none");
    assert_int_equal(fake_count(test->http, "b2_update_bucket"), 1);
}

static void update_bucket_only_what_is_given(void **state)
{
    struct b2_test *test = *state;
    struct stor_option sse[] = {{"default_sse", "b2"}};
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = -1,
                                          .settings = sse, .setting_count = 1};
    struct stor_error err = {""};
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", TWO_RULES, "null") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON,
                BUCKET_WITH("allPrivate", TWO_RULES, "\"SSE-B2\""));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                     STOR_OK);
    json_object *body = last_body(test, "b2_update_bucket");
    assert_null(member(body, "bucketType"));
    assert_null(member(body, "lifecycleRules")); /* not asked: not sent, B2 keeps them */
    assert_member(body, "defaultServerSideEncryption.mode", "SSE-B2");
    assert_member(body, "defaultServerSideEncryption.algorithm", "AES256");
    json_object_put(body);
    /* removing one part keeps the other; removing both drops the rule */
    struct stor_option hide_none[] = {{"hide_after", "none"}, {"lifecycle_prefix", "new/"}};
    options.settings = hide_none;
    options.setting_count = 2;
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", TWO_RULES, "null") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON,
                BUCKET_WITH("allPrivate", TWO_RULES, "null"));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                     STOR_OK);
    body = last_body(test, "b2_update_bucket");
    json_object *rule = json_object_array_get_idx(member(body, "lifecycleRules"), 0);
    assert_member(rule, "fileNamePrefix", "new/");
    assert_member(rule, "daysFromHidingToDeleting", "30");
    json_object *hide = member(rule, "daysFromUploadingToHiding");
    assert_null(hide); /* sent as null */
    json_object_put(body);
    struct stor_option all_none[] = {{"keep_old_versions", "none"}, {"hide_after", "none"}};
    options.settings = all_none;
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", "[{\"fileNamePrefix\": \"\", "
                                              "\"daysFromHidingToDeleting\": 5}]", "null") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON,
                BUCKET_WITH("allPrivate", "[]", "null"));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                     STOR_OK);
    body = last_body(test, "b2_update_bucket");
    assert_int_equal(json_object_array_length(member(body, "lifecycleRules")), 0);
    json_object_put(body);
    /* a rule made where there was none */
    struct stor_option keep[] = {{"keep_old_versions", "3d"}};
    options.settings = keep;
    options.setting_count = 1;
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", "[]", "null") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON, BUCKET_WITH("allPrivate", "[]", "null"));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                     STOR_OK);
    body = last_body(test, "b2_update_bucket");
    rule = json_object_array_get_idx(member(body, "lifecycleRules"), 0);
    assert_member(rule, "fileNamePrefix", "");
    assert_member(rule, "daysFromHidingToDeleting", "3");
    json_object_put(body);
}

static void update_bucket_refusals(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    static const char *const bad[][2] = {{"object_lock", "yes"}, {"object_lock", "no"},
                                         {"lifecycle", "30d"}, {"default_sse", "SSE-C"},
                                         {"keep_old_versions", "30x"}, {"hide_after", "0d"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct stor_option one = {bad[i][0], bad[i][1]};
        struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = -1,
                                              .settings = &one, .setting_count = 1};
        assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                         STOR_EINVAL);
        assert_non_null(strstr(err.message, bad[i][0]));
        assert_one_line(&err);
    }
    struct stor_bucket_options odd = {.struct_size = sizeof odd, .is_public = 7};
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &odd, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_int_equal(fake_count(test->http, NULL), 0);
    /* object_lock says it cannot change */
    struct stor_option lock = {"object_lock", "yes"};
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = -1,
                                          .settings = &lock, .setting_count = 1};
    b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err);
    assert_non_null(strstr(err.message, "cannot be changed after"));
    /* a prefix with no rule to apply it to: refused after the read, nothing updated */
    struct stor_option prefix = {"lifecycle_prefix", "a/"};
    options.settings = &prefix;
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", "[]", "null") "]}");
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_non_null(strstr(err.message, "lifecycle_prefix"));
    /* a missing bucket */
    options = (struct stor_bucket_options){.struct_size = sizeof options, .is_public = 0};
    fake_script(test->http, "b2_list_buckets", 200, JSON, "{\"buckets\": []}");
    assert_int_equal(b2_update_bucket(test->plugin, "no-such-bucket", &options, NULL, NULL, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(fake_count(test->http, "b2_update_bucket"), 0);
}

/* ---- protect ---- */

#define FILE_ENTRY(mode, until, hold)                                                            \
    "{\"action\": \"upload\", \"fileName\": \"l.txt\", \"fileId\": \"id1\", "                   \
    "\"contentLength\": 5, \"uploadTimestamp\": 1, \"fileRetention\": "                          \
    "{\"isClientAuthorizedToRead\": true, \"value\": {\"mode\": " mode ", "                      \
    "\"retainUntilTimestamp\": " until "}}, \"legalHold\": {\"isClientAuthorizedToRead\": true, " \
    "\"value\": " hold "}}"
#define CURRENT(mode, until, hold)                                                               \
    "{\"files\": [" FILE_ENTRY(mode, until, hold) "], \"nextFileName\": null}"

static struct stor_protection asked(const char *mode, int64_t until, int hold)
{
    return (struct stor_protection){.retention_mode = mode, .retain_until_ms = until,
                                    .legal_hold = hold};
}

struct object_seen {
    int calls;
    char mode[16];
    int64_t until;
    int hold;
};

static int on_object(void *context, const struct stor_object *object)
{
    struct object_seen *seen = context;
    seen->calls++;
    snprintf(seen->mode, sizeof seen->mode, "%s",
             object->protection.retention_mode ? object->protection.retention_mode : "");
    seen->until = object->protection.retain_until_ms;
    seen->hold = object->protection.legal_hold;
    return 0;
}

static void protect_current_version(void **state)
{
    struct b2_test *test = *state;
    struct stor_protection protection = asked("governance", 4102444900000LL, 1);
    struct object_seen seen = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                CURRENT("\"governance\"", UNTIL, "\"off\""));
    fake_script(test->http, "b2_update_file_retention", 200, JSON,
                "{\"fileId\": \"id1\", \"fileName\": \"l.txt\", \"fileRetention\": {\"mode\": "
                "\"governance\", \"retainUntilTimestamp\": 4102444900000}}");
    fake_script(test->http, "b2_update_file_legal_hold", 200, JSON,
                "{\"fileId\": \"id1\", \"fileName\": \"l.txt\", \"legalHold\": \"on\"}");
    fake_script(test->http, "b2_get_file_info", 200, JSON,
                FILE_ENTRY("\"governance\"", "4102444900000", "\"on\""));
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &protection, 0,
                                on_object, &seen, &err), STOR_OK);
    json_object *listed = last_body(test, "b2_list_file_names");
    assert_member(listed, "startFileName", "l.txt"); /* exactly that name */
    json_object_put(listed);
    json_object *body = last_body(test, "b2_update_file_retention");
    assert_member(body, "fileName", "l.txt");
    assert_member(body, "fileId", "id1");
    assert_member(body, "fileRetention.mode", "governance");
    assert_member(body, "fileRetention.retainUntilTimestamp", "4102444900000");
    assert_null(member(body, "bypassGovernance"));
    json_object_put(body);
    body = last_body(test, "b2_update_file_legal_hold");
    assert_member(body, "fileName", "l.txt");
    assert_member(body, "fileId", "id1");
    assert_member(body, "legalHold", "on");
    json_object_put(body);
    body = last_body(test, "b2_get_file_info");
    assert_member(body, "fileId", "id1");
    json_object_put(body);
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.mode, "governance");
    assert_int_equal(seen.until, 4102444900000LL);
    assert_int_equal(seen.hold, 1);
}

static void protect_removal_with_bypass_by_version(void **state)
{
    struct b2_test *test = *state;
    struct stor_protection protection = asked("none", -1, -1);
    struct object_seen seen = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_get_file_info", 200, JSON, FILE_ENTRY("\"governance\"", UNTIL,
                                                                      "\"off\""));
    fake_script(test->http, "b2_update_file_retention", 200, JSON,
                "{\"fileId\": \"id1\", \"fileName\": \"l.txt\", \"fileRetention\": {\"mode\": "
                "null, \"retainUntilTimestamp\": null}}");
    fake_script(test->http, "b2_get_file_info", 200, JSON, FILE_ENTRY("null", "null", "\"off\""));
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", "id1", &protection,
                                STOR_PROTECT_BYPASS_GOVERNANCE, on_object, &seen, &err), STOR_OK);
    json_object *body = last_body(test, "b2_update_file_retention"), *found;
    assert_true(json_object_object_get_ex(member(body, "fileRetention"), "mode", &found));
    assert_null(found); /* null */
    assert_true(json_object_object_get_ex(member(body, "fileRetention"), "retainUntilTimestamp",
                                          &found));
    assert_null(found);
    assert_member(body, "bypassGovernance", "true");
    json_object_put(body);
    assert_int_equal(fake_count(test->http, "b2_update_file_legal_hold"), 0);
    assert_int_equal(fake_count(test->http, "b2_list_file_names"), 0);
    assert_string_equal(seen.mode, "");
    assert_int_equal(seen.until, -1);
}

static void protect_refusals_before_any_request(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct stor_protection bad[] = {
        {.encryption = "SSE-B2", .retain_until_ms = -1, .legal_hold = -1},
        asked(NULL, -1, -1),                     /* nothing asked */
        asked(NULL, 4102444800000LL, -1),         /* a time without a mode */
        asked("forever", 4102444800000LL, -1),
        asked("governance", -1, -1),
        asked("compliance", 1000, -1),            /* in the past */
        asked("none", 4102444800000LL, -1),
        asked(NULL, -1, 2),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &bad[i], 0, NULL,
                                    NULL, &err), STOR_EINVAL);
        assert_one_line(&err);
    }
    struct stor_protection fine = asked(NULL, -1, 1);
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &fine, 0x80, NULL, NULL,
                                &err), STOR_EINVAL);
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, NULL, 0, NULL, NULL,
                                &err), STOR_EINVAL);
    assert_int_equal(fake_count(test->http, NULL), 0);
}

/* The default fake key lacks writeFileRetentions, writeFileLegalHolds and bypassGovernance. */
static void protect_capabilities_named(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct stor_protection retention = asked("governance", 4102444800000LL, -1);
    struct stor_protection hold = asked(NULL, -1, 1);
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &retention, 0, NULL,
                                NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "writeFileRetentions"));
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &hold, 0, NULL, NULL,
                                &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "writeFileLegalHolds"));
    test->world.more_capabilities = (const char *const[]){"writeFileRetentions", NULL};
    b2_test_restart(test, NULL);
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &retention,
                                STOR_PROTECT_BYPASS_GOVERNANCE, NULL, NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "bypassGovernance"));
    assert_int_equal(fake_count(test->http, "b2_list_file_names"), 0);
    assert_int_equal(fake_count(test->http, "b2_update_file_retention"), 0);
}

static void protect_b2_refusals_say_why(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    const char *denied = "{\"status\": 403, \"code\": \"access_denied\", \"message\": \"no\"}";
    /* governance shortened without the bypass */
    struct stor_protection shorter = asked("governance", 4102444700000LL, -1);
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                CURRENT("\"governance\"", UNTIL, "\"off\""));
    fake_script(test->http, "b2_update_file_retention", 403, JSON, denied);
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &shorter, 0, NULL, NULL,
                                &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "governance retention until 2100-01-01 00:00:00 UTC"));
    assert_non_null(strstr(err.message, "governance bypass"));
    assert_one_line(&err);
    /* compliance removed, even with the bypass */
    struct stor_protection none = asked("none", -1, -1);
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                CURRENT("\"compliance\"", UNTIL, "\"off\""));
    fake_script(test->http, "b2_update_file_retention", 403, JSON, denied);
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &none,
                                STOR_PROTECT_BYPASS_GOVERNANCE, NULL, NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "compliance cannot be shortened or removed"));
    assert_one_line(&err);
    /* a bucket without Object Lock */
    struct stor_protection hold = asked(NULL, -1, 1);
    fake_script(test->http, "b2_list_file_names", 200, JSON, CURRENT("null", "null", "null"));
    fake_script(test->http, "b2_update_file_legal_hold", 400, JSON,
                "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"not enabled\"}");
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [{\"bucketName\": \"bucket1\", \"bucketId\": \"bkt00000001\", "
                "\"bucketType\": \"allPrivate\", \"fileLockConfiguration\": "
                "{\"isClientAuthorizedToRead\": true, \"value\": {\"isFileLockEnabled\": "
                "false}}}]}");
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", NULL, &hold, 0, NULL, NULL,
                                &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "has no Object Lock"));
    assert_one_line(&err);
    /* a missing version */
    fake_script(test->http, "b2_get_file_info", 404, JSON,
                "{\"status\": 404, \"code\": \"not_found\", \"message\": \"gone\"}");
    assert_int_equal(b2_protect(test->plugin, FAKE_BUCKET, "l.txt", "id9", &hold, 0, NULL, NULL,
                                &err), STOR_ENOTFOUND);
    assert_int_equal(fake_count(test->http, "b2_update_file_legal_hold"), 1);
}

/* ---- remove_ex with the governance bypass ---- */

static void remove_with_bypass(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct stor_remove_options options = {.struct_size = sizeof options, .version_id = "id1",
                                          .flags = STOR_REMOVE_BYPASS_GOVERNANCE};
    fake_script(test->http, "b2_delete_file_version", 200, JSON,
                "{\"fileId\": \"id1\", \"fileName\": \"l.txt\"}");
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_OK);
    json_object *body = last_body(test, "b2_delete_file_version");
    assert_member(body, "fileId", "id1");
    assert_member(body, "bypassGovernance", "true");
    json_object_put(body);
    /* every version */
    fake_forget_requests(test->http);
    options = (struct stor_remove_options){.struct_size = sizeof options,
                                           .flags = STOR_REMOVE_ALL_VERSIONS |
                                                    STOR_REMOVE_BYPASS_GOVERNANCE};
    fake_script(test->http, "b2_list_file_versions", 200, JSON,
                "{\"files\": [" FILE_ENTRY("\"governance\"", UNTIL, "\"off\"") ", "
                "{\"action\": \"upload\", \"fileName\": \"l.txt\", \"fileId\": \"id0\", "
                "\"contentLength\": 1, \"uploadTimestamp\": 0}], \"nextFileName\": null}");
    fake_script(test->http, "b2_delete_file_version", 200, JSON, "{}");
    fake_script(test->http, "b2_delete_file_version", 200, JSON, "{}");
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, "b2_delete_file_version"), 2);
    for (size_t i = 0; i < test->http->request_count; i++)
        if (strstr(test->http->requests[i].url, "b2_delete_file_version")) {
            body = json_tokener_parse(test->http->requests[i].body);
            assert_member(body, "bypassGovernance", "true");
            json_object_put(body);
        }
    /* compliance is not bypassed: said so */
    options = (struct stor_remove_options){.struct_size = sizeof options, .version_id = "id1",
                                           .flags = STOR_REMOVE_BYPASS_GOVERNANCE};
    fake_script(test->http, "b2_delete_file_version", 403, JSON,
                "{\"status\": 403, \"code\": \"access_denied\", \"message\": \"locked\"}");
    fake_script(test->http, "b2_get_file_info", 200, JSON, FILE_ENTRY("\"compliance\"", UNTIL,
                                                                      "\"off\""));
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "not even with the governance bypass"));
    assert_one_line(&err);
}

static void remove_bypass_needs_the_capability(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct stor_remove_options options = {.struct_size = sizeof options, .version_id = "id1",
                                          .flags = STOR_REMOVE_BYPASS_GOVERNANCE};
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "bypassGovernance"));
    assert_int_equal(fake_count(test->http, "b2_delete_file_version"), 0);
    /* without the flag nothing is refused early and no bypass is sent */
    options.flags = 0;
    fake_script(test->http, "b2_delete_file_version", 200, JSON, "{}");
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_OK);
    json_object *body = last_body(test, "b2_delete_file_version");
    assert_null(member(body, "bypassGovernance"));
    json_object_put(body);
}

/* --lifecycle rules: each becomes one of B2's rules; on update they replace every rule B2 has
 * (none: none left); overlapping prefixes, too many rules, a rule without days or mixed with the
 * one-rule settings are refused before any request. */
static void lifecycle_rules_are_given_whole(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct stor_option two[] = {{"lifecycle", "hide-after=90d,keep-old-versions=30d,prefix=logs/a,b=c"},
                                {"lifecycle", "cancel-unfinished=2d"}};
    /* two rules, one for every name: the second applies to logs/ too */
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = -1,
                                          .settings = two, .setting_count = 2};
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_non_null(strstr(err.message, "would both apply"));
    two[1].value = "cancel-unfinished=2d,prefix=tmp/";
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", TWO_RULES, "null") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON, BUCKET_WITH("allPrivate", "[]", "null"));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err), STOR_OK);
    json_object *body = last_body(test, "b2_update_bucket"), *rules;
    assert_true(json_object_object_get_ex(body, "lifecycleRules", &rules));
    assert_int_equal(json_object_array_length(rules), 2); /* B2's two rules replaced, not merged */
    json_object *first = json_object_array_get_idx(rules, 0), *second = json_object_array_get_idx(rules, 1);
    assert_member(first, "fileNamePrefix", "logs/a,b=c"); /* prefix= takes the rest */
    assert_member(first, "daysFromUploadingToHiding", "90");
    assert_member(first, "daysFromHidingToDeleting", "30");
    assert_null(member(first, "daysFromStartingToCancelingUnfinishedLargeFiles"));
    assert_member(second, "fileNamePrefix", "tmp/");
    assert_member(second, "daysFromStartingToCancelingUnfinishedLargeFiles", "2");
    json_object_put(body);
    struct stor_option none = {"lifecycle", "none"};
    options.settings = &none;
    options.setting_count = 1;
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET_WITH("allPrivate", TWO_RULES, "null") "]}");
    fake_script(test->http, "b2_update_bucket", 200, JSON, BUCKET_WITH("allPrivate", "[]", "null"));
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err), STOR_OK);
    body = last_body(test, "b2_update_bucket");
    assert_true(json_object_object_get_ex(body, "lifecycleRules", &rules));
    assert_int_equal(json_object_array_length(rules), 0);
    json_object_put(body);

    fake_forget_requests(test->http);
    static const char *const bad[][2] = {
        {"lifecycle", "hide-after=0d"},        {"lifecycle", "keep-old-versions=30x"},
        {"lifecycle", "prefix=logs/"},         {"lifecycle", "hide-after=1d,hide-after=2d"},
        {"lifecycle", "delete-everything=1d"}, {"lifecycle", "hide-after=1d,prefix=a//b"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct stor_option one = {bad[i][0], bad[i][1]};
        options.settings = &one;
        assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err),
                         STOR_EINVAL);
        assert_one_line(&err);
        assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, NULL, NULL, &err),
                         STOR_EINVAL);
    }
    struct stor_option mixed[] = {{"lifecycle", "hide-after=1d"}, {"keep_old_versions", "3d"}};
    options.settings = mixed;
    options.setting_count = 2;
    assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, NULL, NULL, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "not with --keep-old-versions"));
    struct stor_option none_and_more[] = {{"lifecycle", "none"}, {"lifecycle", "hide-after=1d"}};
    options.settings = none_and_more;
    assert_int_equal(b2_update_bucket(test->plugin, FAKE_BUCKET, &options, NULL, NULL, &err), STOR_EINVAL);
    static struct stor_option many[101];
    static char texts[101][64];
    for (int i = 0; i < 101; i++) {
        snprintf(texts[i], sizeof texts[i], "hide-after=1d,prefix=p%03d/", i);
        many[i] = (struct stor_option){"lifecycle", texts[i]};
    }
    options.settings = many;
    options.setting_count = 101;
    assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, NULL, NULL, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "at most 100"));
    assert_int_equal(fake_count(test->http, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(update_bucket_sends_each_change_and_keeps_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(update_bucket_only_what_is_given, setup, teardown),
        cmocka_unit_test_setup_teardown(update_bucket_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(lifecycle_rules_are_given_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(protect_current_version, setup, teardown),
        cmocka_unit_test_setup_teardown(protect_removal_with_bypass_by_version, setup, teardown),
        cmocka_unit_test_setup_teardown(protect_refusals_before_any_request, setup, teardown),
        cmocka_unit_test_setup_teardown(protect_capabilities_named, setup_plain_key, teardown),
        cmocka_unit_test_setup_teardown(protect_b2_refusals_say_why, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_with_bypass, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_bypass_needs_the_capability, setup_plain_key,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
