/* test_b2_account.c — B2's account features through `stor --backend=b2` against the B2 test
 * server: object metadata kept on small and large files (stat, rclone, download headers),
 * buckets made, listed and removed, share links fetched by curl without credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b2_cli.h"

static struct b2_cli *fx;

static int setup(void **state)
{
    const char *const args[] = {"--restricted-key",
                                "noshare-id:noshare-secret:test-bucket:listBuckets,listFiles,readFiles,writeFiles",
                                NULL};
    fx = b2_cli_start(args);
    return 0;
}

static int teardown(void **state)
{
    b2_cli_stop(fx);
    return 0;
}

#define stor_b2(...) b2_cli_run(fx, NULL, B2_CLI_ARGS(__VA_ARGS__))
#define stor_b2_as(id, secret, ...)                                                               \
    b2_cli_run(fx, &(struct b2_cli_as){.key_id = id, .key = secret}, B2_CLI_ARGS(__VA_ARGS__))
#define rclone(...) b2_cli_rclone(fx, B2_CLI_ARGS(__VA_ARGS__))

static void expect_failure(struct test_run run, int code, const char *needle)
{
    if (run.status != code || !strstr(run.err, needle) || strncmp(run.err, "stor: ", 6) != 0 ||
        strchr(run.err, '\n') != run.err + strlen(run.err) - 1)
        fail_msg("exit %d (expected %d), stderr \"%s\" should be one line with \"%s\"", run.status,
                 code, run.err, needle);
    test_run_free(&run);
}

/* The JSON object stor printed (one line), parsed; the caller puts it. */
static struct json_object *parsed(const struct test_run *run)
{
    struct json_object *j = json_tokener_parse(run->out);
    if (!j)
        fail_msg("not JSON: %s", run->out);
    return j;
}

static const char *field(struct json_object *j, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    struct json_object *at = j;
    for (char *save, *name = strtok_r(copy, ".", &save); name; name = strtok_r(NULL, ".", &save))
        if (!json_object_object_get_ex(at, name, &at))
            return NULL;
    return json_object_get_string(at);
}

/* curl URL without credentials: its status line and headers (-D -) then the body. */
static struct test_run curl(const char *url)
{
    const char *const argv[] = {"/usr/bin/curl", "-sS", "-D", "-", "--max-time", "30", url, NULL};
    return test_run(argv, NULL, NULL);
}

