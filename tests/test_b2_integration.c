/* test_b2_integration.c — `stor --backend=b2` end to end against the B2 test server on loopback:
 * sizes and names, token expiry mid-batch, 503 storms, Retry-After, permanent failures,
 * restricted keys, the one-request warm put, secrets kept out of output, and rclone reading back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "b2_cli.h"

static struct b2_cli *fx;

static int setup(void **state)
{
    fx = b2_cli_start(NULL);
    return 0;
}

static int setup_with_restricted_key(void **state)
{
    const char *const args[] = {"--bucket", "other-bucket", "--restricted-key",
                                "limited-id:limited-secret:test-bucket:listBuckets,listFiles,readFiles,writeFiles",
                                "--restricted-key",
                                "prefixed-id:prefixed-secret:test-bucket:listBuckets,listFiles,readFiles,writeFiles:allowed/",
                                NULL};
    fx = b2_cli_start(args);
    return 0;
}

/* A thread per connection, so a delayed answer stalls only its own connection. */
static int setup_with_connection_threads(void **state)
{
    fx = b2_cli_start(B2_CLI_ARGS("--threads", "0"));
    return 0;
}

static int teardown(void **state)
{
    b2_cli_stop(fx);
    return 0;
}

/* Runs ./stor --backend=b2 ARGS... as the master key, or as another key. */
#define stor_b2(...) b2_cli_run(fx, NULL, B2_CLI_ARGS(__VA_ARGS__))
#define stor_b2_as(id, secret, ...)                                                               \
    b2_cli_run(fx, &(struct b2_cli_as){.key_id = id, .key = secret}, B2_CLI_ARGS(__VA_ARGS__))
#define rclone(...) b2_cli_rclone(fx, B2_CLI_ARGS(__VA_ARGS__))
#define local_file(name, size, seed) b2_cli_local_file(fx, name, size, seed)
#define control(path, body) b2_cli_control(fx, path, body)

/* Uploads that the server stored: calls minus failed (4xx/5xx/dropped) answers. */
static long stored_uploads(void)
{
    return b2_cli_succeeded(fx, "b2_upload_file");
}

