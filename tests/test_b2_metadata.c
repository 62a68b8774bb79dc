/* tests/test_b2_metadata.c — the B2 plugin's ABI 3 slots against the fake B2: put_ex (headers,
 * metadata, limits refused before any request, large files, a trusted SHA-1), stat, the listing's
 * fields, list/create/delete_bucket and share, hostile answers included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b2_fake.h"

#define HELLO_SHA1 "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
#define WRONG_SHA1 "0123456789abcdef0123456789abcdef01234567"
#define JSON "Content-Type: application/json\n"

static int setup(void **state)
{
    return b2_test_setup(state, NULL, 0);
}

static int setup_with_info(void **state)
{
    static const char *const options[] = {"info.colour=red", "info.team=storage", NULL};
    return b2_test_setup(state, options, 0);
}

static int setup_large(void **state)
{
    static const char *const options[] = {"upload_cutoff=5M", "part_size=5M", NULL};
    return b2_test_setup(state, options, 0);
}

static int setup_share(void **state)
{
    static const char *const options[] = {"download_url=https://cdn.example.com/", NULL};
    int status = b2_test_setup(state, options, 0);
    if (status == 0)
        ((struct b2_test *)*state)->world.with_share_files = 1;
    return status;
}

static int teardown(void **state)
{
    return b2_test_teardown(state);
}

static struct stor_put_options defaults(void)
{
    struct stor_put_options options = {.struct_size = sizeof options, .size = -1, .mtime_ms = -1,
                                       .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    return options;
}

struct seen {
    int calls;
    char key[128], sha1[41], id[64], type[64], md5[33];
    char cache_control[64], disposition[64], encoding[32], language[32], expires[64];
    char meta[8][2][64];
    size_t meta_count;
    int64_t size, mtime_ms, upload_ms;
    char encryption[16], retention[16];
    int64_t retain_until_ms;
    int legal_hold, is_hidden;
};

static void copy_text(char *to, size_t size, const char *from)
{
    snprintf(to, size, "%s", from ? from : "(null)");
}

static int on_seen(void *context, const struct stor_object *o)
{
    struct seen *s = context;
    s->calls++;
    copy_text(s->key, sizeof s->key, o->key);
    copy_text(s->sha1, sizeof s->sha1, o->sha1);
    copy_text(s->id, sizeof s->id, o->id);
    copy_text(s->type, sizeof s->type, o->content_type);
    copy_text(s->md5, sizeof s->md5, o->md5);
    copy_text(s->cache_control, sizeof s->cache_control, o->cache_control);
    copy_text(s->disposition, sizeof s->disposition, o->content_disposition);
    copy_text(s->encoding, sizeof s->encoding, o->content_encoding);
    copy_text(s->language, sizeof s->language, o->content_language);
    copy_text(s->expires, sizeof s->expires, o->expires);
    s->meta_count = o->metadata_count;
    for (size_t i = 0; i < o->metadata_count && i < 8; i++) {
        copy_text(s->meta[i][0], 64, o->metadata[i].key);
        copy_text(s->meta[i][1], 64, o->metadata[i].value);
    }
    s->size = o->size;
    s->mtime_ms = o->mtime_ms;
    s->upload_ms = o->upload_ms;
    copy_text(s->encryption, sizeof s->encryption, o->protection.encryption);
    copy_text(s->retention, sizeof s->retention, o->protection.retention_mode);
    s->retain_until_ms = o->protection.retain_until_ms;
    s->legal_hold = o->protection.legal_hold;
    s->is_hidden = o->is_hidden;
    return 0;
}

static enum stor_status put_text(struct b2_test *test, const char *key, const char *text,
                                 const struct stor_put_options *options, struct seen *seen,
                                 struct stor_error *err)
{
    int fd = fake_file(text, strlen(text));
    enum stor_status status = b2_put_ex(test->plugin, FAKE_BUCKET, key, options, fd, on_seen, seen,
                                        err);
    close(fd);
    return status;
}

static size_t header_count(const struct fake_request *request, const char *name)
{
    size_t count = 0, length = strlen(name);
    for (size_t i = 0; i < request->header_count; i++)
        count += strncasecmp(request->headers[i], name, length) == 0 &&
                 request->headers[i][length] == ':';
    return count;
}

/* ---- put_ex ---- */

/* Every field becomes its header: Content-Type as is, the b2-* keys and metadata percent-encoded,
 * put_ex's mtime over the file's, metadata over the info.* option of the same name. */
