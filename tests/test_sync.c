/* test_sync.c — `stor sync` and `stor check` through ./stor: a 2,000-file tree against the local
 * backend and the B2 test server, changed and synced again, with the safety rules (--max-delete,
 * empty sources, a failed file deletes nothing, lying listings, links and FIFOs in the target)
 * and interop with rclone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
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
static char root_env[4200];

static int setup(void **state)
{
    fx = b2_cli_start(NULL);
    snprintf(root_env, sizeof root_env, "STOR_LOCAL_ROOT=%s/root", fx->dir);
    return 0;
}

static int teardown(void **state)
{
    b2_cli_stop(fx);
    return 0;
}

/* ./stor on the local backend rooted in the scratch directory. */
static struct test_run local_stor(const char *const *args)
{
    const char *argv[48];
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor"));
    size_t n = 0;
    argv[n++] = binary;
    for (; *args && n < 47; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    const char *env[] = {root_env, fx->env_home, "STOR_PLUGIN_PATH", "XDG_DATA_HOME", NULL};
    return test_run(argv, env, NULL);
}

#define stor_local(...) local_stor(B2_CLI_ARGS(__VA_ARGS__))
#define stor_b2(...) b2_cli_run(fx, NULL, B2_CLI_ARGS(__VA_ARGS__))
#define control(path, body) b2_cli_control(fx, path, body)
#define rclone(...) b2_cli_rclone(fx, B2_CLI_ARGS(__VA_ARGS__))

static void expect_code(struct test_run run, int code, const char *needle)
{
    if (run.status != code || (needle && !strstr(run.err, needle) && !strstr(run.out, needle)))
        fail_msg("exit %d (expected %d), stdout \"%s\" stderr \"%s\" (wanted \"%s\")", run.status,
                 code, run.out, run.err, needle ? needle : "");
    test_run_free(&run);
}

/* The summary line of a sync must contain want. */
static void expect_summary(struct test_run run, const char *want)
{
    if (run.status != 0 || !strstr(run.out, want))
        fail_msg("exit %d, stdout \"%s\" stderr \"%s\" (wanted \"%s\")", run.status, run.out,
                 run.err, want);
    test_run_free(&run);
}

static char *path_in(const char *dir, const char *rel)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
    return p;
}

static void mkdirs(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *p = copy + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(copy, 0700);
            *p = '/';
        }
    mkdir(copy, 0700);
}

static void write_file(const char *dir, const char *rel, const char *text, time_t mtime)
{
    char *p = path_in(dir, rel);
    size_t parent_len = strlen(p);
    while (parent_len > 0 && p[parent_len - 1] != '/')
        parent_len--;
    char *parent = strndup(p, parent_len ? parent_len - 1 : 0);
    mkdirs(parent);
    free(parent);
    test_write_file(p, text, strlen(text));
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
    free(p);
}

/* A tree of 2,000 files in 20 directories, with spaces and UTF-8 in some names. */
static char *make_tree(const char *name)
{
    char *dir = b2_cli_path(fx, name);
    mkdirs(dir);
    for (int d = 0; d < 20; d++)
        for (int f = 0; f < 100; f++) {
            char rel[256], text[64];
            snprintf(rel, sizeof rel, d % 5 == 0 ? "dir %02d/sous-répertoire/f%03d é.txt" : "d%02d/f%03d",
                     d, f);
            snprintf(text, sizeof text, "file %d of dir %d\n", f, d);
            write_file(dir, rel, text, 1600000000 + d * 100 + f);
        }
    return dir;
}

/* Counts regular files below a, asserting each is in b with the same bytes. */
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
        struct stat st;
        assert_int_equal(lstat(pa, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            files += compare_one_way(pa, pb);
        } else if (S_ISREG(st.st_mode)) {
            struct stat other;
            if (lstat(pb, &other) != 0 || !S_ISREG(other.st_mode))
                fail_msg("%s has no counterpart %s", pa, pb);
            assert_same_file(pa, pb);
            files++;
        }
        free(pa);
        free(pb);
    }
    closedir(d);
    return files;
}

/* a and b hold the same files with the same bytes (empty directories aside). */
static void assert_same_tree(const char *a, const char *b)
{
    size_t there = compare_one_way(a, b), back = compare_one_way(b, a);
    assert_int_equal(there, back);
}

static size_t listed(struct test_run run)
{
    if (run.status != 0)
        fail_msg("ls -r: %s", run.err);
    size_t lines = 0;
    for (const char *p = run.out; (p = strchr(p, '\n')); p++)
        lines++;
    test_run_free(&run);
    return lines;
}

