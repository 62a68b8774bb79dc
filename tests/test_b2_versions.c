/* tests/test_b2_versions.c — version listings (b2_list_file_versions), the fields of plain
 * listings, remove_ex (one version, every version) and copy (b2_copy_file, b2_copy_part). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "b2_fake_versions.h"

static int setup(void **state)
{
    return vfake_setup(state, NULL);
}

struct listing {
    char keys[32][32];
    char ids[32][32];
    char sha1[32][41];
    char types[32][32];
    int hidden[32];
    int64_t sizes[32], mtimes[32];
    int count;
};

static int on_listed(void *context, const struct stor_object *object)
{
    struct listing *listing = context;
    int i = listing->count++;
    snprintf(listing->keys[i], 32, "%s", object->key);
    snprintf(listing->ids[i], 32, "%s", object->id ? object->id : "");
    snprintf(listing->sha1[i], 41, "%s", object->sha1 ? object->sha1 : "");
    snprintf(listing->types[i], 32, "%s", object->content_type ? object->content_type : "");
    listing->hidden[i] = object->is_hidden;
    listing->sizes[i] = object->size;
    listing->mtimes[i] = object->mtime_ms;
    return 0;
}

static struct listing *list_versions(struct vfake_fixture *fixture, const char *prefix)
{
    static struct listing listing;
    memset(&listing, 0, sizeof listing);
    struct stor_error err;
    assert_int_equal(b2_list(fixture->test.plugin, FAKE_BUCKET, prefix,
                             STOR_LIST_VERSIONS | STOR_LIST_RECURSIVE, on_listed, &listing, &err),
                     STOR_OK);
    return &listing;
}

/* Every version, newest first within a name, hide markers flagged, unfinished large files
 * skipped, over pages that continue at nextFileName + nextFileId. */
static void versions_listing_pages(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "a", "one", 3);        /* v-1 */
    vfake_put(&fixture->fake, "a", "two!", 4);       /* v-2 */
    vfake_marker(&fixture->fake, "a", "hide");       /* v-3 */
    vfake_put(&fixture->fake, "b", "bee", 3)->mtime_ms = 1234; /* v-4 */
    vfake_marker(&fixture->fake, "c", "start");      /* v-5 */
    fixture->fake.page_size = 2;
    struct listing *listing = list_versions(fixture, "");
    assert_int_equal(listing->count, 4);
    assert_string_equal(listing->keys[0], "a");
    assert_string_equal(listing->ids[0], "v-3");
    assert_true(listing->hidden[0]);
    assert_string_equal(listing->sha1[0], "");
    assert_string_equal(listing->ids[1], "v-2");
    assert_false(listing->hidden[1]);
    assert_int_equal(listing->sizes[1], 4);
    assert_string_equal(listing->ids[2], "v-1");
    assert_string_equal(listing->keys[3], "b");
    assert_int_equal(listing->mtimes[3], 1234);
    assert_int_equal(listing->mtimes[2], 1700000000000);
    assert_string_equal(listing->types[3], "text/plain");
    /* Three pages; the second starts at a's oldest version. */
    assert_int_equal(vfake_count(&fixture->fake, "b2_list_file_versions"), 3);
    int second = -1;
    for (size_t i = 0, seen = 0; i < fixture->fake.log_count; i++)
        if (strstr(fixture->fake.log[i].url, "b2_list_file_versions") && ++seen == 2)
            second = (int)i;
    assert_non_null(strstr(fixture->fake.log[second].body, "\"startFileName\":\"a\""));
    assert_non_null(strstr(fixture->fake.log[second].body, "\"startFileId\":\"v-1\""));
    /* Not recursive: the delimiter is sent. */
    struct listing one = {0};
    struct stor_error err;
    assert_int_equal(b2_list(fixture->test.plugin, FAKE_BUCKET, "a", STOR_LIST_VERSIONS,
                             on_listed, &one, &err), STOR_OK);
    assert_non_null(strstr(fixture->fake.log[fixture->fake.log_count - 1].body, "\"delimiter\":\"\\/\""));
    assert_non_null(strstr(fixture->fake.log[fixture->fake.log_count - 1].body, "\"prefix\":\"a\""));
}

/* Plain listings report sha1 (large_file_sha1 when contentSha1 is none), content type, id and
 * src_last_modified_millis as mtime. */
