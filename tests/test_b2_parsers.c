/* tests/test_b2_parsers.c — regression cases for what fuzzing (tests/fuzz) found in the B2 plugin's
 * parsers of untrusted input: each reproduces the input that broke it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b2.h"
#include "b2_fake.h"

#define TOKEN "4_0022623512fc8f80000000001_0186e431_d18d02_acct_tH7VW03boebOXayIc43"

static int read_endpoint(json_object *root, void *context)
{
    json_object *member;
    *(int *)context = json_object_object_get_ex(root, "endpoint", &member) &&
                      json_object_is_type(member, json_type_string) &&
                      strcmp(json_object_get_string(member), "https://api.example.com") == 0 &&
                      !json_object_object_get_ex(root, "account", &member);
    return 0;
}

/* {"endpoint": null} made the cache reader strcmp a NULL (a crash on the next stor run); such a
 * file now reads as an empty cache, like any other foreign one. Also "keyId": null and numbers. */
static void cache_with_null_fields_reads_as_empty(void **state)
{
    static const char *const files[] = {
        "{\"format\":1,\"endpoint\":null,\"keyId\":\"000key\",\"account\":{}}",
        "{\"format\":1,\"endpoint\":\"https://api.example.com\",\"keyId\":null,\"account\":{}}",
        "{\"format\":1,\"endpoint\":7,\"keyId\":7,\"account\":{}}",
    };
    char directory[] = "/tmp/stor-test-parsers.XXXXXX", why[256];
    assert_non_null(mkdtemp(directory));
    struct b2_cache *cache =
        b2_cache_open(directory, "https://api.example.com", "000key", "the-key", why, sizeof why);
    assert_non_null(cache);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        int fd = open(b2_cache_path(cache), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, files[i], strlen(files[i])), (ssize_t)strlen(files[i]));
        fchmod(fd, 0600);
        close(fd);
        int fresh = 0;
        assert_int_equal(b2_cache_update(cache, read_endpoint, &fresh), 0);
        assert_true(fresh);
    }
    char lock[512];
    snprintf(lock, sizeof lock, "%s", b2_cache_path(cache));
    unlink(lock);
    strcpy(strrchr(lock, '.'), ".lock");
    unlink(lock);
    b2_cache_close(cache);
    assert_int_equal(rmdir(directory), 0);
}

/* An error message that echoes the token past the end of our 256-byte field was cut mid-token,
 * so the whole-token mask missed it and the token's first bytes reached the user's terminal. */
static void error_cut_mid_token_is_masked(void **state)
{
    char body[1024];
    snprintf(body, sizeof body, "{\"status\":401,\"code\":\"%.50s%s\",\"message\":\"%.240s%s\"}",
             "cccccccccccccccccccccccccccccccccccccccccccccccccc", TOKEN,
             "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
             "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
             "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
             TOKEN);
    struct sp_http_response response = {.outcome = SP_HTTP_COMPLETE, .status = 401,
                                        .body = body, .body_length = strlen(body)};
    struct b2_failure failure;
    b2_failure_from_response(&response, NULL, TOKEN, &failure);
    assert_null(strstr(failure.message, "4_00226235"));
    assert_null(strstr(failure.code, "4_00226235"));
    assert_non_null(strstr(failure.message, "mmmm<token>"));
    assert_non_null(strstr(failure.code, "cccc<token>"));
    /* A whole token inside the field is masked as before. */
    snprintf(body, sizeof body, "{\"code\":\"bad_auth_token\",\"message\":\"token %s is bad\"}",
             TOKEN);
    response.body_length = strlen(body);
    b2_failure_from_response(&response, NULL, TOKEN, &failure);
    assert_string_equal(failure.message, "token <token> is bad");
    assert_int_equal(failure.kind, B2_FAILURE_EXPIRED);
}

/* A copy source listed with contentLength near INT64_MAX overflowed copy_large's part count
 * (signed overflow, UBSan; then a huge calloc). Out-of-range lengths, negative ones too, are now
 * a malformed answer and nothing is started. */
static void copy_source_with_absurd_length_is_malformed(void **state)
{
    (void)state;
    static const char *const lengths[] = {"9223372036854775807", "50000000000001", "-1"};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        struct b2_test test;
        assert_int_equal(b2_test_start(&test, NULL, 0), 0);
        char answer[300];
        snprintf(answer, sizeof answer, "{\"files\": [{\"action\": \"upload\", \"fileName\": "
                 "\"src\", \"fileId\": \"4_zsrc\", \"contentLength\": %s}]}", lengths[i]);
        fake_script(test.http, "b2_list_file_names", 200, NULL, answer);
        struct stor_error err = {""};
        enum stor_status status = b2_copy(test.plugin, FAKE_BUCKET, "src", FAKE_BUCKET, "dst",
                                          NULL, NULL, &err);
        if (status != STOR_EINTERNAL)
            fail_msg("status %d: %s", (int)status, err.message);
        char expected[200];
        snprintf(expected, sizeof expected, "contentLength %s of bucket1/src is out of range",
                 lengths[i]);
        assert_non_null(strstr(err.message, expected));
        assert_int_equal(fake_count(test.http, "b2_start_large_file"), 0);
        assert_int_equal(fake_count(test.http, "b2_copy"), 0);
        b2_test_stop(&test);
    }
}

