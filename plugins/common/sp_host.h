/* plugins/common/sp_host.h — the host's services (core/stor/plugin.h's stor_host) as a plugin's
 * rooms use them: logging with levels, progress, counters, the user's Ctrl-C. Each takes the host
 * itself, not a plugin's instance, so the bottom layer knows nothing of any plugin. */
#ifndef SP_HOST_H
#define SP_HOST_H

#include <stdint.h>
#include <stor/plugin.h>

/* One line to the host's log at level (dropped below the host's level). Never a secret. */
void sp_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the user asked to stop (the host's cancellation flag). */
int sp_cancelled(const struct stor_host *host);
/* Bytes done of total (0: not known) for key, to the host's progress display if it has one. */
void sp_progress(const struct stor_host *host, const char *key, uint64_t done, uint64_t total);
/* Add to a host counter ("requests", "retries", or a backend's own). */
void sp_count(const struct stor_host *host, const char *counter, uint64_t n);

#endif