/* The changes of the task: added, same size with a new mtime, removed, renamed. */
static void change_tree(const char *src)
{
    write_file(src, "d01/new one", "brand new\n", 1700000000);
    write_file(src, "added/deep/x", "deep\n", 1700000001);
    write_file(src, "d01/f000", "file 9 of dir 9\n", 1700000002); /* same size, new bytes, new mtime */
    char *gone = path_in(src, "d02/f005");
    assert_int_equal(unlink(gone), 0);
    char *from = path_in(src, "d03/f007"), *to = path_in(src, "d03/renamed ü");
    assert_int_equal(rename(from, to), 0);
    free(gone);
    free(from);
    free(to);
}

/* --- the local backend ------------------------------------------------------------------------ */

static void local_tree_synced_changed_and_synced_again(void **state)
{
    char *src = make_tree("tree-local");
    char *stored = b2_cli_path(fx, "root/bk/pre");
    expect_summary(stor_local("sync", src, "bk/pre"), "2000 copied, 0 updated, 0 deleted, 0 unchanged, 0 failed");
    assert_same_tree(src, stored);
    assert_int_equal(listed(stor_local("ls", "-r", "bk/pre")), 2000);
    expect_summary(stor_local("sync", "--delete", src, "bk/pre"),
                   "0 copied, 0 updated, 0 deleted, 2000 unchanged, 0 failed");
    change_tree(src);
    expect_code(stor_local("check", src, "bk/pre"), 1, "missing bk/pre/added/deep/x");
    expect_summary(stor_local("sync", "--delete", src, "bk/pre"),
                   "3 copied, 1 updated, 2 deleted, 1997 unchanged, 0 failed");
    assert_same_tree(src, stored);
    expect_summary(stor_local("check", src, "bk/pre"), "check: 2001 identical, 0 missing, 0 extra, 0 differing");
    expect_summary(stor_local("sync", "--delete", src, "bk/pre"), "0 copied, 0 updated, 0 deleted, 2001 unchanged");
    /* --checksum: the local backend keeps each file's SHA-1 as it stored it. */
    struct test_run run = stor_local("sync", "--checksum", src, "bk/pre");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.err, "SHA-1"));
    assert_non_null(strstr(run.out, "2001 unchanged"));
    test_run_free(&run);
    /* --size-only: a same-size change with a new mtime is not seen. */
    write_file(src, "d04/f000", "file 9 of dir 9\n", 1700000009);
    expect_summary(stor_local("sync", "--size-only", src, "bk/pre"), "0 updated");
    expect_summary(stor_local("sync", src, "bk/pre"), "1 updated");
    free(src);
    free(stored);
}

static void local_remote_to_local_sync(void **state)
{
    char *src = make_tree("tree-down-src");
    expect_summary(stor_local("sync", src, "bk/down"), "2000 copied");
    char *target = b2_cli_path(fx, "tree-down-target");
    expect_summary(stor_local("sync", "bk/down", target), "2000 copied, 0 updated");
    assert_same_tree(src, target);
    expect_summary(stor_local("sync", "bk/down", target), "0 copied, 0 updated, 0 deleted, 2000 unchanged");
    write_file(target, "extra/local only", "x\n", 1700000000);
    change_tree(src);
    expect_summary(stor_local("sync", "--delete", src, "bk/down"), "2 deleted");
    expect_summary(stor_local("sync", "--delete", "bk/down", target), "3 copied, 1 updated, 3 deleted");
    assert_same_tree(src, target);
    expect_summary(stor_local("check", "bk/down", target), "2001 identical, 0 missing, 0 extra, 0 differing");
    free(src);
    free(target);
}

static void local_max_delete_deletes_nothing(void **state)
{
    char *src = b2_cli_path(fx, "few");
    for (int i = 0; i < 5; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "f%d", i);
        write_file(src, rel, "few\n", 1700000000);
    }
    expect_summary(stor_local("sync", src, "bk/few"), "5 copied");
    for (int i = 0; i < 3; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "few/f%d", i);
        char *p = b2_cli_path(fx, rel);
        unlink(p);
        free(p);
    }
    expect_code(stor_local("sync", "--delete", "--max-delete", "2", src, "bk/few"), 7,
                "more than --max-delete=2: nothing deleted");
    assert_int_equal(listed(stor_local("ls", "-r", "bk/few")), 5);
    expect_code(stor_local("sync", "--max-delete=2", src, "bk/few"), 2, "--delete only");
    expect_summary(stor_local("sync", "--delete", "--max-delete=3", src, "bk/few"), "3 deleted");
    assert_int_equal(listed(stor_local("ls", "-r", "bk/few")), 2);
    free(src);
}