static void put_ex_sends_every_header(void **state)
{
    struct b2_test *test = *state;
    struct stor_option metadata[] = {{"colour", "dark blue+1"}, {"Author", "Zo\xc3\xab"}};
    struct stor_put_options options = defaults();
    options.content_type = "text/x-test; charset=utf-8";
    options.cache_control = "max-age=60, public";
    options.content_disposition = "attachment; filename=\"a b.txt\"";
    options.content_encoding = "gzip";
    options.content_language = "en";
    options.expires = "Thu, 01 Dec 2044 16:00:00 GMT";
    options.metadata = metadata;
    options.metadata_count = 2;
    options.mtime_ms = 1500000000123;
    struct seen seen = {0};
    struct stor_error err = {""};
    assert_int_equal(put_text(test, "docs/a.txt", "hello", &options, &seen, &err), STOR_OK);
    const struct fake_request *upload = fake_last(test->http, "pod.test/upload");
    assert_non_null(upload);
    assert_string_equal(fake_request_header(upload, "Content-Type"), "text/x-test; charset=utf-8");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-src_last_modified_millis"),
                        "1500000000123");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-b2-cache-control"),
                        "max-age=60%2C%20public");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-b2-content-disposition"),
                        "attachment;%20filename=%22a%20b.txt%22");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-b2-content-encoding"), "gzip");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-b2-content-language"), "en");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-b2-expires"),
                        "Thu%2C%2001%20Dec%202044%2016:00:00%20GMT");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-colour"), "dark%20blue%2B1");
    assert_int_equal(header_count(upload, "X-Bz-Info-colour"), 1); /* overridden, not doubled */
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-team"), "storage");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-Author"), "Zo%C3%AB");
    assert_string_equal(fake_request_header(upload, "X-Bz-Content-Sha1"), HELLO_SHA1);
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.sha1, HELLO_SHA1);
}

/* put is put_ex with nothing asked: the plugin's content type (default b2/x-auto), the file's
 * mtime, the info.* options. */
static void put_is_put_ex_with_defaults(void **state)
{
    struct b2_test *test = *state;
    int fd = fake_file("hello", 5);
    struct stor_error err = {""};
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "plain", fd, NULL, NULL, &err), STOR_OK);
    close(fd);
    const struct fake_request *upload = fake_last(test->http, "pod.test/upload");
    assert_string_equal(fake_request_header(upload, "Content-Type"), "b2/x-auto");
    assert_non_null(fake_request_header(upload, "X-Bz-Info-src_last_modified_millis"));
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-colour"), "red");
    assert_null(fake_request_header(upload, "X-Bz-Info-b2-cache-control"));
}

/* B2's limits are refused before any request, naming the problem. */
static void put_ex_limits_refused_before_any_request(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct seen seen = {0};
    /* 8 of metadata + info.colour/team (colour overridden: 9 entries) + the mtime = 10: fits. */
    struct stor_option nine[9] = {{"colour", "x"}, {"m1", "1"}, {"m2", "2"}, {"m3", "3"},
                                  {"m4", "4"}, {"m5", "5"}, {"m6", "6"}, {"m7", "7"}, {"m8", "8"}};
    struct stor_put_options options = defaults();
    options.metadata = nine;
    options.metadata_count = 8;
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_OK);
    assert_int_equal(header_count(fake_last(test->http, "pod.test/upload"), "X-Bz-Info-m7"), 1);
    fake_forget_requests(test->http);
    /* One more is 11 with the backend's own src_last_modified_millis. */
    options.metadata_count = 9;
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "10 file-info entries at most"));
    assert_non_null(strstr(err.message, "src_last_modified_millis"));
    assert_int_equal(fake_count(test->http, NULL), 0);

    static const char *const bad_keys[] = {"with space", "b2-unknown", "src_last_modified_millis",
                                           "large_file_sha1", "",
                                           "x23456789012345678901234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
        struct stor_option bad = {bad_keys[i], "v"};
        options = defaults();
        options.metadata = &bad;
        options.metadata_count = 1;
        assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
        assert_non_null(strstr(err.message, bad_keys[i]));
        assert_int_equal(fake_count(test->http, NULL), 0);
    }
    struct stor_option b2_own = {"b2-cache-control", "no-store"};
    options.metadata = &b2_own;
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "cache_control"));

    options = defaults();
    options.content_type = "text/plain\r\nX-Evil: 1";
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "content_type"));
    options = defaults();
    options.sha1 = "not-a-sha1";
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_int_equal(fake_count(test->http, NULL), 0);
}

/* 7,000 bytes of name and X-Bz-Info-* lines (CRLF included, values as encoded): the last byte
 * that fits is sent, one more is refused before any request. */
static void put_ex_7000_bytes(void **state)
{
    struct b2_test *test = *state;
    /* "X-Bz-File-Name: k\r\n" 19 + src_last_modified_millis line 51 + "X-Bz-Info-big: V\r\n"
     * 17 + V = 7000 when V is 6913 bytes. */
    static char value[7000];
    memset(value, 'v', 6913);
    value[6913] = '\0';
    struct stor_option big = {"big", value};
    struct stor_put_options options = defaults();
    options.metadata = &big;
    options.metadata_count = 1;
    options.mtime_ms = 1500000000123;
    struct stor_error err = {""};
    struct seen seen = {0};
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_OK);
    fake_forget_requests(test->http);
    value[6913] = 'v';
    value[6914] = '\0';
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "7000"));
    assert_int_equal(fake_count(test->http, NULL), 0);
    /* 2,400 spaces are 7,200 bytes once encoded. */
    memset(value, ' ', 2400);
    value[2400] = '\0';
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "7000"));
    assert_int_equal(fake_count(test->http, NULL), 0);
}

