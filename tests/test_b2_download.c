/* tests/test_b2_download.c — get_ex: by version id, byte ranges (206, 416), resume, SHA-1 checks
 * (mismatch, large_file_sha1, nothing to verify) and parallel ranges, against the versioned fake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b2_fake_versions.h"

static int setup(void **state)
{
    return vfake_setup(state, NULL);
}

static int setup_parallel(void **state)
{
    static const char *const options[] = {"download_part_size=7", "transfers=3", NULL};
    return vfake_setup(state, options);
}

static int setup_two_tries(void **state)
{
    static const char *const options[] = {"retries=2", NULL};
    return vfake_setup(state, options);
}

static int setup_cdn(void **state)
{
    static const char *const options[] = {"download_url=https://cdn.test/", "download_part_size=2",
                                          NULL};
    return vfake_setup(state, options);
}

struct got {
    char sha1[41];
    char id[32];
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

static enum stor_status get_ex(struct vfake_fixture *fixture, const char *key, const char *version,
                               int64_t offset, int64_t length, int resume, int fd,
                               struct got *got, struct stor_error *err)
{
    struct stor_get_options options = {.struct_size = sizeof options, .version_id = version,
                                       .offset = offset, .length = length, .resume = resume};
    return b2_get_ex(fixture->test.plugin, FAKE_BUCKET, key, &options, fd, on_got, got, err);
}

/* A version id downloads exactly that version, by id, not the current one. */
static void get_by_version_id(void **state)
{
    struct vfake_fixture *fixture = *state;
    struct vfake_version *old = vfake_put(&fixture->fake, "f", "old bytes", 9);
    char old_id[32];
    snprintf(old_id, sizeof old_id, "%s", old->id);
    vfake_put(&fixture->fake, "f", "new bytes!", 10);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "f", old_id, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "old bytes");
    assert_string_equal(got.id, old_id);
    assert_int_equal(got.size, 9);
    assert_int_equal(got.calls, 1);
    int last = vfake_last(&fixture->fake, "b2_download_file_by_id");
    assert_true(last >= 0);
    assert_non_null(strstr(fixture->fake.log[last].url, "https://f.test/b2api/v2/b2_download_file_by_id?fileId=v-1"));
    assert_int_equal(vfake_count(&fixture->fake, "/file/"), 0);
    close(fd);
    /* And the current version by name. */
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "f", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "new bytes!");
    close(fd);
    /* An unknown id is not found. */
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "f", "v-99", 0, -1, 0, fd, &got, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "v-99"));
    close(fd);
}

/* offset/length become a Range; 206 writes just those bytes; nothing can be verified (INFO). */
static void get_range(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "r", "0123456789", 10);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "r", NULL, 2, 5, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "23456");
    int last = vfake_last(&fixture->fake, "/file/");
    assert_string_equal(fixture->fake.log[last].range, "bytes=2-6");
    assert_string_equal(got.sha1, "");
    assert_int_equal(got.size, 5);
    assert_non_null(strstr(fixture->test.host.log, "r: a byte range was downloaded; the whole "
                                                   "file's SHA-1 cannot be verified"));
    close(fd);
    /* To the end. */
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "r", NULL, 7, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "789");
    assert_string_equal(fixture->fake.log[vfake_last(&fixture->fake, "/file/")].range, "bytes=7-");
    close(fd);
}

/* A range outside the file (416) is the user's to change: EINVAL, saying so. */
static void get_range_outside_is_einval(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "r", "0123456789", 10);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "r", NULL, 10, 4, 0, fd, &got, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "outside the file"));
    assert_int_equal(got.calls, 0);
    assert_int_equal(get_ex(fixture, "r", NULL, -1, 4, 0, fd, &got, &err), STOR_EINVAL);
    assert_int_equal(get_ex(fixture, "r", NULL, 0, 0, 0, fd, &got, &err), STOR_EINVAL);
    close(fd);
}

