/* tests/test_b2_auth.c — configuration, b2_authorize_account (v4, v2 fallback), single-flight
 * refresh, and the disk cache: permissions, corruption, expiry, concurrent processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "b2_fake.h"

#define AUTHORIZE "b2_authorize_account"

static int setup(void **state)
{
    return b2_test_setup(state, NULL, 0);
}

static int setup_cached(void **state)
{
    return b2_test_setup(state, NULL, 1);
}

static int teardown(void **state)
{
    return b2_test_teardown(state);
}

static enum stor_status authorize(struct b2_test *test, struct stor_error *err)
{
    struct b2_credentials credentials;
    memset(err, 0, sizeof *err);
    enum stor_status status = b2_auth_get(test->plugin, &credentials, err);
    b2_credentials_free(&credentials);
    return status;
}

/* The v4 answer: everything under apiInfo.storageApi, allowed.buckets[]. */
static void v4_answer_is_parsed(void **state)
{
    struct b2_test *test = *state;
    test->world.restricted_bucket = 1;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    const struct b2_account *account = &test->plugin->account;
    assert_string_equal(account->account_id, "account-1");
    assert_string_equal(account->api_url, "https://api.test");
    assert_string_equal(account->download_url, "https://f.test");
    assert_int_equal(account->recommended_part_size, 100000000);
    assert_int_equal(account->absolute_minimum_part_size, 5000000);
    assert_int_equal(account->bucket_count, 1);
    assert_string_equal(account->buckets[0].name, FAKE_BUCKET);
    assert_int_equal(b2_auth_has_capability(test->plugin, "writeFiles"), 1);
    assert_int_equal(b2_auth_has_capability(test->plugin, "deleteKeys"), 0);
    assert_null(account->name_prefix);
    assert_string_equal(fake_last(test->http, AUTHORIZE)->url,
                        "https://api.backblazeb2.com/b2api/v4/b2_authorize_account");
    assert_string_equal(fake_last(test->http, AUTHORIZE)->method, "GET");
    /* A key restricted to the bucket names its id: no b2_list_buckets needed. */
    char *id;
    assert_int_equal(b2_bucket_id(test->plugin, FAKE_BUCKET, 0, &id, &err), STOR_OK);
    assert_string_equal(id, FAKE_BUCKET_ID);
    free(id);
    assert_int_equal(fake_count(test->http, "b2_list_buckets"), 0);
}

/* A server without /b2api/v4/ (404): the v2 shape through /b2api/v2/. */
static void v2_fallback_on_404(void **state)
{
    struct b2_test *test = *state;
    test->world.authorize_v2_only = 1;
    test->world.restricted_bucket = 1;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, "/b2api/v4/b2_authorize_account"), 1);
    assert_int_equal(fake_count(test->http, "/b2api/v2/b2_authorize_account"), 1);
    assert_string_equal(test->plugin->account.api_url, "https://api.test");
    assert_string_equal(test->plugin->account.buckets[0].id, FAKE_BUCKET_ID);
}

/* A wrong key: fatal at once (never retried), and the message holds no secret. */
static void wrong_key_is_fatal_and_secret_free(void **state)
{
    struct b2_test *test = *state;
    setenv("B2_APPLICATION_KEY", "wrong-secret-value", 1);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_EAUTH);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 1);
    assert_null(strstr(err.message, "wrong-secret-value"));
    assert_non_null(strstr(err.message, FAKE_KEY_ID));
    setenv("B2_APPLICATION_KEY", FAKE_KEY, 1);
}

/* 503 on authorize: back off and retry. */
static void authorize_retries_when_unavailable(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, AUTHORIZE, 503, NULL, "{\"status\": 503, \"code\": \"service_unavailable\", \"message\": \"busy\"}");
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_int_equal(fake_slept(&test->clock), 1000);
}

/* A malformed authorize answer is a clear error. */
static void malformed_authorize_answer(void **state)
{
    struct b2_test *test = *state;
    fake_script(test->http, AUTHORIZE, 200, NULL, "{\"accountId\": \"a\", \"authorizationToken\": \"t\"}");
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "apiUrl is missing"));
}

/* The token is refreshed proactively before its 24 h run out. */
static void token_is_refreshed_before_24_hours(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    test->clock.now_ms += 22LL * 3600 * 1000;
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 1);
    test->clock.now_ms += 90LL * 60 * 1000;
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
}

