/* tests/test_b2_large_file.c — large files without a network: part sizing, the per-file pool of
 * part URLs, resume matching, finish (partSha1Array, a lost answer), cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b2_fake.h"
#include "sha1.h"

/* ---- a B2 of large files in front of the fake transport (which answers everything else) ---- */

#define API "https://api.test/b2api/v2/"
#define PART_POD "https://pod.test/part/"
#define MAX_LARGE 16
#define MAX_PARTS 16
#define MAX_LOG 512

struct large_file {
    char id[32];
    char name[128];
    char sha1[41];   /* fileInfo large_file_sha1 */
    char mtime[32];  /* fileInfo src_last_modified_millis, "" if absent */
    int64_t started_ms;
    int state;       /* 0 unfinished, 1 finished, 2 cancelled */
    struct {
        int64_t length; /* -1: absent */
        char sha1[41];
    } parts[MAX_PARTS + 1];
    int64_t total;
};

struct logged {
    char url[160];
    int part_number;
    char *body;      /* JSON calls only */
};

struct script {
    char match[64];
    int nth;         /* fail the nth matching request from now (1 = the next) */
    long status;     /* 0: outcome instead */
    enum sp_http_outcome outcome;
    int seen;
    int done;
};

struct large_world {
    struct sp_http base;
    struct b2_test *test;
    pthread_mutex_t lock;
    struct large_file files[MAX_LARGE];
    int file_count;
    int part_serial;
    int expired_parts_below;     /* part tokens with a serial below this answer 401 */
    int expire_after_parts;      /* after this many part uploads, expire every part token */
    int part_uploads;
    int token_in_use[256];
    int token_shared;            /* a part token was used by two uploads at once */
    char lose_answer_of[48];     /* do the next such call, then lose its answer (a timeout) */
    int unfinished_page;         /* b2_list_unfinished_large_files page size (0: asked) */
    int parts_page;              /* b2_list_parts page size (0: asked) */
    int part_delay_us;
    int misreported_part;        /* this part's answer names another SHA-1 than the one stored */
    int plain_http_part_urls;    /* b2_get_upload_part_url hands out http:// URLs */
    int change_at_part;          /* before reading this part, another writer changes change_fd */
    int change_fd;
    int finish_at_part;          /* before this part, another put finishes the unfinished file */
    int finish_names_another;    /* b2_finish_large_file's answer names another file */
    int interrupt_at_part;       /* the user presses Ctrl-C while this part goes up */
    struct script scripts[8];
    int script_count;
    struct logged log[MAX_LOG];
    int log_count;
};

static struct large_world *lw;

static void set_reply(struct sp_http_response *response, long status, const char *body)
{
    response->outcome = SP_HTTP_COMPLETE;
    response->status = status;
    response->body = strdup(body);
    response->body_length = strlen(body);
}

static void set_error(struct sp_http_response *response, long status, const char *code,
                      const char *message)
{
    char body[300];
    snprintf(body, sizeof body, "{\"status\": %ld, \"code\": \"%s\", \"message\": \"%s\"}", status,
             code, message);
    set_reply(response, status, body);
}

static void set_json(struct sp_http_response *response, json_object *object)
{
    set_reply(response, 200, json_object_to_json_string(object));
    json_object_put(object);
}

static const char *field(json_object *object, const char *key)
{
    json_object *member;
    return json_object_object_get_ex(object, key, &member) && json_object_is_type(member, json_type_string)
               ? json_object_get_string(member) : NULL;
}

static int int_field(json_object *object, const char *key, int otherwise)
{
    json_object *member;
    return json_object_object_get_ex(object, key, &member) && json_object_is_type(member, json_type_int)
               ? json_object_get_int(member) : otherwise;
}

static struct large_file *find_file(const char *id)
{
    for (int i = 0; id && i < lw->file_count; i++)
        if (strcmp(lw->files[i].id, id) == 0)
            return &lw->files[i];
    return NULL;
}

static json_object *file_object(const struct large_file *file, const char *action)
{
    json_object *object = json_object_new_object(), *info = json_object_new_object();
    json_object_object_add(info, "large_file_sha1", json_object_new_string(file->sha1));
    if (file->mtime[0])
        json_object_object_add(info, "src_last_modified_millis", json_object_new_string(file->mtime));
    json_object_object_add(object, "accountId", json_object_new_string("account-1"));
    json_object_object_add(object, "action", json_object_new_string(action));
    json_object_object_add(object, "bucketId", json_object_new_string(FAKE_BUCKET_ID));
    json_object_object_add(object, "contentLength", json_object_new_int64(file->state == 1 ? file->total : 0));
    json_object_object_add(object, "contentSha1", json_object_new_string("none"));
    json_object_object_add(object, "contentType", json_object_new_string("application/octet-stream"));
    json_object_object_add(object, "fileId", json_object_new_string(file->id));
    json_object_object_add(object, "fileInfo", info);
    json_object_object_add(object, "fileName", json_object_new_string(file->name));
    json_object_object_add(object, "uploadTimestamp", json_object_new_int64(file->started_ms));
    return object;
}

static struct large_file *add_unfinished(const char *name, const char *sha1, const char *mtime,
                                         int64_t started_ms)
{
    struct large_file *file = &lw->files[lw->file_count];
    memset(file, 0, sizeof *file);
    snprintf(file->id, sizeof file->id, "large-%d", lw->file_count);
    snprintf(file->name, sizeof file->name, "%s", name);
    snprintf(file->sha1, sizeof file->sha1, "%s", sha1);
    snprintf(file->mtime, sizeof file->mtime, "%s", mtime ? mtime : "");
    file->started_ms = started_ms;
    for (int i = 0; i <= MAX_PARTS; i++)
        file->parts[i].length = -1;
    lw->file_count++;
    return file;
}

