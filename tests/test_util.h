/* test_util.h — small helpers shared by the host's tests: scratch directories, whole-file reads
 * and writes, and running a program with its output captured. */
#ifndef STOR_TEST_UTIL_H
#define STOR_TEST_UTIL_H

#include <stddef.h>

/* A fresh directory under $TMPDIR (or /tmp); the caller frees the string after test_rmtree. */
char *test_mkdtemp(void);
void test_rmtree(const char *path);

/* Writes len bytes to path (creating parents is the caller's job); asserts on failure. */
void test_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file into a NUL-terminated heap buffer (*len without the NUL); NULL if absent. */
char *test_read_file(const char *path, size_t *len);
/* Number of directory entries under path (recursively) whose name contains needle. */
int test_count_names(const char *path, const char *needle);

/* Asserts that the files at a and b hold the same bytes. */
void assert_same_file(const char *a, const char *b);

/* Path under $STOR_TEST_BUILDDIR (set by make check); asserts it is set. Static buffer. */
const char *test_build_path(const char *relative);

struct test_run {
    int status;   /* exit code, or 128 + signal */
    char *out;    /* captured stdout, NUL-terminated */
    char *err;    /* captured stderr */
};

/* Runs argv (argv[0] a path) with extra environment entries "NAME=VALUE" ("NAME" alone unsets),
 * feeding `input` (may be NULL) on stdin. */
struct test_run test_run(const char *const *argv, const char *const *env, const char *input);
void test_run_free(struct test_run *run);
/* Asserts that run (of stor) exited 0, showing its stderr if not; frees it. */
void expect_ok(struct test_run run);

#endif
