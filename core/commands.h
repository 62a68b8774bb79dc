/* commands.h — the CLI commands (put, get, ls, rm, upload-target) run against an open backend,
 * and the mapping from a backend's status to the documented exit codes. */
#ifndef STOR_COMMANDS_H
#define STOR_COMMANDS_H

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
    STOR_EXIT_CANCELLED = 130, /* interrupted (SIGINT/SIGTERM) */
};

int stor_exit_code(enum stor_status status);

/* Everything a command needs: the backend, its instance and how to print. */
struct stor_session {
    const struct stor_plugin *plugin;
    void *instance;
    int json;      /* machine-readable output */
    int quiet;     /* no informational output */
    int long_list; /* ls -l */
    int recursive; /* ls -r */
};

/* Each returns an exit code and has printed any error as one `stor:` line on stderr. */
int stor_cmd_put(struct stor_session *s, const char *local, const char *remote);
int stor_cmd_get(struct stor_session *s, const char *remote, const char *local);
int stor_cmd_ls(struct stor_session *s, const char *remote);
int stor_cmd_rm(struct stor_session *s, const char *remote);
int stor_cmd_upload_target(struct stor_session *s, const char *bucket);

/* Prints "stor: message" on stderr (the one format every error uses). */
void stor_error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
