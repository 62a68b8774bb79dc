/* test_s3_get.c — the S3 plugin's get over the scripted seam (s3_fake.c): a large object in
 * parallel ranges pinned by If-Match and verified whole; servers that answer another range, a
 * short body, a changed object, a wrong hash; resume of a partial file, its refusals, and the
 * partial file cut back to the bytes known good after a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "operations.h"
#include "s3_fake.h"

#define SIZE 3000
static char object[SIZE + 1];
static char sha1_hex[41], md5_hex[33];

/* Answers live until the test ends: the fake keeps pointers. */
static char *kept[S3_FAKE_MAX * 2];
static size_t kept_count;

static const char *keep(char *text)
{
    kept[kept_count++] = text;
    return text;
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < SIZE; i++)
        object[i] = (char)('a' + (i * 7) % 26);
    object[SIZE] = '\0';
    unsigned char raw[20];
    s3_hex(raw, s3_digest_of(S3_SHA1, object, SIZE, raw), sha1_hex);
    s3_hex(raw, s3_digest_of(S3_MD5, object, SIZE, raw), md5_hex);
    kept_count = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < kept_count; i++)
        free(kept[i]);
    kept_count = 0;
    return 0;
}

/* A 206 of object bytes first..last as Content-Range says range_first..range_last (a liar says
 * another stretch than it sends), with an ETag and extra header lines. */
static void answer_range(struct s3_fake *fake, int first, int last, int range_first,
                         int range_last, const char *etag, const char *extra)
{
    char *headers = NULL, *body = NULL;
    assert_true(asprintf(&headers, "Content-Range: bytes %d-%d/%d\nETag: %s\n%s", range_first,
                         range_last, SIZE, etag, extra ? extra : "") > 0);
    assert_true(asprintf(&body, "%.*s", last - first + 1, object + first) > 0);
    s3_fake_answer(fake, 206, keep(headers), keep(body));
}

static const char *sha1_header(void)
{
    char *line = NULL;
    assert_true(asprintf(&line, "x-amz-meta-sha1: %s\n", sha1_hex) > 0);
    return keep(line);
}

