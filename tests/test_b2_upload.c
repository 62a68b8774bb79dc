/* tests/test_b2_upload.c — put (b2_upload_file): the request sent, names encoded per B2's String
 * Encoding rules, SHA-1 up front or at the end, the upload column of the error table, warm cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b2_fake.h"
#include "names.h"
#include "sha1.h"

#define POD "pod.test/upload"
#define GET_UPLOAD_URL "b2_get_upload_url"
#define ERROR_BODY(status, code, message) \
    "{\"status\": " #status ", \"code\": \"" code "\", \"message\": \"" message "\"}"

static int setup(void **state)
{
    static const char *const options[] = {"info.color=dark blue", NULL};
    return b2_test_setup(state, options, 0);
}

static int teardown(void **state)
{
    return b2_test_teardown(state);
}

struct result {
    char key[256];
    char sha1[41];
    char id[64];
    int64_t size;
    int calls;
};

static int on_result(void *context, const struct stor_object *object)
{
    struct result *result = context;
    snprintf(result->key, sizeof result->key, "%s", object->key);
    snprintf(result->sha1, sizeof result->sha1, "%s", object->sha1 ? object->sha1 : "");
    snprintf(result->id, sizeof result->id, "%s", object->id ? object->id : "");
    result->size = object->size;
    result->calls++;
    return 0;
}

static enum stor_status put_text(struct b2_test *test, const char *key, const char *text,
                                 struct result *result, struct stor_error *err)
{
    int fd = fake_file(text, strlen(text));
    memset(err, 0, sizeof *err);
    enum stor_status status = b2_put(test->plugin, FAKE_BUCKET, key, fd, on_result, result, err);
    close(fd);
    return status;
}

static void sha1_of(const char *text, char hex[41])
{
    struct b2_sha1 sha1;
    b2_sha1_init(&sha1);
    b2_sha1_update(&sha1, text, strlen(text));
    b2_sha1_final(&sha1, hex);
}

/* One regular file: the headers B2 wants, the body, and the result reported once. */
static void put_sends_b2_upload_file(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    int fd = fake_file("hello, b2", 9);
    struct timespec times[2] = {{.tv_sec = 1600000000, .tv_nsec = 123000000},
                                {.tv_sec = 1600000000, .tv_nsec = 123000000}};
    futimens(fd, times);
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "dir/a b+c.bin", fd, on_result, &result, &err),
                     STOR_OK);
    close(fd);
    const struct fake_request *upload = fake_last(test->http, POD);
    assert_string_equal(upload->method, "POST");
    assert_string_equal(upload->url, "https://pod.test/upload/1");
    assert_string_equal(fake_request_header(upload, "Authorization"), "upload-token-1");
    assert_string_equal(fake_request_header(upload, "X-Bz-File-Name"), "dir/a%20b%2Bc.bin");
    assert_string_equal(fake_request_header(upload, "Content-Type"), "b2/x-auto");
    char sha1[41];
    sha1_of("hello, b2", sha1);
    assert_string_equal(fake_request_header(upload, "X-Bz-Content-Sha1"), sha1);
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-src_last_modified_millis"),
                        "1600000000123");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-color"), "dark%20blue");
    assert_int_equal(upload->body_length, 9);
    assert_memory_equal(upload->body, "hello, b2", 9);
    assert_false(upload->content_length_wrong);
    assert_int_equal(result.calls, 1);
    assert_string_equal(result.key, "dir/a b+c.bin");
    assert_string_equal(result.sha1, sha1);
    assert_int_equal(result.size, 9);
    assert_string_equal(result.id, "file-id-0");
    assert_int_equal(fake_count(test->http, NULL), 4); /* authorize, list_buckets, get_upload_url, upload */
}

/* put reads from the descriptor's current position, not from the start of the file. */
static void put_starts_at_the_current_offset(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    int fd = fake_file("skipTHE REST", 12);
    lseek(fd, 4, SEEK_SET);
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "rest", fd, on_result, &result, &err), STOR_OK);
    close(fd);
    assert_int_equal(result.size, 8);
    assert_string_equal(test->world.files[0].data, "THE REST");
}

