/* test_s3_fault_matrix.c — every fault the S3 test server can inject (an S3 error answered
 * instead, the connection dropped; and a port nothing answers on), at every call of a small and a
 * multipart upload, a download, a listing, a remove and a server-side copy: each cell ends in
 * exact bytes done once, or one clear line with the documented exit code and nothing half-written.
 * The cell runner and the table are fault_matrix.c's, shared with the B2 matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault_matrix.h"
#include "fault_proxy.h"
#include "s3_cli.h"

enum op { SMALL, LARGE, RESUME, DOWNLOAD, LIST, REMOVE, COPY, OPS };
static const char *const op_names[OPS] = {"small upload", "multipart upload", "resumed multipart",
                                          "download", "ls -r -l", "rm", "cp"};

/* The S3 operations each of ours makes, in the order it makes them (NULL-terminated): faults go
 * into each in turn, and a clean run is checked to make exactly these, so a call added later
 * cannot slip past the matrix. */
static const char *const points[OPS][5] = {
    [SMALL] = {"PutObject", NULL},
    [LARGE] = {"ListMultipartUploads", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", NULL},
    /* every part already uploaded by a put whose CompleteMultipartUpload was refused */
    [RESUME] = {"ListMultipartUploads", "ListParts", "CompleteMultipartUpload", "HeadObject", NULL},
    [DOWNLOAD] = {"GetObject", NULL},
    [LIST] = {"ListObjectsV2", "HeadObject", NULL},
    [REMOVE] = {"HeadObject", "DeleteObject", NULL},
    [COPY] = {"HeadObject", "CopyObject", NULL},
};

struct fault {
    const char *row;
    /* the control command, OP standing for the operation; NULL: the proxy's fault below, or
     * (none there) a port nothing answers on */
    const char *rule;
    int exit_code;      /* what stor must end with: 0, or the documented failure */
    /* The same at a HeadObject, whose answer has no body: a row that speaks through S3's error
     * code alone is a bare 400 there (invalid argument, exit 2). 0: exit_code. */
    int head_exit_code;
    /* Through tests/fault_proxy.c, for what the server cannot do to its own answers: the first
     * answer of the next proxy_count connections (stor's first call; -1: every one). */
    enum fault_proxy_kind proxy;
    long proxy_arg;
    int proxy_count;
    unsigned only; /* a mask of 1 << op: the operations whose first answer has such a body; 0: all */
};
/* What a download of bytes that are not the object's ends with. */
#define CORRUPT_EXIT 1
#define BODIES (1u << LARGE | 1u << RESUME | 1u << DOWNLOAD | 1u << LIST)

static const struct fault faults[] = {
    {"503 SlowDown", "fail?op=OP&status=503&count=1", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"500 InternalError", "fail?op=OP&status=500&count=1", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"502 Bad Gateway", "fail?op=OP&status=502&code=BadGateway&count=1", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"504 Gateway Timeout", "fail?op=OP&status=504&code=GatewayTimeout&count=1", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"400 RequestTimeout", "fail?op=OP&status=400&code=RequestTimeout&count=1", 0, 2, FAULT_PROXY_NONE, 0, 0, 0},
    {"429 TooManyRequests", "fail?op=OP&status=429&code=TooManyRequests&count=1", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"400 Throttling", "fail?op=OP&status=400&code=Throttling&count=1", 0, 2, FAULT_PROXY_NONE, 0, 0, 0},
    {"dropped connection", "drop?op=OP&count=1", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"dropped twice", "drop?op=OP&count=2", 0, 0, FAULT_PROXY_NONE, 0, 0, 0},
    /* Permanent answers: asked once (count=1), so a retry would turn them into a success and
     * fail the cell. */
    {"403 AccessDenied", "fail?op=OP&status=403&code=AccessDenied&count=1", 4, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"403 SignatureDoesNotMatch", "fail?op=OP&status=403&code=SignatureDoesNotMatch&count=1", 4, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"404 NoSuchBucket", "fail?op=OP&status=404&code=NoSuchBucket&count=1", 3, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"400 InvalidArgument", "fail?op=OP&status=400&code=InvalidArgument&count=1", 2, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"400 BadDigest", "fail?op=OP&status=400&code=BadDigest&count=1", 1, 2, FAULT_PROXY_NONE, 0, 0, 0},
    {"503 for good", "fail?op=OP&status=503&count=-1", 5, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"dropped for good", "drop?op=OP&count=-1", 5, 0, FAULT_PROXY_NONE, 0, 0, 0},
    {"connection refused", NULL, 5, 0, FAULT_PROXY_NONE, 0, 0, 0},
    /* Through the proxy: */
    {"slow answer (past timeout)", NULL, 0, 0, FAULT_PROXY_DELAY, 3500, 1, 0},
    {"cut after the headers", NULL, 0, 0, FAULT_PROXY_TRUNCATE, 0, 1, BODIES},
    {"truncated body", NULL, 0, 0, FAULT_PROXY_TRUNCATE, 1000, 1, 1u << DOWNLOAD},
    {"truncated twice", NULL, 0, 0, FAULT_PROXY_TRUNCATE, 1000, 2, 1u << DOWNLOAD},
    {"corrupted body (wrong bytes)", NULL, CORRUPT_EXIT, 0, FAULT_PROXY_CORRUPT, 100, 1, 1u << DOWNLOAD},
    {"truncated for good", NULL, 5, 0, FAULT_PROXY_TRUNCATE, 1000, -1, 1u << DOWNLOAD},
};
#define ROWS (sizeof faults / sizeof faults[0])

static struct s3_cli *fx;
static struct fault_proxy *proxy;
static char *small_file, *large_file;
/* Failures meant to outlast the retries get a short budget, so that giving up takes a second. */
static int short_budget;

/* ./stor --backend=s3 ARGS... (NULL-terminated) against endpoint ("endpoint=URL"; NULL: the test
 * server), with a short stall timeout and 5 MiB parts. */
static struct test_run stor_s3(const char *endpoint, const char *first, ...)
{
    const char *args[40] = {"-o", "timeout=2", "-o", "upload_cutoff=5MiB", "-o", "part_size=5MiB",
                            "-o", "transfers=2"};
    int n = 8;
    if (short_budget) {
        args[n++] = "-o";
        args[n++] = "retries=3";
    }
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 39; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return s3_cli_run(fx, endpoint, args);
}

static void expect_stor_ok(const char *what, struct test_run run)
{
    if (run.status != 0)
        fail_msg("%s: exit %d: %s", what, run.status, run.err);
    test_run_free(&run);
}

/* Whether remote exists: 1, 0 (stat says not found, exit 3), anything else fails the test. */
static int exists(const char *remote)
{
    struct test_run run = stor_s3(NULL, "stat", remote, NULL);
    if (run.status != 0 && run.status != 3)
        fail_msg("stat %s: exit %d: %s", remote, run.status, run.err);
    int found = run.status == 0;
    test_run_free(&run);
    return found;
}

/* remote holds exactly the bytes of local. */
static void assert_stored(const char *remote, const char *local)
{
    char dest[4300];
    snprintf(dest, sizeof dest, "%s/check", fx->dir);
    expect_stor_ok("get back", stor_s3(NULL, "get", remote, dest, NULL));
    assert_same_file(local, dest);
    unlink(dest);
}

/* The unfinished multipart uploads cleanup would abort under remote (a dry run counts them). */
static int unfinished(const char *remote)
{
    struct test_run run = stor_s3(NULL, "cleanup", "--dry-run", remote, NULL);
    if (run.status != 0)
        fail_msg("cleanup --dry-run: %s", run.err);
    int n = -1;
    const char *said = strstr(run.out, "cleanup: ");
    assert_non_null(said);
    assert_int_equal(sscanf(said, "cleanup: %d unfinished upload", &n), 1);
    test_run_free(&run);
    return n;
}

/* Installs the cell's fault on one operation, or on every operation of ours (point NULL). */
static void install(const struct fault *f, const char *point, enum op op)
{
    for (int i = 0; points[op][i]; i++) {
        if (point && strcmp(point, points[op][i]) != 0)
            continue;
        char rule[256];
        const char *at = strstr(f->rule, "OP");
        snprintf(rule, sizeof rule, "%.*s%s%s", (int)(at - f->rule), f->rule, points[op][i], at + 2);
        s3_cli_control(fx, rule);
    }
}

/* The operations a clean run made since the last reset are exactly points[op]. */
static void assert_points_complete(enum op op)
{
    char *text = NULL;
    assert_int_equal(s3_test_server_control(fx->server, "counters", &text), 200);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        assert_int_equal(sscanf(line, "%63s", name), 1);
        int listed = 0;
        for (int i = 0; points[op][i]; i++)
            listed |= strcmp(points[op][i], name) == 0;
        if (!listed)
            fail_msg("%s made %s, which the matrix does not inject faults into", op_names[op], name);
    }
    free(text);
    for (int i = 0; points[op][i]; i++)
        if (s3_cli_succeeded(fx, points[op][i]) < 1)
            fail_msg("%s no longer makes %s", op_names[op], points[op][i]);
}