static void api_call(const char *call, json_object *body, struct sp_http_response *response)
{
    struct large_file *file = find_file(field(body, "fileId"));
    if (strcmp(call, "b2_start_large_file") == 0) {
        json_object *info;
        json_object_object_get_ex(body, "fileInfo", &info);
        const char *mtime = field(info, "src_last_modified_millis");
        file = add_unfinished(field(body, "fileName"), field(info, "large_file_sha1"), mtime,
                              lw->test->clock.now_ms);
        set_json(response, file_object(file, "start"));
    } else if (strcmp(call, "b2_get_upload_part_url") == 0) {
        if (!file || file->state != 0) {
            set_error(response, 400, "bad_request", "No active upload");
            return;
        }
        int serial = ++lw->part_serial;
        char url[64], token[64];
        snprintf(url, sizeof url, "%s%d", lw->plain_http_part_urls ? "http://pod.test/part/" : PART_POD,
                 serial);
        snprintf(token, sizeof token, "part-token-%d", serial);
        json_object *object = json_object_new_object();
        json_object_object_add(object, "fileId", json_object_new_string(file->id));
        json_object_object_add(object, "uploadUrl", json_object_new_string(url));
        json_object_object_add(object, "authorizationToken", json_object_new_string(token));
        set_json(response, object);
    } else if (strcmp(call, "b2_finish_large_file") == 0) {
        json_object *sha1s;
        if (!file || file->state != 0 || !json_object_object_get_ex(body, "partSha1Array", &sha1s)) {
            set_error(response, 400, "bad_request", "No active upload");
            return;
        }
        int count = (int)json_object_array_length(sha1s);
        int64_t total = 0;
        for (int i = 1; i <= MAX_PARTS; i++) {
            int listed = i <= count;
            if (listed != (file->parts[i].length >= 0) ||
                (listed && strcmp(json_object_get_string(json_object_array_get_idx(sha1s, (size_t)i - 1)),
                                  file->parts[i].sha1) != 0)) {
                set_error(response, 400, "bad_request", "part missing or sha1 mismatch");
                return;
            }
            total += listed ? file->parts[i].length : 0;
        }
        file->state = 1;
        file->total = total;
        json_object *answer = file_object(file, "upload");
        if (lw->finish_names_another)
            json_object_object_add(answer, "fileName", json_object_new_string("another/file.bin"));
        set_json(response, answer);
    } else if (strcmp(call, "b2_get_file_info") == 0) {
        if (!file)
            set_error(response, 404, "not_found", "no such file");
        else if (file->state != 1)
            set_error(response, 400, "bad_request", "unfinished large file");
        else
            set_json(response, file_object(file, "upload"));
    } else if (strcmp(call, "b2_cancel_large_file") == 0) {
        if (!file || file->state != 0) {
            set_error(response, 400, "bad_request", "No active upload");
            return;
        }
        file->state = 2;
        json_object *object = json_object_new_object();
        json_object_object_add(object, "fileId", json_object_new_string(file->id));
        json_object_object_add(object, "fileName", json_object_new_string(file->name));
        set_json(response, object);
    } else if (strcmp(call, "b2_list_unfinished_large_files") == 0) {
        const char *prefix = field(body, "namePrefix"), *start = field(body, "startFileId");
        int max = lw->unfinished_page ? lw->unfinished_page : int_field(body, "maxFileCount", 100);
        json_object *root = json_object_new_object(), *files = json_object_new_array();
        const char *next = NULL;
        int started = start == NULL, listed = 0;
        for (int i = 0; i < lw->file_count && !next; i++) {
            struct large_file *each = &lw->files[i];
            started |= start && strcmp(each->id, start) == 0;
            if (!started || each->state != 0 || (prefix && strncmp(each->name, prefix, strlen(prefix)) != 0))
                continue;
            if (listed == max)
                next = each->id;
            else
                json_object_array_add(files, file_object(each, "start")), listed++;
        }
        json_object_object_add(root, "files", files);
        json_object_object_add(root, "nextFileId", next ? json_object_new_string(next) : NULL);
        set_json(response, root);
    } else if (strcmp(call, "b2_list_parts") == 0) {
        if (!file) {
            set_error(response, 400, "bad_request", "Not a valid file id");
            return;
        }
        int start = int_field(body, "startPartNumber", 1);
        int max = lw->parts_page ? lw->parts_page : int_field(body, "maxPartCount", 100);
        json_object *root = json_object_new_object(), *parts = json_object_new_array();
        int next = 0, listed = 0;
        for (int i = start < 1 ? 1 : start; i <= MAX_PARTS && !next; i++) {
            if (file->parts[i].length < 0)
                continue;
            if (listed == max) {
                next = i;
                break;
            }
            json_object *part = json_object_new_object();
            json_object_object_add(part, "fileId", json_object_new_string(file->id));
            json_object_object_add(part, "partNumber", json_object_new_int(i));
            json_object_object_add(part, "contentLength", json_object_new_int64(file->parts[i].length));
            json_object_object_add(part, "contentSha1", json_object_new_string(file->parts[i].sha1));
            json_object_object_add(part, "uploadTimestamp", json_object_new_int64(lw->test->clock.now_ms));
            json_object_array_add(parts, part);
            listed++;
        }
        json_object_object_add(root, "parts", parts);
        json_object_object_add(root, "nextPartNumber", next ? json_object_new_int(next) : NULL);
        set_json(response, root);
    } else {
        set_error(response, 400, "bad_request", "unknown large-file call");
    }
}

static const char *header(const struct sp_http_request *request, const char *name)
{
    size_t length = strlen(name);
    for (size_t i = 0; i < request->header_count; i++)
        if (strncasecmp(request->headers[i], name, length) == 0 && request->headers[i][length] == ':')
            return request->headers[i] + length + 2;
    return NULL;
}

/* Drain a part body in big reads, hashing it, and store it as the pod would. Called unlocked. */
static void upload_part(const struct sp_http_request *request, struct sp_http_response *response)
{
    int serial = atoi(request->url + strlen(PART_POD));
    char expected[64];
    snprintf(expected, sizeof expected, "part-token-%d", serial);
    const char *token = header(request, "Authorization");
    pthread_mutex_lock(&lw->lock);
    int refused = !token || strcmp(token, expected) != 0 || serial <= 0 || serial >= 256;
    int expired = !refused && serial < lw->expired_parts_below;
    if (!refused && !expired && lw->token_in_use[serial]++)
        lw->token_shared = 1;
    pthread_mutex_unlock(&lw->lock);
    if (refused || expired) {
        set_error(response, 401, refused ? "bad_auth_token" : "expired_auth_token", "part token");
        return;
    }
    const char *part_text = header(request, "X-Bz-Part-Number");
    if (lw->change_at_part && part_text && atoi(part_text) == lw->change_at_part) {
        assert_int_equal(pwrite(lw->change_fd, "changed", 7, 0), 7);
        futimens(lw->change_fd, NULL); /* its mtime is now */
    }
    if (lw->interrupt_at_part && part_text && atoi(part_text) == lw->interrupt_at_part)
        lw->test->host.cancel = 1;
    if (lw->finish_at_part && part_text && atoi(part_text) == lw->finish_at_part) {
        pthread_mutex_lock(&lw->lock);
        lw->files[0].state = 1;
        lw->files[0].total = lw->files[0].parts[1].length + lw->files[0].parts[2].length +
                             (request->content_length > 0 ? request->content_length : 0);
        pthread_mutex_unlock(&lw->lock);
    }
    char *buffer = malloc(1 << 16);
    struct b2_sha1 sha1;
    b2_sha1_init(&sha1);
    int64_t length = 0;
    for (ssize_t got; (got = request->read_body(request->read_context, buffer, 1 << 16)) > 0;) {
        b2_sha1_update(&sha1, buffer, (size_t)got);
        length += got;
    }
    free(buffer);
    char hex[41];
    b2_sha1_final(&sha1, hex);
    if (lw->part_delay_us)
        usleep((useconds_t)lw->part_delay_us);
    if (request->progress)
        request->progress(request->progress_context, (uint64_t)length, 0);
    pthread_mutex_lock(&lw->lock);
    lw->token_in_use[serial]--;
    const char *declared = header(request, "X-Bz-Content-Sha1");
    const char *number_text = header(request, "X-Bz-Part-Number");
    int number = number_text ? atoi(number_text) : 0;
    struct large_file *file = NULL;
    for (int i = 0; i < lw->file_count; i++)
        if (lw->files[i].state == 0)
            file = &lw->files[i]; /* the tests upload one large file at a time */
    if (!declared || strcmp(declared, hex) != 0 || length != request->content_length) {
        set_error(response, 400, "bad_request", "Sha1 did not match data received");
    } else if (!file) {
        set_error(response, 400, "bad_request", "No active upload for: 4_zlarge");
    } else if (number < 1 || number > MAX_PARTS) {
        set_error(response, 400, "bad_request", "bad part");
    } else {
        file->parts[number].length = length;
        memcpy(file->parts[number].sha1, hex, 41);
        json_object *object = json_object_new_object();
        json_object_object_add(object, "fileId", json_object_new_string(file->id));
        json_object_object_add(object, "partNumber", json_object_new_int(number));
        json_object_object_add(object, "contentLength", json_object_new_int64(length));
        json_object_object_add(object, "contentSha1",
                               json_object_new_string(number == lw->misreported_part
                                                          ? "da39a3ee5e6b4b0d3255bfef95601890afd80709"
                                                          : hex));
        set_json(response, object);
        if (++lw->part_uploads == lw->expire_after_parts)
            lw->expired_parts_below = lw->part_serial + 1;
    }
    pthread_mutex_unlock(&lw->lock);
}