struct refresher {
    struct b2_test *test;
    pthread_barrier_t *barrier;
    uint64_t stale;
    enum stor_status status;
};

static void *refresh_thread(void *context)
{
    struct refresher *refresher = context;
    struct stor_error err;
    pthread_barrier_wait(refresher->barrier);
    refresher->status = b2_auth_refresh(refresher->test->plugin, refresher->stale, &err);
    return NULL;
}

/* Sixteen threads report the same stale token at once: one authorize call. */
static void refresh_is_single_flight(void **state)
{
    struct b2_test *test = *state;
    struct b2_credentials credentials;
    struct stor_error err;
    assert_int_equal(b2_auth_get(test->plugin, &credentials, &err), STOR_OK);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 16);
    pthread_t threads[16];
    struct refresher refreshers[16];
    for (int i = 0; i < 16; i++) {
        refreshers[i] = (struct refresher){test, &barrier, credentials.generation, STOR_EINTERNAL};
        pthread_create(&threads[i], NULL, refresh_thread, &refreshers[i]);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(refreshers[i].status, STOR_OK);
    }
    pthread_barrier_destroy(&barrier);
    b2_credentials_free(&credentials);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
}

static int open_with(struct b2_test *test, const char *const *options, struct stor_error *err)
{
    struct stor_option parsed[8];
    size_t count = 0;
    char copies[8][256];
    for (; options[count]; count++) {
        snprintf(copies[count], sizeof copies[count], "%s", options[count]);
        char *equals = strchr(copies[count], '=');
        *equals = '\0';
        parsed[count] = (struct stor_option){copies[count], equals + 1};
    }
    parsed[count++] = (struct stor_option){"cache", "no"};
    struct b2_plugin *plugin = NULL;
    memset(err, 0, sizeof *err);
    enum stor_status status = b2_plugin_create(&test->host.host, parsed, count, test->plugin->clock,
                                               &plugin, err);
    if (plugin) {
        plugin->http = NULL;
        b2_plugin_destroy(plugin);
    }
    return status;
}

/* Secrets as options are refused, saying why; so are unknown options and bad values. */
static void options_are_checked(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(open_with(test, (const char *[]){"key=abc", NULL}, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "B2_APPLICATION_KEY"));
    assert_non_null(strstr(err.message, "visible"));
    assert_null(strstr(err.message, "abc"));
    assert_int_equal(open_with(test, (const char *[]){"application_key=abc", NULL}, &err), STOR_EINVAL);
    assert_int_equal(open_with(test, (const char *[]){"colour=blue", NULL}, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "colour"));
    assert_int_equal(open_with(test, (const char *[]){"endpoint=ftp://x", NULL}, &err), STOR_EINVAL);
    assert_int_equal(open_with(test, (const char *[]){"retries=0", NULL}, &err), STOR_EINVAL);
    assert_int_equal(open_with(test, (const char *[]){"retries=many", NULL}, &err), STOR_EINVAL);
    assert_int_equal(open_with(test, (const char *[]){"upload_cutoff=6000000000", NULL}, &err), STOR_EINVAL);
    assert_int_equal(open_with(test, (const char *[]){"cache=maybe", NULL}, &err), STOR_EINVAL);
    assert_int_equal(open_with(test, (const char *[]){"retry_time=30", "timeout=5", NULL}, &err), STOR_OK);
    /* A password in a URL option is refused without being echoed; plain http is worth a word. */
    static const char *const with_userinfo[] = {"endpoint=https://me:hunter2secret@auth.test",
                                                "download_url=http://me:hunter2secret@cdn.test/x",
                                                "endpoint=https://auth.test/a b"};
    for (size_t i = 0; i < sizeof with_userinfo / sizeof *with_userinfo; i++) {
        assert_int_equal(open_with(test, (const char *[]){with_userinfo[i], NULL}, &err), STOR_EINVAL);
        assert_null(strstr(err.message, "hunter2"));
    }
    assert_null(test->host.log ? strstr(test->host.log, "hunter2") : NULL);
    assert_int_equal(open_with(test, (const char *[]){"download_url=http://cdn.test", NULL}, &err), STOR_OK);
    assert_non_null(test->host.log);
    assert_non_null(strstr(test->host.log, "download_url http://cdn.test is plain http"));
    unsetenv("B2_APPLICATION_KEY"); /* missing credentials are an authentication failure */
    assert_int_equal(open_with(test, (const char *[]){NULL}, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "B2_APPLICATION_KEY is not set"));
    assert_non_null(strstr(err.message, "key_file"));
    setenv("B2_APPLICATION_KEY", FAKE_KEY, 1);
}