static void local_empty_or_missing_source_is_refused(void **state)
{
    char *src = b2_cli_path(fx, "keep");
    write_file(src, "a", "a\n", 1700000000);
    write_file(src, "b", "b\n", 1700000000);
    expect_summary(stor_local("sync", src, "bk/keep"), "2 copied");
    char *empty = b2_cli_path(fx, "empty-dir");
    mkdirs(empty);
    expect_code(stor_local("sync", "--delete", empty, "bk/keep"), 2, "empty source");
    char *missing = b2_cli_path(fx, "not-mounted");
    expect_code(stor_local("sync", "--delete", missing, "bk/keep"), 2, "missing source");
    expect_code(stor_local("sync", "--delete", "--exclude=*", src, "bk/keep"), 2, "--include/--exclude");
    char *target = b2_cli_path(fx, "keep-target");
    mkdirs(target);
    write_file(target, "mine", "mine\n", 1700000000);
    expect_code(stor_local("sync", "--delete", "bk/nothing-here", target), 2, "empty source");
    char *mine = path_in(target, "mine");
    assert_int_equal(access(mine, F_OK), 0);
    assert_int_equal(listed(stor_local("ls", "-r", "bk/keep")), 2);
    expect_summary(stor_local("sync", "--delete", "--allow-empty-source", empty, "bk/keep"), "2 deleted");
    assert_int_equal(listed(stor_local("ls", "-r", "bk/keep")), 0);
    free(src);
    free(empty);
    free(missing);
    free(target);
    free(mine);
}

static void local_dry_run_changes_nothing(void **state)
{
    char *src = b2_cli_path(fx, "dry");
    write_file(src, "same", "same\n", 1700000000);
    write_file(src, "changed", "old\n", 1700000000);
    write_file(src, "gone", "gone\n", 1700000000);
    expect_summary(stor_local("sync", src, "bk/dry"), "3 copied");
    write_file(src, "changed", "new\n", 1700000005);
    write_file(src, "new", "new\n", 1700000000);
    char *gone = path_in(src, "gone");
    unlink(gone);
    struct test_run run = stor_local("sync", "--dry-run", "--delete", src, "bk/dry");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "would copy bk/dry/new\n"));
    assert_non_null(strstr(run.out, "would update bk/dry/changed\n"));
    assert_non_null(strstr(run.out, "would delete bk/dry/gone\n"));
    test_run_free(&run);
    run = stor_local("--json", "sync", "--dry-run", "--delete", src, "bk/dry");
    assert_int_equal(run.status, 0);
    int actions = 0, summaries = 0;
    for (char *line = strtok(run.out, "\n"); line; line = strtok(NULL, "\n")) {
        struct json_object *j = json_tokener_parse(line), *v;
        assert_non_null(j);
        if (json_object_object_get_ex(j, "summary", &v))
            summaries++;
        else if (json_object_object_get_ex(j, "action", &v))
            actions++;
        json_object_put(j);
    }
    assert_int_equal(actions, 3);
    assert_int_equal(summaries, 1);
    test_run_free(&run);
    char *stored = b2_cli_path(fx, "root/bk/dry/changed");
    size_t len;
    char *text = test_read_file(stored, &len);
    assert_string_equal(text, "old\n");
    free(text);
    assert_int_equal(listed(stor_local("ls", "-r", "bk/dry")), 3);
    free(src);
    free(gone);
    free(stored);
}

