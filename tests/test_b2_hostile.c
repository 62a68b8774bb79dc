/* test_b2_hostile.c — `stor --backend=b2` against a B2 test server that lies (POST /_test/lie):
 * listings that name files outside the prefix or never advance, answers that would explode in
 * memory or trickle in, tokens with CR/LF, URLs of another scheme, uploads answered for another
 * file. Each ends in a clear one-line error and the right exit code; nothing outside the target
 * or the prefix is read, written or removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "b2_cli.h"

static struct b2_cli *fx;

/* A thread per connection: a trickling answer holds up only its own connection. */
static int setup(void **state)
{
    fx = b2_cli_start(B2_CLI_ARGS("--threads", "0"));
    return 0;
}

static int teardown(void **state)
{
    b2_cli_stop(fx);
    return 0;
}

#define stor_b2(...) b2_cli_run(fx, NULL, B2_CLI_ARGS(__VA_ARGS__))
#define control(path, body) b2_cli_control(fx, path, body)

/* Installs a lie: the next count calls of api (-1: until reset) answer head + repeat × times
 * + tail, at bytes_per_second (0: at once). */
static void lie(const char *api, int count, const char *head, const char *repeat, long times,
                const char *tail, int bytes_per_second)
{
    json_object *spec = json_object_new_object();
    json_object_object_add(spec, "api", json_object_new_string(api));
    json_object_object_add(spec, "count", json_object_new_int(count));
    json_object_object_add(spec, "body", json_object_new_string(head));
    if (repeat) {
        json_object_object_add(spec, "repeat", json_object_new_string(repeat));
        json_object_object_add(spec, "times", json_object_new_int64(times));
    }
    if (tail)
        json_object_object_add(spec, "tail", json_object_new_string(tail));
    if (bytes_per_second)
        json_object_object_add(spec, "bytes_per_second", json_object_new_int(bytes_per_second));
    control("/_test/lie", json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN));
    json_object_put(spec);
}

/* A b2_list_file_names answer listing name, then next ("null" or a JSON string). */
static void lie_listing(const char *name, const char *next)
{
    char body[600];
    snprintf(body, sizeof body,
             "{\"files\": [{\"action\": \"upload\", \"fileId\": \"4_zlie\", \"fileName\": \"%s\", "
             "\"contentLength\": 6, \"contentSha1\": \"0000000000000000000000000000000000000000\", "
             "\"contentType\": \"text/plain\", \"fileInfo\": {}, \"uploadTimestamp\": 1700000000000}], "
             "\"nextFileName\": %s}", name, next);
    lie("b2_list_file_names", -1, body, NULL, 0, NULL, 0);
}

static void put_text(const char *remote, const char *text)
{
    char *path = b2_cli_path(fx, "upload");
    test_write_file(path, text, strlen(text));
    expect_ok(stor_b2("put", path, remote));
    free(path);
}

/* One line on stderr holding expected; the exit code is status. */
static void expect_failure(struct test_run run, int status, const char *expected)
{
    if (run.status != status || !strstr(run.err, expected))
        fail_msg("exit %d (wanted %d), stderr: %s (wanted '%s')", run.status, status, run.err,
                 expected);
    const char *newline = strchr(run.err, '\n');
    if (newline && newline[1])
        fail_msg("more than one line on stderr: %s", run.err);
    test_run_free(&run);
}

/* A listing of pre/ that names elsewhere/secret: get -r writes nothing outside its target, rm -r
 * removes nothing outside the prefix. */
static void names_outside_the_prefix_are_not_believed(void **state)
{
    put_text("test-bucket/pre/a", "inside");
    put_text("test-bucket/elsewhere/secret", "keep me");
    char *target = b2_cli_path(fx, "target");
    assert_int_equal(mkdir(target, 0700), 0);
    lie_listing("elsewhere/secret", "null");
    expect_failure(stor_b2("get", "-r", "test-bucket/pre/", target), 1, "outside the prefix");
    expect_failure(stor_b2("rm", "-r", "--yes", "test-bucket/pre/"), 1, "outside the prefix");
    control("/_test/reset", "{\"faults\": true}");
    struct test_run run = stor_b2("get", "test-bucket/elsewhere/secret", "-");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "keep me"); /* not removed */
    test_run_free(&run);
    assert_int_equal(test_count_names(target, "secret"), 0);
    char *outside = b2_cli_path(fx, "elsewhere");
    assert_int_equal(access(outside, F_OK), -1);
    free(outside);
    free(target);
}

/* A name another client stored (B2 takes "in/../../escape" as it is) never escapes get -r's
 * target: refused and reported, the neighbour fetched. */