/* -o key_file=PATH: two lines, key id then key; the endpoint loses its trailing slash. */
static void key_file_and_endpoint(void **state)
{
    struct b2_test *test = *state;
    char path[] = "/tmp/stor-b2-key-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = FAKE_KEY_ID "\r\n" FAKE_KEY "\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char option[64];
    snprintf(option, sizeof option, "key_file=%s", path);
    unsetenv("B2_APPLICATION_KEY_ID");
    unsetenv("B2_APPLICATION_KEY");
    assert_int_equal(b2_test_restart(test, (const char *[]){option, "endpoint=https://auth.test//", NULL}), 0);
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_string_equal(fake_last(test->http, AUTHORIZE)->url, "https://auth.test/b2api/v4/b2_authorize_account");
    assert_string_equal(fake_last(test->http, AUTHORIZE)->basic_password, FAKE_KEY);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "only-one-line\n", 14), 14);
    close(fd);
    assert_int_equal(open_with(test, (const char *[]){option, NULL}, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "two lines"));
    unlink(path);
    assert_int_equal(open_with(test, (const char *[]){option, NULL}, &err), STOR_EINVAL);
    setenv("B2_APPLICATION_KEY_ID", FAKE_KEY_ID, 1);
    setenv("B2_APPLICATION_KEY", FAKE_KEY, 1);
}

static char *cache_file(const char *directory, const char *suffix)
{
    DIR *dir = opendir(directory);
    struct dirent *entry;
    char *found = NULL;
    while (dir && (entry = readdir(dir)))
        if (strncmp(entry->d_name, "b2-", 3) == 0 && strstr(entry->d_name, suffix) &&
            strlen(strstr(entry->d_name, suffix)) == strlen(suffix) &&
            asprintf(&found, "%s/%s", directory, entry->d_name) < 0)
            found = NULL;
    if (dir)
        closedir(dir);
    return found;
}

/* Under umask 0 the cache directory is 0700 and its files 0600; a second instance reuses the
 * token without authorizing. */