/* The nth matching request of a script gets its failure instead of an answer. */
static struct script *scripted(const char *url)
{
    struct script *hit = NULL;
    for (int i = 0; i < lw->script_count; i++) {
        struct script *script = &lw->scripts[i];
        if (!script->done && strstr(url, script->match) && ++script->seen == script->nth && !hit) {
            script->done = 1;
            hit = script;
        }
    }
    return hit;
}

static void fail_nth(const char *match, int nth, long status)
{
    struct script *script = &lw->scripts[lw->script_count++];
    memset(script, 0, sizeof *script);
    snprintf(script->match, sizeof script->match, "%s", match);
    script->nth = nth;
    script->status = status;
}

static void drop_nth(const char *match, int nth, enum sp_http_outcome outcome)
{
    fail_nth(match, nth, 0);
    lw->scripts[lw->script_count - 1].outcome = outcome;
}

static const char *const large_calls[] = {
    "b2_start_large_file", "b2_get_upload_part_url", "b2_finish_large_file", "b2_get_file_info",
    "b2_cancel_large_file", "b2_list_unfinished_large_files", "b2_list_parts"};

static enum sp_http_outcome large_answer(const struct sp_http_request *request, const char *call,
                                         const char *json, struct sp_http_response *response)
{
    memset(response, 0, sizeof *response);
    pthread_mutex_lock(&lw->lock);
    struct logged *entry = lw->log_count < MAX_LOG ? &lw->log[lw->log_count++] : NULL;
    if (entry) {
        snprintf(entry->url, sizeof entry->url, "%s", request->url);
        const char *number = header(request, "X-Bz-Part-Number");
        entry->part_number = number ? atoi(number) : 0;
        entry->body = json ? strdup(json) : NULL;
    }
    struct script *script = scripted(request->url);
    pthread_mutex_unlock(&lw->lock);
    if (script && script->status == 0) {
        response->outcome = script->outcome;
        snprintf(response->error, sizeof response->error, "scripted failure");
        return response->outcome;
    }
    if (script) {
        set_error(response, script->status, script->status == 503 ? "service_unavailable"
                  : script->status == 429 ? "too_many_requests"
                  : script->status == 401 ? "unauthorized" : "storage_cap_exceeded", "scripted");
        return SP_HTTP_COMPLETE;
    }
    if (!*call) {
        upload_part(request, response);
        return response->outcome;
    }
    struct fake_world *world = &lw->test->world;
    char token[64];
    pthread_mutex_lock(&world->lock);
    snprintf(token, sizeof token, "acct-token-%d", world->account_generation);
    int token_ok = header(request, "Authorization") && strcmp(header(request, "Authorization"), token) == 0 &&
                   !world->account_token_expired;
    pthread_mutex_unlock(&world->lock);
    if (!token_ok) {
        set_error(response, 401, "expired_auth_token", "Authorization token has expired");
        return SP_HTTP_COMPLETE;
    }
    json_object *body = json ? json_tokener_parse(json) : NULL;
    pthread_mutex_lock(&lw->lock);
    api_call(call, body, response);
    if (strcmp(call, lw->lose_answer_of) == 0) {
        lw->lose_answer_of[0] = '\0';
        free(response->body);
        memset(response, 0, sizeof *response);
        response->outcome = SP_HTTP_TIMEOUT;
        snprintf(response->error, sizeof response->error, "timed out");
    }
    pthread_mutex_unlock(&lw->lock);
    json_object_put(body);
    return response->outcome;
}

static enum sp_http_outcome large_perform(struct sp_http *base, const struct sp_http_request *request,
                                          struct sp_http_response *response)
{
    const char *call = strncmp(request->url, API, strlen(API)) == 0 ? request->url + strlen(API) : "";
    int ours = strncmp(request->url, PART_POD, strlen(PART_POD)) == 0;
    for (size_t i = 0; i < sizeof large_calls / sizeof *large_calls; i++)
        ours |= strcmp(call, large_calls[i]) == 0;
    if (!ours)
        return lw->test->http->base.perform(&lw->test->http->base, request, response);
    char *json = call[0] ? fake_json_body(request) : NULL;
    enum sp_http_outcome outcome = large_answer(request, call, json, response);
    free(json);
    return outcome;
}

static void large_destroy(struct sp_http *base)
{
    (void)base; /* the test owns it */
}

static void install(struct b2_test *test)
{
    test->plugin->http = &lw->base;
}

static int count(const char *url_part)
{
    int n = 0;
    for (int i = 0; i < lw->log_count; i++)
        n += strstr(lw->log[i].url, url_part) != NULL;
    return n;
}

static json_object *last_body(const char *call)
{
    for (int i = lw->log_count; i-- > 0;)
        if (strstr(lw->log[i].url, call) && lw->log[i].body)
            return json_tokener_parse(lw->log[i].body);
    return NULL;
}

/* ---- fixtures ---- */

#define PART 5000000
#define SIZE (2 * PART + 1234567) /* three parts: 5 MB, 5 MB, the rest */

struct fixture {
    struct b2_test test;
    struct large_world world;
    char *data;
    int fd;
    char whole[41];
    char parts[3][41];
    uint64_t progress_done, progress_total;
    int progress_calls;
};

static struct fixture *fx;

static void sha1_hex(const char *data, size_t length, char hex[41])
{
    struct b2_sha1 sha1;
    b2_sha1_init(&sha1);
    b2_sha1_update(&sha1, data, length);
    b2_sha1_final(&sha1, hex);
}

static void on_progress(const struct stor_host *host, const char *key, uint64_t done, uint64_t total)
{
    (void)host;
    (void)key;
    __atomic_fetch_add(&fx->progress_calls, 1, __ATOMIC_SEQ_CST);
    if (done > fx->progress_done)
        fx->progress_done = done; /* the highest seen */
    fx->progress_total = total;
}

static int start_with(const char *const *options)
{
    signal(SIGPIPE, SIG_IGN); /* a pipe test's writer may outlive its reader */
    fx = calloc(1, sizeof *fx);
    lw = &fx->world;
    lw->base.perform = large_perform;
    lw->base.destroy = large_destroy;
    lw->test = &fx->test;
    pthread_mutex_init(&lw->lock, NULL);
    if (b2_test_start(&fx->test, options, 0) != 0)
        return -1;
    fx->test.host.host.progress = on_progress;
    install(&fx->test);
    fx->data = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        fx->data[i] = (char)((i * 2654435761u) >> 13);
    fx->fd = fake_file(fx->data, SIZE);
    struct timespec times[2] = {{.tv_sec = 1600000000, .tv_nsec = 0}, {.tv_sec = 1600000000, .tv_nsec = 0}};
    futimens(fx->fd, times);
    sha1_hex(fx->data, SIZE, fx->whole);
    for (int i = 0; i < 3; i++)
        sha1_hex(fx->data + (size_t)i * PART, i < 2 ? PART : SIZE - 2 * PART, fx->parts[i]);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    static const char *const options[] = {"upload_cutoff=5MB", "part_size=5MB", "transfers=2", NULL};
    return start_with(options);
}