/* Encryption and Object Lock come later: refused by field name, nothing sent. */
static void put_ex_protection_is_unsupported(void **state)
{
    /* What B2 cannot keep is refused before any request: another encryption, SSE-C without its
     * key, retention that is half given, of an unknown mode, or already past. */
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct seen seen = {0};
    struct stor_put_options options = defaults();
    options.protection.encryption = "SSE-S3";
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "SSE-S3"));
    options.protection.encryption = "SSE-C";
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "sse_c_key_file"));
    options = defaults();
    options.protection.retention_mode = "governance";
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "both or neither"));
    options.protection.retention_mode = "forever";
    options.protection.retain_until_ms = 4102444800000;
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "forever"));
    options.protection.retention_mode = "compliance";
    options.protection.retain_until_ms = 0;
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "future"));
    options = defaults();
    options.protection.legal_hold = 7;
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EINVAL);
    assert_int_equal(fake_count(test->http, NULL), 0);
    assert_int_equal(seen.calls, 0);
}

/* A wrong SHA-1 given by the caller is sent as is (the file is not hashed first): B2 refuses it
 * and the put fails at once, without trying four more upload URLs with the same claim. */
static void trusted_sha1_is_sent_and_refused_by_b2(void **state)
{
    struct b2_test *test = *state;
    struct stor_put_options options = defaults();
    options.sha1 = WRONG_SHA1;
    struct stor_error err = {""};
    struct seen seen = {0};
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "another SHA-1 than the one given"));
    assert_int_equal(fake_count(test->http, "pod.test/upload"), 1);
    assert_string_equal(fake_request_header(fake_last(test->http, "pod.test/upload"),
                                            "X-Bz-Content-Sha1"), WRONG_SHA1);
    assert_int_equal(seen.calls, 0);
    /* Given in capitals, it goes out in lower case and is accepted. */
    options.sha1 = "AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D";
    assert_int_equal(put_text(test, "k", "hello", &options, &seen, &err), STOR_OK);
    assert_string_equal(seen.sha1, HELLO_SHA1);
}

static char *stored_answer(const char *name, const char *sha1, int64_t length)
{
    static char body[1024];
    snprintf(body, sizeof body, "{\"action\": \"upload\", \"fileId\": \"id-9\", \"fileName\": \"%s\", "
             "\"bucketId\": \"" FAKE_BUCKET_ID "\", \"contentLength\": %lld, \"contentSha1\": "
             "\"%s\", \"contentType\": \"text/plain\", \"fileInfo\": {}, \"uploadTimestamp\": "
             "1700000000000}", name, (long long)length, sha1);
    return body;
}

/* A file above 64 KiB with a trusted SHA-1 is not hashed: what goes out is the given SHA-1 (an
 * answer storing it is success; had the plugin hashed, it would have sent another). A stored
 * SHA-1 that differs from the given one is refused. */
static void trusted_sha1_skips_the_hash_but_not_the_check(void **state)
{
    struct b2_test *test = *state;
    static char data[100000];
    memset(data, 'd', sizeof data - 1);
    int fd = fake_file(data, sizeof data - 1);
    struct stor_put_options options = defaults();
    options.sha1 = WRONG_SHA1;
    struct stor_error err = {""};
    struct seen seen = {0};
    fake_script(test->http, "pod.test/upload", 200, JSON,
                stored_answer("medium", WRONG_SHA1, sizeof data - 1));
    assert_int_equal(b2_put_ex(test->plugin, FAKE_BUCKET, "medium", &options, fd, on_seen, &seen,
                               &err), STOR_OK);
    assert_string_equal(fake_request_header(fake_last(test->http, "pod.test/upload"),
                                            "X-Bz-Content-Sha1"), WRONG_SHA1);
    assert_string_equal(seen.sha1, WRONG_SHA1);
    /* B2 says it stored other bytes than the caller vouched for: not taken as stored. */
    lseek(fd, 0, SEEK_SET);
    fake_script(test->http, "pod.test/upload", 200, JSON,
                stored_answer("medium", HELLO_SHA1, sizeof data - 1));
    seen.calls = 0;
    assert_int_equal(b2_put_ex(test->plugin, FAKE_BUCKET, "medium", &options, fd, on_seen, &seen,
                               &err), STOR_EIO);
    assert_int_equal(seen.calls, 0);
    close(fd);
}