/* 100 files one after another: one upload target serves them all. */
static void hundred_uploads_use_one_target(void **state)
{
    struct b2_test *test = *state;
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "many/%03d", i);
        struct result result = {0};
        struct stor_error err;
        assert_int_equal(put_text(test, key, key, &result, &err), STOR_OK);
        assert_int_equal(result.calls, 1);
    }
    assert_int_equal(fake_count(test->http, POD), 100);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 1);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 1);
}

/* An empty file is a valid upload. */
static void put_empty_file(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "empty", "", &result, &err), STOR_OK);
    assert_int_equal(result.size, 0);
    assert_string_equal(result.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

/* B2's String Encoding examples (reference §7): what must be encoded and what may stay. */
static void names_encode_as_b2_documents(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {" ", "%20"}, {"!", "!"}, {"\"", "%22"}, {"#", "%23"}, {"$", "$"}, {"%", "%25"},
        {"&", "%26"}, {"'", "'"}, {"(", "("}, {")", ")"}, {"*", "*"}, {"+", "%2B"},
        {",", "%2C"}, {"-", "-"}, {".", "."}, {"/", "/"}, {"0", "0"}, {"9", "9"}, {":", ":"},
        {";", ";"}, {"<", "%3C"}, {"=", "="}, {">", "%3E"}, {"?", "%3F"}, {"@", "@"},
        {"A", "A"}, {"Z", "Z"}, {"[", "%5B"}, {"\\", "%5C"}, {"]", "%5D"}, {"^", "%5E"},
        {"_", "_"}, {"`", "%60"}, {"a", "a"}, {"z", "z"}, {"{", "%7B"}, {"|", "%7C"},
        {"}", "%7D"}, {"~", "~"}, {"\x7f", "%7F"}, {"\xc2\x80", "%C2%80"},
        {"\xe2\x82\xac", "%E2%82%AC"}, {"\xf0\x90\x90\x80", "%F0%90%90%80"},
        {"\xe8\x87\xaa\xe7\x94\xb1", "%E8%87%AA%E7%94%B1"},
        {"\xe5\x8c\x97\xe4\xba\xac/\xe6\x96\x87\xe4\xbb\xb6", "%E5%8C%97%E4%BA%AC/%E6%96%87%E4%BB%B6"},
        {"dir/a b+c.bin", "dir/a%20b%2Bc.bin"}, {"100% sure", "100%25%20sure"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *encoded = b2_percent_encode(cases[i][0]);
        assert_string_equal(encoded, cases[i][1]);
        char *decoded = b2_percent_decode(encoded);
        assert_string_equal(decoded, cases[i][0]);
        free(encoded);
        free(decoded);
    }
    /* Decoders accept the fully encoded form too (B2's vectors list both). */
    static const char *const fully_encoded[][2] = {
        {"%21%24%27%28%29%2A%2D%2E%2F%3A%3B%3D%40%5F%7E", "!$'()*-./:;=@_~"},
        {"%E8%87%AA%E7%94%B1", "\xe8\x87\xaa\xe7\x94\xb1"},
        {"%e8%87%aa", "\xe8\x87\xaa"},
    };
    for (size_t i = 0; i < sizeof fully_encoded / sizeof *fully_encoded; i++) {
        char *plain = b2_percent_decode(fully_encoded[i][0]);
        assert_string_equal(plain, fully_encoded[i][1]);
        free(plain);
    }
    char *decoded = b2_percent_decode("a+b%2Bc");
    assert_string_equal(decoded, "a b+c"); /* B2 reads '+' as a space */
    free(decoded);
    assert_null(b2_percent_decode("bad%2"));
    assert_null(b2_percent_decode("bad%zz"));
    assert_null(b2_percent_decode("nul%00"));
}

/* Names B2 refuses are refused here, before any request. */
static void invalid_names_are_refused(void **state)
{
    struct b2_test *test = *state;
    static const char *const names[] = {"", "/lead", "trail/", "a//b", "tab\there"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        struct stor_error err;
        struct result result = {0};
        assert_int_equal(put_text(test, names[i], "x", &result, &err), STOR_EINVAL);
        assert_true(strlen(err.message) > 0);
    }
    char long_name[1100];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    struct stor_error err;
    struct result result = {0};
    assert_int_equal(put_text(test, long_name, "x", &result, &err), STOR_EINVAL);
    assert_int_equal(fake_count(test->http, NULL), 0);
}

struct pipe_writer {
    int fd;
    size_t bytes;
};

static void *write_pipe(void *context)
{
    struct pipe_writer *writer = context;
    char chunk[65536];
    memset(chunk, 'p', sizeof chunk);
    size_t left = writer->bytes;
    while (left > 0) {
        size_t now = left < sizeof chunk ? left : sizeof chunk;
        ssize_t wrote = write(writer->fd, chunk, now);
        if (wrote <= 0)
            break;
        left -= (size_t)wrote;
    }
    close(writer->fd);
    return NULL;
}

static enum stor_status put_pipe(struct b2_test *test, size_t bytes, struct result *result,
                                 struct stor_error *err)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct pipe_writer writer = {fds[1], bytes};
    pthread_t thread;
    pthread_create(&thread, NULL, write_pipe, &writer);
    enum stor_status status = b2_put(test->plugin, FAKE_BUCKET, "piped", fds[0], on_result, result, err);
    close(fds[0]); /* unblocks the writer if put stopped reading early */
    pthread_join(thread, NULL);
    return status;
}