static int setup_one_worker(void **state)
{
    (void)state;
    static const char *const options[] = {"upload_cutoff=5MB", "part_size=5MB", "transfers=1", NULL};
    return start_with(options);
}

static int setup_default_cutoff(void **state)
{
    (void)state;
    static const char *const options[] = {"transfers=2", NULL};
    return start_with(options);
}

static int setup_no_resume(void **state)
{
    (void)state;
    static const char *const options[] = {"upload_cutoff=5MB", "part_size=5MB", "resume=no", NULL};
    return start_with(options);
}

static int teardown(void **state)
{
    (void)state;
    assert_false(fake_log_has_secret(&fx->test.host));
    assert_null(fx->test.host.log ? strstr(fx->test.host.log, "part-token-") : NULL);
    assert_false(lw->token_shared);
    b2_test_stop(&fx->test);
    for (int i = 0; i < lw->log_count; i++)
        free(lw->log[i].body);
    pthread_mutex_destroy(&lw->lock);
    close(fx->fd);
    free(fx->data);
    free(fx);
    return 0;
}

struct result {
    char sha1[41];
    char id[64];
    int64_t size;
    int calls;
};

static int on_result(void *context, const struct stor_object *object)
{
    struct result *result = context;
    snprintf(result->sha1, sizeof result->sha1, "%s", object->sha1 ? object->sha1 : "");
    snprintf(result->id, sizeof result->id, "%s", object->id ? object->id : "");
    result->size = object->size;
    result->calls++;
    return 0;
}

static enum stor_status put(struct result *result, struct stor_error *err)
{
    memset(err, 0, sizeof *err);
    memset(result, 0, sizeof *result);
    return b2_put(fx->test.plugin, FAKE_BUCKET, "big/file.bin", fx->fd, on_result, result, err);
}

static int log_has(const char *text)
{
    return fx->test.host.log && strstr(fx->test.host.log, text) != NULL;
}

static int part_uploads_of(int number)
{
    int n = 0;
    for (int i = 0; i < lw->log_count; i++)
        n += strstr(lw->log[i].url, PART_POD) && lw->log[i].part_number == number;
    return n;
}

/* The unfinished large file was cancelled (nothing left billed) and no object reported. */
static void assert_cancelled_and_not_stored(const struct result *result)
{
    assert_int_equal(count("b2_cancel_large_file"), 1);
    assert_int_equal(lw->files[0].state, 2);
    assert_int_equal(result->calls, 0);
}

/* ---- part sizing ---- */

static void part_size_without_tuning(void **state)
{
    (void)state;
    char why[300];
    const int64_t mb100 = 100000000, min = 5000000, cutoff = 200LL << 20;
    /* Recommended size while 10,000 parts of it hold the file. */
    assert_int_equal(b2_part_size_for(300000000, 0, cutoff, mb100, min, why, sizeof why), mb100);
    assert_int_equal(b2_part_size_for(10000 * mb100, 0, cutoff, mb100, min, why, sizeof why), mb100);
    /* One byte more needs bigger parts: ceil(size / 10,000). */
    assert_int_equal(b2_part_size_for(10000 * mb100 + 1, 0, cutoff, mb100, min, why, sizeof why),
                     mb100 + 1);
    /* Capped at the cutoff so the file takes two parts at least, never below the minimum. */
    assert_int_equal(b2_part_size_for(30000000, 0, 10000000, mb100, min, why, sizeof why), 10000000);
    assert_int_equal(b2_part_size_for(30000000, 0, 1000, mb100, min, why, sizeof why), min);
    /* 5 GB parts at most: 10,000 × 5 GB is the largest file; one byte more is refused. */
    assert_int_equal(b2_part_size_for(10000 * 5000000000LL, 0, cutoff, mb100, min, why, sizeof why),
                     5000000000LL);
    assert_int_equal(b2_part_size_for(10000 * 5000000000LL + 1, 0, cutoff, mb100, min, why, sizeof why), -1);
    assert_non_null(strstr(why, "10,000 parts"));
    /* Unknown account sizes fall back to B2's documented ones. */
    assert_int_equal(b2_part_size_for(300000000, 0, cutoff, 0, 0, why, sizeof why), mb100);
}

static void explicit_part_size_is_checked_against_the_file(void **state)
{
    (void)state;
    char why[300];
    const int64_t mb100 = 100000000, min = 5000000;
    assert_int_equal(b2_part_size_for(10000LL * min, min, 0, mb100, min, why, sizeof why), min);
    assert_int_equal(b2_part_size_for(10000LL * min + 1, min, 0, mb100, min, why, sizeof why), -1);
    assert_non_null(strstr(why, "from 5000001 to 5000000000 bytes"));
    /* An account whose minimum is higher than the option. */
    assert_int_equal(b2_part_size_for(100000000, min, 0, mb100, 2 * min, why, sizeof why), -1);
    assert_non_null(strstr(why, "from 10000000 to"));
}

