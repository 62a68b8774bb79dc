/* test_cli.c — the stor executable as a user meets it: argument errors and exit codes, one-line
 * errors, backend options from -o and the environment, and put/get/ls/rm through the local backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pty.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

struct fixture {
    char *dir;          /* scratch: HOME, the local root and local files live here */
    char root_env[4200];
    char home_env[4200];
};

static struct fixture *fx;

static int setup(void **state)
{
    fx = calloc(1, sizeof *fx);
    fx->dir = test_mkdtemp();
    snprintf(fx->root_env, sizeof fx->root_env, "STOR_LOCAL_ROOT=%s/root", fx->dir);
    snprintf(fx->home_env, sizeof fx->home_env, "HOME=%s", fx->dir);
    return 0;
}

static int teardown(void **state)
{
    test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Runs ./stor with up to 8 arguments (NULL-terminated), in a clean environment. */
static struct test_run stor_with_input(const char *input, const char *first, ...)
{
    const char *argv[16];
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor"));
    int n = 0;
    argv[n++] = binary;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    const char *env[] = {fx->root_env, fx->home_env, "STOR_PLUGIN_PATH", "XDG_DATA_HOME", NULL};
    return test_run(argv, env, input);
}

#define stor(...) stor_with_input(NULL, __VA_ARGS__, NULL)

/* Every error is exactly one line on stderr starting with "stor: " and containing `needle`. */
static void assert_one_error_line(const struct test_run *run, const char *needle)
{
    if (strncmp(run->err, "stor: ", 6) != 0 || !strstr(run->err, needle) ||
        strchr(run->err, '\n') != run->err + strlen(run->err) - 1)
        fail_msg("stderr \"%s\" is not one 'stor:' line containing \"%s\"", run->err, needle);
}

static void expect_failure(struct test_run run, int code, const char *needle)
{
    if (run.status != code)
        fail_msg("exit status %d, expected %d (stderr: %s)", run.status, code, run.err);
    assert_one_error_line(&run, needle);
    test_run_free(&run);
}

static char *scratch_file(const char *name, const char *content)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", fx->dir, name) > 0);
    test_write_file(path, content, strlen(content));
    return path;
}

static void usage_errors_exit_2(void **state)
{
    struct test_run run = stor(NULL);
    assert_int_equal(run.status, 2);
    assert_non_null(strstr(run.err, "usage: stor"));
    test_run_free(&run);
    expect_failure(stor("frobnicate"), 2, "unknown command 'frobnicate'");
    expect_failure(stor("--colour", "ls", "x"), 2, "unknown or incomplete option '--colour'");
    expect_failure(stor("put", "onlyone"), 2, "put expects [-r [-L]] [--no-resume] [TRANSFER/METADATA OPTIONS] LOCAL BUCKET/KEY");
    expect_failure(stor("put", "a", "b", "c"), 2, "LOCAL BUCKET/KEY");
    expect_failure(stor("--skip-existing", "put", "a", "b/c"), 2, "--skip-existing/--include/--exclude apply to put -r only");
    expect_failure(stor("--hard", "get", "b/k", "-"), 2, "--hard does not apply to get");
    expect_failure(stor("--range=5-2", "get", "b/k", "-"), 2, "--range expects A-B or A-");
    expect_failure(stor("--older-than=3w", "cleanup", "b"), 2, "--older-than expects a duration");
    expect_failure(stor("--hard", "--version=x", "rm", "b/k"), 2, "choose one");
    expect_failure(stor("--transfers=0", "put", "-r", "a", "b"), 2, "--transfers expects a number from 1 to 256");
    expect_failure(stor("--progress=sometimes", "ls", "b"), 2, "--progress expects auto, always, never or lines");
    expect_failure(stor("-o", "novalue", "ls", "x"), 2, "-o expects KEY=VALUE, got 'novalue'");
    expect_failure(stor("-l", "rm", "b/k"), 2, "-l does not apply to rm");
    expect_failure(stor("put", "-", "bucketonly"), 2, "expected BUCKET/KEY, got 'bucketonly'");
    expect_failure(stor("put", "-", "bucket/"), 2, "expected BUCKET/KEY, got 'bucket/'");
    expect_failure(stor("put", "/tmp/", "bucket/"), 2, "/tmp/ has no file name to keep");
    expect_failure(stor("get", "b/", "-"), 2, "expected BUCKET/KEY");
    expect_failure(stor("-o", "colour=blue", "ls", "x"), 2, "unknown option 'colour'");
}

static void help_and_version(void **state)
{
    struct test_run run = stor("--version");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "stor " PACKAGE_VERSION " (plugin ABI 4)\n");
    test_run_free(&run);

    run = stor("--help");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "exit codes: 0 ok, 1 failure, 2 usage, 3 not found"));
    test_run_free(&run);

    run = stor("put", "--help");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "usage: stor [GLOBAL OPTIONS] put [-r [-L]] [--no-resume] [TRANSFER/METADATA OPTIONS] LOCAL BUCKET/KEY"));
    test_run_free(&run);

    run = stor("--backend=local", "--help");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "STOR_LOCAL_<KEY>"));
    assert_non_null(strstr(run.out, "  root "));
    test_run_free(&run);
}

static void put_ls_get_rm_round_trip(void **state)
{
    char *local = scratch_file("hello.txt", "hello, stor\n");
    struct test_run run = stor("put", local, "demo/greetings/hello");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "stored demo/greetings/hello (12 bytes, sha1 "));
    assert_string_equal(run.err, "");
    test_run_free(&run);

    run = stor("ls", "demo");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "DIR"));
    assert_non_null(strstr(run.out, "greetings/\n"));
    test_run_free(&run);

    run = stor("ls", "-r", "demo");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "          12  "));
    assert_non_null(strstr(run.out, "Z  greetings/hello\n"));
    test_run_free(&run);

    run = stor("get", "demo/greetings/hello", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "hello, stor\n");
    test_run_free(&run);

    /* Into a directory: the key's last segment names the file. */
    run = stor("-q", "get", "demo/greetings/hello", fx->dir);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "");
    test_run_free(&run);
    char *fetched_path;
    assert_true(asprintf(&fetched_path, "%s/hello", fx->dir) > 0);
    char *fetched = test_read_file(fetched_path, NULL);
    assert_string_equal(fetched, "hello, stor\n");
    free(fetched);
    free(fetched_path);

    run = stor("rm", "demo/greetings/hello");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "removed demo/greetings/hello\n");
    test_run_free(&run);
    expect_failure(stor("rm", "demo/greetings/hello"), 3, "no object demo/greetings/hello");
    free(local);
}

static void stdin_upload(void **state)
{
    struct test_run run = stor_with_input("from a pipe", "put", "-", "demo/piped", NULL);
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    run = stor("get", "demo/piped", "-");
    assert_string_equal(run.out, "from a pipe");
    test_run_free(&run);
}