/* A pipe is sent with hex_digits_at_end: Content-Length is the size + 40. */
static void pipe_uses_hex_digits_at_end(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_pipe(test, 1000, &result, &err), STOR_OK);
    const struct fake_request *upload = fake_last(test->http, POD);
    assert_string_equal(fake_request_header(upload, "X-Bz-Content-Sha1"), "hex_digits_at_end");
    assert_int_equal(upload->body_length, 1040);
    assert_false(upload->content_length_wrong);
    assert_null(fake_request_header(upload, "X-Bz-Info-src_last_modified_millis"));
    assert_int_equal(result.size, 1000);
    assert_memory_equal(upload->body + 1000, result.sha1, 40);
}

/* A pipe longer than the memory bound is spooled to a temporary file and still uploads. */
static void long_pipe_is_spooled(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_pipe(test, (9u << 20) + 3, &result, &err), STOR_OK);
    assert_int_equal(result.size, (9u << 20) + 3);
    assert_int_equal(fake_last(test->http, POD)->body_length, (9u << 20) + 3 + 40);
}

/* Above the single-upload limit (upload_cutoff here): refused with a clear message, no request. */
static void upload_cutoff_below_a_part_is_refused(void **state)
{
    struct b2_test *test = *state;
    b2_test_stop(test);
    /* Above the cutoff a file goes up in parts (test_b2_large_file.c), so the cutoff is at least
     * one part: 5 MB. */
    static const char *const options[] = {"upload_cutoff=5", NULL};
    assert_int_not_equal(b2_test_start(test, options, 0), 0);
    b2_test_stop(test);
    static const char *const good[] = {"upload_cutoff=5MB", NULL};
    assert_int_equal(b2_test_start(test, good, 0), 0);
    assert_int_equal(test->plugin->config.upload_cutoff, 5000000);
}

/* An upload token the pod refuses (401): that target is dropped, exactly one new
 * b2_get_upload_url, no re-authorization (the account token is fine). */