static void sizes_and_names_round_trip(void **state)
{
    const struct {
        const char *key;
        size_t size;
    } cases[] = {
        {"sizes/zero", 0},
        {"sizes/one", 1},
        {"sizes/five MiB exactly", 5 * 1024 * 1024},
        {"names/with spaces/and+plus", 100},
        {"names/per%cent%20not-an-escape", 100},
        {"names/\xc3\xbcnic\xc3\xb8" "de/\xe5\x90\x8d\xe5\x89\x8d.txt", 100},
        {"names/deep/a/b/c/d", 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *local = local_file("upload", cases[i].size, (unsigned)i);
        char remote[512], back[4200];
        snprintf(remote, sizeof remote, "test-bucket/%s", cases[i].key);
        snprintf(back, sizeof back, "%s/downloaded", fx->dir);
        struct test_run run = stor_b2("put", local, remote);
        if (run.status != 0)
            fail_msg("put %s: %s", cases[i].key, run.err);
        assert_non_null(strstr(run.out, "stored test-bucket/"));
        test_run_free(&run);
        expect_ok(stor_b2("get", remote, back));
        assert_same_file(local, back);
        unlink(back);
        free(local);
    }
    /* Each name arrived once, under its exact name. */
    assert_int_equal(stored_uploads(), (long)(sizeof cases / sizeof cases[0]));
    struct test_run run = stor_b2("ls", "-r", "test-bucket");
    assert_int_equal(run.status, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strstr(run.out, cases[i].key))
            fail_msg("ls -r lacks %s:\n%s", cases[i].key, run.out);
    test_run_free(&run);

    /* rm hides: the name leaves the listing, and a second rm says not found. */
    expect_ok(stor_b2("rm", "test-bucket/sizes/one"));
    run = stor_b2("ls", "-r", "test-bucket/sizes/");
    assert_null(strstr(run.out, "sizes/one\n"));
    test_run_free(&run);
    run = stor_b2("get", "test-bucket/sizes/one", "-");
    assert_int_equal(run.status, 3);
    test_run_free(&run);
}

static void upload_target_is_handed_over_as_json(void **state)
{
    struct test_run run = stor_b2("upload-target", "test-bucket");
    assert_int_equal(run.status, 0);
    struct json_object *j = json_tokener_parse(run.out);
    assert_non_null(j);
    const char *url = json_object_get_string(json_object_object_get(j, "uploadUrl"));
    const char *token = json_object_get_string(json_object_object_get(j, "authorizationToken"));
    assert_non_null(strstr(url, b2_test_server_url(fx->server)));
    assert_true(token && strlen(token) > 10);
    assert_true(json_object_get_int64(json_object_object_get(j, "expiresAt")) > (int64_t)time(NULL) * 1000);
    assert_non_null(json_object_get_string(json_object_object_get(j, "bucketId")));
    json_object_put(j);
    test_run_free(&run);
    expect_ok(stor_b2("upload-target", "test-bucket"));
    /* Each call got its own target from B2: a handed-over target is never pooled again. */
    assert_int_equal(b2_test_server_counter(fx->server, "b2_get_upload_url"), 2);
}

static void warm_cache_put_is_one_request(void **state)
{
    char *local = local_file("small", 4096, 1);
    expect_ok(stor_b2("put", local, "test-bucket/warm/first"));
    control("/_test/reset", "{\"counters\": true}");
    expect_ok(stor_b2("put", local, "test-bucket/warm/second"));
    assert_int_equal(b2_cli_total_requests(fx), 1);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_upload_file"), 1);
    free(local);
}

/* A directory of n small files named f000... */
static char *make_tree(const char *name, int n)
{
    char *dir;
    assert_true(asprintf(&dir, "%s/%s", fx->dir, name) > 0);
    mkdir(dir, 0777);
    for (int i = 0; i < n; i++) {
        char path[4300], content[64];
        snprintf(path, sizeof path, "%s/f%03d", dir, i);
        snprintf(content, sizeof content, "file %d of %d\n", i, n);
        test_write_file(path, content, strlen(content));
    }
    return dir;
}

static int count_listed(const char *prefix)
{
    struct test_run run = stor_b2("ls", "-r", prefix);
    assert_int_equal(run.status, 0);
    int lines = 0;
    for (const char *p = run.out; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    test_run_free(&run);
    return lines;
}

static void token_expiry_mid_batch_reauthorizes_once(void **state)
{
    char *tree = make_tree("batch", 200);
    /* Slow each upload a little so that the batch is surely running when the tokens expire. */
    control("/_test/delay", "{\"api\": \"b2_upload_file\", \"ms\": 15, \"count\": -1}");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct test_run run = stor_b2("-q", "put", "-r", "--transfers=8", tree, "test-bucket/batch");
        if (run.status != 0)
            fprintf(stderr, "%s", run.err);
        _exit(run.status);
    }
    while (b2_test_server_counter(fx->server, "b2_upload_file") < 40)
        usleep(2000);
    int status;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still mid-batch */
    control("/_test/expire", "{\"tokens\": \"all\"}");
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_int_equal(stored_uploads(), 200);                                       /* none twice */
    assert_int_equal(b2_test_server_counter(fx->server, "b2_authorize_account"), 2); /* cold + 1 */
    assert_int_equal(count_listed("test-bucket/batch/"), 200);
    free(tree);
}

static void storm_of_503s_loses_and_doubles_nothing(void **state)
{
    char *tree = make_tree("storm", 60);
    control("/_test/fail", "{\"api\": \"b2_upload_file\", \"status\": 503, \"count\": -1, \"every\": 3}");
    expect_ok(stor_b2("put", "-r", "--transfers=4", tree, "test-bucket/storm"));
    assert_true(b2_test_server_counter_field(fx->server, "b2_upload_file", "injected") >= 20);
    assert_int_equal(stored_uploads(), 60);
    control("/_test/reset", "{\"faults\": true}");
    assert_int_equal(count_listed("test-bucket/storm/"), 60);

    char *back;
    assert_true(asprintf(&back, "%s/storm-back", fx->dir) > 0);
    expect_ok(stor_b2("get", "-r", "test-bucket/storm", back));
    char a[4300], b[4300];
    snprintf(a, sizeof a, "%s/f059", tree);
    snprintf(b, sizeof b, "%s/f059", back);
    assert_same_file(a, b);
    free(back);
    free(tree);
}

/* Each upload failure that B2 says calls for a new target: every file arrives, each failure costs
 * exactly one fresh b2_get_upload_url (the failed target is never reused), and the account is
 * never re-authorized for it. One test case per failure, so each reports as it ends. */
struct upload_fault {
    const char *path, *rule;
    long failed_uploads;  /* upload calls beyond the 10 that succeed */
    long dropped_targets; /* targets condemned on the way */
};

static void upload_fault_gets_a_fresh_target(const struct upload_fault *fault)
{
    char *tree = make_tree("faults", 10);
    const char *remote = "test-bucket/fault/";
    control("/_test/reset", "{\"counters\": true, \"faults\": true}");
    control(fault->path, fault->rule);
    struct test_run run = stor_b2("-o", "timeout=1", "put", "-r", "--transfers=1", tree, remote);
    if (run.status != 0)
        fail_msg("fault %s: exit %d: %s", fault->rule, run.status, run.err);
    test_run_free(&run);
    long calls = b2_test_server_counter(fx->server, "b2_upload_file");
    long targets = b2_test_server_counter(fx->server, "b2_get_upload_url");
    long authorizations = b2_test_server_counter(fx->server, "b2_authorize_account");
    if (calls != 10 + fault->failed_uploads || targets != 1 + fault->dropped_targets ||
        authorizations != 1)
        fail_msg("fault %s: %ld uploads, %ld targets, %ld authorizations", fault->rule, calls,
                 targets, authorizations);
    assert_int_equal(count_listed(remote), 10);
    free(tree);
}

#define UPLOAD_FAULT(name, path, rule, failed, dropped)                                           \
    static void name(void **state)                                                                \
    {                                                                                             \
        upload_fault_gets_a_fresh_target(&(struct upload_fault){path, rule, failed, dropped});    \
    }
UPLOAD_FAULT(fresh_target_after_500, "/_test/fail",
             "{\"api\": \"b2_upload_file\", \"status\": 500, \"count\": 3}", 3, 3)
UPLOAD_FAULT(fresh_target_after_408, "/_test/fail",
             "{\"api\": \"b2_upload_file\", \"status\": 408, \"count\": 3}", 3, 3)
UPLOAD_FAULT(fresh_target_after_503, "/_test/fail",
             "{\"api\": \"b2_upload_file\", \"status\": 503, \"count\": 3}", 3, 3)
UPLOAD_FAULT(fresh_target_after_expired_token, "/_test/fail",
             "{\"api\": \"b2_upload_file\", \"status\": 401, \"code\": \"expired_auth_token\", \"count\": 3}", 3, 3)
UPLOAD_FAULT(fresh_target_after_bad_token, "/_test/fail",
             "{\"api\": \"b2_upload_file\", \"status\": 401, \"code\": \"bad_auth_token\", \"count\": 3}", 3, 3)
UPLOAD_FAULT(fresh_target_after_a_dropped_connection, "/_test/drop",
             "{\"api\": \"b2_upload_file\", \"count\": 3, \"after_bytes\": 100}", 3, 3)
/* No answer within -o timeout=1, but stored: the target is abandoned (B2 may count its token in
 * use), and the file is found stored instead of being sent again. */
UPLOAD_FAULT(fresh_target_after_a_lost_answer, "/_test/delay",
             "{\"api\": \"b2_upload_file\", \"ms\": 4000, \"count\": 1}", 0, 1)

static void retry_after_is_honoured(void **state)
{
    char *local = local_file("small", 10, 2);
    control("/_test/fail",
            "{\"api\": \"b2_get_upload_url\", \"status\": 429, \"count\": 1, \"retry_after\": 1}");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    expect_ok(stor_b2("put", local, "test-bucket/patient"));
    clock_gettime(CLOCK_MONOTONIC, &b);
    double waited = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (waited < 0.95)
        fail_msg("finished after %.3f s: Retry-After: 1 was not honoured", waited);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_get_upload_url"), 2);
    assert_int_equal(stored_uploads(), 1);
    free(local);
}

static void permanent_failure_gives_exit_5_and_one_line(void **state)
{
    char *local = local_file("small", 10, 3);
    control("/_test/fail", "{\"api\": \"b2_upload_file\", \"status\": 503, \"count\": -1}");
    struct test_run run = stor_b2("-o", "retries=2", "-o", "retry_time=10", "put", local,
                                  "test-bucket/doomed");
    assert_int_equal(run.status, 5);
    assert_true(strncmp(run.err, "stor: ", 6) == 0);
    assert_int_equal(strchr(run.err, '\n') - run.err + 1, (long)strlen(run.err));
    test_run_free(&run);
    assert_int_equal(stored_uploads(), 0);
    control("/_test/reset", "{\"faults\": true}");
    run = stor_b2("get", "test-bucket/doomed", "-");
    assert_int_equal(run.status, 3); /* nothing half-written became visible */
    test_run_free(&run);
    free(local);
}

static void restricted_key_outside_its_bucket_is_refused(void **state)
{
    char *local = local_file("small", 10, 4);
    struct test_run run =
        stor_b2_as("limited-id", "limited-secret", "put", local, "other-bucket/x");
    assert_int_equal(run.status, 4);
    if (!strstr(run.err, "restricted to bucket test-bucket") || !strstr(run.err, "other-bucket"))
        fail_msg("message does not say what the key may do: %s", run.err);
    test_run_free(&run);
    /* Refused before anything touched the other bucket. */
    assert_int_equal(b2_test_server_counter(fx->server, "b2_upload_file"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_get_upload_url"), 0);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_list_buckets"), 0);
    run = stor_b2_as("limited-id", "limited-secret", "put", local, "test-bucket/x");
    assert_int_equal(run.status, 0);
    test_run_free(&run);

    /* A key limited to a name prefix: refused outside it, before any upload. */
    control("/_test/reset", "{\"counters\": true}");
    run = stor_b2_as("prefixed-id", "prefixed-secret", "put", local, "test-bucket/other/x");
    assert_int_equal(run.status, 4);
    assert_non_null(strstr(run.err, "restricted to names starting with allowed/"));
    test_run_free(&run);
    assert_true(b2_test_server_counter(fx->server, "b2_upload_file") <= 0);
    assert_true(b2_test_server_counter(fx->server, "b2_get_upload_url") <= 0);
    run = stor_b2_as("prefixed-id", "prefixed-secret", "put", local, "test-bucket/allowed/x");
    assert_int_equal(run.status, 0);
    test_run_free(&run);

    /* Listings and cleanup wider than the key's prefix are narrowed to it, not refused by B2;
     * one beside it is refused in words. */
    static const char *const wide[][3] = {{"ls", "-r", "test-bucket"}, {"ls", "-r", "test-bucket/all"},
                                          {"ls", "--versions", "test-bucket"},
                                          {"cleanup", "test-bucket", "--dry-run"}};
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        run = stor_b2_as("prefixed-id", "prefixed-secret", wide[i][0], wide[i][1], wide[i][2]);
        if (run.status != 0)
            fail_msg("%s %s %s: exit %d: %s", wide[i][0], wide[i][1], wide[i][2], run.status, run.err);
        if (i < 3 && !strstr(run.out, "allowed/x"))
            fail_msg("%s %s %s does not list allowed/x: %s", wide[i][0], wide[i][1], wide[i][2], run.out);
        test_run_free(&run);
    }
    run = stor_b2_as("prefixed-id", "prefixed-secret", "ls", "test-bucket/other/");
    assert_int_equal(run.status, 4);
    assert_non_null(strstr(run.err, "cannot list other/"));
    test_run_free(&run);
    free(local);
}