/* B2's codes are enums, not secrets: a 401 expired_auth_token is classified on the raw code even
 * when the token's text resembles the code's tail (b2sdk's simulator hands out "auth_token_1"),
 * which redacting first turned into "expired_<token>" and a fatal failure. */
static void expired_token_is_classified_before_redaction(void **state)
{
    char body[] = "{\"status\":401,\"code\":\"expired_auth_token\",\"message\":\"token auth_token_1 expired\"}";
    struct sp_http_response response = {.outcome = SP_HTTP_COMPLETE, .status = 401, .body = body,
                                        .body_length = strlen(body)};
    struct b2_failure failure;
    b2_failure_from_response(&response, NULL, "auth_token_1", &failure);
    assert_int_equal(failure.kind, B2_FAILURE_EXPIRED);
    assert_string_equal(failure.code, "expired_auth_token");
    assert_null(strstr(failure.message, "auth_token_1")); /* the printed words stay masked */
}

/* Tokens and URLs from the server go into request lines and headers: refused when received if
 * they carry CR/LF (a header injected into the upload) or name another scheme than http(s). */
static void unsafe_tokens_and_urls_are_refused_when_received(void **state)
{
    static const char *const accounts[] = {
        "{\"accountId\":\"a\",\"authorizationToken\":\"tok\\r\\nX-Injected: 1\",\"apiUrl\":\"https://api\",\"downloadUrl\":\"https://f\"}",
        "{\"accountId\":\"a\",\"authorizationToken\":\"tok\",\"apiUrl\":\"file:///etc\",\"downloadUrl\":\"https://f\"}",
        "{\"accountId\":\"a\",\"authorizationToken\":\"tok\",\"apiUrl\":\"https://api\",\"downloadUrl\":\"ftp://f\"}",
        "{\"accountId\":\"a\",\"authorizationToken\":\"tok\",\"apiUrl\":\"https://api\\u0007\",\"downloadUrl\":\"https://f\"}",
    };
    for (size_t i = 0; i < 4; i++) {
        json_object *root = json_tokener_parse(accounts[i]);
        assert_non_null(root);
        struct b2_account account;
        char why[B2_WHY_MAX] = "";
        assert_int_equal(b2_wire_account(root, &account, why), -1);
        assert_non_null(strstr(why, i == 0 ? "authorizationToken" : i == 2 ? "downloadUrl" : "apiUrl"));
        json_object_put(root);
    }
    json_object *root = json_tokener_parse(
        "{\"bucketId\":\"b\",\"uploadUrl\":\"https://u\",\"authorizationToken\":\"t\\nX: y\"}");
    struct b2_target target;
    char why[B2_WHY_MAX] = "";
    assert_int_equal(b2_wire_upload_url(root, "b", &target, why), -1);
    json_object_put(root);
    /* b2_get_upload_part_url without fileId (b2sdk's simulator): fine, stor knows the file. */
    root = json_tokener_parse("{\"uploadUrl\":\"https://u/part\",\"authorizationToken\":\"t1\"}");
    assert_int_equal(b2_wire_upload_part_url(root, "file-1", &target, why), 0);
    b2_target_free(&target);
    json_object_put(root);
    root = json_tokener_parse("{\"fileId\":\"other\",\"uploadUrl\":\"https://u/part\",\"authorizationToken\":\"t1\"}");
    assert_int_equal(b2_wire_upload_part_url(root, "file-1", &target, why), -1);
    json_object_put(root);
}

/* A server that echoes the application key, or the Basic-auth header it was sent, in the error
 * of any call (not only b2_authorize_account) gets neither printed. */
static void echoed_keys_are_masked_in_every_call(void **state)
{
    (void)state;
    struct b2_test test;
    assert_int_equal(b2_test_start(&test, NULL, 0), 0);
    const char *basic = "a2V5LWlkLTAwMDE6U0VDUkVULWFwcGxpY2F0aW9uLWtleS0wMDAx"; /* id:key */
    char answer[400];
    snprintf(answer, sizeof answer, "{\"status\": 400, \"code\": \"bad_request\", \"message\": "
             "\"you sent Basic %s and %s\"}", basic, FAKE_KEY);
    fake_script(test.http, "b2_list_file_names", 400, NULL, answer);
    struct stor_error err = {""};
    assert_int_not_equal(b2_list(test.plugin, FAKE_BUCKET, "", 0, NULL, NULL, &err), STOR_OK);
    assert_non_null(strstr(err.message, "you sent Basic"));
    assert_null(strstr(err.message, basic));
    assert_null(strstr(err.message, FAKE_KEY));
    b2_test_stop(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unsafe_tokens_and_urls_are_refused_when_received),
        cmocka_unit_test(echoed_keys_are_masked_in_every_call),
        cmocka_unit_test(expired_token_is_classified_before_redaction),
        cmocka_unit_test(cache_with_null_fields_reads_as_empty),
        cmocka_unit_test(error_cut_mid_token_is_masked),
        cmocka_unit_test(copy_source_with_absurd_length_is_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
