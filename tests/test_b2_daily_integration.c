/* tests/test_b2_daily_integration.c — the B2 plugin's ABI 2 and 3 slots (get_ex, version listings,
 * remove_ex, copy; put_ex, stat, buckets, share) called through its vtable against the B2 test
 * server on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <stor/plugin.h>
#include <time.h>

#include "b2_server_harness.h"

const struct stor_backend *stor_plugin_entry(void);

#define MIB (1024 * 1024)
#define BIG (32 * MIB)

static void host_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
{
    if (!getenv("B2_TEST_VERBOSE"))
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "# log %d: ", (int)level);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void host_progress(const struct stor_host *host, const char *key, uint64_t done,
                          uint64_t total)
{
}

static int host_cancelled(const struct stor_host *host)
{
    return 0;
}

static const struct stor_host host = {
    STOR_ABI_VERSION, sizeof(struct stor_host), STOR_LOG_INFO, host_log, host_progress,
    host_cancelled, NULL, STOR_INTENT_WRITE,
};

struct fixture {
    struct b2_test_server *server;
    const struct stor_backend *b2;
    void *instance;
    char *big; /* BIG pseudo-random bytes */
};

static struct fixture *fx;

static void open_plugin_as(const char *key_id, const char *key)
{
    struct stor_option options[] = {
        {"endpoint", b2_test_server_url(fx->server)},
        {"cache", "no"},
        {"download_part_size", "4194304"},
        {"transfers", "4"},
        {"retry_time", "20"},
    };
    struct stor_error err = {""};
    setenv("B2_APPLICATION_KEY_ID", key_id, 1);
    setenv("B2_APPLICATION_KEY", key, 1);
    enum stor_status status = fx->b2->open(&host, options, sizeof options / sizeof *options,
                                           &fx->instance, &err);
    if (status != STOR_OK)
        fprintf(stderr, "# open: %s\n", err.message);
    assert_int_equal(status, STOR_OK);
}

static int setup(void **state)
{
    fx = calloc(1, sizeof *fx);
    const char *const args[] = {"--bucket", "other-bucket", "--restricted-key",
                                "nodelete-id:nodelete-key:test-bucket:listBuckets,listFiles,readFiles,writeFiles",
                                NULL};
    fx->server = b2_test_server_start(args);
    assert_non_null(fx->server);
    fx->b2 = stor_plugin_entry();
    open_plugin_as(B2_TEST_KEY_ID, B2_TEST_KEY);
    return 0;
}

static int teardown(void **state)
{
    fx->b2->close(fx->instance);
    assert_int_equal(b2_test_server_stop(fx->server), 0);
    free(fx->big);
    free(fx);
    return 0;
}

static int temp_file(void)
{
    char path[] = "/tmp/stor-b2-daily-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t wrote = write(fd, data, length);
        assert_true(wrote > 0);
        data += wrote;
        length -= (size_t)wrote;
    }
}

static void put(const char *bucket, const char *key, const char *data, size_t length)
{
    int fd = temp_file();
    write_all(fd, data, length);
    lseek(fd, 0, SEEK_SET);
    struct stor_error err = {""};
    enum stor_status status = fx->b2->put(fx->instance, bucket, key, fd, NULL, NULL, &err);
    if (status != STOR_OK)
        fprintf(stderr, "# put %s: %s\n", key, err.message);
    assert_int_equal(status, STOR_OK);
    close(fd);
}

static void make_big(void)
{
    fx->big = malloc(BIG);
    uint32_t x = 12345;
    for (size_t i = 0; i < BIG; i++) {
        x = x * 1103515245 + 12345;
        fx->big[i] = (char)(x >> 16);
    }
}

/* The file holds exactly length bytes equal to expected. */
static void assert_file_is(int fd, const char *expected, size_t length)
{
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)length);
    char *buffer = malloc(MIB);
    for (size_t done = 0; done < length;) {
        ssize_t got = pread(fd, buffer, MIB, (off_t)done);
        assert_true(got > 0);
        assert_memory_equal(buffer, expected + done, (size_t)got);
        done += (size_t)got;
    }
    free(buffer);
}

struct got {
    char sha1[41];
    char id[128];
    char key[64];
    int64_t size;
};

static int on_got(void *context, const struct stor_object *object)
{
    struct got *got = context;
    snprintf(got->sha1, sizeof got->sha1, "%s", object->sha1 ? object->sha1 : "");
    snprintf(got->id, sizeof got->id, "%s", object->id ? object->id : "");
    snprintf(got->key, sizeof got->key, "%s", object->key);
    got->size = object->size;
    return 0;
}

static enum stor_status get_ex(const char *key, const char *version, int64_t offset,
                               int64_t length, int resume, int fd, struct got *got,
                               struct stor_error *err)
{
    struct stor_get_options options = {.struct_size = sizeof options, .version_id = version,
                                       .offset = offset, .length = length, .resume = resume};
    return fx->b2->get_ex(fx->instance, B2_TEST_BUCKET, key, &options, fd, on_got, got, err);
}

static void reset_counters(void)
{
    assert_int_equal(b2_test_server_control(fx->server, "POST", "/_test/reset",
                                            "{\"counters\":true,\"faults\":true}", NULL), 200);
}

static long counter(const char *api)
{
    long calls = b2_test_server_counter(fx->server, api);
    return calls < 0 ? 0 : calls;
}

/* 32 MiB in ranges of at most 4 MiB: one probe by name, then the other 28 MiB by id in eight
 * ranges (seven would leave the last round to one of the four transfers); exact bytes; then a
 * range. */
