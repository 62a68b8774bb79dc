/* s3_fake.c — the scripted HTTP seam and still clock of s3_fake.h. */
#include "s3_fake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static enum sp_http_outcome fake_perform(struct sp_http *http, const struct sp_http_request *request,
                                         struct sp_http_response *response)
{
    struct s3_fake *fake = (struct s3_fake *)http;
    memset(response, 0, sizeof *response);
    if (fake->seen_count < S3_FAKE_MAX) {
        struct s3_fake_seen *seen = &fake->seen[fake->seen_count++];
        snprintf(seen->method, sizeof seen->method, "%s", request->method);
        snprintf(seen->url, sizeof seen->url, "%s", request->url);
        size_t used = 0;
        seen->headers[0] = '\0';
        for (size_t i = 0; i < request->header_count && used < sizeof seen->headers; i++)
            used += (size_t)snprintf(seen->headers + used, sizeof seen->headers - used, "%s\n",
                                     request->headers[i]);
        free(seen->body);
        seen->body = NULL;
        seen->body_length = 0;
        if (request->body) {
            seen->body = malloc(request->body_length + 1);
            memcpy(seen->body, request->body, request->body_length);
            seen->body[request->body_length] = '\0';
            seen->body_length = request->body_length;
        } else if (request->read_body) {
            seen->body = malloc((size_t)request->content_length + 1);
            size_t have = 0;
            while (have < (size_t)request->content_length) {
                ssize_t got = request->read_body(request->read_context, seen->body + have,
                                                 (size_t)request->content_length - have);
                if (got <= 0)
                    break;
                have += (size_t)got;
            }
            seen->body[have] = '\0';
            seen->body_length = have;
        }
    }
    if (fake->next >= fake->answer_count) {
        fail_msg("unscripted request %s %s", request->method, request->url);
        return response->outcome = SP_HTTP_FAILED;
    }
    const struct s3_fake_answer *answer = &fake->answers[fake->next++];
    if (answer->outcome != SP_HTTP_COMPLETE) {
        snprintf(response->error, sizeof response->error, "scripted transport failure");
        return response->outcome = answer->outcome;
    }
    response->status = answer->status;
    for (const char *line = answer->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        const char *colon = memchr(line, ':', length);
        if (colon) {
            const char *value = colon + 1;
            while (*value == ' ')
                value++;
            sp_http_response_add_header(response, line, (size_t)(colon - line), value,
                                        length - (size_t)(value - line));
        }
        line = end ? end + 1 : line + length;
    }
    const char *body = answer->body ? answer->body : "";
    if (answer->status >= 200 && answer->status < 300 && request->write_body) {
        /* In pieces, as libcurl streams a body: small ones, so a sink gathers several. */
        for (size_t done = 0, length = strlen(body); done < length;) {
            size_t piece = length - done < 100 ? length - done : 100;
            if (request->write_body(request->write_context, body + done, piece) != 0)
                return response->outcome = SP_HTTP_LOCAL;
            done += piece;
        }
    } else {
        response->body = strdup(body);
        response->body_length = strlen(body);
    }
    return response->outcome = SP_HTTP_COMPLETE;
}

static void fake_destroy(struct sp_http *http)
{
    (void)http; /* freed by s3_fake_free */
}

static int64_t fake_now(void *context)
{
    return ((struct s3_fake *)context)->now_ms;
}

static void fake_sleep(void *context, int64_t ms)
{
    struct s3_fake *fake = context;
    fake->slept_ms += ms;
    fake->now_ms += ms;
}

static uint32_t fake_random(void *context)
{
    (void)context;
    return 12345;
}

struct s3_plugin *s3_fake_plugin(struct s3_fake **result, const char *const *options)
{
    struct s3_fake *fake = calloc(1, sizeof *fake);
    assert_non_null(fake);
    fake->base.perform = fake_perform;
    fake->base.destroy = fake_destroy;
    fake->now_ms = 1765000000000LL;
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake/secret", 1);
    struct stor_option list[32];
    char copies[32][256];
    size_t count = 0;
    for (size_t i = 0; options && options[i] && count < 32; i++, count++) {
        snprintf(copies[count], sizeof copies[count], "%s", options[i]);
        char *equals = strchr(copies[count], '=');
        assert_non_null(equals);
        *equals = '\0';
        list[count] = (struct stor_option){copies[count], equals + 1};
    }
    struct sp_clock clock = {fake_now, fake_sleep, fake_random, fake};
    struct s3_plugin *plugin = NULL;
    struct stor_error err = {""};
    enum stor_status status = s3_plugin_create(NULL, list, count, clock, &plugin, &err);
    if (status != STOR_OK)
        fail_msg("s3_plugin_create: %s", err.message);
    plugin->http = &fake->base;
    *result = fake;
    return plugin;
}

void s3_fake_free(struct s3_plugin *plugin, struct s3_fake *fake)
{
    s3_plugin_destroy(plugin);
    for (size_t i = 0; i < S3_FAKE_MAX; i++)
        free(fake->seen[i].body);
    free(fake);
}

void s3_fake_answer(struct s3_fake *fake, long status, const char *headers, const char *body)
{
    assert_true(fake->answer_count < S3_FAKE_MAX);
    fake->answers[fake->answer_count++] = (struct s3_fake_answer){SP_HTTP_COMPLETE, status, headers, body};
}

void s3_fake_fail(struct s3_fake *fake, enum sp_http_outcome outcome)
{
    assert_true(fake->answer_count < S3_FAKE_MAX);
    fake->answers[fake->answer_count++] = (struct s3_fake_answer){outcome, 0, NULL, NULL};
}
