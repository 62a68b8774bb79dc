/* test_copy.c — cp and sync between two places, streamed through stor, against a source that
 * lies (tests/fixtures/liar.c): shorter or longer than listed, failing half-way or after its last
 * byte, a wrong SHA-1; a destination that refuses mid-way; a FIFO where the copy goes; no
 * temporary file, memory bounded for a large object, and no stat per file within sync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define SMALL (3LL << 20) /* the liar's sizes: one get */
#define BIG (20LL << 20)  /* in ranges */
#define HUGE (256LL << 20)
#define PREVIOUS "the previous object\n"

struct fixture {
    char *dir;
    char root_env[4200], home_env[4200], plugin_dir[4200];
};

static struct fixture *fx;

static int setup(void **state)
{
    fx = calloc(1, sizeof *fx);
    fx->dir = test_mkdtemp();
    snprintf(fx->root_env, sizeof fx->root_env, "STOR_LOCAL_ROOT=%s/root", fx->dir);
    snprintf(fx->home_env, sizeof fx->home_env, "HOME=%s", fx->dir);
    snprintf(fx->plugin_dir, sizeof fx->plugin_dir, "--plugin-dir=%s",
             test_build_path("tests/fixtures/hostile/.libs"));
    return 0;
}

static int teardown(void **state)
{
    test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* ./stor --plugin-dir=(the liar's) ARGS..., in a clean environment whose TMPDIR cannot be used:
 * a copy that needed a temporary file fails. */
static struct test_run stor_args(const char *first, ...)
{
    const char *argv[16];
    static char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor"));
    int n = 0;
    argv[n++] = binary;
    argv[n++] = fx->plugin_dir;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    const char *env[] = {fx->root_env, fx->home_env, "STOR_PLUGIN_PATH", "XDG_DATA_HOME",
                         "TMPDIR=/nonexistent/stor-test", NULL};
    return test_run(argv, env, NULL);
}

#define stor(...) stor_args(__VA_ARGS__, NULL)

static void expect_failure(struct test_run run, int code, const char *needle)
{
    if (run.status != code || strncmp(run.err, "stor: ", 6) != 0 || !strstr(run.err, needle) ||
        strchr(run.err, '\n') != run.err + strlen(run.err) - 1)
        fail_msg("exit %d (expected %d), stderr \"%s\" is not one 'stor:' line with \"%s\"",
                 run.status, code, run.err, needle);
    test_run_free(&run);
}

static char pattern_byte(int64_t at)
{
    return (char)((at * 7 + at / 4096) % 251);
}

/* The local backend's file for bucket/key holds exactly the liar's size bytes. Read in chunks:
 * this process stays small, and so does the memory a forked child starts from (see below). */
static void assert_pattern(const char *bucket, const char *key, int64_t size)
{
    char path[4400], buffer[65536];
    snprintf(path, sizeof path, "%s/root/%s/%s", fx->dir, bucket, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("%s: %s", path, strerror(errno));
    int64_t at = 0;
    for (ssize_t got; (got = read(fd, buffer, sizeof buffer)) > 0; at += got)
        for (ssize_t i = 0; i < got; i++)
            if (buffer[i] != pattern_byte(at + i))
                fail_msg("%s: byte %lld differs", path, (long long)(at + i));
    close(fd);
    assert_int_equal(at, size);
}

/* The destination's previous object, put there first; and afterwards: still it, alone. */
static void put_previous(const char *key)
{
    char local[4400];
    snprintf(local, sizeof local, "%s/previous", fx->dir);
    test_write_file(local, PREVIOUS, strlen(PREVIOUS));
    char target[256];
    snprintf(target, sizeof target, "local:bk/%s", key);
    expect_ok(stor("put", local, target));
}

static void assert_previous_alone(const char *key)
{
    char path[4400], dir[4400];
    snprintf(path, sizeof path, "%s/root/bk/%s", fx->dir, key);
    char *data = test_read_file(path, NULL);
    assert_non_null(data);
    assert_string_equal(data, PREVIOUS);
    free(data);
    snprintf(dir, sizeof dir, "%s/root/bk", fx->dir);
    assert_int_equal(test_count_names(dir, ""), 1); /* no partial or temporary file beside it */
}

/* The truth arrives whole, with its modification time, in one get and in ranges, without a
 * temporary file (TMPDIR is unusable) and without a SHA-1 to hold it to. */
static void an_honest_source_arrives_whole_without_a_temporary_file(void **state)
{
    expect_ok(stor("cp", "liar:honest/small", "local:bk/small"));
    assert_pattern("bk", "small", SMALL);
    struct test_run run = stor("-v", "cp", "liar:honest/big", "local:bk/big");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.err, "in 3 ranges"));
    test_run_free(&run);
    assert_pattern("bk", "big", BIG);
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/root/bk/big", fx->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((int64_t)st.st_mtime, 1700000000);
}

/* Fewer or more bytes than listed, a failure half-way or after the last byte, a SHA-1 the bytes
 * do not have: refused, in one get and in ranges, and the previous object stays, alone. */
static void a_lying_source_stores_nothing(void **state)
{
    static const struct {
        const char *bucket, *needle;
    } lies[] = {
        {"short", "fewer"},        {"long", "more"},
        {"failmid", "half-way"},     {"failend", "after the last byte"},
        {"badsha1", "not the da39a3ee5e6b4b0d3255bfef95601890afd80709 it listed"},
    };
    static const char *const keys[] = {"small", "big"};
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        for (size_t j = 0; j < 2; j++) {
            char source[64], target[64];
            snprintf(source, sizeof source, "liar:%s/%s", lies[i].bucket, keys[j]);
            snprintf(target, sizeof target, "local:bk/%s", keys[j]);
            put_previous(keys[j]);
            struct test_run run = stor("cp", source, target);
            if (run.status != 1 || !strstr(run.err, lies[i].needle))
                fail_msg("cp %s: exit %d, stderr %s", source, run.status, run.err);
            test_run_free(&run);
            assert_previous_alone(keys[j]);
            char path[4400];
            snprintf(path, sizeof path, "%s/root/bk/%s", fx->dir, keys[j]);
            assert_int_equal(unlink(path), 0);
        }
    }
}

