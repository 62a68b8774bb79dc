/* plugins/s3/remove.c — remove: DeleteObject after a HeadObject (S3 answers 204 for a missing key
 * too, and the ABI wants STOR_ENOTFOUND for it); on a versioned bucket it leaves a delete marker.
 * remove_ex: one version for good (DeleteObject ?versionId), or every version of the name.
 * remove_many: DeleteObjects, 1,000 keys a request (Content-MD5), each key's Error told apart. */
#include "operations.h"

#include "digest.h"
#include "head.h"
#include "instance.h"
#include "pages.h"
#include "request.h"
#include "sp_host.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum stor_status delete_object(struct s3_plugin *plugin, const char *bucket,
                                      const char *key, const char *version_id, int bypass,
                                      struct stor_error *err)
{
    struct s3_sigv4_param params[1] = {{"versionId", version_id}};
    struct s3_sigv4_header headers[1] = {{"x-amz-bypass-governance-retention", "true"}};
    struct s3_call call = {.operation = "DeleteObject", .method = "DELETE", .bucket = bucket,
                           .key = key, .params = params, .param_count = version_id ? 1 : 0,
                           .headers = headers, .header_count = bypass ? 1 : 0, .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(plugin, &call, &response, NULL, err);
    if (status == STOR_OK)
        sp_http_response_free(&response);
    return status;
}

enum stor_status s3_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct sp_http_response response;
    enum stor_status status = s3_head_object(plugin, bucket, key, &response, err);
    if (status != STOR_OK)
        return status;
    sp_http_response_free(&response);
    return delete_object(plugin, bucket, key, NULL, 0, err);
}

/* The version ids of exactly key, newest first, from a version listing of its prefix. */
struct versions {
    const char *key;
    char **ids;
    size_t count;
};

static enum stor_status collect_version(void *context, const struct s3_list_entry *entry,
                                        struct stor_error *err)
{
    struct versions *v = context;
    if (entry->is_prefix || !entry->version_id || strcmp(entry->key, v->key) != 0)
        return STOR_OK; /* a longer name under the same prefix */
    char **grown = realloc(v->ids, (v->count + 1) * sizeof *grown);
    if (grown)
        v->ids = grown;
    if (!grown || !(grown[v->count] = strdup(entry->version_id)))
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    v->count++;
    return STOR_OK;
}

static enum stor_status remove_all_versions(struct s3_plugin *plugin, const char *bucket,
                                            const char *key, int bypass, struct stor_error *err)
{
    struct versions v = {.key = key};
    enum stor_status status = s3_pages_list(plugin, bucket, key,
                                            STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS,
                                            collect_version, &v, err);
    if (status == STOR_OK && v.count == 0)
        status = stor_fail(err, STOR_ENOTFOUND, "not found: %s/%s", bucket, key);
    for (size_t i = 0; status == STOR_OK && i < v.count; i++) {
        status = delete_object(plugin, bucket, key, v.ids[i], bypass, err);
        if (status == STOR_OK)
            sp_log(plugin->host, STOR_LOG_DEBUG, "%s/%s: version %s deleted", bucket, key,
                   v.ids[i]);
    }
    for (size_t i = 0; i < v.count; i++)
        free(v.ids[i]);
    free(v.ids);
    return status;
}