static void expired_upload_token_gets_one_new_target(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "one", "1", &result, &err), STOR_OK);
    test->world.expired_upload_tokens_below = 2;
    assert_int_equal(put_text(test, "two", "2", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(put_text(test, "more", "m", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2); /* token 1 never comes back */
    assert_string_equal(fake_request_header(fake_last(test->http, POD), "Authorization"), "upload-token-2");
}

/* The account token expires mid-batch together with the upload tokens: one re-authorization. */
static void account_expiry_mid_batch_reauthorizes_once(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    for (int i = 0; i < 10; i++) {
        if (i == 5) { /* every token issued so far dies */
            test->world.account_token_expired = 1;
            test->world.expired_upload_tokens_below = test->world.upload_token_serial + 1;
        }
        assert_int_equal(put_text(test, "batch", "b", &result, &err), STOR_OK);
    }
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 2);
    assert_int_equal(fake_count(test->http, POD), 11);
}

struct batch_worker {
    struct b2_test *test;
    pthread_barrier_t *barrier;
    int failures;
};

static void *batch_worker(void *context)
{
    struct batch_worker *worker = context;
    struct stor_error err;
    struct result result = {0};
    if (put_text(worker->test, "warm", "w", &result, &err) != STOR_OK)
        worker->failures++;
    pthread_barrier_wait(worker->barrier);
    pthread_barrier_wait(worker->barrier); /* the main thread expires everything in between */
    for (int i = 0; i < 3; i++)
        if (put_text(worker->test, "after", "a", &result, &err) != STOR_OK)
            worker->failures++;
    return NULL;
}

/* Eight threads all meet the expired account token at once: single-flight, one authorize. */
static void concurrent_expiry_reauthorizes_once(void **state)
{
    struct b2_test *test = *state;
    struct b2_target target;
    struct stor_error err;
    assert_int_equal(b2_lease_for_bucket(test->plugin, FAKE_BUCKET, 0, &target, &err), STOR_OK);
    b2_pool_return(test->plugin, &target);
    test->world.upload_delay_us = 200;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 9);
    pthread_t threads[8];
    struct batch_worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (struct batch_worker){test, &barrier, 0};
        pthread_create(&threads[i], NULL, batch_worker, &workers[i]);
    }
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&test->world.lock);
    test->world.account_token_expired = 1;
    test->world.expired_upload_tokens_below = test->world.upload_token_serial + 1;
    pthread_mutex_unlock(&test->world.lock);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    pthread_barrier_destroy(&barrier);
    assert_int_equal(fake_count(test->http, "b2_authorize_account"), 2);
    assert_int_equal(test->world.uploads_in_flight_max_per_token_violations, 0);
}

