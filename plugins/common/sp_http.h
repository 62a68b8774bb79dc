/* plugins/common/sp_http.h — a plugin's one HTTP seam: perform a request, get status, headers,
 * body. sp_http_curl.c implements it with libcurl; unit tests script it, so every error branch is
 * reachable. What one backend needs and another does not is a field here, never a fork. */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How a request ended below HTTP. Any HTTP status, even 500, is SP_HTTP_COMPLETE. */
enum sp_http_outcome {
    SP_HTTP_COMPLETE = 0, /* a response arrived: look at status */
    SP_HTTP_CONNECT,      /* could not connect: DNS, refused, TLS handshake, connect timeout */
    SP_HTTP_BROKEN,       /* connection broken while sending or receiving (reset, pipe, EOF) */
    SP_HTTP_TIMEOUT,      /* no progress in time: the server may still hold the request */
    SP_HTTP_LOCAL,        /* reading the body or writing the response locally failed */
    SP_HTTP_CANCELLED,    /* progress callback asked to stop */
    SP_HTTP_FAILED,       /* anything else (bad URL, out of memory) */
};

/* Streamed request body: fill up to size bytes, return the count, 0 at the end, -1 on error. */
typedef ssize_t (*sp_http_read_fn)(void *context, char *buffer, size_t size);
/* Streamed 2xx response body: consume size bytes; return 0, or -1 to abort (SP_HTTP_LOCAL). */
typedef int (*sp_http_write_fn)(void *context, const char *data, size_t size);
/* Called as bytes move; non-zero aborts with SP_HTTP_CANCELLED. */
typedef int (*sp_http_progress_fn)(void *context, uint64_t sent, uint64_t received);

struct sp_http_request {
    const char *method;              /* "GET", "HEAD", "PUT", "POST" or "DELETE" */
    const char *url;
    const char *const *headers;      /* "Name: value" lines, header_count of them */
    size_t header_count;
    const char *basic_user;          /* HTTP Basic auth done by the transport, or NULL; */
    const char *basic_password;      /*   never turned into a header the plugin could log */
    const char *body;                /* in-memory body, body_length bytes, or NULL */
    size_t body_length;
    sp_http_read_fn read_body;       /* or a streamed body of exactly content_length bytes, */
                                     /*   never sent twice by the transport on its own */
    void *read_context;
    int64_t content_length;
    sp_http_write_fn write_body;     /* 2xx body goes here if set; other bodies stay in memory; */
                                     /*   the response's status and headers are set by then */
    void *write_context;
    long write_status;               /* if set, only a body of this status reaches write_body: */
                                     /*   another 2xx ends at its headers, COMPLETE, no body */
    sp_http_progress_fn progress;    /* optional */
    void *progress_context;
    long receive_buffer;             /* bytes handed to write_body at once (a large download's */
                                     /*   fewer, bigger writes), or 0 for libcurl's 16 KiB */
};

struct sp_http_header {
    char *name;
    char *value;
};

struct sp_http_response {
    enum sp_http_outcome outcome;
    long status;                     /* HTTP status, 0 when no response arrived */
    struct sp_http_header *headers;  /* of the final response */
    size_t header_count;
    char *body;                      /* NUL-terminated; absent (NULL) when streamed out */
    size_t body_length;
    char error[256];                 /* transport's words when outcome != COMPLETE */
};

struct sp_http {
    enum sp_http_outcome (*perform)(struct sp_http *http, const struct sp_http_request *request,
                                    struct sp_http_response *response);
    void (*destroy)(struct sp_http *http);
};

struct sp_http_options {
    long connect_timeout_s;
    long idle_timeout_s;   /* abort when less than 1 byte/s moves for this long */
    const char *user_agent;
    /* Largest answer kept in memory (one not streamed to write_body): a larger one is refused
     * as FAILED rather than parsed, since only a hostile server sends it. 0: 4 MiB. */
    size_t max_memory_body;
    /* Request headers whose values are secret, by name prefix (case-insensitive), NULL-ended,
     * or NULL: the trace shows "<redacted>" for them, as it always does for Authorization. */
    const char *const *secret_headers;
    /* Where libcurl's verbose trace goes (Authorization lines redacted), or NULL for none. */
    void (*trace)(void *context, const char *line);
    void *trace_context;
};

/* The libcurl transport. Returns NULL on allocation failure. */
struct sp_http *sp_http_curl_create(const struct sp_http_options *options);

/* Case-insensitive header lookup in a response; NULL if absent. */
const char *sp_http_header(const struct sp_http_response *response, const char *name);
/* Append a received header (used by transports). Returns -1 on allocation failure. */
int sp_http_response_add_header(struct sp_http_response *response, const char *name,
                                size_t name_length, const char *value, size_t value_length);
/* Appends a formatted "Name: value" line (malloc'd) to a request's header lines: 0, or -1 when
 * max_lines are there already or memory ran out. */
int sp_http_add_header_line(char **lines, size_t *count, size_t max_lines, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sp_http_free_header_lines(char **lines, size_t count);
void sp_http_response_clear_headers(struct sp_http_response *response);
/* Free what a perform put in response and zero it, so it can be reused. */
void sp_http_response_free(struct sp_http_response *response);

#endif
