/* test_b2_fault_matrix.c — every fault the B2 test server can inject, at every call of a small upload,
 * a large-file upload and a download: each ends stored once / fetched exactly, or fails cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b2_cli.h"
#include "fault_matrix.h"

enum op { SMALL, LARGE, DOWNLOAD, OPS };
static const char *const op_names[OPS] = {"small upload", "large upload", "download"};

/* The calls of each operation a fault is injected into (NULL-terminated). */
static const char *const points[OPS][5] = {
    [SMALL] = {"b2_get_upload_url", "b2_upload_file", NULL},
    [LARGE] = {"b2_start_large_file", "b2_get_upload_part_url", "b2_upload_part", "b2_finish_large_file", NULL},
    [DOWNLOAD] = {"b2_download_file_by_name", "b2_download_file_by_id", NULL},
};

struct fault {
    const char *row;
    const char *path;  /* control endpoint; NULL: connection refused */
    const char *rule;  /* the rule, API standing for the call */
    int exit_code;     /* what stor must end with: 0, or the documented failure */
    int only;          /* -1: every operation; else only this one (the server offers it nowhere else) */
    int per_point;     /* transient, but one call at a time (answer late or lost: each call was done) */
};

static const struct fault faults[] = {
    {"503 before the call", "/_test/fail", "{\"api\": \"API\", \"status\": 503, \"count\": 1}", 0, -1, 0},
    {"500", "/_test/fail", "{\"api\": \"API\", \"status\": 500, \"count\": 1}", 0, -1, 0},
    {"408", "/_test/fail", "{\"api\": \"API\", \"status\": 408, \"count\": 1}", 0, -1, 0},
    {"429 with Retry-After", "/_test/fail", "{\"api\": \"API\", \"status\": 429, \"count\": 1, \"retry_after\": 0}", 0, -1, 0},
    {"429 without Retry-After", "/_test/fail", "{\"api\": \"API\", \"status\": 429, \"count\": 1}", 0, -1, 0},
    {"401 expired_auth_token", "/_test/fail", "{\"api\": \"API\", \"status\": 401, \"code\": \"expired_auth_token\", \"count\": 1}", 0, -1, 0},
    {"401 bad_auth_token", "/_test/fail", "{\"api\": \"API\", \"status\": 401, \"code\": \"bad_auth_token\", \"count\": 1}", 0, -1, 0},
    {"truncated JSON (503)", "/_test/fail", "{\"api\": \"API\", \"status\": 503, \"count\": 1, \"body\": \"{\\\"status\\\": 503, \\\"co\"}", 0, -1, 0},
    {"HTML instead of JSON (502)", "/_test/fail", "{\"api\": \"API\", \"status\": 502, \"count\": 1, \"body\": \"<html><body>502 Bad Gateway</body></html>\"}", 0, -1, 0},
    {"200 with truncated JSON", "/_test/fail", "{\"api\": \"API\", \"status\": 200, \"count\": 1, \"body\": \"{\\\"fileId\\\": \\\"4_z\"}", 1, -1, 0},
    {"dropped mid-body", "/_test/drop", "{\"api\": \"API\", \"count\": 1, \"after_bytes\": 500}", 0, -1, 0},
    {"dropped after the request", "/_test/drop", "{\"api\": \"API\", \"count\": 1, \"after_bytes\": 1000000000}", 0, -1, 0},
    {"connection reset mid-body", "/_test/drop", "{\"api\": \"API\", \"count\": 1, \"after_bytes\": 500, \"reset\": true}", 0, -1, 0},
    {"slow past timeout", "/_test/delay", "{\"api\": \"API\", \"ms\": 2500, \"count\": 1}", 0, -1, 1},
    {"done, answer lost", "/_test/drop", "{\"api\": \"API\", \"count\": 1, \"after_call\": true}", 0, -1, 1},
    {"corrupted body", "/_test/corrupt", "{\"api\": \"API\", \"count\": 1}", 1, DOWNLOAD, 0},
    {"503 for good", "/_test/fail", "{\"api\": \"API\", \"status\": 503, \"count\": -1}", 5, -1, 0},
    {"dropped for good", "/_test/drop", "{\"api\": \"API\", \"count\": -1, \"after_bytes\": 500}", 5, -1, 0},
    {"connection refused", NULL, NULL, 5, -1, 0},
};
#define ROWS (sizeof faults / sizeof faults[0])

/* A call done whose answer never left the server: counted as a failure there. */
static int done_unanswered(const struct fault *f, const char *point, const char *call)
{
    return f->rule && strstr(f->rule, "after_call") && point && strcmp(point, call) == 0;
}

static struct b2_cli *fx;
static char *dir; /* fx->dir: the scratch directory, the cache under it */
static char *small_file, *large_file;

/* Permanent faults get a short retry budget, so that giving up takes seconds. */
static int short_budget;

/* ./stor --backend=b2 ARGS... (NULL-terminated) against endpoint ("STOR_B2_ENDPOINT=URL"; NULL:
 * the test server), with a short timeout and 5 MiB parts. */
