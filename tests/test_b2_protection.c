/* tests/test_b2_protection.c — encryption at rest and Object Lock in the B2 plugin against the
 * fake B2: SSE-B2 and SSE-C on every request that needs them, the SSE-C key never in logs or
 * errors, refusals before any request, one-line errors for a missing or wrong key, locked deletes,
 * bucket settings at creation and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b2_fake.h"
#include "file_info.h"

#define JSON "Content-Type: application/json\n"
/* 32 bytes; base64 and base64(MD5) as B2 takes them */
#define KEY_BYTES "0123456789abcdef0123456789ABCDEF"
#define KEY_B64 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlBQkNERUY="
#define FUTURE_MS 4102444800000LL /* 2100-01-01 */

static char key_path[64], key_md5[32];

static void write_key(const char *bytes, size_t length, mode_t mode)
{
    snprintf(key_path, sizeof key_path, "/tmp/stor-sse-c-XXXXXX");
    int fd = mkstemp(key_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, length), (ssize_t)length);
    close(fd);
    chmod(key_path, mode);
}

static int setup(void **state)
{
    return b2_test_setup(state, NULL, 0);
}

static int setup_sse_c(void **state)
{
    unsigned char digest[16];
    unsigned int length;
    EVP_Digest(KEY_BYTES, 32, digest, &length, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)key_md5, digest, 16);
    snprintf(key_path, sizeof key_path, "/tmp/stor-sse-c-XXXXXX");
    int fd = mkstemp(key_path);
    if (fd < 0 || write(fd, KEY_BYTES, 32) != 32)
        return -1;
    close(fd);
    char option[96];
    snprintf(option, sizeof option, "sse_c_key_file=%s", key_path);
    const char *const options[] = {option, "upload_cutoff=5M", "part_size=5M", NULL};
    int status = b2_test_setup(state, options, 0);
    unlink(key_path);
    return status;
}

static int setup_large(void **state)
{
    static const char *const options[] = {"upload_cutoff=5M", "part_size=5M", NULL};
    return b2_test_setup(state, options, 0);
}

/* The plain teardown checks the account key and tokens; here the SSE-C key and MD5 too. */
static int teardown(void **state)
{
    struct b2_test *test = *state;
    int leaked = test->host.log && (strstr(test->host.log, KEY_B64) ||
                                    (key_md5[0] && strstr(test->host.log, key_md5)));
    return b2_test_teardown(state) != 0 || leaked ? -1 : 0;
}

