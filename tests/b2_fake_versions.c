/* tests/b2_fake_versions.c — the versioned fake B2 of b2_fake_versions.h: downloads by name and
 * id with ranges, version listings, deletes, hides, copies and copied parts. */
#include "b2_fake_versions.h"
#include "names.h"
#include "sha1.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define API "https://api.test/b2api/v2/"
#define BY_ID "/b2api/v2/b2_download_file_by_id?fileId="
#define BY_NAME "/file/" FAKE_BUCKET "/"

struct reply {
    long status;
    char headers[1024];
    char *body;
    size_t length;
};

static void reply_text(struct reply *reply, long status, const char *text)
{
    reply->status = status;
    reply->body = strdup(text);
    reply->length = strlen(text);
}

static void reply_error(struct reply *reply, long status, const char *code, const char *message)
{
    char body[512];
    snprintf(body, sizeof body, "{\"status\":%ld,\"code\":\"%s\",\"message\":\"%s\"}", status,
             code, message);
    reply_text(reply, status, body);
}

static void reply_json(struct reply *reply, json_object *object)
{
    reply_text(reply, 200, json_object_to_json_string(object));
    json_object_put(object);
}

static const char *field(json_object *body, const char *key)
{
    json_object *member;
    return body && json_object_object_get_ex(body, key, &member) &&
                   json_object_is_type(member, json_type_string)
               ? json_object_get_string(member) : NULL;
}

static json_object *version_json(const struct vfake_version *version)
{
    json_object *file = json_object_new_object(), *info = json_object_new_object();
    json_object_object_add(file, "action", json_object_new_string(version->action));
    json_object_object_add(file, "fileId", json_object_new_string(version->id));
    json_object_object_add(file, "fileName", json_object_new_string(version->name));
    json_object_object_add(file, "bucketId", json_object_new_string(FAKE_BUCKET_ID));
    json_object_object_add(file, "contentLength", json_object_new_int64(version->length));
    json_object_object_add(file, "contentSha1", json_object_new_string(version->sha1));
    json_object_object_add(file, "contentType", json_object_new_string("text/plain"));
    json_object_object_add(file, "uploadTimestamp", json_object_new_int64(1700000000000));
    if (version->large_sha1[0])
        json_object_object_add(info, "large_file_sha1", json_object_new_string(version->large_sha1));
    if (version->mtime_ms >= 0) {
        char mtime[32];
        snprintf(mtime, sizeof mtime, "%" PRId64, version->mtime_ms);
        json_object_object_add(info, "src_last_modified_millis", json_object_new_string(mtime));
    }
    json_object_object_add(file, "fileInfo", info);
    return file;
}

static struct vfake_version *add(struct vfake *fake, const char *name, const char *action)
{
    struct vfake_version *version = &fake->versions[fake->count++];
    memset(version, 0, sizeof *version);
    version->name = strdup(name);
    snprintf(version->id, sizeof version->id, "v-%d", ++fake->serial);
    version->action = action;
    version->mtime_ms = -1;
    snprintf(version->sha1, sizeof version->sha1, "none");
    return version;
}

struct vfake_version *vfake_put(struct vfake *fake, const char *name, const char *data, size_t length)
{
    struct vfake_version *version = add(fake, name, "upload");
    version->data = malloc(length + 1);
    memcpy(version->data, data, length);
    version->length = (int64_t)length;
    struct b2_sha1 hash;
    b2_sha1_init(&hash);
    b2_sha1_update(&hash, data, length);
    b2_sha1_final(&hash, version->sha1);
    return version;
}

struct vfake_version *vfake_marker(struct vfake *fake, const char *name, const char *action)
{
    return add(fake, name, action);
}

/* The newest version of name, or NULL. */
static struct vfake_version *newest(struct vfake *fake, const char *name)
{
    for (size_t i = fake->count; i-- > 0;)
        if (strcmp(fake->versions[i].name, name) == 0 && strcmp(fake->versions[i].action, "start") != 0)
            return &fake->versions[i];
    return NULL;
}

static struct vfake_version *by_id(struct vfake *fake, const char *id)
{
    for (size_t i = 0; i < fake->count; i++)
        if (strcmp(fake->versions[i].id, id) == 0)
            return &fake->versions[i];
    return NULL;
}

