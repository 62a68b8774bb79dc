/* tests/fuzz/fuzz_calls.h — for targets that feed B2 answers to the plugin's real call paths
 * (versions.c, copy.c, cleanup.c, large_file.c) rather than to one parser: a plugin instance per
 * input behind a scripted HTTP seam. Authorization and b2_list_buckets get fixed good answers;
 * each target says which call gets which fuzzed body; every other call answers 400. Checked for
 * every input: no secret (key, token) reaches a log line or the error message. */
#ifndef STOR_FUZZ_CALLS_H
#define STOR_FUZZ_CALLS_H

#include "fuzz.h"
#include "b2.h"
#include "sha1.h"
#include "large_file.h"
#include "upload_loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define FUZZ_KEY_ID "fuzz-key-id"
#define FUZZ_KEY "fuzz-SECRET-application-key"
#define FUZZ_TOKEN "fuzz-account-token-0123456789"
#define FUZZ_BUCKET "bucket1"
#define FUZZ_BUCKET_ID "bkt00000001"
#define FUZZ_NOW_MS 1700000000000LL
#define FUZZ_MAX_ANSWERS 16

/* One scripted answer: for the next `uses` requests of call (-1: every one). */
struct fuzz_answer {
    const char *call;
    long status;
    const char *body;
    size_t length;
    int uses;
};

static struct {
    struct fuzz_answer answers[FUZZ_MAX_ANSWERS];
    size_t count;
    const uint8_t *input; /* the fuzzer's bytes: a secret echoed from them is no leak */
    size_t input_size;
} fuzz_calls;

static const char fuzz_account[] =
    "{\"accountId\": \"account-1\", \"authorizationToken\": \"" FUZZ_TOKEN "\", "
    "\"apiUrl\": \"https://api.test\", \"downloadUrl\": \"https://f.test\", "
    "\"recommendedPartSize\": 1000, \"absoluteMinimumPartSize\": 100, "
    "\"allowed\": {\"capabilities\": [\"listBuckets\", \"listFiles\", \"readFiles\", "
    "\"writeFiles\", \"deleteFiles\"]}}";
static const char fuzz_buckets[] =
    "{\"buckets\": [{\"bucketId\": \"" FUZZ_BUCKET_ID "\", \"bucketName\": \"" FUZZ_BUCKET "\"}]}";
static const char fuzz_refused[] =
    "{\"status\": 400, \"code\": \"bad_request\", \"message\": \"not scripted\"}";

static void fuzz_answer(const char *call, long status, const char *body, size_t length, int uses)
{
    if (fuzz_calls.count == FUZZ_MAX_ANSWERS)
        abort();
    fuzz_calls.answers[fuzz_calls.count++] =
        (struct fuzz_answer){.call = call, .status = status, .body = body, .length = length,
                             .uses = uses};
}

static int fuzz_echoed(const char *secret)
{
    return memmem(fuzz_calls.input, fuzz_calls.input_size, secret, strlen(secret)) != NULL;
}

/* Abort when text holds a secret the input did not bring. */
static void fuzz_check_secret_free(const char *text)
{
    static const char *const secrets[] = {FUZZ_KEY, FUZZ_TOKEN};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        if (strstr(text, secrets[i]) && !fuzz_echoed(secrets[i]))
            abort();
}