/* A large file keeps every field: contentType and fileInfo of b2_start_large_file. */
static void large_file_starts_with_the_metadata(void **state)
{
    struct b2_test *test = *state;
    size_t length = 6000001;
    char *data = malloc(length);
    memset(data, 'L', length);
    int fd = fake_file(data, length);
    free(data);
    struct stor_option metadata[] = {{"colour", "blue green"}};
    struct stor_put_options options = defaults();
    options.content_type = "video/x-test";
    options.cache_control = "no-cache";
    options.content_language = "fr";
    options.metadata = metadata;
    options.metadata_count = 1;
    options.mtime_ms = 1234567890123;
    options.sha1 = WRONG_SHA1; /* trusted: the large_file_sha1, the whole is not hashed */
    fake_script(test->http, "b2_list_unfinished_large_files", 200, JSON, "{\"files\": [], \"nextFileId\": null}");
    fake_script(test->http, "b2_start_large_file", 400, NULL,
                "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"stop here\"}");
    struct stor_error err = {""};
    assert_int_equal(b2_put_ex(test->plugin, FAKE_BUCKET, "big.bin", &options, fd, NULL, NULL, &err),
                     STOR_EINVAL);
    const struct fake_request *start = fake_last(test->http, "b2_start_large_file");
    assert_non_null(start);
    json_object *body = json_tokener_parse(start->body), *info, *value;
    assert_true(json_object_object_get_ex(body, "contentType", &value));
    assert_string_equal(json_object_get_string(value), "video/x-test");
    assert_true(json_object_object_get_ex(body, "fileInfo", &info));
    static const char *const expected[][2] = {
        {"b2-cache-control", "no-cache"}, {"b2-content-language", "fr"},
        {"colour", "blue green"}, /* raw in JSON: no percent-encoding */
        {"src_last_modified_millis", "1234567890123"}, {"large_file_sha1", WRONG_SHA1},
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        assert_true(json_object_object_get_ex(info, expected[i][0], &value));
        assert_string_equal(json_object_get_string(value), expected[i][1]);
    }
    json_object_put(body);
    close(fd);
}

/* Resume still finds the unfinished file of this put by name, large_file_sha1 and the mtime
 * put_ex gave (not the file's own). */
static void large_file_resumes_by_the_put_ex_mtime(void **state)
{
    struct b2_test *test = *state;
    size_t length = 6000001;
    char *data = malloc(length);
    memset(data, 'L', length);
    int fd = fake_file(data, length);
    free(data);
    struct stor_put_options options = defaults();
    options.mtime_ms = 1234567890123;
    options.sha1 = WRONG_SHA1;
    fake_script(test->http, "b2_list_unfinished_large_files", 200, JSON,
                "{\"files\": [{\"action\": \"start\", \"fileId\": \"large-1\", \"fileName\": "
                "\"big.bin\", \"contentLength\": 0, \"fileInfo\": {\"large_file_sha1\": \""
                WRONG_SHA1 "\", \"src_last_modified_millis\": \"1234567890123\"}}], "
                "\"nextFileId\": null}");
    fake_script(test->http, "b2_list_parts", 200, JSON, "{\"parts\": [], \"nextPartNumber\": null}");
    fake_script(test->http, "b2_get_upload_part_url", 400, NULL,
                "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"stop here\"}");
    struct stor_error err = {""};
    assert_int_not_equal(b2_put_ex(test->plugin, FAKE_BUCKET, "big.bin", &options, fd, NULL, NULL,
                                   &err), STOR_OK);
    assert_int_equal(fake_count(test->http, "b2_list_parts"), 1);
    assert_int_equal(fake_count(test->http, "b2_start_large_file"), 0);
    close(fd);
}

/* ---- stat and the listing's fields ---- */

#define RICH_FILE                                                                                \
    "{\"action\": \"upload\", \"fileId\": \"4_zrich\", \"fileName\": \"rich.txt\", "             \
    "\"bucketId\": \"" FAKE_BUCKET_ID "\", \"contentLength\": 6000000000, "                      \
    "\"contentSha1\": \"none\", \"contentMd5\": \"9e107d9d372bb6826bd81d3542a419d6\", "          \
    "\"contentType\": \"text/plain\", \"uploadTimestamp\": 1700000000999, \"fileInfo\": {"       \
    "\"large_file_sha1\": \"" HELLO_SHA1 "\", \"src_last_modified_millis\": \"1600000000123\", " \
    "\"b2-cache-control\": \"max-age=5\", \"b2-content-disposition\": \"inline\", "              \
    "\"b2-content-encoding\": \"gzip\", \"b2-content-language\": \"de\", "                       \
    "\"b2-expires\": \"never\", \"colour\": \"blue\", \"shape\": \"round\"}, "                   \
    "\"serverSideEncryption\": {\"algorithm\": \"AES256\", \"mode\": \"SSE-B2\"}, "              \
    "\"fileRetention\": {\"isClientAuthorizedToRead\": true, \"value\": {\"mode\": "             \
    "\"governance\", \"retainUntilTimestamp\": 1900000000000}}, "                                \
    "\"legalHold\": {\"isClientAuthorizedToRead\": true, \"value\": \"on\"}}"

static void assert_rich(const struct seen *seen)
{
    assert_int_equal(seen->calls, 1);
    assert_string_equal(seen->key, "rich.txt");
    assert_int_equal(seen->size, 6000000000);
    assert_string_equal(seen->sha1, HELLO_SHA1);
    assert_string_equal(seen->id, "4_zrich");
    assert_int_equal(seen->upload_ms, 1700000000999);
    assert_int_equal(seen->mtime_ms, 1600000000123);
    assert_string_equal(seen->type, "text/plain");
    assert_string_equal(seen->md5, "9e107d9d372bb6826bd81d3542a419d6");
    assert_string_equal(seen->cache_control, "max-age=5");
    assert_string_equal(seen->disposition, "inline");
    assert_string_equal(seen->encoding, "gzip");
    assert_string_equal(seen->language, "de");
    assert_string_equal(seen->expires, "never");
    assert_int_equal(seen->meta_count, 2); /* not the backend's own two, not the b2-* five */
    assert_string_equal(seen->meta[0][0], "colour");
    assert_string_equal(seen->meta[0][1], "blue");
    assert_string_equal(seen->meta[1][0], "shape");
    assert_string_equal(seen->encryption, "SSE-B2");
    assert_string_equal(seen->retention, "governance");
    assert_int_equal(seen->retain_until_ms, 1900000000000);
    assert_int_equal(seen->legal_hold, 1);
}

