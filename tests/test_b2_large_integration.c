/* test_b2_large_integration.c — `stor --backend=b2` large files against the B2 test server: parallel
 * parts through 503s and expired part tokens, a killed upload resumed, a pipe, rclone both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "b2_cli.h"

#define MIB (1 << 20)
#define BIG (64 * MIB)
#define PARTS 13 /* 64 MiB in 5 MiB parts */
#define LARGE_OPTIONS "-o", "upload_cutoff=10MiB", "-o", "part_size=5MiB"

static struct b2_cli *fx;

static int setup(void **state)
{
    (void)state;
    /* A thread per connection: a delayed part stalls only its own connection. */
    fx = b2_cli_start(B2_CLI_ARGS("--threads", "0"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    b2_cli_stop(fx);
    return 0;
}

/* ./stor --backend=b2 ARGS..., in the foreground or in the background (its stderr into err_path). */
#define stor_b2(...) b2_cli_run(fx, NULL, B2_CLI_ARGS(__VA_ARGS__))
#define stor_spawn(err_path, ...) b2_cli_spawn(fx, err_path, B2_CLI_ARGS(__VA_ARGS__))
#define rclone(...) b2_cli_rclone(fx, B2_CLI_ARGS(__VA_ARGS__))
#define local_file(name, size, seed) b2_cli_local_file(fx, name, size, seed)
#define scratch(name) b2_cli_path(fx, name)
#define control(path, body) b2_cli_control(fx, path, body)

static long calls(const char *api)
{
    long n = b2_test_server_counter_field(fx->server, api, "calls");
    return n < 0 ? 0 : n;
}

static long failures(const char *api)
{
    long n = b2_test_server_counter_field(fx->server, api, "failures");
    return n < 0 ? 0 : n;
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* 64 MiB in 13 parts, 4 at a time, through a storm of 503s and part tokens that expire mid-way:
 * the exact bytes come back, and every failure cost exactly one fresh part URL. */
static void large_file_through_503s_and_expired_part_tokens(void **state)
{
    (void)state;
    char *local = local_file("big.bin", BIG, 1), *err_path = scratch("put.err");
    control("/_test/fail", "{\"api\":\"b2_upload_part\",\"status\":503,\"count\":4,\"every\":3}");
    control("/_test/delay", "{\"api\":\"b2_upload_part\",\"ms\":100,\"count\":-1}");
    pid_t pid = stor_spawn(err_path, LARGE_OPTIONS, "--transfers=4", "put", local,
                           "test-bucket/large/big.bin");
    for (int i = 0; i < 400 && calls("b2_upload_part") < 6; i++)
        sleep_ms(25);
    control("/_test/expire", "{\"tokens\":\"upload\"}");
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    size_t length;
    char *err = test_read_file(err_path, &length);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("stor put failed (%d): %s", status, err);
    free(err);
    long part_failures = failures("b2_upload_part");
    assert_int_equal(b2_test_server_counter_field(fx->server, "b2_upload_part", "injected"), 4);
    assert_true(part_failures > 4); /* the expired tokens were refused too */
    assert_int_equal(calls("b2_upload_part") - part_failures, PARTS);
    assert_int_equal(calls("b2_get_upload_part_url"), 4 + part_failures);
    assert_int_equal(calls("b2_start_large_file"), 1);
    assert_int_equal(calls("b2_finish_large_file"), 1);
    assert_int_equal(calls("b2_authorize_account"), 1); /* part tokens expired, not the account */
    control("/_test/reset", "{\"faults\":true,\"counters\":false}");
    char *back = scratch("back.bin");
    expect_ok(stor_b2("get", "test-bucket/large/big.bin", back));
    assert_same_file(local, back);
    free(back);
    free(err_path);
    free(local);
}

/* SIGKILL mid-way, run again: only the missing parts go up, and the message says so. */
static void killed_upload_resumes_with_the_missing_parts(void **state)
{
    (void)state;
    char *local = local_file("big.bin", BIG, 2), *err_path = scratch("killed.err");
    control("/_test/delay", "{\"api\":\"b2_upload_part\",\"ms\":150,\"count\":-1}");
    pid_t pid = stor_spawn(err_path, LARGE_OPTIONS, "-o", "transfers=2", "put", local,
                           "test-bucket/large/killed.bin");
    for (int i = 0; i < 400 && calls("b2_upload_part") < 6; i++)
        sleep_ms(25);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    control("/_test/reset", "{\"faults\":true,\"counters\":false}");
    long first_run = calls("b2_upload_part");
    print_message("# parts sent before the kill: %ld\n", first_run);
    assert_true(first_run >= 6 && first_run < PARTS);
    assert_int_equal(calls("b2_finish_large_file"), 0);
    control("/_test/reset", "{\"counters\":true}");

    struct test_run run = stor_b2(LARGE_OPTIONS, "put", local, "test-bucket/large/killed.bin");
    if (run.status != 0)
        fail_msg("rerun failed: %s", run.err);
    int resumed = -1, total = -1;
    const char *said = strstr(run.err, "resumed: ");
    assert_non_null(said);
    assert_int_equal(sscanf(said, "resumed: %d of %d parts already uploaded", &resumed, &total), 2);
    assert_int_equal(total, PARTS);
    /* Parts that were complete when killed are there; at most two (in flight) were lost. */
    assert_in_range(resumed, first_run - 2, first_run);
    assert_int_equal(calls("b2_upload_part"), PARTS - resumed);
    assert_int_equal(calls("b2_start_large_file"), 0);
    assert_int_equal(calls("b2_list_parts"), 1);
    assert_int_equal(calls("b2_finish_large_file"), 1);
    test_run_free(&run);
    char *back = scratch("back.bin");
    expect_ok(stor_b2("get", "test-bucket/large/killed.bin", back));
    assert_same_file(local, back);
    free(back);
    free(err_path);
    free(local);
}

/* A failure leaves the unfinished file and one line on how to go on; resume=no starts again. */
static void failure_says_how_to_resume_and_no_resume_starts_again(void **state)
{
    (void)state;
    char *local = local_file("big.bin", 12 * MIB, 3);
    control("/_test/fail", "{\"api\":\"b2_upload_part\",\"status\":403,\"code\":\"storage_cap_exceeded\","
                           "\"count\":1,\"every\":2}");
    struct test_run run = stor_b2(LARGE_OPTIONS, "-o", "transfers=1", "put", local, "test-bucket/large/f.bin");
    assert_int_not_equal(run.status, 0);
    assert_non_null(strstr(run.err, "run the same put again to resume it"));
    assert_non_null(strstr(run.err, "stor --backend=b2 cleanup test-bucket/large/f.bin"));
    test_run_free(&run);
    assert_int_equal(calls("b2_cancel_large_file"), 0);
    run = stor_b2(LARGE_OPTIONS, "put", "--no-resume", local, "test-bucket/large/f.bin");
    if (run.status != 0)
        fail_msg("--no-resume failed: %s", run.err);
    assert_null(strstr(run.err, "resumed"));
    test_run_free(&run);
    assert_int_equal(calls("b2_cancel_large_file"), 1);
    assert_int_equal(calls("b2_start_large_file"), 2);
    char *back = scratch("back.bin");
    expect_ok(stor_b2("get", "test-bucket/large/f.bin", back));
    assert_same_file(local, back);
    free(back);
    free(local);
}

/* A pipe longer than the cutoff goes up in parts; one shorter stays a single upload. */
static void large_pipe_goes_up_in_parts(void **state)
{
    (void)state;
    char *local = local_file("piped.bin", 23 * MIB + 5, 4), *command;
    assert_true(asprintf(&command, "cat '%s' | '%s' --backend=b2 -o upload_cutoff=10MiB -o "
                         "part_size=5MiB put - test-bucket/large/piped.bin", local,
                         test_build_path("stor")) > 0);
    struct test_run run = b2_cli_shell(fx, command);
    if (run.status != 0)
        fail_msg("piped put failed: %s", run.err);
    test_run_free(&run);
    assert_int_equal(calls("b2_start_large_file"), 1);
    assert_int_equal(calls("b2_upload_part"), 5);
    assert_int_equal(calls("b2_upload_file"), 0);
    char *back = scratch("back.bin");
    expect_ok(stor_b2("get", "test-bucket/large/piped.bin", back));
    assert_same_file(local, back);
    free(command);
    assert_true(asprintf(&command, "head -c 9000000 '%s' | '%s' --backend=b2 -o upload_cutoff=10MiB "
                         "put - test-bucket/large/short.bin", local, test_build_path("stor")) > 0);
    run = b2_cli_shell(fx, command);
    if (run.status != 0)
        fail_msg("short piped put failed: %s", run.err);
    test_run_free(&run);
    assert_int_equal(calls("b2_upload_file"), 1);
    assert_int_equal(calls("b2_start_large_file"), 1);
    free(command);
    free(back);
    free(local);
}

static size_t collect(char *data, size_t size, size_t count, void *context)
{
    char **text = context;
    size_t old = *text ? strlen(*text) : 0;
    *text = realloc(*text, old + size * count + 1);
    memcpy(*text + old, data, size * count);
    (*text)[old + size * count] = '\0';
    return size * count;
}

/* POST url with body (Basic auth when token is NULL); the parsed JSON answer. */
static json_object *b2_call(const char *url, const char *token, const char *body)
{
    CURL *curl = curl_easy_init();
    char *text = NULL, authorization[512];
    struct curl_slist *headers = NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (token) {
        snprintf(authorization, sizeof authorization, "Authorization: %s", token);
        headers = curl_slist_append(headers, authorization);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    } else {
        curl_easy_setopt(curl, CURLOPT_USERPWD, B2_TEST_KEY_ID ":" B2_TEST_KEY);
    }
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &text);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    json_object *answer = json_tokener_parse(text);
    assert_non_null(answer);
    free(text);
    return answer;
}

/* Names of the unfinished large files, straight from the server's b2_list_unfinished_large_files. */
static int unfinished_files(void)
{
    char url[512], body[256];
    snprintf(url, sizeof url, "%s/b2api/v2/b2_authorize_account", b2_test_server_url(fx->server));
    json_object *account = b2_call(url, NULL, "{}"), *field;
    assert_true(json_object_object_get_ex(account, "authorizationToken", &field));
    char token[256];
    snprintf(token, sizeof token, "%s", json_object_get_string(field));
    snprintf(url, sizeof url, "%s/b2api/v2/b2_list_buckets", b2_test_server_url(fx->server));
    json_object *buckets = b2_call(url, token, "{\"accountId\":\"" B2_TEST_KEY_ID "\"}"), *list;
    assert_true(json_object_object_get_ex(buckets, "buckets", &list));
    assert_true(json_object_object_get_ex(json_object_array_get_idx(list, 0), "bucketId", &field));
    snprintf(body, sizeof body, "{\"bucketId\":\"%s\"}", json_object_get_string(field));
    snprintf(url, sizeof url, "%s/b2api/v2/b2_list_unfinished_large_files", b2_test_server_url(fx->server));
    json_object *unfinished = b2_call(url, token, body), *files;
    assert_true(json_object_object_get_ex(unfinished, "files", &files));
    int count = (int)json_object_array_length(files);
    json_object_put(unfinished);
    json_object_put(buckets);
    json_object_put(account);
    return count;
}

/* Three failed large uploads; stor cleanup lists (dry run), then cancels by prefix, then all. */
static void cleanup_lists_and_cancels_unfinished_uploads(void **state)
{
    (void)state;
    char *local = local_file("big.bin", 11 * MIB, 7);
    static const char *const names[] = {"test-bucket/large/a.bin", "test-bucket/large/b.bin",
                                        "test-bucket/other/c.bin"};
    for (int i = 0; i < 3; i++) {
        control("/_test/fail", "{\"api\":\"b2_upload_part\",\"status\":400,\"count\":1}");
        struct test_run run = stor_b2(LARGE_OPTIONS, "--transfers=1", "put", local, names[i]);
        assert_int_not_equal(run.status, 0);
        test_run_free(&run);
    }
    assert_int_equal(unfinished_files(), 3);
    struct test_run run = stor_b2("cleanup", "--dry-run", "test-bucket/large/");
    if (run.status != 0)
        fail_msg("cleanup --dry-run: %s", run.err);
    assert_non_null(strstr(run.out, "would cancel test-bucket/large/a.bin"));
    assert_non_null(strstr(run.out, "would cancel test-bucket/large/b.bin"));
    assert_null(strstr(run.out, "other/c.bin"));
    assert_non_null(strstr(run.out, "cleanup: 2 unfinished uploads would be cancelled"));
    test_run_free(&run);
    assert_int_equal(calls("b2_cancel_large_file"), 0);
    assert_int_equal(unfinished_files(), 3);
    /* None is a day old yet. */
    run = stor_b2("cleanup", "--older-than=1d", "test-bucket");
    if (run.status != 0)
        fail_msg("cleanup --older-than: %s", run.err);
    assert_non_null(strstr(run.out, "cleanup: 0 unfinished uploads cancelled"));
    test_run_free(&run);
    run = stor_b2("cleanup", "test-bucket/large/");
    if (run.status != 0)
        fail_msg("cleanup: %s", run.err);
    assert_non_null(strstr(run.out, "cancelled test-bucket/large/a.bin"));
    assert_non_null(strstr(run.out, "cleanup: 2 unfinished uploads cancelled"));
    test_run_free(&run);
    assert_int_equal(calls("b2_cancel_large_file"), 2);
    assert_int_equal(unfinished_files(), 1);
    expect_ok(stor_b2("cleanup", "test-bucket"));
    assert_int_equal(calls("b2_cancel_large_file"), 3);
    assert_int_equal(unfinished_files(), 0);
    free(local);
}

/* rclone reads stor's large file byte for byte and sees it identical (size, SHA-1 from
 * large_file_sha1); stor reads rclone's large file. */
static void rclone_and_stor_read_each_others_large_files(void **state)
{
    (void)state;
    assert_int_equal(access("/usr/bin/rclone", X_OK), 0);
    char *dir = scratch("tree");
    assert_int_equal(mkdir(dir, 0700), 0);
    char *local = local_file("tree/from-stor.bin", 21 * MIB, 5);
    struct timespec times[2] = {{1600000000, 123000000}, {1600000000, 123000000}};
    assert_int_equal(utimensat(AT_FDCWD, local, times, 0), 0);
    expect_ok(stor_b2(LARGE_OPTIONS, "put", local, "test-bucket/interop/from-stor.bin"));
    assert_int_equal(calls("b2_start_large_file"), 1);
    char *copy = scratch("rclone-cat.bin");
    struct test_run run = rclone("copyto", "testb2:test-bucket/interop/from-stor.bin", copy);
    if (run.status != 0)
        fail_msg("rclone copyto: %s", run.err);
    test_run_free(&run);
    assert_same_file(local, copy);
    run = rclone("check", dir, "testb2:test-bucket/interop");
    if (run.status != 0)
        fail_msg("rclone check: %s", run.err);
    assert_non_null(strstr(run.err, "0 differences found"));
    assert_null(strstr(run.err, "hashes could not be checked"));
    test_run_free(&run);
    /* rclone reads the mtime from src_last_modified_millis. */
    run = rclone("lsl", "testb2:test-bucket/interop");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "2020-09-13 12:26:40.123000000 from-stor.bin"));
    test_run_free(&run);
    /* The other way: rclone's own large file. */
    char *theirs = local_file("theirs.bin", 16 * MIB + 3, 6);
    run = rclone("copyto", "--b2-upload-cutoff", "10M", "--b2-chunk-size", "5M", theirs,
                 "testb2:test-bucket/interop2/from-rclone.bin");
    if (run.status != 0)
        fail_msg("rclone copyto: %s", run.err);
    test_run_free(&run);
    assert_int_equal(calls("b2_start_large_file"), 2);
    char *back = scratch("from-rclone.bin");
    expect_ok(stor_b2("get", "test-bucket/interop2/from-rclone.bin", back));
    assert_same_file(theirs, back);
    free(back);
    free(theirs);
    free(copy);
    free(local);
    free(dir);
}