static void parallel_and_ranged_downloads(void **state)
{
    make_big();
    put(B2_TEST_BUCKET, "big.bin", fx->big, BIG);
    reset_counters();
    int fd = temp_file();
    struct got got = {0};
    struct stor_error err = {""};
    assert_int_equal(get_ex("big.bin", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_file_is(fd, fx->big, BIG);
    assert_int_equal(got.size, BIG);
    assert_int_equal(strlen(got.sha1), 40);
    assert_int_equal(counter("b2_download_file_by_name"), 1);
    assert_int_equal(counter("b2_download_file_by_id"), 8);
    close(fd);

    fd = temp_file();
    assert_int_equal(get_ex("big.bin", NULL, 1000001, 5 * MIB + 3, 0, fd, &got, &err), STOR_OK);
    assert_file_is(fd, fx->big + 1000001, 5 * MIB + 3);
    close(fd);
    fd = temp_file();
    assert_int_equal(get_ex("big.bin", NULL, BIG, 10, 0, fd, &got, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "outside the file"));
    close(fd);
}

/* An interrupted download (first half on disk) resumes and is verified whole. */
static void resume_interrupted_download(void **state)
{
    make_big();
    put(B2_TEST_BUCKET, "big.bin", fx->big, BIG);
    int fd = temp_file();
    write_all(fd, fx->big, BIG / 2);
    struct got got = {0};
    struct stor_error err = {""};
    reset_counters();
    assert_int_equal(get_ex("big.bin", NULL, BIG / 2, -1, 1, fd, &got, &err), STOR_OK);
    assert_file_is(fd, fx->big, BIG);
    assert_int_equal(got.size, BIG);
    assert_int_equal(counter("b2_download_file_by_name"), 1);
    close(fd);
    /* The wrong first half is caught. */
    fd = temp_file();
    write_all(fd, fx->big + 1, BIG / 2);
    assert_int_equal(get_ex("big.bin", NULL, BIG / 2, -1, 1, fd, &got, &err), STOR_EIO);
    close(fd);
}

/* A corrupted body (headers intact) is refused with EIO, small or parallel. */
static void corrupted_download_rejected(void **state)
{
    make_big();
    put(B2_TEST_BUCKET, "big.bin", fx->big, BIG);
    put(B2_TEST_BUCKET, "small.txt", "hello, small world", 18);
    struct stor_error err = {""};
    struct got got = {0};
    for (int i = 0; i < 2; i++) {
        const char *key = i ? "big.bin" : "small.txt";
        assert_int_equal(b2_test_server_control(fx->server, "POST", "/_test/corrupt",
                                                i ? "{\"api\":\"b2_download_file_by_id\",\"count\":1}"
                                                  : "{\"api\":\"*\",\"count\":1}", NULL), 200);
        int fd = temp_file();
        assert_int_equal(get_ex(key, NULL, 0, -1, 0, fd, &got, &err), STOR_EIO);
        assert_non_null(strstr(err.message, "does not match its SHA-1"));
        close(fd);
        fd = temp_file();
        assert_int_equal(get_ex(key, NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
        close(fd);
    }
    assert_int_equal(b2_test_server_counter_field(fx->server, "b2_download_file_by_id", "injected"), 1);
}

struct listing {
    int count;
    char ids[8][128];
    int hidden[8];
    char first_key[64], last_key[64];
};

static int on_listed(void *context, const struct stor_object *object)
{
    struct listing *listing = context;
    if (listing->count < 8) {
        snprintf(listing->ids[listing->count], 128, "%s", object->id ? object->id : "");
        listing->hidden[listing->count] = object->is_hidden;
    }
    if (listing->count == 0)
        snprintf(listing->first_key, sizeof listing->first_key, "%s", object->key);
    snprintf(listing->last_key, sizeof listing->last_key, "%s", object->key);
    listing->count++;
    return 0;
}

static struct listing versions_of(const char *prefix)
{
    struct listing listing = {0};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->list(fx->instance, B2_TEST_BUCKET, prefix,
                                  STOR_LIST_VERSIONS | STOR_LIST_RECURSIVE, on_listed, &listing,
                                  &err), STOR_OK);
    return listing;
}

static enum stor_status remove_ex(const char *key, const char *id, unsigned flags,
                                  struct stor_error *err)
{
    struct stor_remove_options options = {.struct_size = sizeof options, .version_id = id,
                                          .flags = flags};
    return fx->b2->remove_ex(fx->instance, B2_TEST_BUCKET, key, &options, err);
}

static enum stor_status remove_ex_in(const char *bucket, const char *key, const char *id,
                                     unsigned flags, struct stor_error *err)
{
    struct stor_remove_options options = {.struct_size = sizeof options, .version_id = id,
                                          .flags = flags};
    return fx->b2->remove_ex(fx->instance, bucket, key, &options, err);
}

/* Hide, delete one version, delete all, each checked through a versions listing. */
static void hide_and_delete_versions(void **state)
{
    put(B2_TEST_BUCKET, "doc", "one", 3);
    put(B2_TEST_BUCKET, "doc", "two", 3);
    put(B2_TEST_BUCKET, "doc", "three", 5);
    put(B2_TEST_BUCKET, "doc2", "other", 5);
    struct stor_error err = {""};
    assert_int_equal(remove_ex("doc", NULL, 0, &err), STOR_OK); /* hide */
    struct listing listing = versions_of("doc");
    assert_int_equal(listing.count, 5);
    assert_true(listing.hidden[0]);
    assert_false(listing.hidden[1]);
    /* The oldest version downloads by id. */
    char oldest[128];
    snprintf(oldest, sizeof oldest, "%s", listing.ids[3]);
    int fd = temp_file();
    struct got got = {0};
    assert_int_equal(get_ex("doc", oldest, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_file_is(fd, "one", 3);
    close(fd);
    /* Delete exactly that version. */
    assert_int_equal(remove_ex("doc", oldest, 0, &err), STOR_OK);
    listing = versions_of("doc");
    assert_int_equal(listing.count, 4);
    for (int i = 0; i < listing.count; i++)
        assert_string_not_equal(listing.ids[i], oldest);
    assert_int_equal(remove_ex("doc", oldest, 0, &err), STOR_ENOTFOUND);
    /* Every version of doc, the hide marker included; doc2 stays. */
    reset_counters();
    assert_int_equal(remove_ex("doc", NULL, STOR_REMOVE_ALL_VERSIONS, &err), STOR_OK);
    assert_int_equal(counter("b2_delete_file_version"), 3);
    listing = versions_of("doc");
    assert_int_equal(listing.count, 1);
    assert_string_equal(listing.first_key, "doc2");
    assert_int_equal(remove_ex("doc", NULL, STOR_REMOVE_ALL_VERSIONS, &err), STOR_ENOTFOUND);
}

/* A key without deleteFiles can hide but not delete: EAUTH naming the capability. */
static void delete_needs_delete_files(void **state)
{
    put(B2_TEST_BUCKET, "kept", "data", 4);
    fx->b2->close(fx->instance);
    open_plugin_as("nodelete-id", "nodelete-key");
    struct listing listing = versions_of("kept");
    assert_int_equal(listing.count, 1);
    struct stor_error err = {""};
    assert_int_equal(remove_ex("kept", listing.ids[0], 0, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "deleteFiles"));
    assert_int_equal(remove_ex("kept", NULL, STOR_REMOVE_ALL_VERSIONS, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "deleteFiles"));
    assert_int_equal(remove_ex("kept", NULL, 0, &err), STOR_OK); /* hide */
    listing = versions_of("kept");
    assert_int_equal(listing.count, 2);
    assert_true(listing.hidden[0]);
}

/* 2,500 names: three pages of b2_list_file_names, and of b2_list_file_versions. */
static void list_2500_names(void **state)
{
    char key[32];
    for (int i = 0; i < 2500; i++) {
        snprintf(key, sizeof key, "n/%05d", i);
        put(B2_TEST_BUCKET, key, key, strlen(key));
    }
    reset_counters();
    struct listing listing = {0};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->list(fx->instance, B2_TEST_BUCKET, "n/", STOR_LIST_RECURSIVE,
                                  on_listed, &listing, &err), STOR_OK);
    assert_int_equal(listing.count, 2500);
    assert_string_equal(listing.first_key, "n/00000");
    assert_string_equal(listing.last_key, "n/02499");
    assert_int_equal(counter("b2_list_file_names"), 3);
    listing = versions_of("n/");
    assert_int_equal(listing.count, 2500);
    assert_string_equal(listing.last_key, "n/02499");
    assert_int_equal(counter("b2_list_file_versions"), 3);
}

/* Server-side copy, same bucket and another: no download, the bytes arrive. */
static void server_side_copy(void **state)
{
    make_big();
    put(B2_TEST_BUCKET, "src.bin", fx->big, 3 * MIB);
    reset_counters();
    struct got got = {0};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->copy(fx->instance, B2_TEST_BUCKET, "src.bin", B2_TEST_BUCKET,
                                  "dst.bin", on_got, &got, &err), STOR_OK);
    assert_string_equal(got.key, "dst.bin");
    assert_int_equal(got.size, 3 * MIB);
    assert_int_equal(fx->b2->copy(fx->instance, B2_TEST_BUCKET, "src.bin", "other-bucket",
                                  "copied.bin", on_got, &got, &err), STOR_OK);
    assert_int_equal(counter("b2_copy_file"), 2);
    assert_int_equal(counter("b2_download_file_by_name"), 0);
    assert_int_equal(counter("b2_download_file_by_id"), 0);
    assert_int_equal(counter("b2_upload_file"), 0);
    int fd = temp_file();
    assert_int_equal(get_ex("dst.bin", NULL, 0, -1, 0, fd, &got, &err), STOR_OK);
    assert_file_is(fd, fx->big, 3 * MIB);
    close(fd);
    fd = temp_file();
    assert_int_equal(fx->b2->get(fx->instance, "other-bucket", "copied.bin", fd, NULL, NULL, &err),
                     STOR_OK);
    assert_file_is(fd, fx->big, 3 * MIB);
    close(fd);
    assert_int_equal(fx->b2->copy(fx->instance, B2_TEST_BUCKET, "absent", B2_TEST_BUCKET, "x",
                                  NULL, NULL, &err), STOR_ENOTFOUND);
}

/* ---- ABI 3 ---- */

struct fetched {
    long status;
    char body[4096];
    size_t length;
    char headers[8192];
    size_t headers_length;
};

static size_t take_body(char *data, size_t size, size_t count, void *context)
{
    struct fetched *f = context;
    size_t n = size * count, room = sizeof f->body - 1 - f->length;
    memcpy(f->body + f->length, data, n < room ? n : room);
    f->length += n < room ? n : room;
    f->body[f->length] = '\0';
    return n;
}

static size_t take_header(char *data, size_t size, size_t count, void *context)
{
    struct fetched *f = context;
    size_t n = size * count, room = sizeof f->headers - 1 - f->headers_length;
    memcpy(f->headers + f->headers_length, data, n < room ? n : room);
    f->headers_length += n < room ? n : room;
    f->headers[f->headers_length] = '\0';
    return n;
}

/* A plain GET, as anyone given the URL would do it: no credentials of ours. */
static struct fetched fetch(const char *url)
{
    struct fetched f = {0};
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, take_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f.status);
    curl_easy_cleanup(curl);
    return f;
}

static int has_header(const struct fetched *f, const char *line)
{
    const char *found = strcasestr(f->headers, line);
    return found && (found == f->headers || found[-1] == '\n');
}

struct stat_seen {
    int calls;
    char type[64], cache_control[64], disposition[64], language[32], meta_key[32], meta_value[64];
    size_t meta_count;
    int64_t mtime_ms, size;
};

static int on_stat(void *context, const struct stor_object *o)
{
    struct stat_seen *s = context;
    s->calls++;
    snprintf(s->type, sizeof s->type, "%s", o->content_type ? o->content_type : "");
    snprintf(s->cache_control, sizeof s->cache_control, "%s", o->cache_control ? o->cache_control : "");
    snprintf(s->disposition, sizeof s->disposition, "%s",
             o->content_disposition ? o->content_disposition : "");
    snprintf(s->language, sizeof s->language, "%s", o->content_language ? o->content_language : "");
    s->meta_count = o->metadata_count;
    if (o->metadata_count) {
        snprintf(s->meta_key, sizeof s->meta_key, "%s", o->metadata[0].key);
        snprintf(s->meta_value, sizeof s->meta_value, "%s", o->metadata[0].value);
    }
    s->mtime_ms = o->mtime_ms;
    s->size = o->size;
    return 0;
}

struct shared {
    int calls;
    char url[1024];
    int64_t expires_at_ms;
};

static void on_url(void *context, const char *url, int64_t expires_at_ms)
{
    struct shared *s = context;
    s->calls++;
    snprintf(s->url, sizeof s->url, "%s", url);
    s->expires_at_ms = expires_at_ms;
}

/* put_ex's fields come back through stat, through a listing, and as the headers of a download
 * (by a shared URL, so without the account's token). */
static void metadata_round_trip(void **state)
{
    struct stor_option metadata[] = {{"colour", "blue sky+1"}};
    struct stor_put_options options = {
        .struct_size = sizeof options, .size = 5, .mtime_ms = 1500000000123,
        .content_type = "text/x-daily", .cache_control = "max-age=60, public",
        .content_disposition = "attachment; filename=\"d.txt\"", .content_language = "fr",
        .metadata = metadata, .metadata_count = 1,
        .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    int fd = temp_file();
    write_all(fd, "hello", 5);
    lseek(fd, 0, SEEK_SET);
    struct stor_error err = {""};
    assert_int_equal(fx->b2->put_ex(fx->instance, B2_TEST_BUCKET, "meta/d.txt", &options, fd, NULL,
                                    NULL, &err), STOR_OK);
    close(fd);
    struct stat_seen seen = {0};
    assert_int_equal(fx->b2->stat(fx->instance, B2_TEST_BUCKET, "meta/d.txt", NULL, on_stat, &seen,
                                  &err), STOR_OK);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.size, 5);
    assert_int_equal(seen.mtime_ms, 1500000000123);
    assert_string_equal(seen.type, "text/x-daily");
    assert_string_equal(seen.cache_control, "max-age=60, public");
    assert_string_equal(seen.disposition, "attachment; filename=\"d.txt\"");
    assert_string_equal(seen.language, "fr");
    assert_int_equal(seen.meta_count, 1);
    assert_string_equal(seen.meta_key, "colour");
    assert_string_equal(seen.meta_value, "blue sky+1");
    memset(&seen, 0, sizeof seen);
    assert_int_equal(fx->b2->list(fx->instance, B2_TEST_BUCKET, "meta/", STOR_LIST_RECURSIVE,
                                  on_stat, &seen, &err), STOR_OK);
    assert_string_equal(seen.cache_control, "max-age=60, public");
    assert_string_equal(seen.meta_value, "blue sky+1");
    assert_int_equal(fx->b2->stat(fx->instance, B2_TEST_BUCKET, "meta/d.tx", NULL, on_stat, &seen,
                                  &err), STOR_ENOTFOUND);

    struct shared shared = {0};
    assert_int_equal(fx->b2->share(fx->instance, B2_TEST_BUCKET, "meta/d.txt", 3600 * 1000, on_url,
                                   &shared, &err), STOR_OK);
    struct fetched got = fetch(shared.url);
    assert_int_equal(got.status, 200);
    assert_string_equal(got.body, "hello");
    assert_true(has_header(&got, "Content-Type: text/x-daily"));
    assert_true(has_header(&got, "Cache-Control: max-age=60, public"));
    assert_true(has_header(&got, "Content-Disposition: attachment; filename=\"d.txt\""));
    assert_true(has_header(&got, "Content-Language: fr"));
    assert_true(has_header(&got, "x-bz-info-colour: blue%20sky%2B1"));
    assert_true(has_header(&got, "x-bz-info-src_last_modified_millis: 1500000000123"));
    /* Limits are B2's: 11 entries are refused before anything is sent. */
    struct stor_option many[10] = {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}, {"e", "1"},
                                   {"f", "1"}, {"g", "1"}, {"h", "1"}, {"i", "1"}, {"j", "1"}};
    options.metadata = many;
    options.metadata_count = 10;
    reset_counters();
    fd = temp_file();
    write_all(fd, "hello", 5);
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(fx->b2->put_ex(fx->instance, B2_TEST_BUCKET, "meta/many", &options, fd, NULL,
                                    NULL, &err), STOR_EINVAL);
    close(fd);
    assert_int_equal(counter("b2_upload_file") + counter("b2_get_upload_url"), 0);
}

struct bucket_names {
    int count;
    char text[1024];
    int sorted;
};

static int on_bucket(void *context, const struct stor_bucket *bucket)
{
    struct bucket_names *b = context;
    const char *last = strrchr(b->text, ',');
    last = last ? last + 1 : b->text;
    if (b->count && strcmp(last, bucket->name) >= 0)
        b->sorted = 0;
    size_t length = strlen(b->text);
    snprintf(b->text + length, sizeof b->text - length, "%s%s", b->count ? "," : "", bucket->name);
    b->count++;
    return 0;
}

static struct bucket_names buckets(void)
{
    struct bucket_names b = {.sorted = 1};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->list_buckets(fx->instance, on_bucket, &b, &err), STOR_OK);
    assert_true(b.sorted);
    return b;
}