static void file_with_mtime(const char *path, size_t size, time_t mtime)
{
    char *data = malloc(size);
    assert_non_null(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)(i * 7 + 3);
    test_write_file(path, data, size);
    free(data);
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void check_kept(const char *remote, const char *content_type, int64_t size)
{
    struct test_run run = stor_b2("--json", "stat", remote);
    if (run.status != 0)
        fail_msg("stat %s: %s", remote, run.err);
    struct json_object *j = parsed(&run);
    assert_string_equal(field(j, "contentType"), content_type);
    assert_string_equal(field(j, "cacheControl"), "max-age=60");
    assert_string_equal(field(j, "contentDisposition"), "attachment; filename=\"x.bin\"");
    assert_string_equal(field(j, "metadata.owner"), "me and you");
    assert_string_equal(field(j, "metadata.team"), "ops");
    assert_string_equal(field(j, "mtime"), "1000000000000"); /* the file's, not the upload's */
    assert_int_equal(atoll(field(j, "size")), size);
    assert_non_null(field(j, "sha1"));
    assert_true(atoll(field(j, "uploaded")) > 1000000000000);
    json_object_put(j);
    test_run_free(&run);
}

/* --content-type (or the extension's type), --meta and the headers stay with small and large
 * files alike; stat shows them, and a download serves the headers. */
static void metadata_is_kept_on_small_and_large_files(void **state)
{
    char *small = b2_cli_path(fx, "page.html");
    char *large = b2_cli_path(fx, "big.bin");
    file_with_mtime(small, 1000, 1000000000);
    file_with_mtime(large, 11 * 1000 * 1000, 1000000000);
    expect_ok(stor_b2("put", "--meta", "owner=me and you", "--meta=team=ops",
                      "--cache-control=max-age=60", "--content-disposition=attachment; filename=\"x.bin\"",
                      small, "test-bucket/meta/page.html"));
    check_kept("test-bucket/meta/page.html", "text/html", 1000);
    expect_ok(stor_b2("-o", "upload_cutoff=5MB", "-o", "part_size=5MB", "put",
                      "--content-type=application/x-big", "--meta", "owner=me and you", "--meta=team=ops",
                      "--cache-control=max-age=60", "--content-disposition=attachment; filename=\"x.bin\"",
                      large, "test-bucket/meta/big.bin"));
    check_kept("test-bucket/meta/big.bin", "application/x-big", 11 * 1000 * 1000);

    struct test_run run = stor_b2("stat", "test-bucket/meta/page.html");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "content-type:        text/html\n"));
    assert_non_null(strstr(run.out, "meta owner:          me and you\n"));
    assert_non_null(strstr(run.out, "modified:            2001-09-09T01:46:40Z\n"));
    test_run_free(&run);

    /* Served as headers, to anyone holding a share link. */
    run = stor_b2("share", "--expires=10m", "test-bucket/meta/big.bin");
    assert_int_equal(run.status, 0);
    char url[4096];
    snprintf(url, sizeof url, "%.*s", (int)strcspn(run.out, "\n"), run.out);
    test_run_free(&run);
    run = curl(url);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, " 200"));
    assert_non_null(strcasestr(run.out, "\ncache-control: max-age=60\r\n"));
    assert_non_null(strcasestr(run.out, "\ncontent-disposition: attachment; filename=\"x.bin\"\r\n"));
    assert_non_null(strcasestr(run.out, "\ncontent-type: application/x-big\r\n"));
    test_run_free(&run);

    /* Backblaze's limits are checked before anything is sent: nothing is stored. */
    expect_failure(stor_b2("put", "--meta=a=1", "--meta=b=2", "--meta=c=3", "--meta=d=4", "--meta=e=5",
                           "--meta=f=6", "--meta=g=7", "--meta=h=8", "--meta=i=9", "--meta=j=10",
                           small, "test-bucket/meta/too-many"),
                   2, "10");
    expect_failure(stor_b2("stat", "test-bucket/meta/too-many"), 3, "too-many");
    free(small);
    free(large);
}

/* What stor kept, another client reads: rclone sees the content type and the file's mtime
 * (rclone 1.60's b2 backend shows no file info; test_b2_cli_tool.sh has Backblaze's tool read it). */
static void rclone_reads_the_metadata(void **state)
{
    char *small = b2_cli_path(fx, "notes.txt");
    file_with_mtime(small, 10, 1000000000);
    expect_ok(stor_b2("put", "--content-type=text/x-notes", small, "test-bucket/meta/notes.txt"));
    struct test_run run = rclone("lsjson", "testb2:test-bucket/meta/notes.txt");
    if (run.status != 0)
        fail_msg("rclone lsjson: %s", run.err);
    assert_non_null(strstr(run.out, "\"MimeType\":\"text/x-notes\""));
    assert_non_null(strstr(run.out, "\"ModTime\":\"2001-09-09T01:46:40"));
    test_run_free(&run);
    free(small);
}

