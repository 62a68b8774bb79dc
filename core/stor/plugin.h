/* stor/plugin.h — the plugin ABI between the stor host and its storage backends.
 * A backend is a shared object exporting one symbol, stor_plugin_entry, that returns a const table. */
#ifndef STOR_PLUGIN_H
#define STOR_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version history (slots are only ever appended; a test freezes every offset):
 *   1  open, close, put, get, list, remove, get_upload_target
 *   2  get_ex, remove_ex, copy, cleanup; struct stor_object gains is_hidden (read by the host only
 *      from plugins of ABI 2 or later); list flag STOR_LIST_VERSIONS
 *   3  capabilities, put_ex, stat, list_buckets, create_bucket, delete_bucket, share,
 *      update_bucket, protect; remove flag STOR_REMOVE_BYPASS_GOVERNANCE; struct
 *      stor_object gains the metadata fields below is_hidden (read only from plugins of ABI 3 or
 *      later); struct stor_host gains intent; struct stor_get_options gains on_start and the
 *      expected version; status STOR_ESTALE
 *   4  remove_many (optional: the host removes one key at a time without it) */
#define STOR_ABI_VERSION 4

/* The one symbol a plugin exports; its type is stor_plugin_entry_fn. */
#define STOR_PLUGIN_ENTRY_SYMBOL "stor_plugin_entry"

/* Every operation returns one of these; the host maps them to exit codes. */
enum stor_status {
    STOR_OK = 0,
    STOR_EINVAL,       /* bad argument or option: the user must change the command */
    STOR_ENOTFOUND,    /* no such bucket or object */
    STOR_EAUTH,        /* authentication failed or permission denied */
    STOR_ETRANSIENT,   /* temporary failure that persisted through every retry */
    STOR_EUNSUPPORTED, /* the backend cannot do this */
    STOR_EIO,          /* local or remote I/O failed */
    STOR_EINTERNAL,    /* a bug, an allocation failure, or a reply that makes no sense */
    STOR_ECANCELLED,   /* the host's cancellation flag was raised */
    STOR_ESTALE,       /* ABI 3: the object is no longer the version a resumed get expected */
};

/* Caller-owned error buffer: no allocation crosses the boundary, and it is thread-safe. The
 * message is one line, never contains a secret, and is printed by the host as is. */
#define STOR_ERROR_MAX 512
struct stor_error {
    char message[STOR_ERROR_MAX];
};

/* Fill err (if not NULL) and return status, so a plugin can write `return stor_fail(...)`.
 * A message too long for the buffer (a long key) keeps its start and its end, where the reason
 * is, with "..." between; cuts fall between UTF-8 characters. */
static inline enum stor_status stor_vfail(struct stor_error *err, enum stor_status status,
                                          const char *fmt, va_list ap)
{
    if (!err)
        return status;
    char whole[4 * STOR_ERROR_MAX];
    int n = vsnprintf(whole, sizeof whole, fmt, ap);
    if (n < 0)
        whole[0] = '\0'; /* an encoding error leaves the buffer undefined */
    size_t length = n < 0 ? 0 : (size_t)n < sizeof whole ? (size_t)n : sizeof whole - 1;
    if (length < sizeof err->message) {
        memcpy(err->message, whole, length + 1);
        return status;
    }
    size_t head = STOR_ERROR_MAX / 4, tail_start = length - (STOR_ERROR_MAX - 1 - head - 3);
    while (head > 0 && ((unsigned char)whole[head] & 0xC0) == 0x80)
        head--; /* whole[head] starts a character: the head ends before it */
    while (tail_start < length && ((unsigned char)whole[tail_start] & 0xC0) == 0x80)
        tail_start++;
    memcpy(err->message, whole, head);
    memcpy(err->message + head, "...", 3);
    memcpy(err->message + head + 3, whole + tail_start, length - tail_start + 1);
    return status;
}

__attribute__((format(printf, 3, 4))) static inline enum stor_status
stor_fail(struct stor_error *err, enum stor_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stor_vfail(err, status, fmt, ap);
    va_end(ap);
    return status;
}

enum stor_log_level {
    STOR_LOG_ERROR = 0,
    STOR_LOG_WARN,
    STOR_LOG_INFO,  /* shown with -v */
    STOR_LOG_DEBUG, /* -vv */
    STOR_LOG_TRACE, /* -vvv: every request; secrets are still never logged */
};

