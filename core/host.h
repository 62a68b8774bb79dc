/* host.h — the services the host hands to a plugin (struct stor_host): logging to stderr with
 * levels, a progress line on terminals, and a cancellation flag raised by SIGINT/SIGTERM. */
#ifndef STOR_HOST_H
#define STOR_HOST_H

#include "stor/plugin.h"

/* Fills the shared host services; `backend` prefixes log lines. verbosity: -1 quiet (errors
 * only), 0 default (warnings), 1.. each -v one level more. */
const struct stor_host *stor_host_init(const char *backend, int verbosity);

/* Installs SIGINT/SIGTERM handlers that raise the cancellation flag (a second signal kills). */
void stor_host_catch_signals(void);

/* Ends a progress line left on the terminal, if any. */
void stor_host_progress_done(void);

#endif