static void cache_permissions_and_reuse(void **state)
{
    struct b2_test *test = *state;
    mode_t old = umask(0);
    char *nested;
    assert_true(asprintf(&nested, "%s/deeper/stor", test->cache_dir) > 0);
    setenv("STOR_CACHE_DIR", nested, 1);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    umask(old);
    struct stat info;
    assert_int_equal(stat(nested, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0700);
    char *json = cache_file(nested, ".json"), *lock = cache_file(nested, ".lock");
    free(nested);
    assert_non_null(json);
    assert_non_null(lock);
    assert_int_equal(stat(json, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    assert_int_equal(stat(lock, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0600);
    /* The name is a hash: neither the key id nor the endpoint shows in it. */
    assert_null(strstr(json, FAKE_KEY_ID));
    free(json);
    free(lock);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 1);
    setenv("STOR_CACHE_DIR", test->cache_dir, 1);
}

static void corrupt(struct b2_test *test, const char *content, mode_t mode)
{
    char *json = cache_file(test->cache_dir, ".json");
    assert_non_null(json);
    int fd = open(json, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    fchmod(fd, mode);
    close(fd);
    free(json);
}

/* A corrupt cache file is ignored and replaced by a good one. */
static void corrupt_cache_is_replaced(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    corrupt(test, "{\"format\": 1, \"account\": [tru", 0600);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
}

/* The warning names the file and the reason; the file was replaced by one of ours, 0600. */
static void assert_refused_and_replaced(struct b2_test *test, const char *json, const char *reason)
{
    char line[600];
    snprintf(line, sizeof line, "cache file %s ignored: it %s", json, reason);
    if (!test->host.log || !strstr(test->host.log, line))
        fail_msg("log lacks '%s':\n%s", line, test->host.log ? test->host.log : "");
    struct stat info;
    assert_int_equal(stat(json, &info), 0);
    assert_int_equal(info.st_uid, geteuid());
    assert_int_equal(info.st_mode & 0777, 0600);
}

/* A user id that is not ours (nobody, unless we are nobody). */
static uid_t another_uid(void)
{
    return geteuid() == 65534 ? 65533 : 65534;
}

/* A cache file owned by another user is not trusted: authorize afresh, say so, replace it. Not as
 * root (chown fails), a group-writable file stands in, so the warning is still checked. */
static void cache_file_of_another_user_is_refused(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    char *json = cache_file(test->cache_dir, ".json");
    const char *reason = "is owned by another user";
    if (chown(json, another_uid(), (gid_t)-1) != 0) {
        assert_int_not_equal(geteuid(), 0);
        chmod(json, 0620);
        reason = "is writable by group or others";
    }
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_refused_and_replaced(test, json, reason);
    free(json);
}

/* A cache directory owned by another user disables the disk cache, saying why (not as root:
 * a world-writable one stands in). */
static void cache_directory_of_another_user_is_refused(void **state)
{
    struct b2_test *test = *state;
    const char *reason = "is owned by another user";
    if (chown(test->cache_dir, another_uid(), (gid_t)-1) != 0) {
        assert_int_not_equal(geteuid(), 0);
        chmod(test->cache_dir, 0707);
        reason = "is writable by group or others";
    }
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_null(test->plugin->cache);
    char line[400];
    snprintf(line, sizeof line, "no disk cache (cache directory %s refused: it %s)", test->cache_dir,
             reason);
    if (!test->host.log || !strstr(test->host.log, line))
        fail_msg("log lacks '%s':\n%s", line, test->host.log ? test->host.log : "");
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK); /* from memory */
    assert_int_equal(chown(test->cache_dir, geteuid(), (gid_t)-1), 0);
    chmod(test->cache_dir, 0700);
}

/* A symbolic link or a FIFO in the cache file's place is refused without hanging. */
static void cache_file_not_regular_is_refused(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    char *json = cache_file(test->cache_dir, ".json");
    assert_int_equal(unlink(json), 0);
    assert_int_equal(mkfifo(json, 0600), 0);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_refused_and_replaced(test, json, "is not a regular file");
    char elsewhere[300];
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", test->cache_dir);
    assert_int_equal(rename(json, elsewhere), 0);
    assert_int_equal(symlink(elsewhere, json), 0);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 3);
    char line[600];
    snprintf(line, sizeof line, "cache file %s ignored: it is a symbolic link", json);
    assert_non_null(strstr(test->host.log, line));
    free(json);
}

/* A cache file others may write is not trusted. */
static void unsafe_cache_file_is_refused(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    char *json = cache_file(test->cache_dir, ".json");
    chmod(json, 0666);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_refused_and_replaced(test, json, "is writable by group or others");
    free(json);
    /* A group-writable cache directory disables the disk cache altogether. */
    chmod(test->cache_dir, 0770);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_null(test->plugin->cache);
    assert_non_null(strstr(test->host.log, "writable by group or others"));
    chmod(test->cache_dir, 0700);
}

/* ---- no downgrade from https to plain http ---- */

#define HTTP_ACCOUNT(api, download) \
    "{\"accountId\": \"account-1\", \"authorizationToken\": \"acct-token-7\", \"apiUrl\": \"" api \
    "\", \"downloadUrl\": \"" download "\", \"allowed\": {\"capabilities\": [\"listBuckets\"]}}"

/* Under an https endpoint, an authorize answer pointing at plain http:// is refused in one line
 * naming the field, without the token; nothing is sent there. */
static void plain_http_account_urls_under_https_are_refused(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    fake_script(test->http, AUTHORIZE, 200, NULL, HTTP_ACCOUNT("http://api.test", "https://f.test"));
    assert_int_equal(authorize(test, &err), STOR_EINTERNAL);
    assert_string_equal(err.message, "b2_authorize_account: apiUrl is plain http:// while the "
                        "endpoint is https: refused, the token and data sent there would travel "
                        "in clear");
    fake_script(test->http, AUTHORIZE, 200, NULL, HTTP_ACCOUNT("https://api.test", "http://f.test"));
    assert_int_equal(authorize(test, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "downloadUrl is plain http:// while the endpoint is https"));
    assert_null(strstr(err.message, "acct-token"));
    assert_null(strchr(err.message, '\n'));
    assert_int_equal(fake_count(test->http, "http://"), 0);
    assert_int_equal(authorize(test, &err), STOR_OK); /* B2's proper answer is taken */
    assert_string_equal(test->plugin->account.api_url, "https://api.test");
}

/* An http endpoint (a test server on this machine) may hand out http URLs. */
static void plain_http_account_urls_under_http_endpoint_are_used(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(b2_test_restart(test, (const char *[]){"endpoint=http://127.0.0.1:8181", NULL}), 0);
    fake_script(test->http, AUTHORIZE, 200, NULL,
                HTTP_ACCOUNT("http://127.0.0.1:8181", "http://127.0.0.1:8181"));
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_string_equal(test->plugin->account.api_url, "http://127.0.0.1:8181");
    assert_string_equal(test->plugin->account.download_url, "http://127.0.0.1:8181");
}

/* A cached account with a plain http apiUrl (written by an older version) is not used. */
static void cached_plain_http_account_is_not_used(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    char *json = cache_file(test->cache_dir, ".json");
    json_object *root = json_object_from_file(json), *account;
    assert_non_null(root);
    assert_true(json_object_object_get_ex(root, "account", &account));
    json_object_object_add(account, "apiUrl", json_object_new_string("http://api.test"));
    assert_int_equal(json_object_to_file(json, root), 0);
    json_object_put(root);
    free(json);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_string_equal(test->plugin->account.api_url, "https://api.test");
}

/* A cached token older than its life is not used. */
static void expired_cache_entry_is_replaced(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    test->clock.now_ms += 24LL * 3600 * 1000;
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
}

/* A refused token is not taken back from the cache: the refresh really authorizes. */
static void refresh_skips_the_refused_cached_token(void **state)
{
    struct b2_test *test = *state;
    struct b2_credentials credentials;
    struct stor_error err;
    assert_int_equal(b2_auth_get(test->plugin, &credentials, &err), STOR_OK);
    assert_int_equal(b2_auth_refresh(test->plugin, credentials.generation, &err), STOR_OK);
    b2_credentials_free(&credentials);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_string_equal(test->plugin->account.token, "acct-token-2");
}

/* Another process already refreshed the refused token: take its token from the cache. */
static void refresh_adopts_another_process_token(void **state)
{
    struct b2_test *test = *state;
    struct b2_credentials mine;
    struct stor_error err;
    assert_int_equal(b2_auth_get(test->plugin, &mine, &err), STOR_OK);
    struct b2_plugin *other = NULL;
    static const struct stor_option none[1];
    assert_int_equal(b2_plugin_create(&test->host.host, none, 0, test->plugin->clock, &other, &err), STOR_OK);
    other->http = &test->http->base;
    struct b2_credentials theirs;
    assert_int_equal(b2_auth_get(other, &theirs, &err), STOR_OK); /* from the cache */
    assert_string_equal(theirs.token, "acct-token-1");
    assert_int_equal(b2_auth_refresh(other, theirs.generation, &err), STOR_OK); /* authorizes */
    assert_int_equal(b2_auth_refresh(test->plugin, mine.generation, &err), STOR_OK); /* adopts */
    assert_string_equal(test->plugin->account.token, "acct-token-2");
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    b2_credentials_free(&mine);
    b2_credentials_free(&theirs);
    other->http = NULL;
    b2_plugin_destroy(other);
}

/* Four processes start cold at once: the flock makes one of them authorize, the rest read it. */
static void concurrent_processes_authorize_once(void **state)
{
    struct b2_test *test = *state;
    pid_t children[4];
    for (int i = 0; i < 4; i++) {
        children[i] = fork();
        if (children[i] == 0) {
            struct stor_error err;
            int ok = authorize(test, &err) == STOR_OK;
            _exit(ok ? (int)fake_count(test->http, AUTHORIZE) : 100);
        }
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        int status;
        waitpid(children[i], &status, 0);
        assert_true(WIFEXITED(status));
        total += WEXITSTATUS(status);
    }
    assert_int_equal(total, 1);
}

static int add_marker(json_object *root, void *context)
{
    const char *name = context;
    json_object_object_add(root, name, json_object_new_boolean(1));
    return 1;
}

/* Concurrent writers never lose each other's entries nor leave a torn file. */
static void concurrent_writers_keep_the_file_whole(void **state)
{
    struct b2_test *test = *state;
    pid_t children[4];
    for (int i = 0; i < 4; i++) {
        children[i] = fork();
        if (children[i] == 0) {
            for (int j = 0; j < 25; j++) {
                char name[32];
                snprintf(name, sizeof name, "marker-%d-%d", i, j);
                if (b2_cache_update(test->plugin->cache, add_marker, name) != 1)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status;
        waitpid(children[i], &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    char *json = cache_file(test->cache_dir, ".json");
    json_object *root = json_object_from_file(json);
    free(json);
    assert_non_null(root);
    int markers = 0;
    json_object_object_foreach(root, key, value) {
        (void)value;
        markers += strncmp(key, "marker-", 7) == 0;
    }
    json_object_put(root);
    assert_int_equal(markers, 100);
    /* No temporary file left behind. */
    DIR *dir = opendir(test->cache_dir);
    struct dirent *entry;
    int files = 0;
    while ((entry = readdir(dir)))
        files += entry->d_name[0] != '.';
    closedir(dir);
    assert_int_equal(files, 2);
}

/* The disk cache is bound to the key, not only its id: a wrong key finds the cache cold and is
 * refused by B2, instead of "working" on the token the right key cached. */
static void a_wrong_key_does_not_use_the_warm_cache(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    setenv("B2_APPLICATION_KEY", "wrong-secret-value", 1);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_EAUTH);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    setenv("B2_APPLICATION_KEY", FAKE_KEY, 1);
    assert_int_equal(b2_test_restart(test, NULL), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* A writer killed between writing its temporary cache file and renaming it leaves the file; the
 * next holder of the lock removes it (links and other files of the directory are left alone). */
static void a_killed_writers_temporary_cache_file_is_removed(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    char stale[4200], link[4200], other[4200];
    snprintf(stale, sizeof stale, "%s.Ab12Cd", b2_cache_path(test->plugin->cache));
    snprintf(link, sizeof link, "%s.Ln12Ln", b2_cache_path(test->plugin->cache));
    snprintf(other, sizeof other, "%s/keep.json.Ab12Cd", test->cache_dir);
    write_text(stale, "{\"format\":1");
    write_text(other, "mine");
    assert_int_equal(symlink(other, link), 0);
    assert_int_equal(authorize(test, &err), STOR_OK);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    unlink(link);
    unlink(other);
}

static int ignore_listed(void *context, const struct stor_object *object)
{
    (void)context;
    (void)object;
    return 0;
}

/* A cached apiUrl that cannot be reached (B2 moved the account) is not used for the rest of its
 * 24 h: after two connection failures running, stor authorizes again. A token this process just
 * got is not re-fetched for a host that is down. */
static void an_unreachable_cached_api_url_is_authorized_again(void **state)
{
    struct b2_test *test = *state;
    struct stor_error err;
    assert_int_equal(authorize(test, &err), STOR_OK);
    fake_script_outcome(test->http, "b2_list_file_names", SP_HTTP_CONNECT);
    fake_script_outcome(test->http, "b2_list_file_names", SP_HTTP_CONNECT);
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", 0, ignore_listed, NULL, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 1); /* fresh: not authorized again */

    assert_int_equal(b2_test_restart(test, NULL), 0); /* a new process, on the cached token */
    fake_script_outcome(test->http, "b2_list_file_names", SP_HTTP_CONNECT);
    fake_script_outcome(test->http, "b2_list_file_names", SP_HTTP_CONNECT);
    assert_int_equal(b2_list(test->plugin, FAKE_BUCKET, "", 0, ignore_listed, NULL, &err), STOR_OK);
    assert_int_equal(fake_count(test->http, AUTHORIZE), 2);
    assert_non_null(strstr(test->host.log, "cannot reach the cached apiUrl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(v4_answer_is_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(v2_fallback_on_404, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_key_is_fatal_and_secret_free, setup, teardown),
        cmocka_unit_test_setup_teardown(authorize_retries_when_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_authorize_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(token_is_refreshed_before_24_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(refresh_is_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(options_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(a_wrong_key_does_not_use_the_warm_cache, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(an_unreachable_cached_api_url_is_authorized_again, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(a_killed_writers_temporary_cache_file_is_removed, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(key_file_and_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_permissions_and_reuse, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(corrupt_cache_is_replaced, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(unsafe_cache_file_is_refused, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(cache_file_of_another_user_is_refused, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(cache_directory_of_another_user_is_refused, setup_cached,
                                        teardown),
        cmocka_unit_test_setup_teardown(cache_file_not_regular_is_refused, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(expired_cache_entry_is_replaced, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(plain_http_account_urls_under_https_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_http_account_urls_under_http_endpoint_are_used, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cached_plain_http_account_is_not_used, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(refresh_skips_the_refused_cached_token, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(refresh_adopts_another_process_token, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(concurrent_processes_authorize_once, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_keep_the_file_whole, setup_cached, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
