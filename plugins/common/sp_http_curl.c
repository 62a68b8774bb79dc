/* plugins/common/sp_http_curl.c — the libcurl implementation of the HTTP seam (sp_http.h).
 * Idle easy handles are kept in a small stack so every thread reuses a warm keep-alive connection. */
#include "sp_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

/* When the plugin names no limit of its own (sp_http_options.max_memory_body). */
#define SP_HTTP_DEFAULT_MAX_MEMORY_BODY ((size_t)4 << 20)
/* A streamed body up to this size is read before the request and handed to libcurl with the
 * headers, which it then sends in one write (libcurl's MAX_INITIAL_POST_SIZE is 64 KiB). */
#define SP_HTTP_ONE_WRITE_BODY_MAX (60u << 10)
/* A streamed body of at least SP_CURL_SEND_BUFFER_FROM bytes (a large put, a part) is read and
 * sent SP_CURL_SEND_BUFFER at a time. */
#define SP_CURL_SEND_BUFFER (512L << 10)
#define SP_CURL_SEND_BUFFER_FROM ((int64_t)1 << 20)

/* Handles are pooled rather than kept per thread: the host's threads outlive this plugin (it may
 * be unloaded first), so thread-local destructors would call into unmapped code. */
struct sp_http_curl {
    struct sp_http base;
    struct sp_http_options options;
    char *user_agent;
    pthread_mutex_t lock;
    CURL **idle;
    size_t idle_count, idle_capacity;
};

struct transfer {
    const struct sp_http_request *request;
    struct sp_http_response *response;
    CURL *curl;
    size_t body_capacity;
    int local_failure;    /* the body reader or writer failed */
    int cancelled;
    int stalled;          /* no byte moved for idle_timeout_s */
    int attempts;         /* times libcurl was about to send the request */
    int resend_refused;   /* a dead kept-alive connection: libcurl wanted to send it again */
    long idle_timeout_s;
    size_t max_memory_body;
    curl_off_t last_bytes;
    struct timespec last_move;
    struct timespec started;
    int too_slow;         /* an answer kept in memory took longer than idle_timeout_s in all */
    int too_large;        /* an answer kept in memory passed max_memory_body */
    int wrong_status;     /* a 2xx other than request->write_status: ended before its body */
};

static CURL *take_handle(struct sp_http_curl *http)
{
    CURL *curl = NULL;
    pthread_mutex_lock(&http->lock);
    if (http->idle_count > 0)
        curl = http->idle[--http->idle_count];
    pthread_mutex_unlock(&http->lock);
    if (curl)
        curl_easy_reset(curl); /* options go, the live connection stays */
    else
        curl = curl_easy_init();
    return curl;
}

static void give_back_handle(struct sp_http_curl *http, CURL *curl)
{
    pthread_mutex_lock(&http->lock);
    if (http->idle_count == http->idle_capacity) {
        size_t capacity = http->idle_capacity ? http->idle_capacity * 2 : 8;
        CURL **grown = realloc(http->idle, capacity * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&http->lock);
            curl_easy_cleanup(curl);
            return;
        }
        http->idle = grown;
        http->idle_capacity = capacity;
    }
    http->idle[http->idle_count++] = curl;
    pthread_mutex_unlock(&http->lock);
}

static size_t on_header(char *data, size_t size, size_t count, void *context)
{
    struct transfer *transfer = context;
    size_t length = size * count;
    /* A new status line (after "100 Continue" or an interim response) starts a fresh header set. */
    if (length >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        sp_http_response_clear_headers(transfer->response);
        return length;
    }
    const char *colon = memchr(data, ':', length);
    if (!colon)
        return length;
    const char *value = colon + 1, *end = data + length;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (sp_http_response_add_header(transfer->response, data, (size_t)(colon - data), value,
                                    (size_t)(end - value)) != 0)
        return 0;
    return length;
}

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
    struct transfer *transfer = context;
    struct sp_http_response *response = transfer->response;
    size_t length = size * count;
    long status = 0;
    curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && transfer->request->write_body &&
        transfer->request->write_status && status != transfer->request->write_status) {
        transfer->wrong_status = 1; /* not one byte of it reaches the destination */
        return 0;
    }
    if (status >= 200 && status < 300 && transfer->request->write_body) {
        response->status = status; /* write_body may look at it (and at the headers) */
        if (transfer->request->write_body(transfer->request->write_context, data, length) != 0) {
            transfer->local_failure = 1;
            return 0;
        }
        return length;
    }
    if (response->body_length + length + 1 > transfer->body_capacity) {
        size_t capacity = transfer->body_capacity ? transfer->body_capacity : 4096;
        while (capacity < response->body_length + length + 1)
            capacity *= 2;
        if (capacity > transfer->max_memory_body) {
            transfer->too_large = 1;
            return 0;
        }
        char *grown = realloc(response->body, capacity);
        if (!grown)
            return 0;
        response->body = grown;
        transfer->body_capacity = capacity;
    }
    memcpy(response->body + response->body_length, data, length);
    response->body_length += length;
    response->body[response->body_length] = '\0';
    return length;
}