/* A multipart upload of remote left with every part uploaded: its CompleteMultipartUpload was
 * refused. What the resumed cells resume. */
static void leave_unfinished(const char *remote)
{
    s3_cli_control(fx, "fail?op=CompleteMultipartUpload&status=403&code=AccessDenied&count=1");
    struct test_run run = stor_s3(NULL, "put", large_file, remote, NULL);
    assert_int_equal(run.status, 4);
    test_run_free(&run);
    s3_cli_control(fx, "reset");
    assert_int_equal(unfinished(remote), 1);
}

static int has_point(enum op op, const char *name)
{
    for (int i = 0; points[op][i]; i++)
        if (strcmp(points[op][i], name) == 0)
            return 1;
    return 0;
}

static int at(const char *point, enum op op, const char *name)
{
    return point ? strcmp(point, name) == 0 : has_point(op, name);
}

/* The exit code the cell must end with. */
static int expected_exit(const struct fault *f, enum op op, const char *point)
{
    if (f->head_exit_code && at(point, op, "HeadObject"))
        return f->head_exit_code;
    /* Parts of the kept upload that cannot be listed: stor warns, naming cleanup, and starts a
     * fresh upload (tests/test_s3_put_resume.sh). */
    if (op == RESUME && point && strcmp(point, "ListParts") == 0)
        return 0;
    /* A key that may write but not list multipart uploads: stor warns and does not resume. */
    if ((op == LARGE || op == RESUME) && f->exit_code == 4 && point && strcmp(point, "ListMultipartUploads") == 0)
        return 0;
    /* An object gone between the listing and its HEAD was deleted meanwhile: not listed. */
    if (op == LIST && f->exit_code == 3 && point && strcmp(point, "HeadObject") == 0)
        return 0;
    return f->exit_code;
}

