/* plugins/b2/call.c — one call to B2 and its failure: every exchange counted, failure
 * classification (reference §2.3), user-facing messages, backoff with jitter, the retrying JSON
 * call with a given token. Below auth.c: re-authorizing is authorized.c's, above it. */
#include "call.h"

#include "instance.h"
#include "sp_host.h"
#include "sp_http.h"
#include "wire.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Cuts one secret out of text, also where text ends partway through it. */
static void mask_secret(char *text, const char *secret)
{
    size_t secret_length = secret ? strlen(secret) : 0;
    if (secret_length < 8)
        return;
    static const char mask[] = "<token>";
    char *found;
    while ((found = strstr(text, secret)) != NULL) {
        memmove(found + sizeof mask - 1, found + secret_length, strlen(found + secret_length) + 1);
        memcpy(found, mask, sizeof mask - 1);
    }
    /* A field cut short mid-secret ends with the secret's first bytes: mask those too. */
    size_t length = strlen(text);
    for (size_t cut = secret_length - 1; cut >= 8; cut--)
        if (length >= cut && memcmp(text + length - cut, secret, cut) == 0) {
            memcpy(text + length - cut, mask, sizeof mask);
            break;
        }
}

/* B2's words go into one-line messages the host prints: no control bytes, no secrets. */
static void sanitize(char *text, const struct b2_config *config, const char *token)
{
    for (char *c = text; *c; c++)
        if ((unsigned char)*c < 32 || *c == 127)
            *c = ' ';
    mask_secret(text, token);
    if (config) {
        mask_secret(text, config->key);
        mask_secret(text, config->key_basic);
        mask_secret(text, config->sse_c_key_b64);
        mask_secret(text, config->sse_c_key_md5);
    }
}

static int64_t parse_retry_after(const char *value)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (!isdigit((unsigned char)*value))
        return -1; /* an HTTP date or garbage: fall back to our own backoff */
    char *end;
    long long seconds = strtoll(value, &end, 10);
    while (*end == ' ')
        end++;
    if (*end != '\0' || seconds < 0)
        return -1;
    if (seconds > 24 * 3600)
        seconds = 24 * 3600;
    return seconds * 1000;
}

void b2_failure_from_response(const struct sp_http_response *response,
                              const struct b2_config *config, const char *token,
                              struct b2_failure *failure)
{
    memset(failure, 0, sizeof *failure);
    failure->outcome = response->outcome;
    failure->http_status = response->status;
    failure->retry_after_ms = -1;
    switch (response->outcome) {
    case SP_HTTP_COMPLETE:
        break;
    case SP_HTTP_CANCELLED:
        failure->kind = B2_FAILURE_CANCELLED;
        snprintf(failure->message, sizeof failure->message, "cancelled");
        return;
    case SP_HTTP_CONNECT:
    case SP_HTTP_BROKEN:
    case SP_HTTP_TIMEOUT:
        failure->kind = B2_FAILURE_TRANSIENT;
        snprintf(failure->message, sizeof failure->message, "%s", response->error);
        sanitize(failure->message, config, token);
        return;
    case SP_HTTP_LOCAL:
    case SP_HTTP_FAILED:
        failure->kind = B2_FAILURE_FATAL;
        snprintf(failure->message, sizeof failure->message, "%s", response->error);
        sanitize(failure->message, config, token);
        return;
    }
    long status = response->status;
    if (status >= 200 && status < 300)
        return;
    b2_wire_error(response->body, response->body_length, failure->code, sizeof failure->code,
                  failure->message, sizeof failure->message);
    failure->retry_after_ms = parse_retry_after(sp_http_header(response, "Retry-After"));
    /* Classify on B2's raw code (an enum, not a secret); only what will be printed is masked. */
    if (status == 401 && (!failure->code[0] || strcmp(failure->code, "bad_auth_token") == 0 ||
                          strcmp(failure->code, "expired_auth_token") == 0))
        failure->kind = B2_FAILURE_EXPIRED;
    else if (status == 408 || status == 429 || status >= 500)
        failure->kind = B2_FAILURE_TRANSIENT;
    else
        failure->kind = B2_FAILURE_FATAL;
    /* B2's codes are lower-case words with '_' (callers compare them: auth_token_limit...);
     * anything else in the field could carry what the server echoed, so it is masked. */
    if (strspn(failure->code, "abcdefghijklmnopqrstuvwxyz_") != strlen(failure->code))
        sanitize(failure->code, config, token);
    sanitize(failure->message, config, token);
}