/* stat by name: one b2_list_file_names entry from the name itself, every field filled. */
static void stat_by_name_fills_every_field(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [" RICH_FILE "], \"nextFileName\": \"rich.txu\"}");
    struct seen seen = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "rich.txt", NULL, on_seen, &seen, &err),
                     STOR_OK);
    assert_rich(&seen);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_list_file_names")->body), *value;
    assert_true(json_object_object_get_ex(body, "startFileName", &value));
    assert_string_equal(json_object_get_string(value), "rich.txt");
    assert_true(json_object_object_get_ex(body, "maxFileCount", &value));
    assert_int_equal(json_object_get_int(value), 1);
    json_object_put(body);
    assert_int_equal(fake_count(test->http, "b2_list_file_names"), 1);
}

/* The listing reports the same fields from the same file object. */
static void listing_reports_the_same_fields(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [" RICH_FILE "], \"nextFileName\": null}");
    struct seen seen = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", STOR_LIST_RECURSIVE, on_seen, &seen,
                             &err), STOR_OK);
    assert_rich(&seen);
}

/* A server that answers another name (the next one after key) does not make it key's. */
static void stat_refuses_another_name(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [{\"action\": \"upload\", \"fileId\": \"id-2\", \"fileName\": "
                "\"wanted.txt.bak\", \"contentLength\": 3, \"contentSha1\": \"" HELLO_SHA1 "\", "
                "\"uploadTimestamp\": 1}], \"nextFileName\": null}");
    struct seen seen = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "wanted.txt", NULL, on_seen, &seen, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(seen.calls, 0);
    /* Nor a hide marker of the very name. */
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [{\"action\": \"hide\", \"fileId\": \"id-3\", \"fileName\": "
                "\"wanted.txt\", \"contentLength\": 0, \"uploadTimestamp\": 1}], \"nextFileName\": null}");
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "wanted.txt", NULL, on_seen, &seen, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(seen.calls, 0);
}

/* A hidden name is not found, though a longer name after it exists. */
static void stat_of_a_hidden_name(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    struct seen seen = {0};
    assert_int_equal(put_text(test, "gone", "hello", NULL, &seen, &err), STOR_OK);
    assert_int_equal(put_text(test, "gone-too", "hello", NULL, &seen, &err), STOR_OK);
    assert_int_equal(b2_remove(test->plugin, FAKE_BUCKET, "gone", &err), STOR_OK);
    seen.calls = 0;
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "gone", NULL, on_seen, &seen, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(seen.calls, 0);
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "gone-too", NULL, on_seen, &seen, &err),
                     STOR_OK);
    assert_string_equal(seen.key, "gone-too");
}

/* stat by version id: b2_get_file_info, checked to be that id of that name. */
static void stat_by_version_id(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_get_file_info", 200, JSON, RICH_FILE);
    struct seen seen = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "rich.txt", "4_zrich", on_seen, &seen, &err),
                     STOR_OK);
    assert_rich(&seen);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_get_file_info")->body), *value;
    assert_true(json_object_object_get_ex(body, "fileId", &value));
    assert_string_equal(json_object_get_string(value), "4_zrich");
    json_object_put(body);
    assert_int_equal(fake_count(test->http, "b2_list_file_names"), 0);
    /* The id of another name is no version of this one. */
    fake_script(test->http, "b2_get_file_info", 200, JSON, RICH_FILE);
    seen.calls = 0;
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "other.txt", "4_zrich", on_seen, &seen, &err),
                     STOR_ENOTFOUND);
    /* An answer for another id is not believed. */
    fake_script(test->http, "b2_get_file_info", 200, JSON, RICH_FILE);
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "rich.txt", "4_zother", on_seen, &seen, &err),
                     STOR_EINTERNAL);
    fake_script(test->http, "b2_get_file_info", 404, NULL,
                "{\"status\": 404, \"code\": \"not_found\", \"message\": \"File not present\"}");
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "rich.txt", "4_zgone", on_seen, &seen, &err),
                     STOR_ENOTFOUND);
    fake_script(test->http, "b2_get_file_info", 400, NULL,
                "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"Invalid fileId\"}");
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "rich.txt", "junk", on_seen, &seen, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(seen.calls, 0);
}