static void plain_listing_fields(void **state)
{
    struct vfake_fixture *fixture = *state;
    fixture->fake.names_to_inner = 1;
    fake_script(fixture->test.http, "b2_list_file_names", 200, "Content-Type: application/json\n",
                "{\"files\": [{\"action\": \"upload\", \"fileId\": \"id-1\", \"fileName\": \"big\", "
                "\"contentLength\": 6000000000, \"contentSha1\": \"none\", \"contentType\": "
                "\"video/mp4\", \"uploadTimestamp\": 1700000000000, \"fileInfo\": {"
                "\"large_file_sha1\": \"a9993e364706816aba3e25717850c26c9cd0d89d\", "
                "\"src_last_modified_millis\": \"1600000000123\"}}, "
                "{\"action\": \"upload\", \"fileId\": \"id-2\", \"fileName\": \"plain\", "
                "\"contentLength\": 3, \"contentSha1\": \"unverified:a9993e364706816aba3e25717850c26c9cd0d89d\", "
                "\"contentType\": \"text/plain\", \"uploadTimestamp\": 1700000000999, \"fileInfo\": {}}], "
                "\"nextFileName\": null}");
    struct listing listing = {0};
    struct stor_error err;
    assert_int_equal(b2_list(fixture->test.plugin, FAKE_BUCKET, "", STOR_LIST_RECURSIVE, on_listed,
                             &listing, &err), STOR_OK);
    assert_int_equal(listing.count, 2);
    assert_string_equal(listing.sha1[0], "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_string_equal(listing.types[0], "video/mp4");
    assert_string_equal(listing.ids[0], "id-1");
    assert_int_equal(listing.mtimes[0], 1600000000123);
    assert_int_equal(listing.sizes[0], 6000000000);
    assert_false(listing.hidden[0]);
    /* "unverified:<hex>" is the uploader's claim, never checked by B2: no SHA-1 is reported. */
    assert_string_equal(listing.sha1[1], "");
    assert_int_equal(listing.mtimes[1], 1700000000999);
}

static enum stor_status remove_ex(struct vfake_fixture *fixture, const char *key, const char *id,
                                  unsigned flags, struct stor_error *err)
{
    struct stor_remove_options options = {.struct_size = sizeof options, .version_id = id,
                                          .flags = flags};
    return b2_remove_ex(fixture->test.plugin, FAKE_BUCKET, key, &options, err);
}

/* A version id deletes exactly that version; no flags hides; hide markers are versions too. */
static void remove_one_version_and_hide(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "a", "one", 3);  /* v-1 */
    vfake_put(&fixture->fake, "a", "two", 3);  /* v-2 */
    struct stor_error err;
    assert_int_equal(remove_ex(fixture, "a", "v-1", 0, &err), STOR_OK);
    int last = vfake_last(&fixture->fake, "b2_delete_file_version");
    assert_non_null(strstr(fixture->fake.log[last].body, "\"fileName\":\"a\""));
    assert_non_null(strstr(fixture->fake.log[last].body, "\"fileId\":\"v-1\""));
    struct listing *listing = list_versions(fixture, "a");
    assert_int_equal(listing->count, 1);
    assert_string_equal(listing->ids[0], "v-2");
    assert_int_equal(remove_ex(fixture, "a", NULL, 0, &err), STOR_OK); /* hide */
    assert_int_equal(vfake_count(&fixture->fake, "b2_hide_file"), 1);
    listing = list_versions(fixture, "a");
    assert_int_equal(listing->count, 2);
    assert_true(listing->hidden[0]);
    assert_int_equal(remove_ex(fixture, "a", listing->ids[0], 0, &err), STOR_OK); /* unhide */
    listing = list_versions(fixture, "a");
    assert_int_equal(listing->count, 1);
    assert_false(listing->hidden[0]);
}

/* Every version of exactly that name goes, markers included; "ab" next to it stays. */
static void remove_all_versions(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "a", "one", 3);
    vfake_put(&fixture->fake, "a", "two", 3);
    vfake_marker(&fixture->fake, "a", "hide");
    vfake_put(&fixture->fake, "a", "three", 5);
    vfake_put(&fixture->fake, "ab", "other", 5);
    fixture->fake.page_size = 2;
    struct stor_error err;
    assert_int_equal(remove_ex(fixture, "a", NULL, STOR_REMOVE_ALL_VERSIONS, &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_delete_file_version"), 4);
    int first = vfake_last(&fixture->fake, "b2_list_file_versions");
    assert_non_null(strstr(fixture->fake.log[first].body, "\"prefix\":\"a\""));
    assert_null(strstr(fixture->fake.log[first].body, "delimiter"));
    struct listing *listing = list_versions(fixture, "");
    assert_int_equal(listing->count, 1);
    assert_string_equal(listing->keys[0], "ab");
    /* Nothing left: not found. */
    assert_int_equal(remove_ex(fixture, "a", NULL, STOR_REMOVE_ALL_VERSIONS, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "bucket1/a"));
}

/* An unknown version is not found; a key without deleteFiles is EAUTH naming it. */
static void remove_not_found_and_no_capability(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "a", "one", 3);
    struct stor_error err;
    assert_int_equal(remove_ex(fixture, "a", "v-77", 0, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "v-77"));
    assert_int_equal(remove_ex(fixture, "b", "v-1", 0, &err), STOR_ENOTFOUND); /* wrong name */
    fixture->fake.fail_match = "b2_delete_file_version";
    fixture->fake.fail_count = 1;
    fixture->fake.fail_status = 401;
    fixture->fake.fail_code = "unauthorized";
    assert_int_equal(remove_ex(fixture, "a", "v-1", 0, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "deleteFiles"));
    assert_int_equal(list_versions(fixture, "a")->count, 1);
}

