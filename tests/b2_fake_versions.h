/* tests/b2_fake_versions.h — a versioned B2 for the unit tests of get_ex, versions, remove_ex and
 * copy: a transport placed in front of b2_fake's that answers those calls and passes on the rest. */
#ifndef B2_FAKE_VERSIONS_H
#define B2_FAKE_VERSIONS_H

#include "b2_fake.h"

#define VFAKE_MAX 64

struct vfake_version {
    char *name;
    char id[32];
    char *data;           /* NULL for a hide marker or a virtual (size-only) file */
    int64_t length;
    char sha1[41];        /* contentSha1, or "none" */
    char large_sha1[41];  /* fileInfo large_file_sha1, or "" */
    const char *action;   /* "upload", "hide", "start" */
    int64_t mtime_ms;     /* fileInfo src_last_modified_millis, or -1 */
};

struct vfake {
    struct sp_http base;
    struct sp_http *inner;        /* b2_fake's transport: authorization, buckets, the rest */
    pthread_mutex_t lock;
    struct vfake_version versions[VFAKE_MAX]; /* in upload order: later is newer */
    size_t count;
    int serial;
    int page_size;                /* of b2_list_file_versions (0: the request's) */
    int names_to_inner;           /* b2_list_file_names goes to b2_fake (scripted listings) */
    /* The next fail_count requests whose URL contains fail_match answer fail_status/fail_code. */
    const char *fail_match;
    int fail_count;
    long fail_status;
    const char *fail_code;
    /* The next lose_count requests whose URL contains lose_match are done, then time out. */
    const char *lose_match;
    int lose_count;
    int corrupt;                  /* flip a byte of the next this many download bodies */
    int ignore_range;             /* answer downloads whole (200), as a CDN that drops Range may */
    int shift_range;              /* answer a range one byte later than asked, saying so (206) */
    int in_flight, max_in_flight; /* concurrent downloads */
    int hold_us;                  /* keep each download this long, to make workers overlap */
    /* What was asked: copy parts (number, range) and the last finish's part SHA-1 count. */
    struct {
        int number;
        int64_t first, last;
    } parts[256];
    int part_count;
    int finish_sha1_count;
    int cancelled_large;
    /* Every request this transport answered: URL, Range header ("" if none), body. */
    struct {
        char *url, *range, *body;
    } log[2048];
    size_t log_count;
};

/* A plugin instance with vfake in front of its transport, for CMocka fixtures. */
struct vfake_fixture {
    struct b2_test test;
    struct vfake fake;
};
/* *state = a vfake_fixture whose instance has these options (NULL-terminated, may be NULL);
 * the teardown fails the test when a secret reached the log. */
int vfake_setup(void **state, const char *const *options);
int vfake_teardown(void **state);

/* Put vfake in front of test's transport. */
void vfake_install(struct vfake *fake, struct b2_test *test);
/* Store a new version of name; returns it (its id is "v-<serial>"). */
struct vfake_version *vfake_put(struct vfake *fake, const char *name, const char *data, size_t length);
struct vfake_version *vfake_marker(struct vfake *fake, const char *name, const char *action);
void vfake_free(struct vfake *fake);
/* Requests answered here whose URL contains part; the last one's index (-1 if none). */
int vfake_count(struct vfake *fake, const char *part);
int vfake_last(struct vfake *fake, const char *part);

#endif