static void download(struct vfake *fake, struct vfake_version *version, const char *range,
                     struct reply *reply)
{
    if (!version || strcmp(version->action, "upload") != 0 || !version->data) {
        reply_error(reply, 404, "not_found", "File not present");
        return;
    }
    int64_t first = 0, last = version->length - 1;
    if (fake->ignore_range)
        range = NULL;
    if (range) {
        long long a = 0, b = -1;
        int got = sscanf(range, "bytes=%lld-%lld", &a, &b);
        if (got < 1 || a >= version->length) {
            reply_error(reply, 416, "range_not_satisfiable", "The range is outside the file");
            return;
        }
        first = a;
        if (got == 2 && b < last)
            last = b;
        if (fake->shift_range && last + 1 < version->length) {
            first++; /* a lying server: another stretch of the file, as many bytes */
            last++;
        }
    }
    reply->status = range ? 206 : 200;
    int used = snprintf(reply->headers, sizeof reply->headers,
                        "Content-Type: text/plain\nX-Bz-File-Id: %s\nX-Bz-Content-Sha1: %s\n"
                        "X-Bz-Upload-Timestamp: 1700000000000\n", version->id, version->sha1);
    if (version->large_sha1[0])
        used += snprintf(reply->headers + used, sizeof reply->headers - (size_t)used,
                         "X-Bz-Info-large_file_sha1: %s\n", version->large_sha1);
    if (range)
        snprintf(reply->headers + used, sizeof reply->headers - (size_t)used,
                 "Content-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64 "\n", first, last,
                 version->length);
    reply->length = (size_t)(last - first + 1);
    reply->body = malloc(reply->length + 1);
    memcpy(reply->body, version->data + first, reply->length);
    if (fake->corrupt > 0 && reply->length > 0) {
        fake->corrupt--;
        reply->body[reply->length / 2] ^= 0x20;
    }
}

static int compare_versions(const void *a, const void *b)
{
    const struct vfake_version *x = *(struct vfake_version *const *)a;
    const struct vfake_version *y = *(struct vfake_version *const *)b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : (x > y ? -1 : 1); /* newest first */
}

static void list_versions(struct vfake *fake, json_object *body, struct reply *reply, int names_only)
{
    const char *prefix = field(body, "prefix"), *start = field(body, "startFileName");
    const char *start_id = field(body, "startFileId");
    json_object *count_object;
    int max = json_object_object_get_ex(body, "maxFileCount", &count_object)
                  ? json_object_get_int(count_object) : 100;
    if (fake->page_size && !names_only)
        max = fake->page_size;
    struct vfake_version *sorted[VFAKE_MAX];
    size_t count = 0;
    for (size_t i = 0; i < fake->count; i++) {
        struct vfake_version *version = &fake->versions[i];
        if (prefix && strncmp(version->name, prefix, strlen(prefix)) != 0)
            continue;
        if (names_only && (newest(fake, version->name) != version ||
                           strcmp(version->action, "upload") != 0))
            continue;
        sorted[count++] = version;
    }
    qsort(sorted, count, sizeof *sorted, compare_versions);
    json_object *root = json_object_new_object(), *files = json_object_new_array();
    size_t i = 0;
    if (start)
        while (i < count && strcmp(sorted[i]->name, start) < 0)
            i++;
    if (start_id)
        while (i < count && strcmp(sorted[i]->id, start_id) != 0)
            i++;
    int emitted = 0;
    for (; i < count && emitted < max; i++, emitted++)
        json_object_array_add(files, version_json(sorted[i]));
    json_object_object_add(root, "files", files);
    json_object_object_add(root, "nextFileName", i < count ? json_object_new_string(sorted[i]->name) : NULL);
    if (!names_only)
        json_object_object_add(root, "nextFileId", i < count ? json_object_new_string(sorted[i]->id) : NULL);
    reply_json(reply, root);
}