static int on_copied(void *context, const struct stor_object *object)
{
    struct listing *listing = context;
    return on_listed(listing, object);
}

/* A small copy is one b2_copy_file of the source's current version; nothing is downloaded. */
static void copy_small(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "src", "old", 3);
    struct vfake_version *current = vfake_put(&fixture->fake, "src", "current", 7);
    struct listing copied = {0};
    struct stor_error err;
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "src", FAKE_BUCKET, "dst",
                             on_copied, &copied, &err), STOR_OK);
    assert_int_equal(copied.count, 1);
    assert_string_equal(copied.keys[0], "dst");
    assert_int_equal(copied.sizes[0], 7);
    assert_string_equal(copied.sha1[0], current->sha1);
    int last = vfake_last(&fixture->fake, "b2_copy_file");
    assert_non_null(strstr(fixture->fake.log[last].body, "\"sourceFileId\":\"v-2\""));
    assert_non_null(strstr(fixture->fake.log[last].body, "\"metadataDirective\":\"COPY\""));
    assert_null(strstr(fixture->fake.log[last].body, "destinationBucketId"));
    assert_int_equal(vfake_count(&fixture->fake, "/file/"), 0);
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id"), 0);
    assert_int_equal(vfake_count(&fixture->fake, "b2_copy_part"), 0);
    /* A missing source is not found. */
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "sr", FAKE_BUCKET, "x", NULL,
                             NULL, &err), STOR_ENOTFOUND);
}

/* b2_copy_file done but its answer lost: the destination's current version is the copy, so it
 * is not copied again (B2 would store a second version). */
static void lost_copy_answer_is_not_copied_again(void **state)
{
    struct vfake_fixture *fixture = *state;
    struct vfake_version *source = vfake_put(&fixture->fake, "src", "current", 7);
    fixture->fake.lose_match = "b2_copy_file";
    fixture->fake.lose_count = 1;
    struct listing copied = {0};
    struct stor_error err;
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "src", FAKE_BUCKET, "dst",
                             on_copied, &copied, &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_copy_file"), 1);
    assert_int_equal(copied.count, 1);
    assert_string_equal(copied.keys[0], "dst");
    assert_string_equal(copied.sha1[0], source->sha1);
    size_t versions_of_dst = 0;
    for (size_t i = 0; i < fixture->fake.count; i++)
        versions_of_dst += strcmp(fixture->fake.versions[i].name, "dst") == 0;
    assert_int_equal(versions_of_dst, 1);
    /* Lost before B2 copied anything (nothing there yet): copied again, once. */
    fixture->fake.fail_match = "b2_copy_file";
    fixture->fake.fail_count = 1;
    fixture->fake.fail_status = 503;
    fixture->fake.fail_code = "service_unavailable";
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "src", FAKE_BUCKET, "dst2",
                             NULL, NULL, &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_copy_file"), 3);
}

/* b2_hide_file done but its answer lost: the name has no current version, so rm succeeded; asked
 * again, B2 would answer "not present" and rm would call a file it just hid missing. */