/* Resume: the first half is read back to seed the SHA-1, the rest appended; the whole verified. */
static void get_resume_appends_and_verifies(void **state)
{
    struct vfake_fixture *fixture = *state;
    struct vfake_version *version = vfake_put(&fixture->fake, "big", "0123456789abcdefghij", 20);
    int fd = fake_file("0123456789", 10);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "big", NULL, 10, -1, 1, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "0123456789abcdefghij");
    /* From the last byte already there, so a complete but unverified file still has a range. */
    assert_string_equal(fixture->fake.log[vfake_last(&fixture->fake, "/file/")].range, "bytes=9-");
    assert_string_equal(got.sha1, version->sha1);
    assert_int_equal(got.size, 20);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 20);
    close(fd);
    /* A first part that is not this version's is caught by the whole-file SHA-1. */
    fd = fake_file("XXXXXXXXXX", 10);
    assert_int_equal(get_ex(fixture, "big", NULL, 10, -1, 1, fd, &got, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "does not match its SHA-1"));
    close(fd);
    /* All there already: one byte fetched again, the whole verified. */
    fd = fake_file("0123456789abcdefghij", 20);
    assert_int_equal(get_ex(fixture, "big", NULL, 20, -1, 1, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "0123456789abcdefghij");
    assert_string_equal(fixture->fake.log[vfake_last(&fixture->fake, "/file/")].range, "bytes=19-");
    close(fd);
    /* More than the object: not this version. */
    fd = fake_file("0123456789abcdefghijk", 21);
    assert_int_equal(get_ex(fixture, "big", NULL, 21, -1, 1, fd, &got, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "cannot resume: the partial file's 21 bytes"));
    close(fd);
    /* Resuming into a pipe, or with a length, is refused. */
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    assert_int_equal(get_ex(fixture, "big", NULL, 10, -1, 1, pipe_fds[1], &got, &err), STOR_EINVAL);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

/* Bytes that do not match the SHA-1 are refused with EIO; nothing is reported. */
static void get_sha1_mismatch(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "c", "some content here", 17);
    fixture->fake.corrupt = 1;
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "c", NULL, 0, -1, 0, fd, &got, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "c: the downloaded data does not match its SHA-1"));
    assert_int_equal(got.calls, 0);
    close(fd);
    /* Into a pipe too (hashed as it streams). */
    fixture->fake.corrupt = 1;
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    assert_int_equal(get_ex(fixture, "c", NULL, 0, -1, 0, pipe_fds[1], &got, &err), STOR_EIO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

/* A large file ("none") is verified against large_file_sha1; without one, a warning says so. */
static void get_large_file_sha1_and_nothing_to_verify(void **state)
{
    struct vfake_fixture *fixture = *state;
    struct vfake_version *large = vfake_put(&fixture->fake, "large", "abc", 3);
    snprintf(large->large_sha1, sizeof large->large_sha1, "%s", large->sha1);
    snprintf(large->sha1, sizeof large->sha1, "none");
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "large", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(got.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    close(fd);
    large->large_sha1[39] = large->large_sha1[39] == '0' ? '1' : '0';
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "large", NULL, 0, -1, 0, fd, &got, &err), STOR_EIO);
    close(fd);
    assert_null(strstr(fixture->test.host.log ? fixture->test.host.log : "", "no SHA-1 to verify"));
    large->large_sha1[0] = '\0';
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "large", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "abc");
    assert_non_null(strstr(fixture->test.host.log, "large: no SHA-1 to verify"));
    close(fd);
}

/* Above two parts, the rest of the object comes as parallel ranges by id, each pwritten at its
 * place; a failed range is retried alone; the whole file is then verified. */
static void get_parallel_ranges(void **state)
{
    struct vfake_fixture *fixture = *state;
    char data[101];
    for (int i = 0; i < 100; i++)
        data[i] = (char)('A' + (i * 7 + i / 13) % 26);
    data[100] = '\0';
    struct vfake_version *version = vfake_put(&fixture->fake, "p", data, 100);
    fixture->fake.hold_us = 2000;
    fixture->fake.fail_match = "b2_download_file_by_id";
    fixture->fake.fail_count = 1;
    fixture->fake.fail_status = 503;
    fixture->fake.fail_code = "service_unavailable";
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "p", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_memory_equal(read_back(fd), data, 101);
    assert_string_equal(got.sha1, version->sha1);
    assert_int_equal(got.size, 100);
    /* One probe of 7 bytes by name, then 93 bytes in 14 ranges by id, one of them twice. */
    assert_int_equal(vfake_count(&fixture->fake, "/file/"), 1);
    assert_string_equal(fixture->fake.log[vfake_last(&fixture->fake, "/file/")].range, "bytes=0-6");
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id?fileId=v-1"), 15);
    assert_true(fixture->fake.max_in_flight > 1);
    assert_true(fixture->fake.max_in_flight <= 3);
    int seen_last = 0;
    for (size_t i = 0; i < fixture->fake.log_count; i++)
        seen_last |= strcmp(fixture->fake.log[i].range, "bytes=98-99") == 0;
    assert_true(seen_last);
    close(fd);
    /* A range refused with 401 expired_auth_token re-authorizes once and goes on. */
    size_t authorizations = fake_count(fixture->test.http, "b2_authorize_account");
    fixture->fake.fail_count = 1;
    fixture->fake.fail_status = 401;
    fixture->fake.fail_code = "expired_auth_token";
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "p", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_memory_equal(read_back(fd), data, 101);
    assert_int_equal(fake_count(fixture->test.http, "b2_authorize_account"), authorizations + 1);
    close(fd);
    /* The host's cancellation stops the download. */
    fixture->test.host.cancel = 1;
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "p", NULL, 0, -1, 0, fd, &got, &err), STOR_ECANCELLED);
    close(fd);
    fixture->test.host.cancel = 0;
    /* A corrupted range is caught by the whole-file SHA-1 read back from the file. */
    fixture->fake.corrupt = 2; /* the probe and one range */
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "p", NULL, 0, -1, 0, fd, &got, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "does not match its SHA-1"));
    close(fd);
}

