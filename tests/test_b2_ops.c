/* tests/test_b2_ops.c — get (b2_download_file_by_name with SHA-1 check), list
 * (b2_list_file_names, paged, folders) and remove (b2_hide_file), against the fake B2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b2_fake.h"

static int setup(void **state)
{
    return b2_test_setup(state, NULL, 0);
}

static int teardown(void **state)
{
    return b2_test_teardown(state);
}

static void put(struct b2_test *test, const char *key, const char *text)
{
    int fd = fake_file(text, strlen(text));
    struct stor_error err;
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, key, fd, NULL, NULL, &err), STOR_OK);
    close(fd);
}

struct got {
    char sha1[41];
    char id[64];
    int64_t size;
    int calls;
};

static int on_got(void *context, const struct stor_object *object)
{
    struct got *got = context;
    snprintf(got->sha1, sizeof got->sha1, "%s", object->sha1 ? object->sha1 : "");
    snprintf(got->id, sizeof got->id, "%s", object->id ? object->id : "");
    got->size = object->size;
    got->calls++;
    return 0;
}

static char *read_back(int fd)
{
    static char buffer[65536];
    ssize_t length = pread(fd, buffer, sizeof buffer - 1, 0);
    buffer[length < 0 ? 0 : length] = '\0';
    return buffer;
}

/* A round trip through an odd name: the bytes, the SHA-1, the id. */
static void get_downloads_and_verifies(void **state)
{
    struct b2_test *test = *state;
    put(test, "docs/a b+c%.txt", "some content");
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "docs/a b+c%.txt", fd, on_got, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "some content");
    close(fd);
    const struct fake_request *request = fake_last(test->http, "/file/");
    assert_string_equal(request->method, "GET");
    assert_string_equal(request->url, "https://f.test/file/bucket1/docs/a%20b%2Bc%25.txt");
    assert_string_equal(fake_request_header(request, "Authorization"), "acct-token-1");
    assert_int_equal(got.calls, 1);
    assert_int_equal(got.size, 12);
    assert_string_equal(got.id, "file-id-0");
    assert_string_equal(got.sha1, test->world.files[0].sha1);
}

/* Bytes that do not match B2's SHA-1 are refused. */
static void get_refuses_a_sha1_mismatch(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "/file/", 200, "X-Bz-Content-Sha1: 0000000000000000000000000000000000000000\n",
                "tampered");
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "x", fd, on_got, &got, &err), STOR_EIO);
    close(fd);
    assert_non_null(strstr(err.message, "does not match its SHA-1"));
    assert_int_equal(got.calls, 0);
}

/* A large file's SHA-1 comes from large_file_sha1 when X-Bz-Content-Sha1 says none. */
static void get_uses_large_file_sha1(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, "/file/", 200,
                "X-Bz-Content-Sha1: none\nX-Bz-Info-large_file_sha1: a9993e364706816aba3e25717850c26c9cd0d89d\n",
                "abc");
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "x", fd, on_got, &got, &err), STOR_OK);
    close(fd);
    fake_script(test->http, "/file/", 200,
                "X-Bz-Content-Sha1: none\nX-Bz-Info-large_file_sha1: a9993e364706816aba3e25717850c26c9cd0d89e\n",
                "abc");
    fd = fake_file("", 0);
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "x", fd, on_got, &got, &err), STOR_EIO);
    close(fd);
}

/* Missing file: not found. */
static void get_missing_is_not_found(void **state)
{
    struct b2_test *test = *state;
    int fd = fake_file("", 0);
    struct stor_error err;
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "absent", fd, NULL, NULL, &err), STOR_ENOTFOUND);
    close(fd);
    assert_non_null(strstr(err.message, "absent"));
}

/* An expired token on download: re-authorize once and retry; a broken download restarts. */
static void get_reauthorizes_and_restarts(void **state)
{
    struct b2_test *test = *state;
    put(test, "file", "0123456789");
    test->world.account_token_expired = 1;
    fake_script_outcome(test->http, "/file/", SP_HTTP_BROKEN);
    int fd = fake_file("", 0);
    struct stor_error err;
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "file", fd, NULL, NULL, &err), STOR_OK);
    assert_string_equal(read_back(fd), "0123456789");
    close(fd);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 2);
    assert_int_equal(fake_count(test->http, "/file/"), 3);
}

struct listing {
    char keys[64][64];
    int prefixes[64];
    int count;
    int stop_after;
};

static int on_listed(void *context, const struct stor_object *object)
{
    struct listing *listing = context;
    snprintf(listing->keys[listing->count], 64, "%s", object->key);
    listing->prefixes[listing->count] = object->is_prefix;
    listing->count++;
    return listing->stop_after && listing->count >= listing->stop_after;
}