/* mb, buckets (and ls without a bucket), rb refusing a bucket with files in it, rb --force. */
static void buckets_are_made_listed_and_removed(void **state)
{
    expect_ok(stor_b2("mb", "made-private"));
    expect_ok(stor_b2("mb", "--public", "made-public"));
    expect_failure(stor_b2("mb", "made-private"), 2, "made-private");
    struct test_run run = stor_b2("buckets");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "private   made-private\n"));
    assert_non_null(strstr(run.out, "public    made-public\n"));
    assert_non_null(strstr(run.out, "private   test-bucket\n"));
    /* in byte order */
    assert_true(strstr(run.out, "made-private") < strstr(run.out, "made-public"));
    assert_true(strstr(run.out, "made-public") < strstr(run.out, "test-bucket"));
    test_run_free(&run);
    run = stor_b2("ls");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "made-public"));
    test_run_free(&run);
    run = rclone("lsd", "testb2:");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, " made-private\n"));
    test_run_free(&run);

    char *local = b2_cli_path(fx, "inside");
    file_with_mtime(local, 100, 1000000000);
    expect_ok(stor_b2("put", local, "b2:made-private/a/b")); /* the backend named in the remote */
    expect_ok(stor_b2("put", local, "made-private/hidden"));
    expect_ok(stor_b2("rm", "made-private/hidden")); /* only a hidden version is left of it */
    expect_failure(stor_b2("rb", "made-private"), 2, "made-private");
    expect_failure(stor_b2("rb", "--force", "made-private"), 2, "without --yes");
    expect_ok(stor_b2("rb", "--force", "--yes", "made-private"));
    expect_ok(stor_b2("rb", "made-public"));
    run = stor_b2("buckets");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.out, "made-"));
    test_run_free(&run);
    expect_failure(stor_b2("rb", "made-private"), 3, "made-private");
    free(local);
}

/* share prints a URL that curl fetches without credentials, for one key or a prefix; the
 * expiry is checked against B2's range first, and a key without shareFiles is told so. */
static void share_links_work_for_anyone_until_they_expire(void **state)
{
    char *local = b2_cli_path(fx, "shared");
    file_with_mtime(local, 5000, 1000000000);
    expect_ok(stor_b2("put", local, "test-bucket/share/one file.bin"));
    expect_ok(stor_b2("put", local, "test-bucket/private/other.bin"));
    struct test_run run = stor_b2("share", "test-bucket/share/one file.bin");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.err, "valid until"));
    char url[4096];
    snprintf(url, sizeof url, "%.*s", (int)strcspn(run.out, "\n"), run.out);
    test_run_free(&run);
    run = curl(url);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, " 200"));
    size_t length;
    char *bytes = test_read_file(local, &length);
    const char *body = strstr(run.out, "\r\n\r\n");
    assert_non_null(body);
    assert_memory_equal(body + 4, bytes, length);
    test_run_free(&run);

    /* A prefix: names below it work, others do not. */
    run = stor_b2("--json", "share", "--expires=1h", "test-bucket/share/");
    assert_int_equal(run.status, 0);
    struct json_object *j = parsed(&run);
    char base[4096], other[4200];
    snprintf(base, sizeof base, "%s", field(j, "url"));
    json_object_put(j);
    test_run_free(&run);
    char *query = strchr(base, '?');
    assert_non_null(query);
    snprintf(url, sizeof url, "%.*sone%%20file.bin%s", (int)(query - base), base, query);
    run = curl(url);
    assert_non_null(strstr(run.out, " 200"));
    test_run_free(&run);
    snprintf(other, sizeof other, "%.*s", (int)(query - base), base);
    char *share_dir = strstr(other, "/share/");
    assert_non_null(share_dir);
    snprintf(share_dir, sizeof other - (size_t)(share_dir - other), "/private/other.bin%s", query);
    run = curl(other);
    assert_null(strstr(run.out, " 200"));
    test_run_free(&run);

    expect_failure(stor_b2("share", "--expires=8d", "test-bucket/share/one file.bin"), 2, "7 days");
    expect_failure(stor_b2_as("noshare-id", "noshare-secret", "share", "test-bucket/share/one file.bin"),
                   4, "shareFiles");

    /* Expired: refused. */
    run = stor_b2("share", "--expires=1s", "test-bucket/share/one file.bin");
    assert_int_equal(run.status, 0);
    snprintf(url, sizeof url, "%.*s", (int)strcspn(run.out, "\n"), run.out);
    test_run_free(&run);
    sleep(2);
    run = curl(url);
    assert_null(strstr(run.out, " 200"));
    assert_non_null(strstr(run.out, " 401"));
    test_run_free(&run);
    free(bytes);
    free(local);
}