static void not_found_exits_3_and_leaves_no_partial_file(void **state)
{
    expect_failure(stor("put", "/nonexistent/file", "demo/k"), 3, "cannot open /nonexistent/file");
    expect_failure(stor("ls", "nobucket"), 3, "no bucket 'nobucket'");
    char *local = scratch_file("x", "x");
    struct test_run run = stor("put", local, "demo/k");
    test_run_free(&run);
    char *dest;
    assert_true(asprintf(&dest, "%s/out", fx->dir) > 0);
    expect_failure(stor("get", "demo/missing", dest), 3, "no object demo/missing");
    assert_int_equal(access(dest, F_OK), -1);
    assert_int_equal(test_count_names(fx->dir, ".stor-"), 0);
    free(dest);
    free(local);
}

static void escaping_keys_exit_2(void **state)
{
    char *local = scratch_file("x", "x");
    /* The host checks every name once, before any backend sees it. */
    expect_failure(stor("put", local, "demo/../../escape"), 2, "has a '..' segment");
    expect_failure(stor("put", local, "demo/a/./b"), 2, "has a '.' segment");
    expect_failure(stor("put", local, "demo/a//b"), 2, "has an empty segment");
    expect_failure(stor("put", local, "demo//etc/passwd"), 2, "starts with '/'");
    expect_failure(stor("put", local, "demo/tab\there"), 2, "holds a control character (byte 9)");
    expect_failure(stor("get", "demo/a/../b", "-"), 2, "has a '..' segment");
    expect_failure(stor("ls", "demo/a//"), 2, "has an empty segment");
    expect_failure(stor("rm", "demo/.."), 2, "has a '..' segment");
    expect_failure(stor("cp", "demo/x", "demo/../y"), 2, "has a '..' segment");
    free(local);
}

static void unknown_backend_names_search_path_and_choices(void **state)
{
    struct test_run run = stor("--backend=nope", "ls", "x");
    assert_int_equal(run.status, 3);
    assert_one_error_line(&run, "no backend named 'nope' (searched ");
    assert_non_null(strstr(run.err, "available: "));
    assert_non_null(strstr(run.err, "local"));
    test_run_free(&run);
}

static void relative_plugin_path_entries_are_ignored_with_a_warning(void **state)
{
    static char build[4200];
    const char *argv[] = {test_build_path("stor"), "backends", NULL};
    snprintf(build, sizeof build, "STOR_PLUGIN_PATH=relative/dir::%s", "/nonexistent");
    const char *env[] = {fx->root_env, fx->home_env, build, NULL};
    struct test_run run = test_run(argv, env, NULL);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.err, "ignoring STOR_PLUGIN_PATH entry 'relative/dir': not an absolute path"));
    assert_non_null(strstr(run.out, "local"));
    test_run_free(&run);
}

static void broken_plugins_get_clear_errors(void **state)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("tests/fixtures/.libs"));
    expect_failure(stor(dir, "--backend=newer_abi", "ls", "x"), 2,
                   "needs plugin ABI version 5, but this stor supports up to version 4");
    expect_failure(stor(dir, "--backend=no_entry", "ls", "x"), 2, "has no symbol stor_plugin_entry");
    expect_failure(stor(dir, "--backend=short_table", "ls", "x"), 2, "shorter than the 96 bytes");
    expect_failure(stor(dir, "--backend=null_put", "ls", "x"), 2, "lacks the required operation 'put'");

    struct test_run run = stor(dir, "--backend=good", "ls", "x");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "fixture-object"));
    test_run_free(&run);
    expect_failure(stor(dir, "--backend=good", "rm", "x/y"), 6, "backend good does not support rm");

    run = stor(dir, "backends");
    assert_int_equal(run.status, 0);
    /* Plugins of all three ABIs load side by side, each with what the host may use of it. */
    assert_non_null(strstr(run.out, "good       ABI 4"));
    assert_non_null(strstr(run.out, "abi_one    ABI 1"));
    assert_non_null(strstr(run.out, "abi_two    ABI 2"));
    assert_non_null(strstr(run.out, "can: delimiter\n")); /* good's share has no slot */
    assert_non_null(strstr(run.out, "can: versions,ranged-get,resume-get,delimiter\n"));
    assert_non_null(strstr(run.out, "local"));
    assert_non_null(strstr(run.err, "skipping"));
    test_run_free(&run);
}

static void option_from_environment_and_o_overrides(void **state)
{
    char *local = scratch_file("x", "x");
    char other[4200];
    snprintf(other, sizeof other, "root=%s/other-root", fx->dir);
    struct test_run run = stor("-o", other, "put", local, "b/k");
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    expect_failure(stor("ls", "b"), 3, "no bucket 'b'"); /* the environment's root has no b */
    run = stor("-o", other, "ls", "b");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "  k\n"));
    test_run_free(&run);
    free(local);
}

static void json_output_parses(void **state)
{
    char *local = scratch_file("j", "json");
    struct test_run run = stor("--json", "put", local, "demo/j");
    assert_int_equal(run.status, 0);
    struct json_object *j = json_tokener_parse(run.out);
    assert_non_null(j);
    assert_string_equal(json_object_get_string(json_object_object_get(j, "key")), "j");
    assert_int_equal(json_object_get_int64(json_object_object_get(j, "size")), 4);
    json_object_put(j);
    test_run_free(&run);

    run = stor("--json", "ls", "demo"); /* JSON Lines: one object per line */
    struct json_object *line = json_tokener_parse(run.out);
    assert_non_null(line);
    assert_string_equal(json_object_get_string(json_object_object_get(line, "key")), "j");
    assert_int_equal(strchr(run.out, '\n') - run.out + 1, (long)strlen(run.out));
    json_object_put(line);
    test_run_free(&run);

    run = stor("upload-target", "demo");
    assert_int_equal(run.status, 0);
    j = json_tokener_parse(run.out);
    assert_non_null(j);
    assert_non_null(strstr(json_object_get_string(json_object_object_get(j, "uploadUrl")), "file://"));
    json_object_put(j);
    test_run_free(&run);
    free(local);
}

