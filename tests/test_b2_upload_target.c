/* tests/test_b2_upload_target.c — get-upload-target: b2_get_upload_url as the seed describes it,
 * every row of its error table, backoff, malformed answers, the pool and its concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b2_fake.h"

#define GET_UPLOAD_URL "b2_get_upload_url"
#define ERROR_BODY(status, code, message) \
    "{\"status\": " #status ", \"code\": \"" code "\", \"message\": \"" message "\"}"

static int setup(void **state)
{
    static const char *const options[] = {"endpoint=https://auth.test", "retries=5",
                                          "retry_time=600", NULL};
    return b2_test_setup(state, options, 0);
}

static int teardown(void **state)
{
    return b2_test_teardown(state);
}

static enum stor_status lease(struct b2_test *test, struct b2_target *target, struct stor_error *err)
{
    memset(err, 0, sizeof *err);
    return b2_lease_for_bucket(test->plugin, FAKE_BUCKET, 0, target, err);
}

/* The request is the seed's: POST, Authorization = account token, JSON {"bucketId": ...}. */
static void request_is_the_seed_request(void **state)
{
    struct b2_test *test = *state;
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    const struct fake_request *request = fake_last(test->http, GET_UPLOAD_URL);
    assert_string_equal(request->method, "POST");
    assert_string_equal(request->url, "https://api.test/b2api/v2/b2_get_upload_url");
    assert_string_equal(fake_request_header(request, "Authorization"), "acct-token-1");
    json_object *body = json_tokener_parse(request->body), *bucket_id;
    assert_non_null(body);
    assert_true(json_object_object_get_ex(body, "bucketId", &bucket_id));
    assert_string_equal(json_object_get_string(bucket_id), FAKE_BUCKET_ID);
    assert_int_equal(json_object_object_length(body), 1);
    json_object_put(body);
    assert_string_equal(target.bucket_id, FAKE_BUCKET_ID);
    assert_string_equal(target.url, "https://pod.test/upload/1");
    assert_string_equal(target.token, "upload-token-1");
    assert_int_equal(target.issued_at_ms, test->clock.now_ms);
    /* The authorization went through v4 with Basic credentials handed to the transport. */
    const struct fake_request *authorize = fake_last(test->http, "b2_authorize_account");
    assert_string_equal(authorize->url, "https://auth.test/b2api/v4/b2_authorize_account");
    assert_string_equal(authorize->basic_user, FAKE_KEY_ID);
    assert_null(fake_request_header(authorize, "Authorization"));
    b2_target_free(&target);
}

/* 400 bad_bucket_id: the name is looked up again once; still bad -> "no bucket". */
static void bad_bucket_id_is_no_such_bucket(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 400, NULL, ERROR_BODY(400, "bad_bucket_id", "Invalid bucketId"));
    fake_script(test->http, GET_UPLOAD_URL, 400, NULL, ERROR_BODY(400, "bad_bucket_id", "Invalid bucketId"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "no bucket 'bucket1'"));
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 2);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
}

/* 400 bad_bucket_id once (bucket re-created): the fresh id works. */
static void bad_bucket_id_then_resolved_again(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 400, NULL, ERROR_BODY(400, "bad_bucket_id", "Invalid bucketId"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 2);
    b2_target_free(&target);
}

/* 400 bad_request: fatal at once, with B2's message. */
static void bad_request_fails_with_b2_message(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 400, NULL,
                ERROR_BODY(400, "bad_request", "snapshot buckets take no uploads"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "snapshot buckets take no uploads"));
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(test->clock.sleep_count, 0);
}

/* 400 cannot_delete_non_empty_bucket (listed in the seed's table): fatal, not retried. */
static void other_400_is_fatal(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 400, NULL,
                ERROR_BODY(400, "cannot_delete_non_empty_bucket", "bucket not empty"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "bucket not empty"));
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
}

static void reauthorizes_on(void **state, const char *code)
{
    struct b2_test *test = *state;
    char body[256];
    snprintf(body, sizeof body, "{\"status\": 401, \"code\": \"%s\", \"message\": \"m\"}", code);
    fake_script(test->http, GET_UPLOAD_URL, 401, NULL, body);
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 2);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
    assert_string_equal(fake_request_header(fake_last(test->http, GET_UPLOAD_URL), "Authorization"),
                        "acct-token-2");
    assert_int_equal(test->clock.sleep_count, 0);
    b2_target_free(&target);
}

/* 401 bad_auth_token: re-authorize, retry with the new token. */
static void bad_auth_token_reauthorizes(void **state)
{
    reauthorizes_on(state, "bad_auth_token");
}