/* Every line of part is a line of whole, and part has `fewer` lines fewer. */
static void assert_listing_within(const char *whole, const char *part, int fewer)
{
    int lines_whole = 0, lines_part = 0;
    for (const char *c = whole; *c; c++)
        lines_whole += *c == '\n';
    char *copy = strdup(part), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines_part++;
        char *found = strstr(whole, line);
        if (!found || (found != whole && found[-1] != '\n') || found[strlen(line)] != '\n')
            fail_msg("listed a line the clean listing lacks: %s", line);
    }
    free(copy);
    assert_int_equal(lines_part, lines_whole - fewer);
}

/* One run of the operation with the fault at `point` (NULL: at every point at once); the exit
 * code it ended with, as expected. */
static int run_cell(const struct fault *f, enum op op, const char *point, int serial)
{
    char key[200], remote[300], copy[320], prefix[310], other[320], dest[4300], partial[4300];
    char endpoint[128], *listing = NULL;
    snprintf(key, sizeof key, "m/%d/%zu-%d", (int)op, (size_t)(f - faults), serial);
    snprintf(remote, sizeof remote, S3_HARNESS_BUCKET "/%s", key);
    snprintf(copy, sizeof copy, "%s.copy", remote);
    snprintf(prefix, sizeof prefix, "%s/", remote);
    snprintf(other, sizeof other, "%s/b", remote);
    snprintf(dest, sizeof dest, "%s/dest", fx->dir);
    snprintf(partial, sizeof partial, "%s/.dest.stor-partial", fx->dir);
    s3_cli_control(fx, "reset");

    /* What the operation works on, stored before the fault; and the clean answer to compare. */
    if (op == LIST) {
        char first[330];
        snprintf(first, sizeof first, "%s/a", remote);
        expect_stor_ok("put a", stor_s3(NULL, "put", small_file, first, NULL));
        expect_stor_ok("put b", stor_s3(NULL, "put", small_file, other, NULL));
        struct test_run clean = stor_s3(NULL, "ls", "-r", "-l", prefix, NULL);
        assert_int_equal(clean.status, 0);
        listing = strdup(clean.out);
        test_run_free(&clean);
        assert_non_null(strstr(listing, "/b"));
    } else if (op == RESUME) {
        leave_unfinished(remote);
    } else if (op != SMALL && op != LARGE) {
        expect_stor_ok("put the object", stor_s3(NULL, "put", small_file, remote, NULL));
    }
    if (op == DOWNLOAD)
        test_write_file(dest, "old content\n", 12);
    s3_cli_control(fx, "reset");

    const char *use_endpoint = endpoint;
    if (f->proxy) {
        snprintf(endpoint, sizeof endpoint, "endpoint=http://127.0.0.1:%u", fault_proxy_port(proxy));
        fault_proxy_set(proxy, f->proxy, f->proxy_arg, f->proxy_count);
    } else if (!f->rule) {
        snprintf(endpoint, sizeof endpoint, "endpoint=http://127.0.0.1:%u", fault_matrix_closed_port());
    } else {
        use_endpoint = NULL;
        install(f, point, op);
    }
    int want = expected_exit(f, op, point);
    short_budget = want != 0;
    struct test_run run;
    switch (op) {
    case SMALL: run = stor_s3(use_endpoint, "put", small_file, remote, NULL); break;
    case LARGE:
    case RESUME: run = stor_s3(use_endpoint, "put", large_file, remote, NULL); break;
    case DOWNLOAD: run = stor_s3(use_endpoint, "get", remote, dest, NULL); break;
    case LIST: run = stor_s3(use_endpoint, "ls", "-r", "-l", prefix, NULL); break;
    case REMOVE: run = stor_s3(use_endpoint, "rm", remote, NULL); break;
    default: run = stor_s3(use_endpoint, "cp", remote, copy, NULL); break;
    }
    short_budget = 0;
    const char *where = point ? point : f->proxy ? "the first answer" : "every call";
    if (f->proxy) {
        if (fault_proxy_hits(proxy) < 1)
            fail_msg("%s, %s: the proxy's fault hit no connection", f->row, op_names[op]);
        fault_proxy_set(proxy, FAULT_PROXY_NONE, 0, 0);
    }
    if (run.status != want)
        fail_msg("%s, %s at %s: exit %d (want %d): %s", f->row, op_names[op], where, run.status,
                 want, run.err);
    if (want != 0 && op == RESUME)
        fault_matrix_assert_one_error_line(&run); /* after the warning that it resumed */
    else if (want != 0)
        fault_matrix_assert_one_line_error(&run);
    if (strstr(run.err, S3_HARNESS_SECRET_KEY) || strstr(run.out, S3_HARNESS_SECRET_KEY))
        fail_msg("the secret in stor's output: %s", run.err);
    /* Not resuming is said, not silent. */
    int not_resuming = want == 0 && f->exit_code == 4 && (op == LARGE || op == RESUME) && point &&
                       strcmp(point, "ListMultipartUploads") == 0;
    if (not_resuming && !strstr(run.err, "cannot list unfinished uploads"))
        fail_msg("%s at %s: no warning that it does not resume: %s", f->row, where, run.err);
    if (f->rule)
        s3_cli_control(fx, "reset"); /* the checks below run without faults (and count afresh) */

    int ok = want == 0, completed = 0;
    switch (op) {
    case SMALL:
    case LARGE:
        if (ok)
            assert_stored(remote, op == LARGE ? large_file : small_file);
        else
            assert_int_equal(exists(remote), 0);
        break;
    case RESUME:
        /* Never a wrong or partial object: stored whole (a failed check after the upload was
         * completed), or not at all and the upload still kept. */
        completed = !ok && exists(remote);
        if (ok || completed)
            assert_stored(remote, large_file);
        break;
    case DOWNLOAD:
        if (ok) {
            assert_same_file(small_file, dest);
        } else {
            char *old = test_read_file(dest, NULL);
            assert_string_equal(old, "old content\n"); /* the old destination is untouched */
            free(old);
        }
        if (!ok && access(partial, F_OK) == 0) {
            /* Bytes that arrived before the failure are kept only to be continued, and said so;
             * the same get then ends with exact bytes. */
            if (!strstr(run.err, "bytes kept: the same get continues from there"))
                fail_msg("%s: a partial file kept without a word: %s", f->row, run.err);
            expect_stor_ok("get again", stor_s3(NULL, "get", remote, dest, NULL));
            assert_same_file(small_file, dest);
        }
        assert_int_equal(access(partial, F_OK), -1); /* nothing else kept half-written */
        unlink(dest);
        break;
    case LIST:
        if (ok)
            assert_listing_within(listing, run.out, f->exit_code == 3 ? 1 : 0);
        else if (strncmp(listing, run.out, strlen(run.out)) != 0) /* what came before is true */
            fail_msg("%s at %s: ls printed what the clean listing does not start with:\n%s", f->row,
                     where, run.out);
        break;
    case REMOVE:
        if (ok)
            assert_int_equal(exists(remote), 0);
        else
            assert_stored(remote, small_file); /* refused: still there, whole */
        break;
    default:
        if (ok)
            assert_stored(copy, small_file);
        else
            assert_int_equal(exists(copy), 0);
        assert_stored(remote, small_file); /* the source is untouched either way */
        break;
    }
    free(listing);

    if (op == LARGE || op == RESUME) {
        int left = unfinished(remote);
        /* After a success none is left, but the one stor said it could not see. */
        int orphan = op == RESUME && not_resuming;
        /* A resumed put that cannot list the kept upload's parts starts a fresh one and leaves
         * the kept one, saying so and how to remove it. */
        if (op == RESUME && f->exit_code != 0 && point && strcmp(point, "ListParts") == 0) {
            orphan = 1;
            if (ok && !strstr(run.err, "cleanup"))
                fail_msg("%s at %s: the kept upload left behind without a word: %s", f->row,
                         where, run.err);
        }
        if (ok && left != orphan)
            fail_msg("%s at %s: %d unfinished uploads left after a success", f->row, where, left);
        if (!ok && left > 1)
            fail_msg("%s at %s: %d unfinished uploads left", f->row, where, left);
        if (!ok && left == 1) {
            /* A multipart upload begun before the failure is kept for resume, and the message
             * says how to go on (the resumed cells' upload was kept before they ran). */
            if (op == LARGE &&
                (!strstr(run.err, "run the same put again to resume it") || !strstr(run.err, "cleanup")))
                fail_msg("%s at %s: no word on resume or cleanup: %s", f->row, where, run.err);
            /* Resumed without the fault, the upload finishes with the file's bytes. */
            struct test_run resumed = stor_s3(NULL, "put", large_file, remote, NULL);
            expect_stor_ok("resume", resumed);
            assert_stored(remote, large_file);
            /* Even a kept upload without any part is continued, not left behind. */
            if (unfinished(remote) != 0)
                fail_msg("%s at %s: the resumed upload left one behind", f->row, where);
            if (op == LARGE) {
                /* Asked not to resume, the same failure leaves nothing behind. */
                install(f, point, op);
                short_budget = 1;
                struct test_run again = stor_s3(use_endpoint, "put", "--no-resume", large_file, copy, NULL);
                short_budget = 0;
                s3_cli_control(fx, "reset");
                if (again.status != want)
                    fail_msg("%s at %s with --no-resume: exit %d: %s", f->row, where, again.status, again.err);
                fault_matrix_assert_one_line_error(&again);
                if (strstr(again.err, "resume it"))
                    fail_msg("%s at %s with --no-resume: offers to resume: %s", f->row, where, again.err);
                test_run_free(&again);
                assert_int_equal(unfinished(copy), 0);
                assert_int_equal(exists(copy), 0);
            }
        } else if (!ok && !completed && strstr(run.err, "resume it")) {
            fail_msg("%s at %s: offers to resume what is not kept: %s", f->row, where, run.err);
        }
        if (orphan && left == 1)
            expect_stor_ok("cleanup", stor_s3(NULL, "cleanup", remote, NULL));
    }
    test_run_free(&run);
    return want;
}

