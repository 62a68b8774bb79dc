/* tests/test_b2_http_curl.c — the libcurl side of the HTTP seam against a tiny in-process server
 * on 127.0.0.1: Content-Length on streamed bodies, Basic auth, redacted trace, keep-alive, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protection.h"
#include "sp_http.h"

/* One scripted loopback server: answers every request with reply, records the last request. */
struct server {
    int listener;
    int port;
    pthread_t thread;
    const char *reply;      /* raw HTTP response; "" = close without answering */
    int answers_per_connection; /* then the next request is read and not answered; 0: no limit */
    char request[1 << 17];  /* headers and body of the last request */
    size_t request_length;
    size_t first_read;      /* bytes the first read of the last request got */
    int accepts;
    int requests;
    int stop;
};

static size_t content_length_of(const char *headers)
{
    const char *found = strcasestr(headers, "\r\nContent-Length:");
    return found ? (size_t)strtoul(found + 17, NULL, 10) : 0;
}

static void *serve(void *context)
{
    struct server *server = context;
    while (!server->stop) {
        int connection = accept(server->listener, NULL, NULL);
        if (connection < 0)
            break;
        server->accepts++;
        for (int answered = 0;; answered++) { /* requests on this connection (keep-alive) */
            size_t have = 0;
            char *end = NULL;
            ssize_t got = 0;
            while (!end && have < sizeof server->request - 1 &&
                   (got = read(connection, server->request + have, sizeof server->request - 1 - have)) > 0) {
                if (have == 0)
                    server->first_read = (size_t)got;
                have += (size_t)got;
                server->request[have] = '\0';
                end = strstr(server->request, "\r\n\r\n");
            }
            if (!end)
                break;
            size_t wanted = (size_t)(end + 4 - server->request) + content_length_of(server->request);
            while (have < wanted && have < sizeof server->request - 1 &&
                   (got = read(connection, server->request + have, wanted - have)) > 0)
                have += (size_t)got;
            server->request[have] = '\0';
            server->request_length = have;
            server->requests++;
            if (!server->reply[0] ||
                (server->answers_per_connection && answered == server->answers_per_connection))
                break;
            if (write(connection, server->reply, strlen(server->reply)) < 0)
                break;
        }
        close(connection);
    }
    return NULL;
}

static void server_start(struct server *server, const char *reply)
{
    memset(server, 0, sizeof *server);
    server->reply = reply;
    server->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(server->listener, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(server->listener, 8), 0);
    socklen_t length = sizeof address;
    getsockname(server->listener, (struct sockaddr *)&address, &length);
    server->port = ntohs(address.sin_port);
    pthread_create(&server->thread, NULL, serve, server);
}

static void server_stop(struct server *server)
{
    server->stop = 1;
    shutdown(server->listener, SHUT_RDWR);
    close(server->listener);
    pthread_join(server->thread, NULL);
}

struct trace {
    char text[1 << 15];
    size_t length;
};

static void on_trace(void *context, const char *line)
{
    struct trace *trace = context;
    trace->length += (size_t)snprintf(trace->text + trace->length, sizeof trace->text - trace->length,
                                      "%s\n", line);
    if (trace->length >= sizeof trace->text)
        trace->length = sizeof trace->text - 1;
}

static struct sp_http *transport(struct trace *trace)
{
    struct sp_http_options options = {.connect_timeout_s = 5, .idle_timeout_s = 5,
                                      .user_agent = "stor-b2-test",
                                      .trace = trace ? on_trace : NULL, .trace_context = trace};
    return sp_http_curl_create(&options);
}

struct counting_reader {
    size_t left;
};

static ssize_t read_pattern(void *context, char *buffer, size_t size)
{
    struct counting_reader *reader = context;
    size_t now = reader->left < size ? reader->left : size;
    memset(buffer, 'z', now);
    reader->left -= now;
    return (ssize_t)now;
}

struct sink {
    size_t bytes;
};

static int write_sink(void *context, const char *data, size_t size)
{
    (void)data;
    ((struct sink *)context)->bytes += size;
    return 0;
}

static char url[128];