/* Makes DIR/tree with n files under a/, one under skip/, one *.log: returns the tree's path. */
static char *make_tree(int n)
{
    char *tree, path[4400];
    assert_true(asprintf(&tree, "%s/tree", fx->dir) > 0);
    const char *dirs[] = {"", "/a", "/a/deep", "/skip"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s%s", tree, dirs[i]);
        mkdir(path, 0777);
    }
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/a/%s%d", tree, i % 2 ? "deep/" : "", i);
        char content[64];
        snprintf(content, sizeof content, "file number %d\n", i);
        test_write_file(path, content, strlen(content));
    }
    snprintf(path, sizeof path, "%s/skip/no.txt", tree);
    test_write_file(path, "no", 2);
    snprintf(path, sizeof path, "%s/a/noise.log", tree);
    test_write_file(path, "log", 3);
    return tree;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void put_r_and_get_r_round_trip_with_filters(void **state)
{
    char *tree = make_tree(30);
    struct test_run run = stor("put", "-r", "--transfers=4", "--exclude=skip/", "--exclude=*.log",
                               tree, "demo/backup");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "put -r: 30 files: 30 stored, 0 skipped, 0 failed"));
    test_run_free(&run);

    run = stor("ls", "-r", "demo/backup/");
    assert_int_equal(count_lines(run.out, "\n"), 30);
    assert_null(strstr(run.out, "no.txt"));
    assert_null(strstr(run.out, "noise.log"));
    assert_non_null(strstr(run.out, "backup/a/deep/1\n"));
    test_run_free(&run);

    /* Unchanged files are recognised: nothing is stored the second time. */
    run = stor("--json", "put", "-r", "--skip-existing", "--exclude=skip/", "--exclude=*.log",
               tree, "demo/backup");
    assert_int_equal(run.status, 0);
    assert_int_equal(count_lines(run.out, "\"status\":\"skipped\""), 30);
    assert_non_null(strstr(run.out, "{\"schema\":1,\"summary\":\"put\",\"files\":30,\"stored\":0"));
    test_run_free(&run);

    char *out;
    assert_true(asprintf(&out, "%s/restored", fx->dir) > 0);
    run = stor("get", "-r", "demo/backup", out);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "get -r: 30 files: 30 fetched"));
    test_run_free(&run);
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/a/deep/29", tree);
    snprintf(b, sizeof b, "%s/a/deep/29", out);
    char *x = test_read_file(a, NULL), *y = test_read_file(b, NULL);
    assert_non_null(y);
    assert_string_equal(x, y);
    free(x);
    free(y);
    run = stor("get", "-r", "--skip-existing", "demo/backup", out);
    assert_non_null(strstr(run.out, "0 fetched, 30 skipped"));
    test_run_free(&run);
    free(out);
    free(tree);
}

static void dry_run_changes_nothing(void **state)
{
    char *tree = make_tree(4);
    struct test_run run = stor("put", "-r", "--dry-run", tree, "demo/x");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "would store demo/x/a/0 (14 bytes)"));
    test_run_free(&run);
    expect_failure(stor("ls", "demo"), 3, "no bucket 'demo'");
    free(tree);
}

static void hostile_names_are_refused_and_others_fetched(void **state)
{
    char plugin_dir[4200], *out;
    snprintf(plugin_dir, sizeof plugin_dir, "--plugin-dir=%s", test_build_path("tests/fixtures/.libs"));
    assert_true(asprintf(&out, "%s/inside/out", fx->dir) > 0);
    char inside[4300];
    snprintf(inside, sizeof inside, "%s/inside", fx->dir);
    mkdir(inside, 0777);
    struct test_run run = stor(plugin_dir, "--backend=good", "get", "-r", "hostile", out);
    assert_int_equal(run.status, 7); /* partial failure */
    assert_non_null(strstr(run.out, "5 files: 1 fetched, 0 skipped, 4 failed"));
    assert_non_null(strstr(run.err, "refused: the name would escape"));
    assert_non_null(strstr(run.err, "4 of 5 files failed: ../escape, /etc/passwd-copy, a/../../up"));
    test_run_free(&run);
    /* Only the harmless name was written, inside the target directory. */
    assert_int_equal(test_count_names(inside, "escape") + test_count_names(inside, "passwd") +
                         test_count_names(inside, "up"), 0);
    assert_int_equal(test_count_names(fx->dir, "escape"), 0);
    char fine[4400];
    snprintf(fine, sizeof fine, "%s/fine/name", out);
    char *data = test_read_file(fine, NULL);
    assert_string_equal(data, "fixture\n");
    free(data);
    free(out);
}

static void progress_only_where_asked(void **state)
{
    size_t big = 2 * 1024 * 1024;
    char *data = malloc(big);
    memset(data, 'z', big);
    char *path;
    assert_true(asprintf(&path, "%s/big", fx->dir) > 0);
    test_write_file(path, data, big);
    free(data);

    struct test_run run = stor("put", path, "demo/big"); /* stderr is a pipe: no progress */
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    test_run_free(&run);
    run = stor("--progress=always", "put", path, "demo/big");
    assert_non_null(strchr(run.err, '\r'));
    test_run_free(&run);
    run = stor("--progress=lines", "put", path, "demo/big");
    assert_null(strchr(run.err, '\r'));
    assert_non_null(strstr(run.err, "Z stor: big: "));
    test_run_free(&run);
    run = stor("-q", "--progress=always", "put", path, "demo/big");
    assert_string_equal(run.err, "");
    assert_string_equal(run.out, "");
    test_run_free(&run);
    free(path);
}

/* On a terminal (a pty here) progress appears by default; test_run's pipes saw none above. */
static void progress_shows_on_a_terminal(void **state)
{
    size_t big = 2 * 1024 * 1024;
    char *data = malloc(big);
    memset(data, 't', big);
    char *path;
    assert_true(asprintf(&path, "%s/big", fx->dir) > 0);
    test_write_file(path, data, big);
    free(data);

    fflush(NULL);
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        putenv(fx->root_env);
        execl(test_build_path("stor"), "stor", "put", path, "demo/big", (char *)NULL);
        _exit(127);
    }
    char seen[65536];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof seen - 1 && (n = read(master, seen + len, sizeof seen - 1 - len)) > 0)
        len += (size_t)n;
    seen[len] = '\0';
    close(master);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WEXITSTATUS(status) != 0 || !strstr(seen, "\r\033[Kbig: "))
        fail_msg("exit %d, terminal saw: %s", WEXITSTATUS(status), seen);
    assert_non_null(strstr(seen, "stored demo/big"));
    free(path);
}

static void rm_r_asks_or_needs_yes(void **state)
{
    char *tree = make_tree(6);
    struct test_run run = stor("-q", "put", "-r", tree, "demo/old");
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    /* No terminal on stdin here: without --yes nothing goes. */
    expect_failure(stor("rm", "-r", "demo/old"), 2, "refusing to remove 8 objects under demo/old/ without --yes");
    run = stor("rm", "-r", "--dry-run", "demo/old");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "would remove demo/old/a/0\n"));
    test_run_free(&run);
    run = stor("ls", "-r", "demo/old/");
    assert_non_null(strstr(run.out, "old/a/0\n")); /* the dry run removed nothing */
    test_run_free(&run);
    run = stor("rm", "-r", "--yes", "demo/old");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "removed demo/old/skip/no.txt\n"));
    test_run_free(&run);
    run = stor("ls", "-r", "demo");
    assert_string_equal(run.out, "");
    test_run_free(&run);
    expect_failure(stor("rm", "-r", "--yes", "demo/old"), 3, "nothing under demo/old/");
    free(tree);
}