enum stor_status s3_remove_ex(void *instance, const char *bucket, const char *key,
                              const struct stor_remove_options *options, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct stor_remove_options opts = {0};
    if (options)
        memcpy(&opts, options, options->struct_size < sizeof opts ? options->struct_size
                                                                  : sizeof opts);
    int bypass = (opts.flags & STOR_REMOVE_BYPASS_GOVERNANCE) != 0;
    if (opts.version_id && (!*opts.version_id || strlen(opts.version_id) > 1024 ||
                            strpbrk(opts.version_id, "\r\n")))
        return stor_fail(err, STOR_EINVAL, "%s: '%s' is not an S3 version id", key,
                         opts.version_id);
    if (opts.version_id) {
        /* S3 deletes a version that is not there without a word: HEAD it first (a delete
         * marker answers 405, and is there to delete). */
        struct sp_http_response response;
        int marker = 0;
        enum stor_status status = s3_head_version(plugin, bucket, key, opts.version_id, &response,
                                                  &marker, err);
        if (status != STOR_OK && !marker)
            return status;
        if (status == STOR_OK)
            sp_http_response_free(&response);
        return delete_object(plugin, bucket, key, opts.version_id, bypass, err);
    }
    if (opts.flags & STOR_REMOVE_ALL_VERSIONS)
        return remove_all_versions(plugin, bucket, key, bypass, err);
    return s3_remove(instance, bucket, key, err);
}

/* ---- DeleteObjects ---- */

#define S3_DELETE_BATCH 1000 /* AWS: "up to 1,000 keys" a request */

/* The request body as it grows; failed once memory ran out. */
struct text {
    char *data;
    size_t length, capacity;
    int failed;
};

static void append(struct text *t, const char *piece, size_t n)
{
    if (t->failed)
        return;
    if (t->length + n + 1 > t->capacity) {
        size_t capacity = t->capacity ? t->capacity * 2 : 4096;
        while (capacity < t->length + n + 1)
            capacity *= 2;
        char *grown = realloc(t->data, capacity);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->capacity = capacity;
    }
    memcpy(t->data + t->length, piece, n);
    t->length += n;
    t->data[t->length] = '\0';
}

static void append_raw(struct text *t, const char *markup)
{
    append(t, markup, strlen(markup));
}

/* text as XML character data. */
static void append_escaped(struct text *t, const char *text)
{
    for (const char *c = text; *c; c++) {
        const char *entity = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;"
                             : *c == '"' ? "&quot;" : *c == '\'' ? "&apos;" : NULL;
        if (entity)
            append_raw(t, entity);
        else
            append(t, c, 1);
    }
}

static enum stor_status key_status(const char *code)
{
    if (strcmp(code, "AccessDenied") == 0)
        return STOR_EAUTH;
    if (strcmp(code, "NoSuchKey") == 0)
        return STOR_ENOTFOUND;
    if (strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0 ||
        strcmp(code, "ServiceUnavailable") == 0)
        return STOR_ETRANSIENT;
    return STOR_EIO;
}

/* One DeleteObjects of count keys (at most S3_DELETE_BATCH), Quiet: only failures come back, and
 * every key without an <Error> was deleted. told[i] is set for each key told of. */
