/* test_sync_b2_s3.c — `stor sync` and `stor check` between the b2 and s3 backends (issue 19): a
 * tree of a few hundred files with hostile-but-legal names, nested directories and multipart-sized
 * files goes local → b2: → s3: → local through two profiles, one B2 and one S3 test server; each
 * hop is checked, a second sync of each hop only lists (both servers' counters), --delete carries
 * removals along, and modification times and SHA-1s survive so nothing is sent twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b2_cli.h"
#include "s3_cli.h"

static struct b2_cli *b2;
static struct s3_cli *s3;
static char config_env[4300];

enum { FILES = 320, LARGE_FILES = 2, LARGE_SIZE = 11 * 1024 * 1024 + 4321 };

/* Names a filesystem, B2 and S3 all take, and that trip naive encoders: URL syntax, quotes,
 * shell and glob characters, dots that are not dot segments, several scripts, long ones. */
static const char *const hostile[] = {
    "a b", " leading space", "trailing space ", "100%", "%41", "x+y", "q?x=1&y=2", "h#1",
    "semi;colon", "[brackets]", "{curly}", "'single'", "\"double\"", "back\\slash", "~tilde",
    "-dash", ".hidden", "..dots", "...", "trailing.", "star*", "pipe|", "<angle>", "colon:",
    "emoji \xF0\x9F\x98\x80", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "\xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9",
    "Case", "case", "=", "@at", "$dollar", "!bang", "`tick`", "comma,",
};
#define HOSTILE (sizeof hostile / sizeof hostile[0])

static char *path_in(const char *dir, const char *rel)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
    return p;
}

static void mkdirs(const char *path)
{
    char *copy = strdup(path);
    for (char *slash = copy + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        mkdir(copy, 0700);
        *slash = '/';
    }
    mkdir(copy, 0700);
    free(copy);
}

static void write_file(const char *dir, const char *rel, const char *data, size_t size, time_t mtime)
{
    char *p = path_in(dir, rel);
    size_t parent_length = strlen(p);
    while (p[parent_length - 1] != '/')
        parent_length--;
    char *parent = strndup(p, parent_length - 1);
    mkdirs(parent);
    free(parent);
    test_write_file(p, data, size);
    struct timespec times[2] = {{mtime, 0}, {mtime, 123000000}};
    assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
    free(p);
}

/* The i-th file's name: hostile names at several depths (down to ten levels), plain ones. */
static void name_of(int i, char *rel, size_t size)
{
    const char *name = hostile[i % HOSTILE];
    switch (i % 4) {
    case 0: snprintf(rel, size, "%s %d", name, i); break;
    case 1: snprintf(rel, size, "%s/f%03d", name, i); break;
    case 2: snprintf(rel, size, "d1/d2/d3/d4/d5/d6/d7/d8/d9/%s/%s.%d", name, name, i); break;
    default: snprintf(rel, size, "long-%0200d/%s", i, name); break;
    }
}

static char *make_tree(void)
{
    char *dir = path_in(b2->dir, "src");
    mkdirs(dir);
    for (int i = 0; i < FILES; i++) {
        char rel[600], text[700]; /* room for every name: the length written is the text's */
        name_of(i, rel, sizeof rel);
        int length = snprintf(text, sizeof text, "file %d: %s\n", i, rel);
        assert_true(length > 0 && length < (int)sizeof text);
        write_file(dir, rel, text, (size_t)length, 1600000000 + i * 37);
    }
    char *data = malloc(LARGE_SIZE);
    assert_non_null(data);
    for (int f = 0; f < LARGE_FILES; f++) {
        for (size_t i = 0; i < LARGE_SIZE; i++)
            data[i] = (char)((i * 2654435761u + (unsigned)f) >> 13);
        char rel[64];
        snprintf(rel, sizeof rel, "large/part sized %d.bin", f);
        write_file(dir, rel, data, LARGE_SIZE, 1650000000 + f);
    }
    free(data);
    return dir;
}

