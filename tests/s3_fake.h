/* s3_fake.h — a scripted HTTP seam and a clock that never waits, for the S3 plugin's unit tests:
 * each perform takes the next scripted answer and records the request it was given. */
#ifndef S3_FAKE_H
#define S3_FAKE_H

#include "plugin.h"
#include "sp_http.h"

#define S3_FAKE_MAX 64

struct s3_fake_answer {
    enum sp_http_outcome outcome; /* COMPLETE unless a transport failure is scripted */
    long status;
    const char *headers;          /* "Name: value\n" lines, or NULL */
    const char *body;             /* or NULL */
};

struct s3_fake_seen {
    char method[8];
    char url[2048];
    char headers[4096]; /* every header line, '\n'-separated */
    char *body;         /* what was sent (memory or streamed), malloc'd */
    size_t body_length;
};

struct s3_fake {
    struct sp_http base;
    struct s3_fake_answer answers[S3_FAKE_MAX];
    size_t answer_count, next;
    struct s3_fake_seen seen[S3_FAKE_MAX];
    size_t seen_count;
    int64_t now_ms, slept_ms;
};

/* A plugin opened with options (NULL-terminated "key=value" strings) over a fresh fake, with
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set to test values; asserts success. */
struct s3_plugin *s3_fake_plugin(struct s3_fake **fake, const char *const *options);
void s3_fake_free(struct s3_plugin *plugin, struct s3_fake *fake);
/* Queues one answer. */
void s3_fake_answer(struct s3_fake *fake, long status, const char *headers, const char *body);
void s3_fake_fail(struct s3_fake *fake, enum sp_http_outcome outcome);

#endif