/* ABI 3: the command's intent, in struct stor_host. */
enum stor_intent {
    STOR_INTENT_WRITE = 0, /* may create what it needs (a root directory, a bucket's cache) */
    STOR_INTENT_READ = 1,  /* only reads: creates nothing */
};

/* Services the host hands to a plugin at open. Valid until close returns. Appended to only;
 * a plugin reads a slot only if struct_size covers it. All functions are thread-safe. */
struct stor_host {
    uint32_t abi_version; /* the host's STOR_ABI_VERSION */
    uint32_t struct_size; /* sizeof(struct stor_host) as the host was built */
    /* Messages above this level are dropped; test it before formatting something costly. */
    enum stor_log_level log_level;
    /* One line, no trailing newline. The plugin never prints to stdout or stderr itself, and
     * never passes a key or token to log. */
    void (*log)(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Transfer progress of one object: done of total bytes (total 0 when unknown). */
    void (*progress)(const struct stor_host *host, const char *key, uint64_t done, uint64_t total);
    /* Non-zero once the user asked to stop (SIGINT/SIGTERM). Long operations poll it and return
     * STOR_ECANCELLED, leaving nothing half-written. */
    int (*cancelled)(const struct stor_host *host);
    /* Adds n to a named counter the host reports in transfer summaries: "retries", "requests",
     * or a backend's own such as B2's transaction classes "class_a", "class_b", "class_c". */
    void (*count)(const struct stor_host *host, const char *counter, uint64_t n);
    /* ABI 3: what the command will do with the instance being opened. With STOR_INTENT_READ
     * (ls, get, stat, share) the plugin creates nothing: no root directory, no bucket, no cache
     * it would not otherwise write. Read it at open, with STOR_HOST_HAS(host, intent) false
     * meaning STOR_INTENT_WRITE. */
    enum stor_intent intent;
};

/* Whether host provides a slot (hosts only ever append): STOR_HOST_HAS(host, count). */
#define STOR_HOST_HAS(host, slot) \
    ((host)->struct_size >= offsetof(struct stor_host, slot) + sizeof((host)->slot) && (host)->slot)
/* Whether host is new enough to have a field at all (for fields where 0 is a value). */
#define STOR_HOST_HAS_FIELD(host, field) \
    ((host)->struct_size >= offsetof(struct stor_host, field) + sizeof((host)->field))

/* One key=value option, from `-o key=value` or the environment (STOR_<BACKEND>_<KEY>, for the
 * keys listed in the backend's options doc). A key may repeat: the last value wins. */
struct stor_option {
    const char *key;
    const char *value;
};

/* Documentation of one accepted option, for `stor --backend=NAME --help`. */
struct stor_option_doc {
    const char *key;  /* e.g. "root", or "info.NAME" for a family of keys */
    const char *help; /* one line */
};

/* ABI 3: how an object is protected at rest and against deletion; shared by put_ex's options
 * and by struct stor_object. Zero-initialised means "nothing asked / nothing known" except
 * legal_hold and retain_until_ms, which are -1 for that. */
struct stor_protection {
    const char *encryption;     /* "SSE-B2", "SSE-S3", "SSE-C" (the key is a backend option), or
                                 * NULL: none asked, or none known */
    const char *retention_mode; /* "governance" or "compliance", or NULL (protect: "none"
                                 * removes the retention) */
    int64_t retain_until_ms;    /* ms since the epoch, -1 when there is no retention */
    int legal_hold;             /* 1 on, 0 off, -1 not asked / unknown */
};

/* An object as a plugin reports it. Every pointer is valid only during the callback that
 * receives it: the host copies what it keeps. Unknown fields are NULL / -1. */
struct stor_object {
    const char *key;          /* name inside the bucket; for a prefix entry it ends in '/' */
    int is_prefix;            /* a "directory" of a non-recursive listing */
    int64_t size;             /* bytes, -1 if unknown */
    /* The source file's modification time as put_ex stored it (B2: src_last_modified_millis),
     * else the upload time; ms since the epoch, -1 if unknown. Sync compares on it. */
    int64_t mtime_ms;
    const char *sha1;         /* 40 lowercase hex digits of the whole object, or NULL */
    const char *id;           /* backend-specific version or file id, or NULL */
    const char *content_type; /* or NULL */
    /* ABI 2 (the host ignores it from older plugins). */
    int is_hidden;            /* a version listing's hide marker: the name is deleted as of it */
    /* ABI 3 (the host ignores these from older plugins). A listing may leave them unknown where
     * the service lists less than it stores; stat reports everything the backend keeps. */
    int64_t upload_ms;        /* when the service stored this version, -1 if unknown */
    const char *md5;          /* 32 lowercase hex digits of the whole object, or NULL */
    const char *cache_control, *content_disposition, *content_encoding, *content_language,
        *expires;             /* the HTTP headers served with the object, or NULL */
    const struct stor_option *metadata; /* user metadata as key=value pairs, or NULL */
    size_t metadata_count;
    struct stor_protection protection;
};

/* Receives each object of a listing, in ascending byte order of key, and the single result of
 * put/get. Returning non-zero stops a listing (the operation then returns STOR_ECANCELLED). */
typedef int (*stor_object_fn)(void *context, const struct stor_object *object);

/* Where to send an upload directly, as handed out by get_upload_target. Once reported, the
 * target belongs to the caller: the backend never uses it again itself. */
struct stor_upload_target {
    const char *bucket_id;     /* backend's id for the bucket */
    const char *url;           /* upload URL */
    const char *token;         /* credential for url, or NULL if none is needed */
    int64_t expires_at_ms;     /* ms since the epoch, or -1 if it does not expire */
};

typedef void (*stor_upload_target_fn)(void *context, const struct stor_upload_target *target);

/* ABI 3: what put_ex knows about the source and what it asks the backend to keep. Fields a
 * backend cannot keep make put_ex fail with STOR_EUNSUPPORTED and a message naming the field
 * (e.g. "backend local does not keep content-type"), before anything is stored. A zero-
 * initialised struct with size, mtime_ms, retain_until_ms and legal_hold at -1 asks for nothing. */
struct stor_put_options {
    uint32_t struct_size;     /* sizeof(struct stor_put_options) as the caller was built */
    int64_t size;             /* the source's size in bytes, -1 when unknown (a pipe) */
    int64_t mtime_ms;         /* the source's modification time, -1 when unknown */
    const char *sha1;         /* the source's SHA-1 when the host already knows it, or NULL; the
                               * backend may trust it instead of hashing, and verifies it where
                               * it hashes anyway */
    const char *content_type; /* or NULL: the backend's default */
    const char *cache_control, *content_disposition, *content_encoding, *content_language,
        *expires;             /* or NULL */
    const struct stor_option *metadata; /* user metadata, key=value, or NULL */
    size_t metadata_count;
    struct stor_protection protection;
};

enum stor_list_flags {
    STOR_LIST_RECURSIVE = 1 << 0, /* every key below prefix, not one level */
    STOR_LIST_VERSIONS = 1 << 1,  /* ABI 2: every version of every name, newest first within a
                                   * name, with its id, and hide markers flagged is_hidden */
};

/* ABI 2: what part of which version get_ex fetches. Zero-initialised means "all of the current
 * version", except length, which must be -1 for "to the end". */
struct stor_get_options {
    uint32_t struct_size;   /* sizeof(struct stor_get_options) as the caller was built */
    const char *version_id; /* a version id from a listing, or NULL for the current version */
    int64_t offset;         /* first byte wanted */
    int64_t length;         /* bytes wanted from offset, or -1 for all the rest */
    /* When resume is set, fd is a regular file that already holds `offset` bytes of this very
     * version (an interrupted download): the plugin appends the rest at that offset and verifies
     * the whole file, reading the first part back from fd. */
    int resume;
    /* ABI 3 (read only when struct_size covers them). With expected_id or expected_sha1 set (a
     * resumed get), the object must still be that version: if it is not, the plugin writes
     * nothing and returns STOR_ESTALE, and the host starts the download afresh. */
    const char *expected_id;
    const char *expected_sha1;
    /* Called once, before the first byte is written to fd, with the version about to be written
     * (its id, SHA-1 and size where known): the host records them to resume later. May be NULL;
     * a non-zero return cancels the get (STOR_ECANCELLED). */
    stor_object_fn on_start;
    void *start_context;
};

enum stor_remove_flags {
    STOR_REMOVE_ALL_VERSIONS = 1 << 0, /* delete every version for good, not just hide/delete one */
    STOR_REMOVE_BYPASS_GOVERNANCE = 1 << 1, /* ABI 3: also versions under governance retention,
                                             * where the credentials allow it */
};

/* ABI 2: remove_ex. With version_id, exactly that version is deleted for good; with
 * STOR_REMOVE_ALL_VERSIONS every version of the name; otherwise as remove. */
struct stor_remove_options {
    uint32_t struct_size;
    const char *version_id;
    unsigned flags;
};

/* ABI 3: a bucket as list_buckets and create_bucket report it (valid during the callback). */
struct stor_bucket {
    const char *name;
    const char *id;      /* backend's id, or NULL */
    int is_public;       /* anyone may read its objects: 1, 0, or -1 unknown */
    int64_t created_ms;  /* -1 if unknown */
    /* Backend-defined settings as key=value (e.g. B2's lifecycle rules, default encryption,
     * Object Lock), for `stor bucket NAME`; may be NULL. */
    const struct stor_option *settings;
    size_t setting_count;
};
typedef int (*stor_bucket_fn)(void *context, const struct stor_bucket *bucket);

struct stor_bucket_options {
    uint32_t struct_size;
    int is_public;       /* 1 public, 0 private; update_bucket: -1 leaves it as it is */
    /* Backend-defined settings, documented in the backend's option list as "bucket.KEY"; one the
     * backend does not know is refused with STOR_EINVAL naming it. */
    const struct stor_option *settings;
    size_t setting_count;
};

/* ABI 3: protect's flags. */
enum stor_protect_flags {
    STOR_PROTECT_BYPASS_GOVERNANCE = 1 << 0, /* shorten or remove governance retention */
};

/* ABI 4: the outcome of one key of remove_many: its index in keys, STOR_OK or why it stays
 * (message: one line, or NULL when removed). */
typedef void (*stor_removed_fn)(void *context, size_t index, enum stor_status status,
                                const char *message);

/* ABI 3: a URL anyone can fetch without credentials until expires_at_ms. */
typedef void (*stor_url_fn)(void *context, const char *url, int64_t expires_at_ms);

/* ABI 3: what a backend can do, so the host picks a strategy instead of probing for NULL slots.
 * A capability declared must work; an operation outside them returns STOR_EUNSUPPORTED (a NULL
 * slot is the same). stor-plugin-check tests both. */
enum stor_capability {
    STOR_CAP_VERSIONS = 1u << 0,      /* STOR_LIST_VERSIONS; get_ex, stat, remove_ex by version */
    STOR_CAP_SERVER_COPY = 1u << 1,   /* copy, inside the service */
    STOR_CAP_RANGED_GET = 1u << 2,    /* get_ex with offset and length */
    STOR_CAP_RESUME_GET = 1u << 3,    /* get_ex with resume, expected_id and expected_sha1 */
    STOR_CAP_RESUME_PUT = 1u << 4,    /* an interrupted large put continues on the next one */
    STOR_CAP_SHARE = 1u << 5,         /* share */
    STOR_CAP_METADATA = 1u << 6,      /* put_ex keeps content type, headers and user metadata */
    STOR_CAP_MTIME = 1u << 7,         /* put_ex keeps the source mtime: mtime_ms reads it back */
    STOR_CAP_SHA1 = 1u << 8,          /* objects carry sha1 (listings and stat) */
    STOR_CAP_MD5 = 1u << 9,           /* objects carry md5 */
    STOR_CAP_BUCKETS = 1u << 10,      /* list_buckets, create_bucket, delete_bucket (and
                                       * update_bucket, where present) */
    STOR_CAP_DELIMITER = 1u << 11,    /* list builds one-level listings itself; without it the host
                                       * asks for a recursive listing and folds it at '/' */
    STOR_CAP_CLEANUP = 1u << 12,      /* cleanup */
    STOR_CAP_UPLOAD_TARGET = 1u << 13, /* get_upload_target */
    STOR_CAP_ENCRYPTION = 1u << 14,   /* put_ex's protection.encryption */
    STOR_CAP_RETENTION = 1u << 15,    /* put_ex's retention and legal hold (protect changes
                                       * them, where present) */
};

/* THREADING. stor_plugin_entry may be called any time, from any thread. open and close are called
 * from one thread with nothing else in flight on that instance. Between them, put, get, list,
 * remove and get_upload_target, and every slot of ABI 2 and 3, may run concurrently on one instance
 * from many threads: the plugin locks its own shared state. close is called only after every
 * operation returned.
 *
 * KEYS. The host validates every bucket and key once, in one place, before any call: no control
 * characters, no invalid UTF-8, no empty segment ("a//b"), no "." or ".." segment, no leading
 * '/'. A plugin may refuse more (its service's own rules) with STOR_EINVAL. '/' is the separator
 * of one-level listings.
 *
 * REMOVE. remove makes the name disappear from listings and get: where the backend keeps
 * versions it may hide (the versions stay, remove_ex deletes them); a missing name is
 * STOR_ENOTFOUND. Every missing bucket, object or version is STOR_ENOTFOUND, in every slot.
 *
 * HELP. description is one line; option help is one line each; notes are paragraphs separated by
 * blank lines. The host wraps all of them to the terminal, so a plugin never breaks lines itself.
 *
 * OWNERSHIP. The plugin owns everything it allocates and frees it itself; the host likewise.
 * Strings passed in are valid for the duration of the call only.
 *
 * FILES. Data moves through file descriptors owned by the caller, never through memory the size
 * of the object: put reads fd from its current position to EOF; get writes the object to fd.
 * A regular file may be read or written with pread/pwrite at any offset (parallel parts);
 * anything else (pipe, terminal) is read or written sequentially. The plugin never closes fd.
 * The host makes downloads atomic (temporary file, rename on success), so get may fail midway.
 * A put stores nothing before it read fd to its end, and a failed read fails it, leaving the
 * previous object: a copy between two places reports a failed or lying source as ECONNRESET. */
struct stor_backend {
    /* Header, stable across every ABI version. */
    uint32_t abi_version;  /* STOR_ABI_VERSION the plugin was built against */
    uint32_t struct_size;  /* sizeof(struct stor_backend) as the plugin was built */
    const char *name;      /* matches the file name: NAME.so */
    const char *description;            /* one line */
    const struct stor_option_doc *options; /* terminated by {NULL, NULL}; may be NULL */
    const char *notes;     /* extra paragraphs for --help (semantics worth knowing), or NULL */