/* One level with folders, then every key, over pages of two names. */
static void list_pages_and_folders(void **state)
{
    struct b2_test *test = *state;
    put(test, "a", "1");
    put(test, "d/x", "2");
    put(test, "d/y/z", "3");
    put(test, "e", "4");
    put(test, "f", "5");
    test->world.page_size = 2;
    struct listing listing = {0};
    struct stor_error err;
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", 0, on_listed, &listing, &err), STOR_OK);
    assert_int_equal(listing.count, 4);
    assert_string_equal(listing.keys[0], "a");
    assert_string_equal(listing.keys[1], "d/");
    assert_true(listing.prefixes[1]);
    assert_string_equal(listing.keys[2], "e");
    assert_string_equal(listing.keys[3], "f");
    assert_int_equal(fake_count(test->http, "b2_list_file_names"), 2);
    memset(&listing, 0, sizeof listing);
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "d/", STOR_LIST_RECURSIVE, on_listed,
                             &listing, &err), STOR_OK);
    assert_int_equal(listing.count, 2);
    assert_string_equal(listing.keys[0], "d/x");
    assert_string_equal(listing.keys[1], "d/y/z");
    assert_false(listing.prefixes[1]);
    const struct fake_request *request = fake_last(test->http, "b2_list_file_names");
    assert_null(strstr(request->body, "delimiter"));
    assert_non_null(strstr(request->body, "\"prefix\":\"d\\/\""));
}

/* A callback that says stop ends the listing with ECANCELLED. */
static void list_stops_when_asked(void **state)
{
    struct b2_test *test = *state;
    put(test, "a", "1");
    put(test, "b", "2");
    struct listing listing = {.stop_after = 1};
    struct stor_error err;
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", STOR_LIST_RECURSIVE, on_listed, &listing, &err),
                     STOR_ECANCELLED);
    assert_int_equal(listing.count, 1);
}

/* A key restricted to a name prefix lists inside it when asked for everything. */
static void list_stays_inside_the_key_prefix(void **state)
{
    struct b2_test *test = *state;
    put(test, "a", "1"); /* stored by a key without the restriction */
    put(test, "d/x", "2");
    test->world.name_prefix = "d/";
    test->world.account_token_expired = 1; /* the next call re-authorizes as the restricted key */
    struct stor_error err;
    int sink = open("/dev/null", O_WRONLY);
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "d/x", sink, NULL, NULL, &err), STOR_OK);
    close(sink);
    struct listing listing = {0};
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", STOR_LIST_RECURSIVE, on_listed, &listing, &err), STOR_OK);
    assert_int_equal(listing.count, 1);
    assert_string_equal(listing.keys[0], "d/x");
    assert_non_null(strstr(fake_last(test->http, "b2_list_file_names")->body, "\"prefix\":\"d\\/\""));
}

/* A key restricted to a name prefix cannot write outside it: refused before any upload. */
static void put_outside_the_key_prefix_is_refused(void **state)
{
    struct b2_test *test = *state;
    test->world.name_prefix = "d/";
    char path[] = "/tmp/stor-b2-prefix-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    struct stor_error err;
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "elsewhere/x", fd, NULL, NULL, &err), STOR_EAUTH);
    close(fd);
    assert_non_null(strstr(err.message, "restricted to names starting with d/"));
    assert_null(fake_last(test->http, "b2_get_upload_url"));
    assert_null(fake_last(test->http, "b2_upload_file"));
}

/* An unknown bucket: not found, by name. */
static void list_unknown_bucket(void **state)
{
    struct b2_test *test = *state;
    struct listing listing = {0};
    struct stor_error err;
    assert_int_equal(b2_list(test->plugin, "nobucket", "", 0, on_listed, &listing, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "no bucket 'nobucket'"));
}

/* remove hides: the file leaves listings; removing it again is not found. */
static void remove_hides(void **state)
{
    struct b2_test *test = *state;
    put(test, "gone", "1");
    struct stor_error err;
    assert_int_equal(b2_remove(test->plugin, FAKE_BUCKET, "gone", &err), STOR_OK);
    const struct fake_request *request = fake_last(test->http, "b2_hide_file");
    assert_non_null(strstr(request->body, "\"fileName\":\"gone\""));
    assert_non_null(strstr(request->body, FAKE_BUCKET_ID));
    struct listing listing = {0};
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", 0, on_listed, &listing, &err), STOR_OK);
    assert_int_equal(listing.count, 0);
    assert_int_equal(b2_remove(test->plugin, FAKE_BUCKET, "gone", &err), STOR_ENOTFOUND);
}

#define LISTED_FILE(name)                                                                          \
    "{\"action\": \"upload\", \"fileId\": \"id-" name "\", \"fileName\": \"" name "\", "            \
    "\"contentLength\": 1, \"contentSha1\": \"a9993e364706816aba3e25717850c26c9cd0d89d\", "      \
    "\"contentType\": \"text/plain\", \"uploadTimestamp\": 1700000000000, \"fileInfo\": {}}"