void b2_note_unreachable(struct b2_plugin *plugin, const char *call,
                         const struct b2_failure *failure)
{
    if (failure->outcome != SP_HTTP_CONNECT ||
        __atomic_exchange_n(&plugin->said_unreachable, 1, __ATOMIC_RELAXED))
        return;
    /* For a person at a terminal; a script's stderr keeps its one error line (-v shows it). */
    sp_log(plugin->host, isatty(STDERR_FILENO) ? STOR_LOG_WARN : STOR_LOG_INFO,
           "%s: cannot reach B2 (%s); trying again for up to %lld s or %d tries "
           "(-o retry_time=S, -o retries=N)", call, failure->message,
           (long long)(plugin->config.retry_time_ms / 1000), plugin->config.retries);
}

void b2_failure_describe(const struct b2_failure *failure, char *text, size_t size)
{
    if (failure->outcome != SP_HTTP_COMPLETE)
        snprintf(text, size, "%s", failure->message);
    else
        snprintf(text, size, "HTTP %ld%s%s%s%s", failure->http_status, failure->code[0] ? " " : "",
                 failure->code, failure->message[0] ? ": " : "", failure->message);
}

enum stor_status b2_failure_report(struct stor_error *err, const char *call,
                                   const struct b2_failure *failure, const char *capability,
                                   int key_has_capability)
{
    char detail[400];
    b2_failure_describe(failure, detail, sizeof detail);
    const char *code = failure->code;
    switch (failure->kind) {
    case B2_FAILURE_NONE:
        return STOR_OK;
    case B2_FAILURE_CANCELLED:
        return stor_fail(err, STOR_ECANCELLED, "%s: cancelled", call);
    case B2_FAILURE_TRANSIENT:
        return stor_fail(err, STOR_ETRANSIENT, "%s: B2 is unavailable (%s)", call, detail);
    case B2_FAILURE_EXPIRED:
        return stor_fail(err, STOR_EAUTH, "%s: B2 refused a fresh authorization token (%s)", call,
                         detail);
    case B2_FAILURE_FATAL:
        break;
    }
    if (failure->outcome == SP_HTTP_LOCAL)
        return stor_fail(err, STOR_EIO, "%s: %s", call, detail);
    if (failure->outcome != SP_HTTP_COMPLETE)
        return stor_fail(err, STOR_EIO, "%s: request failed: %s", call, detail);
    const char *said = failure->message[0] ? failure->message : "no message";
    if (strcmp(code, "unauthorized") == 0) {
        if (capability && key_has_capability == 1)
            return stor_fail(err, STOR_EAUTH,
                             "%s: the application key is not allowed this bucket or name "
                             "(it is restricted; B2 says: %s)", call, said);
        if (capability)
            return stor_fail(err, STOR_EAUTH,
                             "%s: the application key lacks the %s capability (B2 says: %s)",
                             call, capability, said);
        return stor_fail(err, STOR_EAUTH, "%s: the application key is not allowed this (B2 says: %s)",
                         call, said);
    }
    if (strcmp(code, "bad_bucket_id") == 0 || strcmp(code, "invalid_bucket_id") == 0)
        return stor_fail(err, STOR_ENOTFOUND, "%s: no such bucket (B2 says: %s)", call, said);
    if (failure->http_status == 404 || strcmp(code, "not_found") == 0 ||
        strcmp(code, "no_such_file") == 0 || strcmp(code, "file_not_present") == 0)
        return stor_fail(err, STOR_ENOTFOUND, "%s: not found (B2 says: %s)", call, said);
    if (strcmp(code, "storage_cap_exceeded") == 0 || strcmp(code, "cap_exceeded") == 0)
        return stor_fail(err, STOR_EIO,
                         "%s: the account's storage cap is reached; its owner can raise it in the "
                         "B2 web console (B2 says: %s)", call, said);
    if (strstr(code, "cap_exceeded"))
        return stor_fail(err, STOR_EIO,
                         "%s: the account's %.*s cap is reached; its owner can raise it in the B2 "
                         "web console (B2 says: %s)", call, (int)(strstr(code, "_cap") - code), code,
                         said);
    if (strcmp(code, "access_denied") == 0)
        return stor_fail(err, STOR_EAUTH, "%s: access denied (B2 says: %s)", call, said);
    if (strcmp(code, "bad_request") == 0)
        return stor_fail(err, STOR_EINVAL, "%s: B2 rejected the request: %s", call, said);
    if (failure->http_status == 401)
        return stor_fail(err, STOR_EAUTH, "%s: authorization refused (%s)", call, detail);
    return stor_fail(err, STOR_EIO, "%s: B2 answered %s", call, detail);
}