/* A target where a symbolic link and a FIFO wait under the names sync would write. */
static void local_sync_down_never_writes_through_links_or_fifos(void **state)
{
    char *src = b2_cli_path(fx, "planted-src");
    write_file(src, "sub/secret", "remote bytes\n", 1700000000);
    write_file(src, "pipe", "remote bytes\n", 1700000000);
    write_file(src, "ok", "fine\n", 1700000000);
    expect_summary(stor_local("sync", src, "bk/planted"), "3 copied");
    char *outside = b2_cli_path(fx, "outside");
    mkdirs(outside);
    char *target = b2_cli_path(fx, "planted-target");
    mkdirs(target);
    char *link = path_in(target, "sub"), *fifo = path_in(target, "pipe");
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int reader = open(fifo, O_RDONLY | O_NONBLOCK); /* a writer would not block: it must not write */
    assert_true(reader >= 0);
    write_file(target, "extra", "x\n", 1700000000);
    expect_code(stor_local("sync", "--delete", "bk/planted", target), 7, "nothing deleted");
    char buf[16];
    assert_true(read(reader, buf, sizeof buf) <= 0);
    close(reader);
    char *secret = path_in(outside, "secret");
    assert_int_equal(access(secret, F_OK), -1);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    char *ok = path_in(target, "ok"), *extra = path_in(target, "extra");
    assert_int_equal(access(ok, F_OK), 0);
    assert_int_equal(access(extra, F_OK), 0); /* a failed file: nothing deleted */
    free(src);
    free(outside);
    free(target);
    free(link);
    free(fifo);
    free(secret);
    free(ok);
    free(extra);
}

static void direction_must_be_clear(void **state)
{
    char *a = b2_cli_path(fx, "dir-a"), *b = b2_cli_path(fx, "dir-b");
    mkdirs(a);
    mkdirs(b);
    expect_code(stor_local("sync", a, b), 2, "are local directories");
    /* Remote to remote in one place: never into itself (the listing would grow as it goes). */
    expect_code(stor_local("sync", "bk/x", "bk/x/y"), 2, "overlap");
    expect_code(stor_local("check", "bk/x/y", "bk/x"), 2, "overlap");
    expect_code(stor_local("sync", "bk", "bk/x"), 2, "overlap");
    expect_code(stor_local("sync", "--checksum", "--size-only", a, "bk/x"), 2, "choose one");
    expect_code(stor_local("sync", "--max-delete=x", "--delete", a, "bk/x"), 2, "--max-delete");
    expect_code(stor_local("sync", "-r", a, "bk/x"), 2, "-r does not apply");
    free(a);
    free(b);
}

/* --- the B2 test server ------------------------------------------------------------------------ */

static void fetched_equals(const char *remote, const char *src, const char *name)
{
    char *copy = b2_cli_path(fx, name);
    test_rmtree(copy);
    expect_ok(stor_b2("get", "-r", remote, copy));
    assert_same_tree(src, copy);
    free(copy);
}

static void b2_tree_synced_changed_and_synced_again(void **state)
{
    char *src = make_tree("tree-b2");
    expect_summary(stor_b2("sync", "--transfers=8", src, "test-bucket/tree"), "2000 copied, 0 updated");
    fetched_equals("test-bucket/tree", src, "fetched-1");
    /* Nothing changed: only listings. */
    control("/_test/reset", "{\"counters\": true}");
    expect_summary(stor_b2("sync", "--delete", src, "test-bucket/tree"),
                   "0 copied, 0 updated, 0 deleted, 2000 unchanged, 0 failed");
    long lists = b2_cli_succeeded(fx, "b2_list_file_names");
    assert_true(lists >= 2); /* 2,000 names: more than one page of 1,000 */
    long auth = b2_test_server_counter(fx->server, "b2_authorize_account");
    assert_int_equal(b2_cli_total_requests(fx), lists + (auth > 0 ? auth : 0));
    /* --checksum on B2: every SHA-1 is there, nothing downloaded. */
    control("/_test/reset", "{\"counters\": true}");
    struct test_run run = stor_b2("sync", "--checksum", src, "test-bucket/tree");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "2000 unchanged"));
    assert_null(strstr(run.err, "SHA-1"));
    test_run_free(&run);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_download_file_by_name"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_upload_file"), 0);
    change_tree(src);
    expect_summary(stor_b2("sync", "--delete", src, "test-bucket/tree"),
                   "3 copied, 1 updated, 2 deleted, 1997 unchanged, 0 failed");
    fetched_equals("test-bucket/tree", src, "fetched-2");
    expect_summary(stor_b2("check", src, "test-bucket/tree"), "2001 identical, 0 missing, 0 extra");
    expect_summary(stor_b2("check", "--checksum", src, "test-bucket/tree"), "2001 identical");
    /* rclone agrees, and has nothing to copy. */
    char remote[64];
    snprintf(remote, sizeof remote, "testb2:test-bucket/tree");
    run = rclone("check", src, remote);
    if (run.status != 0)
        fail_msg("rclone check: %s", run.err);
    test_run_free(&run);
    control("/_test/reset", "{\"counters\": true}");
    run = rclone("sync", src, remote);
    if (run.status != 0)
        fail_msg("rclone sync: %s", run.err);
    test_run_free(&run);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_upload_file"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_hide_file"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_delete_file_version"), 0);
    /* Down into a fresh directory, then again: nothing to fetch. */
    char *target = b2_cli_path(fx, "b2-down");
    expect_summary(stor_b2("sync", "test-bucket/tree", target), "2001 copied");
    assert_same_tree(src, target);
    control("/_test/reset", "{\"counters\": true}");
    expect_summary(stor_b2("sync", "--delete", "test-bucket/tree", target), "0 copied, 0 updated, 0 deleted, 2001 unchanged");
    assert_int_equal(b2_test_server_counter(fx->server, "b2_download_file_by_name"), 0);
    free(src);
    free(target);
}