static enum sp_http_outcome fuzz_perform(struct sp_http *http, const struct sp_http_request *request,
                                         struct sp_http_response *response)
{
    (void)http;
    memset(response, 0, sizeof *response);
    const char *slash = strrchr(request->url, '/');
    const char *call = slash ? slash + 1 : request->url;
    long status = 400;
    const char *body = fuzz_refused;
    size_t length = sizeof fuzz_refused - 1;
    if (strcmp(call, "b2_authorize_account") == 0) {
        status = 200, body = fuzz_account, length = sizeof fuzz_account - 1;
    } else if (strcmp(call, "b2_list_buckets") == 0) {
        status = 200, body = fuzz_buckets, length = sizeof fuzz_buckets - 1;
    } else {
        for (size_t i = 0; i < fuzz_calls.count; i++) {
            struct fuzz_answer *answer = &fuzz_calls.answers[i];
            if (answer->uses == 0 || strcmp(answer->call, call) != 0)
                continue;
            if (answer->uses > 0)
                answer->uses--;
            status = answer->status, body = answer->body, length = answer->length;
            break;
        }
    }
    if (request->read_body) { /* drain a streamed body, as a server would */
        char sink[4096];
        while (request->read_body(request->read_context, sink, sizeof sink) > 0)
            ;
    }
    response->outcome = SP_HTTP_COMPLETE;
    response->status = status;
    if (status >= 200 && status < 300 && request->write_body) {
        if (length && request->write_body(request->write_context, body, length) != 0)
            return response->outcome = SP_HTTP_LOCAL;
        return SP_HTTP_COMPLETE;
    }
    response->body = fuzz_string((const uint8_t *)body, length);
    response->body_length = length;
    return SP_HTTP_COMPLETE;
}

static void fuzz_http_destroy(struct sp_http *http)
{
    (void)http; /* static */
}

static struct sp_http fuzz_http = {.perform = fuzz_perform, .destroy = fuzz_http_destroy};

static int64_t fuzz_now(void *context)
{
    (void)context;
    return FUZZ_NOW_MS;
}

static void fuzz_sleep(void *context, int64_t ms)
{
    (void)context;
    (void)ms;
}

static uint32_t fuzz_random(void *context)
{
    (void)context;
    return 0;
}

static void fuzz_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
{
    (void)host;
    (void)level;
    char line[2048];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    fuzz_check_secret_free(line);
}

static const struct stor_host fuzz_host = {
    .abi_version = STOR_ABI_VERSION,
    .struct_size = sizeof(struct stor_host),
    .log_level = STOR_LOG_TRACE,
    .log = fuzz_log,
};

/* A fresh instance for this input (one worker, few retries, no disk cache), answers cleared. */
static struct b2_plugin *fuzz_plugin(const uint8_t *data, size_t size)
{
    static const struct stor_option options[] = {
        {.key = "cache", .value = "no"}, {.key = "transfers", .value = "1"},
        {.key = "retries", .value = "2"}};
    setenv("B2_APPLICATION_KEY_ID", FUZZ_KEY_ID, 1);
    setenv("B2_APPLICATION_KEY", FUZZ_KEY, 1);
    memset(&fuzz_calls, 0, sizeof fuzz_calls);
    fuzz_calls.input = data;
    fuzz_calls.input_size = size;
    struct sp_clock clock = {fuzz_now, fuzz_sleep, fuzz_random, NULL};
    struct b2_plugin *plugin = NULL;
    struct stor_error err = {""};
    if (b2_plugin_create(&fuzz_host, options, sizeof options / sizeof *options, clock, &plugin,
                         &err) != STOR_OK)
        abort();
    plugin->http = &fuzz_http;
    return plugin;
}

/* The outcome of a call: its error is terminated and secret-free, the instance goes. */
static void fuzz_finish(struct b2_plugin *plugin, enum stor_status status,
                        const struct stor_error *err)
{
    if (status != STOR_OK) {
        if (!memchr(err->message, '\0', sizeof err->message))
            abort();
        fuzz_check_secret_free(err->message);
    }
    if (getenv("FUZZ_CALLS_VERBOSE")) /* replaying a seed: which way did it go? */
        fprintf(stderr, "status %d: %s\n", (int)status, status == STOR_OK ? "ok" : err->message);
    b2_plugin_destroy(plugin);
}