static void cp_and_mv_stream_through_stor_without_server_side_copy(void **state)
{
    char *local = scratch_file("orig", "original bytes\n");
    struct test_run run = stor("put", local, "demo/a");
    test_run_free(&run);
    run = stor("-v", "cp", "demo/a", "other/b");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.err, "no server-side copy: streaming demo/a through stor"));
    assert_non_null(strstr(run.out, "copied demo/a to other/b (15 bytes"));
    test_run_free(&run);
    run = stor("mv", "other/b", "other/c");
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    run = stor("get", "other/c", "-");
    assert_string_equal(run.out, "original bytes\n");
    test_run_free(&run);
    expect_failure(stor("get", "other/b", "-"), 3, "no object other/b");
    expect_failure(stor("cp", "demo/missing", "demo/x"), 3, "no object demo/missing");
    run = stor("ls", "demo");
    assert_null(strstr(run.out, "  x\n")); /* a failed copy left nothing behind */
    test_run_free(&run);
    expect_failure(stor("cp", "demo/a", "demo/a"), 2, "are the same object");
    free(local);
}

static void unsupported_features_say_so(void **state)
{
    char *local = scratch_file("x", "x");
    struct test_run run = stor("put", local, "demo/x");
    test_run_free(&run);
    expect_failure(stor("cleanup", "demo"), 6, "backend local does not support cleanup");
    expect_failure(stor("du", "--versions", "demo"), 6, "backend local does not support du --versions");
    run = stor("du", "demo");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "demo/\nobjects:            1 object, 1 B (1 bytes)\n");
    test_run_free(&run);
    expect_failure(stor("get", "--version=abc", "demo/x", "-"), 6, "the local backend keeps no versions");
    expect_failure(stor("--no-resume", "put", local, "demo/y"), 6, "does not resume uploads");
    expect_failure(stor("rm", "--version=abc", "demo/x"), 6, "does not support rm --version");
    run = stor("ls", "--versions", "demo"); /* no versions: each object is its only version */
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "  x  -\n"));
    test_run_free(&run);
    free(local);
}

/* Every option that takes a value works in the space form too, and a command's own option wins
 * over the global one of the same name: `get --version ID` is the object's version, never stor's. */
static void options_take_their_values_after_a_space(void **state)
{
    char *local = scratch_file("x", "space form");
    struct test_run run = stor("put", local, "demo/k");
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    char root_option[4300], plugin_dir[4200];
    snprintf(root_option, sizeof root_option, "root=%s/root", fx->dir);
    snprintf(plugin_dir, sizeof plugin_dir, "%s", test_build_path("tests/fixtures/.libs"));
    run = stor("--backend", "local", "-o", root_option, "--plugin-dir", plugin_dir, "--progress",
               "never", "get", "--range", "0-4", "demo/k", "-");
    assert_int_equal(run.status, 0); /* the value was taken, not the next word */
    assert_string_equal(run.out, "space");
    test_run_free(&run);
    char *out;
    assert_true(asprintf(&out, "%s/tree-out", fx->dir) > 0);
    run = stor("get", "-r", "--transfers", "2", "--include", "k", "--exclude", "*", "demo", out);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "1 files: 1 fetched"));
    test_run_free(&run);
    run = stor("cleanup", "--older-than", "7d", "--dry-run", "demo");
    assert_int_not_equal(run.status, 2); /* 0, or 6 where the backend has no cleanup */
    test_run_free(&run);
    const char *versioned[][4] = {{"get", "demo/k", "-", NULL}, {"rm", "demo/k", NULL, NULL}};
    for (int i = 0; i < 2; i++) {
        run = stor(versioned[i][0], "--version", "4_zID", versioned[i][1], versioned[i][2]);
        if (run.status == 0 || strstr(run.out, "plugin ABI"))
            fail_msg("%s --version ID: exit %d, out %s", versioned[i][0], run.status, run.out);
        test_run_free(&run);
    }
    run = stor("get", "demo/k", "-");
    assert_string_equal(run.out, "space form"); /* rm --version ID did not remove the object */
    test_run_free(&run);
    run = stor("--version");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "plugin ABI"));
    test_run_free(&run);
    free(out);
    free(local);
}

/* Names that are not UTF-8 are refused before anything is sent (exit 2, the byte named); control
 * bytes in a name never reach the terminal raw; --json stays valid UTF-8. */
static void names_are_utf8_and_printed_escaped(void **state)
{
    char *local = scratch_file("x", "x");
    expect_failure(stor("put", local, "demo/bad\xff" "name"), 2, "not valid UTF-8 (byte 9)");
    expect_failure(stor("put", local, "demo/over\xc0\xaflong"), 2, "not valid UTF-8 (byte 10)");
    expect_failure(stor("put", local, "demo/sur\xed\xa0\x80" "rogate"), 2, "not valid UTF-8");
    struct test_run run = stor("get", "demo/a\x1b]0;owned\x07" "b\xc2\x9b" "c", "-");
    assert_int_not_equal(run.status, 0);
    assert_null(strchr(run.err, '\x1b'));
    assert_null(strchr(run.err, '\x07'));
    assert_null(strstr(run.err, "\xc2\x9b"));
    assert_non_null(strstr(run.err, "\\x1B]0;owned\\x07b\\u009Bc"));
    assert_one_error_line(&run, "stor: ");
    test_run_free(&run);

    char tree[4300], odd[4400];
    snprintf(tree, sizeof tree, "%s/latin1", fx->dir);
    mkdir(tree, 0777);
    snprintf(odd, sizeof odd, "%s/caf\xe9", tree); /* ISO-8859-1, not UTF-8 */
    test_write_file(odd, "x", 1);
    run = stor("--json", "put", "-r", tree, "demo/latin1");
    assert_int_equal(run.status, 7);
    assert_non_null(strstr(run.out, "not valid UTF-8 (byte 4)"));
    assert_non_null(strstr(run.out, "caf\xef\xbf\xbd")); /* U+FFFD in the JSON, not the raw byte */
    assert_null(strstr(run.out, "caf\xe9"));
    test_run_free(&run);
    free(local);
}

/* Help fits the terminal (COLUMNS), and output that cannot be written is a failure, not exit 0. */
static void help_is_wrapped_and_its_write_errors_count(void **state)
{
    /* The plugin lives at a long path (as in distcheck's _build/sub): that line is wrapped too. */
    char dir[4200], copy[4400];
    snprintf(dir, sizeof dir, "%s/a-plugin-directory-whose-name-alone-is-longer-than-sixty-columns",
             fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(copy, sizeof copy, "cp '%s' '%s/'", test_build_path("plugins/local/.libs/local.so"), dir);
    assert_int_equal(system(copy), 0);
    char plugin_dir[4300];
    snprintf(plugin_dir, sizeof plugin_dir, "--plugin-dir=%s", dir);
    const char *argv[] = {test_build_path("stor"), plugin_dir, "--backend=local", "--help", NULL};
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", argv[0]);
    argv[0] = binary;
    const char *env[] = {"COLUMNS=60", fx->home_env, NULL};
    struct test_run run = test_run(argv, env, NULL);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "a-plugin-directory-whose-name"));
    for (const char *line = run.out; *line;) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        size_t indent = strspn(line, " "); /* only a single word longer than the width may stick out */
        if (length > 60 && memchr(line + indent, ' ', length - indent))
            fail_msg("a help line of %zu columns: %.*s", length, (int)length, line);
        line += length + (end != NULL);
    }
    test_run_free(&run);
    char stor_env[4200];
    snprintf(stor_env, sizeof stor_env, "STOR=%s", binary);
    const char *full[] = {"/bin/sh", "-c", "\"$STOR\" --help >/dev/full", NULL};
    const char *full_env[] = {stor_env, fx->home_env, NULL};
    run = test_run(full, full_env, NULL);
    assert_int_equal(run.status, 1);
    assert_one_error_line(&run, "cannot write output");
    test_run_free(&run);
}

