/* plugins/b2/b2.h — the B2 plugin's instance and the functions its rooms offer each other:
 * call.c (one call, its failure, backoff), auth.c, authorized.c, bucket.c, pool.c, the operations. */
#ifndef B2_B2_H
#define B2_B2_H

#include <pthread.h>
#include <stdint.h>
#include <stor/plugin.h>

#include "cache.h"
#include "clock.h"
#include "host_services.h"
#include "http.h"
#include "wire.h"

#define B2_DEFAULT_ENDPOINT "https://api.backblazeb2.com"
/* Account tokens and upload targets live 24 h; we stop using them an hour early, so an upload
 * that starts just before the limit still finishes inside it. */
#define B2_TOKEN_LIFE_MS (24LL * 3600 * 1000)
#define B2_TOKEN_MARGIN_MS (3600LL * 1000)
#define B2_SINGLE_UPLOAD_MAX 5000000000LL
#define B2_UPLOAD_TARGET_TRIES 5 /* "try five different upload URLs" (Backblaze, Uploading) */
#define B2_BACKOFF_FIRST_MS 1000
#define B2_BACKOFF_CAP_MS 64000

struct b2_info {
    char *name;
    char *value;
};

struct b2_config {
    char *endpoint;         /* no trailing '/' */
    char *key_id;
    char *key;              /* secret */
    char *key_basic;        /* secret: Base64 of "key_id:key", as Basic auth sends it */
    int retries;            /* tries of one API call */
    int64_t retry_time_ms;  /* and the time they may take */
    char *content_type;
    struct b2_info *info;   /* -o info.NAME=VALUE */
    size_t info_count;
    int64_t upload_cutoff;
    int disk_cache;
    char *cache_dir;        /* NULL: the environment's default */
    long connect_timeout_s;
    long idle_timeout_s;
    /* large files (large_file.c) */
    int transfers;          /* parts of one file in flight at once */
    int64_t part_size;      /* 0: sized per file */
    int resume;             /* continue a matching unfinished large file */
    /* ---- downloads and copies (download.c, copy.c) ---- */
    char *download_url;         /* -o download_url: by-name downloads go there (a CDN), or NULL */
    int64_t download_part_size; /* bytes per parallel range; 0: the account's recommended size */
    /* ---- server-side encryption (protection.c) ---- */
    char *sse_c_key_b64;        /* secret: -o sse_c_key_file's 32 bytes, base64, or NULL */
    char *sse_c_key_md5;        /* secret too: base64 of the key's MD5, as B2 checks it */
};

struct b2_plugin {
    const struct stor_host *host;
    struct b2_http *http;
    struct b2_clock clock;
    struct b2_config config;
    struct b2_cache *cache; /* NULL: memory only */

    /* Held through a whole authorization, so a refresh is single-flight. */
    pthread_mutex_t auth_lock;
    struct b2_account account; /* account.token == NULL until authorized */
    uint64_t auth_generation;  /* bumped on every new token */
    int said_unreachable;      /* the one warning that B2 cannot be reached was given */

    pthread_mutex_t bucket_lock;
    pthread_mutex_t bucket_lookup_lock; /* one b2_list_buckets at a time: threads share it */
    struct b2_bucket_ref *bucket_ids; /* name -> id learned this run */
    size_t bucket_id_count;

    pthread_mutex_t pool_lock;
    struct b2_target *idle_targets; /* upload targets ready for a lease, every bucket */
    size_t idle_count, idle_capacity;
};

/* ---- plugin.c ---- */
/* Build an instance from the options and a clock; the caller then installs plugin->http (the
 * libcurl transport in open, a scripted one in tests), which destroy frees. */
enum stor_status b2_plugin_create(const struct stor_host *host, const struct stor_option *options,
                                  size_t option_count, struct b2_clock clock,
                                  struct b2_plugin **plugin, struct stor_error *err);
void b2_plugin_destroy(struct b2_plugin *plugin);

