/* commands.h — the CLI commands (put, get, ls, rm, upload-target) run against an open backend,
 * and the mapping from a backend's status to the documented exit codes. */
#ifndef STOR_COMMANDS_H
#define STOR_COMMANDS_H

#include <json-c/json.h>

#include "filter.h"
#include "loader.h"

/* Exit codes, documented in README.md and `stor --help`. */
enum stor_exit {
    STOR_EXIT_OK = 0,
    STOR_EXIT_FAILURE = 1,     /* I/O error, internal error, anything else */
    STOR_EXIT_USAGE = 2,       /* bad command line or option */
    STOR_EXIT_NOT_FOUND = 3,   /* no such bucket, object or backend */
    STOR_EXIT_AUTH = 4,        /* authentication or permission */
    STOR_EXIT_TRANSIENT = 5,   /* temporary failure that outlasted every retry */
    STOR_EXIT_UNSUPPORTED = 6, /* the backend cannot do this */
    STOR_EXIT_PARTIAL = 7,     /* a multi-file transfer where some files failed */
    STOR_EXIT_CANCELLED = 130, /* interrupted (SIGINT/SIGTERM) */
};

int stor_exit_code(enum stor_status status);

/* Everything a command needs: the backend, its instance and how to print. */
struct stor_session {
    const struct stor_plugin *plugin;
    void *instance;
    const struct stor_host *host;
    int json;      /* machine-readable output */
    int quiet;     /* no informational output */
    int verbose;   /* -v: a line per file of a directory transfer */
    int long_list; /* ls -l */
    int recursive; /* ls -r, put -r, get -r */
    /* directory transfers */
    int transfers;     /* parallel files */
    int dry_run;
    int skip_existing;
    int follow_links;  /* put -r -L: follow symbolic links (each directory entered once) */
    const struct stor_filter *filter;
    /* versions and ranges */
    int versions;            /* ls --versions */
    int hard;                /* rm/mv --hard: every version, for good */
    const char *version_id;  /* get/rm --version */
    int yes;                 /* rm -r without asking */
    int64_t range_start;     /* get --range, -1 when not given */
    int64_t range_end;       /* inclusive, -1 for "to the end" */
    int64_t older_than_ms;   /* cleanup --older-than */
    /* put: what to keep with each object (--content-type, --meta, the headers), or NULL */
    const struct stor_put_options *keep;
    int guess_content_type;  /* put: a content type from each name's extension */
    int regular_files_only;  /* get -r, sync: never write into a FIFO or device at a name */
    int public_bucket;       /* mb/bucket --public 1, --private 0, else -1 */
    int bypass_governance;   /* rm, retention --bypass-governance */
    unsigned local_args;     /* sync, check: bit i: argument i is a local directory */
    struct stor_session *target; /* cp/mv into another backend: its session, else NULL */
    int force;               /* rb --force: empty the bucket first */
    int64_t share_ms;        /* share --expires */
    /* sync and check */
    int delete_extra;        /* sync --delete: what DST has and SRC lacks goes, last */
    int64_t max_delete;      /* sync --max-delete: more to delete deletes nothing; -1 no limit */
    int checksum;            /* compare size and SHA-1 */
    int size_only;           /* compare size only */
    int allow_empty_source;  /* sync from a missing or empty source */
    const struct stor_option *bucket_settings; /* mb's bucket options */
    size_t bucket_setting_count;
};
#define STOR_META_MAX 32 /* --meta keys of one command (backends have their own, lower limits) */

/* The one object a put or get reported, copied out of the callback. */
struct stor_result {
    int64_t size, mtime_ms;
    char sha1[41];
    char id[256];
    struct json_object *json; /* the object as JSON when want_json, owned; json_object_put it */
    int want_json;            /* set from the session: only --json prints it */
    unsigned abi_version;     /* the plugin's: which fields of its objects exist */
};