static struct stor_put_options defaults(void)
{
    struct stor_put_options options = {.struct_size = sizeof options, .size = -1, .mtime_ms = -1,
                                       .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    return options;
}

static enum stor_status put_text(struct b2_test *test, const char *key, const char *text,
                                 const struct stor_put_options *options, struct stor_error *err)
{
    int fd = fake_file(text, strlen(text));
    enum stor_status status = b2_put_ex(test->plugin, FAKE_BUCKET, key, options, fd, NULL, NULL, err);
    close(fd);
    return status;
}

static const struct fake_request *upload_request(struct b2_test *test)
{
    return fake_last(test->http, "pod.test/upload");
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

/* A 6 MB file: above the 5 MB cutoff, stopped at b2_start_large_file to read what it sent. */
static json_object *large_start(struct b2_test *test, const struct stor_put_options *options)
{
    size_t length = 6000001;
    char *data = malloc(length);
    memset(data, 'L', length);
    int fd = fake_file(data, length);
    free(data);
    fake_script(test->http, "b2_list_unfinished_large_files", 200, JSON,
                "{\"files\": [], \"nextFileId\": null}");
    fake_script(test->http, "b2_start_large_file", 400, NULL,
                "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"stop here\"}");
    struct stor_error err = {""};
    b2_put_ex(test->plugin, FAKE_BUCKET, "big.bin", options, fd, NULL, NULL, &err);
    close(fd);
    const struct fake_request *start = fake_last(test->http, "b2_start_large_file");
    assert_non_null(start);
    return json_tokener_parse(start->body);
}

/* ---- SSE-B2 ---- */

static void sse_b2_upload_and_large_start(void **state)
{
    struct b2_test *test = *state;
    struct stor_put_options options = defaults();
    options.protection.encryption = "SSE-B2";
    struct stor_error err = {""};
    assert_int_equal(put_text(test, "e.txt", "hello", &options, &err), STOR_OK);
    const struct fake_request *upload = upload_request(test);
    assert_string_equal(fake_request_header(upload, "X-Bz-Server-Side-Encryption"), "AES256");
    assert_null(fake_request_header(upload, "X-Bz-Server-Side-Encryption-Customer-Key"));
    assert_null(fake_request_header(upload, "X-Bz-File-Retention-Mode"));
    /* without protection: nothing of it */
    options = defaults();
    assert_int_equal(put_text(test, "plain.txt", "hello", &options, &err), STOR_OK);
    assert_null(fake_request_header(upload_request(test), "X-Bz-Server-Side-Encryption"));
}

static void sse_b2_large_start_json(void **state)
{
    struct b2_test *test = *state;
    struct stor_put_options options = defaults();
    options.protection.encryption = "SSE-B2";
    json_object *body = large_start(test, &options);
    assert_member(body, "serverSideEncryption.mode", "SSE-B2");
    assert_member(body, "serverSideEncryption.algorithm", "AES256");
    assert_null(member(body, "serverSideEncryption.customerKey"));
    json_object_put(body);
}

/* ---- SSE-C ---- */

static void sse_c_key_file_refusals(void **state)
{
    (void)state;
    struct b2_test test = {0};
    static const char bytes[] = "SECRETSECRETSECRETSECRETSECRETSE";
    char option[96];
    const char *const options[] = {option, NULL};
    /* 31 bytes: the size named, never the bytes */
    write_key(bytes, 31, 0600);
    snprintf(option, sizeof option, "sse_c_key_file=%s", key_path);
    struct stor_error err = {""};
    struct stor_option parsed = {"sse_c_key_file", key_path};
    struct b2_plugin *plugin = NULL;
    struct sp_clock clock = {0};
    assert_int_equal(b2_plugin_create(NULL, &parsed, 1, clock, &plugin, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "31 bytes"));
    assert_null(strstr(err.message, "SECRET"));
    unlink(key_path);
    /* readable by others */
    write_key(bytes, 32, 0644);
    parsed.value = key_path;
    assert_int_equal(b2_plugin_create(NULL, &parsed, 1, clock, &plugin, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "chmod 600"));
    unlink(key_path);
    /* missing */
    assert_int_equal(b2_plugin_create(NULL, &parsed, 1, clock, &plugin, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "sse_c_key_file"));
    assert_null(plugin);
    (void)test;
    (void)options;
}

static void assert_sse_c_headers(const struct fake_request *request)
{
    assert_non_null(request);
    assert_string_equal(fake_request_header(request, "X-Bz-Server-Side-Encryption-Customer-Algorithm"),
                        "AES256");
    assert_string_equal(fake_request_header(request, "X-Bz-Server-Side-Encryption-Customer-Key"),
                        KEY_B64);
    assert_string_equal(fake_request_header(request, "X-Bz-Server-Side-Encryption-Customer-Key-Md5"),
                        key_md5);
}

/* The option alone makes every upload SSE-C; explicit SSE-C too; the large start carries the
 * key in JSON; downloads send it, ranged and by id. */
static void sse_c_everywhere(void **state)
{
    struct b2_test *test = *state;
    struct stor_put_options options = defaults();
    struct stor_error err = {""};
    assert_int_equal(put_text(test, "c.txt", "hello", &options, &err), STOR_OK);
    assert_sse_c_headers(upload_request(test));
    assert_null(fake_request_header(upload_request(test), "X-Bz-Server-Side-Encryption"));
    options.protection.encryption = "SSE-C";
    assert_int_equal(put_text(test, "c2.txt", "hello", &options, &err), STOR_OK);
    assert_sse_c_headers(upload_request(test));
    json_object *body = large_start(test, &options);
    assert_member(body, "serverSideEncryption.mode", "SSE-C");
    assert_member(body, "serverSideEncryption.algorithm", "AES256");
    assert_member(body, "serverSideEncryption.customerKey", KEY_B64);
    assert_member(body, "serverSideEncryption.customerKeyMd5", key_md5);
    json_object_put(body);
    /* a ranged download by version id */
    fake_script(test->http, "b2_download_file_by_id", 206,
                "Content-Range: bytes 1-2/5\nX-Bz-File-Id: id1\nX-Bz-Content-Sha1: none\n", "el");
    int fd = fake_file("", 0);
    struct stor_get_options get = {.struct_size = sizeof get, .version_id = "id1", .offset = 1,
                                   .length = 2};
    assert_int_equal(b2_get_ex(test->plugin, FAKE_BUCKET, "c.txt", &get, fd, NULL, NULL, &err),
                     STOR_OK);
    close(fd);
    assert_sse_c_headers(fake_last(test->http, "b2_download_file_by_id"));
    /* B2 echoing the key in an error: masked */
    fake_script(test->http, "/file/", 401, NULL,
                "{\"status\": 401, \"code\": \"unauthorized\", \"message\": \"bad key " KEY_B64
                " md5 \"}");
    fd = fake_file("", 0);
    enum stor_status got = b2_get(test->plugin, FAKE_BUCKET, "c.txt", fd, NULL, NULL, &err);
    assert_int_not_equal(got, STOR_OK);
    close(fd);
    assert_sse_c_headers(fake_last(test->http, "/file/"));
    assert_null(strstr(err.message, KEY_B64));
}

/* A copy of an SSE-C file names the key for the source and the destination. */
static void sse_c_copy(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [{\"action\": \"upload\", \"fileName\": \"c.txt\", \"fileId\": \"id1\", "
                "\"contentLength\": 5, \"contentSha1\": \"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\", "
                "\"serverSideEncryption\": {\"mode\": \"SSE-C\", \"algorithm\": \"AES256\"}, "
                "\"uploadTimestamp\": 1}], \"nextFileName\": null}");
    fake_script(test->http, "b2_copy_file", 200, JSON,
                "{\"action\": \"copy\", \"fileName\": \"d.txt\", \"fileId\": \"id2\", "
                "\"contentLength\": 5, \"contentSha1\": \"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\", "
                "\"uploadTimestamp\": 2}");
    struct stor_error err = {""};
    assert_int_equal(b2_copy(test->plugin, FAKE_BUCKET, "c.txt", FAKE_BUCKET, "d.txt", NULL, NULL,
                             &err), STOR_OK);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_copy_file")->body);
    assert_member(body, "sourceServerSideEncryption.mode", "SSE-C");
    assert_member(body, "sourceServerSideEncryption.customerKey", KEY_B64);
    assert_member(body, "destinationServerSideEncryption.mode", "SSE-C");
    assert_member(body, "destinationServerSideEncryption.customerKeyMd5", key_md5);
    json_object_put(body);
}

/* Without the key: refused before any request; a download B2 refuses is one line, once. */
static void sse_c_without_the_key(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [{\"action\": \"upload\", \"fileName\": \"c.txt\", \"fileId\": \"id1\", "
                "\"contentLength\": 5, \"serverSideEncryption\": {\"mode\": \"SSE-C\"}, "
                "\"uploadTimestamp\": 1}], \"nextFileName\": null}");
    assert_int_equal(b2_copy(test->plugin, FAKE_BUCKET, "c.txt", FAKE_BUCKET, "d.txt", NULL, NULL,
                             &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "sse_c_key_file"));
    assert_int_equal(fake_count(test->http, "b2_copy_file"), 0);
    fake_forget_requests(test->http);
    fake_script(test->http, "/file/", 403, JSON,
                "{\"status\": 403, \"code\": \"access_denied\", \"message\": \"SSE-C\"}");
    int fd = fake_file("", 0);
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "c.txt", fd, NULL, NULL, &err), STOR_EAUTH);
    close(fd);
    assert_non_null(strstr(err.message, "encrypted with SSE-C: give its key with -o sse_c_key_file"));
    assert_null(strchr(err.message, '\n'));
    assert_int_equal(fake_count(test->http, "/file/"), 1); /* no retries */
    assert_int_equal(fake_slept(&test->clock), 0);
}

static void sse_c_wrong_key(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    fake_script(test->http, "/file/", 403, JSON,
                "{\"status\": 403, \"code\": \"access_denied\", \"message\": \"no\"}");
    int fd = fake_file("", 0);
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "c.txt", fd, NULL, NULL, &err), STOR_EAUTH);
    close(fd);
    assert_non_null(strstr(err.message, "the SSE-C key does not match"));
    assert_int_equal(fake_count(test->http, "/file/"), 1);
    assert_null(strstr(err.message, KEY_B64));
    assert_null(strstr(err.message, key_md5));
}

