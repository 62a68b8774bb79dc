/* tests/b2_fake.c — the scripted HTTP transport, in-memory B2, fake clock and host of b2_fake.h.
 * Nothing here touches the network or waits in real time (except a few µs to overlap threads). */
#include "b2_fake.h"
#include "names.h"
#include "sha1.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define API "https://api.test/b2api/v2/"
#define POD "https://pod.test/upload/"
#define DOWNLOAD "https://f.test/file/"

/* ---- replies ---- */

static void reply_set(struct fake_reply *reply, long status, const char *headers, const char *body)
{
    reply->outcome = SP_HTTP_COMPLETE;
    reply->status = status;
    reply->headers = headers ? strdup(headers) : NULL;
    reply->body = body ? strdup(body) : NULL;
    reply->body_length = body ? strlen(body) : 0;
}

static void reply_error(struct fake_reply *reply, long status, const char *code, const char *message)
{
    char body[512];
    snprintf(body, sizeof body, "{\"status\": %ld, \"code\": \"%s\", \"message\": \"%s\"}", status,
             code, message);
    reply_set(reply, status, NULL, body);
}

static void reply_json(struct fake_reply *reply, json_object *object)
{
    reply_set(reply, 200, "Content-Type: application/json\n", json_object_to_json_string(object));
    json_object_put(object);
}

static void reply_free(struct fake_reply *reply)
{
    free(reply->headers);
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}

const char *fake_request_header(const struct fake_request *request, const char *name)
{
    size_t length = strlen(name);
    for (size_t i = 0; i < request->header_count; i++) {
        const char *line = request->headers[i];
        if (strncasecmp(line, name, length) == 0 && line[length] == ':') {
            const char *value = line + length + 1;
            while (*value == ' ')
                value++;
            return value;
        }
    }
    return NULL;
}

/* ---- the in-memory B2 ---- */

static json_object *body_json(const struct fake_request *request)
{
    return request->body ? json_tokener_parse(request->body) : NULL;
}

static const char *json_field(json_object *object, const char *key)
{
    json_object *member;
    return object && json_object_object_get_ex(object, key, &member) &&
                   json_object_is_type(member, json_type_string)
               ? json_object_get_string(member)
               : NULL;
}

static void world_authorize(struct fake_world *world, const struct fake_request *request,
                            struct fake_reply *reply)
{
    int v4 = strstr(request->url, "/b2api/v4/") != NULL;
    if (v4 && world->authorize_v2_only) {
        reply_error(reply, 404, "not_found", "no such API");
        return;
    }
    if (!request->basic_user || strcmp(request->basic_user, FAKE_KEY_ID) != 0 ||
        !request->basic_password || strcmp(request->basic_password, FAKE_KEY) != 0) {
        reply_error(reply, 401, "unauthorized", "bad key id or key");
        return;
    }
    world->account_generation++;
    world->account_token_expired = 0;
    char token[64];
    snprintf(token, sizeof token, "acct-token-%d", world->account_generation);
    json_object *root = json_object_new_object(), *storage = json_object_new_object();
    json_object *allowed = json_object_new_object(), *caps = json_object_new_array();
    json_object_array_add(caps, json_object_new_string("listBuckets"));
    if (!world->without_write_files)
        json_object_array_add(caps, json_object_new_string("writeFiles"));
    json_object_array_add(caps, json_object_new_string("readFiles"));
    json_object_array_add(caps, json_object_new_string("listFiles"));
    if (world->with_share_files)
        json_object_array_add(caps, json_object_new_string("shareFiles"));
    for (const char *const *more = world->more_capabilities; more && *more; more++)
        json_object_array_add(caps, json_object_new_string(*more));
    json_object_object_add(root, "accountId", json_object_new_string("account-1"));
    json_object_object_add(root, "authorizationToken", json_object_new_string(token));
    json_object_object_add(storage, "apiUrl", json_object_new_string("https://api.test"));
    json_object_object_add(storage, "downloadUrl", json_object_new_string("https://f.test"));
    json_object_object_add(storage, "recommendedPartSize", json_object_new_int64(100000000));
    json_object_object_add(storage, "absoluteMinimumPartSize", json_object_new_int64(5000000));
    json_object_object_add(allowed, "capabilities", caps);
    if (v4) {
        json_object *buckets = json_object_new_array();
        if (world->restricted_bucket) {
            json_object *bucket = json_object_new_object();
            json_object_object_add(bucket, "id", json_object_new_string(FAKE_BUCKET_ID));
            json_object_object_add(bucket, "name", json_object_new_string(FAKE_BUCKET));
            json_object_array_add(buckets, bucket);
        }
        json_object_object_add(allowed, "buckets", buckets);
        json_object_object_add(allowed, "namePrefix", world->name_prefix
                                                          ? json_object_new_string(world->name_prefix)
                                                          : NULL);
        json_object_object_add(storage, "allowed", allowed);
        json_object *api_info = json_object_new_object();
        json_object_object_add(api_info, "storageApi", storage);
        json_object_object_add(root, "apiInfo", api_info);
    } else {
        json_object_object_add(allowed, "bucketId",
                               world->restricted_bucket ? json_object_new_string(FAKE_BUCKET_ID) : NULL);
        json_object_object_add(allowed, "bucketName",
                               world->restricted_bucket ? json_object_new_string(FAKE_BUCKET) : NULL);
        json_object_object_foreach(storage, key, value)
            json_object_object_add(root, key, json_object_get(value));
        json_object_put(storage);
        json_object_object_add(root, "allowed", allowed);
    }
    reply_json(reply, root);
}