/* One object between a file descriptor or a path and the backend; err says what failed. */
enum stor_status stor_put_fd(struct stor_session *s, const char *bucket, const char *key, int fd,
                             struct stor_result *result, struct stor_error *err);
/* Splits "BUCKET/KEY" into bucket (a buffer of `size`) and key (pointing into remote); prints a
 * usage error naming `usage` and returns STOR_EXIT_USAGE when it does not fit. */
int stor_split_remote(const char *remote, char *bucket, size_t size, const char **key,
                      int key_required, const char *usage);
int stor_errno_exit_code(int e);
/* Print a backend's error (or "backend X does not support WHAT") and return the exit code. */
int stor_report_failure(enum stor_status status, const struct stor_error *err);
int stor_report_unsupported(const struct stor_session *s, const char *what);
/* stor_object_fn filling a struct stor_result (the context). */
int stor_keep_result(void *context, const struct stor_object *object);
/* describe.c: an object as JSON, with the fields a plugin of abi_version has; stat. */
struct json_object *stor_object_json(unsigned abi_version, const char *bucket,
                                     const struct stor_object *object);
int stor_cmd_stat(struct stor_session *s, const char *remote);
void stor_print_json(struct json_object *value);
/* A JSON string of text from outside, made valid UTF-8 (json-c passes any bytes through). */
struct json_object *stor_json_text(const char *text);
/* ms since the epoch as 2026-01-31T12:00:00Z, or "-" when unknown (negative). */
void stor_format_time(int64_t ms, char *out, size_t size);

/* Each returns an exit code and has printed any error as one `stor:` line on stderr. */
int stor_cmd_put(struct stor_session *s, const char *local, const char *remote);
int stor_cmd_get(struct stor_session *s, const char *remote, const char *local);
int stor_cmd_ls(struct stor_session *s, const char *remote);
/* manage.c */
int stor_cmd_rm(struct stor_session *s, const char *remote);
int stor_cmd_rm_tree(struct stor_session *s, const char *bucket, const char *prefix);
/* Removes count keys of bucket as remove does each: through the backend's remove_many where it
 * has one, STOR_REMOVE_MANY_MAX at a time (cancellation checked between batches), else one
 * remove per key. on_removed hears of each key attempted once; returns how many were. */
size_t stor_remove_keys(const struct stor_session *s, const char *bucket, const char *const *keys,
                        size_t count, stor_removed_fn on_removed, void *context);
int stor_cmd_cp(struct stor_session *s, const char *source, const char *target);
int stor_cmd_mv(struct stor_session *s, const char *source, const char *target);
int stor_cmd_cleanup(struct stor_session *s, const char *remote);
int stor_cmd_upload_target(struct stor_session *s, const char *bucket);
/* account.c */
int stor_cmd_buckets(struct stor_session *s);
int stor_cmd_mb(struct stor_session *s, const char *bucket);
int stor_cmd_rb(struct stor_session *s, const char *bucket);
int stor_cmd_share(struct stor_session *s, const char *remote);
int stor_cmd_bucket(struct stor_session *s, const char *bucket);
/* manage.c: Object Lock of one version */
int stor_cmd_retention(struct stor_session *s, const char *remote, const char *retention);
int stor_cmd_legal_hold(struct stor_session *s, const char *remote, const char *state);
/* Directory transfers (transfer.c). */
int stor_cmd_put_tree(struct stor_session *s, const char *dir, const char *remote);
int stor_cmd_get_tree(struct stor_session *s, const char *remote, const char *dir);
/* sync.c: one local directory and one BUCKET[/PREFIX], either way round. */
int stor_cmd_sync(struct stor_session *s, const char *src, const char *dst);
int stor_cmd_check(struct stor_session *s, const char *src, const char *dst);
/* usage.c */
int stor_cmd_du(struct stor_session *s, const char *remote);

/* Prints "stor: message" on stderr (the one format every error uses). */
void stor_error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