/* 401 expired_auth_token: re-authorize, retry with the new token. */
static void expired_auth_token_reauthorizes(void **state)
{
    reauthorizes_on(state, "expired_auth_token");
}

/* A second 401 right after re-authorizing is fatal, not a loop. */
static void second_expiry_after_reauthorizing_is_fatal(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 401, NULL, ERROR_BODY(401, "expired_auth_token", "m"));
    fake_script(test->http, GET_UPLOAD_URL, 401, NULL, ERROR_BODY(401, "expired_auth_token", "m"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EAUTH);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 2);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
}

/* 401 unauthorized with a key lacking writeFiles: that is what the message says. */
static void unauthorized_names_the_missing_capability(void **state)
{
    struct b2_test *test = *state;
    test->world.without_write_files = 1;
    fake_script(test->http, GET_UPLOAD_URL, 401, NULL, ERROR_BODY(401, "unauthorized", "not entitled"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "the application key lacks the writeFiles capability"));
    assert_non_null(strstr(err.message, "not entitled"));
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 1);
}

/* 401 unauthorized with writeFiles present: the key is restricted (bucket or prefix). */
static void unauthorized_with_capability_says_restricted(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 401, NULL, ERROR_BODY(401, "unauthorized", "bucket not allowed"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "restricted"));
    assert_non_null(strstr(err.message, "bucket not allowed"));
}

/* 403 storage_cap_exceeded: fatal, about the account's cap. */
static void storage_cap_exceeded_is_fatal(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 403, NULL, ERROR_BODY(403, "storage_cap_exceeded", "Cap exceeded."));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "storage cap"));
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(test->clock.sleep_count, 0);
}

/* 503 service_unavailable: back off 1 s (no jitter from the fake), then succeed. */
static void service_unavailable_backs_off_and_retries(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 503, NULL, ERROR_BODY(503, "service_unavailable", "too busy"));
    fake_script(test->http, GET_UPLOAD_URL, 503, NULL, ERROR_BODY(503, "service_unavailable", "too busy"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 3);
    assert_int_equal(fake_slept(&test->clock), 1000 + 2000);
    b2_target_free(&target);
}

/* 503 on every try: ETRANSIENT after `retries` tries, with the last error. */
static void service_unavailable_gives_up_after_retries(void **state)
{
    struct b2_test *test = *state;
    for (int i = 0; i < 6; i++)
        fake_script(test->http, GET_UPLOAD_URL, 503, NULL, ERROR_BODY(503, "service_unavailable", "vault busy"));
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_ETRANSIENT);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 5); /* retries=5 */
    assert_non_null(strstr(err.message, "vault busy"));
    assert_non_null(strstr(err.message, "5 times"));
    assert_int_equal(fake_slept(&test->clock), 1000 + 2000 + 4000 + 8000);
}

/* Other transient failures: 500, 429, and the three transport failures all retry. */
static void transient_failures_retry(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 500, NULL, ERROR_BODY(500, "internal_error", "oops"));
    fake_script(test->http, GET_UPLOAD_URL, 429, NULL, ERROR_BODY(429, "too_many_requests", "slow down"));
    fake_script_outcome(test->http, GET_UPLOAD_URL, SP_HTTP_CONNECT);
    fake_script_outcome(test->http, GET_UPLOAD_URL, SP_HTTP_TIMEOUT);
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 5);
    b2_target_free(&target);
}

/* A 503 without a JSON body (a proxy's HTML page) is still a 503. */
static void html_error_body_falls_back_to_status(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 503, "Content-Type: text/html\n", "<html>busy</html>");
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
    b2_target_free(&target);
}

/* Retry-After is honoured exactly, and the exponential wait starts over at 1 s after it. */
static void retry_after_is_honoured_then_backoff_resets(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 503, NULL, "");
    fake_script(test->http, GET_UPLOAD_URL, 503, NULL, "");
    fake_script(test->http, GET_UPLOAD_URL, 429, "Retry-After: 7\n", ERROR_BODY(429, "too_many_requests", "x"));
    fake_script(test->http, GET_UPLOAD_URL, 503, NULL, "");
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    int64_t expected[] = {1000, 2000, 7000, 1000};
    size_t seen = 0;
    int64_t previous = -1;
    for (size_t i = 0; i < test->http->request_count; i++) {
        if (!strstr(test->http->requests[i].url, GET_UPLOAD_URL))
            continue;
        if (previous >= 0)
            assert_int_equal(test->http->requests[i].at_ms - previous, expected[seen++]);
        previous = test->http->requests[i].at_ms;
    }
    assert_int_equal(seen, 4);
    b2_target_free(&target);
}

