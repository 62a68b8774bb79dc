/* test_host_files.c — the host's promises about local files against a hostile file system: what
 * get does to destinations that are links, FIFOs or devices, partial files it did not make, and
 * names that are stor's own; what put -r does with links and special files. Local backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "test_util.h"

static char *dir;                 /* scratch: HOME, the local root and local files */
static char root_env[4200], home_env[4200];

static int setup(void **state)
{
    dir = test_mkdtemp();
    snprintf(root_env, sizeof root_env, "STOR_LOCAL_ROOT=%s/root", dir);
    snprintf(home_env, sizeof home_env, "HOME=%s", dir);
    return 0;
}

static int teardown(void **state)
{
    test_rmtree(dir);
    free(dir);
    return 0;
}

static struct test_run run_stor(const char *const *args)
{
    const char *argv[32];
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor"));
    int n = 0;
    argv[n++] = binary;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    const char *env[] = {root_env, home_env, "STOR_PLUGIN_PATH", "XDG_DATA_HOME", NULL};
    return test_run(argv, env, NULL);
}
#define stor(...) run_stor((const char *const[]){__VA_ARGS__, NULL})

static char *path_of(const char *name)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static char *file_with(const char *name, const char *content)
{
    char *path = path_of(name);
    test_write_file(path, content, strlen(content));
    return path;
}

static void expect_status(struct test_run run, int code, const char *needle)
{
    if (run.status != code || (needle && !strstr(run.err, needle)))
        fail_msg("exit %d (expected %d), stderr: %s", run.status, code, run.err);
    if (code != 0 && (strncmp(run.err, "stor: ", 6) != 0 ||
                      strchr(run.err, '\n') != run.err + strlen(run.err) - 1))
        fail_msg("stderr is not one 'stor:' line: %s", run.err);
    test_run_free(&run);
}

static void assert_content(const char *path, const char *content)
{
    char *data = test_read_file(path, NULL);
    if (!data || strcmp(data, content) != 0)
        fail_msg("%s holds \"%s\", expected \"%s\"", path, data ? data : "(nothing)", content);
    free(data);
}

static void store(const char *key, const char *content)
{
    char *local = file_with("upload", content);
    expect_status(stor("put", local, key), 0, NULL);
    unlink(local);
    free(local);
}

/* A symlink as the destination is refused: neither replaced nor written through. */
static void get_refuses_a_symlink_destination(void **state)
{
    store("b/k", "object");
    char *victim = file_with("victim", "precious"), *link = path_of("dest");
    assert_int_equal(symlink(victim, link), 0);
    expect_status(stor("get", "b/k", link), 2, "symbolic link");
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_content(victim, "precious");
    assert_int_equal(test_count_names(dir, ".stor-partial"), 0);
    free(victim);
    free(link);
}