static int cancelled_now(void *context, uint64_t sent, uint64_t received)
{
    (void)sent;
    (void)received;
    const struct b2_plugin *plugin = context;
    return sp_cancelled(plugin->host);
}

void b2_perform(struct b2_plugin *plugin, const char *transaction_class,
                const struct sp_http_request *request, struct sp_http_response *response)
{
    sp_count(plugin->host, "requests", 1);
    sp_count(plugin->host, transaction_class, 1);
    /* Every exchange watches the user's Ctrl-C, JSON calls as much as transfers (those bring
     * their own progress callback, which polls it too). */
    struct sp_http_request watched = *request;
    if (!watched.progress) {
        watched.progress = cancelled_now;
        watched.progress_context = plugin;
    }
    plugin->http->perform(plugin->http, &watched, response);
}

/* B2 bills calls in three classes (reference §13); the host can show what a run cost. */
static const char *transaction_class(const char *call)
{
    return strncmp(call, "b2_list_", 8) == 0 || strcmp(call, "b2_authorize_account") == 0
               ? "class_c"
               : "class_a";
}

void b2_backoff_start(struct b2_plugin *plugin, struct b2_backoff *backoff)
{
    backoff->next_wait_ms = B2_BACKOFF_FIRST_MS;
    backoff->deadline_ms = sp_clock_now(&plugin->clock) + plugin->config.retry_time_ms;
    backoff->tries = 0;
}

int b2_sleep(struct b2_plugin *plugin, int64_t ms)
{
    /* Short slices so Ctrl-C is noticed within a quarter second even in a 64 s wait. */
    while (ms > 0) {
        if (sp_cancelled(plugin->host))
            return -1;
        int64_t slice = ms < 250 ? ms : 250;
        plugin->clock.sleep_ms(plugin->clock.context, slice);
        ms -= slice;
    }
    return sp_cancelled(plugin->host) ? -1 : 0;
}

int b2_backoff_wait(struct b2_plugin *plugin, struct b2_backoff *backoff, int64_t retry_after_ms)
{
    backoff->tries++;
    if (backoff->tries >= plugin->config.retries)
        return -1;
    int64_t wait;
    if (retry_after_ms >= 0) {
        wait = retry_after_ms;
        backoff->next_wait_ms = B2_BACKOFF_FIRST_MS;
    } else {
        int64_t base = backoff->next_wait_ms;
        wait = base + (int64_t)(plugin->clock.random(plugin->clock.context) % (uint32_t)(base / 4 + 1));
        backoff->next_wait_ms = base * 2 > B2_BACKOFF_CAP_MS ? B2_BACKOFF_CAP_MS : base * 2;
    }
    if (sp_clock_now(&plugin->clock) + wait > backoff->deadline_ms)
        return -1;
    sp_log(plugin->host, STOR_LOG_INFO, "retrying in %.1f s", (double)wait / 1000);
    if (b2_sleep(plugin, wait) != 0)
        return -2;
    sp_count(plugin->host, "retries", 1);
    return 0;
}

/* A JSON body handed to the transport as a stream. libcurl silently sends an in-memory body again
 * when a reused connection dies before any answer; a stream it cannot rewind, so it fails
 * instead, and a call that is not idempotent gets looked after rather than done twice. */
struct memory_reader {
    const char *data;
    size_t length, position;
};

static ssize_t read_memory(void *context, char *buffer, size_t size)
{
    struct memory_reader *reader = context;
    size_t left = reader->length - reader->position;
    size_t count = left < size ? left : size;
    memcpy(buffer, reader->data + reader->position, count);
    reader->position += count;
    return (ssize_t)count;
}