/* create, list (sorted), use, refuse to delete while not empty, delete, gone. */
static void bucket_create_list_delete(void **state)
{
    struct bucket_names listed = buckets();
    assert_string_equal(listed.text, "other-bucket,test-bucket");
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = 0};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->create_bucket(fx->instance, "daily-made", &options, NULL, NULL, &err),
                     STOR_OK);
    assert_int_equal(fx->b2->create_bucket(fx->instance, "daily-made", &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_non_null(strstr(err.message, "already exists"));
    listed = buckets();
    assert_string_equal(listed.text, "daily-made,other-bucket,test-bucket");
    put("daily-made", "inside", "x", 1);
    assert_int_equal(fx->b2->delete_bucket(fx->instance, "daily-made", &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "not empty"));
    struct stor_remove_options all = {.struct_size = sizeof all, .flags = STOR_REMOVE_ALL_VERSIONS};
    assert_int_equal(fx->b2->remove_ex(fx->instance, "daily-made", "inside", &all, &err), STOR_OK);
    assert_int_equal(fx->b2->delete_bucket(fx->instance, "daily-made", &err), STOR_OK);
    assert_int_equal(fx->b2->delete_bucket(fx->instance, "daily-made", &err), STOR_ENOTFOUND);
    listed = buckets();
    assert_string_equal(listed.text, "other-bucket,test-bucket");
    /* Made again under the same name, it has a new id, and a put finds it. */
    assert_int_equal(fx->b2->create_bucket(fx->instance, "daily-made", &options, NULL, NULL, &err),
                     STOR_OK);
    put("daily-made", "again", "y", 1);
    assert_int_equal(fx->b2->remove_ex(fx->instance, "daily-made", "again", &all, &err), STOR_OK);
    assert_int_equal(fx->b2->delete_bucket(fx->instance, "daily-made", &err), STOR_OK);
    /* A key restricted to one bucket lists just it. */
    fx->b2->close(fx->instance);
    open_plugin_as("nodelete-id", "nodelete-key");
    listed = buckets();
    assert_string_equal(listed.text, B2_TEST_BUCKET);
}

/* A shared URL works without credentials, for the name (or below the prefix) only, and no more
 * once it expired. A key without shareFiles cannot share. */
static void share_url_fetched_and_expired(void **state)
{
    put(B2_TEST_BUCKET, "shared/a.txt", "shared bytes", 12);
    put(B2_TEST_BUCKET, "private.txt", "private", 7);
    struct shared shared = {0};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->share(fx->instance, B2_TEST_BUCKET, "shared/", 60 * 1000, on_url,
                                   &shared, &err), STOR_OK);
    char url[1200];
    const char *query = strchr(shared.url, '?');
    snprintf(url, sizeof url, "%.*sa.txt%s", (int)(query - shared.url), shared.url, query);
    struct fetched got = fetch(url);
    assert_int_equal(got.status, 200);
    assert_string_equal(got.body, "shared bytes");
    snprintf(url, sizeof url, "%.*s../private.txt%s", (int)(query - shared.url), shared.url, query);
    char other[1200];
    snprintf(other, sizeof other, "%s/file/%s/private.txt%s", b2_test_server_url(fx->server),
             B2_TEST_BUCKET, query);
    assert_int_equal(fetch(other).status, 401);

    int64_t before = (int64_t)time(NULL) * 1000;
    assert_int_equal(fx->b2->share(fx->instance, B2_TEST_BUCKET, "private.txt", 1000, on_url,
                                   &shared, &err), STOR_OK);
    assert_true(shared.expires_at_ms >= before + 1000 - 1000 &&
                shared.expires_at_ms <= (int64_t)time(NULL) * 1000 + 2000);
    assert_int_equal(fetch(shared.url).status, 200);
    /* Past the expiry by the wall clock (a signal may cut one sleep short). */
    for (;;) {
        struct timespec now, wait = {0, 50 * 1000 * 1000};
        clock_gettime(CLOCK_REALTIME, &now);
        if ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 > shared.expires_at_ms + 100)
            break;
        nanosleep(&wait, NULL);
    }
    got = fetch(shared.url);
    assert_int_equal(got.status, 401);
    assert_non_null(strstr(got.body, "expired"));
    assert_int_equal(fx->b2->share(fx->instance, B2_TEST_BUCKET, "private.txt", 604800001, on_url,
                                   &shared, &err), STOR_EINVAL);

    fx->b2->close(fx->instance);
    open_plugin_as("nodelete-id", "nodelete-key");
    reset_counters();
    assert_int_equal(fx->b2->share(fx->instance, B2_TEST_BUCKET, "private.txt", 1000, on_url,
                                   &shared, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "shareFiles"));
    assert_int_equal(counter("b2_get_download_authorization"), 0);
}