/* ---- call.c: one exchange's failure, classified per reference §2.3 ---- */
enum b2_failure_kind {
    B2_FAILURE_NONE = 0,
    B2_FAILURE_EXPIRED,   /* 401 bad/expired token (or bare 401): new token or target */
    B2_FAILURE_TRANSIENT, /* network, timeout, 408, 429, 5xx: back off and retry */
    B2_FAILURE_FATAL,     /* everything else: report */
    B2_FAILURE_CANCELLED,
};

struct b2_failure {
    enum b2_failure_kind kind;
    enum b2_http_outcome outcome;
    long http_status;
    char code[64];         /* B2's code, "" if none */
    char message[256];     /* B2's message or the transport's words, one line, secrets removed */
    int64_t retry_after_ms; /* -1 if none */
};

/* Classify a response. The token that was sent, and the account's key in each form (config may
 * be NULL), are cut out of what B2 said: a server may echo any of them. */
void b2_failure_from_response(const struct b2_http_response *response,
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
                const struct b2_http_request *request, struct b2_http_response *response);

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

/* ---- auth.c ---- */
struct b2_credentials {
    char *token;        /* secret */
    char *api_url;
    char *download_url;
    char *account_id;
    uint64_t generation;
    int from_cache;     /* the account came from the disk cache (its apiUrl may be stale) */
};
/* Copy the current account token (authorizing, or loading the disk cache, first if needed). */
enum stor_status b2_auth_get(struct b2_plugin *plugin, struct b2_credentials *credentials,
                             struct stor_error *err);
/* Authorizes (or loads the disk cache) if needed, so the account's fields are known. */
enum stor_status b2_auth_ensure(struct b2_plugin *plugin, struct stor_error *err);
/* The token of generation stale was refused: get a new one unless another thread already did. */
enum stor_status b2_auth_refresh(struct b2_plugin *plugin, uint64_t stale,
                                 struct stor_error *err);
/* B2 refused credentials' token as expired: swap in a fresh copy (one refresh among all threads).
 * On failure credentials is left empty, so there is nothing to free. */
enum stor_status b2_auth_reauthorize(struct b2_plugin *plugin, struct b2_credentials *credentials,
                                     struct stor_error *err);
void b2_credentials_free(struct b2_credentials *credentials);
/* 1 if the key has capability, 0 if it lacks it, -1 if not known yet. */
int b2_auth_has_capability(struct b2_plugin *plugin, const char *capability);
/* The key's name prefix restriction (malloc'd), or NULL when it has none or is not known. */
char *b2_auth_name_prefix(struct b2_plugin *plugin);
/* The prefix a listing of `asked` sends under the key (B2 answers 401 to one wider than the
 * key's name prefix): asked itself when it lies inside the key's prefix, the key's prefix when
 * asked is wider ("" or "all" for "allowed/"). *narrowed is malloc'd, or NULL to send asked as
 * is; STOR_EAUTH when the two do not meet. Authorizes first if needed. */
enum stor_status b2_auth_listing_prefix(struct b2_plugin *plugin, const char *asked,
                                        char **narrowed, struct stor_error *err);
/* Before anything is sent: the key may write bucket/key (its bucket and name-prefix restrictions
 * allow it), else STOR_EAUTH naming what the key is restricted to. */
enum stor_status b2_auth_check_name(struct b2_plugin *plugin, const char *bucket, const char *key,
                                    struct stor_error *err);
/* Whether the key is restricted to other buckets than name; if so err says which it may use, so
 * nothing is sent to a bucket the key cannot reach. */
int b2_auth_refuses_bucket(struct b2_plugin *plugin, const char *name, struct stor_error *err);
/* The allowed bucket id for name from the key's restrictions (malloc'd), or NULL. */
char *b2_auth_allowed_bucket(struct b2_plugin *plugin, const char *name);
/* Copies of every bucket the key is restricted to (names NULL where B2 does not say); none
 * (*count 0) when it may use every bucket. Authorizes first if needed. */