/* --sse=b2 on small and large files: stat says so and the bytes come back. */
static void sse_b2_objects_read_back(void **state)
{
    char *small = b2_cli_path(fx, "plain");
    char *large = b2_cli_path(fx, "plain-large");
    file_with_mtime(small, 3000, 1000000000);
    file_with_mtime(large, 11 * 1000 * 1000, 1000000000);
    expect_ok(stor_b2("put", "--sse=b2", small, "test-bucket/sse/small"));
    expect_ok(stor_b2("-o", "upload_cutoff=5MB", "-o", "part_size=5MB", "put", "--sse=b2", large,
                      "test-bucket/sse/large"));
    const char *const names[] = {"test-bucket/sse/small", "test-bucket/sse/large"};
    const char *const locals[] = {small, large};
    for (int i = 0; i < 2; i++) {
        struct test_run run = stor_b2("stat", names[i]);
        assert_int_equal(run.status, 0);
        assert_non_null(strstr(run.out, "encryption:          SSE-B2\n"));
        test_run_free(&run);
        char *back = b2_cli_path(fx, "back");
        expect_ok(stor_b2("get", names[i], back));
        assert_same_file(locals[i], back);
        unlink(back);
        free(back);
    }
    free(small);
    free(large);
}

/* SSE-C: the key comes from a file, is never printed, and a get without it (or with another)
 * fails with one line; with it the bytes (whole, ranged, a large file's parallel ranges) match. */
static void sse_c_needs_its_key(void **state)
{
    char *key_file = b2_cli_path(fx, "sse-c.key"), *other_key = b2_cli_path(fx, "other.key");
    unsigned char key[32], other[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (unsigned char)(0xa0 + i);
        other[i] = (unsigned char)i;
    }
    test_write_file(key_file, key, sizeof key);
    test_write_file(other_key, other, sizeof other);
    assert_int_equal(chmod(key_file, 0600), 0);
    assert_int_equal(chmod(other_key, 0600), 0);
    char key_option[4300], other_option[4300];
    snprintf(key_option, sizeof key_option, "sse_c_key_file=%s", key_file);
    snprintf(other_option, sizeof other_option, "sse_c_key_file=%s", other_key);
    char *large = b2_cli_path(fx, "secret-large");
    file_with_mtime(large, 11 * 1000 * 1000, 1000000000);
    struct test_run run = stor_b2("-vvv", "-o", key_option, "-o", "upload_cutoff=5MB", "-o",
                                  "part_size=5MB", "put", "--sse=c", large, "test-bucket/ssec/large");
    if (run.status != 0)
        fail_msg("put --sse=c: %s", run.err);
    /* base64 of the key's first bytes, and the key as hex: never shown */
    assert_null(strstr(run.err, "oKGio6Slpqeoqaqr"));
    assert_null(strstr(run.err, "a0a1a2a3a4a5a6a7"));
    test_run_free(&run);
    run = stor_b2("-o", key_option, "stat", "test-bucket/ssec/large");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "encryption:          SSE-C\n"));
    test_run_free(&run);

    char *back = b2_cli_path(fx, "secret-back");
    run = stor_b2("get", "test-bucket/ssec/large", back);
    assert_true(run.status != 0);
    assert_non_null(strstr(run.err, "sse_c_key_file"));
    assert_int_equal(strchr(run.err, '\n') - run.err, (long)strlen(run.err) - 1); /* one line */
    test_run_free(&run);
    run = stor_b2("-o", other_option, "get", "test-bucket/ssec/large", back);
    assert_true(run.status != 0);
    assert_int_equal(strchr(run.err, '\n') - run.err, (long)strlen(run.err) - 1);
    test_run_free(&run);
    assert_int_equal(access(back, F_OK), -1); /* nothing written under the name */
    expect_ok(stor_b2("-o", key_option, "-o", "download_part_size=5MB", "get", "test-bucket/ssec/large", back));
    assert_same_file(large, back);
    run = stor_b2("-o", key_option, "get", "--range=100-199", "test-bucket/ssec/large", "-");
    assert_int_equal(run.status, 0);
    size_t length;
    char *bytes = test_read_file(large, &length);
    assert_memory_equal(run.out, bytes + 100, 100);
    test_run_free(&run);
    /* The key file must be the user's alone. */
    assert_int_equal(chmod(key_file, 0644), 0);
    run = stor_b2("-o", key_option, "get", "test-bucket/ssec/large", "-");
    assert_int_equal(run.status, 2);
    test_run_free(&run);
    free(bytes);
    free(back);
    free(large);
    free(key_file);
    free(other_key);
}