/* ---- encryption at rest and Object Lock, against the server ---- */

static void *open_with(const char *const *pairs)
{
    struct stor_option options[12] = {{"endpoint", b2_test_server_url(fx->server)},
                                      {"cache", "no"}, {"retry_time", "20"}};
    size_t count = 3;
    for (; pairs && pairs[0]; pairs += 2)
        options[count++] = (struct stor_option){pairs[0], pairs[1]};
    void *instance = NULL;
    struct stor_error err = {""};
    enum stor_status status = fx->b2->open(&host, options, count, &instance, &err);
    if (status != STOR_OK)
        fprintf(stderr, "# open: %s\n", err.message);
    assert_int_equal(status, STOR_OK);
    return instance;
}

static char *key_file(const char *bytes)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/stor-b2-ssec-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_all(fd, bytes, 32);
    close(fd);
    return path;
}

static enum stor_status put_protected(void *instance, const char *bucket, const char *key,
                                      const char *data, size_t length,
                                      const struct stor_protection *protection,
                                      struct stor_error *err)
{
    int fd = temp_file();
    write_all(fd, data, length);
    lseek(fd, 0, SEEK_SET);
    struct stor_put_options options = {.struct_size = sizeof options, .size = -1, .mtime_ms = -1,
                                       .protection = *protection};
    enum stor_status status = fx->b2->put_ex(instance, bucket, key, &options, fd, NULL, NULL, err);
    close(fd);
    return status;
}