static size_t on_read(char *buffer, size_t size, size_t count, void *context)
{
    struct transfer *transfer = context;
    ssize_t got = transfer->request->read_body(transfer->request->read_context, buffer, size * count);
    if (got < 0) {
        transfer->local_failure = 1;
        return CURL_READFUNC_ABORT;
    }
    return (size_t)got;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* libcurl resends an in-memory body on a new connection, silently, when a kept-alive connection
 * turns out dead after sending. A streamed body could not be resent (CURLE_SEND_FAIL_REWIND): the
 * connection broke, and the plugin decides what comes next (a fresh upload target, a retry),
 * never libcurl. Read up front, a streamed body keeps that by refusing the second attempt. */
static int on_prerequest(void *context, char *remote_ip, char *local_ip, int remote_port,
                         int local_port)
{
    (void)remote_ip, (void)local_ip, (void)remote_port, (void)local_port;
    struct transfer *transfer = context;
    if (transfer->attempts++ == 0)
        return CURL_PREREQFUNC_OK;
    transfer->resend_refused = 1;
    return CURL_PREREQFUNC_ABORT;
}

/* A short streamed body, read whole into memory (malloc'd; NULL on failure). */
static char *read_whole_body(struct transfer *transfer)
{
    const struct sp_http_request *request = transfer->request;
    size_t length = (size_t)request->content_length;
    char *body = malloc(length > 0 ? length : 1);
    size_t have = 0;
    while (body && have < length) {
        ssize_t got = request->read_body(request->read_context, body + have, length - have);
        if (got <= 0) {
            free(body);
            return NULL;
        }
        have += (size_t)got;
    }
    return body;
}
#endif

static int on_progress(void *context, curl_off_t download_total, curl_off_t downloaded,
                       curl_off_t upload_total, curl_off_t uploaded)
{
    (void)download_total;
    (void)upload_total;
    struct transfer *transfer = context;
    const struct sp_http_request *request = transfer->request;
    /* Our own stall clock: libcurl's low-speed check averages over several seconds, so a silent
     * server would hold a transfer well past the timeout the user set. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double idle = (double)(now.tv_sec - transfer->last_move.tv_sec) +
                  (double)(now.tv_nsec - transfer->last_move.tv_nsec) / 1e9;
    if (uploaded + downloaded != transfer->last_bytes || !transfer->last_move.tv_sec) {
        transfer->last_bytes = uploaded + downloaded;
        transfer->last_move = now;
    } else if (idle >= (double)transfer->idle_timeout_s) {
        transfer->stalled = 1;
        return 1;
    }
    /* A trickle keeps the stall clock happy: an answer with no body sink (JSON or XML, small) must
     * arrive whole within the timeout, a byte every few seconds or not. */
    if (!transfer->started.tv_sec)
        transfer->started = now;
    double elapsed = (double)(now.tv_sec - transfer->started.tv_sec) +
                     (double)(now.tv_nsec - transfer->started.tv_nsec) / 1e9;
    if (!request->write_body && !request->read_body && elapsed >= (double)transfer->idle_timeout_s) {
        transfer->too_slow = 1;
        return 1;
    }
    if (request->progress &&
        request->progress(request->progress_context, (uint64_t)uploaded, (uint64_t)downloaded)) {
        transfer->cancelled = 1;
        return 1;
    }
    return 0;
}

/* Whether a trace line of length bytes starts with one of the plugin's secret header names. */
static int is_secret_header(const struct sp_http_curl *http, const char *line, size_t length)
{
    for (const char *const *name = http->options.secret_headers; name && *name; name++) {
        size_t name_length = strlen(*name);
        if (length > name_length && strncasecmp(line, *name, name_length) == 0)
            return 1;
    }
    return 0;
}

/* libcurl's verbose trace, with every credential line blanked before anyone can log it. */
static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *context)
{
    (void)curl;
    struct sp_http_curl *http = context;
    const char *prefix;
    switch (type) {
    case CURLINFO_TEXT: prefix = "* "; break;
    case CURLINFO_HEADER_OUT: prefix = "> "; break;
    case CURLINFO_HEADER_IN: prefix = "< "; break;
    default: return 0; /* bodies carry tokens (upload URLs, authorizations): never traced */
    }
    const char *end = data + size;
    while (data < end) {
        const char *newline = memchr(data, '\n', (size_t)(end - data));
        size_t length = newline ? (size_t)(newline - data) : (size_t)(end - data);
        size_t shown = length;
        while (shown > 0 && (data[shown - 1] == '\r' || data[shown - 1] == '\n'))
            shown--;
        if (shown > 0) {
            char line[512];
            if (shown > 14 && strncasecmp(data, "Authorization:", 14) == 0)
                snprintf(line, sizeof line, "%sAuthorization: <redacted>", prefix);
            else if (is_secret_header(http, data, shown))
                snprintf(line, sizeof line, "%s%.*s <redacted>", prefix,
                         (int)(strcspn(data, ":") < shown ? strcspn(data, ":") + 1 : shown), data);
            else
                snprintf(line, sizeof line, "%s%.*s", prefix, (int)shown, data);
            http->options.trace(http->options.trace_context, line);
        }
        data += length + (newline ? 1 : 0);
    }
    return 0;
}