static void sizes_parse_with_units(void **state)
{
    (void)state;
    int64_t bytes = 0;
    static const struct {
        const char *text;
        int64_t bytes;
    } good[] = {{"5000000", 5000000}, {"5M", 5242880}, {"5MB", 5000000}, {"5m", 5242880},
                {"5MiB", 5242880}, {"64KiB", 65536}, {"2G", 2LL << 30}, {"2GB", 2000000000LL},
                {"1GiB", 1LL << 30}, {"10k", 10240}, {"10kB", 10000}, {"1TiB", 1LL << 40}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(b2_parse_size(good[i].text, &bytes), 0);
        assert_int_equal(bytes, good[i].bytes);
    }
    static const char *const bad[] = {"", "M", "-5M", "5 M", "5X", "5MiBs", "1.5G",
                                      "99999999999999999999", "9000000000000T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(b2_parse_size(bad[i], &bytes), -1);
}

/* Options are checked when parsed: part_size within [5 MB, 5 GB], at most upload_cutoff. */
static void options_are_validated_when_parsed(void **state)
{
    (void)state;
    const char *const *const refused[] = {
        (const char *[]){"part_size=4999999", NULL}, (const char *[]){"part_size=6G", NULL},
        (const char *[]){"part_size=lots", NULL}, (const char *[]){"upload_cutoff=6G", NULL},
        (const char *[]){"part_size=300M", NULL}, /* above the default cutoff of 200 MiB */
        (const char *[]){"upload_cutoff=10M", "part_size=20M", NULL},
        (const char *[]){"transfers=0", NULL}, (const char *[]){"transfers=65", NULL},
        (const char *[]){"resume=maybe", NULL}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        struct b2_test test;
        assert_int_not_equal(b2_test_start(&test, refused[i], 0), 0);
        b2_test_stop(&test);
    }
    struct b2_test test;
    assert_int_equal(b2_test_start(&test, (const char *[]){"upload_cutoff=1GiB", "part_size=5MiB",
                                                           "transfers=8", "resume=no", NULL}, 0), 0);
    assert_int_equal(test.plugin->config.upload_cutoff, 1LL << 30);
    assert_int_equal(test.plugin->config.part_size, 5LL << 20);
    assert_int_equal(test.plugin->config.transfers, 8);
    assert_int_equal(test.plugin->config.resume, 0);
    b2_test_stop(&test);
    assert_int_equal(b2_test_start(&test, NULL, 0), 0);
    assert_int_equal(test.plugin->config.upload_cutoff, 200LL << 20);
    assert_int_equal(test.plugin->config.transfers, 4);
    assert_int_equal(test.plugin->config.resume, 1);
    assert_int_equal(test.plugin->config.part_size, 0);
    b2_test_stop(&test);
}

/* ---- the upload ---- */

static void large_put_sends_parts_and_finishes(void **state)
{
    (void)state;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(result.calls, 1);
    assert_string_equal(result.sha1, fx->whole);
    assert_int_equal(result.size, SIZE);
    /* Start: name, content type, the whole file's SHA-1 and mtime in fileInfo. */
    assert_int_equal(count("b2_start_large_file"), 1);
    json_object *start = last_body("b2_start_large_file"), *info;
    assert_string_equal(field(start, "fileName"), "big/file.bin");
    assert_string_equal(field(start, "bucketId"), FAKE_BUCKET_ID);
    assert_string_equal(field(start, "contentType"), "b2/x-auto");
    assert_true(json_object_object_get_ex(start, "fileInfo", &info));
    assert_string_equal(field(info, "large_file_sha1"), fx->whole);
    assert_string_equal(field(info, "src_last_modified_millis"), "1600000000000");
    json_object_put(start);
    /* Each part once, through at most one part URL per worker. */
    for (int number = 1; number <= 3; number++)
        assert_int_equal(part_uploads_of(number), 1);
    assert_int_equal(count(PART_POD), 3);
    assert_in_range(count("b2_get_upload_part_url"), 1, 2);
    /* Finish: the part SHA-1s in part order. */
    json_object *finish = last_body("b2_finish_large_file"), *sha1s;
    assert_true(json_object_object_get_ex(finish, "partSha1Array", &sha1s));
    assert_int_equal(json_object_array_length(sha1s), 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_object_get_string(json_object_array_get_idx(sha1s, i)), fx->parts[i]);
    json_object_put(finish);
    assert_int_equal(lw->files[0].state, 1);
    assert_int_equal(lw->files[0].total, SIZE);
    assert_int_equal(lw->files[0].parts[3].length, SIZE - 2 * PART);
    /* Progress: one key, bytes of every part added up. */
    assert_int_equal(fx->progress_done, SIZE);
    assert_int_equal(fx->progress_total, SIZE);
    assert_int_equal(count("b2_list_unfinished_large_files"), 1); /* looked for one to resume */
    assert_int_equal(count("b2_get_file_info"), 0);
}

/* A part B2 says it stored with another SHA-1 than the one hashed and sent is an error, and the
 * file is not finished with it. */
static void part_answered_with_another_sha1_is_refused(void **state)
{
    (void)state;
    lw->misreported_part = 2;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "B2 stored part 2"));
    assert_non_null(strstr(err.message, fx->parts[1]));
    assert_non_null(strstr(err.message, "resume"));
    assert_int_equal(count("b2_finish_large_file"), 0);
    assert_int_equal(result.calls, 0);
    assert_int_equal(lw->files[0].state, 0);
}

/* Under the https endpoint a plain http:// part URL is refused: no part is sent in clear. */
static void plain_http_part_url_is_refused(void **state)
{
    (void)state;
    lw->plain_http_part_urls = 1;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EINTERNAL);
    assert_non_null(strstr(err.message, "b2_get_upload_part_url: uploadUrl is plain http:// while "
                                        "the endpoint is https: refused"));
    assert_null(strstr(err.message, "part-token-"));
    assert_int_equal(count("http://pod.test"), 0);
    assert_int_equal(result.calls, 0);
}

/* A file at the cutoff is one b2_upload_file; one byte above, parts. */
static void cutoff_decides(void **state)
{
    (void)state;
    struct b2_test *test = &fx->test;
    b2_test_stop(test);
    assert_int_equal(b2_test_start(test, (const char *[]){"upload_cutoff=10000000", "part_size=5MB", NULL}, 0), 0);
    install(test);
    struct result result;
    struct stor_error err = {""};
    int fd = fake_file(fx->data, 10000000);
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "at", fd, on_result, &result, &err), STOR_OK);
    close(fd);
    assert_int_equal(fake_count(test->http, "pod.test/upload"), 1);
    assert_int_equal(count("b2_start_large_file"), 0);
    fd = fake_file(fx->data, 10000001);
    assert_int_equal(b2_put(test->plugin, FAKE_BUCKET, "above", fd, on_result, &result, &err), STOR_OK);
    close(fd);
    assert_int_equal(count("b2_start_large_file"), 1);
    assert_int_equal(count(PART_POD), 3); /* 5 MB, 5 MB, 1 byte */
    assert_int_equal(lw->files[0].parts[3].length, 1);
}

/* A 503 from a part's pod: that part URL is dropped, the part goes to a fresh one from B2. */
static void part_503_gets_a_fresh_part_url(void **state)
{
    (void)state;
    fail_nth(PART_POD, 2, 503);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_get_upload_part_url"), 2);
    assert_int_equal(part_uploads_of(2), 2);
    assert_int_equal(count(PART_POD), 4);
    /* The failed URL was never used again. */
    int after_failure = 0;
    for (int i = 0, seen = 0; i < lw->log_count; i++) {
        if (!strstr(lw->log[i].url, PART_POD))
            continue;
        if (++seen > 2)
            after_failure += strcmp(lw->log[i].url, PART_POD "1") == 0;
    }
    assert_int_equal(after_failure, 0);
    assert_int_equal(fx->test.host.retries, 1);
}

/* An expired part token: exactly one new b2_get_upload_part_url, no re-authorization. */
static void expired_part_token_gets_one_new_part_url(void **state)
{
    (void)state;
    lw->expire_after_parts = 1;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_get_upload_part_url"), 2);
    assert_int_equal(count(PART_POD), 4);
    assert_int_equal(fake_count(fx->test.http, "b2_authorize_account"), 1);
    assert_string_equal(result.sha1, fx->whole);
}

/* 429 on a part: wait as told, same part URL. */
static void part_429_waits_and_keeps_the_url(void **state)
{
    (void)state;
    fail_nth(PART_POD, 1, 429);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_get_upload_part_url"), 1);
    assert_int_equal(count(PART_POD), 4);
    assert_true(fake_slept(&fx->test.clock) >= 1000);
}

/* Parallel parts never share a part URL, and every part URL serves several parts. */
static void parallel_parts_lease_part_urls_exclusively(void **state)
{
    (void)state;
    lw->part_delay_us = 20000;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_false(lw->token_shared);
    assert_int_equal(count(PART_POD), 3);
    assert_true(count("b2_get_upload_part_url") < 3); /* a part URL served two parts */
}

/* Nine info.* options fit a small file, not a large one (B2 keeps ten entries). */
static void nine_infos_do_not_fit_a_large_file(void **state)
{
    (void)state;
    struct b2_test *test = &fx->test;
    b2_test_stop(test);
    assert_int_equal(b2_test_start(test, (const char *[]){"upload_cutoff=5M", "info.a=1", "info.b=2",
                     "info.c=3", "info.d=4", "info.e=5", "info.f=6", "info.g=7", "info.h=8",
                     "info.i=9", NULL}, 0), 0);
    install(test);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "10 file-info entries at most"));
    assert_int_equal(count("b2_start_large_file"), 0);
}

/* ---- failure, resume ---- */

/* A part refused for good: the put fails, the unfinished file stays (not cancelled) and the
 * message says how to go on. The same put again sends only the missing part. */
