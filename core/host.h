/* host.h — the services the host hands to a plugin (struct stor_host): logging to stderr with
 * levels, a progress display for one file or a batch, and a cancellation flag raised by signals. */
#ifndef STOR_HOST_H
#define STOR_HOST_H

#include "stor/plugin.h"

enum stor_progress_mode {
    STOR_PROGRESS_AUTO,   /* redrawn in place when stderr is a terminal, else nothing */
    STOR_PROGRESS_ALWAYS, /* redrawn in place even when stderr is not a terminal */
    STOR_PROGRESS_NEVER,
    STOR_PROGRESS_LINES,  /* a timestamped line every few seconds, no '\r' (cron, journald) */
};

/* Fills the shared host services; `backend` prefixes log lines. verbosity: -1 quiet (errors
 * only, no progress), 0 default (warnings), 1.. each -v one level more; intent is the command's
 * (a reading command lets the plugin create nothing). */
const struct stor_host *stor_host_init(const char *backend, int verbosity,
                                       enum stor_progress_mode mode, enum stor_intent intent);

/* Installs SIGINT/SIGTERM handlers that raise the cancellation flag (a second signal kills). */
void stor_host_catch_signals(void);

/* Files found so far while a directory tree is walked. */
void stor_progress_scan(uint64_t files);
/* A multi-file transfer: the display counts files and bytes of the whole batch. */
void stor_progress_batch(uint64_t files, uint64_t bytes);
/* One file of the batch finished (stored, skipped or failed): `bytes` count as done. */
void stor_progress_file_done(const char *key, uint64_t bytes);
/* Ends a progress line left on the terminal, if any. */
void stor_host_progress_done(void);

/* A counter plugins reported through host->count (0 if never), and all of them in order. */
uint64_t stor_host_counter(const char *counter);
void stor_host_each_counter(void (*visit)(void *context, const char *name, uint64_t value),
                            void *context);

/* Copies text with control bytes shown as '?' (for names printed on a terminal). */
void stor_printable(const char *text, char *out, size_t size);

#endif