/* One file fails for good: every destination file stays, nothing is deleted. */
static void b2_failed_file_deletes_nothing(void **state)
{
    char *src = b2_cli_path(fx, "fault");
    write_file(src, "a", "aaa\n", 1700000000);
    write_file(src, "b", "bbb\n", 1700000000);
    write_file(src, "c", "ccc\n", 1700000000);
    expect_summary(stor_b2("sync", src, "test-bucket/fault"), "3 copied");
    write_file(src, "a", "new a\n", 1700000100);
    char *b = path_in(src, "b");
    unlink(b);
    control("/_test/fail", "{\"api\": \"b2_upload_file\", \"status\": 400, \"count\": -1}");
    expect_code(stor_b2("sync", "--delete", src, "test-bucket/fault"), 7, "nothing deleted");
    control("/_test/reset", "{\"faults\": true}");
    struct test_run run = stor_b2("get", "test-bucket/fault/b", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "bbb\n");
    test_run_free(&run);
    run = stor_b2("get", "test-bucket/fault/a", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "aaa\n");
    test_run_free(&run);
    expect_summary(stor_b2("sync", "--delete", src, "test-bucket/fault"), "1 updated, 1 deleted");
    free(src);
    free(b);
}

/* A b2_list_file_names answer naming files, then nextFileName null. */
static void lie_listing(const char *first, const char *second)
{
    char body[1200];
#define LIE_ENTRY "{\"action\": \"upload\", \"fileId\": \"4_zlie\", \"fileName\": \"%s\", " \
                  "\"contentLength\": 4, \"contentSha1\": \"0000000000000000000000000000000000000000\", " \
                  "\"contentType\": \"text/plain\", \"fileInfo\": {}, \"uploadTimestamp\": 1700000000000}"
    char one[500], two[500];
    snprintf(one, sizeof one, LIE_ENTRY, first);
    snprintf(two, sizeof two, LIE_ENTRY, second);
    snprintf(body, sizeof body, "{\"files\": [%s, %s], \"nextFileName\": null}", one, two);
    struct json_object *spec = json_object_new_object();
    json_object_object_add(spec, "api", json_object_new_string("b2_list_file_names"));
    json_object_object_add(spec, "count", json_object_new_int(-1));
    json_object_object_add(spec, "body", json_object_new_string(body));
    control("/_test/lie", json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN));
    json_object_put(spec);
}

static void b2_lying_listing_deletes_nothing(void **state)
{
    char *src = b2_cli_path(fx, "liar");
    write_file(src, "k", "kkk\n", 1700000000);
    expect_summary(stor_b2("sync", src, "test-bucket/liar"), "1 copied");
    write_file(src, "z", "zzz\n", 1700000000); /* keeps the source non-empty */
    char *target = b2_cli_path(fx, "liar-target");
    write_file(target, "precious", "mine\n", 1700000000);
    const char *lies[][2] = {{"liar/y", "liar/x"}, {"liar/x", "liar/x"}, {"liar/x", "elsewhere/y"}};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        lie_listing(lies[i][0], lies[i][1]);
        struct test_run run = stor_b2("sync", "--delete", src, "test-bucket/liar");
        if (run.status == 0 || !strstr(run.err, "nothing deleted"))
            fail_msg("lie %zu: exit %d, stderr %s", i, run.status, run.err);
        test_run_free(&run);
        run = stor_b2("sync", "--delete", "test-bucket/liar", target);
        if (run.status == 0 || !strstr(run.err, "nothing deleted"))
            fail_msg("lie %zu down: exit %d, stderr %s", i, run.status, run.err);
        test_run_free(&run);
        run = stor_b2("check", src, "test-bucket/liar");
        assert_int_equal(run.status, 7);
        test_run_free(&run);
        control("/_test/reset", "{\"faults\": true}");
    }
    char *precious = path_in(target, "precious");
    assert_int_equal(access(precious, F_OK), 0);
    struct test_run run = stor_b2("get", "test-bucket/liar/k", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "kkk\n");
    test_run_free(&run);
    free(src);
    free(target);
    free(precious);
}