/* Unverified and malformed SHA-1s, a fileInfo of other types: unknown, never a crash. */
static void odd_file_objects_read_as_unknown(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_list_file_names", 200, JSON,
                "{\"files\": [{\"action\": \"upload\", \"fileId\": \"id-1\", \"fileName\": \"odd\", "
                "\"contentLength\": 3, \"contentSha1\": \"unverified:" HELLO_SHA1 "\", "
                "\"contentMd5\": \"XYZ\", \"uploadTimestamp\": 5, \"fileInfo\": {\"n\": 1, "
                "\"src_last_modified_millis\": \"12abc\", \"b2-expires\": null}, "
                "\"serverSideEncryption\": {\"mode\": \"rot13\"}, \"fileRetention\": "
                "{\"isClientAuthorizedToRead\": false, \"value\": null}, \"legalHold\": \"on\"}], "
                "\"nextFileName\": null}");
    struct seen seen = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_stat(test->plugin, FAKE_BUCKET, "odd", NULL, on_seen, &seen, &err), STOR_OK);
    assert_string_equal(seen.sha1, "(null)");
    assert_string_equal(seen.md5, "(null)");
    assert_string_equal(seen.expires, "(null)");
    assert_int_equal(seen.meta_count, 0);
    assert_int_equal(seen.mtime_ms, 5);
    assert_string_equal(seen.encryption, "(null)");
    assert_string_equal(seen.retention, "(null)");
    assert_int_equal(seen.retain_until_ms, -1);
    assert_int_equal(seen.legal_hold, -1);
}

/* ---- buckets ---- */

struct buckets {
    int count;
    char names[8][64], ids[8][64], types[8][32];
    int is_public[8];
    int64_t created_ms[8];
};

static int on_bucket(void *context, const struct stor_bucket *bucket)
{
    struct buckets *b = context;
    if (b->count < 8) {
        copy_text(b->names[b->count], 64, bucket->name);
        copy_text(b->ids[b->count], 64, bucket->id);
        b->types[b->count][0] = '\0';
        for (size_t i = 0; i < bucket->setting_count; i++)
            if (strcmp(bucket->settings[i].key, "bucketType") == 0)
                copy_text(b->types[b->count], 32, bucket->settings[i].value);
        b->is_public[b->count] = bucket->is_public;
        b->created_ms[b->count] = bucket->created_ms;
    }
    b->count++;
    return 0;
}

#define BUCKET(name, id, type)                                                                  \
    "{\"accountId\": \"account-1\", \"bucketName\": \"" name "\", \"bucketId\": \"" id "\", "  \
    "\"bucketType\": \"" type "\", \"lifecycleRules\": []}"

/* Every bucket, in ascending byte order whatever order B2 answers in, with its type. */
static void buckets_are_sorted(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET("zeta-bucket", "id-z", "allPrivate") ", "
                BUCKET("alpha-bucket", "id-a", "allPublic") ", "
                BUCKET("Mid-bucket", "id-m", "snapshot") "]}");
    struct buckets buckets = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_list_buckets(test->plugin, on_bucket, &buckets, &err), STOR_OK);
    assert_int_equal(buckets.count, 3);
    assert_string_equal(buckets.names[0], "Mid-bucket");
    assert_string_equal(buckets.names[1], "alpha-bucket");
    assert_string_equal(buckets.names[2], "zeta-bucket");
    assert_int_equal(buckets.is_public[0], -1);
    assert_int_equal(buckets.is_public[1], 1);
    assert_int_equal(buckets.is_public[2], 0);
    assert_string_equal(buckets.types[1], "allPublic");
    assert_int_equal(buckets.created_ms[0], -1);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_list_buckets")->body), *types;
    assert_true(json_object_object_get_ex(body, "bucketTypes", &types));
    assert_string_equal(json_object_get_string(json_object_array_get_idx(types, 0)), "all");
    json_object_put(body);
    /* The ids were learnt: no lookup to address one of them. */
    size_t before = fake_count(test->http, "b2_list_buckets");
    char *id;
    assert_int_equal(b2_bucket_id(test->plugin, "alpha-bucket", 0, &id, &err), STOR_OK);
    assert_string_equal(id, "id-a");
    free(id);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), before);
    /* A bucket listed twice is not believed. */
    fake_script(test->http, "b2_list_buckets", 200, JSON,
                "{\"buckets\": [" BUCKET("same-bucket", "id-1", "allPrivate") ", "
                BUCKET("same-bucket", "id-2", "allPrivate") "]}");
    assert_int_equal(b2_list_buckets(test->plugin, on_bucket, &buckets, &err), STOR_EINTERNAL);
}

/* A key restricted to one bucket lists it from its authorization, without b2_list_buckets. */
static void restricted_key_lists_its_bucket(void **state)
{
    struct b2_test *test = *state;
    test->world.restricted_bucket = 1;
    struct buckets buckets = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_list_buckets(test->plugin, on_bucket, &buckets, &err), STOR_OK);
    assert_int_equal(buckets.count, 1);
    assert_string_equal(buckets.names[0], FAKE_BUCKET);
    assert_string_equal(buckets.ids[0], FAKE_BUCKET_ID);
    assert_int_equal(buckets.is_public[0], -1);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 0);
}

/* create: the type asked, reported once, learnt; an existing name is EINVAL saying so;
 * settings and bad names are refused before a request. */