/* 503 from the pod: that target is dropped, a fresh one after a pause, success. */
static void pod_503_gets_a_fresh_target(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "one", "1", &result, &err), STOR_OK);
    fake_script(test->http, POD, 503, NULL, ERROR_BODY(503, "service_unavailable", "c001 is too busy"));
    assert_int_equal(put_text(test, "two", "2", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
    assert_int_equal(fake_slept(&test->clock), 1000);
    assert_string_equal(fake_request_header(fake_last(test->http, POD), "Authorization"), "upload-token-2");
}

/* Every rejection the upload column lists condemns the target: 408, 500, reset, timeout,
 * connect failure, "more than one upload using auth token". */
static void upload_rejections_condemn_the_target(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    fake_script(test->http, POD, 408, NULL, ERROR_BODY(408, "request_timeout", "slow"));
    fake_script(test->http, POD, 500, NULL, ERROR_BODY(500, "internal_error", "oops"));
    fake_script_outcome(test->http, POD, SP_HTTP_BROKEN);
    fake_script_outcome(test->http, POD, SP_HTTP_TIMEOUT);
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 5);
    fake_script_outcome(test->http, POD, SP_HTTP_CONNECT);
    fake_script(test->http, POD, 400, NULL,
                ERROR_BODY(400, "auth_token_limit", "more than one upload using auth token X"));
    assert_int_equal(put_text(test, "y", "y", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 7);
    /* Targets 1..6 were all condemned: uploads go on with 7 only. */
    assert_int_equal(put_text(test, "z", "z", &result, &err), STOR_OK);
    assert_string_equal(fake_request_header(fake_last(test->http, POD), "Authorization"), "upload-token-7");
}

/* B2 hashing other bytes than we did: from the caller's file (over 64 KiB, so sent from the
 * file), the file changed under us: exit 1 saying so, not a usage error. From memory the bytes
 * were damaged on the way: a fresh target and the same bytes again. */
static void a_sha1_mismatch_says_the_file_changed(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    size_t size = 200 << 10;
    char *data = malloc(size);
    memset(data, 'f', size);
    int fd = fake_file(data, size);
    free(data);
    fake_script(test->http, POD, 400, NULL,
                ERROR_BODY(400, "bad_request", "Sha1 did not match data received"));
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "big", fd, on_result, &result, &err), STOR_EIO);
    close(fd);
    assert_non_null(strstr(err.message, "big: the file changed while it was uploaded"));
    assert_int_equal(result.calls, 0);
    fake_script(test->http, POD, 400, NULL,
                ERROR_BODY(400, "bad_request", "Sha1 did not match data received"));
    assert_int_equal(put_text(test, "small", "small", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
}

/* An upload answer naming another file or another bucket than was sent is a lie, not a
 * success: the object is not reported as stored. */
static void an_answer_naming_another_file_is_refused(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    char sha1[41], answer[600];
    sha1_of("x", sha1);
    static const char *const lies[][2] = {{"other-name", FAKE_BUCKET_ID}, {"k", "another-bucket-id"}};
    for (size_t i = 0; i < 2; i++) {
        snprintf(answer, sizeof answer, "{\"fileId\": \"4_zlie\", \"fileName\": \"%s\", "
                 "\"bucketId\": \"%s\", \"contentLength\": 1, \"contentSha1\": \"%s\", "
                 "\"action\": \"upload\"}", lies[i][0], lies[i][1], sha1);
        fake_script(test->http, POD, 200, NULL, answer);
        assert_int_equal(put_text(test, "k", "x", &result, &err), STOR_EIO);
        assert_non_null(strstr(err.message, "names another file than was uploaded"));
        assert_int_equal(result.calls, 0);
    }
    assert_int_equal(put_text(test, "k", "x", &result, &err), STOR_OK); /* the truth is taken */
    assert_int_equal(result.calls, 1);
}

/* A file open with a known mtime (1600000000123 ms), for the lost-answer tests. */
static int file_with_mtime(const char *text)
{
    int fd = fake_file(text, strlen(text));
    struct timespec times[2] = {{.tv_sec = 1600000000, .tv_nsec = 123000000},
                                {.tv_sec = 1600000000, .tv_nsec = 123000000}};
    futimens(fd, times);
    return fd;
}

/* What b2_list_file_names answers: name's current version, holding sha1 with this mtime. */
static void script_current_version(struct b2_test *test, const char *name, const char *sha1,
                                  int64_t length, const char *mtime)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"files\": [{\"action\": \"upload\", \"fileId\": \"stored-id-1\", \"fileName\": \"%s\", "
             "\"contentSha1\": \"%s\", \"contentLength\": %lld, \"contentType\": \"text/plain\", "
             "\"fileInfo\": {\"src_last_modified_millis\": \"%s\"}, \"uploadTimestamp\": 1700000000000}], "
             "\"nextFileName\": null, \"nextFileId\": null}", name, sha1, (long long)length, mtime);
    fake_script(test->http, "b2_list_file_names", 200, NULL, body);
}

/* The body went out and the answer was lost (timeout, broken connection): B2 may have stored it.
 * stor looks at the name's current version before sending again, and finds it there. */
static void lost_answer_of_a_stored_upload_is_not_sent_again(void **state)
{
    struct b2_test *test = *state;
    char sha1[41];
    sha1_of("payload", sha1);
    const enum sp_http_outcome lost[] = {SP_HTTP_TIMEOUT, SP_HTTP_BROKEN};
    for (size_t i = 0; i < 2; i++) {
        struct result result = {0};
        struct stor_error err;
        fake_forget_requests(test->http);
        fake_script_outcome(test->http, POD, lost[i]);
        script_current_version(test, "dir/k", sha1, 7, "1600000000123");
        int fd = file_with_mtime("payload");
        assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "dir/k", fd, on_result, &result, &err), STOR_OK);
        close(fd);
        assert_int_equal(fake_count(test->http, POD), 1); /* not sent twice */
        assert_int_equal(fake_count(test->http, "b2_list_file_names"), 1);
        const struct fake_request *list = fake_last(test->http, "b2_list_file_names");
        assert_non_null(strstr(list->body, "\"startFileName\":\"dir\\/k\""));
        assert_non_null(strstr(list->body, "\"maxFileCount\":1"));
        assert_int_equal(result.calls, 1);
        assert_string_equal(result.id, "stored-id-1");
        assert_string_equal(result.sha1, sha1);
        assert_int_equal(result.size, 7);
    }
    assert_non_null(strstr(test->host.log, "not uploading it again"));
}