/* Every token in the plugin's disk cache, the account's first, so the test can look for them. */
static int cached_tokens(char tokens[][512], int max)
{
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/cache", fx->dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *text = test_read_file(path, NULL);
        struct json_object *root = json_tokener_parse(text), *account, *targets, *token;
        assert_non_null(root);
        if (json_object_object_get_ex(root, "account", &account) &&
            json_object_object_get_ex(account, "authorizationToken", &token) && n < max)
            snprintf(tokens[n++], 512, "%s", json_object_get_string(token));
        if (json_object_object_get_ex(root, "uploadTargets", &targets)) {
            json_object_object_foreach(targets, bucket, list)
            {
                (void)bucket;
                for (size_t i = 0; i < json_object_array_length(list) && n < max; i++)
                    if (json_object_object_get_ex(json_object_array_get_idx(list, i),
                                                  "authorizationToken", &token))
                        snprintf(tokens[n++], 512, "%s", json_object_get_string(token));
            }
        }
        json_object_put(root);
        free(text);
    }
    closedir(d);
    return n;
}

static void assert_no_secret(const struct test_run *run, char tokens[][512], int count)
{
    const char *streams[] = {run->out, run->err};
    for (int s = 0; s < 2; s++) {
        if (strstr(streams[s], B2_TEST_KEY))
            fail_msg("the application key appears in output: %s", streams[s]);
        for (int i = 0; i < count; i++)
            if (tokens[i][0] && strstr(streams[s], tokens[i]))
                fail_msg("a token appears in output: %s", streams[s]);
    }
}