static void create_bucket_cases(void **state)
{
    struct b2_test *test = *state;
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = 1};
    struct buckets buckets = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_create_bucket", 200, JSON, BUCKET("new-bucket", "id-new", "allPublic"));
    assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, on_bucket, &buckets,
                                      &err), STOR_OK);
    assert_int_equal(buckets.count, 1);
    assert_string_equal(buckets.ids[0], "id-new");
    assert_int_equal(buckets.is_public[0], 1);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_create_bucket")->body), *value;
    assert_true(json_object_object_get_ex(body, "bucketType", &value));
    assert_string_equal(json_object_get_string(value), "allPublic");
    assert_true(json_object_object_get_ex(body, "bucketName", &value));
    assert_string_equal(json_object_get_string(value), "new-bucket");
    json_object_put(body);
    char *id;
    assert_int_equal(b2_bucket_id(test->plugin, "new-bucket", 0, &id, &err), STOR_OK);
    assert_string_equal(id, "id-new");
    free(id);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 0);

    fake_script(test->http, "b2_create_bucket", 400, NULL,
                "{\"status\": 400, \"code\": \"duplicate_bucket_name\", \"message\": \"Bucket name "
                "is already in use.\"}");
    assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_non_null(strstr(err.message, "already exists"));

    fake_forget_requests(test->http);
    struct stor_option setting = {"lifecycle", "30d"};
    options.settings = &setting;
    options.setting_count = 1;
    assert_int_equal(b2_create_bucket(test->plugin, "new-bucket", &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_non_null(strstr(err.message, "lifecycle"));
    options.setting_count = 0;
    assert_int_equal(b2_create_bucket(test->plugin, "b2-reserved", &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_int_equal(b2_create_bucket(test->plugin, "tiny", &options, NULL, NULL, &err), STOR_EINVAL);
    assert_int_equal(fake_count(test->http, NULL), 0);
}

/* delete: a non-empty bucket is EINVAL with B2's reason; a deleted one is forgotten, its pooled
 * upload URLs with it. */
static void delete_bucket_cases(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err = {""};
    fake_script(test->http, "b2_delete_bucket", 400, NULL,
                "{\"status\": 400, \"code\": \"cannot_delete_non_empty_bucket\", \"message\": "
                "\"Cannot delete non-empty bucket\"}");
    assert_int_equal(b2_delete_bucket(test->plugin, FAKE_BUCKET, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "not empty"));
    assert_non_null(strstr(err.message, "Cannot delete non-empty bucket"));

    struct seen seen = {0};
    assert_int_equal(put_text(test, "k", "hello", NULL, &seen, &err), STOR_OK);
    assert_int_equal(test->plugin->idle_count, 1); /* the upload URL went back to the pool */
    fake_script(test->http, "b2_delete_bucket", 200, JSON, BUCKET(FAKE_BUCKET, FAKE_BUCKET_ID, "allPrivate"));
    assert_int_equal(b2_delete_bucket(test->plugin, FAKE_BUCKET, &err), STOR_OK);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_delete_bucket")->body), *value;
    assert_true(json_object_object_get_ex(body, "bucketId", &value));
    assert_string_equal(json_object_get_string(value), FAKE_BUCKET_ID);
    json_object_put(body);
    assert_int_equal(test->plugin->idle_count, 0);
    size_t before = fake_count(test->http, "b2_list_buckets");
    char *id;
    assert_int_equal(b2_bucket_id(test->plugin, FAKE_BUCKET, 0, &id, &err), STOR_OK);
    free(id);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), before + 1);
    /* No such bucket: not found. */
    assert_int_equal(b2_delete_bucket(test->plugin, "absent-bucket", &err), STOR_ENOTFOUND);
}

/* ---- share ---- */

struct url {
    int calls;
    char text[512];
    int64_t expires_at_ms;
};

static void on_url(void *context, const char *url, int64_t expires_at_ms)
{
    struct url *u = context;
    u->calls++;
    copy_text(u->text, sizeof u->text, url);
    u->expires_at_ms = expires_at_ms;
}

#define AUTHORIZATION(prefix, token)                                                            \
    "{\"bucketId\": \"" FAKE_BUCKET_ID "\", \"fileNamePrefix\": \"" prefix "\", "             \
    "\"authorizationToken\": \"" token "\"}"

/* Out-of-range durations are refused before any request, naming the range. */
static void share_duration_bounds(void **state)
{
    struct b2_test *test = *state;
    static const int64_t refused[] = {0, -1000, 604800001, INT64_MAX};
    struct url url = {0};
    struct stor_error err = {""};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "k", refused[i], on_url, &url, &err),
                         STOR_EINVAL);
        assert_non_null(strstr(err.message, "604800 seconds"));
    }
    assert_int_equal(fake_count(test->http, NULL), 0);
    /* 1 ms is 1 s; a week is a week. */
    fake_script(test->http, "b2_get_download_authorization", 200, JSON, AUTHORIZATION("k", "tok"));
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "k", 1, on_url, &url, &err), STOR_OK);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_get_download_authorization")->body);
    json_object *value;
    assert_true(json_object_object_get_ex(body, "validDurationInSeconds", &value));
    assert_int_equal(json_object_get_int64(value), 1);
    json_object_put(body);
    assert_int_equal(url.expires_at_ms, test->clock.now_ms + 1000);
    fake_script(test->http, "b2_get_download_authorization", 200, JSON, AUTHORIZATION("k", "tok"));
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "k", 604800000, on_url, &url, &err), STOR_OK);
}