    /* ABI 1. Required: open, close, put, get, list. Optional (NULL = unsupported): the rest. */

    /* Create an instance. Options unknown to the plugin are an error naming the key. On failure
     * *instance stays NULL and close is not called. host->abi_version lets a plugin refuse a host
     * older than it needs (compare with <, never !=). */
    enum stor_status (*open)(const struct stor_host *host, const struct stor_option *options,
                             size_t option_count, void **instance, struct stor_error *err);
    void (*close)(void *instance);

    /* Store the bytes of fd as bucket/key, replacing any previous object atomically. On success
     * reports the stored object once through on_result. */
    enum stor_status (*put)(void *instance, const char *bucket, const char *key, int fd,
                            stor_object_fn on_result, void *context, struct stor_error *err);
    /* Write the object's bytes to fd, verifying integrity where the backend can; reports the
     * object once through on_result before returning STOR_OK. */
    enum stor_status (*get)(void *instance, const char *bucket, const char *key, int fd,
                            stor_object_fn on_result, void *context, struct stor_error *err);
    /* Report every object whose key starts with prefix ("" for all), streaming as it goes. */
    enum stor_status (*list)(void *instance, const char *bucket, const char *prefix,
                             unsigned flags, stor_object_fn on_object, void *context,
                             struct stor_error *err);
    enum stor_status (*remove)(void *instance, const char *bucket, const char *key,
                               struct stor_error *err);
    enum stor_status (*get_upload_target)(void *instance, const char *bucket,
                                          stor_upload_target_fn on_target, void *context,
                                          struct stor_error *err);

