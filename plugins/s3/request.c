/* plugins/s3/request.c — one signed S3 call and its failure (request.h): URL and signature,
 * the exchange counted and watched for Ctrl-C, S3's <Error> classified, backoff with jitter. */
#include "request.h"

#include "sp_host.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S3_BACKOFF_FIRST_MS 200
#define S3_BACKOFF_MAX_MS 20000
#define S3_MAX_HEADERS 48

static char *join(const char *a, const char *b, const char *c, const char *d)
{
    char *out = NULL;
    return asprintf(&out, "%s%s%s%s", a, b ? b : "", c ? c : "", d ? d : "") < 0 ? NULL : out;
}

char *s3_request_url(const struct s3_plugin *plugin, const char *bucket, const char *key,
                     char **host, char **path)
{
    const struct s3_config *config = &plugin->config;
    *host = NULL;
    *path = NULL;
    if (!bucket)
        *path = join(config->base_path, "/", NULL, NULL);
    else if (config->path_style)
        *path = join(config->base_path, "/", bucket, key ? "/" : NULL);
    else
        *path = join(config->base_path, "/", NULL, NULL);
    if (*path && key) {
        char *whole = join(*path, key, NULL, NULL);
        free(*path);
        *path = whole;
    }
    *host = bucket && !config->path_style ? join(bucket, ".", config->host, NULL)
                                          : strdup(config->host);
    char *escaped = *path ? s3_sigv4_escape(*path, strlen(*path), true) : NULL;
    const char *scheme = strncmp(config->endpoint, "https://", 8) == 0 ? "https://" : "http://";
    char *url = escaped && *host ? join(scheme, *host, escaped, NULL) : NULL;
    free(escaped);
    if (!url) {
        free(*host);
        free(*path);
        *host = *path = NULL;
    }
    return url;
}

void s3_request_scope(const struct s3_plugin *plugin, char date[17], struct s3_sigv4_scope *scope)
{
    time_t now = (time_t)(sp_clock_now(&plugin->clock) / 1000);
    if (!s3_sigv4_format_date(now, date))
        snprintf(date, 17, "19700101T000000Z");
    *scope = (struct s3_sigv4_scope){.amz_date = date, .region = plugin->config.region,
                                     .service = "s3"};
}

struct file_body {
    int fd;
    int64_t offset, remaining;
};

static ssize_t read_file_body(void *context, char *buffer, size_t size)
{
    struct file_body *body = context;
    if (body->remaining <= 0)
        return 0;
    size_t want = (int64_t)size < body->remaining ? size : (size_t)body->remaining;
    ssize_t got;
    do
        got = pread(body->fd, buffer, want, body->offset);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return -1; /* a read error, or the file shrank under us */
    body->offset += got;
    body->remaining -= got;
    return got;
}

struct progress {
    struct s3_plugin *plugin;
    const struct s3_call *call;
};

static int on_progress(void *context, uint64_t sent, uint64_t received)
{
    struct progress *progress = context;
    if (sp_cancelled(progress->plugin->host))
        return 1;
    if (progress->call->progress_key)
        sp_progress(progress->plugin->host, progress->call->progress_key,
                    progress->call->write_body ? received : sent,
                    (uint64_t)(progress->call->progress_total > 0 ? progress->call->progress_total : 0));
    return 0;
}

/* Whether S3 asks to be asked again: throttling, its own failures, a request it gave up on. */
static int retryable(long status, const char *code)
{
    static const char *const codes[] = {"SlowDown", "RequestTimeout", "InternalError",
                                        "ServiceUnavailable", "Throttling", "ThrottlingException",
                                        "RequestThrottled", "TooManyRequests",
                                        "RequestLimitExceeded", "BandwidthLimitExceeded",
                                        "OperationAborted"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    /* 501 Not Implemented and 505 are the server's final word, not a passing state. */
    return status == 429 || (status >= 500 && status != 501 && status != 505 &&
                             strcmp(code, "NotImplemented") != 0);
}

static const char *hint(const char *code)
{
    if (strcmp(code, "SignatureDoesNotMatch") == 0)
        return " (check the secret access key)";
    if (strcmp(code, "InvalidAccessKeyId") == 0)
        return " (check the access key id)";
    if (strcmp(code, "RequestTimeTooSkewed") == 0)
        return " (this machine's clock is off: set it right)";
    if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0)
        return " (the session token expired: get new credentials)";
    return "";
}