static void get_r_refuses_a_hostile_name(void **state)
{
    put_text("test-bucket/in/fine", "fine!");
    char *out = b2_cli_path(fx, "inside");
    assert_int_equal(mkdir(out, 0700), 0);
    char target[4400];
    snprintf(target, sizeof target, "%s/out", out);
    /* The listing lies once: escape first, then (page two, the truth) fine. */
    lie("b2_list_file_names", 1,
        "{\"files\": [{\"action\": \"upload\", \"fileId\": \"4_zlie\", \"fileName\": "
        "\"in/../../escape\", \"contentLength\": 5, \"contentSha1\": "
        "\"0000000000000000000000000000000000000000\", \"contentType\": \"text/plain\", "
        "\"fileInfo\": {}, \"uploadTimestamp\": 1700000000000}], \"nextFileName\": \"in/fine\"}",
        NULL, 0, NULL, 0);
    struct test_run run = stor_b2("get", "-r", "test-bucket/in", target);
    assert_int_equal(run.status, 7);
    assert_non_null(strstr(run.err, "refused: the name would escape"));
    test_run_free(&run);
    char *root = b2_cli_path(fx, "");
    assert_int_equal(test_count_names(root, "escape"), 0);
    free(root);
    char fine[4500];
    snprintf(fine, sizeof fine, "%s/fine", target);
    char *text = test_read_file(fine, NULL);
    assert_string_equal(text, "fine!");
    free(text);
    free(out);
}

/* A cursor that names the last file again would page forever: ls stops with an error. */
static void a_cursor_that_does_not_advance_stops_the_listing(void **state)
{
    put_text("test-bucket/pre/a", "inside");
    lie_listing("pre/a", "\"pre/a\"");
    expect_failure(stor_b2("ls", "-r", "test-bucket/pre/"), 1, "did not advance");
}

/* 39 MB of tiny JSON objects would take gigabytes as a tree: refused by size, at once. */
static void an_answer_that_would_explode_in_memory_is_refused(void **state)
{
    put_text("test-bucket/pre/a", "inside");
    lie("b2_list_file_names", -1, "{\"files\": [", "{},", 13000000, "{}]}", 0);
    expect_failure(stor_b2("ls", "-r", "test-bucket/pre/"), 1, "larger than");
}

/* An answer that trickles in (2 bytes a second) is cut off by the deadline, not waited on. */
static void a_trickling_answer_meets_the_deadline(void **state)
{
    put_text("test-bucket/pre/a", "inside");
    lie("b2_list_file_names", -1, "{\"files\": [], \"nextFileName\": null}", NULL, 0, NULL, 2);
    expect_failure(stor_b2("-o", "timeout=2", "-o", "retries=1", "ls", "-r", "test-bucket/pre/"),
                   5, "did not arrive whole within 2 s");
}

/* A token with CR/LF would inject a header; a URL of another scheme would leave HTTP: both are
 * refused when the authorization arrives, before any other call. */
static void unsafe_tokens_and_urls_are_refused_on_arrival(void **state)
{
    static const char *const lies[][3] = {
        {"4_token\r\nX-Injected: yes", "http://127.0.0.1:1", "authorizationToken"},
        {"4_token", "file:///etc/passwd", "apiUrl"},
    };
    for (size_t i = 0; i < 2; i++) {
        json_object *answer = json_object_new_object(), *allowed = json_object_new_object();
        json_object *capabilities = json_object_new_array();
        json_object_array_add(capabilities, json_object_new_string("listFiles"));
        json_object_object_add(allowed, "capabilities", capabilities);
        json_object_object_add(answer, "accountId", json_object_new_string("test-account"));
        json_object_object_add(answer, "authorizationToken", json_object_new_string(lies[i][0]));
        json_object_object_add(answer, "apiUrl", json_object_new_string(lies[i][1]));
        json_object_object_add(answer, "downloadUrl", json_object_new_string(lies[i][1]));
        json_object_object_add(answer, "recommendedPartSize", json_object_new_int(100000000));
        json_object_object_add(answer, "absoluteMinimumPartSize", json_object_new_int(5000000));
        json_object_object_add(answer, "allowed", allowed);
        control("/_test/reset", "{\"counters\": true}");
        lie("b2_authorize_account", -1, json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN),
            NULL, 0, NULL, 0);
        json_object_put(answer);
        struct test_run run = stor_b2("-o", "cache=no", "ls", "test-bucket");
        assert_non_null(strstr(run.err, lies[i][2]));
        assert_null(strstr(run.err, "X-Injected"));
        expect_failure(run, 1, "malformed");
        assert_int_equal(b2_test_server_counter(fx->server, "b2_list_file_names"), 0);
        control("/_test/reset", "{\"faults\": true}");
    }
}