static void api(struct vfake *fake, const char *call, json_object *body, struct reply *reply)
{
    if (strcmp(call, "b2_list_file_versions") == 0 || strcmp(call, "b2_list_file_names") == 0) {
        list_versions(fake, body, reply, strcmp(call, "b2_list_file_names") == 0);
    } else if (strcmp(call, "b2_delete_file_version") == 0) {
        const char *name = field(body, "fileName"), *id = field(body, "fileId");
        struct vfake_version *version = id ? by_id(fake, id) : NULL;
        if (!version || !name || strcmp(version->name, name) != 0) {
            reply_error(reply, 400, "file_not_present", "File not present");
            return;
        }
        json_object *root = json_object_new_object();
        json_object_object_add(root, "fileId", json_object_new_string(version->id));
        json_object_object_add(root, "fileName", json_object_new_string(version->name));
        reply_json(reply, root);
        free(version->name);
        free(version->data);
        size_t index = (size_t)(version - fake->versions);
        memmove(version, version + 1, (fake->count - index - 1) * sizeof *version);
        fake->count--;
    } else if (strcmp(call, "b2_get_file_info") == 0) {
        const char *id = field(body, "fileId");
        struct vfake_version *version = id ? by_id(fake, id) : NULL;
        if (!version)
            reply_error(reply, 404, "not_found", "file not found");
        else
            reply_json(reply, version_json(version));
    } else if (strcmp(call, "b2_hide_file") == 0) {
        const char *name = field(body, "fileName");
        struct vfake_version *current = name ? newest(fake, name) : NULL;
        if (!current || strcmp(current->action, "upload") != 0) {
            reply_error(reply, 400, "no_such_file", "File not present");
            return;
        }
        reply_json(reply, version_json(add(fake, name, "hide")));
    } else if (strcmp(call, "b2_copy_file") == 0) {
        const char *source_id = field(body, "sourceFileId"), *name = field(body, "fileName");
        struct vfake_version *source = source_id ? by_id(fake, source_id) : NULL;
        if (!source || !source->data || !name) {
            reply_error(reply, 400, "bad_request", "bad sourceFileId");
            return;
        }
        size_t index = (size_t)(source - fake->versions);
        struct vfake_version *copy = vfake_put(fake, name, fake->versions[index].data,
                                               (size_t)fake->versions[index].length);
        reply_json(reply, version_json(copy));
    } else if (strcmp(call, "b2_start_large_file") == 0) {
        struct vfake_version *started = add(fake, field(body, "fileName"), "start");
        json_object *root = json_object_new_object();
        json_object_object_add(root, "fileId", json_object_new_string(started->id));
        reply_json(reply, root);
    } else if (strcmp(call, "b2_copy_part") == 0) {
        json_object *number;
        long long first = -1, last = -1;
        const char *range = field(body, "range");
        if (!range || sscanf(range, "bytes=%lld-%lld", &first, &last) != 2 ||
            !json_object_object_get_ex(body, "partNumber", &number) || fake->part_count == 256) {
            reply_error(reply, 400, "bad_request", "bad part");
            return;
        }
        fake->parts[fake->part_count].number = json_object_get_int(number);
        fake->parts[fake->part_count].first = first;
        fake->parts[fake->part_count].last = last;
        fake->part_count++;
        char sha1[41];
        snprintf(sha1, sizeof sha1, "%040d", json_object_get_int(number));
        json_object *root = json_object_new_object();
        json_object_object_add(root, "contentSha1", json_object_new_string(sha1));
        reply_json(reply, root);
    } else if (strcmp(call, "b2_finish_large_file") == 0) {
        struct vfake_version *large = by_id(fake, field(body, "fileId") ? field(body, "fileId") : "");
        json_object *sha1s;
        if (!large || strcmp(large->action, "start") != 0 ||
            !json_object_object_get_ex(body, "partSha1Array", &sha1s)) {
            reply_error(reply, 400, "bad_request", "bad finish");
            return;
        }
        fake->finish_sha1_count = (int)json_object_array_length(sha1s);
        large->action = "upload";
        for (int i = 0; i < fake->part_count; i++)
            large->length += fake->parts[i].last - fake->parts[i].first + 1;
        reply_json(reply, version_json(large));
    } else if (strcmp(call, "b2_cancel_large_file") == 0) {
        fake->cancelled_large++;
        reply_json(reply, json_object_new_object());
    } else {
        reply_error(reply, 400, "bad_request", "unknown call in vfake");
    }
}

static int handles(const struct vfake *fake, const char *url)
{
    if (strstr(url, BY_ID) || strstr(url, BY_NAME))
        return 1;
    if (strncmp(url, API, strlen(API)) != 0)
        return 0;
    const char *call = url + strlen(API);
    if (strcmp(call, "b2_list_file_names") == 0)
        return !fake->names_to_inner;
    return strcmp(call, "b2_authorize_account") != 0 && strcmp(call, "b2_list_buckets") != 0 &&
           strcmp(call, "b2_get_upload_url") != 0;
}