static void failed_upload_is_kept_and_resumed(void **state)
{
    (void)state;
    fail_nth(PART_POD, 3, 403);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "run the same put again to resume"));
    assert_non_null(strstr(err.message, "stor --backend=b2 cleanup bucket1/big/file.bin"));
    assert_int_equal(count("b2_cancel_large_file"), 0);
    assert_int_equal(lw->files[0].state, 0);
    assert_int_equal(count("b2_finish_large_file"), 0);
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_true(log_has("big/file.bin: resumed: 2 of 3 parts already uploaded"));
    assert_int_equal(count("b2_start_large_file"), 1);
    assert_int_equal(count("b2_list_parts"), 1);
    assert_int_equal(part_uploads_of(1), 1);
    assert_int_equal(part_uploads_of(2), 1);
    assert_int_equal(part_uploads_of(3), 2);
    assert_int_equal(lw->file_count, 1);
    assert_int_equal(lw->files[0].state, 1);
    assert_string_equal(result.sha1, fx->whole);
    assert_int_equal(fx->progress_done, SIZE);
}

/* Parts already there with other bytes are sent again; listings are followed page by page. */
static void mismatching_part_is_sent_again(void **state)
{
    (void)state;
    lw->parts_page = 1;
    lw->unfinished_page = 1;
    add_unfinished("big/file.bin.other", fx->whole, "1600000000000", 0);
    struct large_file *file = add_unfinished("big/file.bin", fx->whole, "1600000000000", 0);
    file->parts[1].length = PART;
    strcpy(file->parts[1].sha1, fx->parts[0]);
    file->parts[2].length = PART;
    strcpy(file->parts[2].sha1, "0000000000000000000000000000000000000000");
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_true(log_has("resumed: 1 of 3 parts already uploaded"));
    assert_int_equal(count("b2_start_large_file"), 0);
    assert_int_equal(count("b2_list_unfinished_large_files"), 2);
    assert_int_equal(count("b2_list_parts"), 2);
    assert_int_equal(part_uploads_of(1), 0);
    assert_int_equal(part_uploads_of(2), 1);
    assert_int_equal(part_uploads_of(3), 1);
    assert_int_equal(file->state, 1);
    assert_int_equal(lw->files[0].state, 0); /* another name, untouched */
}

/* Same name and SHA-1 but another mtime is another file: not resumed, not cancelled. */
static void different_mtime_is_not_resumed(void **state)
{
    (void)state;
    struct large_file *file = add_unfinished("big/file.bin", fx->whole, "1600000000001", 0);
    file->parts[1].length = PART;
    strcpy(file->parts[1].sha1, fx->parts[0]);
    add_unfinished("big/file.bin", "1111111111111111111111111111111111111111", "1600000000000", 0);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_false(log_has("resumed"));
    assert_int_equal(count("b2_start_large_file"), 1);
    assert_int_equal(count(PART_POD), 3);
    assert_int_equal(lw->files[0].state, 0);
    assert_int_equal(lw->files[1].state, 0);
    assert_int_equal(lw->files[2].state, 1);
}

/* The resumed file's part size comes from its parts, not from the options. */
static void resume_takes_the_part_size_of_the_parts(void **state)
{
    (void)state;
    const int64_t part = 6000000;
    struct large_file *file = add_unfinished("big/file.bin", fx->whole, "1600000000000", 0);
    char sha1[41];
    sha1_hex(fx->data, part, sha1);
    file->parts[1].length = part;
    strcpy(file->parts[1].sha1, sha1);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_true(log_has("resumed: 1 of 2 parts already uploaded"));
    assert_int_equal(part_uploads_of(1), 0);
    assert_int_equal(part_uploads_of(2), 1);
    assert_int_equal(file->parts[2].length, SIZE - part);
    assert_int_equal(file->parts[3].length, -1);
    assert_int_equal(file->state, 1);
    assert_int_equal(file->total, SIZE);
}

/* A key that may not list files still uploads large files, only without resuming. */
static void unlistable_key_uploads_without_resuming(void **state)
{
    (void)state;
    fail_nth("b2_list_unfinished_large_files", 1, 401);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_true(log_has("cannot look for an unfinished upload to resume"));
    assert_int_equal(count("b2_start_large_file"), 1);
    assert_int_equal(lw->files[0].state, 1);
    assert_string_equal(result.sha1, fx->whole);
}

/* resume=no: the matching unfinished file is cancelled and a new one started. */
/* With resume=no a failed upload leaves nothing behind: its unfinished file is cancelled. */
static void failed_upload_without_resume_is_cancelled(void **state)
{
    (void)state;
    fail_nth(PART_POD, 3, 403);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "the partial upload was cancelled (resume=no)"));
    assert_null(strstr(err.message, "run the same put again"));
    assert_cancelled_and_not_stored(&result);
}

/* The file changes while its parts go up: B2 sees other bytes than were hashed. No later put
 * could resume that upload (the file it was for is gone), so it is cancelled, and the error
 * says the file changed (exit 1), not "run the same put again". */
static void a_file_changed_during_upload_is_cancelled_not_kept(void **state)
{
    (void)state;
    lw->change_fd = fx->fd;
    lw->change_at_part = 1;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "the file changed while it was uploaded"));
    assert_non_null(strstr(err.message, "the partial upload was cancelled (the file changed)"));
    assert_null(strstr(err.message, "run the same put again"));
    assert_cancelled_and_not_stored(&result);
}

/* Two puts of one large file resume the same upload; the other one finishes it while this one
 * still sends its last part, which B2 refuses ("No active upload"). The object is stored with
 * these bytes: a success, found by looking, and nothing is cancelled. */
static void a_file_another_put_finished_is_a_success(void **state)
{
    (void)state;
    lw->finish_at_part = 3;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(result.calls, 1);
    assert_int_equal(result.size, SIZE);
    assert_true(log_has("finished meanwhile, by another put of it"));
    assert_int_equal(count("b2_get_file_info"), 1);
    assert_int_equal(count("b2_cancel_large_file"), 0);
    assert_int_equal(count("b2_finish_large_file"), 0);
}

/* A finish answer naming another file than the one finished is not taken as this one stored. */
static void a_finish_answer_naming_another_file_is_refused(void **state)
{
    (void)state;
    lw->finish_names_another = 1;
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "names another file than was finished"));
    assert_int_equal(result.calls, 0);
}

static void no_resume_cancels_and_starts_again(void **state)
{
    (void)state;
    struct large_file *file = add_unfinished("big/file.bin", fx->whole, "1600000000000", 0);
    file->parts[1].length = PART;
    strcpy(file->parts[1].sha1, fx->parts[0]);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_cancel_large_file"), 1);
    assert_int_equal(lw->files[0].state, 2);
    assert_int_equal(count("b2_start_large_file"), 1);
    assert_int_equal(count(PART_POD), 3);
    assert_false(log_has("resumed"));
}

/* ---- standard input ---- */

static void *write_pipe(void *context)
{
    int fd = *(int *)context;
    for (size_t done = 0; done < SIZE;) {
        ssize_t wrote = write(fd, fx->data + done, SIZE - done);
        if (wrote <= 0)
            break;
        done += (size_t)wrote;
    }
    close(fd);
    return NULL;
}