/* ./stor ARGS... with both profiles: b2t (the B2 server) and s3t (the S3 server). */
static struct test_run stor(const char *first, ...)
{
    char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor"));
    const char *argv[40] = {binary};
    int n = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 39; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    const char *env[] = {config_env, b2->env_home, b2->env_cache,
                         "AWS_ACCESS_KEY_ID=" S3_HARNESS_ACCESS_KEY,
                         "AWS_SECRET_ACCESS_KEY=" S3_HARNESS_SECRET_KEY, "AWS_REGION=" S3_HARNESS_REGION,
                         "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                         "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "B2_APPLICATION_KEY_ID",
                         "B2_APPLICATION_KEY", "STOR_B2_ENDPOINT", "STOR_S3_ENDPOINT", "STOR_PLUGIN_PATH",
                         "XDG_CACHE_HOME", "XDG_CONFIG_HOME", NULL};
    return test_run(argv, env, NULL);
}

static void expect_summary(struct test_run run, const char *want)
{
    if (run.status != 0 || !strstr(run.out, want))
        fail_msg("exit %d, stdout \"%s\" stderr \"%s\" (wanted \"%s\")", run.status, run.out, run.err, want);
    test_run_free(&run);
}

static void reset_counters(void)
{
    b2_cli_control(b2, "/_test/reset", "{\"counters\": true}");
    s3_cli_control(s3, "reset");
}

/* Since the last reset the B2 server saw listings (and an authorization) only: objects / 1000 + 1
 * pages at most, or, when the hop does not touch B2 (objects 0), nothing. */
static void b2_only_listed(const char *hop, long objects)
{
    long total = b2_cli_total_requests(b2);
    long lists = b2_test_server_counter(b2->server, "b2_list_file_names");
    long auth = b2_test_server_counter(b2->server, "b2_authorize_account");
    if (objects == 0 ? total != 0 : (total != lists + auth || auth > 1 || lists < 1 || lists > objects / 1000 + 1))
        fail_msg("%s: B2 saw %ld requests, %ld of them listings, %ld authorizations", hop, total, lists, auth);
}

/* Since the last reset the S3 server saw listings only: ListObjectsV2 pages and the HeadObject of
 * each listed object that S3 listings need for the modification time and SHA-1 stor keeps in
 * metadata (plugins/s3/README.md, list_metadata); nothing when the hop does not touch S3. */
static void s3_only_listed(const char *hop, long objects)
{
    long total = s3_cli_total_requests(s3);
    long pages = s3_test_server_counter(s3->server, "ListObjectsV2", "calls");
    long heads = s3_test_server_counter(s3->server, "HeadObject", "calls");
    if (objects == 0 ? total != 0 : (total != pages + heads || pages < 1 || pages > objects / 1000 + 1 || heads > objects))
        fail_msg("%s: S3 saw %ld requests: %ld ListObjectsV2, %ld HeadObject (%ld objects)", hop, total,
                 pages, heads, objects);
}

/* Counts regular files below a, asserting each is in b with the same bytes and mtime. */
static size_t compare_one_way(const char *a, const char *b)
{
    DIR *d = opendir(a);
    assert_non_null(d);
    size_t files = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *pa = path_in(a, de->d_name), *pb = path_in(b, de->d_name);
        struct stat st, other;
        assert_int_equal(lstat(pa, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            files += compare_one_way(pa, pb);
        } else {
            assert_true(S_ISREG(st.st_mode));
            if (lstat(pb, &other) != 0 || !S_ISREG(other.st_mode))
                fail_msg("%s has no counterpart %s", pa, pb);
            assert_same_file(pa, pb);
            /* Millisecond times travel (B2's src_last_modified_millis, S3's x-amz-meta-mtime). */
            long long ms_a = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
            long long ms_b = (long long)other.st_mtim.tv_sec * 1000 + other.st_mtim.tv_nsec / 1000000;
            if (ms_a != ms_b)
                fail_msg("%s: mtime %lld ms, but %lld ms at %s", pa, ms_a, ms_b, pb);
            files++;
        }
        free(pa);
        free(pb);
    }
    closedir(d);
    return files;
}

static void assert_same_tree(const char *a, const char *b)
{
    size_t there = compare_one_way(a, b), back = compare_one_way(b, a);
    assert_int_equal(there, back);
}

static void remove_file(const char *dir, const char *rel)
{
    char *p = path_in(dir, rel);
    assert_int_equal(unlink(p), 0);
    free(p);
}