/* Standard output redirected to a file is a regular file that cannot be read back: it is
 * written in one stream and hashed on the way, not in parallel ranges verified by reading. */
static void get_into_a_write_only_file(void **state)
{
    struct vfake_fixture *fixture = *state;
    char data[101];
    for (int i = 0; i < 100; i++)
        data[i] = (char)('a' + (i * 5) % 26);
    data[100] = '\0';
    struct vfake_version *version = vfake_put(&fixture->fake, "w", data, 100);
    char path[] = "/tmp/stor-test-write-only-XXXXXX";
    int reader = mkstemp(path);
    assert_true(reader >= 0);
    int fd = open(path, O_WRONLY | O_TRUNC);
    unlink(path);
    assert_true(fd >= 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "w", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_memory_equal(read_back(reader), data, 101);
    assert_string_equal(got.sha1, version->sha1);
    assert_int_equal(vfake_count(&fixture->fake, "/file/"), 1);
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id"), 0);
    /* Still verified: a corrupted body is refused. */
    fixture->fake.corrupt = 1;
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(get_ex(fixture, "w", NULL, 0, -1, 0, fd, &got, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "SHA-1"));
    close(fd);
    close(reader);
}

/* A small object into a regular file is one request; an empty one answers 416 and is then
 * fetched whole. */
static void get_small_and_empty(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "small", "tiny", 4);
    vfake_put(&fixture->fake, "empty", "", 0);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "small", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "tiny");
    assert_int_equal(vfake_count(&fixture->fake, "/file/"), 1);
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id"), 0);
    close(fd);
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "empty", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_string_equal(read_back(fd), "");
    assert_int_equal(got.size, 0);
    assert_string_equal(got.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    close(fd);
}

/* download_url sends by-name downloads to a CDN; by-id ones still go to B2. */
static void get_through_download_url(void **state)
{
    struct vfake_fixture *fixture = *state;
    struct vfake_version *version = vfake_put(&fixture->fake, "d/x y", "cdn", 3);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "d/x y", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    int last = vfake_last(&fixture->fake, "/file/");
    assert_string_equal(fixture->fake.log[last].url, "https://cdn.test/file/bucket1/d/x%20y");
    assert_string_equal(read_back(fd), "cdn");
    /* The second range too went through the CDN, by name. */
    assert_int_equal(vfake_count(&fixture->fake, "https://cdn.test/file/bucket1/d/x%20y"), 2);
    assert_string_equal(fixture->fake.log[last].range, "bytes=2-2");
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id"), 0);
    close(fd);
    fd = fake_file("", 0);
    assert_int_equal(get_ex(fixture, "d/x y", version->id, 0, -1, 0, fd, &got, &err), STOR_OK);
    last = vfake_last(&fixture->fake, "b2_download_file_by_id");
    assert_int_equal(strncmp(fixture->fake.log[last].url, "https://f.test/", 15), 0);
    close(fd);
}

/* Options are checked. */
static void download_options_are_checked(void **state)
{
    (void)state;
    struct b2_test test;
    static const char *const bad[][2] = {{"download_url=ftp://x", NULL},
                                         {"transfers=0", NULL},
                                         {"transfers=65", NULL},
                                         {"download_part_size=0", NULL},
                                         {"download_part_size=5X", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(b2_test_start(&test, bad[i], 0), 0);
        b2_test_stop(&test);
    }
}

static void authorize_with_part_size(struct vfake_fixture *fixture, const char *size)
{
    char answer[600];
    snprintf(answer, sizeof answer,
             "{\"accountId\": \"account-1\", \"authorizationToken\": \"acct-token-1\", "
             "\"apiUrl\": \"https://api.test\", \"downloadUrl\": \"https://f.test\", "
             "\"recommendedPartSize\": %s, \"absoluteMinimumPartSize\": 5, \"allowed\": "
             "{\"capabilities\": [\"listFiles\", \"readFiles\"]}}", size);
    fake_script(fixture->test.http, "b2_authorize_account", 200, "Content-Type: application/json\n",
                answer);
}

/* Without download_part_size, ranges are the account's recommendedPartSize, known before the
 * first request even on a fresh instance. */
static void part_size_from_the_account(void **state)
{
    struct vfake_fixture *fixture = *state;
    authorize_with_part_size(fixture, "6000000");
    size_t size = 7000000;
    char *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)('a' + i % 26);
    vfake_put(&fixture->fake, "seven", data, size);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "seven", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)size);
    assert_string_equal(fixture->fake.log[0].range, "bytes=0-5999999");
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id"), 1); /* after the first */
    close(fd);
    free(data);
}