static enum stor_status delete_batch(struct s3_plugin *plugin, const char *bucket,
                                     const char *const *keys, size_t count,
                                     stor_removed_fn on_removed, void *context,
                                     unsigned char *told, struct stor_error *err)
{
    struct text body = {0};
    append_raw(&body, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true"
                      "</Quiet>");
    size_t asked = 0;
    for (size_t i = 0; i < count; i++) {
        int usable = 1;
        for (const char *c = keys[i]; *c; c++)
            usable &= (unsigned char)*c >= 0x20; /* XML 1.0 cannot carry control characters */
        if (!usable) {
            told[i] = 1;
            on_removed(context, i, STOR_EINVAL, "a name with control characters cannot go into "
                       "a DeleteObjects request");
            continue;
        }
        append_raw(&body, "<Object><Key>");
        append_escaped(&body, keys[i]);
        append_raw(&body, "</Key></Object>");
        asked++;
    }
    append_raw(&body, "</Delete>");
    if (body.failed) {
        free(body.data);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    if (asked == 0) {
        free(body.data);
        return stor_fail(err, STOR_EINVAL, "no name of the batch can be deleted");
    }
    unsigned char md5[16];
    char md5_base64[25];
    s3_base64(md5, s3_digest_of(S3_MD5, body.data, body.length, md5), md5_base64);
    struct s3_sigv4_param params[1] = {{"delete", NULL}};
    struct s3_sigv4_header headers[2] = {{"Content-MD5", md5_base64},
                                         {"Content-Type", "application/xml"}};
    struct s3_call call = {.operation = "DeleteObjects", .method = "POST", .bucket = bucket,
                           .params = params, .param_count = 1, .headers = headers,
                           .header_count = 2, .body = body.data, .body_length = body.length,
                           .body_fd = -1, .sign_body = 1};
    struct sp_http_response response;
    enum stor_status status = s3_request(plugin, &call, &response, NULL, err);
    free(body.data);
    if (status != STOR_OK)
        return status;
    struct s3_delete_error *errors;
    size_t error_count;
    char why[S3_WHY_MAX];
    if (s3_wire_delete_errors(response.body, response.body_length, &errors, &error_count,
                              why) != 0) {
        sp_http_response_free(&response);
        return stor_fail(err, STOR_EINTERNAL, "S3 DeleteObjects %s: the answer is not a "
                         "DeleteResult (%s): which names were deleted is unknown", bucket, why);
    }
    sp_http_response_free(&response);
    enum stor_status first = STOR_OK;
    for (size_t e = 0; e < error_count; e++) {
        size_t i = 0;
        while (i < count && (told[i] || strcmp(keys[i], errors[e].key) != 0))
            i++;
        if (i == count) { /* a key not asked for, or told of already: not believed */
            sp_log(plugin->host, STOR_LOG_WARN,
                   "S3 DeleteObjects %s: an error for a name not asked "
                   "for (or twice): ignored", bucket);
            continue;
        }
        char message[512];
        snprintf(message, sizeof message, "S3 DeleteObjects %s/%s: %s%s%s", bucket, keys[i],
                 errors[e].code[0] ? errors[e].code : "an error", errors[e].message[0] ? ": " : "",
                 errors[e].message);
        enum stor_status key = key_status(errors[e].code);
        told[i] = 1;
        on_removed(context, i, key, message);
        if (first == STOR_OK) {
            first = key;
            stor_fail(err, key, "%s", message);
        }
    }
    for (size_t i = 0; i < count; i++)
        if (!told[i]) {
            told[i] = 1;
            on_removed(context, i, STOR_OK, NULL);
        }
    s3_delete_errors_free(errors, error_count);
    return first;
}

struct shifted {
    stor_removed_fn on_removed;
    void *context;
    size_t base;
};

static void shift_index(void *context, size_t index, enum stor_status status, const char *message)
{
    struct shifted *s = context;
    s->on_removed(s->context, s->base + index, status, message);
}

enum stor_status s3_remove_many(void *instance, const char *bucket, const char *const *keys,
                                size_t count, stor_removed_fn on_removed, void *context,
                                struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    enum stor_status result = STOR_OK;
    unsigned char told[S3_DELETE_BATCH];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < S3_DELETE_BATCH ? count - done : S3_DELETE_BATCH;
        struct shifted shifted = {on_removed, context, done};
        struct stor_error batch_err = {""};
        memset(told, 0, n);
        enum stor_status status = delete_batch(plugin, bucket, keys + done, n, shift_index,
                                               &shifted, told, &batch_err);
        for (size_t i = 0; i < n; i++)
            if (!told[i]) /* the whole request failed: each of its keys stays, saying why */
                on_removed(context, done + i, status, batch_err.message);
        if (status != STOR_OK && result == STOR_OK) {
            result = status;
            if (err)
                *err = batch_err;
        }
        done += n;
        if (sp_cancelled(plugin->host) && done < count) {
            for (size_t i = done; i < count; i++)
                on_removed(context, i, STOR_ECANCELLED, "cancelled");
            return stor_fail(err, STOR_ECANCELLED, "cancelled");
        }
    }
    return result;
}