/* A 200 whose body is cut: B2 stored the file, so it is looked up, not reported as a failure
 * (which a rerun would turn into a second version); not found, the answer stays malformed. */
static void broken_success_answer_is_looked_up(void **state)
{
    struct b2_test *test = *state;
    char sha1[41];
    sha1_of("payload", sha1);
    struct result result = {0};
    struct stor_error err;
    fake_script(test->http, POD, 200, NULL, "{\"fileId\": \"4_z");
    script_current_version(test, "k", sha1, 7, "1600000000123");
    int fd = file_with_mtime("payload");
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "k", fd, on_result, &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, POD), 1);
    assert_string_equal(result.id, "stored-id-1");
    fake_script(test->http, POD, 200, NULL, "{\"fileId\": \"4_z");
    fake_script(test->http, "b2_list_file_names", 200, NULL, "{\"files\": [], \"nextFileName\": null}");
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "k", fd, on_result, &result, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "malformed"));
    close(fd);
}

/* The current version is not ours (other bytes, another mtime, another length), or the
 * key may not list: the body is sent again, once. */
static void lost_answer_of_an_unstored_upload_is_sent_again(void **state)
{
    struct b2_test *test = *state;
    char sha1[41], other[41];
    sha1_of("payload", sha1);
    sha1_of("other", other);
    for (int variant = 0; variant < 4; variant++) {
        struct result result = {0};
        struct stor_error err;
        fake_forget_requests(test->http);
        fake_script_outcome(test->http, POD, SP_HTTP_TIMEOUT);
        if (variant == 0)
            script_current_version(test, "k", other, 7, "1600000000123");
        else if (variant == 1)
            script_current_version(test, "k", sha1, 7, "1600000000999");
        else if (variant == 2)
            script_current_version(test, "k", sha1, 8, "1600000000123");
        else
            fake_script(test->http, "b2_list_file_names", 401, NULL,
                        ERROR_BODY(401, "unauthorized", "listFiles capability missing"));
        int fd = file_with_mtime("payload");
        assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "k", fd, on_result, &result, &err), STOR_OK);
        close(fd);
        assert_int_equal(fake_count(test->http, "b2_list_file_names"), 1);
        assert_int_equal(fake_count(test->http, POD), 2);
        assert_int_equal(result.calls, 1);
        assert_string_not_equal(result.id, "stored-id-1");
    }
}

/* No answer because nothing got there (refused connection), or B2 answered with an error: no
 * need to look, the body is sent again straight away. */
static void failed_upload_that_never_arrived_is_not_looked_for(void **state)
{
    struct b2_test *test = *state;
    struct result result = {0};
    struct stor_error err;
    fake_script_outcome(test->http, POD, SP_HTTP_CONNECT);
    fake_script(test->http, POD, 503, NULL, ERROR_BODY(503, "service_unavailable", "busy"));
    int fd = file_with_mtime("payload");
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "k", fd, on_result, &result, &err), STOR_OK);
    close(fd);
    assert_int_equal(fake_count(test->http, "b2_list_file_names"), 0);
    assert_int_equal(fake_count(test->http, POD), 3);
}

/* 401 unauthorized from the pod: one new target; refused again, it is the key's restriction. */
static void unauthorized_upload_is_fatal_on_a_fresh_target(void **state)
{
    struct b2_test *test = *state;
    for (int i = 0; i < 5; i++)
        fake_script(test->http, POD, 401, NULL, ERROR_BODY(401, "unauthorized", "name outside prefix photos/"));
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "docs/x", "x", &result, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "not allowed to write this name"));
    assert_non_null(strstr(err.message, "photos/"));
    assert_int_equal(fake_count(test->http, POD), 2);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 2);
}