/* A server that lists a name outside the prefix asked for is not believed: the listing fails and
 * the name never reaches the caller (rm -r would hide it, get -r write it). */
static void list_refuses_names_outside_the_prefix(void **state)
{
    struct b2_test *test = *state;
    static const char *const lies[] = {"other/secret", "pr", "pre"};
    for (size_t i = 0; i < 3; i++) {
        char body[1024];
        snprintf(body, sizeof body, "{\"files\": [" LISTED_FILE("pre/ok") ", "
                 "{\"action\": \"upload\", \"fileId\": \"id-x\", \"fileName\": \"%s\", "
                 "\"contentLength\": 1, \"contentSha1\": \"a9993e364706816aba3e25717850c26c9cd0d89d\", "
                 "\"contentType\": \"text/plain\", \"uploadTimestamp\": 1700000000000, "
                 "\"fileInfo\": {}}], \"nextFileName\": null}", lies[i]);
        fake_script(test->http, "b2_list_file_names", 200, "Content-Type: application/json\n", body);
        struct listing listing = {0};
        struct stor_error err = {""};
        assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "pre/", STOR_LIST_RECURSIVE, on_listed,
                                 &listing, &err), STOR_EINTERNAL);
        assert_int_equal(listing.count, 1); /* pre/ok only */
        assert_non_null(strstr(err.message, "outside the prefix"));
    }
}

/* A cursor that does not advance (nextFileName equal to, or before, where the page started) ends
 * the listing with an error instead of a loop without end. */
static void list_stops_at_a_cursor_that_does_not_advance(void **state)
{
    struct b2_test *test = *state;
    for (int i = 0; i < 6; i++)
        fake_script(test->http, "b2_list_file_names", 200, "Content-Type: application/json\n",
                    "{\"files\": [" LISTED_FILE("a") "], \"nextFileName\": \"a\"}");
    struct listing listing = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", STOR_LIST_RECURSIVE, on_listed,
                             &listing, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "did not advance"));
    assert_true(fake_count(test->http, "b2_list_file_names") <= 2);
}

/* Versions, unfinished large files and parts: the same two lies. cleanup must never cancel an
 * unfinished file outside its prefix. */
static void other_listings_refuse_lies_too(void **state)
{
    struct b2_test *test = *state;
    struct listing listing = {0};
    struct stor_error err = {""};
    for (int i = 0; i < 4; i++)
        fake_script(test->http, "b2_list_file_versions", 200, "Content-Type: application/json\n",
                    "{\"files\": [" LISTED_FILE("a") "], \"nextFileName\": \"a\", \"nextFileId\": \"id-a\"}");
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS,
                             on_listed, &listing, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "did not advance"));
    assert_true(fake_count(test->http, "b2_list_file_versions") <= 2);

    fake_script(test->http, "b2_list_file_versions", 200, "Content-Type: application/json\n",
                "{\"files\": [" LISTED_FILE("elsewhere") "], \"nextFileName\": null}");
    memset(&listing, 0, sizeof listing);
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "pre/", STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS,
                             on_listed, &listing, &err), STOR_EINTERNAL);
    assert_int_equal(listing.count, 0);

    fake_script(test->http, "b2_list_unfinished_large_files", 200, "Content-Type: application/json\n",
                "{\"files\": [{\"fileId\": \"u-1\", \"fileName\": \"outside/big\", \"action\": \"start\", "
                "\"uploadTimestamp\": 1000, \"fileInfo\": {}, \"contentType\": \"b2/x-auto\"}], "
                "\"nextFileId\": null}");
    assert_int_equal(b2_cleanup(test->plugin, FAKE_BUCKET, "pre/", 0, 0, NULL, NULL, &err),
                     STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "outside the prefix"));
    assert_int_equal(fake_count(test->http, "b2_cancel_large_file"), 0);

    for (int i = 0; i < 4; i++)
        fake_script(test->http, "b2_list_unfinished_large_files", 200, "Content-Type: application/json\n",
                    "{\"files\": [], \"nextFileId\": \"u-9\"}");
    assert_int_equal(b2_cleanup(test->plugin, FAKE_BUCKET, "", 0, 1, NULL, NULL, &err), STOR_EINTERNAL);
    assert_true(fake_count(test->http, "b2_list_unfinished_large_files") <= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(other_listings_refuse_lies_too, setup, teardown),
        cmocka_unit_test_setup_teardown(list_refuses_names_outside_the_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(list_stops_at_a_cursor_that_does_not_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(get_downloads_and_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(get_refuses_a_sha1_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(get_uses_large_file_sha1, setup, teardown),
        cmocka_unit_test_setup_teardown(get_missing_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(get_reauthorizes_and_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(list_pages_and_folders, setup, teardown),
        cmocka_unit_test_setup_teardown(list_stops_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(list_stays_inside_the_key_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(put_outside_the_key_prefix_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(list_unknown_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_hides, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