static int temp_file(void)
{
    char path[] = "/tmp/stor-s3-get.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static int file_is(int fd, const char *data, size_t size)
{
    struct stat st;
    char *back = malloc(size + 1);
    int same = fstat(fd, &st) == 0 && (size_t)st.st_size == size &&
               pread(fd, back, size, 0) == (ssize_t)size && memcmp(back, data, size) == 0;
    free(back);
    return same;
}

static int64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

static char reported_sha1[41];
static int on_result(void *context, const struct stor_object *result)
{
    (void)context;
    snprintf(reported_sha1, sizeof reported_sha1, "%s", result->sha1 ? result->sha1 : "");
    return 0;
}

static char started_id[80];
static int started_calls;
static int on_start(void *context, const struct stor_object *result)
{
    (void)context;
    started_calls++;
    snprintf(started_id, sizeof started_id, "%s", result->id ? result->id : "");
    return 0;
}

static const char *const one_k[] = {"endpoint=http://127.0.0.1:9", "download_part_size=1K",
                                    "transfers=1", "retries=1", NULL};

static enum stor_status get(struct s3_plugin *plugin, int fd, struct stor_error *err)
{
    return s3_get(plugin, "bkt", "k", fd, on_result, NULL, err);
}

static void test_ranges_pinned_and_verified(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    answer_range(fake, 0, 1023, 0, 1023, "\"e1-2\"", sha1_header());
    answer_range(fake, 1024, 2047, 1024, 2047, "\"e1-2\"", sha1_header());
    answer_range(fake, 2048, 2999, 2048, 2999, "\"e1-2\"", sha1_header());
    int fd = temp_file();
    struct stor_error err = {""};
    assert_int_equal(get(plugin, fd, &err), STOR_OK);
    assert_true(file_is(fd, object, SIZE));
    assert_string_equal(reported_sha1, sha1_hex);
    assert_int_equal(fake->seen_count, 3);
    assert_non_null(strstr(fake->seen[0].headers, "Range: bytes=0-1023\n"));
    assert_null(strstr(fake->seen[0].headers, "If-Match"));
    assert_non_null(strstr(fake->seen[1].headers, "Range: bytes=1024-2047\n"));
    assert_non_null(strstr(fake->seen[1].headers, "If-Match: \"e1-2\"\n"));
    assert_non_null(strstr(fake->seen[2].headers, "Range: bytes=2048-2999\n"));
    assert_non_null(strstr(fake->seen[2].headers, "If-Match: \"e1-2\"\n"));
    assert_int_equal(lseek(fd, 0, SEEK_CUR), SIZE);
    close(fd);
    s3_fake_free(plugin, fake);
}

static void test_a_version_is_pinned_by_id(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    const char *version = "x-amz-version-id: V1\n";
    char *extra = NULL;
    assert_true(asprintf(&extra, "%s%s", version, sha1_header()) > 0);
    answer_range(fake, 0, 1023, 0, 1023, "\"e\"", keep(extra));
    answer_range(fake, 1024, 2047, 1024, 2047, "\"e\"", extra);
    answer_range(fake, 2048, 2999, 2048, 2999, "\"e\"", NULL); /* another version: refused */
    int fd = temp_file();
    struct stor_error err = {""};
    assert_int_equal(get(plugin, fd, &err), STOR_ESTALE);
    assert_non_null(strstr(fake->seen[1].url, "versionId=V1"));
    assert_non_null(strstr(fake->seen[2].url, "versionId=V1"));
    assert_non_null(strstr(err.message, "changed while it was being downloaded"));
    close(fd);
    s3_fake_free(plugin, fake);
}

static void hostile_range(int first, int last, int range_first, int range_last, const char *etag,
                          long status, enum stor_status expected, const char *words)
{
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    answer_range(fake, 0, 1023, 0, 1023, "\"e\"", sha1_header());
    if (status == 206)
        answer_range(fake, first, last, range_first, range_last, etag, sha1_header());
    else
        s3_fake_answer(fake, status, NULL, "<Error><Code>PreconditionFailed</Code></Error>");
    int fd = temp_file();
    struct stor_error err = {""};
    assert_int_equal(get(plugin, fd, &err), expected);
    if (!strstr(err.message, words))
        fail_msg("message '%s' lacks '%s'", err.message, words);
    assert_int_equal(fake->seen_count, 2); /* nothing asked after the refusal */
    close(fd);
    s3_fake_free(plugin, fake);
}

static void test_a_lying_server_is_refused(void **state)
{
    (void)state;
    /* another stretch than asked */
    hostile_range(1025, 2048, 1025, 2048, "\"e\"", 206, STOR_EIO,
                  "asked for bytes 1024-2047, S3 answered bytes 1025-2048/3000");
    /* the range asked, but shorter than asked */
    hostile_range(1024, 2000, 1024, 2000, "\"e\"", 206, STOR_EIO, "answered bytes 1024-2000/3000");
    /* the range announced, one byte short of it */
    hostile_range(1024, 2046, 1024, 2047, "\"e\"", 206, STOR_EIO, "S3 sent 1023 bytes");
    /* the range announced, and more bytes after it (into the next range's place) */
    hostile_range(1024, 2100, 1024, 2047, "\"e\"", 206, STOR_EIO, "S3 sent 1077 bytes");
    /* overwritten meanwhile: If-Match fails */
    hostile_range(0, 0, 0, 0, NULL, 412, STOR_ESTALE, "its ETag is no longer \"e\"");
    /* overwritten, and the server ignores If-Match */
    hostile_range(1024, 2047, 1024, 2047, "\"other\"", 206, STOR_ESTALE,
                  "changed while it was being downloaded");
}

static void test_a_wrong_whole_hash_is_refused(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    const char *wrong = "x-amz-meta-sha1: 0123456789012345678901234567890123456789\n";
    answer_range(fake, 0, 1023, 0, 1023, "\"e\"", wrong);
    answer_range(fake, 1024, 2047, 1024, 2047, "\"e\"", wrong);
    answer_range(fake, 2048, 2999, 2048, 2999, "\"e\"", wrong);
    int fd = temp_file();
    struct stor_error err = {""};
    assert_int_equal(get(plugin, fd, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "SHA-1"));
    /* A single-part ETag is the MD5: right, it verifies; wrong, it is refused. */
    char etag[40];
    snprintf(etag, sizeof etag, "\"%s\"", md5_hex);
    answer_range(fake, 0, 1023, 0, 1023, etag, NULL);
    answer_range(fake, 1024, 2047, 1024, 2047, etag, NULL);
    answer_range(fake, 2048, 2999, 2048, 2999, etag, NULL);
    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(get(plugin, fd, &err), STOR_OK);
    assert_true(file_is(fd, object, SIZE));
    const char *bad = "\"00000000000000000000000000000000\"";
    answer_range(fake, 0, 1023, 0, 1023, bad, NULL);
    answer_range(fake, 1024, 2047, 1024, 2047, bad, NULL);
    answer_range(fake, 2048, 2999, 2048, 2999, bad, NULL);
    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(get(plugin, fd, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "MD5"));
    close(fd);
    s3_fake_free(plugin, fake);
}

/* With a SHA-1 kept, that is the proof and the MD5 is not computed (an ETag that is not the MD5
 * does not matter); a kept "SHA-1" that is not 40 hex digits proves nothing, and the MD5 of a
 * single-part ETag is still checked, into a file and into a pipe alike. */
static void test_a_kept_sha1_is_the_proof(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    const char *bad_md5 = "\"00000000000000000000000000000000\"";
    answer_range(fake, 0, 1023, 0, 1023, bad_md5, sha1_header());
    answer_range(fake, 1024, 2047, 1024, 2047, bad_md5, sha1_header());
    answer_range(fake, 2048, 2999, 2048, 2999, bad_md5, sha1_header());
    int fd = temp_file();
    struct stor_error err = {""};
    assert_int_equal(get(plugin, fd, &err), STOR_OK);
    assert_true(file_is(fd, object, SIZE));
    assert_string_equal(reported_sha1, sha1_hex);
    const char *not_hex = "x-amz-meta-sha1: not-a-sha1-at-all-but-forty-characters-long\n";
    answer_range(fake, 0, 1023, 0, 1023, bad_md5, not_hex);
    answer_range(fake, 1024, 2047, 1024, 2047, bad_md5, not_hex);
    answer_range(fake, 2048, 2999, 2048, 2999, bad_md5, not_hex);
    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(get(plugin, fd, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "MD5"));
    close(fd);
    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    char *headers = NULL;
    assert_true(asprintf(&headers, "Content-Length: %d\nETag: %s\n%s", SIZE, bad_md5,
                         not_hex) > 0);
    s3_fake_answer(fake, 200, keep(headers), object);
    assert_int_equal(get(plugin, pipes[1], &err), STOR_EIO);
    assert_non_null(strstr(err.message, "MD5"));
    close(pipes[0]);
    close(pipes[1]);
    s3_fake_free(plugin, fake);
}

static void test_a_range_answered_whole_is_refused(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    s3_fake_answer(fake, 200, "ETag: \"e\"\n", object);
    int fd = temp_file();
    struct stor_error err = {""};
    struct stor_get_options o = {.struct_size = sizeof o, .offset = 10, .length = 5};
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, NULL, NULL, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "HTTP 200 without the range"));
    assert_int_equal(file_size(fd), 0);
    /* The whole-object get takes a server that ignores Range: all of it, verified. */
    char etag[80];
    snprintf(etag, sizeof etag, "ETag: \"%s\"\n", md5_hex);
    s3_fake_answer(fake, 200, etag, object);
    assert_int_equal(get(plugin, fd, &err), STOR_OK);
    assert_true(file_is(fd, object, SIZE));
    /* An empty object has no byte 0: the range is refused, all of it asked again. */
    int empty = temp_file();
    s3_fake_answer(fake, 416, "Content-Range: bytes */0\n",
                   "<Error><Code>InvalidRange</Code></Error>");
    s3_fake_answer(fake, 200, "ETag: \"d41d8cd98f00b204e9800998ecf8427e\"\nContent-Length: 0\n", NULL);
    assert_int_equal(get(plugin, empty, &err), STOR_OK);
    assert_int_equal(file_size(empty), 0);
    assert_null(strstr(fake->seen[fake->seen_count - 1].headers, "Range:"));
    close(empty);
    close(fd);
    s3_fake_free(plugin, fake);
}