/* Backoff doubles to a 64 s cap, jitter adds at most a quarter, and retry_time bounds it all. */
static void backoff_is_bounded(void **state)
{
    struct b2_test *test = *state;
    b2_test_stop(test);
    static const char *const options[] = {"retries=12", "retry_time=100000", NULL};
    assert_int_equal(b2_test_start(test, options, 0), 0);
    test->clock.random_value = UINT32_MAX; /* the largest jitter every time */
    for (int i = 0; i < 12; i++)
        fake_script(test->http, GET_UPLOAD_URL, 503, NULL, "");
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_ETRANSIENT);
    int64_t previous = -1, longest = 0;
    size_t waits = 0;
    for (size_t i = 0; i < test->http->request_count; i++) {
        if (!strstr(test->http->requests[i].url, GET_UPLOAD_URL))
            continue;
        if (previous >= 0) {
            int64_t wait = test->http->requests[i].at_ms - previous;
            assert_true(wait >= 1000);
            assert_true(wait <= 64000 + 64000 / 4);
            longest = wait > longest ? wait : longest;
            waits++;
        }
        previous = test->http->requests[i].at_ms;
    }
    assert_int_equal(waits, 11);
    assert_true(longest >= 64000);

    /* retry_time: with 10 s allowed, 1 + 2 + 4 s fit and the 8 s wait does not. */
    b2_test_stop(test);
    static const char *const short_options[] = {"retries=100", "retry_time=10", NULL};
    assert_int_equal(b2_test_start(test, short_options, 0), 0);
    for (int i = 0; i < 20; i++)
        fake_script(test->http, GET_UPLOAD_URL, 503, NULL, "");
    assert_int_equal(lease(test, &target, &err), STOR_ETRANSIENT);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 4);
    assert_true(fake_slept(&test->clock) <= 10000);
}

static void malformed(void **state, long status, const char *body, const char *expected)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, status, NULL, body);
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "b2_get_upload_url"));
    if (!strstr(err.message, expected))
        fail_msg("message '%s' lacks '%s'", err.message, expected);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
}

static void malformed_not_json(void **state)
{
    malformed(state, 200, "<html>hello</html>", "not JSON");
}

static void malformed_truncated(void **state)
{
    malformed(state, 200, "{\"bucketId\": \"bkt00000001\", \"uploadUrl\": \"https://p", "not JSON");
}

static void malformed_empty_body(void **state)
{
    malformed(state, 200, "", "empty");
}

static void malformed_not_an_object(void **state)
{
    malformed(state, 200, "[1, 2, 3]", "not an object");
}

static void malformed_missing_upload_url(void **state)
{
    malformed(state, 200, "{\"bucketId\": \"bkt00000001\", \"authorizationToken\": \"t\"}",
              "uploadUrl is missing");
}

static void malformed_missing_token(void **state)
{
    malformed(state, 200, "{\"bucketId\": \"bkt00000001\", \"uploadUrl\": \"https://pod.test/u\"}",
              "authorizationToken is missing");
}

static void malformed_wrong_type(void **state)
{
    malformed(state, 200, "{\"bucketId\": \"bkt00000001\", \"uploadUrl\": 42, \"authorizationToken\": \"t\"}",
              "uploadUrl is not a string");
}

static void malformed_empty_upload_url(void **state)
{
    malformed(state, 200, "{\"bucketId\": \"bkt00000001\", \"uploadUrl\": \"\", \"authorizationToken\": \"t\"}",
              "uploadUrl is empty");
}

static void malformed_other_bucket(void **state)
{
    malformed(state, 200, "{\"bucketId\": \"zzz\", \"uploadUrl\": \"https://pod.test/u\", \"authorizationToken\": \"t\"}",
              "not the bucket asked for");
}

static void malformed_deep_nesting(void **state)
{
    char body[4096];
    memset(body, '[', 2000);
    body[2000] = '\0';
    malformed(state, 200, body, "not JSON");
}

/* ---- no downgrade from https to plain http ---- */

/* Under an https endpoint a plain http:// uploadUrl is refused in one line that names the problem
 * and not the token; nothing is sent to it, it is not retried, the next lease asks again. */