enum stor_status b2_auth_allowed_buckets(struct b2_plugin *plugin, struct b2_bucket_ref **buckets,
                                         size_t *count, struct stor_error *err);
void b2_bucket_refs_free(struct b2_bucket_ref *buckets, size_t count);

/* ---- authorized.c: JSON calls with the account token, above auth.c ---- */
/* POST {apiUrl}/b2api/v2/<call> with the account token and JSON body request; retries transient
 * failures, re-authorizes once on an expired token. On STOR_OK *response holds the parsed
 * object; otherwise err is filled and failure (if given) tells what B2 said. */
enum stor_status b2_api_call(struct b2_plugin *plugin, const char *call, json_object *request,
                             const char *capability, json_object **response,
                             struct b2_failure *failure, struct stor_error *err);
/* The same for a call that is not idempotent: check looks whether B2 did it when its answer was
 * lost, before it is asked again. */
enum stor_status b2_api_call_checked(struct b2_plugin *plugin, const char *call,
                                     json_object *request, const char *capability,
                                     const struct b2_done_check *check, json_object **response,
                                     struct b2_failure *failure, struct stor_error *err);
/* One try of call even after the user's Ctrl-C: the clean-up a cancelled operation owes (its
 * unfinished large file cancelled, so that nothing is left billed). A second Ctrl-C ends the
 * process, so this cannot hold it up against the user's will. */
enum stor_status b2_api_call_after_cancel(struct b2_plugin *plugin, const char *call,
                                          json_object *request, const char *capability,
                                          json_object **response, struct stor_error *err);
/* Report failure of call as the user should read it, asking auth.c whether the key has
 * capability (what call needs, or NULL) when B2 says unauthorized. */
enum stor_status b2_fail(struct b2_plugin *plugin, struct stor_error *err, const char *call,
                         const struct b2_failure *failure, const char *capability);

/* ---- bucket.c ---- */
/* Bucket name -> id: memory, disk cache, the key's allowed buckets, then b2_list_buckets.
 * refresh forgets what was known first (after bad_bucket_id). *id is malloc'd. */
enum stor_status b2_bucket_id(struct b2_plugin *plugin, const char *name, int refresh, char **id,
                              struct stor_error *err);
/* A bucket created (or listed): name -> id kept in memory and in the disk cache. */
void b2_bucket_learn(struct b2_plugin *plugin, const char *name, const char *id);
/* A bucket deleted: its id forgotten, in memory and in the disk cache. */
void b2_bucket_forget(struct b2_plugin *plugin, const char *name);

/* A bucket-scoped call: request gets the bucket's bucketId, and B2's bad_bucket_id resolves the
 * name once more (the bucket may have been made again) before it means "no bucket". */
enum stor_status b2_bucket_call(struct b2_plugin *plugin, const char *bucket, const char *call,
                                json_object *request, const char *capability,
                                json_object **response, struct b2_failure *failure,
                                struct stor_error *err);
enum stor_status b2_bucket_call_checked(struct b2_plugin *plugin, const char *bucket,
                                        const char *call, json_object *request,
                                        const char *capability, const struct b2_done_check *check,
                                        json_object **response, struct b2_failure *failure,
                                        struct stor_error *err);

/* ---- pool.c ---- */
/* An exclusive upload target for bucket_id: from the pool unless fresh, else b2_get_upload_url. */
enum stor_status b2_pool_lease(struct b2_plugin *plugin, const char *bucket_id, int fresh,
                               struct b2_target *target, struct b2_failure *failure,
                               struct stor_error *err);
/* Give a target that just worked back for the next lease (frees it if past its validity). */
void b2_pool_return(struct b2_plugin *plugin, struct b2_target *target);
/* Lease for a bucket by name, re-resolving the name once if B2 says bad_bucket_id. */
enum stor_status b2_lease_for_bucket(struct b2_plugin *plugin, const char *bucket, int fresh,
                                     struct b2_target *target, struct stor_error *err);