static enum stor_status status_of(long http_status, const char *code)
{
    if (strcmp(code, "NoSuchKey") == 0 || strcmp(code, "NoSuchBucket") == 0 ||
        strcmp(code, "NoSuchUpload") == 0 || strcmp(code, "NoSuchVersion") == 0 || http_status == 404)
        return STOR_ENOTFOUND;
    if (http_status == 401 || http_status == 403)
        return STOR_EAUTH;
    if (strcmp(code, "NotImplemented") == 0 || http_status == 501)
        return STOR_EUNSUPPORTED;
    if (strcmp(code, "PreconditionFailed") == 0 || http_status == 412)
        return STOR_ESTALE;
    if (strcmp(code, "BadDigest") == 0 || strcmp(code, "XAmzContentSHA256Mismatch") == 0 ||
        strcmp(code, "IncompleteBody") == 0)
        return STOR_EIO;
    if (http_status >= 400 && http_status < 500)
        return STOR_EINVAL;
    return STOR_EIO;
}

static const char *status_code_name(long status)
{
    switch (status) {
    case 301: return "PermanentRedirect";
    case 307: return "TemporaryRedirect";
    case 400: return "BadRequest";
    case 403: return "AccessDenied";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    default: return "";
    }
}

static int header_lines(const struct s3_call *call, const char *host, const struct s3_sigv4_signed *sig,
                        const char *content_md5_unused, char **lines, size_t *count)
{
    (void)content_md5_unused;
    *count = 0;
    if (sp_http_add_header_line(lines, count, S3_MAX_HEADERS, "Host: %s", host) ||
        sp_http_add_header_line(lines, count, S3_MAX_HEADERS, "x-amz-date: %s", sig->amz_date) ||
        sp_http_add_header_line(lines, count, S3_MAX_HEADERS, "x-amz-content-sha256: %s",
                                sig->content_sha256) ||
        sp_http_add_header_line(lines, count, S3_MAX_HEADERS, "Authorization: %s", sig->authorization) ||
        (sig->session_token && sp_http_add_header_line(lines, count, S3_MAX_HEADERS,
                                                       "x-amz-security-token: %s", sig->session_token)))
        return -1;
    for (size_t i = 0; i < call->header_count; i++)
        if (sp_http_add_header_line(lines, count, S3_MAX_HEADERS, "%s: %s", call->headers[i].name,
                                    call->headers[i].value))
            return -1;
    /* libcurl's own "Expect: 100-continue" would wait a second for servers that ignore it. */
    return sp_http_add_header_line(lines, count, S3_MAX_HEADERS, "Expect:");
}

static char *query_of(const struct s3_call *call)
{
    char *query = strdup("");
    for (size_t i = 0; query && i < call->param_count; i++) {
        const struct s3_sigv4_param *param = &call->params[i];
        char *name = s3_sigv4_escape(param->name, strlen(param->name), false);
        char *value = param->value ? s3_sigv4_escape(param->value, strlen(param->value), false) : NULL;
        char *longer = NULL;
        if (name && (!param->value || value) &&
            asprintf(&longer, "%s%s%s%s%s", query, i ? "&" : "?", name, param->value ? "=" : "",
                     value ? value : "") < 0)
            longer = NULL;
        free(name);
        free(value);
        free(query);
        query = longer;
    }
    return query;
}