static struct test_run stor_b2(const char *endpoint, const char *first, ...)
{
    const char *args[40] = {"-o", "timeout=1", "-o", "upload_cutoff=5MiB", "-o", "part_size=5MiB"};
    int n = 6;
    if (short_budget) {
        args[n++] = "-o";
        args[n++] = "retries=2";
        args[n++] = "-o";
        args[n++] = "retry_time=3";
    }
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 39; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return b2_cli_run(fx, &(struct b2_cli_as){.env_endpoint = endpoint}, args);
}

#define control(path, body) b2_cli_control(fx, path, body)
#define succeeded(api) b2_cli_succeeded(fx, api)

/* Versions stored under one name (finished uploads only), from stor's own JSON listing. */
static int versions_of(const char *remote)
{
    struct test_run run = stor_b2(NULL, "--json", "ls", "--versions", remote, NULL);
    assert_int_equal(run.status, 0);
    int n = 0;
    for (char *line = strtok(run.out, "\n"); line; line = strtok(NULL, "\n")) {
        struct json_object *j = json_tokener_parse(line);
        assert_non_null(j);
        if (strcmp(json_object_get_string(json_object_object_get(j, "key")), remote + strlen("test-bucket/")) == 0)
            n++;
        json_object_put(j);
    }
    test_run_free(&run);
    return n;
}

/* The unfinished large files cleanup would cancel under remote (a dry run says how many). */
static int unfinished(const char *remote)
{
    struct test_run run = stor_b2(NULL, "cleanup", "--dry-run", remote, NULL);
    if (run.status != 0)
        fail_msg("cleanup --dry-run: %s", run.err);
    int n = -1;
    const char *said = strstr(run.out, "cleanup: ");
    assert_non_null(said);
    assert_int_equal(sscanf(said, "cleanup: %d unfinished upload", &n), 1);
    test_run_free(&run);
    return n;
}

#define assert_one_line_error fault_matrix_assert_one_line_error

static void closed_port_endpoint(char *env, size_t size)
{
    snprintf(env, size, "STOR_B2_ENDPOINT=http://127.0.0.1:%u", fault_matrix_closed_port());
}

/* Installs the cell's fault on one call, or on every call of the operation (point NULL). */
static void install(const struct fault *f, const char *point, enum op op)
{
    for (int i = 0; points[op][i]; i++) {
        if (point && strcmp(point, points[op][i]) != 0)
            continue;
        char rule[512];
        const char *api = strstr(f->rule, "API");
        snprintf(rule, sizeof rule, "%.*s%s%s", (int)(api - f->rule), f->rule, points[op][i], api + 3);
        control(f->path, rule);
    }
}

