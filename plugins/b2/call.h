/* plugins/b2/call.h — one call to B2 and its failure, below authorization (call.c): an exchange
 * counted and handed to the transport, its failure classified (reference §2.3) and worded,
 * backoff, and the retrying JSON call with a token the caller gives. */
#ifndef B2_CALL_H
#define B2_CALL_H

#include <json-c/json.h>
#include <stor/plugin.h>

#include "instance.h"
#include "sp_http.h"

enum b2_failure_kind {
    B2_FAILURE_NONE = 0,
    B2_FAILURE_EXPIRED,   /* 401 bad/expired token (or bare 401): new token or target */
    B2_FAILURE_TRANSIENT, /* network, timeout, 408, 429, 5xx: back off and retry */
    B2_FAILURE_FATAL,     /* everything else: report */
    B2_FAILURE_CANCELLED,
};

struct b2_failure {
    enum b2_failure_kind kind;
    enum sp_http_outcome outcome;
    long http_status;
    char code[64];         /* B2's code, "" if none */
    char message[256];     /* B2's message or the transport's words, one line, secrets removed */
    int64_t retry_after_ms; /* -1 if none */
};

/* Classify a response. The token that was sent, and the account's key in each form (config may
 * be NULL), are cut out of what B2 said: a server may echo any of them. */
void b2_failure_from_response(const struct sp_http_response *response,
                              const struct b2_config *config, const char *token,
                              struct b2_failure *failure);
/* The first time a call cannot connect, says so once per run, with how long stor keeps trying:
 * a silent minute looks like a hang. At the default level on a terminal, else at -v. */
void b2_note_unreachable(struct b2_plugin *plugin, const char *call,
                         const struct b2_failure *failure);
/* "HTTP 503 service_unavailable: too busy", or the transport's words when there was no answer. */
void b2_failure_describe(const struct b2_failure *failure, char *text, size_t size);
/* Report failure of call as the user should read it. capability: what call needs, or NULL;
 * key_has_capability: whether the key has it (1, 0, or -1 when not known). b2_fail (authorized.c)
 * asks auth.c for the latter. */
enum stor_status b2_failure_report(struct stor_error *err, const char *call,
                                   const struct b2_failure *failure, const char *capability,
                                   int key_has_capability);

/* Every HTTP exchange goes through here: counted, then handed to the transport. */
void b2_perform(struct b2_plugin *plugin, const char *transaction_class,
                const struct sp_http_request *request, struct sp_http_response *response);

#define B2_BACKOFF_FIRST_MS 1000
#define B2_BACKOFF_CAP_MS 64000
/* Exponential backoff with jitter for one call: 1 s doubling to 64 s (+ up to 25 % jitter),
 * reset to 1 s after a Retry-After, bounded by the retries and retry_time options. */
struct b2_backoff {
    int64_t next_wait_ms;
    int64_t deadline_ms;
    int tries;
};
void b2_backoff_start(struct b2_plugin *plugin, struct b2_backoff *backoff);
/* Count a failed try and wait before the next. 0: try again; -1: budget spent; -2: cancelled. */
int b2_backoff_wait(struct b2_plugin *plugin, struct b2_backoff *backoff, int64_t retry_after_ms);
/* Sleep through the clock seam in short slices, watching cancellation. -1 if cancelled. */
int b2_sleep(struct b2_plugin *plugin, int64_t ms);

/* Whether the request may have reached B2 and been done although no answer came: a timeout or
 * a connection broken after sending. */
int b2_answer_lost(const struct b2_failure *failure);

/* A call that is not idempotent: when its answer was lost (b2_answer_lost), B2 may have done it,
 * so before asking again done() looks. 1: it was done, *response holds what B2 keeps, shaped as
 * the call's answer (as far as the caller reads it); 0: not found, or cannot tell: ask again. */
struct b2_done_check {
    int (*done)(struct b2_plugin *plugin, void *context, json_object **response);
    void *context;
};
/* Where a JSON call goes and the token it carries (auth.c's credentials, as a call reads them). */
struct b2_call_token {
    const char *api_url;
    const char *token;  /* secret */
    int from_cache;     /* the account came from the disk cache: its apiUrl may be stale */
};
/* One JSON call, as it is sent again and again: the request, and what outlives a new token. */
struct b2_json_call {
    const char *call;                  /* "b2_list_buckets" */
    const char *body;                  /* the request, JSON text */
    const struct b2_done_check *check; /* not idempotent: look before asking again, or NULL */
    int after_cancel;                  /* one try that does not watch the user's Ctrl-C */
    struct b2_backoff backoff;         /* started by the caller once, kept across tokens */
};
enum b2_call_end {
    B2_CALL_DONE,                /* *status tells: STOR_OK with *response, else err is filled */
    B2_CALL_REFUSED,             /* B2 refused the call for good: failure says why, err unfilled */
    B2_CALL_TOKEN_REFUSED,       /* token_replaceable: 401 expired/bad token */
    B2_CALL_API_URL_UNREACHABLE, /* token_replaceable: a cached apiUrl failed to connect twice */
};
/* POST {apiUrl}/b2api/v2/<call> with token and the JSON body, retrying transient failures with
 * the call's backoff (watching cancellation unless after_cancel; a non-idempotent call whose
 * answer was lost is looked after through check first). With token_replaceable it stops when a
 * new token could help, for the caller above auth.c to get one and call again. */
enum b2_call_end b2_call_json(struct b2_plugin *plugin, struct b2_json_call *json_call,
                              const struct b2_call_token *token, int token_replaceable,
                              json_object **response, struct b2_failure *failure,
                              enum stor_status *status, struct stor_error *err);

#endif