struct protected_seen {
    char encryption[16], retention[16];
    int legal_hold;
    char id[128];
};

static int on_protected(void *context, const struct stor_object *o)
{
    struct protected_seen *s = context;
    snprintf(s->encryption, sizeof s->encryption, "%s", o->protection.encryption ? o->protection.encryption : "");
    snprintf(s->retention, sizeof s->retention, "%s",
             o->protection.retention_mode ? o->protection.retention_mode : "");
    s->legal_hold = o->protection.legal_hold;
    snprintf(s->id, sizeof s->id, "%s", o->id ? o->id : "");
    return 0;
}

static enum stor_status get_from(void *instance, const char *key, int64_t offset, int64_t length,
                                 int fd, struct stor_error *err)
{
    struct stor_get_options options = {.struct_size = sizeof options, .offset = offset,
                                       .length = length};
    return fx->b2->get_ex(instance, B2_TEST_BUCKET, key, &options, fd, NULL, NULL, err);
}

/* SSE-B2 asked by put_ex and SSE-C from -o sse_c_key_file: small and large (parts above a 5 MB
 * cutoff), whole, ranged and parallel gets, a copy; without the key or with another: one line. */
static void encryption_round_trips(void **state)
{
    (void)state;
    make_big();
    const size_t large = 11 * MIB;
    struct stor_error err = {""};
    struct stor_protection sse_b2 = {.encryption = "SSE-B2", .retain_until_ms = -1, .legal_hold = -1};
    struct stor_protection none = {.retain_until_ms = -1, .legal_hold = -1};
    const char *const large_options[] = {"upload_cutoff", "5MB", "part_size", "5MB",
                                         "download_part_size", "4194304", NULL};
    void *plain = open_with(large_options);
    assert_int_equal(put_protected(plain, B2_TEST_BUCKET, "sse/b2.txt", "hello", 5, &sse_b2, &err),
                     STOR_OK);
    assert_int_equal(put_protected(plain, B2_TEST_BUCKET, "sse/b2.big", fx->big, large, &sse_b2,
                                   &err), STOR_OK);
    struct protected_seen seen = {""};
    assert_int_equal(fx->b2->stat(plain, B2_TEST_BUCKET, "sse/b2.big", NULL, on_protected, &seen,
                                  &err), STOR_OK);
    assert_string_equal(seen.encryption, "SSE-B2");
    int fd = temp_file();
    assert_int_equal(get_from(plain, "sse/b2.big", 0, -1, fd, &err), STOR_OK);
    assert_file_is(fd, fx->big, large);
    close(fd);

    char *path = key_file("0123456789abcdef0123456789ABCDEF");
    const char *const key_options[] = {"sse_c_key_file", path, "upload_cutoff", "5MB", "part_size",
                                       "5MB", "download_part_size", "4194304", NULL};
    void *keyed = open_with(key_options);
    assert_int_equal(put_protected(keyed, B2_TEST_BUCKET, "sse/c.txt", "secret!", 7, &none, &err),
                     STOR_OK);
    assert_int_equal(put_protected(keyed, B2_TEST_BUCKET, "sse/c.big", fx->big, large, &none, &err),
                     STOR_OK);
    assert_int_equal(fx->b2->stat(keyed, B2_TEST_BUCKET, "sse/c.big", NULL, on_protected, &seen,
                                  &err), STOR_OK);
    assert_string_equal(seen.encryption, "SSE-C");
    fd = temp_file(); /* whole: a first range, then parallel ranges by id */
    assert_int_equal(get_from(keyed, "sse/c.big", 0, -1, fd, &err), STOR_OK);
    assert_file_is(fd, fx->big, large);
    close(fd);
    fd = temp_file();
    assert_int_equal(get_from(keyed, "sse/c.big", 1000, 5000, fd, &err), STOR_OK);
    assert_file_is(fd, fx->big + 1000, 5000);
    close(fd);
    assert_int_equal(fx->b2->copy(keyed, B2_TEST_BUCKET, "sse/c.txt", B2_TEST_BUCKET, "sse/c-copy.txt",
                                  NULL, NULL, &err), STOR_OK);
    fd = temp_file();
    assert_int_equal(get_from(keyed, "sse/c-copy.txt", 0, -1, fd, &err), STOR_OK);
    assert_file_is(fd, "secret!", 7);
    close(fd);

    fd = temp_file(); /* without the key: one line, no retries */
    reset_counters();
    assert_int_equal(get_from(plain, "sse/c.txt", 0, -1, fd, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "encrypted with SSE-C: give its key"));
    assert_true(counter("b2_download_file_by_name") <= 1);
    close(fd);
    fx->b2->close(plain);
    unlink(path);

    path = key_file("another key of exactly 32 bytes!");
    const char *const wrong_options[] = {"sse_c_key_file", path, NULL};
    void *wrong = open_with(wrong_options);
    fd = temp_file();
    assert_int_equal(get_from(wrong, "sse/c.big", 0, -1, fd, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "the SSE-C key does not match"));
    close(fd);
    assert_int_equal(fx->b2->copy(wrong, B2_TEST_BUCKET, "sse/c.txt", B2_TEST_BUCKET, "sse/x.txt",
                                  NULL, NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "the SSE-C key does not match"));
    fx->b2->close(wrong);
    fx->b2->close(keyed);
    unlink(path);
}