/* An upload answered for another file name is not taken as stored. */
static void an_upload_answered_for_another_file_is_not_stored(void **state)
{
    put_text("test-bucket/warm", "x"); /* authorized, bucket known */
    lie("b2_upload_file", 1, "{\"action\": \"upload\", \"fileId\": \"4_zlie\", \"fileName\": "
        "\"someone-else\", \"contentLength\": 6, \"contentSha1\": "
        "\"0000000000000000000000000000000000000000\"}", NULL, 0, NULL, 0);
    char *path = b2_cli_path(fx, "upload");
    test_write_file(path, "mine!!", 6);
    expect_failure(stor_b2("put", path, "test-bucket/mine"), 1, "names another file than was uploaded");
    free(path);
}

/* Waits for pid up to 60 s (a hang fails the test instead of holding up the suite); its exit. */
static int wait_exit(pid_t pid)
{
    int status = 0;
    for (int i = 0; i < 6000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("stor did not finish within 60 s");
    return -1;
}

/* A download that outgrows the file size limit (ulimit -f, 1,000 KiB here) is one line naming
 * the reason, and nothing is left behind: not killed by SIGXFSZ, no partial file kept. A single
 * get (exit 1) and get -r (exit 7), each of an object of several write chunks. */
static void a_download_past_the_file_size_limit_is_one_line(void **state)
{
    (void)state;
    size_t size = 3 << 20;
    char *bytes = malloc(size), *path = b2_cli_path(fx, "big"), *target = b2_cli_path(fx, "out");
    for (size_t i = 0; i < size; i++)
        bytes[i] = (char)(i * 7 + i / 4096);
    test_write_file(path, bytes, size);
    expect_ok(stor_b2("put", path, "test-bucket/limit/big"));
    assert_int_equal(mkdir(target, 0700), 0);
    const char *gets[] = {"get test-bucket/limit/big '%s/single'",
                          "get -r test-bucket/limit/ '%s/tree'"};
    for (size_t i = 0; i < 2; i++) {
        char where[4200], command[8600];
        snprintf(where, sizeof where, gets[i], target);
        snprintf(command, sizeof command, "ulimit -f 2000; exec '%s' --backend=b2 -q %s",
                 test_build_path("stor"), where);
        struct test_run run = b2_cli_shell(fx, command);
        if (run.status != (i == 0 ? 1 : 7) || !strstr(run.err, "File too large"))
            fail_msg("%s: exit %d, stderr: %s", where, run.status, run.err);
        test_run_free(&run);
    }
    if (test_count_names(target, "big") != 0 || test_count_names(target, "single") != 0 ||
        test_count_names(target, ".stor-partial") != 0)
        fail_msg("a file was left in %s", target);
    free(bytes);
    free(path);
    free(target);
}

/* A b2_list_file_names answer of the given files (name and contentLength each). */
static void lie_files(const char *const *names, const char *const *sizes, size_t count)
{
    char body[4096] = "{\"files\": [";
    for (size_t i = 0; i < count; i++)
        snprintf(body + strlen(body), sizeof body - strlen(body),
                 "%s{\"action\": \"upload\", \"fileId\": \"4_z%zu\", \"fileName\": \"%s\", "
                 "\"contentLength\": %s, \"contentSha1\": \"none\", \"contentType\": "
                 "\"text/plain\", \"fileInfo\": {}, \"uploadTimestamp\": 1700000000000}",
                 i ? ", " : "", i, names[i], sizes[i]);
    snprintf(body + strlen(body), sizeof body - strlen(body), "], \"nextFileName\": null}");
    control("/_test/reset", "{\"faults\": true}"); /* this lie replaces the one before */
    lie("b2_list_file_names", -1, body, NULL, 0, NULL, 0);
}

/* du believes neither a listing that goes back to an earlier name (it would count a name
 * twice, and tell versions apart wrongly) nor sizes that add up past what 64 bits hold (the
 * total would wrap into a small number): one line, exit 1. */
static void du_refuses_a_listing_out_of_order_or_past_8_eib(void **state)
{
    (void)state;
    const char *backwards[] = {"pre/b", "pre/a"}, *small[] = {"5", "5"};
    lie_files(backwards, small, 2);
    expect_failure(stor_b2("du", "test-bucket/pre/"), 1, "out of order");
    const char *names[] = {"pre/a", "pre/b", "pre/c"};
    const char *huge[] = {"9223372036854775807", "9223372036854775807", "9223372036854775807"};
    lie_files(names, huge, 3);
    expect_failure(stor_b2("du", "test-bucket/pre/"), 1, "past 8 EiB");
    lie_files(names, small, 2);
    struct test_run run = stor_b2("du", "test-bucket/pre/");
    if (run.status != 0 || !strstr(run.out, "2 objects") || !strstr(run.out, "(10 bytes)"))
        fail_msg("exit %d, out %s, err %s", run.status, run.out, run.err);
    test_run_free(&run);
}

static void wait_for_uploads(long count)
{
    for (int i = 0; i < 2000 && b2_test_server_counter(fx->server, "b2_upload_file") < count; i++)
        usleep(5000);
    assert_true(b2_test_server_counter(fx->server, "b2_upload_file") >= count);
}

static char *tree_of(const char *name, int files)
{
    char *tree = b2_cli_path(fx, name);
    assert_int_equal(mkdir(tree, 0700), 0);
    for (int i = 0; i < files; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/f%d", tree, i);
        test_write_file(path, "content", 7);
    }
    return tree;
}

/* A file the scan saw as regular, swapped for a FIFO before its turn: put -r neither hangs in
 * the FIFO's open nor reads it; the file is reported, the rest stored, exit 7. */
static void a_file_swapped_for_a_fifo_after_the_scan_is_not_waited_on(void **state)
{
    char *tree = tree_of("tree", 2), *err = b2_cli_path(fx, "err"), swap[4300], fifo[4300];
    control("/_test/delay", "{\"api\": \"b2_upload_file\", \"ms\": 1500, \"count\": 1}");
    pid_t pid = b2_cli_spawn(fx, err, B2_CLI_ARGS("put", "-r", "--transfers=1", tree, "test-bucket/t"));
    wait_for_uploads(1); /* f0 is in flight, held by the delay: f1 is not open yet */
    snprintf(fifo, sizeof fifo, "%s/fifo", fx->dir);
    snprintf(swap, sizeof swap, "%s/f1", tree);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(rename(fifo, swap), 0);
    assert_int_equal(wait_exit(pid), 7);
    char *said = test_read_file(err, NULL);
    assert_non_null(strstr(said, "f1: it was replaced since the scan"));
    free(said);
    struct test_run run = stor_b2("ls", "-r", "test-bucket/t/");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "t/f0"));
    assert_null(strstr(run.out, "t/f1"));
    test_run_free(&run);
    free(tree);
    free(err);
}