/* Object Lock: a bucket that allows it; a version under retention or legal hold cannot be
 * deleted, and stat shows until when; a bucket without lock refuses retention. */
static void object_lock_keeps_versions(void **state)
{
    expect_ok(stor_b2("mb", "--object-lock", "--keep-old-versions=7d", "locked-bucket"));
    struct test_run run = stor_b2("buckets", "-l");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "keep_old_versions=7d"));
    assert_non_null(strstr(run.out, "object_lock=yes"));
    test_run_free(&run);
    /* A setting without a flag of its own goes as -o bucket.KEY=VALUE. */
    expect_ok(stor_b2("-o", "bucket.lifecycle_prefix=logs/", "mb", "--hide-after=3d", "log-bucket"));
    run = stor_b2("buckets", "-l");
    assert_non_null(strstr(run.out, "hide_after=3d"));
    assert_non_null(strstr(run.out, "lifecycle_prefix=logs/"));
    test_run_free(&run);
    /* Rules per prefix: given whole, shown as B2 keeps them, replaced whole, removed. */
    expect_ok(stor_b2("mb", "--lifecycle=hide-after=30d,keep-old-versions=7d,prefix=logs/",
                      "--lifecycle", "cancel-unfinished=2d,prefix=uploads/", "rules-bucket"));
    run = stor_b2("bucket", "rules-bucket");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"fileNamePrefix\":\"logs/\"")); /* no escaped '/' */
    assert_non_null(strstr(run.out, "\"daysFromStartingToCancelingUnfinishedLargeFiles\":2"));
    test_run_free(&run);
    run = stor_b2("bucket", "--lifecycle=keep-old-versions=1d", "rules-bucket");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.out, "uploads"));
    assert_non_null(strstr(run.out, "keep_old_versions=1d"));
    test_run_free(&run);
    run = stor_b2("bucket", "--lifecycle=none", "rules-bucket");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.out, "fileNamePrefix"));
    test_run_free(&run);
    b2_cli_control(fx, "/_test/reset", "{\"counters\": true}");
    expect_failure(stor_b2("mb", "--lifecycle=hide-after=1d,prefix=a/", "--lifecycle=hide-after=2d,prefix=a/b/",
                           "overlap-bucket"), 2, "would both apply");
    expect_failure(stor_b2("mb", "--lifecycle=hide-after=1d", "--keep-old-versions=2d", "mixed-bucket"), 2,
                   "not with --keep-old-versions");
    assert_int_equal(b2_test_server_counter(fx->server, "b2_create_bucket"), 0);
    expect_failure(stor_b2("-o", "bucket.object_lock=yes", "ls", "test-bucket"), 2, "applies to mb and bucket only");
    expect_failure(stor_b2("mb", "--default-sse=rot13", "odd-bucket"), 2, "default_sse");
    char *local = b2_cli_path(fx, "kept");
    file_with_mtime(local, 100, 1000000000);
    expect_ok(stor_b2("put", "--retention=governance:2099-01-01", local, "locked-bucket/kept"));
    run = stor_b2("stat", "locked-bucket/kept");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "retention:           governance until 2099-01-01T00:00:00Z\n"));
    test_run_free(&run);
    run = stor_b2("rm", "--hard", "locked-bucket/kept");
    assert_true(run.status != 0);
    assert_non_null(strstr(run.err, "2099"));
    test_run_free(&run);
    expect_ok(stor_b2("put", "--legal-hold=on", local, "locked-bucket/held"));
    run = stor_b2("stat", "locked-bucket/held");
    assert_non_null(strstr(run.out, "legal-hold:          on\n"));
    test_run_free(&run);
    run = stor_b2("rm", "--hard", "locked-bucket/held");
    assert_true(run.status != 0);
    assert_non_null(strstr(run.err, "legal hold"));
    test_run_free(&run);
    /* Changed afterwards: governance extended, removed only with the bypass; the hold released. */
    run = stor_b2("retention", "locked-bucket/kept", "governance:2100-01-01");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "retention governance until 2100-01-01T00:00:00Z"));
    test_run_free(&run);
    run = stor_b2("retention", "locked-bucket/kept", "none");
    assert_int_equal(run.status, 4);
    test_run_free(&run);
    expect_ok(stor_b2("retention", "--bypass-governance", "locked-bucket/kept", "none"));
    expect_ok(stor_b2("rm", "--hard", "locked-bucket/kept"));
    expect_ok(stor_b2("legal-hold", "locked-bucket/held", "off"));
    expect_ok(stor_b2("rm", "--hard", "locked-bucket/held"));
    expect_ok(stor_b2("put", "--retention=governance:2099-01-01", local, "locked-bucket/bypassed"));
    expect_ok(stor_b2("rm", "--hard", "--bypass-governance", "locked-bucket/bypassed"));
    expect_failure(stor_b2("stat", "locked-bucket/bypassed"), 3, "bypassed");
    /* Compliance only grows. */
    expect_ok(stor_b2("put", "--retention=compliance:2099-01-01", local, "locked-bucket/compliant"));
    run = stor_b2("retention", "--bypass-governance", "locked-bucket/compliant", "compliance:2098-01-01");
    assert_int_equal(run.status, 4);
    test_run_free(&run);
    expect_ok(stor_b2("retention", "locked-bucket/compliant", "compliance:2100-01-01"));

    /* A bucket's settings change; those not given stay. */
    run = stor_b2("bucket", "--keep-old-versions=5d", "test-bucket");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "keep_old_versions=5d"));
    test_run_free(&run);
    run = stor_b2("bucket", "--public", "test-bucket");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "public    test-bucket"));
    assert_non_null(strstr(run.out, "keep_old_versions=5d"));
    test_run_free(&run);
    expect_failure(stor_b2("bucket", "--object-lock", "test-bucket"), 2, "only at creation");
    expect_failure(stor_b2("bucket", "no-such-bucket"), 3, "no-such-bucket");

    run = stor_b2("put", "--retention=governance:1d", local, "test-bucket/not-locked");
    assert_true(run.status != 0);
    test_run_free(&run);
    expect_failure(stor_b2("stat", "test-bucket/not-locked"), 3, "not-locked");
    free(local);
}