static enum sp_http_outcome perform(struct sp_http *base, const struct sp_http_request *request,
                                    struct sp_http_response *response)
{
    struct vfake *fake = (struct vfake *)base;
    if (!handles(fake, request->url))
        return fake->inner->perform(fake->inner, request, response);
    memset(response, 0, sizeof *response);
    const char *range = NULL;
    for (size_t i = 0; i < request->header_count; i++)
        if (strncasecmp(request->headers[i], "Range: ", 7) == 0)
            range = request->headers[i] + 7;
    struct reply reply = {0};
    char *json = fake_json_body(request);
    pthread_mutex_lock(&fake->lock);
    if (fake->log_count < sizeof fake->log / sizeof *fake->log) {
        fake->log[fake->log_count].url = strdup(request->url);
        fake->log[fake->log_count].range = strdup(range ? range : "");
        fake->log[fake->log_count].body = strdup(json ? json : "");
        fake->log_count++;
    }
    int download_request = strncmp(request->url, API, strlen(API)) != 0;
    if (fake->fail_count > 0 && fake->fail_match && strstr(request->url, fake->fail_match)) {
        fake->fail_count--;
        reply_error(&reply, fake->fail_status, fake->fail_code, "injected by vfake");
    } else if (strstr(request->url, BY_ID)) {
        char *id = b2_percent_decode(strstr(request->url, BY_ID) + strlen(BY_ID));
        download(fake, id ? by_id(fake, id) : NULL, range, &reply);
        free(id);
    } else if (strstr(request->url, BY_NAME)) {
        char *name = b2_percent_decode(strstr(request->url, BY_NAME) + strlen(BY_NAME));
        download(fake, name ? newest(fake, name) : NULL, range, &reply);
        free(name);
    } else {
        json_object *body = json ? json_tokener_parse(json) : NULL;
        api(fake, request->url + strlen(API), body, &reply);
        json_object_put(body);
    }
    free(json);
    if (download_request && ++fake->in_flight > fake->max_in_flight)
        fake->max_in_flight = fake->in_flight;
    int hold = fake->hold_us;
    int lose = fake->lose_count > 0 && fake->lose_match && strstr(request->url, fake->lose_match);
    fake->lose_count -= lose;
    pthread_mutex_unlock(&fake->lock);
    if (lose) {
        free(reply.body);
        response->outcome = SP_HTTP_TIMEOUT;
        snprintf(response->error, sizeof response->error, "timed out (vfake)");
        return response->outcome;
    }
    if (download_request && hold)
        usleep((useconds_t)hold);
    response->outcome = SP_HTTP_COMPLETE;
    response->status = reply.status;
    for (char *line = reply.headers; *line;) {
        char *end = strchr(line, '\n'), *colon = strchr(line, ':');
        sp_http_response_add_header(response, line, (size_t)(colon - line), colon + 2,
                                    (size_t)(end - colon - 2));
        line = end + 1;
    }
    int failed = 0;
    if (reply.status >= 200 && reply.status < 300 && request->write_body && request->write_status &&
        reply.status != request->write_status) {
        reply.length = 0; /* as the transport does: another 2xx ends at its headers */
    }
    if (reply.status >= 200 && reply.status < 300 && request->write_body) {
        for (size_t done = 0; done < reply.length && !failed;) {
            size_t piece = reply.length - done < 4096 ? reply.length - done : 4096;
            failed = request->write_body(request->write_context, reply.body + done, piece) != 0;
            done += piece;
        }
        free(reply.body);
        if (request->progress && !failed && request->progress(request->progress_context, 0, reply.length))
            response->outcome = SP_HTTP_CANCELLED;
    } else {
        response->body = reply.body;
        response->body_length = reply.length;
    }
    if (failed) {
        sp_http_response_clear_headers(response);
        response->outcome = SP_HTTP_LOCAL;
    }
    pthread_mutex_lock(&fake->lock);
    if (download_request)
        fake->in_flight--;
    pthread_mutex_unlock(&fake->lock);
    return response->outcome;
}

static void destroy(struct sp_http *base)
{
    (void)base; /* the test owns it */
}

void vfake_install(struct vfake *fake, struct b2_test *test)
{
    memset(fake, 0, sizeof *fake);
    fake->base.perform = perform;
    fake->base.destroy = destroy;
    fake->inner = &test->http->base;
    pthread_mutex_init(&fake->lock, NULL);
    test->plugin->http = &fake->base;
}

void vfake_free(struct vfake *fake)
{
    for (size_t i = 0; i < fake->count; i++) {
        free(fake->versions[i].name);
        free(fake->versions[i].data);
    }
    for (size_t i = 0; i < fake->log_count; i++) {
        free(fake->log[i].url);
        free(fake->log[i].range);
        free(fake->log[i].body);
    }
    pthread_mutex_destroy(&fake->lock);
}

int vfake_count(struct vfake *fake, const char *part)
{
    int count = 0;
    for (size_t i = 0; i < fake->log_count; i++)
        count += strstr(fake->log[i].url, part) != NULL;
    return count;
}

int vfake_last(struct vfake *fake, const char *part)
{
    for (size_t i = fake->log_count; i-- > 0;)
        if (strstr(fake->log[i].url, part))
            return (int)i;
    return -1;
}

int vfake_setup(void **state, const char *const *options)
{
    struct vfake_fixture *fixture = calloc(1, sizeof *fixture);
    if (!fixture || b2_test_start(&fixture->test, options, 0) != 0) {
        free(fixture);
        return -1;
    }
    vfake_install(&fixture->fake, &fixture->test);
    *state = fixture;
    return 0;
}

int vfake_teardown(void **state)
{
    struct vfake_fixture *fixture = *state;
    int leaked = fake_log_has_secret(&fixture->test.host); /* a failing teardown fails the test */
    b2_test_stop(&fixture->test);
    vfake_free(&fixture->fake);
    free(fixture);
    return leaked ? -1 : 0;
}