/* Five targets rejected in a row: give up, transient, with the last error. */
static void five_rejected_targets_give_up(void **state)
{
    struct b2_test *test = *state;
    for (int i = 0; i < 6; i++)
        fake_script(test->http, POD, 503, NULL, ERROR_BODY(503, "service_unavailable", "vault full"));
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_ETRANSIENT);
    assert_non_null(strstr(err.message, "vault full"));
    assert_int_equal(fake_count(test->http, POD), 5);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 5);
    assert_int_equal(result.calls, 0);
}

/* The host's counters: every request, every retry, and B2's transaction classes. */
static void counters_reach_the_host(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, POD, 503, NULL, ERROR_BODY(503, "service_unavailable", "busy"));
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_OK);
    int fd = fake_file("", 0);
    assert_int_equal(b2_get(test->plugin, FAKE_BUCKET, "x", fd, NULL, NULL, &err), STOR_OK);
    close(fd);
    assert_int_equal(test->host.requests, fake_count(test->http, NULL));
    assert_int_equal(test->host.retries, 1);
    assert_int_equal(test->host.class_c, 2); /* authorize, list_buckets */
    assert_int_equal(test->host.class_a, 4); /* 2 x get_upload_url, 2 x upload */
    assert_int_equal(test->host.class_b, 1); /* download */
}

/* 429 from the pod: wait as told, then the same target again. */
static void pod_429_waits_and_keeps_the_target(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, POD, 429, "Retry-After: 3\n", ERROR_BODY(429, "too_many_requests", "slow"));
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_OK);
    assert_int_equal(fake_slept(&test->clock), 3000);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
    assert_int_equal(fake_count(test->http, POD), 2);
}

/* A 400 about the file (not the target) is final, and the target goes back to the pool. */
static void bad_request_on_upload_is_final(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, POD, 400, NULL, ERROR_BODY(400, "bad_request", "File names must not contain DEL"));
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "File names must not contain DEL"));
    assert_int_equal(put_text(test, "y", "y", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, GET_UPLOAD_URL), 1);
}

/* B2 reporting another SHA-1 than we sent is an error, never a silent success. */
static void stored_sha1_is_checked(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, POD, 200, NULL,
                "{\"fileId\": \"f\", \"fileName\": \"x\", \"contentLength\": 1, "
                "\"contentSha1\": \"0000000000000000000000000000000000000000\", \"action\": \"upload\"}");
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "SHA-1"));
    assert_int_equal(result.calls, 0);
}

/* A 200 whose body is not a file object: malformed, clear message. */
static void malformed_upload_answer(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, POD, 200, NULL, "{\"fileName\": 7}");
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "malformed"));
}

static int cancel_now(void *context, const struct stor_object *object)
{
    (void)context;
    (void)object;
    return 0;
}

/* A raised cancellation flag stops before any byte is sent. */
static void cancelled_put_stops(void **state)
{
    struct b2_test *test = *state;
    test->host.cancel = 1;
    struct stor_error err;
    int fd = fake_file("x", 1);
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "x", fd, cancel_now, NULL, &err), STOR_ECANCELLED);
    close(fd);
    assert_int_equal(fake_count(test->http, POD), 0);
}

/* content_type and info.NAME options become headers; a wrong info name is refused at open. */
static void content_type_and_info_options(void **state)
{
    struct b2_test *test = *state;
    b2_test_stop(test);
    static const char *const options[] = {"content_type=text/plain", "info.b2-cache-control=max-age=60",
                                          "info.Author=J%", NULL};
    assert_int_equal(b2_test_start(test, options, 0), 0);
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "x", "x", &result, &err), STOR_OK);
    const struct fake_request *upload = fake_last(test->http, POD);
    assert_string_equal(fake_request_header(upload, "Content-Type"), "text/plain");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-b2-cache-control"), "max-age=60");
    assert_string_equal(fake_request_header(upload, "X-Bz-Info-Author"), "J%25");
    b2_test_stop(test);
    static const char *const bad[] = {"info.b2-unknown=1", NULL};
    assert_int_not_equal(b2_test_start(test, bad, 0), 0);
    static const char *const bad_name[] = {"info.with space=1", NULL};
    b2_test_stop(test);
    assert_int_not_equal(b2_test_start(test, bad_name, 0), 0);
    b2_test_stop(test);
    assert_int_equal(b2_test_start(test, NULL, 0), 0);
}