/* cp between two backends: b2 to local streams through a pipe, held to the source's SHA-1, so a
 * download that breaks half-way stores nothing; local (no SHA-1) to b2 goes through a file. */
static void cp_between_backends(void **state)
{
    char *big = b2_cli_path(fx, "cross"), *back = b2_cli_path(fx, "cross-back");
    file_with_mtime(big, 3 * 1000 * 1000, 1000000000);
    expect_ok(stor_b2("put", big, "test-bucket/cross/big"));
    expect_ok(stor_b2("cp", "b2:test-bucket/cross/big", "local:mine/big"));
    expect_ok(stor_b2("get", "local:mine/big", back));
    assert_same_file(big, back);
    struct test_run run = stor_b2("stat", "local:mine/big");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "modified:            2001-09-09T01:46:40Z\n")); /* kept */
    test_run_free(&run);
    expect_ok(stor_b2("cp", "local:mine/big", "test-bucket/cross/back")); /* bare: --backend's */
    unlink(back);
    expect_ok(stor_b2("get", "test-bucket/cross/back", back));
    assert_same_file(big, back);

    b2_cli_control(fx, "/_test/drop",
                   "{\"api\": \"b2_download_file_by_name\", \"count\": -1, \"after_bytes\": 100000}");
    run = stor_b2("-o", "retries=2", "cp", "b2:test-bucket/cross/big", "local:mine/broken");
    assert_true(run.status != 0);
    assert_int_equal(strchr(run.err, '\n') - run.err, (long)strlen(run.err) - 1); /* one line */
    test_run_free(&run);
    b2_cli_control(fx, "/_test/reset", "{\"faults\": true}");
    expect_failure(stor_b2("stat", "local:mine/broken"), 3, "broken"); /* nothing stored */
    free(big);
    free(back);
}