static void secrets_never_appear_in_output(void **state)
{
    char *local = local_file("secret-test", 1000, 5);
    expect_ok(stor_b2("put", local, "test-bucket/s/one")); /* fills the cache */
    char tokens[16][512];
    int count = cached_tokens(tokens, 16);
    assert_true(count >= 1);

    struct test_run runs[] = {
        stor_b2("-vvv", "put", local, "test-bucket/s/two"),
        stor_b2("-vvv", "get", "test-bucket/s/two", "-"),
        stor_b2("-vvv", "ls", "-r", "-l", "test-bucket"),
        stor_b2("-vvv", "rm", "test-bucket/s/two"),
        stor_b2("-vvv", "get", "test-bucket/s/missing", "-"),
        stor_b2_as(B2_TEST_KEY_ID, "wrong-key", "-vvv", "-o", "cache=no", "ls", "test-bucket"),
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        assert_no_secret(&runs[i], tokens, count);
        assert_null(strstr(runs[i].err, "wrong-key"));
        test_run_free(&runs[i]);
    }
    /* upload-target prints an upload token (perhaps one that was pooled), never the account's or
     * the key, and the target leaves the pool for good. */
    struct test_run run = stor_b2("-vvv", "upload-target", "test-bucket");
    assert_int_equal(run.status, 0);
    assert_no_secret(&run, tokens, 1);
    struct json_object *j = json_tokener_parse(run.out);
    assert_non_null(j);
    const char *printed = json_object_get_string(json_object_object_get(j, "authorizationToken"));
    assert_non_null(strstr(run.out, printed));
    char after[16][512];
    int after_count = cached_tokens(after, 16);
    for (int i = 0; i < after_count; i++)
        assert_string_not_equal(after[i], printed);
    json_object_put(j);
    test_run_free(&run);
    free(local);
}