static enum stor_status describe_failure(struct s3_plugin *plugin, const struct s3_call *call,
                                         const struct sp_http_response *response,
                                         const struct s3_wire_error *error, struct stor_error *err)
{
    const char *what = call->key ? call->key : "";
    const char *bucket = call->bucket ? call->bucket : "";
    const char *code = error->code[0] ? error->code : status_code_name(response->status);
    const char *region = error->region[0] ? error->region
                         : sp_http_header(response, "x-amz-bucket-region");
    if (region && (strpbrk(region, "\r\n\t ") || strlen(region) > 40))
        region = NULL;
    int wrong_region = response->status == 301 || strcmp(code, "PermanentRedirect") == 0 ||
                       strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
                       strcmp(code, "IllegalLocationConstraintException") == 0;
    if (wrong_region && region && strcmp(region, plugin->config.region) != 0)
        return stor_fail(err, STOR_EINVAL, "bucket %s is in region %s: use -o region=%s",
                         bucket, region, region);
    if (wrong_region && response->status == 301)
        return stor_fail(err, STOR_EINVAL, "bucket %s is not in region %s%s%s: give its region "
                         "with -o region=REGION", bucket, plugin->config.region,
                         error->endpoint[0] ? "; S3 points to " : "", error->endpoint);
    enum stor_status status = status_of(response->status, code);
    if (strcmp(code, "NoSuchBucket") == 0)
        return stor_fail(err, status, "no such bucket: %s", bucket);
    if (strcmp(code, "NoSuchKey") == 0 || (status == STOR_ENOTFOUND && call->key &&
                                           (!error->code[0] || strcmp(code, "NotFound") == 0)))
        return stor_fail(err, status, "not found: %s/%s", bucket, what);
    return stor_fail(err, status, "S3 %s %s%s%s: %ld %s%s%s%s", call->operation, bucket,
                     call->key ? "/" : "", what, response->status, code,
                     error->message[0] ? ": " : "", error->message, hint(code));
}