static int account_token_ok(struct fake_world *world, const struct fake_request *request,
                            struct fake_reply *reply)
{
    const char *token = fake_request_header(request, "Authorization");
    char expected[64];
    snprintf(expected, sizeof expected, "acct-token-%d", world->account_generation);
    if (!token || strncmp(token, "acct-token-", 11) != 0) {
        reply_error(reply, 401, "bad_auth_token", "Invalid authorization token");
        return 0;
    }
    if (strcmp(token, expected) != 0 || world->account_token_expired) {
        reply_error(reply, 401, "expired_auth_token", "Authorization token has expired");
        return 0;
    }
    return 1;
}

static json_object *file_json(struct fake_world *world, size_t index, const char *action)
{
    json_object *file = json_object_new_object();
    char id[32];
    snprintf(id, sizeof id, "file-id-%zu", index);
    json_object_object_add(file, "accountId", json_object_new_string("account-1"));
    json_object_object_add(file, "action", json_object_new_string(action));
    json_object_object_add(file, "bucketId", json_object_new_string(FAKE_BUCKET_ID));
    json_object_object_add(file, "contentLength", json_object_new_int64((int64_t)world->files[index].length));
    json_object_object_add(file, "contentSha1", json_object_new_string(world->files[index].sha1));
    json_object_object_add(file, "contentType", json_object_new_string("application/octet-stream"));
    json_object_object_add(file, "fileId", json_object_new_string(id));
    json_object_object_add(file, "fileInfo", json_object_new_object());
    json_object_object_add(file, "fileName", json_object_new_string(world->files[index].name));
    json_object_object_add(file, "uploadTimestamp", json_object_new_int64(1700000000000));
    return file;
}

static void world_upload(struct fake_world *world, const struct fake_request *request,
                         struct fake_reply *reply)
{
    int serial = atoi(request->url + strlen(POD));
    char expected[64];
    snprintf(expected, sizeof expected, "upload-token-%d", serial);
    const char *token = fake_request_header(request, "Authorization");
    if (!token || strcmp(token, expected) != 0 || serial <= 0 || serial >= 256) {
        reply_error(reply, 401, "bad_auth_token", "wrong upload token");
        return;
    }
    if (serial < world->expired_upload_tokens_below) {
        reply_error(reply, 401, "expired_auth_token", "upload token expired");
        return;
    }
    if (++world->in_flight[serial] > 1)
        world->uploads_in_flight_max_per_token_violations++;
    int delay = world->upload_delay_us;
    pthread_mutex_unlock(&world->lock);
    if (delay)
        usleep((useconds_t)delay);
    pthread_mutex_lock(&world->lock);
    world->in_flight[serial]--;