/* A streamed POST: Content-Length, no chunking, no Expect, the body intact; 2xx body streamed. */
static void streamed_post_has_content_length(void **state)
{
    (void)state;
    struct server server;
    server_start(&server, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Bz-Thing: yes\r\n\r\nhello");
    struct sp_http *http = transport(NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/upload", server.port);
    struct counting_reader reader = {40000};
    struct sink sink = {0};
    const char *headers[] = {"X-Bz-File-Name: a%20b", "Expect:"};
    struct sp_http_request request = {.method = "POST", .url = url, .headers = headers,
                                      .header_count = 2, .read_body = read_pattern,
                                      .read_context = &reader, .content_length = 40000,
                                      .write_body = write_sink, .write_context = &sink};
    struct sp_http_response response;
    assert_int_equal(http->perform(http, &request, &response), SP_HTTP_COMPLETE);
    assert_int_equal(response.status, 200);
    assert_string_equal(sp_http_header(&response, "x-bz-thing"), "yes");
    assert_null(response.body);
    assert_int_equal(sink.bytes, 5);
    assert_non_null(strcasestr(server.request, "\r\nContent-Length: 40000\r\n"));
    assert_null(strcasestr(server.request, "chunked"));
    assert_null(strcasestr(server.request, "Expect:"));
    /* No Content-Type the caller did not give (libcurl's default is a form's). */
    assert_null(strcasestr(server.request, "Content-Type"));
    assert_non_null(strstr(server.request, "\r\nX-Bz-File-Name: a%20b\r\n"));
    assert_int_equal(server.request_length - (size_t)(strstr(server.request, "\r\n\r\n") + 4 - server.request), 40000);
    sp_http_response_free(&response);
    http->destroy(http);
    server_stop(&server);
}

/* A short streamed body goes with the headers in one write. Either way, a request that finds its
 * kept-alive connection dead is not sent again on a new one (for an upload that is a broken
 * connection: B2 wants a fresh target). */
static void small_body_in_one_write_and_never_resent(void **state)
{
    (void)state;
    static const size_t sizes[] = {4096, 100000}; /* read up front; streamed */
    for (size_t i = 0; i < 2; i++) {
        struct server server;
        server_start(&server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        server.answers_per_connection = 1;
        struct sp_http *http = transport(NULL);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/upload", server.port);
        const char *headers[] = {"Expect:"};
        struct counting_reader reader = {sizes[i]};
        struct sp_http_request request = {.method = "POST", .url = url, .headers = headers,
                                          .header_count = 1, .read_body = read_pattern,
                                          .read_context = &reader,
                                          .content_length = (int64_t)sizes[i]};
        struct sp_http_response response;
        assert_int_equal(http->perform(http, &request, &response), SP_HTTP_COMPLETE);
        assert_int_equal(response.status, 200);
        sp_http_response_free(&response);
        size_t header_length = (size_t)(strstr(server.request, "\r\n\r\n") + 4 - server.request);
        assert_int_equal(server.request_length - header_length, sizes[i]);
        assert_null(strcasestr(server.request, "x-www-form-urlencoded"));
        if (sizes[i] == 4096)
            assert_int_equal(server.first_read, server.request_length);
        reader.left = sizes[i];
        assert_int_equal(http->perform(http, &request, &response), SP_HTTP_BROKEN);
        sp_http_response_free(&response);
        http->destroy(http);
        server_stop(&server);
        /* libcurl may have connected again, but it sent nothing there. */
        assert_int_equal(server.requests, 2);
    }
}

/* Error bodies stay in memory even when a body sink is set; the connection is reused. */
static void error_body_in_memory_and_keep_alive(void **state)
{
    (void)state;
    struct server server;
    server_start(&server, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 14\r\n\r\n{\"code\":\"x\"}\r\n");
    struct sp_http *http = transport(NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/b2api/v2/b2_get_upload_url", server.port);
    struct sink sink = {0};
    for (int i = 0; i < 3; i++) {
        struct sp_http_request request = {.method = "POST", .url = url, .body = "{}", .body_length = 2,
                                          .write_body = write_sink, .write_context = &sink};
        struct sp_http_response response;
        assert_int_equal(http->perform(http, &request, &response), SP_HTTP_COMPLETE);
        assert_int_equal(response.status, 503);
        assert_string_equal(sp_http_header(&response, "Retry-After"), "3");
        assert_int_equal(response.body_length, 14);
        assert_non_null(strstr(response.body, "\"code\""));
        sp_http_response_free(&response);
    }
    assert_int_equal(sink.bytes, 0);
    assert_int_equal(server.requests, 3);
    assert_int_equal(server.accepts, 1);
    http->destroy(http);
    server_stop(&server);
}

/* Basic auth is done by libcurl, and the trace never shows the credentials. */
static void basic_auth_is_redacted_in_the_trace(void **state)
{
    (void)state;
    struct server server;
    server_start(&server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    struct trace *trace = calloc(1, sizeof *trace);
    struct sp_http *http = transport(trace);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/b2api/v4/b2_authorize_account", server.port);
    struct sp_http_request request = {.method = "GET", .url = url, .basic_user = "keyid",
                                      .basic_password = "SECRETKEY"};
    struct sp_http_response response;
    assert_int_equal(http->perform(http, &request, &response), SP_HTTP_COMPLETE);
    sp_http_response_free(&response);
    /* base64("keyid:SECRETKEY") */
    assert_non_null(strstr(server.request, "Authorization: Basic a2V5aWQ6U0VDUkVUS0VZ"));
    assert_non_null(strstr(trace->text, "> GET /b2api/v4/b2_authorize_account"));
    assert_non_null(strstr(trace->text, "Authorization: <redacted>"));
    assert_null(strstr(trace->text, "a2V5aWQ6U0VDUkVUS0VZ"));
    assert_null(strstr(trace->text, "SECRETKEY"));
    const char *headers[] = {"Authorization: 4_token_secret"};
    struct sp_http_request with_token = {.method = "POST", .url = url, .headers = headers,
                                         .header_count = 1, .body = "{}", .body_length = 2};
    assert_int_equal(http->perform(http, &with_token, &response), SP_HTTP_COMPLETE);
    sp_http_response_free(&response);
    assert_null(strstr(trace->text, "4_token_secret"));
    http->destroy(http);
    free(trace);
    server_stop(&server);
}

/* The SSE-C key and its MD5 are secrets like the token: sent, never traced (the transport as
 * plugin.c makes it, with protection.c's secret headers). */
static void sse_c_key_is_redacted_in_the_trace(void **state)
{
    (void)state;
    struct server server;
    server_start(&server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    struct trace *trace = calloc(1, sizeof *trace);
    struct sp_http_options options = {.connect_timeout_s = 5, .idle_timeout_s = 5,
                                      .user_agent = "stor-b2-test",
                                      .secret_headers = b2_sse_c_secret_headers,
                                      .trace = on_trace, .trace_context = trace};
    struct sp_http *http = sp_http_curl_create(&options);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/file/bucket/name", server.port);
    const char *headers[] = {
        "Authorization: 4_token_secret",
        "X-Bz-Server-Side-Encryption-Customer-Algorithm: AES256",
        "X-Bz-Server-Side-Encryption-Customer-Key: S0VZS0VZS0VZS0VZS0VZS0VZS0VZS0VZS0VZS0VZS0U=",
        "X-Bz-Server-Side-Encryption-Customer-Key-Md5: TUQ1TUQ1TUQ1TUQ1TUQ1TQ==",
    };
    struct sp_http_request request = {.method = "GET", .url = url, .headers = headers,
                                      .header_count = 4};
    struct sp_http_response response;
    assert_int_equal(http->perform(http, &request, &response), SP_HTTP_COMPLETE);
    sp_http_response_free(&response);
    assert_non_null(strstr(server.request, "S0VZS0VZS0VZS0VZS0VZS0VZS0VZS0VZS0VZS0VZS0U="));
    assert_non_null(strstr(trace->text, "X-Bz-Server-Side-Encryption-Customer-Algorithm: AES256"));
    assert_non_null(strstr(trace->text, "X-Bz-Server-Side-Encryption-Customer-Key: <redacted>"));
    assert_non_null(strstr(trace->text, "X-Bz-Server-Side-Encryption-Customer-Key-Md5: <redacted>"));
    assert_null(strstr(trace->text, "S0VZS0VZ"));
    assert_null(strstr(trace->text, "TUQ1TUQ1"));
    http->destroy(http);
    free(trace);
    server_stop(&server);
}

/* Nobody listening: a connect failure. A server that hangs up: a broken connection. */
static void transport_failures_are_classified(void **state)
{
    (void)state;
    struct server server;
    server_start(&server, "");
    struct sp_http *http = transport(NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", server.port);
    struct sp_http_request request = {.method = "POST", .url = url, .body = "{}", .body_length = 2};
    struct sp_http_response response;
    assert_int_equal(http->perform(http, &request, &response), SP_HTTP_BROKEN);
    assert_true(strlen(response.error) > 0);
    sp_http_response_free(&response);
    server_stop(&server);
    assert_int_equal(http->perform(http, &request, &response), SP_HTTP_CONNECT);
    sp_http_response_free(&response);
    http->destroy(http);
}

/* A server that takes the request and never answers: a timeout, said in words (not libcurl's
 * "Callback aborted" from the stall clock that cut it off). */
static void a_silent_server_is_a_timeout_in_words(void **state)
{
    (void)state;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(listener, 8), 0); /* the kernel accepts; nobody ever answers */
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    struct sp_http_options options = {.connect_timeout_s = 5, .idle_timeout_s = 1, .user_agent = "stor-b2-test"};
    struct sp_http *http = sp_http_curl_create(&options);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(address.sin_port));
    struct sp_http_request request = {.method = "POST", .url = url, .body = "{}", .body_length = 2};
    struct sp_http_response response;
    assert_int_equal(http->perform(http, &request, &response), SP_HTTP_TIMEOUT);
    assert_string_equal(response.error, "timed out: no data moved for 1 s");
    sp_http_response_free(&response);
    http->destroy(http);
    close(listener);
}

/* A hostile answer: a trickle (a byte every 0.3 s, never idle long enough for the stall clock)
 * or an endless body, refused at the transport's default cap or at the one the plugin named. */
struct hostile {
    int listener, port, mode; /* mode 0: trickle; 1: a huge body */
    pthread_t thread;
};

static void *serve_hostile(void *context)
{
    struct hostile *h = context;
    int connection = accept(h->listener, NULL, NULL);
    if (connection < 0)
        return NULL;
    char request[4096];
    if (read(connection, request, sizeof request) <= 0) {
        close(connection);
        return NULL;
    }
    const char *head = h->mode == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"
                                    : "HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n[";
    if (send(connection, head, strlen(head), MSG_NOSIGNAL) > 0) {
        static char chunk[65536];
        memset(chunk, ' ', sizeof chunk);
        for (int i = 0; i < (h->mode == 0 ? 40 : 1600); i++) {
            if (h->mode == 0)
                usleep(300000);
            if (send(connection, chunk, h->mode == 0 ? 1 : sizeof chunk, MSG_NOSIGNAL) < 0)
                break;
        }
    }
    close(connection);
    return NULL;
}

static void hostile_answers_end_in_words(void **state)
{
    (void)state;
    static const char *const expected[] = {"timed out: the answer did not arrive whole within 1 s",
                                           "the answer is larger than 4 MiB",
                                           "the answer is larger than 2 MiB"};
    static const enum sp_http_outcome outcomes[] = {SP_HTTP_TIMEOUT, SP_HTTP_FAILED, SP_HTTP_FAILED};
    for (int mode = 0; mode < 3; mode++) {
        struct hostile h = {.mode = mode == 2 ? 1 : mode};
        h.listener = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(h.listener, (struct sockaddr *)&address, sizeof address), 0);
        assert_int_equal(listen(h.listener, 8), 0);
        socklen_t length = sizeof address;
        getsockname(h.listener, (struct sockaddr *)&address, &length);
        pthread_create(&h.thread, NULL, serve_hostile, &h);
        struct sp_http_options options = {.connect_timeout_s = 5, .idle_timeout_s = 1,
                                          .user_agent = "stor-b2-test",
                                          .max_memory_body = mode == 2 ? (size_t)2 << 20 : 0};
        struct sp_http *http = sp_http_curl_create(&options);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/b2api/v2/b2_list_file_names", ntohs(address.sin_port));
        struct sp_http_request request = {.method = "POST", .url = url, .body = "{}", .body_length = 2};
        struct sp_http_response response;
        assert_int_equal(http->perform(http, &request, &response), outcomes[mode]);
        if (!strstr(response.error, expected[mode]))
            fail_msg("error \"%s\", expected \"%s\"", response.error, expected[mode]);
        sp_http_response_free(&response);
        http->destroy(http);
        shutdown(h.listener, SHUT_RDWR);
        close(h.listener);
        pthread_join(h.thread, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_answers_end_in_words),
        cmocka_unit_test(streamed_post_has_content_length),
        cmocka_unit_test(small_body_in_one_write_and_never_resent),
        cmocka_unit_test(error_body_in_memory_and_keep_alive),
        cmocka_unit_test(basic_auth_is_redacted_in_the_trace),
        cmocka_unit_test(sse_c_key_is_redacted_in_the_trace),
        cmocka_unit_test(transport_failures_are_classified),
        cmocka_unit_test(a_silent_server_is_a_timeout_in_words),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
