/* test_util.c — helpers for the host's CMocka tests (see test_util.h). */
#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *test_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path;
    assert_true(asprintf(&path, "%s/stor-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(path));
    return path;
}

void test_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *child;
        assert_true(asprintf(&child, "%s/%s", path, de->d_name) > 0);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            test_rmtree(child);
        else
            unlink(child);
        free(child);
    }
    closedir(d);
    rmdir(path);
}

void test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int test_count_names(const char *path, const char *needle)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strstr(de->d_name, needle))
            count++;
        char *child;
        assert_true(asprintf(&child, "%s/%s", path, de->d_name) > 0);
        count += test_count_names(child, needle);
        free(child);
    }
    closedir(d);
    return count;
}

void assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = test_read_file(a, &la), *y = test_read_file(b, &lb);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la);
    free(x);
    free(y);
}

const char *test_build_path(const char *relative)
{
    static char path[4096];
    const char *build = getenv("STOR_TEST_BUILDDIR");
    assert_non_null(build);
    snprintf(path, sizeof path, "%s/%s", build, relative);
    return path;
}

/* Drains both pipes at once so a chatty child never blocks on a full pipe. */
static void drain(int out_fd, int err_fd, char **out, char **err)
{
    size_t len[2] = {0, 0}, cap[2] = {4096, 4096};
    char *buf[2] = {malloc(cap[0]), malloc(cap[1])};
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_count = 2;
    while (open_count) {
        assert_true(poll(fds, 2, -1) >= 0);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            if (len[i] + 4096 > cap[i])
                buf[i] = realloc(buf[i], cap[i] *= 2);
            ssize_t n = read(fds[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_count--;
            } else {
                len[i] += (size_t)n;
            }
        }
    }
    buf[0][len[0]] = buf[1][len[1]] = '\0';
    *out = buf[0];
    *err = buf[1];
}

struct test_run test_run(const char *const *argv, const char *const *env, const char *input)
{
    int in[2], out[2], err[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        for (; env && *env; env++) {
            if (strchr(*env, '='))
                putenv((char *)*env);
            else
                unsetenv(*env);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (input) {
        size_t len = strlen(input);
        assert_int_equal(write(in[1], input, len), (ssize_t)len);
    }
    close(in[1]);
    struct test_run run = {0};
    drain(out[0], err[0], &run.out, &run.err);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

void test_run_free(struct test_run *run)
{
    free(run->out);
    free(run->err);
}

void expect_ok(struct test_run run)
{
    if (run.status != 0)
        fail_msg("stor exited %d: %s", run.status, run.err);
    test_run_free(&run);
}