/* ---- Object Lock ---- */

static void lock_headers_and_start_json(void **state)
{
    struct b2_test *test = *state;
    struct stor_put_options options = defaults();
    options.protection.retention_mode = "governance";
    options.protection.retain_until_ms = FUTURE_MS;
    options.protection.legal_hold = 1;
    struct stor_error err = {""};
    assert_int_equal(put_text(test, "l.txt", "hello", &options, &err), STOR_OK);
    const struct fake_request *upload = upload_request(test);
    assert_string_equal(fake_request_header(upload, "X-Bz-File-Retention-Mode"), "governance");
    assert_string_equal(fake_request_header(upload, "X-Bz-File-Retention-Retain-Until-Timestamp"),
                        "4102444800000");
    assert_string_equal(fake_request_header(upload, "X-Bz-File-Legal-Hold"), "on");
    json_object *body = large_start(test, &options);
    assert_member(body, "fileRetention.mode", "governance");
    assert_member(body, "fileRetention.retainUntilTimestamp", "4102444800000");
    assert_member(body, "legalHold", "on");
    json_object_put(body);
}

/* A bucket without Object Lock: B2's 400 becomes one line saying so, tried once. */
static void lock_refused_by_a_plain_bucket(void **state)
{
    struct b2_test *test = *state;
    struct stor_put_options options = defaults();
    options.protection.legal_hold = 0;
    fake_script(test->http, "pod.test/upload", 400, JSON,
                "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"File lock is not "
                "enabled\"}");
    struct stor_error err = {""};
    assert_int_equal(put_text(test, "l.txt", "hello", &options, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "must have Object Lock enabled"));
    assert_int_equal(fake_count(test->http, "pod.test/upload"), 1);
}