/* One run of the operation with the fault at `point` (NULL: at every point at once). */
static void run_cell(const struct fault *f, enum op op, const char *point, int serial)
{
    char cache[4300], remote[256], dest[4300], partial[4300], endpoint[256];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    test_rmtree(cache); /* cold: authorize and get targets under the fault too */
    control("/_test/reset", "{\"counters\": true, \"faults\": true}");
    snprintf(remote, sizeof remote, "test-bucket/m/%s-%d-%zu", op == LARGE ? "large" : "small", serial,
             (size_t)(f - faults));
    const char *local = op == LARGE ? large_file : small_file;
    if (op == DOWNLOAD) { /* the object to fetch, stored before the fault */
        struct test_run put = stor_b2(NULL, "put", small_file, remote, NULL);
        assert_int_equal(put.status, 0);
        test_run_free(&put);
        control("/_test/reset", "{\"counters\": true}");
    }
    const char *use_endpoint = NULL;
    if (!f->path) {
        closed_port_endpoint(endpoint, sizeof endpoint);
        use_endpoint = endpoint;
    } else {
        install(f, point, op);
    }
    struct test_run run;
    short_budget = f->exit_code != 0;
    snprintf(dest, sizeof dest, "%s/dest", dir);
    snprintf(partial, sizeof partial, "%s/.dest.stor-partial", dir);
    if (op == DOWNLOAD) {
        test_write_file(dest, "old content\n", 12);
        if (point && strcmp(point, "b2_download_file_by_id") == 0) {
            /* By id: the version's id from the listing. */
            struct test_run ls = stor_b2(NULL, "--json", "ls", "--versions", remote, NULL);
            assert_int_equal(ls.status, 0);
            struct json_object *j = json_tokener_parse(ls.out);
            assert_non_null(j);
            char version[300];
            snprintf(version, sizeof version, "--version=%s",
                     json_object_get_string(json_object_object_get(j, "id")));
            json_object_put(j);
            test_run_free(&ls);
            run = stor_b2(use_endpoint, "get", version, remote, dest, NULL);
        } else {
            run = stor_b2(use_endpoint, "get", remote, dest, NULL);
        }
    } else {
        run = stor_b2(use_endpoint, "put", local, remote, NULL);
    }
    short_budget = 0;
    int want = f->exit_code;
    if (run.status != want)
        fail_msg("%s, %s at %s: exit %d (want %d): %s", f->row, op_names[op], point ? point : "every call",
                 run.status, want, run.err);
    if (want != 0)
        assert_one_line_error(&run);
    control("/_test/reset", "{\"counters\": false, \"faults\": true}");

    if (op == DOWNLOAD) {
        if (f->exit_code == 0) {
            assert_same_file(small_file, dest);
        } else {
            char *old = test_read_file(dest, NULL);
            assert_string_equal(old, "old content\n"); /* the old destination is untouched */
            free(old);
        }
        /* Nothing arrived before the failure, so nothing is kept to resume. */
        assert_int_equal(access(partial, F_OK), -1);
        unlink(dest);
    } else if (f->exit_code == 0) {
        /* Stored once, and what is stored is the file's bytes. */
        /* A call answered after the timeout was done all the same: stor must notice that
         * instead of storing the bytes again or leaving a started large file behind. */
        int versions = versions_of(remote);
        if (versions != 1)
            fail_msg("%s, %s at %s: %d versions stored", f->row, op_names[op], point ? point : "every call", versions);
        if (op == SMALL)
            assert_int_equal(succeeded("b2_upload_file") + done_unanswered(f, point, "b2_upload_file"), 1);
        else
            assert_int_equal(succeeded("b2_finish_large_file") +
                                 done_unanswered(f, point, "b2_finish_large_file"), 1);
        int left = unfinished(remote);
        if (left != 0)
            fail_msg("%s, %s at %s: %d unfinished large files left", f->row, op_names[op],
                     point ? point : "every call", left);
        struct test_run get = stor_b2(NULL, "get", remote, dest, NULL);
        assert_int_equal(get.status, 0);
        test_run_free(&get);
        assert_same_file(local, dest);
        unlink(dest);
    } else {
        assert_int_equal(versions_of(remote), 0);
        /* A large upload that got as far as b2_start_large_file is kept for resume, and says so. */
        int started = op == LARGE && succeeded("b2_start_large_file") == 1;
        assert_int_equal(unfinished(remote), started);
        if (started) {
            if (!strstr(run.err, "run the same put again to resume it") || !strstr(run.err, "cleanup"))
                fail_msg("%s at %s: no word on resume or cleanup: %s", f->row, point, run.err);
            struct test_run clean = stor_b2(NULL, "cleanup", remote, NULL);
            assert_int_equal(clean.status, 0);
            test_run_free(&clean);
            assert_int_equal(unfinished(remote), 0);
            /* Asked not to resume, the same failure leaves nothing behind. */
            install(f, point, op);
            short_budget = 1;
            struct test_run again = stor_b2(use_endpoint, "put", "--no-resume", local, remote, NULL);
            short_budget = 0;
            control("/_test/reset", "{\"counters\": false, \"faults\": true}");
            if (again.status != want || !strstr(again.err, "cancelled (resume=no)"))
                fail_msg("%s at %s with --no-resume: exit %d: %s", f->row, point, again.status, again.err);
            assert_one_line_error(&again);
            test_run_free(&again);
            assert_int_equal(unfinished(remote), 0);
        }
    }
    test_run_free(&run);
}

static void cell(size_t row, size_t op, char *result, size_t size)
{
    const struct fault *f = &faults[row];
    if (f->only >= 0 && f->only != (int)op) {
        snprintf(result, size, "-");
        return;
    }
    int serial = 0;
    if (!f->path) {
        run_cell(f, (enum op)op, NULL, serial++);
    } else if (f->exit_code == 0 && op != DOWNLOAD && !f->per_point) {
        run_cell(f, (enum op)op, NULL, serial++); /* a transient fault at every call at once */
    } else {
        for (int i = 0; points[op][i]; i++) /* one call at a time */
            run_cell(f, (enum op)op, points[op][i], serial++);
    }
    if (f->exit_code == 0)
        snprintf(result, size, "ok");
    else
        snprintf(result, size, "ok (failed cleanly: exit %d)", f->exit_code);
}

static int group_setup(void **state)
{
    (void)state;
    fx = b2_cli_start(B2_CLI_ARGS("--threads", "0"));
    dir = fx->dir;
    small_file = b2_cli_local_file(fx, "small", 3000, 1);
    large_file = b2_cli_local_file(fx, "large", 12 * 1024 * 1024 + 12345, 2);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    b2_cli_stop(fx);
    free(small_file);
    free(large_file);
    return 0;
}

static const char *row_name(size_t row)
{
    return faults[row].row;
}

int main(void)
{
    const struct fault_matrix matrix = {
        .rows = ROWS, .ops = OPS, .row_name = row_name, .op_names = op_names, .run = cell,
        .setup = group_setup, .teardown = group_teardown,
        .legend = "# ok: stored once / fetched exactly; failed cleanly: one line, the documented exit code,\n"
                  "# nothing half-written (a failed large upload kept for resume, or with --no-resume\n"
                  "# cancelled); each fault at each call of the operation in turn\n"};
    return fault_matrix_main(&matrix);
}