/* A profile gives the key by key_command or inline: it wins over the environment's key, is never
 * printed (not even in the -vv trace), and a command that fails is said in one line (exit 4). */
static void profiles_carry_b2_keys(void **state)
{
    char *dir = b2_cli_path(fx, ".config");
    assert_int_equal(mkdir(dir, 0700), 0);
    free(dir);
    dir = b2_cli_path(fx, ".config/stor");
    assert_int_equal(mkdir(dir, 0700), 0);
    char *config = b2_cli_path(fx, ".config/stor/config");
    char text[2048];
    snprintf(text, sizeof text,
             "[cmd]\nbackend = b2\nkey_command = printf '%%s\\n%%s\\n' %s %s\n"
             "[inline]\nbackend = b2\nkey_id = noshare-id\nkey = noshare-secret\n"
             "[failing]\nbackend = b2\nkey_command = exit 3\n"
             "[short]\nbackend = b2\nkey_command = echo only-one-line\n",
             B2_TEST_KEY_ID, B2_TEST_KEY);
    test_write_file(config, text, strlen(text));
    assert_int_equal(chmod(config, 0600), 0);
    char *local = b2_cli_local_file(fx, "profiled", 1000, 7);
    expect_failure(stor_b2_as("wrong-id", "wrong-key", "ls", "test-bucket"), 4, "");
    struct test_run run = stor_b2_as("wrong-id", "wrong-key", "-vv", "put", local, "cmd:test-bucket/profiled");
    if (run.status != 0)
        fail_msg("put through the key_command profile: %s", run.err);
    assert_null(strstr(run.err, B2_TEST_KEY));
    assert_null(strstr(run.out, B2_TEST_KEY));
    test_run_free(&run);
    run = stor_b2_as("wrong-id", "wrong-key", "-vv", "ls", "inline:test-bucket");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "profiled"));
    assert_null(strstr(run.err, "noshare-secret"));
    test_run_free(&run);
    /* Two profiles of one account: a server-side copy is not possible between them (two
     * instances), so the bytes stream through stor, held to the SHA-1. */
    expect_ok(stor_b2("cp", "cmd:test-bucket/profiled", "inline:test-bucket/profiled-copy"));
    char *back = b2_cli_path(fx, "profiled-back");
    expect_ok(stor_b2("get", "test-bucket/profiled-copy", back));
    assert_same_file(local, back);
    free(back);
    expect_failure(stor_b2("ls", "failing:test-bucket"), 4, "profile failing: key_command exited with status 3");
    expect_failure(stor_b2("ls", "short:test-bucket"), 4, "key_command printed one line: two lines expected");
    run = stor_b2("config");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.out, "noshare-secret"));
    assert_non_null(strstr(run.out, "key: key_command"));
    test_run_free(&run);
    free(local);
    free(config);
    free(dir);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(metadata_is_kept_on_small_and_large_files),
        T(rclone_reads_the_metadata),
        T(buckets_are_made_listed_and_removed),
        T(share_links_work_for_anyone_until_they_expire),
        T(sse_b2_objects_read_back),
        T(sse_c_needs_its_key),
        T(object_lock_keeps_versions),
        T(cp_between_backends),
        T(profiles_carry_b2_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