static void locked_delete_says_why(void **state)
{
    struct b2_test *test = *state;
    struct stor_remove_options options = {.struct_size = sizeof options, .version_id = "id1"};
    struct stor_error err = {""};
    fake_script(test->http, "b2_delete_file_version", 403, JSON,
                "{\"status\": 403, \"code\": \"access_denied\", \"message\": \"locked\"}");
    fake_script(test->http, "b2_get_file_info", 200, JSON,
                "{\"action\": \"upload\", \"fileName\": \"l.txt\", \"fileId\": \"id1\", "
                "\"contentLength\": 5, \"uploadTimestamp\": 1, \"fileRetention\": "
                "{\"isClientAuthorizedToRead\": true, \"value\": {\"mode\": \"governance\", "
                "\"retainUntilTimestamp\": 4102444800000}}, \"legalHold\": "
                "{\"isClientAuthorizedToRead\": true, \"value\": \"off\"}}");
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "governance retention until 2100-01-01 00:00:00 UTC"));
    assert_int_equal(fake_count(test->http, "b2_delete_file_version"), 1);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_delete_file_version")->body);
    assert_null(member(body, "bypassGovernance")); /* no bypass */
    json_object_put(body);
    fake_script(test->http, "b2_delete_file_version", 403, JSON,
                "{\"status\": 403, \"code\": \"access_denied\", \"message\": \"locked\"}");
    fake_script(test->http, "b2_get_file_info", 200, JSON,
                "{\"action\": \"upload\", \"fileName\": \"l.txt\", \"fileId\": \"id1\", "
                "\"contentLength\": 5, \"uploadTimestamp\": 1, \"legalHold\": "
                "{\"isClientAuthorizedToRead\": true, \"value\": \"on\"}}");
    assert_int_equal(b2_remove_ex(test->plugin, FAKE_BUCKET, "l.txt", &options, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "under a legal hold"));
}

/* ---- bucket settings ---- */

struct reported {
    int calls;
    char settings[16][2][64];
    size_t count;
};