    /* ABI 2. All optional. */

    /* get with a version, a byte range, or resuming a partial file (see stor_get_options). A
     * ranged get verifies what it can (a whole-object SHA-1 only when the whole object passed). */
    enum stor_status (*get_ex)(void *instance, const char *bucket, const char *key,
                               const struct stor_get_options *options, int fd,
                               stor_object_fn on_result, void *context, struct stor_error *err);
    enum stor_status (*remove_ex)(void *instance, const char *bucket, const char *key,
                                  const struct stor_remove_options *options, struct stor_error *err);
    /* Copy inside the service, never through the host: the bytes stay where they are. Reports the
     * new object through on_result. The host falls back to get + put when this is NULL. */
    enum stor_status (*copy)(void *instance, const char *source_bucket, const char *source_key,
                             const char *bucket, const char *key, stor_object_fn on_result,
                             void *context, struct stor_error *err);
    /* Cancel unfinished multi-part uploads whose names start with prefix and that were started
     * more than older_than_ms ago (0: any age), reporting each (key, id, mtime_ms = start) through
     * on_object; with dry_run only report them. */
    enum stor_status (*cleanup)(void *instance, const char *bucket, const char *prefix,
                                int64_t older_than_ms, int dry_run, stor_object_fn on_object,
                                void *context, struct stor_error *err);

