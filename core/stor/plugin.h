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
 *      from plugins of ABI 2 or later); list flag STOR_LIST_VERSIONS */
#define STOR_ABI_VERSION 2

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
};

/* Whether host provides a slot (hosts only ever append): STOR_HOST_HAS(host, count). */
#define STOR_HOST_HAS(host, slot) \
    ((host)->struct_size >= offsetof(struct stor_host, slot) + sizeof((host)->slot) && (host)->slot)

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

/* An object as a plugin reports it. Every pointer is valid only during the callback that
 * receives it: the host copies what it keeps. Unknown fields are NULL / -1. */
struct stor_object {
    const char *key;          /* name inside the bucket; for a prefix entry it ends in '/' */
    int is_prefix;            /* a "directory" of a non-recursive listing */
    int64_t size;             /* bytes, -1 if unknown */
    int64_t mtime_ms;         /* modification or upload time, ms since the epoch, -1 if unknown */
    const char *sha1;         /* 40 lowercase hex digits, or NULL */
    const char *id;           /* backend-specific version or file id, or NULL */
    const char *content_type; /* or NULL */
    /* ABI 2 (the host ignores it from older plugins). */
    int is_hidden;            /* a version listing's hide marker: the name is deleted as of it */
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
};

enum stor_remove_flags {
    STOR_REMOVE_ALL_VERSIONS = 1 << 0, /* delete every version for good, not just hide/delete one */
};

/* ABI 2: remove_ex. With version_id, exactly that version is deleted for good; with
 * STOR_REMOVE_ALL_VERSIONS every version of the name; otherwise as remove. */
struct stor_remove_options {
    uint32_t struct_size;
    const char *version_id;
    unsigned flags;
};

/* THREADING. stor_plugin_entry may be called any time, from any thread. open and close are called
 * from one thread with nothing else in flight on that instance. Between them, put, get, list,
 * remove and get_upload_target may run concurrently on one instance from many threads: the
 * plugin locks its own shared state. close is called only after every operation returned.
 *
 * OWNERSHIP. The plugin owns everything it allocates and frees it itself; the host likewise.
 * Strings passed in are valid for the duration of the call only.
 *
 * FILES. Data moves through file descriptors owned by the caller, never through memory the size
 * of the object: put reads fd from its current position to EOF; get writes the object to fd.
 * A regular file may be read or written with pread/pwrite at any offset (parallel parts);
 * anything else (pipe, terminal) is read or written sequentially. The plugin never closes fd.
 * The host makes downloads atomic (temporary file, rename on success), so get may fail midway. */
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
    /* New slots go here, with a STOR_ABI_VERSION bump and a line in the history above. */
};

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