/* An empty object: copied as one, and a source that fails without a byte to send leaves the
 * previous object (the relay holds back the end, not a byte). */
static void an_empty_object_is_held_back_too(void **state)
{
    expect_ok(stor("cp", "liar:honest/empty", "local:bk/empty"));
    assert_pattern("bk", "empty", 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/root/bk/empty", fx->dir);
    assert_int_equal(unlink(path), 0);
    put_previous("empty");
    expect_failure(stor("cp", "liar:failend/empty", "local:bk/empty"), 1, "after the last byte");
    assert_previous_alone("empty");
}

/* mv from a failing source removes nothing: the source stays, the destination too. */
static void a_failed_move_removes_nothing(void **state)
{
    put_previous("m");
    expect_failure(stor("mv", "liar:failend/small", "local:bk/m"), 1, "after the last byte");
    assert_previous_alone("m");
}

/* A destination that refuses mid-way: its error is the one reported, and the source's get
 * (still writing) ends without hanging. */
static void a_destination_that_refuses_is_reported(void **state)
{
    expect_failure(stor("cp", "liar:honest/small", "liar:refuse/x"), 1, "the disk is full");
    expect_failure(stor("cp", "liar:honest/big", "liar:refuse/x"), 1, "the disk is full");
}

/* A FIFO where the object goes is replaced, never opened (nothing reads it: a write would hang),
 * and a socket beside it likewise. */
static void a_fifo_in_the_way_is_not_written_into(void **state)
{
    char dir[4400], fifo[4500];
    snprintf(dir, sizeof dir, "%s/root", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof dir, "%s/root/bk", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_ok(stor("cp", "liar:honest/small", "local:bk/fifo"));
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_pattern("bk", "fifo", SMALL);
}

/* sync takes size, modification time and (where listed) metadata from the source's listing: no
 * stat per file (the liar's "nostat" bucket fails every stat), while a lone cp still stats; a
 * second sync finds everything unchanged. */
static void sync_needs_no_stat_of_each_file(void **state)
{
    expect_failure(stor("cp", "liar:nostat/small", "local:bk/one"), 1, "stat was called");
    struct test_run run = stor("sync", "liar:nostat", "local:synced");
    if (run.status != 0 || !strstr(run.out, "2 copied"))
        fail_msg("sync: exit %d, %s%s", run.status, run.out, run.err);
    test_run_free(&run);
    assert_pattern("synced", "small", SMALL);
    assert_pattern("synced", "big", BIG);
    run = stor("sync", "liar:nostat", "local:synced");
    if (run.status != 0 || !strstr(run.out, "0 copied, 0 updated, 0 deleted, 2 unchanged"))
        fail_msg("second sync: exit %d, %s%s", run.status, run.out, run.err);
    test_run_free(&run);
    /* A lying source within sync: the file fails, the run says so, nothing half-written. */
    run = stor("sync", "liar:failmid", "local:lied");
    if (run.status != 1 && run.status != 7)
        fail_msg("sync of a failing source: exit %d, %s", run.status, run.err);
    assert_non_null(strstr(run.err, "half-way"));
    test_run_free(&run);
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/root/lied", fx->dir);
    assert_true(access(dir, F_OK) != 0 || test_count_names(dir, "") == 0);
}

/* Peak memory (KiB, as the kernel counts it) of one cp of liar:honest/KEY to a sink. The kernel
 * counts the forked child's copy of this process too, before the exec: this process stays small. */
static long peak_of_copy(const char *key)
{
    char source[64], target[64];
    snprintf(source, sizeof source, "liar:honest/%s", key);
    snprintf(target, sizeof target, "liar:sink/%s", key);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        setenv("HOME", fx->dir, 1);
        unsetenv("STOR_PLUGIN_PATH");
        execl(test_build_path("stor"), "stor", fx->plugin_dir, "--transfers=8", "cp", source,
              target, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage usage;
    assert_int_equal(wait4(pid, &status, 0, &usage), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return usage.ru_maxrss;
}

/* 128 and 256 MiB in ranges to a sink: the peak stays below the object's size, and twice the
 * object takes no more memory than once (the ring of 8 x 8 MiB parts is the same; a buffer of the
 * object's size would add 128 MiB). Measured by the kernel, not by a clock; the bounds leave room
 * for a sanitized build, whose own memory does not grow with the object either. */
static void memory_stays_bounded_for_a_large_object(void **state)
{
    long half = peak_of_copy("half"), whole = peak_of_copy("huge");
    if (whole > 200 * 1024 || whole - half > 32 * 1024)
        fail_msg("peak memory: %ld KiB copying 128 MiB, %ld KiB copying 256 MiB", half, whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(an_honest_source_arrives_whole_without_a_temporary_file),
        T(a_lying_source_stores_nothing),
        T(an_empty_object_is_held_back_too),
        T(a_failed_move_removes_nothing),
        T(a_destination_that_refuses_is_reported),
        T(a_fifo_in_the_way_is_not_written_into),
        T(sync_needs_no_stat_of_each_file),
        T(memory_stays_bounded_for_a_large_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