/* Remote to remote: inside one place server-side (b2_copy_file: nothing downloaded or uploaded),
 * between two backends streamed through stor; a second run only lists; check agrees; --delete
 * hides at the destination; a lying destination listing deletes nothing. */
static void b2_remote_to_remote_sync(void **state)
{
    char *src = b2_cli_path(fx, "r2r");
    for (int i = 0; i < 30; i++) {
        char rel[64], text[64];
        snprintf(rel, sizeof rel, "d%d/f%02d%s", i % 3, i, i % 7 ? "" : " é");
        snprintf(text, sizeof text, "remote file %d\n", i);
        write_file(src, rel, text, 1700000000 + i);
    }
    expect_summary(stor_b2("sync", src, "test-bucket/r2r-src"), "30 copied");
    control("/_test/reset", "{\"counters\": true}");
    expect_summary(stor_b2("sync", "test-bucket/r2r-src", "b2:test-bucket/r2r-dst"),
                   "30 copied, 0 updated, 0 deleted, 0 unchanged, 0 failed");
    assert_int_equal(b2_cli_succeeded(fx, "b2_copy_file"), 30);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_download_file_by_name"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_upload_file"), 0);
    control("/_test/reset", "{\"counters\": true}");
    struct test_run second = stor_b2("sync", "--delete", "test-bucket/r2r-src", "test-bucket/r2r-dst");
    if (!strstr(second.out, "0 copied, 0 updated, 0 deleted, 30 unchanged, 0 failed") ||
        !strstr(second.out, "; backend: requests 2, class_c 2\n"))
        fail_msg("second sync: %s%s", second.out, second.err); /* the calls by class: listings only */
    test_run_free(&second);
    long lists = b2_cli_succeeded(fx, "b2_list_file_names");
    long auth = b2_test_server_counter(fx->server, "b2_authorize_account");
    assert_int_equal(b2_cli_total_requests(fx), lists + (auth > 0 ? auth : 0));
    expect_summary(stor_b2("check", "--checksum", "test-bucket/r2r-src", "test-bucket/r2r-dst"),
                   "30 identical, 0 missing, 0 extra, 0 differing");
    assert_int_equal(b2_test_server_counter(fx->server, "b2_download_file_by_name"), 0);

    /* Between two backends: the modification times go along, so the second run copies nothing. */
    char root[4300];
    snprintf(root, sizeof root, "--option=root=%s/r2r-root", fx->dir);
    expect_summary(stor_b2(root, "sync", "test-bucket/r2r-src", "local:bk/mirror"), "30 copied");
    expect_summary(stor_b2(root, "sync", "test-bucket/r2r-src", "local:bk/mirror"), "30 unchanged");
    char *down = b2_cli_path(fx, "r2r-down");
    expect_summary(stor_b2(root, "sync", "local:bk/mirror", down), "30 copied");
    assert_same_tree(src, down);

    /* A change travels: updated and removed at the source, then along both hops. */
    write_file(src, "d0/f00 é", "changed at the source\n", 1700000500);
    char *gone = path_in(src, "d1/f01");
    assert_int_equal(unlink(gone), 0);
    expect_summary(stor_b2("sync", "--delete", src, "test-bucket/r2r-src"), "0 copied, 1 updated, 1 deleted");
    expect_summary(stor_b2("sync", "--delete", "test-bucket/r2r-src", "test-bucket/r2r-dst"),
                   "0 copied, 1 updated, 1 deleted, 28 unchanged");
    expect_summary(stor_b2(root, "sync", "--delete", "test-bucket/r2r-dst", "local:bk/mirror"),
                   "0 copied, 1 updated, 1 deleted, 28 unchanged");
    expect_summary(stor_b2(root, "check", "local:bk/mirror", "test-bucket/r2r-src"),
                   "29 identical, 0 missing, 0 extra, 0 differing");
    expect_code(stor_b2("check", "test-bucket/r2r-src", "test-bucket/r2r"), 1, "0 identical, 29 missing");

    /* The destination's listing lies (out of order, outside the prefix): refused, nothing deleted
     * there, whatever the source holds. */
    const char *lies[][2] = {{"r2r-dst/zz", "r2r-dst/aa"}, {"r2r-dst/d0/f00 é", "elsewhere/y"}};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        lie_listing(lies[i][0], lies[i][1]);
        struct test_run run = stor_b2(root, "sync", "--delete", "local:bk/mirror", "test-bucket/r2r-dst");
        control("/_test/reset", "{\"faults\": true}");
        /* Out of order is stor's own finding; outside the prefix the plugin's already. */
        if (run.status == 0 || !strstr(run.err, i == 0 ? "not in ascending order after "
                                                         "r2r-dst/zz: refused, nothing deleted"
                                                       : "nothing deleted"))
            fail_msg("lie %zu: exit %d, stderr %s", i, run.status, run.err);
        test_run_free(&run);
    }
    expect_summary(stor_b2(root, "check", "local:bk/mirror", "test-bucket/r2r-dst"),
                   "29 identical, 0 missing, 0 extra, 0 differing");
    free(src);
    free(down);
    free(gone);
}