    const char *declared = fake_request_header(request, "X-Bz-Content-Sha1");
    const char *encoded = fake_request_header(request, "X-Bz-File-Name");
    size_t length = request->body_length;
    char sha1[41];
    if (declared && strcmp(declared, "hex_digits_at_end") == 0) {
        if (length < 40) {
            reply_error(reply, 400, "bad_request", "body too short for hex_digits_at_end");
            return;
        }
        length -= 40;
        declared = NULL;
    }
    struct b2_sha1 hash;
    b2_sha1_init(&hash);
    b2_sha1_update(&hash, request->body ? request->body : "", length);
    b2_sha1_final(&hash, sha1);
    const char *trailer = request->body_length >= 40 ? request->body + length : "";
    if (declared ? strcmp(declared, sha1) != 0 : strncmp(trailer, sha1, 40) != 0) {
        reply_error(reply, 400, "bad_request", "Sha1 did not match data received");
        return;
    }
    char *name = encoded ? b2_percent_decode(encoded) : NULL;
    if (!name) {
        reply_error(reply, 400, "bad_request", "bad file name");
        return;
    }
    size_t index = 0;
    while (index < world->file_count && strcmp(world->files[index].name, name) != 0)
        index++;
    if (index == world->file_count) {
        if (world->file_count == FAKE_MAX_FILES) {
            free(name);
            reply_error(reply, 500, "internal_error", "fake world full");
            return;
        }
        world->file_count++;
        world->files[index].name = name;
    } else {
        free(name);
        free(world->files[index].data);
    }
    world->files[index].data = malloc(length + 1);
    memcpy(world->files[index].data, request->body ? request->body : "", length);
    world->files[index].data[length] = '\0';
    world->files[index].length = length;
    world->files[index].hidden = 0;
    memcpy(world->files[index].sha1, sha1, 41);
    reply_json(reply, file_json(world, index, "upload"));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void world_list(struct fake_world *world, json_object *body, struct fake_reply *reply)
{
    const char *prefix = json_field(body, "prefix"), *delimiter = json_field(body, "delimiter");
    const char *start = json_field(body, "startFileName");
    json_object *count_object;
    int max = json_object_object_get_ex(body, "maxFileCount", &count_object)
                  ? json_object_get_int(count_object) : 100;
    if (world->page_size)
        max = world->page_size;
    /* The visible names, folders collapsed, sorted. */
    char *names[FAKE_MAX_FILES];
    size_t count = 0;
    for (size_t i = 0; i < world->file_count; i++) {
        if (world->files[i].hidden)
            continue;
        const char *name = world->files[i].name;
        if (prefix && strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        char *entry = strdup(name);
        const char *slash = delimiter ? strchr(name + (prefix ? strlen(prefix) : 0), '/') : NULL;
        if (slash)
            entry[slash - name + 1] = '\0';
        int duplicate = 0;
        for (size_t j = 0; j < count; j++)
            duplicate |= strcmp(names[j], entry) == 0;
        if (duplicate)
            free(entry);
        else
            names[count++] = entry;
    }
    qsort(names, count, sizeof *names, compare_names);
    json_object *root = json_object_new_object(), *files = json_object_new_array();
    int emitted = 0;
    const char *next = NULL;
    for (size_t i = 0; i < count; i++) {
        if (start && strcmp(names[i], start) < 0)
            continue;
        if (emitted == max) {
            next = names[i];
            break;
        }
        size_t length = strlen(names[i]);
        if (names[i][length - 1] == '/') {
            json_object *folder = json_object_new_object();
            json_object_object_add(folder, "action", json_object_new_string("folder"));
            json_object_object_add(folder, "fileName", json_object_new_string(names[i]));
            json_object_object_add(folder, "fileId", NULL);
            json_object_object_add(folder, "contentLength", json_object_new_int(0));
            json_object_array_add(files, folder);
        } else {
            for (size_t j = 0; j < world->file_count; j++)
                if (strcmp(world->files[j].name, names[i]) == 0)
                    json_object_array_add(files, file_json(world, j, "upload"));
        }
        emitted++;
    }
    json_object_object_add(root, "files", files);
    json_object_object_add(root, "nextFileName", next ? json_object_new_string(next) : NULL);
    reply_json(reply, root);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
}

static void world_api(struct fake_world *world, const struct fake_request *request,
                      struct fake_reply *reply)
{
    if (!account_token_ok(world, request, reply))
        return;
    const char *call = request->url + strlen(API);
    json_object *body = body_json(request);
    if (strcmp(call, "b2_list_buckets") == 0) {
        json_object *root = json_object_new_object(), *buckets = json_object_new_array();
        const char *name = json_field(body, "bucketName");
        if (name && strcmp(name, FAKE_BUCKET) == 0) {
            json_object *bucket = json_object_new_object();
            json_object_object_add(bucket, "accountId", json_object_new_string("account-1"));
            json_object_object_add(bucket, "bucketId", json_object_new_string(FAKE_BUCKET_ID));
            json_object_object_add(bucket, "bucketName", json_object_new_string(FAKE_BUCKET));
            json_object_object_add(bucket, "bucketType", json_object_new_string("allPrivate"));
            json_object_array_add(buckets, bucket);
        }
        json_object_object_add(root, "buckets", buckets);
        reply_json(reply, root);
    } else if (strcmp(call, "b2_get_upload_url") == 0) {
        const char *bucket_id = json_field(body, "bucketId");
        if (!bucket_id || strcmp(bucket_id, FAKE_BUCKET_ID) != 0) {
            reply_error(reply, 400, "bad_bucket_id", "Invalid bucketId");
        } else {
            int serial = ++world->upload_token_serial;
            char url[128], token[64];
            snprintf(url, sizeof url, POD "%d", serial);
            snprintf(token, sizeof token, "upload-token-%d", serial);
            json_object *root = json_object_new_object();
            json_object_object_add(root, "bucketId", json_object_new_string(bucket_id));
            json_object_object_add(root, "uploadUrl", json_object_new_string(url));
            json_object_object_add(root, "authorizationToken", json_object_new_string(token));
            reply_json(reply, root);
        }
    } else if (strcmp(call, "b2_list_file_names") == 0) {
        world_list(world, body, reply);
    } else if (strcmp(call, "b2_hide_file") == 0) {
        const char *name = json_field(body, "fileName");
        size_t index = 0;
        while (index < world->file_count &&
               (strcmp(world->files[index].name, name ? name : "") != 0 || world->files[index].hidden))
            index++;
        if (index == world->file_count) {
            reply_error(reply, 400, "no_such_file", "File not present");
        } else {
            world->files[index].hidden = 1;
            reply_json(reply, file_json(world, index, "hide"));
        }
    } else {
        reply_error(reply, 400, "bad_request", "unknown call");
    }
    json_object_put(body);
}

static void world_download(struct fake_world *world, const struct fake_request *request,
                           struct fake_reply *reply)
{
    if (!account_token_ok(world, request, reply))
        return;
    const char *path = request->url + strlen(DOWNLOAD);
    if (strncmp(path, FAKE_BUCKET "/", strlen(FAKE_BUCKET) + 1) != 0) {
        reply_error(reply, 404, "not_found", "bucket not found");
        return;
    }
    char *name = b2_percent_decode(path + strlen(FAKE_BUCKET) + 1);
    for (size_t i = 0; name && i < world->file_count; i++) {
        if (strcmp(world->files[i].name, name) == 0 && !world->files[i].hidden) {
            char headers[512];
            snprintf(headers, sizeof headers,
                     "Content-Type: text/plain\nX-Bz-File-Id: file-id-%zu\n"
                     "X-Bz-Content-Sha1: %s\nX-Bz-Upload-Timestamp: 1700000000000\n",
                     i, world->files[i].sha1);
            reply->outcome = SP_HTTP_COMPLETE;
            reply->status = 200;
            reply->headers = strdup(headers);
            reply->body = malloc(world->files[i].length + 1);
            memcpy(reply->body, world->files[i].data, world->files[i].length);
            reply->body_length = world->files[i].length;
            free(name);
            return;
        }
    }
    free(name);
    reply_error(reply, 404, "not_found", "File not present");
}

static void world_answer(struct fake_world *world, const struct fake_request *request,
                         struct fake_reply *reply)
{
    pthread_mutex_lock(&world->lock);
    if (strstr(request->url, "/b2_authorize_account"))
        world_authorize(world, request, reply);
    else if (strncmp(request->url, API, strlen(API)) == 0)
        world_api(world, request, reply);
    else if (strncmp(request->url, POD, strlen(POD)) == 0)
        world_upload(world, request, reply);
    else if (strncmp(request->url, DOWNLOAD, strlen(DOWNLOAD)) == 0)
        world_download(world, request, reply);
    else
        reply_error(reply, 404, "not_found", "no such URL in the fake world");
    pthread_mutex_unlock(&world->lock);
}

/* ---- the transport ---- */

static void record(struct fake_http *http, const struct sp_http_request *request,
                   struct fake_request *copy)
{
    memset(copy, 0, sizeof *copy);
    copy->method = strdup(request->method);
    copy->url = strdup(request->url);
    copy->headers = calloc(request->header_count + 1, sizeof *copy->headers);
    for (size_t i = 0; i < request->header_count; i++)
        copy->headers[i] = strdup(request->headers[i]);
    copy->header_count = request->header_count;
    copy->basic_user = request->basic_user ? strdup(request->basic_user) : NULL;
    copy->basic_password = request->basic_password ? strdup(request->basic_password) : NULL;
    if (request->body) {
        copy->body = malloc(request->body_length + 1);
        memcpy(copy->body, request->body, request->body_length);
        copy->body[request->body_length] = '\0';
        copy->body_length = request->body_length;
    } else if (request->read_body) {
        size_t capacity = (size_t)request->content_length + 64;
        copy->body = malloc(capacity + 1);
        for (;;) {
            char chunk[7]; /* odd-sized reads exercise the reader's bookkeeping */
            ssize_t got = request->read_body(request->read_context, chunk, sizeof chunk);
            if (got <= 0) {
                if (got < 0)
                    copy->content_length_wrong = -1;
                break;
            }
            if (copy->body_length + (size_t)got > capacity) {
                copy->content_length_wrong = 1;
                break;
            }
            memcpy(copy->body + copy->body_length, chunk, (size_t)got);
            copy->body_length += (size_t)got;
        }
        copy->body[copy->body_length] = '\0';
        if (copy->body_length != (size_t)request->content_length && !copy->content_length_wrong)
            copy->content_length_wrong = 1;
    }
    (void)http;
}

static enum sp_http_outcome fake_perform(struct sp_http *base, const struct sp_http_request *request,
                                         struct sp_http_response *response)
{
    struct fake_http *http = (struct fake_http *)base;
    memset(response, 0, sizeof *response);
    struct fake_request copy;
    record(http, request, &copy);
    struct fake_reply reply = {0};
    int scripted = 0;
    pthread_mutex_lock(&http->clock->lock);
    copy.at_ms = http->clock->now_ms;
    pthread_mutex_unlock(&http->clock->lock);
    pthread_mutex_lock(&http->lock);
    if (http->request_count == http->request_capacity) {
        http->request_capacity = http->request_capacity ? http->request_capacity * 2 : 64;
        http->requests = realloc(http->requests, http->request_capacity * sizeof *http->requests);
    }
    http->requests[http->request_count++] = copy;
    for (size_t i = 0; i < http->script_count && !scripted; i++) {
        if (http->script[i].used || (http->script[i].match && !strstr(request->url, http->script[i].match)))
            continue;
        http->script[i].used = 1;
        struct fake_reply *source = &http->script[i].reply;
        reply.outcome = source->outcome;
        reply.status = source->status;
        reply.headers = source->headers ? strdup(source->headers) : NULL;
        reply.body = source->body ? strdup(source->body) : NULL;
        reply.body_length = source->body_length;
        scripted = 1;
    }
    pthread_mutex_unlock(&http->lock);
    if (copy.content_length_wrong < 0) {
        reply_free(&reply);
        snprintf(response->error, sizeof response->error, "body reader failed");
        return response->outcome = SP_HTTP_LOCAL;
    }
    if (!scripted)
        world_answer(http->world, &copy, &reply);
    /* The copy in requests[] stays valid: only the array of structs may move. */
    if (request->progress)
        request->progress(request->progress_context, copy.body_length, reply.body_length);
    response->outcome = reply.outcome;
    if (reply.outcome != SP_HTTP_COMPLETE) {
        snprintf(response->error, sizeof response->error, "scripted transport failure %d",
                 (int)reply.outcome);
        reply_free(&reply);
        return response->outcome;
    }
    response->status = reply.status;
    for (char *line = reply.headers; line && *line;) {
        char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        char *colon = memchr(line, ':', (size_t)(end - line));
        if (colon) {
            const char *value = colon + 1;
            while (*value == ' ')
                value++;
            sp_http_response_add_header(response, line, (size_t)(colon - line), value,
                                        (size_t)(end - value));
        }
        line = *end ? end + 1 : end;
    }
    if (reply.status >= 200 && reply.status < 300 && request->write_body && request->write_status &&
        reply.status != request->write_status) {
        reply.body_length = 0; /* as the transport does: another 2xx ends at its headers */
    }
    if (reply.status >= 200 && reply.status < 300 && request->write_body) {
        /* Stream in pieces, as libcurl would. */
        for (size_t done = 0; done < reply.body_length;) {
            size_t piece = reply.body_length - done < 5000 ? reply.body_length - done : 5000;
            if (request->write_body(request->write_context, reply.body + done, piece) != 0) {
                reply_free(&reply);
                sp_http_response_clear_headers(response);
                snprintf(response->error, sizeof response->error, "write callback failed");
                return response->outcome = SP_HTTP_LOCAL;
            }
            done += piece;
        }
        free(reply.body);
    } else {
        response->body = reply.body ? reply.body : NULL;
        response->body_length = reply.body_length;
    }
    free(reply.headers);
    return SP_HTTP_COMPLETE;
}

static void fake_destroy(struct sp_http *base)
{
    struct fake_http *http = (struct fake_http *)base;
    (void)http; /* owned by the test, freed in b2_test_stop: it outlives plugin restarts */
}

static void fake_http_free(struct fake_http *http)
{
    for (size_t i = 0; i < http->request_count; i++) {
        struct fake_request *request = &http->requests[i];
        free(request->method);
        free(request->url);
        for (size_t j = 0; j < request->header_count; j++)
            free(request->headers[j]);
        free(request->headers);
        free(request->body);
        free(request->basic_user);
        free(request->basic_password);
    }
    free(http->requests);
    for (size_t i = 0; i < http->script_count; i++) {
        free(http->script[i].match);
        reply_free(&http->script[i].reply);
    }
    free(http->script);
    pthread_mutex_destroy(&http->lock);
    free(http);
}

void fake_forget_requests(struct fake_http *http)
{
    pthread_mutex_lock(&http->lock);
    for (size_t i = 0; i < http->request_count; i++) {
        struct fake_request *request = &http->requests[i];
        free(request->method);
        free(request->url);
        for (size_t j = 0; j < request->header_count; j++)
            free(request->headers[j]);
        free(request->headers);
        free(request->body);
        free(request->basic_user);
        free(request->basic_password);
    }
    http->request_count = 0;
    pthread_mutex_unlock(&http->lock);
}

void fake_script(struct fake_http *http, const char *match, long status, const char *headers,
                 const char *body)
{
    http->script = realloc(http->script, (http->script_count + 1) * sizeof *http->script);
    memset(&http->script[http->script_count], 0, sizeof *http->script);
    http->script[http->script_count].match = match ? strdup(match) : NULL;
    reply_set(&http->script[http->script_count].reply, status, headers, body);
    http->script_count++;
}

void fake_script_outcome(struct fake_http *http, const char *match, enum sp_http_outcome outcome)
{
    fake_script(http, match, 0, NULL, NULL);
    http->script[http->script_count - 1].reply.outcome = outcome;
}

size_t fake_count(struct fake_http *http, const char *url_part)
{
    size_t count = 0;
    pthread_mutex_lock(&http->lock);
    for (size_t i = 0; i < http->request_count; i++)
        count += !url_part || strstr(http->requests[i].url, url_part) != NULL;
    pthread_mutex_unlock(&http->lock);
    return count;
}

const struct fake_request *fake_last(struct fake_http *http, const char *url_part)
{
    for (size_t i = http->request_count; i-- > 0;)
        if (!url_part || strstr(http->requests[i].url, url_part))
            return &http->requests[i];
    return NULL;
}

/* ---- clock and host ---- */

static int64_t clock_now(void *context)
{
    struct fake_clock *clock = context;
    pthread_mutex_lock(&clock->lock);
    int64_t now = clock->now_ms;
    pthread_mutex_unlock(&clock->lock);
    return now;
}

static void clock_sleep(void *context, int64_t ms)
{
    struct fake_clock *clock = context;
    pthread_mutex_lock(&clock->lock);
    clock->now_ms += ms;
    if (clock->sleep_count < sizeof clock->slept_ms / sizeof *clock->slept_ms)
        clock->slept_ms[clock->sleep_count] = ms;
    clock->sleep_count++;
    pthread_mutex_unlock(&clock->lock);
}

static uint32_t clock_random(void *context)
{
    struct fake_clock *clock = context;
    return clock->random_value;
}

int64_t fake_slept(struct fake_clock *clock)
{
    int64_t total = 0;
    size_t count = clock->sleep_count < 256 ? clock->sleep_count : 256;
    for (size_t i = 0; i < count; i++)
        total += clock->slept_ms[i];
    return total;
}

static void host_log(const struct stor_host *base, enum stor_log_level level, const char *fmt, ...)
{
    (void)level;
    struct fake_host *host = (struct fake_host *)base;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&host->lock);
    size_t length = strlen(line);
    host->log = realloc(host->log, host->log_length + length + 2);
    memcpy(host->log + host->log_length, line, length);
    host->log_length += length;
    host->log[host->log_length++] = '\n';
    host->log[host->log_length] = '\0';
    pthread_mutex_unlock(&host->lock);
    if (getenv("B2_TEST_VERBOSE"))
        fprintf(stderr, "# log: %s\n", line);
}

static void host_count(const struct stor_host *base, const char *counter, uint64_t n)
{
    struct fake_host *host = (struct fake_host *)base;
    pthread_mutex_lock(&host->lock);
    uint64_t *slot = strcmp(counter, "requests") == 0  ? &host->requests
                     : strcmp(counter, "retries") == 0 ? &host->retries
                     : strcmp(counter, "class_a") == 0 ? &host->class_a
                     : strcmp(counter, "class_b") == 0 ? &host->class_b
                     : strcmp(counter, "class_c") == 0 ? &host->class_c
                                                       : NULL;
    if (slot)
        *slot += n;
    pthread_mutex_unlock(&host->lock);
}

static int host_cancelled(const struct stor_host *base)
{
    return ((const struct fake_host *)base)->cancel;
}

int fake_log_has_secret(struct fake_host *host)
{
    return host->log && (strstr(host->log, FAKE_KEY) || strstr(host->log, "acct-token-") ||
                         strstr(host->log, "upload-token-"));
}

/* ---- setup ---- */

static int open_plugin(struct b2_test *test, const char *const *options)
{
    struct stor_option parsed[32] = {{0}};
    char *copies[32];
    size_t count = 0;
    for (; options && options[count] && count < 31; count++) {
        copies[count] = strdup(options[count]);
        char *equals = strchr(copies[count], '=');
        *equals = '\0';
        parsed[count].key = copies[count];
        parsed[count].value = equals + 1;
    }
    if (!test->cache_dir[0]) {
        parsed[count].key = "cache";
        parsed[count].value = "no";
        copies[count++] = NULL;
    }
    struct stor_error err = {""};
    struct sp_clock clock = {clock_now, clock_sleep, clock_random, &test->clock};
    enum stor_status status =
        b2_plugin_create(&test->host.host, parsed, count, clock, &test->plugin, &err);
    for (size_t i = 0; i < count; i++)
        free(copies[i]);
    if (status != STOR_OK) {
        fprintf(stderr, "# b2_plugin_create: %s\n", err.message);
        return -1;
    }
    test->plugin->http = &test->http->base;
    return 0;
}

int b2_test_start(struct b2_test *test, const char *const *options, int disk_cache)
{
    memset(test, 0, sizeof *test);
    setenv("B2_APPLICATION_KEY_ID", FAKE_KEY_ID, 1);
    setenv("B2_APPLICATION_KEY", FAKE_KEY, 1);
    test->http = calloc(1, sizeof *test->http);
    test->http->base.perform = fake_perform;
    test->http->base.destroy = fake_destroy;
    test->http->world = &test->world;
    test->http->clock = &test->clock;
    pthread_mutex_init(&test->http->lock, NULL);
    pthread_mutex_init(&test->world.lock, NULL);
    pthread_mutex_init(&test->clock.lock, NULL);
    pthread_mutex_init(&test->host.lock, NULL);
    test->clock.now_ms = 1700000000000;
    test->host.host.abi_version = STOR_ABI_VERSION;
    test->host.host.struct_size = sizeof(struct stor_host);
    test->host.host.log_level = STOR_LOG_TRACE;
    test->host.host.log = host_log;
    test->host.host.cancelled = host_cancelled;
    test->host.host.count = host_count;
    if (disk_cache) {
        snprintf(test->cache_dir, sizeof test->cache_dir, "/tmp/stor-b2-test-XXXXXX");
        if (!mkdtemp(test->cache_dir))
            return -1;
        setenv("STOR_CACHE_DIR", test->cache_dir, 1);
    } else {
        unsetenv("STOR_CACHE_DIR");
    }
    return open_plugin(test, options);
}

int b2_test_restart(struct b2_test *test, const char *const *options)
{
    b2_plugin_destroy(test->plugin);
    test->plugin = NULL;
    return open_plugin(test, options);
}

void b2_test_stop(struct b2_test *test)
{
    b2_plugin_destroy(test->plugin);
    fake_http_free(test->http);
    for (size_t i = 0; i < test->world.file_count; i++) {
        free(test->world.files[i].name);
        free(test->world.files[i].data);
    }
    free(test->host.log);
    if (test->cache_dir[0]) {
        char command[300];
        snprintf(command, sizeof command, "rm -rf '%s'", test->cache_dir);
        if (system(command) != 0)
            fprintf(stderr, "# could not remove %s\n", test->cache_dir);
        unsetenv("STOR_CACHE_DIR");
    }
    pthread_mutex_destroy(&test->world.lock);
    pthread_mutex_destroy(&test->clock.lock);
    pthread_mutex_destroy(&test->host.lock);
}

int fake_file(const char *data, size_t length)
{
    char path[] = "/tmp/stor-b2-file-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    if (write(fd, data, length) != (ssize_t)length) {
        close(fd);
        return -1;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

int b2_test_setup(void **state, const char *const *options, int disk_cache)
{
    struct b2_test *test = calloc(1, sizeof *test);
    if (!test || b2_test_start(test, options, disk_cache) != 0) {
        free(test);
        return -1;
    }
    *state = test;
    return 0;
}

int b2_test_teardown(void **state)
{
    struct b2_test *test = *state;
    int leaked = fake_log_has_secret(&test->host); /* a failing teardown fails the test */
    b2_test_stop(test);
    free(test);
    return leaked ? -1 : 0;
}

char *fake_json_body(const struct sp_http_request *request)
{
    if (request->body)
        return strndup(request->body, request->body_length);
    if (!request->read_body || request->content_length < 0)
        return NULL;
    char *text = calloc((size_t)request->content_length + 1, 1);
    size_t length = 0;
    while (text && length < (size_t)request->content_length) {
        ssize_t got = request->read_body(request->read_context, text + length,
                                         (size_t)request->content_length - length);
        if (got <= 0)
            break;
        length += (size_t)got;
    }
    return text;
}