/* A backend without one-level listings is asked for a recursive one, which the host folds at
 * the first '/' after the prefix (the flat fixture refuses one-level listings outright). */
static void one_level_listings_are_folded_for_a_backend_without_delimiter(void **state)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("tests/fixtures/.libs"));
    struct test_run run = stor(dir, "--backend=flat", "ls", "x");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "           8  1970-01-01T00:00:00Z  a-b\n"
                                 "           8  1970-01-01T00:00:00Z  a.txt\n"
                                 "         DIR                        a/\n"
                                 "           8  1970-01-01T00:00:00Z  b\n");
    test_run_free(&run);
    run = stor(dir, "--backend=flat", "ls", "x/a/");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "           8  1970-01-01T00:00:00Z  a/b\n"
                                 "         DIR                        a/c/\n"
                                 "           8  1970-01-01T00:00:00Z  a/f\n");
    test_run_free(&run);
    run = stor(dir, "--backend=flat", "ls", "-r", "x/a/c/");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "  a/c/d\n"));
    assert_non_null(strstr(run.out, "  a/c/e\n"));
    test_run_free(&run);
}

/* rm -r hands the names to remove_many; the host tells each key once, whatever the batch said:
 * the first word of a key told twice stands, a key never told has the batch's error. */
static void rm_r_goes_through_remove_many(void **state)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("tests/fixtures/.libs"));
    struct test_run run = stor(dir, "--backend=flat", "rm", "-r", "--yes", "x/a/");
    assert_int_equal(run.status, 7);
    assert_string_equal(run.out, "removed x/a/b\n");
    assert_non_null(strstr(run.err, "rm a/c/d: fixture refuses\n"));
    assert_non_null(strstr(run.err, "rm a/c/e: the batch broke off\n"));
    assert_non_null(strstr(run.err, "rm a/f: the batch broke off\n"));
    assert_null(strstr(run.err, "told twice"));
    test_run_free(&run);
}

/* An ABI-3 backend gets put through put_ex, with the source's size and mtime (the example
 * memory plugin reports back the mtime it was given, from a file and not from a pipe). */
static void put_hands_the_source_mtime_to_put_ex(void **state)
{
    char *local = scratch_file("dated", "twelve bytes");
    struct timespec times[2] = {{1000000000, 250000000}, {1000000000, 250000000}};
    assert_int_equal(utimensat(AT_FDCWD, local, times, 0), 0);
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("kit/example/.libs"));
    struct test_run run = stor(dir, "--backend=memory", "--json", "put", local, "b/k");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"size\":12"));
    assert_non_null(strstr(run.out, "\"mtime\":1000000000250"));
    test_run_free(&run);
    free(local);
}

/* Buckets through ABI 3 on the local backend: made, listed (ls with no bucket too), refused
 * when they exist or hold objects, emptied and removed with --force. */
static void buckets_are_made_listed_and_removed(void **state)
{
    expect_ok(stor("mb", "fresh"));
    expect_failure(stor("mb", "fresh"), 2, "bucket 'fresh' already exists");
    struct test_run run = stor("ls");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "private   fresh\n");
    test_run_free(&run);
    run = stor("--json", "buckets");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "{\"name\":\"fresh\",\"id\":null,\"public\":false,\"created\":null}\n");
    test_run_free(&run);
    char *local = scratch_file("inside", "inside");
    expect_ok(stor("put", local, "fresh/a/b"));
    expect_failure(stor("rb", "fresh"), 2, "bucket 'fresh' is not empty");
    expect_failure(stor("rb", "--force", "fresh"), 2, "without --yes");
    expect_ok(stor("rb", "--force", "--yes", "fresh"));
    run = stor("buckets");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "");
    test_run_free(&run);
    expect_failure(stor("rb", "fresh"), 3, "fresh");
    expect_failure(stor("mb", "a/b"), 2, "expected a bucket name");
    expect_failure(stor("mb", ".."), 2, "'..' segment");
    expect_failure(stor("mb", "--public", "open"), 6, "backend local has no public buckets");
    expect_failure(stor("ls", "-r"), 2, "ls without a bucket lists buckets");
    free(local);
}

/* stat prints what the backend knows: local keeps the SHA-1 (while the file is unchanged), the
 * content type and metadata; what it cannot keep is refused before storing. */
static void stat_and_metadata_on_local(void **state)
{
    char *local = scratch_file("page.html", "<p>hi</p>");
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, local, times, 0), 0);
    expect_ok(stor("put", local, "demo/page.html")); /* the type guessed from the name */
    struct test_run run = stor("stat", "demo/page.html");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "key:                 page.html\n"));
    assert_non_null(strstr(run.out, "size:                9\n"));
    assert_non_null(strstr(run.out, "modified:            2001-09-09T01:46:40Z\n"));
    assert_non_null(strstr(run.out, "content-type:        text/html\n"));
    assert_non_null(strstr(run.out, "sha1:                b6dbcb4239597a3b0cf0e1c5331212711687659a\n"));
    test_run_free(&run);
    expect_ok(stor("put", "--content-type", "text/plain", "--meta=colour=blue", "--cache-control=no-cache",
                   local, "demo/typed"));
    run = stor("stat", "demo/typed");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "content-type:        text/plain\n"));
    assert_non_null(strstr(run.out, "cache-control:       no-cache\n"));
    assert_non_null(strstr(run.out, "meta colour:         blue\n"));
    test_run_free(&run);
    /* Changed by other hands: the SHA-1 kept with it no longer counts; the metadata stays. */
    char stored[4300];
    snprintf(stored, sizeof stored, "%s/root/demo/typed", fx->dir);
    test_write_file(stored, "<p>ho</p>", 9);
    run = stor("stat", "demo/typed");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "sha1:                -\n"));
    assert_non_null(strstr(run.out, "meta colour:         blue\n"));
    test_run_free(&run);
    char big[5200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "k=", 2);
    expect_failure(stor("put", "--meta", big, local, "demo/x"), 2, "the local backend keeps at most 4096");
    run = stor("--json", "stat", "demo/page.html");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"mtime\":1000000000000"));
    assert_non_null(strstr(run.out, "\"uploaded\":null"));
    test_run_free(&run);
    expect_failure(stor("stat", "demo/nothing"), 3, "demo/nothing");
    expect_failure(stor("stat", "--version", "v1", "demo/page.html"), 6, "does not support stat --version");
    expect_failure(stor("put", "--meta", "novalue", local, "demo/x"), 2, "--meta expects KEY=VALUE");
    expect_failure(stor("stat", "demo/x"), 3, "demo/x"); /* nothing was stored */
    expect_failure(stor("share", "demo/page.html"), 6, "backend local does not support share");
    expect_failure(stor("share", "--expires=soon", "demo/page.html"), 2, "--expires expects a duration");
    free(local);
}