/* cp into B2 from another place streams without a temporary file (TMPDIR unusable): 3 MiB in one
 * upload, 20 MiB (beyond memory) in parts; a source that fails after its last byte, or lies about
 * its size, leaves B2's previous object the current one, and no upload finished. */
static void b2_copy_from_a_lying_source_keeps_the_previous_object(void **state)
{
    char plugins[4200];
    snprintf(plugins, sizeof plugins, "--plugin-dir=%s", test_build_path("tests/fixtures/hostile/.libs"));
    char *previous = b2_cli_local_file(fx, "previous", 1000, 7);
    expect_ok(stor_b2("put", previous, "test-bucket/copied/small"));
    expect_ok(stor_b2("put", previous, "test-bucket/copied/big"));
    const char *tmpdir = getenv("TMPDIR");
    char *saved = tmpdir ? strdup(tmpdir) : NULL;
    setenv("TMPDIR", "/nonexistent/stor-test", 1);
    control("/_test/reset", "{\"counters\": true}");
    struct test_run lies[] = {
        stor_b2(plugins, "cp", "liar:failend/small", "test-bucket/copied/small"),
        stor_b2(plugins, "cp", "liar:short/small", "test-bucket/copied/small"),
        stor_b2(plugins, "cp", "liar:failend/big", "test-bucket/copied/big"),
        stor_b2(plugins, "cp", "liar:long/big", "test-bucket/copied/big"),
    };
    long uploads = b2_cli_succeeded(fx, "b2_upload_file"), finished = b2_cli_succeeded(fx, "b2_finish_large_file");
    /* B2 refusing mid-way: its error is reported, the source's ranged gets end, nothing else. */
    control("/_test/fail", "{\"api\": \"b2_upload_part\", \"status\": 400, \"count\": -1}");
    struct test_run refused = stor_b2(plugins, "cp", "liar:honest/big", "test-bucket/copied/big");
    control("/_test/reset", "{\"faults\": true}");
    struct test_run small = stor_b2(plugins, "cp", "liar:honest/small", "test-bucket/honest/small");
    struct test_run big = stor_b2(plugins, "cp", "liar:honest/big", "test-bucket/honest/big");
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    static const char *const said[] = {"after the last byte", "fewer", "after the last byte", "more"};
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        if (lies[i].status != 1 || !strstr(lies[i].err, said[i]))
            fail_msg("lie %zu: exit %d, stderr %s", i, lies[i].status, lies[i].err);
        test_run_free(&lies[i]);
    }
    assert_int_equal(uploads, 0);
    assert_int_equal(finished, 0);
    if (refused.status != 2 || !strstr(refused.err, "b2_upload_part: B2 rejected the request"))
        fail_msg("B2 refusing the parts: exit %d, stderr %s", refused.status, refused.err);
    test_run_free(&refused);
    char *back = b2_cli_path(fx, "back");
    const char *const keys[] = {"test-bucket/copied/small", "test-bucket/copied/big"};
    for (int i = 0; i < 2; i++) {
        expect_ok(stor_b2("get", keys[i], back));
        assert_same_file(back, previous);
    }
    if (small.status != 0 || big.status != 0)
        fail_msg("honest copies: exit %d (%s), %d (%s)", small.status, small.err, big.status, big.err);
    test_run_free(&small);
    test_run_free(&big);
    struct test_run stat = stor_b2("stat", "test-bucket/honest/big");
    assert_int_equal(stat.status, 0);
    assert_non_null(strstr(stat.out, "20971520"));
    assert_non_null(strstr(stat.out, "2023-11-14T22:13:20")); /* the source's mtime came along */
    test_run_free(&stat);
    free(back);
    free(previous);
}