static void test_resume(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    /* A fresh get names the object to on_start (its ETag: the bucket keeps no versions). */
    int fd = temp_file();
    answer_range(fake, 0, 1023, 0, 1023, "\"e\"", sha1_header());
    answer_range(fake, 1024, 2047, 1024, 2047, "\"e\"", sha1_header());
    answer_range(fake, 2048, 2999, 2048, 2999, "\"e\"", sha1_header());
    started_calls = 0;
    struct stor_get_options o = {.struct_size = sizeof o, .length = -1, .on_start = on_start};
    struct stor_error err = {""};
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, NULL, NULL, &err), STOR_OK);
    assert_int_equal(started_calls, 1);
    assert_string_equal(started_id, "\"e\"");
    /* 1500 bytes kept: the rest from byte 1499, in ranges, verified whole. */
    assert_int_equal(ftruncate(fd, 1500), 0);
    size_t before = fake->seen_count;
    answer_range(fake, 1499, 2522, 1499, 2522, "\"e\"", sha1_header());
    answer_range(fake, 2523, 2999, 2523, 2999, "\"e\"", sha1_header());
    o = (struct stor_get_options){.struct_size = sizeof o, .offset = 1500, .length = -1,
                                  .resume = 1, .expected_id = "\"e\""};
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, on_result, NULL, &err), STOR_OK);
    assert_true(file_is(fd, object, SIZE));
    assert_string_equal(reported_sha1, sha1_hex);
    assert_non_null(strstr(fake->seen[before].headers, "Range: bytes=1499-2522\n"));
    assert_non_null(strstr(fake->seen[before + 1].headers, "If-Match: \"e\"\n"));
    /* Another object now: nothing written, STOR_ESTALE (the host starts afresh). */
    assert_int_equal(ftruncate(fd, 1500), 0);
    answer_range(fake, 1499, 2522, 1499, 2522, "\"new\"", sha1_header());
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, NULL, NULL, &err), STOR_ESTALE);
    assert_int_equal(file_size(fd), 1500);
    /* Nothing pins it and nothing could prove the result (a multipart ETag, no SHA-1). */
    o.expected_id = NULL;
    answer_range(fake, 1499, 2522, 1499, 2522, "\"abc-2\"", NULL);
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, NULL, NULL, &err), STOR_ESTALE);
    assert_non_null(strstr(err.message, "fetched afresh"));
    assert_int_equal(file_size(fd), 1500);
    /* Shorter now than what is kept. */
    o.expected_id = "\"e\"";
    s3_fake_answer(fake, 416, NULL, "<Error><Code>InvalidRange</Code></Error>");
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, NULL, NULL, &err), STOR_ESTALE);
    assert_int_equal(file_size(fd), 1500);
    close(fd);
    s3_fake_free(plugin, fake);
}