/* Every string of a reported object is readable to its end; the key is always there. */
static int fuzz_check_object(void *context, const struct stor_object *object)
{
    (void)context;
    if (!object->key)
        abort();
    const char *strings[] = {object->key, object->sha1, object->id, object->content_type};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if (strings[i])
            fuzz_check_secret_free(strings[i]);
    return 0;
}

/* Split data at NUL bytes into at most max pieces (the last takes the rest): one answer each. */
static inline size_t fuzz_pieces(const uint8_t *data, size_t size, const char **pieces, size_t *lengths,
                          size_t max)
{
    size_t count = 0;
    const char *p = (const char *)data, *end = p + size;
    while (count < max) {
        const char *nul = count + 1 < max ? memchr(p, '\0', (size_t)(end - p)) : NULL;
        pieces[count] = p;
        lengths[count++] = nul ? (size_t)(nul - p) : (size_t)(end - p);
        if (!nul)
            break;
        p = nul + 1;
    }
    return count;
}

/* A small regular file as an upload source (unlinked; pread never moves its offset). */
static int fuzz_source_fd(size_t length)
{
    static int fd = -1;
    if (fd >= 0)
        return fd;
    char path[] = "/tmp/stor-fuzz-source-XXXXXX";
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    unlink(path);
    for (size_t i = 0; i < length; i++) {
        char byte = (char)('a' + i % 26);
        if (write(fd, &byte, 1) != 1)
            abort();
    }
    return fd;
}

/* The large file the large-file targets upload: 200 bytes, one part (the account's recommended
 * part size is 1000), so B2 sees one part whose SHA-1 is the whole file's. */
#define FUZZ_SOURCE_LENGTH 200
#define FUZZ_SOURCE_SHA1 "0e43b981f4ae2c16bc6a798920eb9f1490c3d7fc"
#define FUZZ_SOURCE_MTIME "1600000000000"
#define FUZZ_LARGE_KEY "big/file.bin"

/* b2_list_unfinished_large_files: the one unfinished upload of our file, to resume. */
static const char fuzz_our_unfinished[] =
    "{\"files\": [{\"action\": \"start\", \"fileName\": \"" FUZZ_LARGE_KEY "\", "
    "\"fileId\": \"4_zlarge\", \"contentType\": \"b2/x-auto\", \"uploadTimestamp\": 1600000000000, "
    "\"fileInfo\": {\"large_file_sha1\": \"" FUZZ_SOURCE_SHA1 "\", "
    "\"src_last_modified_millis\": \"" FUZZ_SOURCE_MTIME "\"}}], \"nextFileId\": null}";
static const char fuzz_no_unfinished[] = "{\"files\": [], \"nextFileId\": null}";

static inline enum stor_status fuzz_put_large(struct b2_plugin *plugin, struct stor_error *err)
{
    struct b2_upload_source source = {.fd = fuzz_source_fd(FUZZ_SOURCE_LENGTH),
                                      .length = FUZZ_SOURCE_LENGTH, .spool_fd = -1,
                                      .mtime_ms = atoll(FUZZ_SOURCE_MTIME), .rest_fd = -1};
    static int checked;
    char sha1[B2_SHA1_HEX_LENGTH + 1];
    if (!checked++ && (b2_sha1_of_fd(source.fd, 0, source.length, sha1) != 0 ||
                       strcmp(sha1, FUZZ_SOURCE_SHA1) != 0))
        abort(); /* the seeds' SHA-1s would no longer match */
    /* What put_ex makes of no options: the plugin's content type, the source's mtime. */
    struct b2_put_meta meta;
    enum stor_status status = b2_put_meta_build(plugin, FUZZ_LARGE_KEY, NULL, source.mtime_ms, 1,
                                                &meta, err);
    if (status != STOR_OK)
        abort();
    status = b2_put_large(plugin, FUZZ_BUCKET, FUZZ_LARGE_KEY, &source, &meta, fuzz_check_object,
                          NULL, err);
    b2_put_meta_free(&meta);
    return status;
}

#endif