static enum sp_http_outcome classify(CURLcode code, const struct transfer *transfer)
{
    if (transfer->resend_refused)
        return SP_HTTP_BROKEN;
    if (transfer->stalled || transfer->too_slow)
        return SP_HTTP_TIMEOUT;
    if (transfer->cancelled)
        return SP_HTTP_CANCELLED;
    if (transfer->too_large)
        return SP_HTTP_FAILED;
    if (transfer->local_failure)
        return SP_HTTP_LOCAL;
    switch (code) {
    case CURLE_OK:
        return SP_HTTP_COMPLETE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
        return SP_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return SP_HTTP_TIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    /* A reused connection died and libcurl wanted to resend a streamed body on a new one: the
     * connection broke, and the plugin decides about sending it again, never libcurl silently. */
    case CURLE_SEND_FAIL_REWIND:
        return SP_HTTP_BROKEN;
    case CURLE_READ_ERROR:
    case CURLE_WRITE_ERROR:
        return SP_HTTP_LOCAL;
    case CURLE_ABORTED_BY_CALLBACK:
        return SP_HTTP_CANCELLED;
    default:
        return SP_HTTP_FAILED;
    }
}

static enum sp_http_outcome curl_perform(struct sp_http *base, const struct sp_http_request *request,
                                         struct sp_http_response *response)
{
    struct sp_http_curl *http = (struct sp_http_curl *)base;
    memset(response, 0, sizeof *response);
    struct transfer transfer = {.request = request, .response = response,
                                .idle_timeout_s = http->options.idle_timeout_s,
                                .max_memory_body = http->options.max_memory_body
                                                       ? http->options.max_memory_body
                                                       : SP_HTTP_DEFAULT_MAX_MEMORY_BODY};
    CURL *curl = transfer.curl = take_handle(http);
    if (!curl) {
        snprintf(response->error, sizeof response->error, "cannot create a libcurl handle");
        return response->outcome = SP_HTTP_FAILED;
    }
    /* A POST carries only the Content-Type its caller names: libcurl would otherwise call every
     * body a form (application/x-www-form-urlencoded), which no backend's bodies are. */
    int typed = 0;
    for (size_t i = 0; i < request->header_count; i++)
        typed |= strncasecmp(request->headers[i], "Content-Type:", 13) == 0;
    struct curl_slist *headers = typed ? NULL : curl_slist_append(NULL, "Content-Type:");
    char *whole_body = NULL; /* a short streamed body, read up front */
    for (size_t i = 0; i < request->header_count; i++) {
        struct curl_slist *more = curl_slist_append(headers, request->headers[i]);
        if (!more) {
            curl_slist_free_all(headers);
            give_back_handle(http, curl);
            snprintf(response->error, sizeof response->error, "out of memory");
            return response->outcome = SP_HTTP_FAILED;
        }
        headers = more;
    }
    char error_buffer[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    /* Never squash "/./" or "/../": an object name keeps them (the plugins escape them as well). */
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, http->user_agent);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, http->options.connect_timeout_s);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, http->options.idle_timeout_s);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    if (http->options.trace) {
        curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(curl, CURLOPT_DEBUGDATA, http);
    }
    if (request->basic_user) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, request->basic_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, request->basic_password);
    }
    if (strcmp(request->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(request->method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(request->method, "POST") == 0 && request->read_body) {
        /* A streamed POST (an upload, say): a POST of content_length bytes. */
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
#if LIBCURL_VERSION_NUM >= 0x075000
        if (request->content_length <= SP_HTTP_ONE_WRITE_BODY_MAX) {
            /* Headers and body in one write, not two: a small upload then costs one send and
             * one poll less here, and one wake-up less on the server. */
            whole_body = read_whole_body(&transfer);
            if (!whole_body) {
                curl_slist_free_all(headers);
                give_back_handle(http, curl);
                snprintf(response->error, sizeof response->error, "reading the body failed");
                return response->outcome = SP_HTTP_LOCAL;
            }
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, whole_body);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->content_length);
            curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, on_prerequest);
            curl_easy_setopt(curl, CURLOPT_PREREQDATA, &transfer);
        } else