static void plain_http_upload_url_under_https_is_refused(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 200, NULL,
                "{\"bucketId\": \"bkt00000001\", \"uploadUrl\": \"http://pod.test/upload/9\", "
                "\"authorizationToken\": \"upload-token-99\"}");
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_EINTERNAL);
    assert_string_equal(err.message, "b2_get_upload_url: uploadUrl is plain http:// while the "
                        "endpoint is https: refused, the token and data sent there would travel "
                        "in clear");
    assert_null(strstr(err.message, "upload-token"));
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(fake_count(test->http, "http://pod.test"), 0);
    assert_int_equal(test->plugin->idle_count, 0);
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_string_equal(target.url, "https://pod.test/upload/1");
    b2_target_free(&target);
}

/* A test server on this machine (http endpoint) hands out http URLs: they are used. */
static int setup_plain_http(void **state)
{
    static const char *const options[] = {"endpoint=http://127.0.0.1:8181", NULL};
    if (b2_test_setup(state, options, 0) != 0)
        return -1;
    struct b2_test *test = *state;
    fake_script(test->http, "b2_authorize_account", 200, NULL,
                "{\"accountId\": \"account-1\", \"authorizationToken\": \"acct-token-1\", "
                "\"apiInfo\": {\"storageApi\": {\"apiUrl\": \"http://127.0.0.1:8181\", "
                "\"downloadUrl\": \"http://127.0.0.1:8181\", \"recommendedPartSize\": 100000000, "
                "\"absoluteMinimumPartSize\": 5000000, \"allowed\": {\"capabilities\": "
                "[\"listBuckets\", \"writeFiles\"], \"buckets\": [], \"namePrefix\": null}}}}");
    fake_script(test->http, "b2_list_buckets", 200, NULL,
                "{\"buckets\": [{\"bucketId\": \"bkt00000001\", \"bucketName\": \"bucket1\"}]}");
    return 0;
}

static void plain_http_urls_under_http_endpoint_are_used(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, GET_UPLOAD_URL, 200, NULL,
                "{\"bucketId\": \"bkt00000001\", \"uploadUrl\": "
                "\"http://127.0.0.1:8181/b2api/v2/b2_upload_file/bkt00000001\", "
                "\"authorizationToken\": \"upload-token-1\"}");
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_string_equal(target.url, "http://127.0.0.1:8181/b2api/v2/b2_upload_file/bkt00000001");
    assert_string_equal(fake_last(test->http, GET_UPLOAD_URL)->url,
                        "http://127.0.0.1:8181/b2api/v2/b2_get_upload_url");
    b2_target_free(&target);
}

/* 100 sequential leases, each returned after "success": one b2_get_upload_url in all. */
static void pool_reuses_a_returned_target(void **state)
{
    struct b2_test *test = *state;
    for (int i = 0; i < 100; i++) {
        struct b2_target target;
        struct stor_error err;
        assert_int_equal(lease(test, &target, &err), STOR_OK);
        assert_string_equal(target.token, "upload-token-1");
        b2_pool_return(test->plugin, &target);
    }
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 1);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 1);
}

/* Leases are exclusive: two held at once are two different targets. */
static void pool_leases_are_exclusive(void **state)
{
    struct b2_test *test = *state;
    struct b2_target first, second;
    struct stor_error err;
    assert_int_equal(lease(test, &first, &err), STOR_OK);
    assert_int_equal(lease(test, &second, &err), STOR_OK);
    assert_string_not_equal(first.token, second.token);
    b2_pool_return(test->plugin, &first);
    b2_pool_return(test->plugin, &second);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
}

/* A target is never handed out within an hour of its 24 h end. */
static void pool_drops_targets_before_24_hours(void **state)
{
    struct b2_test *test = *state;
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    b2_pool_return(test->plugin, &target);
    test->clock.now_ms += 22LL * 3600 * 1000; /* still good */
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_string_equal(target.token, "upload-token-1");
    b2_pool_return(test->plugin, &target);
    test->clock.now_ms += 90LL * 60 * 1000; /* 23.5 h: inside the margin */
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_string_not_equal(target.token, "upload-token-1");
    b2_target_free(&target);
}

/* After a failure that condemned a target, the replacement comes from B2, not the pool. */
static void fresh_lease_bypasses_the_pool(void **state)
{
    struct b2_test *test = *state;
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    b2_pool_return(test->plugin, &target);
    assert_int_equal(b2_lease_for_bucket(test->plugin, FAKE_BUCKET, 1, &target, &err), STOR_OK);
    assert_string_equal(target.token, "upload-token-2");
    b2_target_free(&target);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
}