/* What stor marks its own partial downloads with: the object they hold the start of. */
static void mark_partial(const char *path, const char *object)
{
    assert_int_equal(setxattr(path, "user.stor.partial", object, strlen(object), 0), 0);
}

static size_t test_read_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* A kept partial download is continued, not restarted; a damaged one is replaced. */
static void get_continues_a_partial_download(void **state)
{
    size_t size = 3 * 1024 * 1024, half = 1024 * 1024;
    char *local = local_file("whole", size, 7);
    expect_ok(stor_b2("put", local, "test-bucket/partial/whole"));
    size_t len;
    char *bytes = test_read_file(local, &len);
    char dest[4300], partial[4300];
    snprintf(dest, sizeof dest, "%s/fetched", fx->dir);
    snprintf(partial, sizeof partial, "%s/.fetched.stor-partial", fx->dir);

    /* Without stor's mark the file is somebody else's: left alone, and the get starts afresh. */
    test_write_file(partial, bytes, half);
    struct test_run run = stor_b2("get", "test-bucket/partial/whole", dest);
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.err, "continued a partial download"));
    test_run_free(&run);
    assert_same_file(local, dest);
    assert_int_equal(test_read_file_size(partial), half);
    unlink(dest);

    mark_partial(partial, "test-bucket/partial/whole");
    run = stor_b2("get", "test-bucket/partial/whole", dest);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.err, "continued a partial download from byte 1048576"));
    test_run_free(&run);
    assert_same_file(local, dest);
    assert_int_equal(access(partial, F_OK), -1);

    memset(bytes, 'X', half); /* a partial file that is not this object's beginning */
    test_write_file(partial, bytes, half);
    mark_partial(partial, "test-bucket/partial/whole");
    run = stor_b2("get", "test-bucket/partial/whole", dest);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.err, "did not verify; starting over"));
    test_run_free(&run);
    assert_same_file(local, dest);
    assert_int_equal(access(partial, F_OK), -1);
    free(bytes);
    free(local);
}

/* A partial download records the version it holds; when the name has been replaced since, the
 * backend says so before writing (STOR_ESTALE) and the get starts afresh quietly, instead of
 * fetching the rest of another version only to find the whole does not verify. */
static void a_partial_of_a_replaced_object_restarts_quietly(void **state)
{
    size_t size = 2 * 1024 * 1024, half = 1024 * 1024;
    char *first = local_file("first", size, 21), *second = local_file("second", size, 22);
    expect_ok(stor_b2("put", first, "test-bucket/partial/replaced"));
    struct test_run run = stor_b2("--json", "ls", "-l", "test-bucket/partial/replaced");
    assert_int_equal(run.status, 0);
    struct json_object *j = json_tokener_parse(run.out);
    assert_non_null(j);
    char version[600];
    snprintf(version, sizeof version, "%s\n%s", json_object_get_string(json_object_object_get(j, "id")),
             json_object_get_string(json_object_object_get(j, "sha1")));
    json_object_put(j);
    test_run_free(&run);
    expect_ok(stor_b2("put", second, "test-bucket/partial/replaced"));

    char dest[4300], partial[4300];
    snprintf(dest, sizeof dest, "%s/replaced", fx->dir);
    snprintf(partial, sizeof partial, "%s/.replaced.stor-partial", fx->dir);
    char *bytes = test_read_file(first, NULL);
    test_write_file(partial, bytes, half);
    mark_partial(partial, "test-bucket/partial/replaced");
    assert_int_equal(setxattr(partial, "user.stor.version", version, strlen(version), 0), 0);
    run = stor_b2("get", "test-bucket/partial/replaced", dest);
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.err, "did not verify"));
    assert_null(strstr(run.err, "continued"));
    test_run_free(&run);
    assert_same_file(second, dest);
    assert_int_equal(access(partial, F_OK), -1);
    free(bytes);
    free(first);
    free(second);
}