int b2_answer_lost(const struct b2_failure *failure)
{
    return failure->outcome == SP_HTTP_TIMEOUT || failure->outcome == SP_HTTP_BROKEN;
}

static int keep_going(void *context, uint64_t sent, uint64_t received)
{
    (void)context;
    (void)sent;
    (void)received;
    return 0;
}

enum b2_call_end b2_call_json(struct b2_plugin *plugin, struct b2_json_call *json_call,
                              const struct b2_call_token *token, int token_replaceable,
                              json_object **response, struct b2_failure *failure,
                              enum stor_status *status, struct stor_error *err)
{
    const char *call = json_call->call, *body = json_call->body;
    const struct b2_done_check *check = json_call->check;
    int after_cancel = json_call->after_cancel, unreachable = 0;
    for (;;) {
        if (sp_cancelled(plugin->host) && !after_cancel) {
            *status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", call);
            return B2_CALL_DONE;
        }
        char *url = NULL, *authorization = NULL;
        if (asprintf(&url, "%s/b2api/v2/%s", token->api_url, call) < 0)
            url = NULL;
        if (asprintf(&authorization, "Authorization: %s", token->token) < 0)
            authorization = NULL;
        if (!url || !authorization) {
            free(url);
            free(authorization);
            *status = stor_fail(err, STOR_EINTERNAL, "%s: out of memory", call);
            return B2_CALL_DONE;
        }
        const char *headers[] = {authorization, "Content-Type: application/json"};
        struct sp_http_request http_request = {
            .method = "POST", .url = url, .headers = headers, .header_count = 2,
            .body = body, .body_length = strlen(body),
            .progress = after_cancel ? keep_going : NULL};
        struct memory_reader reader = {body, strlen(body), 0};
        if (check) {
            http_request.body = NULL;
            http_request.read_body = read_memory;
            http_request.read_context = &reader;
            http_request.content_length = (int64_t)reader.length;
        }
        struct sp_http_response http_response;
        sp_log(plugin->host, STOR_LOG_TRACE, "POST %s", url);
        b2_perform(plugin, transaction_class(call), &http_request, &http_response);
        free(url);
        free(authorization);
        b2_failure_from_response(&http_response, &plugin->config, token->token, failure);
        if (failure->kind == B2_FAILURE_NONE) {
            char why[B2_WHY_MAX];
            *response = b2_wire_parse(http_response.body, http_response.body_length, why);
            sp_http_response_free(&http_response);
            *status = *response ? STOR_OK
                                : stor_fail(err, STOR_EINTERNAL, "%s: B2's answer is malformed: %s",
                                            call, why);
            return B2_CALL_DONE;
        }
        sp_http_response_free(&http_response);
        /* A cached apiUrl that cannot be reached twice running may be one B2 moved the account
         * from: the caller authorizes again (the token is good for 24 h, the host perhaps not). */
        unreachable = failure->outcome == SP_HTTP_CONNECT ? unreachable + 1 : 0;
        if (unreachable == 2 && token->from_cache && token_replaceable)
            return B2_CALL_API_URL_UNREACHABLE;
        if (failure->kind == B2_FAILURE_EXPIRED && token_replaceable)
            return B2_CALL_TOKEN_REFUSED;
        if (failure->kind == B2_FAILURE_TRANSIENT) {
            char detail[400];
            b2_failure_describe(failure, detail, sizeof detail);
            sp_log(plugin->host, STOR_LOG_INFO, "%s: %s", call, detail);
            b2_note_unreachable(plugin, call, failure);
            struct b2_backoff *backoff = &json_call->backoff;
            int waited = b2_backoff_wait(plugin, backoff, failure->retry_after_ms);
            if (waited == 0 && check && b2_answer_lost(failure) &&
                check->done(plugin, check->context, response)) {
                sp_log(plugin->host, STOR_LOG_INFO,
                       "%s: B2 did it although its answer was lost; not asking again", call);
                *status = STOR_OK;
                return B2_CALL_DONE;
            }
            if (waited == 0)
                continue;
            if (waited == -2)
                *status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", call);
            else
                *status = stor_fail(err, STOR_ETRANSIENT, "%s failed %d time%s; last error: %s",
                                    call, backoff->tries, backoff->tries == 1 ? "" : "s", detail);
            return B2_CALL_DONE;
        }
        return B2_CALL_REFUSED;
    }
}