/* A pipe past the cutoff streams into parts as they fill; its length is checked at the finish. */
static void pipe_above_the_cutoff_streams_into_parts(void **state)
{
    (void)state;
    int ends[2];
    assert_int_equal(pipe(ends), 0);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_pipe, &ends[1]), 0);
    struct result result = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_put(fx->test.plugin, FAKE_BUCKET, "piped", ends[0], on_result, &result, &err),
                     STOR_OK);
    pthread_join(writer, NULL);
    close(ends[0]);
    json_object *start = last_body("b2_start_large_file"), *info;
    assert_true(json_object_object_get_ex(start, "fileInfo", &info));
    assert_null(field(info, "large_file_sha1")); /* not known when the file starts */
    assert_null(field(info, "src_last_modified_millis"));
    json_object_put(start);
    assert_int_equal(count(PART_POD), 3);
    for (int number = 1; number <= 3; number++)
        assert_string_equal(lw->files[0].parts[number].sha1, fx->parts[number - 1]);
    assert_int_equal(lw->files[0].state, 1);
    assert_int_equal(result.size, SIZE);
    assert_string_equal(result.sha1, fx->whole);
    assert_int_equal(count("b2_list_unfinished_large_files"), 0); /* nothing to resume from */
    assert_int_equal(fake_count(fx->test.http, "pod.test/upload"), 0);
}

/* A stream that fails is cancelled: nothing could ever resume it. */
static void failed_stream_is_cancelled(void **state)
{
    (void)state;
    fail_nth(PART_POD, 2, 403);
    int ends[2];
    assert_int_equal(pipe(ends), 0);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_pipe, &ends[1]), 0);
    struct result result = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_put(fx->test.plugin, FAKE_BUCKET, "piped", ends[0], on_result, &result, &err),
                     STOR_EIO);
    close(ends[0]); /* the writer sees EPIPE if it was still writing */
    pthread_join(writer, NULL);
    assert_non_null(strstr(err.message, "cancelled (a stream cannot be resumed)"));
    assert_int_equal(count("b2_cancel_large_file"), 1);
    assert_int_equal(lw->files[0].state, 2);
    assert_int_equal(count("b2_finish_large_file"), 0);
    assert_int_equal(result.calls, 0);
}

/* Ctrl-C during a stream: its unfinished large file is cancelled all the same (that one call
 * still goes out), as nothing could ever resume it. */
static void an_interrupted_stream_is_cancelled(void **state)
{
    (void)state;
    lw->interrupt_at_part = 2;
    int ends[2];
    assert_int_equal(pipe(ends), 0);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_pipe, &ends[1]), 0);
    struct result result = {0};
    struct stor_error err = {""};
    assert_int_equal(b2_put(fx->test.plugin, FAKE_BUCKET, "piped", ends[0], on_result, &result, &err),
                     STOR_ECANCELLED);
    close(ends[0]);
    pthread_join(writer, NULL);
    assert_non_null(strstr(err.message, "cancelled (a stream cannot be resumed)"));
    assert_cancelled_and_not_stored(&result);
}

/* A stream of a stated size beyond memory but below the cutoff (a copy between two places): parts
 * of the least size B2 allows, never a spool file (TMPDIR cannot be used), the given SHA-1 as its
 * large_file_sha1. */
static enum stor_status put_stated(int64_t stated, const char *sha1, struct result *result,
                                   struct stor_error *err)
{
    int ends[2];
    assert_int_equal(pipe(ends), 0);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_pipe, &ends[1]), 0);
    struct stor_put_options options = {.struct_size = sizeof options, .size = stated,
                                       .mtime_ms = 1600000000000LL, .sha1 = sha1,
                                       .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    const char *tmpdir = getenv("TMPDIR");
    char *saved = tmpdir ? strdup(tmpdir) : NULL;
    setenv("TMPDIR", "/nonexistent/stor-test", 1);
    enum stor_status status =
        b2_put_ex(fx->test.plugin, FAKE_BUCKET, "copied", &options, ends[0], on_result, result, err);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    close(ends[0]);
    pthread_join(writer, NULL);
    return status;
}

static void a_stated_size_streams_into_parts_without_a_spool_file(void **state)
{
    (void)state;
    struct result result = {0};
    struct stor_error err = {""};
    assert_int_equal(put_stated(SIZE, fx->whole, &result, &err), STOR_OK);
    json_object *start = last_body("b2_start_large_file"), *info;
    assert_true(json_object_object_get_ex(start, "fileInfo", &info));
    assert_string_equal(field(info, "large_file_sha1"), fx->whole);
    assert_string_equal(field(info, "src_last_modified_millis"), "1600000000000");
    json_object_put(start);
    assert_int_equal(count(PART_POD), 3); /* 5 MB, 5 MB, the rest: the least B2 allows */
    for (int number = 1; number <= 3; number++)
        assert_string_equal(lw->files[0].parts[number].sha1, fx->parts[number - 1]);
    assert_int_equal(lw->files[0].state, 1);
    assert_int_equal(result.size, SIZE);
    assert_string_equal(result.sha1, fx->whole);
    assert_int_equal(fake_count(fx->test.http, "pod.test/upload"), 0);
}

/* A stream that ends before its stated size, or whose bytes lack the given SHA-1: nothing stored,
 * the unfinished file cancelled. */
static void a_stream_short_of_its_stated_size_stores_nothing(void **state)
{
    (void)state;
    struct result result = {0};
    struct stor_error err = {""};
    assert_int_equal(put_stated(SIZE + 1, NULL, &result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "not the 11234568 stated: not stored"));
    assert_int_equal(count("b2_finish_large_file"), 0);
    assert_int_equal(count("b2_cancel_large_file"), 1);
    assert_int_equal(result.calls, 0);
}

static void a_stream_without_its_given_sha1_stores_nothing(void **state)
{
    (void)state;
    struct result result = {0};
    struct stor_error err = {""};
    assert_int_equal(put_stated(SIZE, "da39a3ee5e6b4b0d3255bfef95601890afd80709", &result, &err),
                     STOR_EIO);
    assert_non_null(strstr(err.message, "not stored"));
    assert_int_equal(count("b2_finish_large_file"), 0);
    assert_int_equal(count("b2_cancel_large_file"), 1);
    assert_int_equal(result.calls, 0);
}

/* b2_start_large_file was done but its answer lost: the unfinished file it made is found and
 * used, not left behind while another is started. */
static void lost_start_answer_is_found_not_started_again(void **state)
{
    (void)state;
    snprintf(lw->lose_answer_of, sizeof lw->lose_answer_of, "b2_start_large_file");
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_start_large_file"), 1);
    assert_int_equal(count("b2_list_unfinished_large_files"), 2); /* resume lookup, then the check */
    assert_int_equal(lw->file_count, 1);
    assert_int_equal(lw->files[0].state, 1);
    assert_int_equal(result.calls, 1);
    assert_string_equal(result.sha1, fx->whole);
    assert_true(log_has("b2_start_large_file: B2 did it although its answer was lost"));
}

/* Lost without having been done (a broken connection before B2 got it): nothing of ours is
 * listed, so the start is asked again; one file in the end. */
static void lost_start_not_done_is_started_again(void **state)
{
    (void)state;
    drop_nth("b2_start_large_file", 1, SP_HTTP_TIMEOUT);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_start_large_file"), 2);
    assert_int_equal(count("b2_list_unfinished_large_files"), 2);
    assert_int_equal(lw->file_count, 1);
    assert_int_equal(lw->files[0].state, 1);
}

/* ---- finish ---- */

/* The finish went through but its answer was lost: the retry gets 400, b2_get_file_info shows
 * the file finished, and the put succeeds. */