/* download_url + /file/BUCKET/ + the encoded name + ?Authorization= + the encoded token. */
static void share_url_shape(void **state)
{
    struct b2_test *test = *state;
    struct url url = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_get_download_authorization", 200, JSON,
                AUTHORIZATION("dir/a b+c.txt", "3_tok+en/x="));
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "dir/a b+c.txt", 1500, on_url, &url, &err),
                     STOR_OK);
    assert_int_equal(url.calls, 1);
    assert_string_equal(url.text, "https://cdn.example.com/file/bucket1/dir/a%20b%2Bc.txt"
                                  "?Authorization=3_tok%2Ben/x=");
    assert_int_equal(url.expires_at_ms, test->clock.now_ms + 2000);
    json_object *body = json_tokener_parse(fake_last(test->http, "b2_get_download_authorization")->body);
    json_object *value;
    assert_true(json_object_object_get_ex(body, "fileNamePrefix", &value));
    assert_string_equal(json_object_get_string(value), "dir/a b+c.txt");
    assert_true(json_object_object_get_ex(body, "bucketId", &value));
    assert_string_equal(json_object_get_string(value), FAKE_BUCKET_ID);
    json_object_put(body);
    /* A prefix: the URL of the prefix itself. */
    fake_script(test->http, "b2_get_download_authorization", 200, JSON, AUTHORIZATION("dir/", "t2"));
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "dir/", 60000, on_url, &url, &err), STOR_OK);
    assert_string_equal(url.text, "https://cdn.example.com/file/bucket1/dir/?Authorization=t2");
    /* A token fit to break the URL, or one for another prefix, is not handed out. */
    fake_script(test->http, "b2_get_download_authorization", 200, JSON,
                AUTHORIZATION("dir/", "t2\\r\\nSet-Cookie: x"));
    url.calls = 0;
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "dir/", 60000, on_url, &url, &err),
                     STOR_EINTERNAL);
    fake_script(test->http, "b2_get_download_authorization", 200, JSON, AUTHORIZATION("", "t3"));
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "dir/", 60000, on_url, &url, &err),
                     STOR_EINTERNAL);
    assert_int_equal(url.calls, 0);
}

/* Without the account's downloadUrl overridden, the URL starts there. */
static void share_uses_the_account_download_url(void **state)
{
    struct b2_test *test = *state;
    test->world.with_share_files = 1;
    struct url url = {0};
    struct stor_error err = {""};
    fake_script(test->http, "b2_get_download_authorization", 200, JSON, AUTHORIZATION("k", "tok"));
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "k", 1000, on_url, &url, &err), STOR_OK);
    assert_string_equal(url.text, "https://f.test/file/bucket1/k?Authorization=tok");
}

/* A key without shareFiles: EAUTH naming the capability, before asking; B2's 401 too. */
static void share_needs_share_files(void **state)
{
    struct b2_test *test = *state;
    struct url url = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "k", 1000, on_url, &url, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "shareFiles"));
    assert_int_equal(fake_count(test->http, "b2_get_download_authorization"), 0);
    test->world.with_share_files = 1;
    b2_test_restart(test, NULL);
    fake_script(test->http, "b2_get_download_authorization", 401, NULL,
                "{\"status\": 401, \"code\": \"unauthorized\", \"message\": \"not allowed\"}");
    assert_int_equal(b2_share(test->plugin, FAKE_BUCKET, "k", 1000, on_url, &url, &err), STOR_EAUTH);
    assert_int_equal(url.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_ex_sends_every_header, setup_with_info, teardown),
        cmocka_unit_test_setup_teardown(put_is_put_ex_with_defaults, setup_with_info, teardown),
        cmocka_unit_test_setup_teardown(put_ex_limits_refused_before_any_request, setup_with_info,
                                        teardown),
        cmocka_unit_test_setup_teardown(put_ex_7000_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(put_ex_protection_is_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(trusted_sha1_is_sent_and_refused_by_b2, setup, teardown),
        cmocka_unit_test_setup_teardown(trusted_sha1_skips_the_hash_but_not_the_check, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(large_file_starts_with_the_metadata, setup_large, teardown),
        cmocka_unit_test_setup_teardown(large_file_resumes_by_the_put_ex_mtime, setup_large,
                                        teardown),
        cmocka_unit_test_setup_teardown(stat_by_name_fills_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(listing_reports_the_same_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(stat_refuses_another_name, setup, teardown),
        cmocka_unit_test_setup_teardown(stat_of_a_hidden_name, setup, teardown),
        cmocka_unit_test_setup_teardown(stat_by_version_id, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_file_objects_read_as_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(buckets_are_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(restricted_key_lists_its_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(create_bucket_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_bucket_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(share_duration_bounds, setup_share, teardown),
        cmocka_unit_test_setup_teardown(share_url_shape, setup_share, teardown),
        cmocka_unit_test_setup_teardown(share_uses_the_account_download_url, setup, teardown),
        cmocka_unit_test_setup_teardown(share_needs_share_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