/* Ctrl-C during put -r: files in flight are "interrupted", never "failed" (they may well be
 * stored), and the run exits 130. */
static void ctrl_c_during_put_r_says_interrupted_not_failed(void **state)
{
    char *tree = tree_of("many", 8), *out = b2_cli_path(fx, "out"), *err = b2_cli_path(fx, "err");
    control("/_test/delay", "{\"api\": \"b2_upload_file\", \"ms\": 700, \"count\": -1}");
    pid_t pid = b2_cli_spawn_to(fx, out, err,
                                B2_CLI_ARGS("put", "-r", "--transfers=2", tree, "test-bucket/m"));
    wait_for_uploads(3); /* two done or in flight, one more in flight */
    kill(pid, SIGINT);
    assert_int_equal(wait_exit(pid), 130);
    char *summary = test_read_file(out, NULL), *said = test_read_file(err, NULL);
    if (!strstr(summary, " 0 failed") || !strstr(summary, "interrupted"))
        fail_msg("summary: %s; stderr: %s", summary, said);
    assert_null(strstr(said, "failed"));
    free(summary);
    free(said);
    free(tree);
    free(out);
    free(err);
}

/* Ctrl-C during a JSON call whose answer is slow (30 s) ends it at once: exit 130 long before
 * the answer would come. */
static void ctrl_c_ends_a_slow_json_call(void **state)
{
    put_text("test-bucket/a", "x");
    char *err = b2_cli_path(fx, "err");
    control("/_test/reset", "{\"counters\": true}");
    control("/_test/delay", "{\"api\": \"b2_list_file_names\", \"ms\": 30000, \"count\": 1}");
    pid_t pid = b2_cli_spawn(fx, err, B2_CLI_ARGS("ls", "test-bucket"));
    for (int i = 0; i < 2000 && b2_test_server_counter(fx->server, "b2_list_file_names") < 1; i++)
        usleep(5000);
    usleep(100000); /* into the wait for the answer */
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    kill(pid, SIGINT);
    assert_int_equal(wait_exit(pid), 130);
    clock_gettime(CLOCK_MONOTONIC, &after);
    assert_true(after.tv_sec - before.tv_sec < 15); /* the answer was due in 30 s */
    free(err);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(names_outside_the_prefix_are_not_believed),
        T(a_cursor_that_does_not_advance_stops_the_listing),
        T(get_r_refuses_a_hostile_name),
        T(an_answer_that_would_explode_in_memory_is_refused),
        T(a_trickling_answer_meets_the_deadline),
        T(unsafe_tokens_and_urls_are_refused_on_arrival),
        T(an_upload_answered_for_another_file_is_not_stored),
        T(a_download_past_the_file_size_limit_is_one_line),
        T(du_refuses_a_listing_out_of_order_or_past_8_eib),
        T(a_file_swapped_for_a_fifo_after_the_scan_is_not_waited_on),
        T(ctrl_c_during_put_r_says_interrupted_not_failed),
        T(ctrl_c_ends_a_slow_json_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
