/* plugins/s3/host_services.h — the host's services as the rooms use them: logging with levels,
 * progress, counters, the user's Ctrl-C. The bottom: it calls nothing of the plugin's own. */
#ifndef S3_HOST_SERVICES_H
#define S3_HOST_SERVICES_H

#include <stdint.h>
#include <stor/plugin.h>

struct s3_plugin;

/* One line to the host's log at level (dropped below the host's level). Never a token. */
void s3_log(const struct s3_plugin *plugin, enum stor_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the user asked to stop (the host's cancellation flag). */
int s3_cancelled(const struct s3_plugin *plugin);
/* Bytes done of total (0: not known) for key, to the host's progress display if it has one. */
void s3_progress(const struct s3_plugin *plugin, const char *key, uint64_t done, uint64_t total);
/* Add to a host counter ("requests", "retries"). */
void s3_count(const struct s3_plugin *plugin, const char *counter, uint64_t n);

#endif