/* Encryption and Object Lock options are checked as typed, then against what the backend can;
 * bucket options a backend does not know are refused by name. Nothing is stored or made. */
static void protection_and_bucket_options_are_checked(void **state)
{
    char *local = scratch_file("kept", "kept");
    expect_failure(stor("put", "--sse=b2", local, "demo/k"), 6, "backend local does not support --sse");
    expect_failure(stor("put", "--sse", "aes", local, "demo/k"), 2, "--sse expects b2");
    expect_failure(stor("put", "--retention=governance:30d", local, "demo/k"), 6,
                   "does not support --retention and --legal-hold");
    expect_failure(stor("put", "--legal-hold", "on", local, "demo/k"), 6,
                   "does not support --retention and --legal-hold");
    expect_failure(stor("put", "--retention=governance:2001-01-01", local, "demo/k"), 2, "in the future");
    expect_failure(stor("put", "--retention=forever:30d", local, "demo/k"), 2, "--retention expects");
    expect_failure(stor("put", "--retention=compliance:2099-13-45", local, "demo/k"), 2, "--retention expects");
    expect_failure(stor("put", "--legal-hold=maybe", local, "demo/k"), 2, "--legal-hold expects on or off");
    expect_failure(stor("mb", "--keep-old-versions", "30d", "fresh"), 2, "keep_old_versions");
    expect_failure(stor("mb", "--object-lock", "fresh"), 2, "object_lock");
    expect_failure(stor("ls", "demo"), 3, "no bucket 'demo'");
    expect_failure(stor("ls", "fresh"), 3, "no bucket 'fresh'");
    expect_failure(stor("-o", "bucket.x=1", "ls", "demo"), 2, "applies to mb and bucket only");
    /* sync takes the same options as put */
    expect_failure(stor("sync", "--sse=b2", fx->dir, "demo/s"), 6, "backend local does not support --sse");
    expect_failure(stor("sync", "--legal-hold=on", fx->dir, "demo/s"), 6, "does not support --retention");
    free(local);
}

/* bucket shows one bucket and changes what the backend allows; retention, legal-hold and
 * rm --bypass-governance need a backend with Object Lock (local has none). */
static void bucket_and_object_lock_commands_on_local(void **state)
{
    char *local = scratch_file("kept", "kept");
    expect_ok(stor("put", local, "demo/k"));
    struct test_run run = stor("bucket", "demo");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "private   demo  -  -\n");
    test_run_free(&run);
    run = stor("bucket", "--private", "demo"); /* nothing to change, and said so */
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "private   demo  -  -\n");
    test_run_free(&run);
    expect_failure(stor("bucket", "nosuch"), 3, "nosuch");
    expect_failure(stor("bucket", "--private", "nosuch"), 3, "nosuch");
    expect_failure(stor("bucket", "--public", "demo"), 6, "no public buckets");
    expect_failure(stor("bucket", "--keep-old-versions=3d", "demo"), 2, "keep_old_versions");
    expect_failure(stor("-o", "bucket.hide_after=1d", "bucket", "demo"), 2, "hide_after");
    expect_failure(stor("retention", "demo/k", "governance:1d"), 6, "backend local does not support retention");
    expect_failure(stor("retention", "demo/k", "forever"), 2, "retention expects");
    expect_failure(stor("legal-hold", "demo/k", "on"), 6, "backend local does not support legal-hold");
    expect_failure(stor("legal-hold", "demo/k", "maybe"), 2, "legal-hold expects on or off");
    expect_failure(stor("rm", "--bypass-governance", "demo/k"), 2, "with --hard or --version only");
    expect_failure(stor("rm", "--hard", "--bypass-governance", "demo/k"), 6, "rm --bypass-governance");
    run = stor("stat", "demo/k"); /* still there */
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    free(local);
}

/* NAME:BUCKET/KEY names the backend in the argument; a word that is no backend stays part of
 * the name, and two backends in one command are refused for now. */
static void remotes_name_their_backend(void **state)
{
    char *local = scratch_file("notes", "notes");
    expect_ok(stor("put", local, "local:demo/notes"));
    struct test_run run = stor("ls", "local:demo");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "  notes\n"));
    test_run_free(&run);
    expect_ok(stor("cp", "local:demo/notes", "demo/copy"));
    run = stor("get", "local:demo/copy", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "notes");
    test_run_free(&run);
    expect_failure(stor("ls", "nosuch:demo"), 3, "no bucket 'nosuch:demo'");
    /* sync: a named remote is remote even where a directory of that name exists here. */
    char target[4300], shadow[4300];
    snprintf(target, sizeof target, "%s/sync-target", fx->dir);
    snprintf(shadow, sizeof shadow, "%s/demo", fx->dir); /* ./demo exists where stor runs */
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(mkdir(shadow, 0700), 0);
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor"));
    const char *argv[] = {binary, "sync", "local:demo", "./sync-target", NULL};
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(fx->dir), 0);
    const char *env[] = {fx->root_env, fx->home_env, NULL};
    struct test_run synced = test_run(argv, env, NULL);
    assert_int_equal(chdir(cwd), 0);
    if (synced.status != 0)
        fail_msg("sync local:demo ./sync-target: %s", synced.err);
    test_run_free(&synced);
    snprintf(target, sizeof target, "%s/sync-target/notes", fx->dir);
    char *synced_notes = test_read_file(target, NULL);
    assert_string_equal(synced_notes, "notes");
    free(synced_notes);
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("tests/fixtures/.libs"));
    run = stor(dir, "sync", "local:demo", "good:x"); /* remote to remote, between two backends */
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "sync: 2 copied, 0 updated, 0 deleted"));
    test_run_free(&run);
    run = stor(dir, "--backend=good", "ls", "local:demo"); /* the named backend wins */
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "  notes\n"));
    test_run_free(&run);
    run = stor(dir, "cp", "local:demo/notes", "good:demo/x"); /* between two backends */
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "copied demo/notes to demo/x (5 bytes"));
    test_run_free(&run);
    run = stor(dir, "ls", "good:x"); /* the fixture's listing: the backend came from the name */
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "fixture-object"));
    test_run_free(&run);
    free(local);
}

/* get -r never writes into a FIFO planted under one of the tree's names (a reader waits on it:
 * a write would reach it); the other files arrive, and the run is a partial failure. */