static void expect_line(struct test_run run, const char *const *lines)
{
    if (run.status != 0)
        fail_msg("exit %d: %s", run.status, run.err);
    for (; *lines; lines++)
        if (!strstr(run.out, *lines))
            fail_msg("wanted \"%s\" in:\n%s", *lines, run.out);
    test_run_free(&run);
}

/* du: objects and bytes; with --versions also old versions, hidden names and unfinished uploads. */
static void du_counts_what_is_stored(void **state)
{
    (void)state;
    char *one = local_file("du-one", 1000, 1), *two = local_file("du-two", 3000, 2);
    expect_ok(stor_b2("put", one, "test-bucket/du/a"));
    expect_ok(stor_b2("put", two, "test-bucket/du/a")); /* a's first version is old now */
    expect_ok(stor_b2("put", one, "test-bucket/du/b"));
    expect_ok(stor_b2("rm", "test-bucket/du/b"));       /* hidden: its version stays */
    expect_ok(stor_b2("put", two, "test-bucket/du/c"));
    expect_ok(stor_b2("put", two, "test-bucket/elsewhere"));
    char *big = local_file("du-big", 11 * MIB, 3);
    control("/_test/fail", "{\"api\":\"b2_upload_part\",\"status\":400,\"count\":1}");
    struct test_run run = stor_b2(LARGE_OPTIONS, "--transfers=1", "put", big, "test-bucket/du/big");
    assert_int_not_equal(run.status, 0);
    test_run_free(&run);
    expect_line(stor_b2("du", "test-bucket/du/"),
                (const char *[]){"test-bucket/du/\n", "objects:            2 objects, 5.9 KiB (6000 bytes)\n", NULL});
    expect_line(stor_b2("du", "--versions", "test-bucket/du/"),
                (const char *[]){"objects:            2 objects, 5.9 KiB (6000 bytes)\n",
                                 "old versions:       2 versions, 2.0 KiB (2000 bytes)\n",
                                 "hidden names:       1\n",
                                 "unfinished uploads: 1 upload (the backend does not say",
                                 "stored in all:      7.8 KiB (8000 bytes), unfinished uploads' parts aside\n",
                                 NULL});
    run = stor_b2("--json", "du", "--versions", "test-bucket/du/");
    assert_int_equal(run.status, 0);
    struct json_object *j = json_tokener_parse(run.out), *v, *count;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "objects", &v));
    assert_int_equal(json_object_get_int64(v), 2);
    assert_true(json_object_object_get_ex(j, "oldVersions", &v));
    assert_true(json_object_object_get_ex(v, "count", &count));
    assert_int_equal(json_object_get_int64(count), 2);
    assert_true(json_object_object_get_ex(j, "hiddenNames", &v));
    assert_int_equal(json_object_get_int64(v), 1);
    assert_true(json_object_object_get_ex(j, "unfinishedUploads", &v));
    assert_true(json_object_object_get_ex(v, "count", &count));
    assert_int_equal(json_object_get_int64(count), 1);
    json_object_put(j);
    test_run_free(&run);
    expect_ok(stor_b2("cleanup", "test-bucket/du/"));
    free(one);
    free(two);
    free(big);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(large_file_through_503s_and_expired_part_tokens),
        T(killed_upload_resumes_with_the_missing_parts),
        T(failure_says_how_to_resume_and_no_resume_starts_again),
        T(cleanup_lists_and_cancels_unfinished_uploads),
        T(large_pipe_goes_up_in_parts),
        T(rclone_and_stor_read_each_others_large_files),
        T(du_counts_what_is_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