/* A warm cache (token, bucket id, idle target from an earlier process): one HTTP request. */
static void warm_cache_put_is_one_request(void **state)
{
    struct b2_test *test = *state;
    b2_test_stop(test);
    assert_int_equal(b2_test_start(test, NULL, 1), 0);
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "first", "1", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, NULL), 4);
    assert_int_equal(b2_test_restart(test, NULL), 0); /* a new process: only the disk remains */
    fake_forget_requests(test->http);
    assert_int_equal(put_text(test, "second", "2", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, NULL), 1);
    assert_int_equal(fake_count(test->http, POD), 1);
    assert_string_equal(fake_request_header(fake_last(test->http, POD), "Authorization"), "upload-token-1");
    /* While leased, the target was out of the persisted pool: a concurrent process would have
     * asked B2 for its own. Once this instance closes it is back. */
    assert_int_equal(b2_test_restart(test, NULL), 0);
    fake_forget_requests(test->http);
    assert_int_equal(put_text(test, "third", "3", &result, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, NULL), 1);
}

/* A leased target is taken out of the persisted pool: two instances at once get two targets. */
static void persisted_target_is_leased_exclusively(void **state)
{
    struct b2_test *test = *state;
    b2_test_stop(test);
    assert_int_equal(b2_test_start(test, NULL, 1), 0);
    struct result result = {0};
    struct stor_error err;
    assert_int_equal(put_text(test, "first", "1", &result, &err), STOR_OK);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    struct b2_plugin *other = NULL;
    static const struct stor_option none[1];
    struct sp_clock clock = test->plugin->clock;
    assert_int_equal(b2_plugin_create(&test->host.host, none, 0, clock, &other, &err), STOR_OK);
    other->http = &test->http->base;
    struct b2_target mine, theirs;
    assert_int_equal(b2_lease_for_bucket(test->plugin, FAKE_BUCKET, 0, &mine, &err), STOR_OK);
    assert_string_equal(mine.token, "upload-token-1");
    assert_int_equal(b2_lease_for_bucket(other, FAKE_BUCKET, 0, &theirs, &err), STOR_OK);
    assert_string_not_equal(theirs.token, "upload-token-1");
    b2_target_free(&mine);
    b2_target_free(&theirs);
    other->http = NULL; /* the fake belongs to the test */
    b2_plugin_destroy(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_sends_b2_upload_file, setup, teardown),
        cmocka_unit_test_setup_teardown(put_starts_at_the_current_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(put_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(hundred_uploads_use_one_target, setup, teardown),
        cmocka_unit_test_setup_teardown(names_encode_as_b2_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_names_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(pipe_uses_hex_digits_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(long_pipe_is_spooled, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_cutoff_below_a_part_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_upload_token_gets_one_new_target, setup, teardown),
        cmocka_unit_test_setup_teardown(account_expiry_mid_batch_reauthorizes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_expiry_reauthorizes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(pod_503_gets_a_fresh_target, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_rejections_condemn_the_target, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sha1_mismatch_says_the_file_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(an_answer_naming_another_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(five_rejected_targets_give_up, setup, teardown),
        cmocka_unit_test_setup_teardown(unauthorized_upload_is_fatal_on_a_fresh_target, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_reach_the_host, setup, teardown),
        cmocka_unit_test_setup_teardown(pod_429_waits_and_keeps_the_target, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_request_on_upload_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(stored_sha1_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_upload_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(cancelled_put_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(content_type_and_info_options, setup, teardown),
        cmocka_unit_test_setup_teardown(warm_cache_put_is_one_request, setup, teardown),
        cmocka_unit_test_setup_teardown(persisted_target_is_leased_exclusively, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_answer_of_a_stored_upload_is_not_sent_again, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_answer_of_an_unstored_upload_is_sent_again, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_upload_that_never_arrived_is_not_looked_for, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_success_answer_is_looked_up, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN); /* a refused pipe upload closes the pipe under its writer */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