#endif
        {
            /* A streamed body with a known size: libcurl sends Content-Length, never chunks. */
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->content_length);
        }
    } else if (request->read_body) {
        /* A streamed body of another method (a PUT of a file or a part): Content-Length,
         * never chunks, and the method named. */
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)request->content_length);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    } else if (request->body || strcmp(request->method, "POST") == 0 ||
               strcmp(request->method, "PUT") == 0) {
        /* An in-memory body (possibly empty), sent as given, under its own method. */
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body ? request->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
        if (strcmp(request->method, "POST") != 0)
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method); /* DELETE */
    }
    /* A large streamed body goes out in reads and sends of SP_CURL_SEND_BUFFER (curl's 64 KiB
     * would be a read, a send and two polls per 64 KiB of a part). Per pooled handle. */
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE,
                     request->read_body && request->content_length >= SP_CURL_SEND_BUFFER_FROM
                         ? SP_CURL_SEND_BUFFER : 65536L);
    /* A download's bytes reach write_body in pieces of this size: 16 KiB (curl's default) would
     * be a write and a hash call per 16 KiB. Per pooled handle, so transfers x this in all. */
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, request->write_body && request->receive_buffer > 0
                                                   ? request->receive_buffer
                                                   : (long)CURL_MAX_WRITE_SIZE);

    CURLcode code = curl_easy_perform(curl);
    response->outcome = transfer.wrong_status ? SP_HTTP_COMPLETE : classify(code, &transfer);
    if (response->outcome == SP_HTTP_COMPLETE) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    } else if (transfer.stalled) { /* our stall clock aborted it: libcurl would say "Callback aborted" */
        snprintf(response->error, sizeof response->error, "timed out: no data moved for %ld s",
                 transfer.idle_timeout_s);
    } else if (transfer.too_slow) {
        snprintf(response->error, sizeof response->error,
                 "timed out: the answer did not arrive whole within %ld s", transfer.idle_timeout_s);
    } else if (transfer.too_large) {
        snprintf(response->error, sizeof response->error,
                 "the answer is larger than %zu MiB: refused (the service's answers are far smaller)",
                 transfer.max_memory_body >> 20);
    } else {
        snprintf(response->error, sizeof response->error, "%s",
                 error_buffer[0] ? error_buffer : curl_easy_strerror(code));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    free(whole_body);
    give_back_handle(http, curl);
    return response->outcome;
}

static void curl_destroy(struct sp_http *base)
{
    struct sp_http_curl *http = (struct sp_http_curl *)base;
    for (size_t i = 0; i < http->idle_count; i++)
        curl_easy_cleanup(http->idle[i]);
    free(http->idle);
    free(http->user_agent);
    pthread_mutex_destroy(&http->lock);
    free(http);
}

struct sp_http *sp_http_curl_create(const struct sp_http_options *options)
{
    struct sp_http_curl *http = calloc(1, sizeof *http);
    if (!http)
        return NULL;
    http->base.perform = curl_perform;
    http->base.destroy = curl_destroy;
    http->options = *options;
    http->user_agent = strdup(options->user_agent ? options->user_agent : "stor");
    if (!http->user_agent) {
        free(http);
        return NULL;
    }
    pthread_mutex_init(&http->lock, NULL);
    return &http->base;
}
