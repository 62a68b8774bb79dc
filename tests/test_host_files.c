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
    pid_t reader = fork();
    if (reader == 0) {
        alarm(30);
        int in = open(fifo, O_RDONLY), out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char buf[256];
        ssize_t n;
        while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(1);
        _exit(in >= 0 && out >= 0 ? 0 : 1);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
