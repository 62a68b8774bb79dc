/* plugins/s3/http.h — the S3 plugin's one HTTP seam: perform a request, get status, headers, body.
 * http_curl.c implements it with libcurl; unit tests script it, so every error branch is reachable. */
#ifndef S3_HTTP_H
#define S3_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How a request ended below HTTP. Any HTTP status, even 500, is S3_HTTP_COMPLETE. */
enum s3_http_outcome {
    S3_HTTP_COMPLETE = 0, /* a response arrived: look at status */
    S3_HTTP_CONNECT,      /* could not connect: DNS, refused, TLS handshake, connect timeout */
    S3_HTTP_BROKEN,       /* connection broken while sending or receiving (reset, pipe, EOF) */
    S3_HTTP_TIMEOUT,      /* no progress in time: the server may still hold the request */
    S3_HTTP_LOCAL,        /* reading the body or writing the response locally failed */
    S3_HTTP_CANCELLED,    /* progress callback asked to stop */
    S3_HTTP_FAILED,       /* anything else (bad URL, out of memory) */
};

/* Streamed request body: fill up to size bytes, return the count, 0 at the end, -1 on error. */
typedef ssize_t (*s3_http_read_fn)(void *context, char *buffer, size_t size);
/* Streamed 2xx response body: consume size bytes; return 0, or -1 to abort (S3_HTTP_LOCAL). */
typedef int (*s3_http_write_fn)(void *context, const char *data, size_t size);
/* Called as bytes move; non-zero aborts with S3_HTTP_CANCELLED. */
typedef int (*s3_http_progress_fn)(void *context, uint64_t sent, uint64_t received);

struct s3_http_request {
    const char *method;              /* "GET", "HEAD", "PUT", "POST" or "DELETE" */
    const char *url;
    const char *const *headers;      /* "Name: value" lines, header_count of them */
    size_t header_count;
    const char *body;                /* in-memory body, body_length bytes, or NULL */
    size_t body_length;
    s3_http_read_fn read_body;       /* or a streamed body of exactly content_length bytes, */
                                     /*   never sent twice by the transport on its own */
    void *read_context;
    int64_t content_length;
    s3_http_write_fn write_body;     /* 2xx body goes here if set; other bodies stay in memory; */
                                     /*   the response's status and headers are set by then */
    void *write_context;
    long write_status;               /* if set, only a body of this status reaches write_body: */
                                     /*   another 2xx ends at its headers, COMPLETE, no body */
    s3_http_progress_fn progress;    /* optional */
    void *progress_context;
};

struct s3_http_header {
    char *name;
    char *value;
};

struct s3_http_response {
    enum s3_http_outcome outcome;
    long status;                     /* HTTP status, 0 when no response arrived */
    struct s3_http_header *headers;  /* of the final response */
    size_t header_count;
    char *body;                      /* NUL-terminated; absent (NULL) when streamed out */
    size_t body_length;
    char error[256];                 /* transport's words when outcome != COMPLETE */
};

struct s3_http {
    enum s3_http_outcome (*perform)(struct s3_http *http, const struct s3_http_request *request,
                                    struct s3_http_response *response);
    void (*destroy)(struct s3_http *http);
};

struct s3_http_options {
    long connect_timeout_s;
    long idle_timeout_s;   /* abort when less than 1 byte/s moves for this long */
    const char *user_agent;
    /* Where libcurl's verbose trace goes (Authorization lines redacted), or NULL for none. */
    void (*trace)(void *context, const char *line);
    void *trace_context;
};

/* The libcurl transport. Returns NULL on allocation failure. */
struct s3_http *s3_http_curl_create(const struct s3_http_options *options);

/* Case-insensitive header lookup in a response; NULL if absent. */
const char *s3_http_header(const struct s3_http_response *response, const char *name);
/* Append a received header (used by transports). Returns -1 on allocation failure. */
int s3_http_response_add_header(struct s3_http_response *response, const char *name,
                                size_t name_length, const char *value, size_t value_length);
/* Appends a formatted "Name: value" line (malloc'd) to a request's header lines: 0, or -1 when
 * max_lines are there already or memory ran out. */
int s3_http_add_header_line(char **lines, size_t *count, size_t max_lines, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void s3_http_free_header_lines(char **lines, size_t count);
void s3_http_response_clear_headers(struct s3_http_response *response);
/* Free what a perform put in response and zero it, so it can be reused. */
void s3_http_response_free(struct s3_http_response *response);

#endif
