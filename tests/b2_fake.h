/* tests/b2_fake.h — what the B2 unit tests run against instead of the network: a scripted HTTP
 * transport that records every request, a small in-memory B2 ("world"), a fake clock, a host. */
#ifndef B2_FAKE_H
#define B2_FAKE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "b2.h"

/* A request as the plugin sent it; streamed bodies are drained into body. */
struct fake_request {
    char *method;
    char *url;
    char **headers;
    size_t header_count;
    char *body;
    size_t body_length;
    char *basic_user;
    char *basic_password;
    int content_length_wrong; /* a streamed body did not match its declared Content-Length */
    int64_t at_ms;            /* the fake clock when it was sent */
};

/* A reply: an HTTP status with headers ("Name: value\n"...) and body, or a transport outcome. */
struct fake_reply {
    enum sp_http_outcome outcome;
    long status;
    char *headers;
    char *body;
    size_t body_length;
};

struct fake_world;
struct fake_clock;

struct fake_http {
    struct sp_http base;
    pthread_mutex_t lock;
    /* Scripted replies, consumed in order by the first request whose URL contains match. */
    struct {
        char *match;
        struct fake_reply reply;
        int used;
    } *script;
    size_t script_count;
    struct fake_world *world; /* answers whatever the script does not */
    struct fake_clock *clock;
    struct fake_request *requests;
    size_t request_count, request_capacity;
};

/* An in-memory B2 good enough for every call the plugin makes. */
#define FAKE_MAX_FILES 256

struct fake_world {
    pthread_mutex_t lock;
    int authorize_v2_only;     /* v4 answers 404 */
    int restricted_bucket;     /* the key's allowed.buckets names bucket1 */
    int without_write_files;   /* the key lacks the writeFiles capability */
    int with_share_files;      /* the key has the shareFiles capability (off by default) */
    const char *const *more_capabilities; /* NULL-terminated: the key has these too, or NULL */
    const char *name_prefix;   /* the key's allowed.namePrefix, or NULL */
    int account_generation;    /* tokens are "acct-token-<generation>" */
    int account_token_expired; /* current token answers 401 expired_auth_token */
    int upload_token_serial;
    int expired_upload_tokens_below; /* upload tokens with serial < this answer 401 */
    int uploads_in_flight_max_per_token_violations;
    int in_flight[256];        /* per upload token serial */
    int upload_delay_us;       /* hold each upload this long, to make threads overlap */
    int page_size;             /* b2_list_file_names page size (0: the request's) */
    struct {
        char *name;
        char *data;
        size_t length;
        char sha1[41];
        int hidden;
    } files[FAKE_MAX_FILES];
    size_t file_count;
};

struct fake_clock {
    pthread_mutex_t lock;
    int64_t now_ms;
    int64_t slept_ms[256];
    size_t sleep_count;        /* calls to sleep (slices of one wait included) */
    uint32_t random_value;
};

struct fake_host {
    struct stor_host host;
    pthread_mutex_t lock;
    char *log;                 /* every logged line, joined by '\n' */
    size_t log_length;
    int cancel;
    uint64_t requests, retries, class_a, class_b, class_c; /* the host's count() service */
};

/* One plugin instance wired to all of the above. */
struct b2_test {
    struct fake_http *http;
    struct fake_world world;
    struct fake_clock clock;
    struct fake_host host;
    struct b2_plugin *plugin;
    char cache_dir[256];
};

#define FAKE_KEY_ID "key-id-0001"
#define FAKE_KEY "SECRET-application-key-0001"
#define FAKE_BUCKET "bucket1"
#define FAKE_BUCKET_ID "bkt00000001"

/* Create the fakes and an instance. options: NULL-terminated "key=value" strings. disk_cache:
 * give the instance a fresh cache directory (STOR_CACHE_DIR), else cache=no. 0 on success. */
int b2_test_start(struct b2_test *test, const char *const *options, int disk_cache);
/* Close the instance (persisting the pool) and open another one on the same fakes and cache. */
int b2_test_restart(struct b2_test *test, const char *const *options);
void b2_test_stop(struct b2_test *test);

/* CMocka fixtures around the two: a b2_test with these options (NULL-terminated, may be NULL) in
 * *state, and a teardown that also checks no secret reached the log. */
int b2_test_setup(void **state, const char *const *options, int disk_cache);
int b2_test_teardown(void **state);

void fake_script(struct fake_http *http, const char *match, long status, const char *headers,
                 const char *body);
void fake_script_outcome(struct fake_http *http, const char *match, enum sp_http_outcome outcome);
size_t fake_count(struct fake_http *http, const char *url_part);
void fake_forget_requests(struct fake_http *http);
const struct fake_request *fake_last(struct fake_http *http, const char *url_part);
const char *fake_request_header(const struct fake_request *request, const char *name);
/* Total of every wait the plugin asked the clock for. */
int64_t fake_slept(struct fake_clock *clock);
/* 1 if a secret (key, any token) appears in the log. */
int fake_log_has_secret(struct fake_host *host);

/* A JSON call's body as text, sent from memory or streamed (which drains the stream); malloc'd,
 * NULL if there is none. */
char *fake_json_body(const struct sp_http_request *request);

/* A temporary regular file holding data, open for reading at offset 0. */
int fake_file(const char *data, size_t length);

#endif