    /* ABI 3. All optional except capabilities, which reads 0 (nothing beyond ABI 1) if unset. */

    uint64_t capabilities; /* STOR_CAP_* bits */
    /* put with what the host knows of the source and what to keep with it (stor_put_options).
     * Any field the backend cannot keep is STOR_EUNSUPPORTED naming it, before storing. */
    enum stor_status (*put_ex)(void *instance, const char *bucket, const char *key,
                               const struct stor_put_options *options, int fd,
                               stor_object_fn on_result, void *context, struct stor_error *err);
    /* One object's full metadata (version_id NULL: the current version), without listing its
     * neighbours, reported once through on_result. A hidden or missing name is STOR_ENOTFOUND. */
    enum stor_status (*stat)(void *instance, const char *bucket, const char *key,
                             const char *version_id, stor_object_fn on_result, void *context,
                             struct stor_error *err);
    /* Every bucket the credentials may use, in ascending byte order of name. */
    enum stor_status (*list_buckets)(void *instance, stor_bucket_fn on_bucket, void *context,
                                     struct stor_error *err);
    /* Creates bucket (an existing one is STOR_EINVAL, saying so) and reports it once. */
    enum stor_status (*create_bucket)(void *instance, const char *bucket,
                                      const struct stor_bucket_options *options,
                                      stor_bucket_fn on_result, void *context,
                                      struct stor_error *err);
    /* Deletes an empty bucket; one that holds objects is STOR_EINVAL, saying so. */
    enum stor_status (*delete_bucket)(void *instance, const char *bucket, struct stor_error *err);
    /* A URL for key (or, when key_or_prefix ends in '/', for every key below that prefix where
     * the backend can) valid for expires_ms from now; out-of-range durations are STOR_EINVAL
     * naming the range. */
    enum stor_status (*share)(void *instance, const char *bucket, const char *key_or_prefix,
                              int64_t expires_ms, stor_url_fn on_url, void *context,
                              struct stor_error *err);
    /* Changes an existing bucket: is_public unless -1, and the settings given (the others stay
     * as they are); reports the bucket as it now is, once. A missing bucket is STOR_ENOTFOUND. */
    enum stor_status (*update_bucket)(void *instance, const char *bucket,
                                      const struct stor_bucket_options *options,
                                      stor_bucket_fn on_result, void *context,
                                      struct stor_error *err);
    /* Changes the Object Lock of one version (version_id NULL: the current one): retention when
     * protection->retention_mode is set ("none" removes it, retain_until_ms -1), the legal hold
     * unless legal_hold is -1; encryption must be NULL. flags: STOR_PROTECT_* . Reports the
     * version as it now is, once. What the service forbids (shortening compliance, removing
     * governance without the bypass) is STOR_EAUTH saying why. */
    enum stor_status (*protect)(void *instance, const char *bucket, const char *key,
                                const char *version_id, const struct stor_protection *protection,
                                unsigned flags, stor_object_fn on_result, void *context,
                                struct stor_error *err);