static void on_target(void *context, const struct stor_upload_target *target)
{
    struct stor_upload_target *copy = context;
    copy->bucket_id = strdup(target->bucket_id);
    copy->url = strdup(target->url);
    copy->token = strdup(target->token);
    copy->expires_at_ms = target->expires_at_ms;
}

/* The get_upload_target slot hands a target over for good: it never comes back from the pool. */
static void handed_over_target_leaves_the_pool(void **state)
{
    struct b2_test *test = *state;
    struct b2_target target;
    struct stor_error err = {""};
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    b2_pool_return(test->plugin, &target);
    struct stor_upload_target handed = {0};
    assert_int_equal(b2_get_upload_target(test->plugin, FAKE_BUCKET, on_target, &handed, &err), STOR_OK);
    assert_string_equal(handed.token, "upload-token-1");
    assert_string_equal(handed.bucket_id, FAKE_BUCKET_ID);
    assert_int_equal(handed.expires_at_ms, test->clock.now_ms + 24LL * 3600 * 1000);
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    assert_string_equal(target.token, "upload-token-2");
    b2_target_free(&target);
    free((char *)handed.bucket_id);
    free((char *)handed.url);
    free((char *)handed.token);
}

struct worker {
    struct b2_test *test;
    int failures;
};

static int ignore_result(void *context, const struct stor_object *object)
{
    (void)context;
    (void)object;
    return 0;
}

static void *upload_worker(void *context)
{
    struct worker *worker = context;
    for (int i = 0; i < 10; i++) {
        char key[64];
        snprintf(key, sizeof key, "thread-%p-%d", (void *)worker, i % 4);
        int fd = fake_file("concurrent", 10);
        struct stor_error err;
        if (b2_put(worker->test->plugin, FAKE_BUCKET, key, fd, ignore_result, NULL, &err) != STOR_OK)
            worker->failures++;
        close(fd);
    }
    return NULL;
}

/* 8 threads uploading at once: at most 8 targets, and never one used by two uploads at a time. */
static void eight_threads_hold_at_most_eight_targets(void **state)
{
    struct b2_test *test = *state;
    test->world.upload_delay_us = 300;
    /* Warm up: authorize and resolve the bucket once, so the threads race only for targets. */
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(lease(test, &target, &err), STOR_OK);
    b2_pool_return(test->plugin, &target);
    pthread_t threads[8];
    struct worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (struct worker){test, 0};
        pthread_create(&threads[i], NULL, upload_worker, &workers[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(fake_count(test->http, "pod.test/upload"), 80);
    assert_true(fake_count(test->http, GET_UPLOAD_URL) <= 8);
    assert_int_equal(test->world.uploads_in_flight_max_per_token_violations, 0);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 1);
}

/* Eight threads starting cold: one authorization and one bucket lookup between them. */
static void cold_start_threads_share_one_lookup(void **state)
{
    struct b2_test *test = *state;
    test->world.upload_delay_us = 100;
    pthread_t threads[8];
    struct worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (struct worker){test, 0};
        pthread_create(&threads[i], NULL, upload_worker, &workers[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 1);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 1);
    assert_true(fake_count(test->http, GET_UPLOAD_URL) <= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request_is_the_seed_request, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_bucket_id_is_no_such_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_bucket_id_then_resolved_again, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_request_fails_with_b2_message, setup, teardown),
        cmocka_unit_test_setup_teardown(other_400_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_auth_token_reauthorizes, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_auth_token_reauthorizes, setup, teardown),
        cmocka_unit_test_setup_teardown(second_expiry_after_reauthorizing_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(unauthorized_names_the_missing_capability, setup, teardown),
        cmocka_unit_test_setup_teardown(unauthorized_with_capability_says_restricted, setup, teardown),
        cmocka_unit_test_setup_teardown(storage_cap_exceeded_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(service_unavailable_backs_off_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(service_unavailable_gives_up_after_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(transient_failures_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(html_error_body_falls_back_to_status, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_after_is_honoured_then_backoff_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(backoff_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_empty_body, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_not_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_missing_upload_url, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_missing_token, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_empty_upload_url, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_other_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_http_upload_url_under_https_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_http_urls_under_http_endpoint_are_used, setup_plain_http,
                                        teardown),
        cmocka_unit_test_setup_teardown(pool_reuses_a_returned_target, setup, teardown),
        cmocka_unit_test_setup_teardown(pool_leases_are_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(pool_drops_targets_before_24_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(fresh_lease_bypasses_the_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(handed_over_target_leaves_the_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(eight_threads_hold_at_most_eight_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(cold_start_threads_share_one_lookup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