/* A bucket made with object_lock=yes keeps retention; a version under it is not deleted. */
static void object_lock_round_trip(void **state)
{
    (void)state;
    struct stor_error err = {""};
    struct stor_option settings[] = {{"object_lock", "yes"}, {"keep_old_versions", "30d"},
                                     {"default_sse", "b2"}};
    struct stor_bucket_options options = {.struct_size = sizeof options, .settings = settings,
                                          .setting_count = 3};
    assert_int_equal(fx->b2->create_bucket(fx->instance, "locked-bucket", &options, NULL, NULL, &err),
                     STOR_OK);
    struct stor_protection retained = {.retention_mode = "governance",
                                       .retain_until_ms = 4102444800000LL, .legal_hold = -1};
    assert_int_equal(put_protected(fx->instance, B2_TEST_BUCKET, "lock/plain.txt", "x", 1, &retained,
                                   &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "Object Lock"));
    assert_int_equal(put_protected(fx->instance, "locked-bucket", "lock/kept.txt", "kept", 4,
                                   &retained, &err), STOR_OK);
    struct protected_seen seen = {""};
    assert_int_equal(fx->b2->stat(fx->instance, "locked-bucket", "lock/kept.txt", NULL, on_protected,
                                  &seen, &err), STOR_OK);
    assert_string_equal(seen.retention, "governance");
    assert_string_equal(seen.encryption, "SSE-B2"); /* the bucket's default */
    struct stor_remove_options remove = {.struct_size = sizeof remove, .version_id = seen.id};
    assert_int_equal(fx->b2->remove_ex(fx->instance, "locked-bucket", "lock/kept.txt", &remove, &err),
                     STOR_EAUTH);
    assert_non_null(strstr(err.message, "governance retention until 2100-01-01"));
    struct stor_protection held = {.retain_until_ms = -1, .legal_hold = 1};
    assert_int_equal(put_protected(fx->instance, "locked-bucket", "lock/held.txt", "held", 4, &held,
                                   &err), STOR_OK);
    assert_int_equal(fx->b2->stat(fx->instance, "locked-bucket", "lock/held.txt", NULL, on_protected,
                                  &seen, &err), STOR_OK);
    assert_int_equal(seen.legal_hold, 1);
    remove.version_id = seen.id;
    assert_int_equal(fx->b2->remove_ex(fx->instance, "locked-bucket", "lock/held.txt", &remove, &err),
                     STOR_EAUTH);
    assert_non_null(strstr(err.message, "legal hold"));
}