/* A bucket deleted: every idle upload target for it dropped, in memory and in the disk cache. */
void b2_pool_forget_bucket(struct b2_plugin *plugin, const char *bucket_id);
/* Hand idle targets to the disk cache for the next process (at close). */
void b2_pool_persist(struct b2_plugin *plugin);
int b2_target_usable(const struct b2_plugin *plugin, const struct b2_target *target);

/* ---- objects.c: stored files as the operations share them ---- */
/* The current (newest, not hidden) version of exactly key: b2_list_file_names from key, one
 * entry. *answer holds the listing (put it), *entry the file in it; STOR_ENOTFOUND if none. */
enum stor_status b2_current_version(struct b2_plugin *plugin, const char *bucket, const char *key,
                                    json_object **answer, json_object **entry,
                                    struct stor_error *err);
/* A listing that cannot be believed: a name outside the prefix asked for, or a cursor that does
 * not advance (which would loop for good). Both STOR_EINTERNAL, with a message naming the call. */
enum stor_status b2_listed_outside(struct stor_error *err, const char *call, const char *name,
                                   const char *prefix);
enum stor_status b2_cursor_stuck(struct stor_error *err, const char *call, const char *field);
/* The SHA-1 to report for a listed file (contentSha1, else large_file_sha1), or NULL. */
const char *b2_file_sha1(const struct b2_file *file);
/* A stored file as the host sees it, every field the file object carries: name, size, mtime
 * (src_last_modified_millis, else the upload time), upload time, id, type, MD5, the b2-* headers,
 * user metadata, protection; folders and hide markers as such; sha1 as given. Points into file. */
struct stor_object b2_file_object(const struct b2_file *file, const char *sha1);


/* ---- the operations (upload.c, download.c, list.c, versions.c) ---- */
enum stor_status b2_put(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err);
/* put with put_ex's options (NULL: the defaults, which is what put is). */
enum stor_status b2_put_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_put_options *options, int fd,
                           stor_object_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_list(void *instance, const char *bucket, const char *prefix, unsigned flags,
                         stor_object_fn on_object, void *context, struct stor_error *err);
enum stor_status b2_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err);
enum stor_status b2_get_upload_target(void *instance, const char *bucket,
                                      stor_upload_target_fn on_target, void *context,
                                      struct stor_error *err);

/* ---- protection.c: SSE-B2, SSE-C and Object Lock on the wire ---- */
enum b2_sse { B2_SSE_NONE = 0, B2_SSE_B2, B2_SSE_C };
/* -o sse_c_key_file: exactly 32 bytes, in a file of ours that nobody else may read. */
enum stor_status b2_sse_c_load(const char *path, struct b2_config *config, struct stor_error *err);
void b2_sse_c_forget(struct b2_config *config);
/* The three SSE-C header lines of config's key (none without one). 0, or -1 when full. */
int b2_sse_c_headers(const struct b2_config *config, char **lines, size_t *count, size_t max_lines);
/* {"mode": "SSE-B2", "algorithm": "AES256"}, or SSE-C with config's customerKey and
 * customerKeyMd5; NULL for B2_SSE_NONE. */
json_object *b2_sse_json(const struct b2_config *config, enum b2_sse mode);
/* A read of an SSE-C file B2 refused (403 access_denied): the one line saying why. 0 when the
 * failure is something else. */
int b2_sse_c_refused(const struct b2_plugin *plugin, const struct b2_failure *failure,
                     const char *what, enum stor_status *status, struct stor_error *err);

/* ---- ABI 3: stat.c, bucket_admin.c, share.c ---- */
enum stor_status b2_stat(void *instance, const char *bucket, const char *key,
                         const char *version_id, stor_object_fn on_result, void *context,
                         struct stor_error *err);
enum stor_status b2_list_buckets(void *instance, stor_bucket_fn on_bucket, void *context,
                                 struct stor_error *err);