static void local_b2_s3_local(void **state)
{
    (void)state;
    char *src = make_tree(), *dst = path_in(b2->dir, "dst");
    const long total = FILES + LARGE_FILES;
    char copied[64], identical[96], unchanged[96];
    snprintf(copied, sizeof copied, "%ld copied, 0 updated, 0 deleted, 0 unchanged, 0 failed", total);
    snprintf(identical, sizeof identical, "%ld identical, 0 missing, 0 extra, 0 differing", total);
    snprintf(unchanged, sizeof unchanged, "0 copied, 0 updated, 0 deleted, %ld unchanged, 0 failed", total);
    const char *hops[3][2] = {{src, "b2t:test-bucket/tree"},
                              {"b2t:test-bucket/tree", "s3t:test-bucket/tree"},
                              {"s3t:test-bucket/tree", dst}};

    /* Each hop copies everything once, and check agrees with it. */
    for (int h = 0; h < 3; h++) {
        reset_counters();
        expect_summary(stor("sync", "--transfers=4", hops[h][0], hops[h][1], NULL), copied);
        /* The large files went up in parts on both services. */
        if (h == 0)
            assert_int_equal(b2_cli_succeeded(b2, "b2_finish_large_file"), LARGE_FILES);
        if (h == 1)
            assert_int_equal(s3_cli_succeeded(s3, "CompleteMultipartUpload"), LARGE_FILES);
        expect_summary(stor("check", hops[h][0], hops[h][1], NULL), identical);
    }
    assert_same_tree(src, dst);
    /* The SHA-1s came along: compared without downloading anything on either side. */
    reset_counters();
    expect_summary(stor("check", "--checksum", "b2t:test-bucket/tree", "s3t:test-bucket/tree", NULL), identical);
    assert_int_equal(b2_test_server_counter(b2->server, "b2_download_file_by_name"), 0);
    assert_int_equal(s3_test_server_counter(s3->server, "GetObject", "calls"), 0);
    expect_summary(stor("check", "--checksum", src, "s3t:test-bucket/tree", NULL), identical);

    /* A second sync of each hop only lists: modification times compare equal. */
    for (int h = 0; h < 3; h++) {
        reset_counters();
        expect_summary(stor("sync", hops[h][0], hops[h][1], NULL), unchanged);
        char hop[32];
        snprintf(hop, sizeof hop, "second sync, hop %d", h + 1);
        b2_only_listed(hop, h == 2 ? 0 : total);
        s3_only_listed(hop, h == 0 ? 0 : total);
    }

    /* Removals and a change at the source travel along every hop with --delete. */
    char rel[600];
    name_of(5, rel, sizeof rel);
    remove_file(src, rel);
    name_of(10, rel, sizeof rel);
    remove_file(src, rel);
    remove_file(src, "large/part sized 1.bin");
    name_of(7, rel, sizeof rel);
    write_file(src, rel, "changed at the source\n", 22, 1700000000);
    char after[96], after_check[96];
    snprintf(after, sizeof after, "0 copied, 1 updated, 3 deleted, %ld unchanged, 0 failed", total - 4);
    snprintf(after_check, sizeof after_check, "%ld identical, 0 missing, 0 extra, 0 differing", total - 3);
    for (int h = 0; h < 3; h++) {
        expect_summary(stor("sync", "--delete", hops[h][0], hops[h][1], NULL), after);
        expect_summary(stor("check", hops[h][0], hops[h][1], NULL), after_check);
    }
    assert_same_tree(src, dst);
    expect_summary(stor("check", "--checksum", "b2t:test-bucket/tree", "s3t:test-bucket/tree", NULL), after_check);
    free(src);
    free(dst);
}

static int setup(void **state)
{
    (void)state;
    b2 = b2_cli_start(NULL);
    s3 = s3_cli_start(NULL);
    char *config = path_in(b2->dir, "config");
    char text[1024];
    int length = snprintf(text, sizeof text,
                          "[b2t]\nbackend = b2\nendpoint = %s\nkey_id = %s\nkey = %s\n"
                          "upload_cutoff = 5MiB\npart_size = 5MiB\n\n"
                          "[s3t]\nbackend = s3\nendpoint = %s\nupload_cutoff = 5MiB\npart_size = 5MiB\n",
                          b2_test_server_url(b2->server), B2_TEST_KEY_ID, B2_TEST_KEY,
                          s3_test_server_url(s3->server));
    int fd = open(config, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, (size_t)length), length);
    close(fd);
    snprintf(config_env, sizeof config_env, "STOR_CONFIG=%s", config);
    free(config);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    s3_cli_stop(s3);
    b2_cli_stop(b2);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_b2_s3_local),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