/* Versions, ranges, hard deletes and server-side copies through the command line. */
static void versions_ranges_and_copies_through_the_cli(void **state)
{
    char *one = local_file("one", 1000, 8), *two = local_file("two", 2000, 9);
    expect_ok(stor_b2("put", one, "test-bucket/v/name"));
    expect_ok(stor_b2("put", two, "test-bucket/v/name"));
    struct test_run run = stor_b2("--json", "ls", "--versions", "test-bucket/v/");
    assert_int_equal(run.status, 0);
    /* Newest first: the second line is the first upload. */
    char *second = strchr(run.out, '\n');
    assert_non_null(second);
    struct json_object *old = json_tokener_parse(second + 1);
    assert_non_null(old);
    assert_int_equal(json_object_get_int64(json_object_object_get(old, "size")), 1000);
    char old_id[256];
    snprintf(old_id, sizeof old_id, "--version=%s", json_object_get_string(json_object_object_get(old, "id")));
    json_object_put(old);
    test_run_free(&run);

    char back[4300];
    snprintf(back, sizeof back, "%s/old", fx->dir);
    expect_ok(stor_b2("get", old_id, "test-bucket/v/name", back));
    assert_same_file(one, back);
    run = stor_b2("get", "--range=10-19", "test-bucket/v/name", "-");
    assert_int_equal(run.status, 0);
    char *two_bytes = test_read_file(two, NULL);
    assert_memory_equal(run.out, two_bytes + 10, 10);
    assert_int_equal(strlen(run.out) <= 10, 1);
    test_run_free(&run);
    /* An end at the edge of 64 bits means "to the end" (B - A + 1 overflowed: UBSan). */
    run = stor_b2("get", "--range=10-9223372036854775807", "test-bucket/v/name", "-");
    if (run.status != 0)
        fail_msg("exit %d: %s", run.status, run.err);
    assert_memory_equal(run.out, two_bytes + 10, 10);
    free(two_bytes);
    test_run_free(&run);

    control("/_test/reset", "{\"counters\": true}");
    expect_ok(stor_b2("cp", "test-bucket/v/name", "test-bucket/v/copy"));
    assert_int_equal(b2_test_server_counter(fx->server, "b2_copy_file"), 1);
    assert_true(b2_test_server_counter(fx->server, "b2_download_file_by_name") <= 0);
    assert_true(b2_test_server_counter(fx->server, "b2_upload_file") <= 0);
    expect_ok(stor_b2("mv", "test-bucket/v/copy", "test-bucket/v/moved"));

    expect_ok(stor_b2("rm", "test-bucket/v/name"));
    run = stor_b2("ls", "--versions", "test-bucket/v/");
    assert_non_null(strstr(run.out, "(hidden)"));
    test_run_free(&run);
    expect_ok(stor_b2("rm", "--hard", "test-bucket/v/name"));
    run = stor_b2("ls", "--versions", "test-bucket/v/");
    assert_null(strstr(run.out, "v/name"));
    assert_non_null(strstr(run.out, "v/moved"));
    test_run_free(&run);
    free(one);
    free(two);
}

/* 500 files up with put -r, back with get -r, identical; again with --skip-existing: no uploads. */
static void five_hundred_files_round_trip_then_nothing_to_do(void **state)
{
    char *tree = make_tree("five-hundred", 500);
    expect_ok(stor_b2("-q", "put", "-r", "--transfers=8", tree, "test-bucket/many"));
    assert_int_equal(stored_uploads(), 500);
    assert_true(b2_test_server_counter(fx->server, "b2_get_upload_url") <= 8);
    assert_int_equal(b2_test_server_counter(fx->server, "b2_authorize_account"), 1);

    char *back;
    assert_true(asprintf(&back, "%s/many-back", fx->dir) > 0);
    expect_ok(stor_b2("-q", "get", "-r", "--transfers=8", "test-bucket/many", back));
    for (int i = 0; i < 500; i++) {
        char a[4300], b[4300];
        snprintf(a, sizeof a, "%s/f%03d", tree, i);
        snprintf(b, sizeof b, "%s/f%03d", back, i);
        assert_same_file(a, b);
    }
    control("/_test/reset", "{\"counters\": true}");
    struct test_run run = stor_b2("put", "-r", "--skip-existing", tree, "test-bucket/many");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "500 files: 0 stored, 500 skipped, 0 failed"));
    test_run_free(&run);
    assert_true(b2_test_server_counter(fx->server, "b2_upload_file") <= 0);

    /* rclone agrees with what stor stored: same names, sizes and SHA-1s. */
    run = rclone("check", tree, "testb2:test-bucket/many");
    if (run.status != 0)
        fail_msg("rclone check: %s", run.err);
    test_run_free(&run);
    /* stor's rm hides: rclone no longer lists the name, but still sees its old version. */
    expect_ok(stor_b2("rm", "test-bucket/many/f000"));
    run = rclone("ls", "testb2:test-bucket/many");
    assert_null(strstr(run.out, " f000\n"));
    test_run_free(&run);
    run = rclone("ls", "--b2-versions", "testb2:test-bucket/many");
    assert_non_null(strstr(run.out, "f000-v"));
    test_run_free(&run);
    free(back);
    free(tree);
}