/* A FIFO as the destination is written into, and stays a FIFO. */
static void get_writes_into_a_fifo(void **state)
{
    store("b/k", "through the pipe");
    char *fifo = path_of("fifo"), *copy = path_of("copy");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* The reader is another program (exec'd at once: under valgrind a forked copy of this
     * test would report the test's own heap as lost when it exits). */
    pid_t reader = fork();
    if (reader == 0) {
        alarm(30);
        execl("/bin/sh", "sh", "-c", "exec cat \"$0\" >\"$1\"", fifo, copy, (char *)NULL);
        _exit(127);
    }
    expect_status(stor("get", "b/k", fifo), 0, NULL);
    int status;
    assert_int_equal(waitpid(reader, &status, 0), reader);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_content(copy, "through the pipe");
    assert_int_equal(test_count_names(dir, ".stor-partial"), 0);
    free(fifo);
    free(copy);
}

/* A device as the destination (a null device of our own, as /dev/null is) is written into, never
 * replaced by a regular file. Needs root for mknod; otherwise a FIFO stands in above. */
static void get_writes_into_a_device(void **state)
{
    char *null = path_of("null");
    if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        free(null);
        return; /* not root: get_writes_into_a_fifo covers the special-file path */
    }
    store("b/k", "into the void");
    expect_status(stor("get", "b/k", null), 0, NULL);
    struct stat st;
    assert_int_equal(lstat(null, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(test_count_names(dir, ".stor-partial"), 0);
    free(null);
}

/* A symlink planted where the partial file goes is never followed: its target keeps its bytes and
 * mode, and the download still lands. */
static void a_planted_partial_symlink_is_not_followed(void **state)
{
    store("b/k", "object bytes");
    char *victim = file_with("victim", "another user's file"), *partial = path_of(".out.stor-partial");
    chmod(victim, 0600);
    assert_int_equal(symlink(victim, partial), 0);
    char *out = path_of("out");
    expect_status(stor("get", "b/k", out), 0, NULL);
    assert_content(out, "object bytes");
    assert_content(victim, "another user's file");
    struct stat st;
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(lstat(partial, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* left as it was */
    free(victim);
    free(partial);
    free(out);
}

/* A user's own file that happens to have the partial file's name is neither taken for a partial
 * download nor deleted. */
static void a_users_file_with_the_partial_name_is_kept(void **state)
{
    store("b/k", "object bytes");
    char *mine = file_with(".out.stor-partial", "my notes"), *out = path_of("out");
    expect_status(stor("get", "b/k", out), 0, NULL);
    assert_content(out, "object bytes");
    assert_content(mine, "my notes");
    /* A failing get does not remove it either. */
    expect_status(stor("get", "b/missing", out), 3, NULL);
    assert_content(mine, "my notes");
    free(mine);
    free(out);
}

/* An object named like x's partial file beside x: get -r refuses it and x gets its own bytes. */
static void get_r_refuses_objects_named_like_partial_files(void **state)
{
    store("b/d/x", "the real x");
    store("b/d/.x.stor-partial", "an impostor");
    char *out = path_of("out");
    struct test_run run = stor("get", "-r", "b/d", out);
    if (run.status != 7 || !strstr(run.err, "partial"))
        fail_msg("exit %d, stderr %s", run.status, run.err);
    test_run_free(&run);
    char *x = path_of("out/x");
    assert_content(x, "the real x");
    assert_int_equal(test_count_names(out, ".stor-partial"), 0);
    free(x);
    free(out);
}

static char *tree_dir(const char *name)
{
    char *path = path_of(name);
    assert_int_equal(mkdir(path, 0777), 0);
    return path;
}

static char *in(const char *dir_path, const char *name)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir_path, name) > 0);
    return path;
}

/* Whether the local backend holds bucket/key (stor get to standard output). */
static int stored(const char *key)
{
    struct test_run run = stor("get", key, "-");
    int found = run.status == 0;
    test_run_free(&run);
    return found;
}

/* put -r leaves symbolic links out (and says so); -L follows them, entering each directory once. */
static void put_r_leaves_links_out_unless_asked(void **state)
{
    char *secret = file_with("secret", "outside the tree"), *tree = tree_dir("tree");
    char *plain = in(tree, "plain"), *link = in(tree, "link"), *loop = in(tree, "loop");
    test_write_file(plain, "inside", 6);
    assert_int_equal(symlink(secret, link), 0);
    assert_int_equal(symlink(tree, loop), 0); /* a directory link back to the top */
    struct test_run run = stor("put", "-r", tree, "b/t");
    if (run.status != 0 || !strstr(run.err, "left out 2 symbolic links"))
        fail_msg("exit %d, stderr %s", run.status, run.err);
    test_run_free(&run);
    assert_true(stored("b/t/plain"));
    assert_false(stored("b/t/link"));

    run = stor("put", "-r", "-L", tree, "b/l");
    if (run.status != 0)
        fail_msg("exit %d, stderr %s", run.status, run.err);
    test_run_free(&run);
    assert_true(stored("b/l/link"));
    assert_true(stored("b/l/plain"));
    assert_false(stored("b/l/loop/plain")); /* the loop was entered once, as the top */
    free(secret), free(tree), free(plain), free(link), free(loop);
}

/* FIFOs (which would block an open), sockets and stor's own partial files are left out and
 * counted; nothing hangs. */
static void put_r_leaves_special_files_out(void **state)
{
    char *tree = tree_dir("tree"), *fifo = in(tree, "fifo"), *plain = in(tree, "plain");
    char *partial = in(tree, ".x.stor-partial");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    test_write_file(plain, "x", 1);
    test_write_file(partial, "half", 4);
    struct test_run run = stor("put", "-r", "-v", tree, "b/s");
    if (run.status != 0 || !strstr(run.err, "1 special file") ||
        !strstr(run.err, "1 stor partial download") || !strstr(run.out, "left out fifo"))
        fail_msg("exit %d, out %s, err %s", run.status, run.out, run.err);
    test_run_free(&run);
    assert_true(stored("b/s/plain"));
    assert_false(stored("b/s/fifo"));
    free(tree), free(fifo), free(plain), free(partial);
}

/* A tree 1,000 directories deep is walked without recursion. */
static void put_r_walks_a_very_deep_tree(void **state)
{
    char *tree = tree_dir("deep");
    size_t length = strlen(tree);
    char *path = malloc(length + 2 * 1000 + 16);
    memcpy(path, tree, length + 1);
    for (int level = 0; level < 1000; level++) {
        strcat(path, "/d");
        assert_int_equal(mkdir(path, 0777), 0);
    }
    strcat(path, "/f");
    test_write_file(path, "bottom", 6);
    /* A dry run: the walk is the point (the local backend keeps keys under 1,024 bytes). */
    struct test_run run = stor("put", "-r", "--dry-run", tree, "b/deep");
    if (run.status != 0 || !strstr(run.out, "1 files: 1 would store"))
        fail_msg("exit %d, out %s, err %s", run.status, run.out, run.err);
    test_run_free(&run);
    free(path);
    free(tree);
}

/* A directory link planted inside get -r's target does not lead the download outside it. */
static void get_r_does_not_follow_a_planted_directory_link(void **state)
{
    store("b/d/sub/f", "payload");
    store("b/d/g", "fine");
    char *out = tree_dir("out"), *elsewhere = tree_dir("elsewhere"), *sub = in(out, "sub");
    assert_int_equal(symlink(elsewhere, sub), 0);
    struct test_run run = stor("get", "-r", "b/d", out);
    if (run.status != 7 || !strstr(run.err, "symbolic link"))
        fail_msg("exit %d, err %s", run.status, run.err);
    test_run_free(&run);
    assert_int_equal(test_count_names(elsewhere, "f"), 0);
    char *g = in(out, "g");
    assert_content(g, "fine");
    free(out), free(elsewhere), free(sub), free(g);
}

/* A backslash is an ordinary character in a POSIX name: what put -r stored, get -r fetches. */
static void backslash_names_round_trip(void **state)
{
    char *tree = tree_dir("tree"), *odd = in(tree, "a\\b");
    test_write_file(odd, "slash", 5);
    expect_status(stor("put", "-r", tree, "b/bs"), 0, NULL);
    char *out = path_of("out");
    expect_status(stor("get", "-r", "b/bs", out), 0, NULL);
    char *back = in(out, "a\\b");
    assert_content(back, "slash");
    free(tree), free(odd), free(out), free(back);
}

/* A get -r where every file fails is still a transfer with failures: exit 7, as documented. */
static void get_r_where_every_file_fails_exits_7(void **state)
{
    store("b/e/f", "one");
    char *out = tree_dir("out"), *blocker = in(out, "f");
    assert_int_equal(mkdir(blocker, 0777), 0); /* a directory where the file should go */
    struct test_run run = stor("get", "-r", "b/e", out);
    if (run.status != 7)
        fail_msg("exit %d, err %s", run.status, run.err);
    test_run_free(&run);
    free(out), free(blocker);
}

/* ls whose output cannot be written exits 1 with the reason, not 130 (the code of Ctrl-C). */
static void ls_to_a_full_device_exits_1(void **state)
{
    char *tree = tree_dir("many");
    for (int i = 0; i < 400; i++) { /* more than one stdio buffer of listing */
        char name[64];
        snprintf(name, sizeof name, "%s/file-with-a-longish-name-%03d", tree, i);
        test_write_file(name, "x", 1);
    }
    expect_status(stor("put", "-r", tree, "b/many"), 0, NULL);
    char stor_env[4200];
    snprintf(stor_env, sizeof stor_env, "STOR=%s", test_build_path("stor"));
    const char *args[] = {"/bin/sh", "-c", "exec \"$STOR\" ls b/many/ >/dev/full", NULL};
    const char *env[] = {root_env, home_env, stor_env, NULL};
    struct test_run run = test_run(args, env, NULL);
    if (run.status != 1 || !strstr(run.err, "No space left"))
        fail_msg("exit %d, err %s", run.status, run.err);
    test_run_free(&run);
    free(tree);
}

/* Starts `"$STOR" START` in the background with $FIFO a new FIFO (after `then`, run by the
 * shell), waits until stor sleeps in the kernel on `waits_in` (its wait channel), then sends
 * SIGINT and returns stor's exit. Never a timed guess: SIGINT comes once stor is waiting. */
static struct test_run interrupt_when_waiting(const char *start, const char *then,
                                              const char *waits_in)
{
    char *fifo = path_of("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char stor_env[4200], fifo_env[4200], script[1024];
    snprintf(stor_env, sizeof stor_env, "STOR=%s", test_build_path("stor"));
    snprintf(fifo_env, sizeof fifo_env, "FIFO=%s", fifo);
    snprintf(script, sizeof script,
             "\"$STOR\" %s & pid=$!; %s; i=0; "
             "until grep -q %s /proc/$pid/wchan 2>/dev/null || [ $i -gt 1000 ]; "
             "do sleep 0.01; i=$((i+1)); done; kill -INT $pid; wait $pid", start, then, waits_in);
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    const char *env[] = {root_env, home_env, stor_env, fifo_env, NULL};
    struct test_run run = test_run(args, env, NULL);
    unlink(fifo);
    free(fifo);
    return run;
}

/* Ctrl-C while put waits for a FIFO's writer is an interruption (130), not an I/O error (1). */
static void ctrl_c_while_put_waits_for_a_fifo_exits_130(void **state)
{
    struct test_run run = interrupt_when_waiting("put \"$FIFO\" b/k", ":", "partner");
    if (run.status != 130 || !strstr(run.err, "interrupted while waiting to read"))
        fail_msg("exit %d, err %s", run.status, run.err);
    test_run_free(&run);
}

/* Ctrl-C during put says what was left: the object not stored, what it held before unchanged. */
static void ctrl_c_during_put_says_what_was_left(void **state)
{
    store("b/k", "before");
    /* stor reads its standard input from the FIFO, held open and silent, until SIGINT. */
    struct test_run run = interrupt_when_waiting("put - b/k <\"$FIFO\"", "exec 4>\"$FIFO\"",
                                                 "pipe_read");
    if (run.status != 130 || !strstr(run.err, "interrupted: b/k was not stored, and what it held "
                                              "before is unchanged"))
        fail_msg("exit %d, err %s", run.status, run.err);
    test_run_free(&run);
    run = stor("get", "b/k", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "before");
    test_run_free(&run);
}

/* No name in user.stor.* on the file: the marks of a partial download stay with the partial. */
static void assert_no_stor_attributes(const char *path)
{
    char names[4096];
    ssize_t n = listxattr(path, names, sizeof names);
    assert_true(n >= 0);
    for (ssize_t at = 0; at < n; at += (ssize_t)strlen(names + at) + 1)
        if (strncmp(names + at, "user.stor.", 10) == 0)
            fail_msg("%s still carries %s", path, names + at);
}

static void assert_new_file_mode(const char *path)
{
    mode_t mask = umask(0);
    umask(mask);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0666 & ~mask);
}

/* A finished download is the user's plain file, by every path it can take: a single get (a
 * partial file, marked), and get -r of a small file (unnamed until complete) and of one above
 * the small-file size (a partial file again). */
static void downloads_leave_no_stor_attributes(void **state)
{
    store("b/k", "object bytes");
    store("b/t/small", "small bytes");
    size_t big_size = (17 << 20) + 3;
    char *big = malloc(big_size);
    for (size_t i = 0; i < big_size; i++)
        big[i] = (char)(i * 131 + 7);
    char *local = path_of("big");
    test_write_file(local, big, big_size);
    expect_status(stor("put", local, "b/t/big"), 0, NULL);
    char *out = path_of("out"), *tree = path_of("tree");
    expect_status(stor("get", "b/k", out), 0, NULL);
    expect_status(stor("get", "-r", "b/t", tree), 0, NULL);
    char *small = in(tree, "small"), *big_back = in(tree, "big");
    assert_content(small, "small bytes");
    size_t got = 0;
    char *back = test_read_file(big_back, &got);
    assert_true(back && got == big_size && memcmp(back, big, big_size) == 0);
    const char *paths[] = {out, small, big_back};
    for (size_t i = 0; i < 3; i++) {
        assert_no_stor_attributes(paths[i]);
        assert_new_file_mode(paths[i]);
    }
    assert_int_equal(test_count_names(dir, ".stor-partial"), 0);
    free(back);
    free(big);
    free(local);
    free(out);
    free(tree);
    free(small);
    free(big_back);
}

/* get -r into a tree that already has things at the names: a regular file is replaced, a link
 * and a FIFO planted there are refused and left as they were (the link's target untouched). */
static void get_r_replaces_files_and_leaves_planted_things(void **state)
{
    store("b/t/file", "new bytes");
    store("b/t/link", "not through the link");
    store("b/t/fifo", "not into the FIFO");
    char *tree = tree_dir("tree"), *victim = file_with("victim", "precious");
    char *file = in(tree, "file"), *link = in(tree, "link"), *fifo = in(tree, "fifo");
    test_write_file(file, "old bytes", 9);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    struct test_run run = stor("get", "-r", "b/t", tree);
    if (run.status != 7 || !strstr(run.err, "link") || !strstr(run.err, "fifo"))
        fail_msg("exit %d, stderr %s", run.status, run.err);
    test_run_free(&run);
    assert_content(file, "new bytes");
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_content(victim, "precious");
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(test_count_names(dir, ".stor-partial"), 0);
    free(tree);
    free(victim);
    free(file);
    free(link);
    free(fifo);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(get_refuses_a_symlink_destination),
        T(get_writes_into_a_fifo),
        T(get_writes_into_a_device),
        T(a_planted_partial_symlink_is_not_followed),
        T(a_users_file_with_the_partial_name_is_kept),
        T(get_r_refuses_objects_named_like_partial_files),
        T(downloads_leave_no_stor_attributes),
        T(get_r_replaces_files_and_leaves_planted_things),
        T(put_r_leaves_links_out_unless_asked),
        T(put_r_leaves_special_files_out),
        T(put_r_walks_a_very_deep_tree),
        T(get_r_does_not_follow_a_planted_directory_link),
        T(backslash_names_round_trip),
        T(get_r_where_every_file_fails_exits_7),
        T(ls_to_a_full_device_exits_1),
        T(ctrl_c_while_put_waits_for_a_fifo_exits_130),
        T(ctrl_c_during_put_says_what_was_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