static void get_r_leaves_a_planted_fifo_alone(void **state)
{
    char *local = scratch_file("payload", "payload");
    expect_ok(stor("put", local, "demo/tree/pipe"));
    expect_ok(stor("put", local, "demo/tree/plain"));
    char target[4200], fifo[4300], plain[4300];
    snprintf(target, sizeof target, "%s/target", fx->dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", target);
    snprintf(plain, sizeof plain, "%s/plain", target);
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int reader = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(reader >= 0);
    struct test_run run = stor("get", "-r", "demo/tree", target);
    assert_int_equal(run.status, 7);
    assert_non_null(strstr(run.err, "pipe is not a regular file"));
    test_run_free(&run);
    char buffer[16];
    assert_true(read(reader, buffer, sizeof buffer) <= 0); /* nothing was written into it */
    close(reader);
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    char *data = test_read_file(plain, NULL);
    assert_string_equal(data, "payload");
    free(data);
    free(local);
}

/* A backend that keeps metadata gets the type of the name's extension (/etc/mime.types) unless
 * --content-type says otherwise, and every header and --meta pair, in put_ex. */
static void put_sends_content_type_and_metadata(void **state)
{
    char *local = scratch_file("page.html", "<p>hi</p>");
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("kit/example/.libs"));
    struct test_run run = stor(dir, "--backend=memory", "--json", "put", local, "b/page.html");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"contentType\":\"text/html\""));
    test_run_free(&run);
    run = stor(dir, "--backend=memory", "--json", "put", local, "b/NAME.TXT");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"contentType\":\"text/plain\""));
    test_run_free(&run);
    run = stor(dir, "--backend=memory", "--json", "put", "--content-type", "application/x-mine",
               "--meta", "owner=me", "--meta=team=ops", "--cache-control=no-cache",
               "--expires", "Thu, 01 Dec 2044 16:00:00 GMT", local, "b/page.html");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"contentType\":\"application/x-mine\""));
    assert_non_null(strstr(run.out, "\"cacheControl\":\"no-cache\""));
    assert_non_null(strstr(run.out, "\"expires\":\"Thu, 01 Dec 2044 16:00:00 GMT\""));
    assert_non_null(strstr(run.out, "\"metadata\":{\"owner\":\"me\",\"team\":\"ops\"}"));
    test_run_free(&run);
    run = stor(dir, "--backend=memory", "--json", "put", local, "b/no-extension");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\"contentType\":null"));
    test_run_free(&run);
    free(local);
}

/* Plugin notes are paragraphs: a newline is a space, a blank line starts a new paragraph. */
static void help_notes_are_paragraphs(void **state)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "--plugin-dir=%s", test_build_path("tests/fixtures/.libs"));
    const char *argv[] = {test_build_path("stor"), dir, "--backend=flat", "--help", NULL};
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", argv[0]);
    argv[0] = binary;
    const char *env[] = {"COLUMNS=100", fx->home_env, NULL};
    struct test_run run = test_run(argv, env, NULL);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\n\nA first paragraph, written on two lines.\n\nA second paragraph.\n"));
    test_run_free(&run);
}

/* put FILE BUCKET/PREFIX/ (or BUCKET alone) keeps FILE's name under it, as cp does. */
static void put_into_a_prefix_keeps_the_file_name(void **state)
{
    char *local = scratch_file("notes.txt", "kept name");
    expect_ok(stor("put", local, "demo/dir/"));
    expect_ok(stor("put", local, "demo"));
    struct test_run run = stor("ls", "-r", "demo");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, " dir/notes.txt\n"));
    assert_non_null(strstr(run.out, " notes.txt\n"));
    test_run_free(&run);
    free(local);
}

/* The local backend serves byte ranges, and refuses one outside the object in words. */
static void local_get_serves_ranges(void **state)
{
    char *local = scratch_file("ten", "0123456789");
    expect_ok(stor("put", local, "demo/ten"));
    static const struct {
        const char *range, *bytes;
    } cases[] = {{"2-4", "234"}, {"7-", "789"}, {"0-0", "0"}, {"8-100", "89"}, {"0-", "0123456789"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char option[64];
        snprintf(option, sizeof option, "--range=%s", cases[i].range);
        struct test_run run = stor("get", option, "demo/ten", "-");
        if (run.status != 0 || strcmp(run.out, cases[i].bytes) != 0)
            fail_msg("%s: exit %d, out '%s', err %s", option, run.status, run.out, run.err);
        test_run_free(&run);
    }
    expect_failure(stor("get", "--range=10-", "demo/ten", "-"), 2, "outside the object");
    free(local);
}


/* --- profiles: the config file ------------------------------------------------------------- */

static char *config_path(void)
{
    char *path;
    assert_true(asprintf(&path, "%s/.config/stor/config", fx->dir) > 0);
    return path;
}

/* Writes the config file at its default place ($HOME/.config/stor/config), mode 600. */
static void write_config(const char *text)
{
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/.config", fx->dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/.config/stor", fx->dir);
    mkdir(dir, 0700);
    char *path = config_path();
    unlink(path);
    test_write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, 0600), 0);
    free(path);
}

static int exists_in(const char *dir, const char *rel)
{
    char path[8600];
    snprintf(path, sizeof path, "%s/%s/%s", fx->dir, dir, rel);
    return access(path, F_OK) == 0;
}

static void profiles_name_places(void **state)
{
    char *local = scratch_file("p.txt", "profile bytes\n");
    struct test_run run = stor("config");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "/.config/stor/config (from HOME): none there"));
    test_run_free(&run);
    char text[4096];
    snprintf(text, sizeof text,
             "# two profiles of one backend\n[work]\nbackend = local\nroot = %s/work-root\n\n"
             "; a profile of a backend's name shadows it\n[local]\n  backend=local  \n"
             "root = %s/shadow-root\n", fx->dir, fx->dir);
    write_config(text);
    expect_ok(stor("put", local, "work:bk/p.txt"));
    assert_true(exists_in("work-root", "bk/p.txt"));
    run = stor("--profile=work", "get", "bk/p.txt", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "profile bytes\n");
    test_run_free(&run);
    /* -o wins over the profile, the profile over the environment (STOR_LOCAL_ROOT). */
    char option[4300];
    snprintf(option, sizeof option, "root=%s/cli-root", fx->dir);
    expect_ok(stor("-o", option, "put", local, "work:bk/q"));
    assert_true(exists_in("cli-root", "bk/q"));
    assert_false(exists_in("work-root", "bk/q"));
    assert_false(exists_in("root", "bk/q"));
    expect_ok(stor("put", local, "local:bk/s"));
    assert_true(exists_in("shadow-root", "bk/s"));
    /* Two profiles are two places: cp and sync between them. */
    expect_ok(stor("cp", "work:bk/p.txt", "local:bk/p2"));
    assert_true(exists_in("shadow-root", "bk/p2"));
    run = stor("sync", "work:bk", "local:bk/mirror");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "sync: 1 copied, 0 updated"));
    test_run_free(&run);
    run = stor("check", "work:bk", "local:bk/mirror");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "check: 1 identical, 0 missing, 0 extra, 0 differing"));
    test_run_free(&run);
    run = stor("config");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "profile work (line 2): backend local"));
    assert_non_null(strstr(run.out, "profile local (line 7): backend local"));
    assert_non_null(strstr(run.out, "(it shadows the backend of its name)"));
    assert_non_null(strstr(run.out, "STOR_LOCAL_ROOT = "));
    test_run_free(&run);
    expect_failure(stor("--profile=nope", "ls", "bk"), 2, "--profile nope: no such profile");
    expect_failure(stor("ls", "nope:bk"), 3, "no bucket 'nope:bk'"); /* neither: part of the name */
    free(local);
}