    /* ABI 4. Optional. */

    /* Removes count names of bucket, each as remove would (where the backend keeps versions it
     * hides them), in as few requests as the service allows: rm -r and sync --delete call it
     * with up to STOR_REMOVE_MANY_MAX keys, and remove one key at a time when it is NULL.
     * on_removed hears of every key exactly once, in any order; unlike remove, a name already
     * gone may be reported removed (a batch cannot tell). Returns STOR_OK when every key was
     * removed, else the status of a failure, err describing it. */
    enum stor_status (*remove_many)(void *instance, const char *bucket, const char *const *keys,
                                    size_t count, stor_removed_fn on_removed, void *context,
                                    struct stor_error *err);
    /* New slots go here, with a STOR_ABI_VERSION bump and a line in the history above. */
};

/* The most keys the host hands remove_many at once (a plugin splits them as its service needs). */
#define STOR_REMOVE_MANY_MAX 1000

/* Size of the ABI 1 table: the host refuses anything shorter. */
#define STOR_BACKEND_V1_SIZE \
    (offsetof(struct stor_backend, get_upload_target) + sizeof(void (*)(void)))

typedef const struct stor_backend *(*stor_plugin_entry_fn)(void);

/* Declare the entry point in a plugin:  STOR_PLUGIN_EXPORT const struct stor_backend *
 * stor_plugin_entry(void) { return &my_backend; } */
#define STOR_PLUGIN_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
}
#endif
#endif /* STOR_PLUGIN_H */