static void lost_finish_answer_is_checked_with_get_file_info(void **state)
{
    (void)state;
    snprintf(lw->lose_answer_of, sizeof lw->lose_answer_of, "b2_finish_large_file");
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_OK);
    assert_int_equal(count("b2_finish_large_file"), 2);
    assert_int_equal(count("b2_get_file_info"), 1);
    assert_int_equal(result.calls, 1);
    assert_string_equal(result.sha1, fx->whole);
    assert_int_equal(result.size, SIZE);
}

/* A finish that fails and the file is not finished: the error stands, with the resume hint. */
static void failed_finish_is_an_error(void **state)
{
    (void)state;
    drop_nth("b2_finish_large_file", 1, SP_HTTP_BROKEN);
    fail_nth("b2_finish_large_file", 2, 403);
    struct result result;
    struct stor_error err;
    assert_int_equal(put(&result, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "storage cap"));
    assert_non_null(strstr(err.message, "run the same put again"));
    assert_int_equal(count("b2_get_file_info"), 1);
    assert_int_equal(lw->files[0].state, 0);
    assert_int_equal(result.calls, 0);
}

/* ---- cleanup ---- */

struct cleaned {
    char keys[8][64];
    char ids[8][32];
    int64_t mtimes[8];
    int count;
};

static int on_cleaned(void *context, const struct stor_object *object)
{
    struct cleaned *cleaned = context;
    snprintf(cleaned->keys[cleaned->count], 64, "%s", object->key);
    snprintf(cleaned->ids[cleaned->count], 32, "%s", object->id);
    cleaned->mtimes[cleaned->count++] = object->mtime_ms;
    return 0;
}

static void cleanup_lists_then_cancels(void **state)
{
    (void)state;
    int64_t now = fx->test.clock.now_ms;
    lw->unfinished_page = 1;
    add_unfinished("a/old", "x", NULL, now - 3 * 86400000LL);
    add_unfinished("a/new", "x", NULL, now - 1000);
    add_unfinished("b/other", "x", NULL, now - 3 * 86400000LL);
    struct cleaned cleaned = {0};
    struct stor_error err = {""};
    /* Dry run: every unfinished file under a/, nothing cancelled. */
    assert_int_equal(b2_cleanup(fx->test.plugin, FAKE_BUCKET, "a/", 0, 1, on_cleaned, &cleaned, &err),
                     STOR_OK);
    assert_int_equal(cleaned.count, 2);
    assert_string_equal(cleaned.keys[0], "a/old");
    assert_string_equal(cleaned.ids[0], "large-0");
    assert_int_equal(cleaned.mtimes[0], now - 3 * 86400000LL);
    assert_string_equal(cleaned.keys[1], "a/new");
    assert_int_equal(count("b2_cancel_large_file"), 0);
    json_object *listed = last_body("b2_list_unfinished_large_files");
    assert_string_equal(field(listed, "namePrefix"), "a/");
    json_object_put(listed);
    /* Older than a day: only a/old goes. */
    memset(&cleaned, 0, sizeof cleaned);
    assert_int_equal(b2_cleanup(fx->test.plugin, FAKE_BUCKET, "a/", 86400000LL, 0, on_cleaned,
                                &cleaned, &err), STOR_OK);
    assert_int_equal(cleaned.count, 1);
    assert_string_equal(cleaned.keys[0], "a/old");
    assert_int_equal(lw->files[0].state, 2);
    assert_int_equal(lw->files[1].state, 0);
    /* Everything, any age. */
    memset(&cleaned, 0, sizeof cleaned);
    assert_int_equal(b2_cleanup(fx->test.plugin, FAKE_BUCKET, "", 0, 0, on_cleaned, &cleaned, &err),
                     STOR_OK);
    assert_int_equal(cleaned.count, 2);
    assert_int_equal(count("b2_cancel_large_file"), 3);
    memset(&cleaned, 0, sizeof cleaned);
    assert_int_equal(b2_cleanup(fx->test.plugin, FAKE_BUCKET, "", 0, 1, on_cleaned, &cleaned, &err),
                     STOR_OK);
    assert_int_equal(cleaned.count, 0);
}

static void cleanup_is_in_the_vtable(void **state)
{
    (void)state;
    extern const struct stor_backend *stor_plugin_entry(void);
    const struct stor_backend *backend = stor_plugin_entry();
    assert_int_equal(backend->abi_version, STOR_ABI_VERSION);
    assert_ptr_equal(backend->cleanup, b2_cleanup);
    int documented = 0;
    for (const struct stor_option_doc *doc = backend->options; doc->key; doc++)
        documented += strcmp(doc->key, "transfers") == 0 || strcmp(doc->key, "part_size") == 0 ||
                      strcmp(doc->key, "upload_cutoff") == 0 || strcmp(doc->key, "resume") == 0;
    assert_int_equal(documented, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(part_size_without_tuning),
        cmocka_unit_test(explicit_part_size_is_checked_against_the_file),
        cmocka_unit_test(sizes_parse_with_units),
        cmocka_unit_test(options_are_validated_when_parsed),
        cmocka_unit_test_setup_teardown(large_put_sends_parts_and_finishes, setup, teardown),
        cmocka_unit_test_setup_teardown(part_answered_with_another_sha1_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_http_part_url_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(cutoff_decides, setup, teardown),
        cmocka_unit_test_setup_teardown(part_503_gets_a_fresh_part_url, setup_one_worker, teardown),
        cmocka_unit_test_setup_teardown(expired_part_token_gets_one_new_part_url, setup_one_worker, teardown),
        cmocka_unit_test_setup_teardown(part_429_waits_and_keeps_the_url, setup_one_worker, teardown),
        cmocka_unit_test_setup_teardown(parallel_parts_lease_part_urls_exclusively, setup, teardown),
        cmocka_unit_test_setup_teardown(nine_infos_do_not_fit_a_large_file, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_upload_is_kept_and_resumed, setup_one_worker, teardown),
        cmocka_unit_test_setup_teardown(mismatching_part_is_sent_again, setup, teardown),
        cmocka_unit_test_setup_teardown(different_mtime_is_not_resumed, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_takes_the_part_size_of_the_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(unlistable_key_uploads_without_resuming, setup, teardown),
        cmocka_unit_test_setup_teardown(no_resume_cancels_and_starts_again, setup_no_resume, teardown),
        cmocka_unit_test_setup_teardown(failed_upload_without_resume_is_cancelled, setup_no_resume, teardown),
        cmocka_unit_test_setup_teardown(a_file_changed_during_upload_is_cancelled_not_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_another_put_finished_is_a_success, setup_one_worker, teardown),
        cmocka_unit_test_setup_teardown(a_finish_answer_naming_another_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(an_interrupted_stream_is_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown(pipe_above_the_cutoff_streams_into_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_stream_is_cancelled, setup_one_worker, teardown),
        cmocka_unit_test_setup_teardown(a_stated_size_streams_into_parts_without_a_spool_file,
                                        setup_default_cutoff, teardown),
        cmocka_unit_test_setup_teardown(a_stream_short_of_its_stated_size_stores_nothing,
                                        setup_default_cutoff, teardown),
        cmocka_unit_test_setup_teardown(a_stream_without_its_given_sha1_stores_nothing,
                                        setup_default_cutoff, teardown),
        cmocka_unit_test_setup_teardown(lost_start_answer_is_found_not_started_again, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_start_not_done_is_started_again, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_finish_answer_is_checked_with_get_file_info, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_finish_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(cleanup_lists_then_cancels, setup, teardown),
        cmocka_unit_test(cleanup_is_in_the_vtable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