/* The file holds secrets and names commands: only its owner may read or change it, and every
 * line must mean something. Each refusal says why, exit 2, and nothing runs. */
static void config_file_is_checked(void **state)
{
    write_config("[work]\nbackend = local\n");
    char *path = config_path();
    assert_int_equal(chmod(path, 0644), 0);
    expect_failure(stor("ls", "work:bk"), 2, "group or others may read or change it: chmod 600 it");
    expect_failure(stor("config"), 2, "chmod 600");
    assert_int_equal(chmod(path, 0620), 0);
    expect_failure(stor("--profile=work", "ls", "bk"), 2, "chmod 600");
    if (geteuid() == 0) {
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(chown(path, 65534, 65534), 0);
        expect_failure(stor("config"), 2, "owned by another user");
    }
    /* A FIFO planted at the path is refused at once, not waited on. */
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_failure(stor("config"), 2, "not a regular file");
    unlink(path);
    /* A link to a file of the user's own, mode 600, is followed. */
    char *real = scratch_file("real-config", "[work]\nbackend = local\n");
    assert_int_equal(chmod(real, 0600), 0);
    assert_int_equal(symlink(real, path), 0);
    struct test_run run = stor("config");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "profile work (line 1)"));
    test_run_free(&run);
    static const char *const broken[][2] = {
        {"backend = local\n", "line 1: backend is outside any [profile]"},
        {"[a]\nbackend = local\nroot = /x\nroot = /y\n", "line 4: root is set twice in [a]"},
        {"[a]\nroot = /x\n", "line 1: [a] names no backend"},
        {"[A]\nbackend = local\n", "line 1: profile name 'A' must be"},
        {"[a]\nbackend = ../evil\n", "is not a backend name"},
        {"[a]\nbackend = local\n[a]\nbackend = local\n", "line 3: profile [a] is defined twice"},
        {"[a]\nbackend = local\njust words\n", "line 3: expected KEY = VALUE or [NAME]"},
        {"[a]\nbackend = b2\nkey_file = /k\nkey_command = cat /k\n", "more than one way"},
        {"[a]\nbackend = b2\nkey = x\n", "has key without key_id"},
        {"[a] trailing\nbackend = local\n", "line 1: a section is [NAME] alone on its line"},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        write_config(broken[i][0]);
        expect_failure(stor("config"), 2, broken[i][1]);
    }
    /* A backend that reads no key file cannot take key_command: said, and the command never runs. */
    char text[4096], *ran = NULL;
    assert_true(asprintf(&ran, "%s/key-command-ran", fx->dir) > 0);
    snprintf(text, sizeof text, "[work]\nbackend = local\nkey_command = touch %s\n", ran);
    write_config(text);
    expect_failure(stor("ls", "work:bk"), 2, "backend local reads no key file: key_command does not apply");
    assert_int_not_equal(access(ran, F_OK), 0);
    free(ran);
    free(real);
    free(path);
}

/* Secrets are masked in every output; references (key_file, key_command) are shown. */
static void config_masks_secrets(void **state)
{
    write_config("[inline]\nbackend = b2\nkey_id = visible-id\nkey = top-secret-key\n"
                 "[cmd]\nbackend = b2\nkey_command = pass show b2\nsecret_token = hush-hush\n");
    const char *const forms[] = {"config", "--json"};
    for (int i = 0; i < 2; i++) {
        struct test_run run = i ? stor("--json", "config") : stor("config");
        assert_int_equal(run.status, 0);
        assert_null(strstr(run.out, "top-secret-key"));
        assert_null(strstr(run.out, "hush-hush"));
        assert_null(strstr(run.err, "top-secret-key"));
        assert_non_null(strstr(run.out, "visible-id"));
        assert_non_null(strstr(run.out, "pass show b2"));
        assert_non_null(strstr(run.out, "********"));
        if (i) {
            struct json_object *j = json_tokener_parse(run.out);
            if (!j)
                fail_msg("%s: not JSON: %s", forms[i], run.out);
            json_object_put(j);
        }
        test_run_free(&run);
    }
}

/* A config file's values are the user's text: `stor config` shows a terminal escape in one
 * escaped, never raw; an over-long backend name is cut in the one-line refusal. */
static void config_shows_values_escaped(void **state)
{
    write_config("[w]\nbackend = b2\nendpoint = http://x\033[2Jy\n");
    struct test_run run = stor("config");
    assert_int_equal(run.status, 0);
    if (strchr(run.out, '\033') || !strstr(run.out, "http://x\\x1B[2Jy"))
        fail_msg("config shows: %s", run.out);
    test_run_free(&run);
    char text[4200] = "[w]\nbackend = ";
    memset(text + strlen(text), 'x', 4000);
    strcat(text, "\n");
    write_config(text);
    run = stor("ls", "w:bucket");
    if (run.status != 2 || strlen(run.err) > 300 || !strstr(run.err, "is not a backend name"))
        fail_msg("exit %d, %zu bytes on stderr: %.300s", run.status, strlen(run.err), run.err);
    test_run_free(&run);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(help_is_wrapped_and_its_write_errors_count),
        T(one_level_listings_are_folded_for_a_backend_without_delimiter),
        T(rm_r_goes_through_remove_many),
        T(help_notes_are_paragraphs),
        T(put_hands_the_source_mtime_to_put_ex),
        T(buckets_are_made_listed_and_removed),
        T(stat_and_metadata_on_local),
        T(put_sends_content_type_and_metadata),
        T(protection_and_bucket_options_are_checked),
        T(get_r_leaves_a_planted_fifo_alone),
        T(bucket_and_object_lock_commands_on_local),
        T(remotes_name_their_backend),
        T(profiles_name_places),
        T(config_file_is_checked),
        T(config_masks_secrets),
        T(config_shows_values_escaped),
        T(names_are_utf8_and_printed_escaped),
        T(options_take_their_values_after_a_space),
        T(usage_errors_exit_2),
        T(put_into_a_prefix_keeps_the_file_name),
        T(help_and_version),
        T(put_ls_get_rm_round_trip),
        T(stdin_upload),
        T(not_found_exits_3_and_leaves_no_partial_file),
        T(escaping_keys_exit_2),
        T(unknown_backend_names_search_path_and_choices),
        T(relative_plugin_path_entries_are_ignored_with_a_warning),
        T(broken_plugins_get_clear_errors),
        T(option_from_environment_and_o_overrides),
        T(json_output_parses),
        T(put_r_and_get_r_round_trip_with_filters),
        T(dry_run_changes_nothing),
        T(hostile_names_are_refused_and_others_fetched),
        T(progress_only_where_asked),
        T(progress_shows_on_a_terminal),
        T(rm_r_asks_or_needs_yes),
        T(cp_and_mv_stream_through_stor_without_server_side_copy),
        T(unsupported_features_say_so),
        T(local_get_serves_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