static void test_a_failed_range_leaves_no_hole(void **state)
{
    (void)state;
    struct s3_fake *fake;
    const char *const options[] = {"endpoint=http://127.0.0.1:9", "download_part_size=1K",
                                   "transfers=1", "retries=1", NULL};
    struct s3_plugin *plugin = s3_fake_plugin(&fake, options);
    answer_range(fake, 0, 1023, 0, 1023, "\"e\"", sha1_header());
    answer_range(fake, 1024, 2047, 1024, 2047, "\"e\"", sha1_header());
    s3_fake_answer(fake, 503, NULL, "<Error><Code>SlowDown</Code></Error>");
    int fd = temp_file();
    struct stor_get_options o = {.struct_size = sizeof o, .length = -1, .on_start = on_start};
    struct stor_error err = {""};
    assert_int_equal(s3_get_ex(plugin, "bkt", "k", &o, fd, NULL, NULL, &err), STOR_ETRANSIENT);
    assert_true(file_is(fd, object, 2048)); /* the next get resumes from there */
    close(fd);
    s3_fake_free(plugin, fake);
}

static void test_a_pipe_is_streamed_and_verified(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, one_k);
    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    char *headers = NULL;
    assert_true(asprintf(&headers, "Content-Length: %d\nETag: \"abc-2\"\n%s", SIZE,
                         sha1_header()) > 0);
    s3_fake_answer(fake, 200, keep(headers), object);
    struct stor_error err = {""};
    assert_int_equal(get(plugin, pipes[1], &err), STOR_OK);
    assert_null(strstr(fake->seen[0].headers, "Range:"));
    char back[SIZE];
    assert_int_equal(read(pipes[0], back, SIZE), SIZE);
    assert_memory_equal(back, object, SIZE);
    close(pipes[0]);
    close(pipes[1]);
    s3_fake_free(plugin, fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranges_pinned_and_verified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_version_is_pinned_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_lying_server_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_wrong_whole_hash_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_kept_sha1_is_the_proof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_range_answered_whole_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_range_leaves_no_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_pipe_is_streamed_and_verified, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