static int on_bucket(void *context, const struct stor_bucket *bucket)
{
    struct reported *r = context;
    r->calls++;
    r->count = bucket->setting_count;
    for (size_t i = 0; i < bucket->setting_count && i < 16; i++) {
        snprintf(r->settings[i][0], 64, "%s", bucket->settings[i].key);
        snprintf(r->settings[i][1], 64, "%s", bucket->settings[i].value);
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

#define LOCKED_BUCKET                                                                            \
    "{\"accountId\": \"account-1\", \"bucketName\": \"new-bucket\", \"bucketId\": \"id-new\", "  \
    "\"bucketType\": \"allPrivate\", \"lifecycleRules\": [{\"fileNamePrefix\": \"logs/\", "     \
    "\"daysFromHidingToDeleting\": 30, \"daysFromUploadingToHiding\": 7}], "                     \
    "\"defaultServerSideEncryption\": {\"isClientAuthorizedToRead\": true, \"value\": "          \
    "{\"mode\": \"SSE-B2\", \"algorithm\": \"AES256\"}}, \"fileLockConfiguration\": "             \
    "{\"isClientAuthorizedToRead\": true, \"value\": {\"isFileLockEnabled\": true}}}"

static void bucket_settings_at_creation(void **state)
{
    struct b2_test *test = *state;
    struct stor_option settings[] = {{"default_sse", "b2"}, {"object_lock", "yes"},
                                     {"keep_old_versions", "30d"}, {"hide_after", "7d"},
                                     {"lifecycle_prefix", "logs/"}};
    struct stor_bucket_options options = {.struct_size = sizeof options, .settings = settings,
                                          .setting_count = 5};
    struct reported reported = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_create_bucket", 200, JSON, LOCKED_BUCKET);
    assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, on_bucket, &reported,
                                      &err), STOR_OK);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_create_bucket")->body), *rules;
    assert_member(body, "defaultServerSideEncryption.mode", "SSE-B2");
    assert_member(body, "defaultServerSideEncryption.algorithm", "AES256");
    assert_member(body, "fileLockEnabled", "true");
    assert_true(json_object_object_get_ex(body, "lifecycleRules", &rules));
    assert_int_equal(json_object_array_length(rules), 1);
    json_object *rule = json_object_array_get_idx(rules, 0);
    assert_member(rule, "fileNamePrefix", "logs/");
    assert_member(rule, "daysFromHidingToDeleting", "30");
    assert_member(rule, "daysFromUploadingToHiding", "7");
    json_object_put(body);
    assert_string_equal(setting(&reported, "default_sse"), "SSE-B2");
    assert_string_equal(setting(&reported, "object_lock"), "yes");
    assert_string_equal(setting(&reported, "keep_old_versions"), "30d");
    assert_string_equal(setting(&reported, "hide_after"), "7d");
    assert_string_equal(setting(&reported, "lifecycle_prefix"), "logs/");
    /* listed back the same */
    reported = (struct reported){0};
    fake_script(test->http, "b2_list_buckets", 200, JSON, "{\"buckets\": [" LOCKED_BUCKET "]}");
    assert_int_equal(b2_list_buckets(test->plugin, on_bucket, &reported, &err), STOR_OK);
    assert_string_equal(setting(&reported, "keep_old_versions"), "30d");
    assert_string_equal(setting(&reported, "object_lock"), "yes");
    /* refused before any request */
    fake_forget_requests(test->http);
    static const char *const bad[][2] = {{"lifecycle", "30d"}, {"default_sse", "SSE-C"},
                                         {"keep_old_versions", "30x"}, {"hide_after", "0d"},
                                         {"object_lock", "maybe"}, {"lifecycle_prefix", "a/"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct stor_option one = {bad[i][0], bad[i][1]};
        options.settings = &one;
        options.setting_count = 1;
        assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, NULL, NULL, &err),
                         STOR_EINVAL);
        assert_non_null(strstr(err.message, bad[i][0]));
    }
    assert_int_equal(fake_count(test->http, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sse_b2_upload_and_large_start, setup, teardown),
        cmocka_unit_test_setup_teardown(sse_b2_large_start_json, setup_large, teardown),
        cmocka_unit_test(sse_c_key_file_refusals),
        cmocka_unit_test_setup_teardown(sse_c_everywhere, setup_sse_c, teardown),
        cmocka_unit_test_setup_teardown(sse_c_copy, setup_sse_c, teardown),
        cmocka_unit_test_setup_teardown(sse_c_without_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(sse_c_wrong_key, setup_sse_c, teardown),
        cmocka_unit_test_setup_teardown(lock_headers_and_start_json, setup_large, teardown),
        cmocka_unit_test_setup_teardown(lock_refused_by_a_plain_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(locked_delete_says_why, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_settings_at_creation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