/* A server's recommendedPartSize of 1 would make a 3,000-byte get 3,000 range requests: the
 * account's size is bounded below by B2's 5 MB part minimum, so it is one request. */
static void a_tiny_recommended_part_size_is_bounded(void **state)
{
    struct vfake_fixture *fixture = *state;
    authorize_with_part_size(fixture, "1");
    char data[3000];
    memset(data, 'x', sizeof data);
    vfake_put(&fixture->fake, "small", data, sizeof data);
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "small", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_int_equal(lseek(fd, 0, SEEK_END), 3000);
    assert_string_equal(fixture->fake.log[0].range, "bytes=0-4999999");
    assert_int_equal(vfake_count(&fixture->fake, "b2_download_file_by_id"), 0);
    close(fd);
}

/* A download that never gets an answer ends in the transport's words and a count that reads
 * right, never "HTTP 0" (there was no HTTP status) or "1 times". */
static void failed_downloads_say_what_happened(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "k", "data", 4);
    fixture->fake.lose_match = "/file/";
    fixture->fake.lose_count = 10;
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "k", NULL, 0, -1, 0, fd, &got, &err), STOR_ETRANSIENT);
    close(fd);
    assert_non_null(strstr(err.message, "k: download failed 2 times; last error: timed out (vfake)"));
    assert_null(strstr(err.message, "HTTP 0"));
}

/* A CDN that ignores Range answers 200 with the whole object: a ranged get into a pipe must
 * not see one byte of it (a pipe cannot be taken back), and fails saying why. */
static void a_whole_answer_to_a_range_never_reaches_a_pipe(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "k", "0123456789", 10);
    fixture->fake.ignore_range = 1;
    int ends[2];
    assert_int_equal(pipe(ends), 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "k", NULL, 2, 3, 0, ends[1], &got, &err), STOR_EIO);
    close(ends[1]);
    char buffer[16];
    assert_int_equal(read(ends[0], buffer, sizeof buffer), 0); /* nothing was written */
    close(ends[0]);
    assert_non_null(strstr(err.message, "without the range asked for"));
}

/* A server that answers another stretch than the range asked (206, its Content-Range saying
 * so, as many bytes) is not believed: in a ranged get, and in the ranges of a large get, where a
 * file without a whole SHA-1 would otherwise be assembled from the wrong bytes. */
static void a_range_answered_from_elsewhere_is_refused(void **state)
{
    struct vfake_fixture *fixture = *state;
    vfake_put(&fixture->fake, "k", "0123456789abcdefghijklmnopqrstuvwxyz", 36);
    fixture->fake.shift_range = 1;
    int fd = fake_file("", 0);
    struct got got = {0};
    struct stor_error err;
    assert_int_equal(get_ex(fixture, "k", NULL, 2, 3, 0, fd, &got, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "asked for bytes from 2, B2 answered bytes 3-5/36"));
    assert_int_equal(get_ex(fixture, "k", NULL, 0, -1, 0, fd, &got, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "not accepted"));
    assert_int_equal(got.calls, 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_by_version_id, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_range, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_range_outside_is_einval, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_resume_appends_and_verifies, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_sha1_mismatch, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_large_file_sha1_and_nothing_to_verify, setup, vfake_teardown),
cmocka_unit_test_setup_teardown(get_into_a_write_only_file, setup_parallel, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_parallel_ranges, setup_parallel, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_small_and_empty, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(get_through_download_url, setup_cdn, vfake_teardown),
        cmocka_unit_test(download_options_are_checked),
        cmocka_unit_test_setup_teardown(a_tiny_recommended_part_size_is_bounded, setup, vfake_teardown),
        cmocka_unit_test_setup_teardown(a_whole_answer_to_a_range_never_reaches_a_pipe, setup_cdn, vfake_teardown),
        cmocka_unit_test_setup_teardown(a_range_answered_from_elsewhere_is_refused, setup_parallel, vfake_teardown),
        cmocka_unit_test_setup_teardown(failed_downloads_say_what_happened, setup_two_tries, vfake_teardown),
        cmocka_unit_test_setup_teardown(part_size_from_the_account, setup, vfake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