static void cell(size_t row, size_t op, char *result, size_t size)
{
    const struct fault *f = &faults[row];
    if (f->only && !(f->only & 1u << op)) {
        snprintf(result, size, "-");
        return;
    }
    int serial = 0, seen[8] = {0}; /* the exit codes the cell's runs ended with, as expected */
    if (!f->rule) {
        seen[run_cell(f, (enum op)op, NULL, serial++)] = 1;
    } else {
        if (f->exit_code == 0 && points[op][1]) /* a transient fault at every call at once */
            seen[run_cell(f, (enum op)op, NULL, serial++)] = 1;
        for (int i = 0; points[op][i]; i++) /* and at one call at a time */
            seen[run_cell(f, (enum op)op, points[op][i], serial++)] = 1;
    }
    /* "ok" when every run succeeded; else the exit codes they failed cleanly with. */
    size_t length = (size_t)snprintf(result, size, "ok");
    for (int code = 1, first = 1; code < 8; code++)
        if (seen[code]) {
            length += (size_t)snprintf(result + length, size - length, "%s%d",
                                       first ? (seen[0] ? " (exit 0/" : " (failed cleanly: exit ") : "/", code);
            first = 0;
        }
    if (length > 2)
        snprintf(result + length, size - length, ")");
}

/* Before the matrix: each operation, run clean, makes exactly the calls faults go into. */
static void clean_runs_make_the_points(void)
{
    for (int op = 0; op < OPS; op++) {
        char remote[300], dest[4300];
        snprintf(remote, sizeof remote, S3_HARNESS_BUCKET "/points/%d", op);
        snprintf(dest, sizeof dest, "%s/points-dest", fx->dir);
        if (op == RESUME) {
            leave_unfinished(remote);
        } else if (op != SMALL && op != LARGE) {
            expect_stor_ok("put", stor_s3(NULL, "put", small_file, remote, NULL));
            if (op == LIST)
                expect_stor_ok("put", stor_s3(NULL, "put", small_file, S3_HARNESS_BUCKET "/points/4/b", NULL));
        }
        s3_cli_control(fx, "reset");
        char copy[320];
        snprintf(copy, sizeof copy, "%s.copy", remote);
        struct test_run run = op == SMALL ? stor_s3(NULL, "put", small_file, remote, NULL)
                            : op == LARGE || op == RESUME ? stor_s3(NULL, "put", large_file, remote, NULL)
                            : op == DOWNLOAD ? stor_s3(NULL, "get", remote, dest, NULL)
                            : op == LIST ? stor_s3(NULL, "ls", "-r", "-l", S3_HARNESS_BUCKET "/points/4", NULL)
                            : op == REMOVE ? stor_s3(NULL, "rm", remote, NULL)
                            : stor_s3(NULL, "cp", remote, copy, NULL);
        expect_stor_ok(op_names[op], run);
        assert_points_complete((enum op)op);
        unlink(dest);
    }
}

static int group_setup(void **state)
{
    (void)state;
    fx = s3_cli_start(S3_CLI_ARGS("--threads", "8"));
    small_file = s3_cli_local_file(fx, "small", 3000, 1);
    large_file = s3_cli_local_file(fx, "large", 12 * 1024 * 1024 + 12345, 2);
    proxy = fault_proxy_start(s3_test_server_port(fx->server));
    clean_runs_make_the_points();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fault_proxy_stop(proxy);
    s3_cli_stop(fx);
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
        .legend = "# ok: done once with exact bytes (stored, fetched, listed, removed, copied); failed\n"
                  "# cleanly: one line, the documented exit code, nothing half-written (the old\n"
                  "# destination untouched, no partial file, a begun multipart upload kept for resume\n"
                  "# and resumable, or with --no-resume aborted); each fault at each call in turn\n"};
    return fault_matrix_main(&matrix);
}