/* A listing that names files with dot segments: sync down and sync into another backend refuse
 * each such name (exit 7) and write nothing outside the target. */
static void b2_hostile_names_stay_inside_the_target(void **state)
{
    char *parent = b2_cli_path(fx, "hostile-parent");
    char *target = path_in(parent, "target");
    mkdirs(target);
    lie_listing("hostile/../escape", "hostile/x/../../../b");
    struct test_run run = stor_b2("sync", "test-bucket/hostile", target);
    char root[4300];
    snprintf(root, sizeof root, "--option=root=%s/hostile-root", fx->dir);
    struct test_run across = stor_b2(root, "sync", "test-bucket/hostile", "local:bk/h");
    control("/_test/reset", "{\"faults\": true}");
    if (run.status != 7 || !strstr(run.err, "would escape"))
        fail_msg("sync down: exit %d, stderr %s", run.status, run.err);
    if (across.status != 7 || !strstr(across.err, "'..' segment"))
        fail_msg("sync across: exit %d, stderr %s", across.status, across.err);
    test_run_free(&run);
    test_run_free(&across);
    const char *outside[] = {"escape", "b", "../b", "../escape", "target/escape"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        char *p = path_in(parent, outside[i]);
        if (access(p, F_OK) == 0)
            fail_msg("%s was written", p);
        free(p);
    }
    char *escaped = b2_cli_path(fx, "hostile-root/escape");
    assert_int_not_equal(access(escaped, F_OK), 0);
    free(escaped);
    free(parent);
    free(target);
}

/* The reverse of rclone agreeing with stor: a tree rclone synced is unchanged to stor sync (same
 * src_last_modified_millis), check finds it identical by time and by SHA-1. */
static void b2_tree_synced_by_rclone_is_unchanged_to_stor(void **state)
{
    char *src = b2_cli_path(fx, "by-rclone");
    for (int i = 0; i < 40; i++) {
        char rel[64], text[64];
        snprintf(rel, sizeof rel, "r%d/file %02d%s", i % 4, i, i % 9 ? "" : " ü");
        snprintf(text, sizeof text, "rclone wrote file %d\n", i);
        write_file(src, rel, text, 1650000000 + i * 7);
    }
    struct test_run run = rclone("sync", src, "testb2:test-bucket/by-rclone");
    if (run.status != 0)
        fail_msg("rclone sync: %s", run.err);
    test_run_free(&run);
    control("/_test/reset", "{\"counters\": true}");
    expect_summary(stor_b2("sync", "--delete", src, "test-bucket/by-rclone"),
                   "0 copied, 0 updated, 0 deleted, 40 unchanged, 0 failed");
    assert_int_equal(b2_test_server_counter(fx->server, "b2_upload_file"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_hide_file"), 0);
    expect_summary(stor_b2("check", src, "test-bucket/by-rclone"), "40 identical, 0 missing, 0 extra, 0 differing");
    expect_summary(stor_b2("check", "--checksum", src, "test-bucket/by-rclone"), "40 identical");
    char *down = b2_cli_path(fx, "by-rclone-down");
    expect_summary(stor_b2("sync", "test-bucket/by-rclone", down), "40 copied");
    assert_same_tree(src, down);
    free(src);
    free(down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(direction_must_be_clear),
        cmocka_unit_test(local_tree_synced_changed_and_synced_again),
        cmocka_unit_test(local_remote_to_local_sync),
        cmocka_unit_test(local_max_delete_deletes_nothing),
        cmocka_unit_test(local_empty_or_missing_source_is_refused),
        cmocka_unit_test(local_dry_run_changes_nothing),
        cmocka_unit_test(local_sync_down_never_writes_through_links_or_fifos),
        cmocka_unit_test(b2_tree_synced_changed_and_synced_again),
        cmocka_unit_test(b2_tree_synced_by_rclone_is_unchanged_to_stor),
        cmocka_unit_test(b2_remote_to_remote_sync),
        cmocka_unit_test(b2_hostile_names_stay_inside_the_target),
        cmocka_unit_test(b2_copy_from_a_lying_source_keeps_the_previous_object),
        cmocka_unit_test(b2_failed_file_deletes_nothing),
        cmocka_unit_test(b2_lying_listing_deletes_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