/* A name stored in B2 that would escape the download directory is refused, the rest fetched. */
/* One file B2 refuses for good (its name is over 1,024 bytes) does not stop the others. */
static void one_file_failing_for_good_is_a_partial_failure(void **state)
{
    char *tree = make_tree("partial", 5);
    char path[4300];
    snprintf(path, sizeof path, "%s", tree);
    for (int level = 0; level < 5; level++) {
        size_t len = strlen(path);
        path[len] = '/';
        memset(path + len + 1, 'd', 240);
        path[len + 241] = '\0';
        mkdir(path, 0777);
    }
    strcat(path, "/too-long");
    test_write_file(path, "x", 1);
    struct test_run run = stor_b2("put", "-r", tree, "test-bucket/partial");
    assert_int_equal(run.status, 7);
    if (!strstr(run.out, "6 files: 5 stored, 0 skipped, 1 failed") ||
        !strstr(run.err, "1 of 6 files failed: dddd"))
        fail_msg("out: %s\nerr: %s", run.out, run.err);
    test_run_free(&run);
    assert_int_equal(count_listed("test-bucket/partial/"), 5);
    free(tree);
}

/* '.' and '..' segments are refused by the host before any request (B2 would keep them
 * literally, but a name like that means another path on every file system it lands on). */
static void dot_segments_are_refused_before_any_request(void **state)
{
    char *plain = b2_cli_path(fx, "plain");
    test_write_file(plain, "plain t", 7);
    expect_ok(stor_b2("put", plain, "test-bucket/t"));
    long before = b2_cli_succeeded(fx, "b2_download_file_by_name");
    const char *const names[] = {"test-bucket/x/../t", "test-bucket/./t",
                                 "test-bucket/../other-bucket/secret", NULL};
    for (const char *const *name = names; *name; name++) {
        struct test_run run = stor_b2("get", *name, "-");
        assert_int_equal(run.status, 2);
        assert_string_equal(run.out, "");
        assert_non_null(strstr(run.err, "segment"));
        test_run_free(&run);
        run = stor_b2("put", plain, *name);
        assert_int_equal(run.status, 2);
        test_run_free(&run);
    }
    assert_int_equal(b2_cli_succeeded(fx, "b2_download_file_by_name"), before);
    free(plain);
}

/* Missing credentials are an authentication failure (exit 4) that names the missing variable. */
static void missing_credentials_name_the_variable(void **state)
{
    struct test_run run = stor_b2_as("", "some-secret", "ls", "test-bucket");
    assert_int_equal(run.status, 4);
    if (!strstr(run.err, "B2_APPLICATION_KEY_ID is not set") || strstr(run.err, "B2_APPLICATION_KEY is"))
        fail_msg("stderr: %s", run.err);
    test_run_free(&run);
    run = stor_b2_as("some-id", "", "ls", "test-bucket");
    assert_int_equal(run.status, 4);
    assert_non_null(strstr(run.err, "B2_APPLICATION_KEY is not set"));
    test_run_free(&run);
}

static void rclone_reads_what_stor_wrote_and_back(void **state)
{
    assert_int_equal(access("/usr/bin/rclone", X_OK), 0); /* CI installs Debian's rclone */
    char *local = local_file("interop", 300000, 6);
    expect_ok(stor_b2("put", local, "test-bucket/interop/from stor+1.bin"));
    struct test_run run = rclone("cat", "testb2:test-bucket/interop/from stor+1.bin");
    assert_int_equal(run.status, 0);
    size_t len;
    char *expected = test_read_file(local, &len);
    assert_memory_equal(run.out, expected, len);
    test_run_free(&run);

    run = rclone("copyto", local, "testb2:test-bucket/interop/from rclone.bin");
    if (run.status != 0)
        fail_msg("rclone copyto: %s", run.err);
    test_run_free(&run);
    char back[4300];
    snprintf(back, sizeof back, "%s/from-rclone", fx->dir);
    expect_ok(stor_b2("get", "test-bucket/interop/from rclone.bin", back));
    assert_same_file(local, back);
    free(expected);
    free(local);
}