enum stor_status s3_request(struct s3_plugin *plugin, const struct s3_call *call,
                            struct sp_http_response *response, struct s3_wire_error *error_out,
                            struct stor_error *err)
{
    memset(response, 0, sizeof *response);
    struct s3_wire_error scratch, *error = error_out ? error_out : &scratch;
    memset(error, 0, sizeof *error);
    char *host = NULL, *path = NULL;
    char *base_url = s3_request_url(plugin, call->bucket, call->key, &host, &path);
    char *query = base_url ? query_of(call) : NULL;
    char *url = query ? join(base_url, query, NULL, NULL) : NULL;
    free(base_url);
    free(query);
    if (!url) {
        free(host);
        free(path);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    struct s3_sigv4_header signed_headers[S3_MAX_HEADERS];
    size_t signed_count = 0;
    signed_headers[signed_count++] = (struct s3_sigv4_header){"host", host};
    for (size_t i = 0; i < call->header_count && signed_count < S3_MAX_HEADERS; i++)
        if (s3_sigv4_header_is_signed(call->headers[i].name))
            signed_headers[signed_count++] = call->headers[i];
    char payload_hash[65] = S3_SIGV4_UNSIGNED_PAYLOAD;
    int has_body = call->body || call->body_fd >= 0;
    if (!has_body)
        snprintf(payload_hash, sizeof payload_hash, "%s", S3_SIGV4_EMPTY_SHA256);
    else if (call->body && call->sign_body)
        s3_sigv4_sha256_hex(call->body, call->body_length, payload_hash);
    struct s3_sigv4_request to_sign = {
        .method = call->method, .path = path, .params = call->params,
        .param_count = call->param_count, .headers = signed_headers, .header_count = signed_count,
        .payload_hash = payload_hash};
    struct s3_sigv4_credentials credentials = {plugin->config.access_key, plugin->config.secret_key,
                                               plugin->config.session_token};
    enum stor_status status = STOR_ETRANSIENT;
    char last[300] = "";
    int tries = plugin->config.retries;
    for (int attempt = 1; attempt <= tries; attempt++) {
        if (sp_cancelled(plugin->host)) {
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
            break;
        }
        if (attempt > 1) {
            if (call->restart && call->restart(call->write_context) != 0)
                break; /* the last failure stands */
            int64_t cap = S3_BACKOFF_FIRST_MS << (attempt - 2 < 10 ? attempt - 2 : 10);
            if (cap > S3_BACKOFF_MAX_MS)
                cap = S3_BACKOFF_MAX_MS;
            const char *after = sp_http_header(response, "Retry-After");
            int64_t wait = cap / 2 + (int64_t)(plugin->clock.random(plugin->clock.context) % (uint32_t)(cap / 2 + 1));
            if (after && atoi(after) > 0 && atoi(after) <= 60)
                wait = (int64_t)atoi(after) * 1000;
            sp_log(plugin->host, STOR_LOG_INFO, "S3 %s: %s; trying again in %lld ms (%d of %d)",
                   call->operation, last, (long long)wait, attempt, tries);
            sp_count(plugin->host, "retries", 1);
            plugin->clock.sleep_ms(plugin->clock.context, wait);
        }
        sp_http_response_free(response);
        char date[17];
        struct s3_sigv4_scope scope;
        s3_request_scope(plugin, date, &scope);
        struct s3_sigv4_signed sig;
        char why[200];
        if (s3_sigv4_sign(&to_sign, &credentials, &scope, &sig, why, sizeof why) != S3_SIGV4_OK) {
            status = stor_fail(err, STOR_EINVAL, "S3 %s: cannot sign the request: %s",
                               call->operation, why);
            break;
        }
        char *lines[S3_MAX_HEADERS];
        size_t line_count = 0;
        if (header_lines(call, host, &sig, NULL, lines, &line_count) != 0) {
            sp_http_free_header_lines(lines, line_count);
            s3_sigv4_signed_free(&sig);
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        struct file_body file = {call->body_fd, call->body_offset, call->body_size};
        struct progress progress = {plugin, call};
        struct sp_http_request request = {
            .method = call->method, .url = url, .headers = (const char *const *)lines,
            .header_count = line_count, .body = call->body, .body_length = call->body_length,
            .read_body = call->body_fd >= 0 ? read_file_body : NULL, .read_context = &file,
            .content_length = call->body_fd >= 0 ? call->body_size : (int64_t)call->body_length,
            .write_body = call->write_body, .write_context = call->write_context,
            .receive_buffer = call->receive_buffer, .progress = on_progress, .progress_context = &progress};
        sp_count(plugin->host, "requests", 1);
        enum sp_http_outcome outcome = plugin->http->perform(plugin->http, &request, response);
        sp_http_free_header_lines(lines, line_count);
        s3_sigv4_signed_free(&sig);
        if (outcome == SP_HTTP_CANCELLED) {
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
            break;
        }
        if (outcome == SP_HTTP_LOCAL) {
            status = stor_fail(err, STOR_EIO, "S3 %s %s/%s: reading or writing the local file "
                               "failed", call->operation, call->bucket ? call->bucket : "",
                               call->key ? call->key : "");
            break;
        }
        if (outcome == SP_HTTP_FAILED) {
            status = stor_fail(err, STOR_EIO, "S3 %s: %s", call->operation, response->error);
            break;
        }
        if (outcome != SP_HTTP_COMPLETE) { /* connect, broken, timeout: S3 may say yes next time */
            snprintf(last, sizeof last, "%s", response->error);
            status = stor_fail(err, STOR_ETRANSIENT, "S3 %s %s%s%s: %s (after %d tries)",
                               call->operation, call->bucket ? call->bucket : "",
                               call->key ? "/" : "", call->key ? call->key : "", response->error,
                               attempt);
            continue;
        }
        if (response->status >= 200 && response->status < 300) {
            status = STOR_OK;
            break;
        }
        s3_wire_error(response->body, response->body_length, error);
        if (!error->code[0]) /* a HEAD has no body: the status names the code */
            snprintf(error->code, sizeof error->code, "%s", status_code_name(response->status));
        const char *code = error->code;
        if (retryable(response->status, code)) {
            snprintf(last, sizeof last, "%ld %s", response->status, code);
            status = stor_fail(err, STOR_ETRANSIENT, "S3 %s %s%s%s: %ld %s%s%s (after %d tries)",
                               call->operation, call->bucket ? call->bucket : "",
                               call->key ? "/" : "", call->key ? call->key : "", response->status,
                               code, error->message[0] ? ": " : "", error->message, attempt);
            continue;
        }
        status = describe_failure(plugin, call, response, error, err);
        break;
    }
    if (status != STOR_OK)
        sp_http_response_free(response);
    free(url);
    free(host);
    free(path);
    return status;
}