static void lost_hide_answer_is_success(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "doomed", "bytes", 5);
    fixture->fake.lose_match = "b2_hide_file";
    fixture->fake.lose_count = 1;
    struct stor_error err;
    assert_int_equal(b2_remove(fixture->test.plugin, FAKE_BUCKET, "doomed", &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_hide_file"), 1);
    assert_int_equal(fixture->fake.count, 2); /* the version and one hide marker */
    /* An error answer (nothing done) is not looked into: the retry hides it. */
    vfake_put(&fixture->fake, "doomed", "again", 5);
    fixture->fake.fail_match = "b2_hide_file";
    fixture->fake.fail_count = 1;
    fixture->fake.fail_status = 503;
    fixture->fake.fail_code = "service_unavailable";
    assert_int_equal(b2_remove(fixture->test.plugin, FAKE_BUCKET, "doomed", &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_hide_file"), 3);
    assert_string_equal(fixture->fake.versions[fixture->fake.count - 1].action, "hide");
}

/* b2_delete_file_version done but its answer lost: B2 no longer knows the id, so the delete
 * succeeded (asked again, B2 would say the version is not there). */
static void lost_delete_answer_is_success(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "a", "one", 3); /* v-1 */
    vfake_put(&fixture->fake, "a", "two", 3); /* v-2 */
    fixture->fake.lose_match = "b2_delete_file_version";
    fixture->fake.lose_count = 1;
    struct stor_error err;
    assert_int_equal(remove_ex(fixture, "a", "v-1", 0, &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_delete_file_version"), 1);
    assert_int_equal(vfake_count(&fixture->fake, "b2_get_file_info"), 1);
    assert_int_equal(fixture->fake.count, 1);
    assert_string_equal(fixture->fake.versions[0].id, "v-2");
    /* A version really missing is still reported missing. */
    assert_int_equal(remove_ex(fixture, "a", "v-1", 0, &err), STOR_ENOTFOUND);
}

/* Above 5 GB: b2_start_large_file, b2_copy_part over contiguous ranges, b2_finish_large_file
 * with every part's SHA-1 in order. */
static void copy_large_in_parts(void **state)
{
    struct vfake_fixture *fixture = *state;
    struct vfake_version *huge = vfake_put(&fixture->fake, "huge", "", 0);
    huge->length = 12000000001LL; /* virtual: parts are copied, never downloaded */
    struct listing copied = {0};
    struct stor_error err;
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "huge", FAKE_BUCKET, "huge2",
                             on_copied, &copied, &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_start_large_file"), 1);
    assert_int_equal(vfake_count(&fixture->fake, "b2_copy_file"), 0);
    /* recommendedPartSize 100 MB: 121 parts, the last of one byte. */
    assert_int_equal(fixture->fake.part_count, 121);
    assert_int_equal(fixture->fake.finish_sha1_count, 121);
    int64_t covered[122] = {0};
    for (int i = 0; i < fixture->fake.part_count; i++) {
        int number = fixture->fake.parts[i].number;
        assert_in_range(number, 1, 121);
        assert_int_equal(fixture->fake.parts[i].first, (int64_t)(number - 1) * 100000000);
        covered[number] = fixture->fake.parts[i].last - fixture->fake.parts[i].first + 1;
    }
    int64_t total = 0;
    for (int i = 1; i <= 121; i++)
        total += covered[i];
    assert_int_equal(total, 12000000001LL);
    assert_int_equal(covered[121], 1);
    assert_int_equal(copied.count, 1);
    assert_string_equal(copied.keys[0], "huge2");
    assert_int_equal(copied.sizes[0], 12000000001LL);
    assert_int_equal(fixture->fake.cancelled_large, 0);
    int finish = vfake_last(&fixture->fake, "b2_finish_large_file");
    assert_non_null(strstr(fixture->fake.log[finish].body,
                           "\"0000000000000000000000000000000000000001\",\"0000000000000000000000000000000000000002\""));
    /* A part that keeps failing cancels the large file. */
    fixture->fake.part_count = 0;
    fixture->fake.fail_match = "b2_copy_part";
    fixture->fake.fail_count = 1;
    fixture->fake.fail_status = 400;
    fixture->fake.fail_code = "bad_request";
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "huge", FAKE_BUCKET, "huge3", NULL,
                             NULL, &err), STOR_EINVAL);
    assert_int_equal(fixture->fake.cancelled_large, 1);
    /* The finish done but its answer lost: b2_get_file_info shows the copy finished. */
    fixture->fake.lose_match = "b2_finish_large_file";
    fixture->fake.lose_count = 1;
    fixture->fake.part_count = 0;
    memset(&copied, 0, sizeof copied);
    assert_int_equal(b2_copy(fixture->test.plugin, FAKE_BUCKET, "huge", FAKE_BUCKET, "huge4",
                             on_copied, &copied, &err), STOR_OK);
    assert_int_equal(vfake_count(&fixture->fake, "b2_get_file_info"), 1);
    assert_int_equal(copied.count, 1);
    assert_int_equal(copied.sizes[0], 12000000001LL);
    assert_int_equal(fixture->fake.cancelled_large, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(versions_listing_pages, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(plain_listing_fields, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(remove_one_version_and_hide, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(remove_all_versions, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(remove_not_found_and_no_capability, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(copy_small, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(lost_copy_answer_is_not_copied_again, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(lost_hide_answer_is_success, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(lost_delete_answer_is_success, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(copy_large_in_parts, setup, vfake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