/* With B2 out of reach, stor says so at once on a terminal (one line, with how long it keeps
 * trying) instead of a silent minute, then exits 5; a script's stderr keeps one error line. */
static void an_unreachable_endpoint_is_said_at_once(void **state)
{
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    assert_int_equal(bind(probe, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&address, &length), 0);
    close(probe); /* nothing listens there now */
    char command[4600];
    snprintf(command, sizeof command,
             "STOR_B2_ENDPOINT=http://127.0.0.1:%u; export STOR_B2_ENDPOINT; "
             "script -qec \"'%s' --backend=b2 -o retries=2 -o cache=no ls test-bucket\" /dev/null",
             ntohs(address.sin_port), test_build_path("stor"));
    struct test_run run = b2_cli_shell(fx, command); /* script(1) gives stor a terminal */
    assert_int_equal(run.status, 5);
    const char *said = strstr(run.out, "cannot reach B2");
    if (!said || !strstr(said, "trying again for up to 600 s or 2 tries") ||
        strstr(said + 1, "cannot reach B2") || strstr(run.out, "HTTP 0"))
        fail_msg("terminal: %s", run.out);
    test_run_free(&run);
    snprintf(command, sizeof command,
             "STOR_B2_ENDPOINT=http://127.0.0.1:%u '%s' --backend=b2 -o retries=2 -o cache=no "
             "ls test-bucket", ntohs(address.sin_port), test_build_path("stor"));
    run = b2_cli_shell(fx, command);
    assert_int_equal(run.status, 5);
    assert_null(strstr(run.err, "cannot reach B2"));
    assert_ptr_equal(strchr(run.err, '\n'), run.err + strlen(run.err) - 1); /* one line */
    test_run_free(&run);
}

/* A missing bucket or object reads the same on b2 as on local: "no bucket 'X'", "no object
 * B/K", exit 3, whatever the command. */
static void missing_buckets_and_objects_read_as_on_local(void **state)
{
    static const char *const bucketless[][3] = {{"get", "nob/k", "-"}, {"ls", "nob", NULL},
                                                {"rm", "nob/k", NULL}};
    for (size_t i = 0; i < sizeof bucketless / sizeof *bucketless; i++) {
        struct test_run run = bucketless[i][2]
                                  ? stor_b2(bucketless[i][0], bucketless[i][1], bucketless[i][2])
                                  : stor_b2(bucketless[i][0], bucketless[i][1]);
        if (run.status != 3 || !strstr(run.err, "no bucket 'nob'"))
            fail_msg("%s %s: exit %d, %s", bucketless[i][0], bucketless[i][1], run.status, run.err);
        test_run_free(&run);
    }
    struct test_run run = stor_b2("get", "test-bucket/none", "-");
    if (run.status != 3 || !strstr(run.err, "no object test-bucket/none"))
        fail_msg("exit %d, %s", run.status, run.err);
    test_run_free(&run);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(sizes_and_names_round_trip),
        T(upload_target_is_handed_over_as_json),
        T(warm_cache_put_is_one_request),
        T(token_expiry_mid_batch_reauthorizes_once),
        T(storm_of_503s_loses_and_doubles_nothing),
#define THREADED(name) cmocka_unit_test_setup_teardown(name, setup_with_connection_threads, teardown)
        THREADED(fresh_target_after_500),
        THREADED(fresh_target_after_408),
        THREADED(fresh_target_after_503),
        THREADED(fresh_target_after_expired_token),
        THREADED(fresh_target_after_bad_token),
        THREADED(fresh_target_after_a_dropped_connection),
        THREADED(fresh_target_after_a_lost_answer),
        T(retry_after_is_honoured),
        T(permanent_failure_gives_exit_5_and_one_line),
        cmocka_unit_test_setup_teardown(restricted_key_outside_its_bucket_is_refused,
                                        setup_with_restricted_key, teardown),
        T(secrets_never_appear_in_output),
        T(get_continues_a_partial_download),
        T(a_partial_of_a_replaced_object_restarts_quietly),
        T(versions_ranges_and_copies_through_the_cli),
        T(five_hundred_files_round_trip_then_nothing_to_do),
        T(one_file_failing_for_good_is_a_partial_failure),
        cmocka_unit_test_setup_teardown(dot_segments_are_refused_before_any_request,
                                        setup_with_restricted_key, teardown),
        T(missing_credentials_name_the_variable),
        T(an_unreachable_endpoint_is_said_at_once),
        T(missing_buckets_and_objects_read_as_on_local),
        T(rclone_reads_what_stor_wrote_and_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