/* ---- update_bucket, protect, remove_ex's governance bypass (ABI 3) ---- */

struct bucket_seen {
    int calls, is_public;
    char keep[16], hide[16], prefix[32], sse[16];
};

static int on_bucket_seen(void *context, const struct stor_bucket *bucket)
{
    struct bucket_seen *seen = context;
    if (strcmp(bucket->name, "daily-upd") != 0)
        return 0;
    seen->calls++;
    seen->is_public = bucket->is_public;
    seen->keep[0] = seen->hide[0] = seen->prefix[0] = seen->sse[0] = '\0';
    for (size_t i = 0; i < bucket->setting_count; i++) {
        const struct stor_option *o = &bucket->settings[i];
        char *into = strcmp(o->key, "keep_old_versions") == 0 ? seen->keep
                     : strcmp(o->key, "hide_after") == 0      ? seen->hide
                     : strcmp(o->key, "lifecycle_prefix") == 0 ? seen->prefix
                     : strcmp(o->key, "default_sse") == 0      ? seen->sse
                                                               : NULL;
        if (into)
            snprintf(into, 16, "%s", o->value);
    }
    return 0;
}

static void update_bucket_round_trip(void **state)
{
    struct stor_option made[] = {{"keep_old_versions", "30d"}, {"hide_after", "7d"},
                                 {"lifecycle_prefix", "logs/"}};
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = 0,
                                          .settings = made, .setting_count = 3};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->create_bucket(fx->instance, "daily-upd", &options, NULL, NULL, &err),
                     STOR_OK);
    struct stor_option change[] = {{"keep_old_versions", "10d"}, {"default_sse", "b2"}};
    options = (struct stor_bucket_options){.struct_size = sizeof options, .is_public = 1,
                                           .settings = change, .setting_count = 2};
    struct bucket_seen seen = {0};
    enum stor_status status = fx->b2->update_bucket(fx->instance, "daily-upd", &options,
                                                    on_bucket_seen, &seen, &err);
    if (status != STOR_OK)
        fprintf(stderr, "# update_bucket: %s\n", err.message);
    assert_int_equal(status, STOR_OK);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.is_public, 1);
    assert_string_equal(seen.keep, "10d");
    assert_string_equal(seen.hide, "7d");      /* kept */
    assert_string_equal(seen.prefix, "logs/"); /* kept */
    assert_string_equal(seen.sse, "SSE-B2");
    /* listed back the same */
    seen = (struct bucket_seen){0};
    assert_int_equal(fx->b2->list_buckets(fx->instance, on_bucket_seen, &seen, &err), STOR_OK);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.is_public, 1);
    assert_string_equal(seen.keep, "10d");
    assert_string_equal(seen.hide, "7d");
    assert_string_equal(seen.sse, "SSE-B2");
    /* back to private, no default encryption, no hiding */
    struct stor_option back[] = {{"default_sse", "none"}, {"hide_after", "none"}};
    options = (struct stor_bucket_options){.struct_size = sizeof options, .is_public = 0,
                                           .settings = back, .setting_count = 2};
    seen = (struct bucket_seen){0};
    assert_int_equal(fx->b2->update_bucket(fx->instance, "daily-upd", &options, on_bucket_seen,
                                           &seen, &err), STOR_OK);
    assert_int_equal(seen.is_public, 0);
    assert_string_equal(seen.keep, "10d");
    assert_string_equal(seen.hide, "");
    assert_string_equal(seen.sse, "none");
    /* object_lock cannot change; a missing bucket */
    struct stor_option lock[] = {{"object_lock", "yes"}};
    options = (struct stor_bucket_options){.struct_size = sizeof options, .is_public = -1,
                                           .settings = lock, .setting_count = 1};
    reset_counters();
    assert_int_equal(fx->b2->update_bucket(fx->instance, "daily-upd", &options, NULL, NULL, &err),
                     STOR_EINVAL);
    assert_int_equal(counter("b2_update_bucket"), 0);
    options.setting_count = 0;
    options.is_public = 1;
    assert_int_equal(fx->b2->update_bucket(fx->instance, "daily-none", &options, NULL, NULL, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(fx->b2->delete_bucket(fx->instance, "daily-upd", &err), STOR_OK);
}

static int64_t now_ms(void)
{
    return (int64_t)time(NULL) * 1000;
}

static enum stor_status protect(const char *key, const char *id, const char *mode, int64_t until,
                                int hold, unsigned flags, struct protected_seen *seen,
                                struct stor_error *err)
{
    struct stor_protection protection = {.retention_mode = mode, .retain_until_ms = until,
                                         .legal_hold = hold};
    return fx->b2->protect(fx->instance, "daily-lock", key, id, &protection, flags,
                           seen ? on_protected : NULL, seen, err);
}

static void protect_and_bypass(void **state)
{
    struct stor_option lock[] = {{"object_lock", "yes"}};
    struct stor_bucket_options options = {.struct_size = sizeof options, .is_public = 0,
                                          .settings = lock, .setting_count = 1};
    struct stor_error err = {""};
    assert_int_equal(fx->b2->create_bucket(fx->instance, "daily-lock", &options, NULL, NULL, &err),
                     STOR_OK);
    int64_t hour = now_ms() + 3600 * 1000, day = now_ms() + 24 * 3600 * 1000;
    struct stor_protection governance = {.retention_mode = "governance", .retain_until_ms = hour,
                                         .legal_hold = -1};
    assert_int_equal(put_protected(fx->instance, "daily-lock", "g.txt", "gov", 3, &governance,
                                   &err), STOR_OK);
    /* extended: no bypass needed; reported as it now is */
    struct protected_seen seen = {.legal_hold = -1};
    enum stor_status status = protect("g.txt", NULL, "governance", day, -1, 0, &seen, &err);
    if (status != STOR_OK)
        fprintf(stderr, "# protect: %s\n", err.message);
    assert_int_equal(status, STOR_OK);
    assert_string_equal(seen.retention, "governance");
    char id[128];
    strcpy(id, seen.id);
    /* shortened: refused without the bypass, saying why; allowed with it */
    assert_int_equal(protect("g.txt", NULL, "governance", hour, -1, 0, NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "governance bypass"));
    assert_int_equal(protect("g.txt", id, "governance", hour, -1, STOR_PROTECT_BYPASS_GOVERNANCE,
                             &seen, &err), STOR_OK);
    /* a governance-locked version is deleted with the bypass only */
    assert_int_equal(remove_ex_in("daily-lock", "g.txt", id, 0, &err), STOR_EAUTH);
    assert_int_equal(remove_ex_in("daily-lock", "g.txt", id, STOR_REMOVE_BYPASS_GOVERNANCE, &err),
                     STOR_OK);
    /* compliance cannot be shortened, not even with the bypass */
    struct stor_protection compliance = {.retention_mode = "compliance", .retain_until_ms = day,
                                         .legal_hold = -1};
    assert_int_equal(put_protected(fx->instance, "daily-lock", "c.txt", "com", 3, &compliance,
                                   &err), STOR_OK);
    assert_int_equal(protect("c.txt", NULL, "compliance", hour, -1, STOR_PROTECT_BYPASS_GOVERNANCE,
                             NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "compliance cannot be shortened or removed"));
    assert_int_equal(protect("c.txt", NULL, "none", -1, -1, STOR_PROTECT_BYPASS_GOVERNANCE, NULL,
                             &err), STOR_EAUTH);
    assert_int_equal(protect("c.txt", NULL, "compliance", day + 1000, -1, 0, &seen, &err), STOR_OK);
    assert_string_equal(seen.retention, "compliance");
    /* legal hold on, then off: then the version can be deleted */
    struct stor_protection nothing = {.retain_until_ms = -1, .legal_hold = -1};
    assert_int_equal(put_protected(fx->instance, "daily-lock", "h.txt", "hold", 4, &nothing, &err),
                     STOR_OK);
    assert_int_equal(protect("h.txt", NULL, NULL, -1, 1, 0, &seen, &err), STOR_OK);
    assert_int_equal(seen.legal_hold, 1);
    strcpy(id, seen.id);
    assert_int_equal(remove_ex_in("daily-lock", "h.txt", id, 0, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "legal hold"));
    assert_int_equal(protect("h.txt", NULL, NULL, -1, 0, 0, &seen, &err), STOR_OK);
    assert_int_equal(seen.legal_hold, 0);
    assert_int_equal(remove_ex_in("daily-lock", "h.txt", id, 0, &err), STOR_OK);
    /* a bucket without Object Lock */
    put(B2_TEST_BUCKET, "plain.txt", "p", 1);
    struct stor_protection hold = {.retain_until_ms = -1, .legal_hold = 1};
    assert_int_equal(fx->b2->protect(fx->instance, B2_TEST_BUCKET, "plain.txt", NULL, &hold, 0,
                                     NULL, NULL, &err), STOR_EAUTH);
    assert_non_null(strstr(err.message, "has no Object Lock"));
    /* every version of a governance-locked name, with the bypass */
    assert_int_equal(put_protected(fx->instance, "daily-lock", "all.txt", "1", 1, &governance,
                                   &err), STOR_OK);
    assert_int_equal(put_protected(fx->instance, "daily-lock", "all.txt", "2", 1, &governance,
                                   &err), STOR_OK);
    assert_int_equal(remove_ex_in("daily-lock", "all.txt", NULL, STOR_REMOVE_ALL_VERSIONS, &err),
                     STOR_EAUTH);
    assert_int_equal(remove_ex_in("daily-lock", "all.txt", NULL,
                                  STOR_REMOVE_ALL_VERSIONS | STOR_REMOVE_BYPASS_GOVERNANCE, &err),
                     STOR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(parallel_and_ranged_downloads, setup, teardown),
        cmocka_unit_test_setup_teardown(encryption_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(object_lock_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(update_bucket_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(protect_and_bypass, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_interrupted_download, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupted_download_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(hide_and_delete_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_needs_delete_files, setup, teardown),
        cmocka_unit_test_setup_teardown(list_2500_names, setup, teardown),
        cmocka_unit_test_setup_teardown(server_side_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_create_list_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(share_url_fetched_and_expired, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
