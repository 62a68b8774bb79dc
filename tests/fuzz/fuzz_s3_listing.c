/* tests/fuzz/fuzz_s3_listing.c — the S3 plugin's listing call path (plugins/s3/pages.c, list.c)
 * behind a scripted HTTP seam: the first byte picks the flags (recursive, versions), the rest is
 * pages separated by NUL bytes, answered in turn (then 404). Beyond no crash, leak or UB: every
 * object reported is under the prefix, in byte order of key, and the listing ends (a server
 * repeating itself is refused, never followed forever). */
#include "fuzz.h"

#include "operations.h"
#include "plugin.h"
#include "sp_http.h"

#include <stdio.h>

struct script {
    struct sp_http base;
    const char *data;
    size_t size, offset;
    unsigned requests;
};

static enum sp_http_outcome perform(struct sp_http *http, const struct sp_http_request *request,
                                    struct sp_http_response *response)
{
    struct script *s = (struct script *)http;
    memset(response, 0, sizeof *response);
    if (++s->requests > 10000)
        abort(); /* a listing that never ends */
    response->outcome = SP_HTTP_COMPLETE;
    if (s->offset > s->size) {
        response->status = 404;
        response->body = strdup("<Error><Code>NoSuchBucket</Code></Error>");
    } else {
        const char *page = s->data + s->offset;
        const char *end = memchr(page, '\0', s->size - s->offset);
        size_t length = end ? (size_t)(end - page) : s->size - s->offset;
        s->offset += length + 1;
        response->status = 200;
        response->body = malloc(length + 1);
        if (response->body) {
            memcpy(response->body, page, length);
            response->body[length] = '\0';
        }
    }
    if (!response->body)
        abort();
    response->body_length = strlen(response->body);
    (void)request;
    return SP_HTTP_COMPLETE;
}

static void destroy(struct sp_http *http)
{
    (void)http;
}

static int64_t now(void *context)
{
    (void)context;
    return 1765000000000LL;
}

static void nap(void *context, int64_t ms)
{
    (void)context;
    (void)ms;
}

static uint32_t random_number(void *context)
{
    (void)context;
    return 4;
}

struct seen {
    char last[2048];
    int any;
};

static int on_object(void *context, const struct stor_object *object)
{
    struct seen *seen = context;
    if (!object->key || strncmp(object->key, "p/", 2) != 0)
        abort(); /* outside the prefix asked for */
    if (seen->any && strcmp(object->key, seen->last) < 0)
        abort(); /* out of order */
    snprintf(seen->last, sizeof seen->last, "%s", object->key);
    seen->any = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fuzz/secret", 1);
    struct stor_option options[] = {{"endpoint", "http://127.0.0.1:9"}, {"retries", "1"},
                                    {"list_metadata", "no"}};
    struct sp_clock clock = {now, nap, random_number, NULL};
    struct s3_plugin *plugin = NULL;
    struct stor_error err = {""};
    if (s3_plugin_create(NULL, options, 3, clock, &plugin, &err) != STOR_OK)
        abort();
    struct script script = {{perform, destroy}, (const char *)data + 1, size - 1, 0, 0};
    plugin->http = &script.base;
    unsigned flags = (data[0] & 1 ? STOR_LIST_RECURSIVE : 0) | (data[0] & 2 ? STOR_LIST_VERSIONS : 0);
    struct seen seen = {"", 0};
    s3_list(plugin, "bkt", "p/", flags, on_object, &seen, &err);
    if (strnlen(err.message, sizeof err.message) >= sizeof err.message)
        abort();
    plugin->http = NULL;
    s3_plugin_destroy(plugin);
    return 0;
}