enum stor_status b2_create_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_delete_bucket(void *instance, const char *bucket, struct stor_error *err);
enum stor_status b2_update_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err);
/* object_lock.c: protect (b2_update_file_retention, b2_update_file_legal_hold). */
enum stor_status b2_protect(void *instance, const char *bucket, const char *key,
                            const char *version_id, const struct stor_protection *protection,
                            unsigned flags, stor_object_fn on_result, void *context,
                            struct stor_error *err);
#define B2_SHARE_SECONDS_MAX 604800 /* b2_get_download_authorization: 1 s to one week */
enum stor_status b2_share(void *instance, const char *bucket, const char *key_or_prefix,
                          int64_t expires_ms, stor_url_fn on_url, void *context,
                          struct stor_error *err);

/* ---- large files: large_file.c (sizes, parts, resume), cleanup.c (unfinished files) ---- */
#define B2_DEFAULT_UPLOAD_CUTOFF (200LL << 20)
#define B2_DEFAULT_TRANSFERS 4
#define B2_MAX_TRANSFERS 64
#define B2_PART_SIZE_MIN 5000000LL    /* B2's absoluteMinimumPartSize (the account may say more) */
#define B2_PART_SIZE_MAX 5000000000LL
#define B2_PART_SIZE_RECOMMENDED 100000000LL
#define B2_PARTS_MAX 10000

/* "5000000", "5M" (powers of 1000: K M G T, optional B), "5MiB" (powers of 1024). 0 or -1. */
int b2_parse_size(const char *text, int64_t *bytes);
/* The part size of a size-byte file: configured (0 = choose), else max(recommended capped at the
 * cutoff, ceil(size / 10,000)), within [minimum, 5 GB]. -1 with why when nothing fits. */
int64_t b2_part_size_for(int64_t size, int64_t configured, int64_t cutoff, int64_t recommended,
                         int64_t minimum, char *why, size_t why_size);

/* Each unfinished large file under prefix in bucket_id, oldest first (paged); on_file returns
 * non-zero to stop (the listing then returns STOR_ECANCELLED). */
typedef int (*b2_unfinished_fn)(void *context, json_object *file);
enum stor_status b2_list_unfinished(struct b2_plugin *plugin, const char *bucket_id,
                                    const char *prefix, b2_unfinished_fn on_file, void *context,
                                    struct stor_error *err);
enum stor_status b2_cancel_large_file(struct b2_plugin *plugin, const char *file_id,
                                      struct stor_error *err);
/* b2_get_file_info on a large file whose finish failed: whether it is finished all the same with
 * length bytes (the answer to a finish whose reply was lost, reference §8.4). If so, *response
 * holds the file, shaped as b2_finish_large_file's answer. */
int b2_large_file_finished(struct b2_plugin *plugin, const char *file_id, int64_t length,
                           json_object **response);
enum stor_status b2_cleanup(void *instance, const char *bucket, const char *prefix,
                            int64_t older_than_ms, int dry_run, stor_object_fn on_object,
                            void *context, struct stor_error *err);
/* ---- downloads, versions, deletes, copies (download.c, versions.c, copy.c) ---- */
enum stor_status b2_get_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_get_options *options, int fd,
                           stor_object_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_remove_ex(void *instance, const char *bucket, const char *key,
                              const struct stor_remove_options *options, struct stor_error *err);
enum stor_status b2_copy(void *instance, const char *source_bucket, const char *source_key,
                         const char *bucket, const char *key, stor_object_fn on_result,
                         void *context, struct stor_error *err);
/* versions.c: b2_list_file_versions (STOR_LIST_VERSIONS listings). exact_name: only that name. */
enum stor_status b2_list_versions(struct b2_plugin *plugin, const char *bucket, const char *prefix,
                                  const char *exact_name, unsigned flags, stor_object_fn on_object,
                                  void *context, struct stor_error *err);
#endif
