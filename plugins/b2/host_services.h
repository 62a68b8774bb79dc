/* plugins/b2/host_services.h — the host's services as the rooms use them: logging with levels,
 * progress, counters, the user's Ctrl-C. The bottom: it calls nothing of the plugin's own. */
#ifndef B2_HOST_SERVICES_H
#define B2_HOST_SERVICES_H

#include <stdint.h>
#include <stor/plugin.h>

struct b2_plugin;

/* One line to the host's log at level (dropped below the host's level). Never a token. */
void b2_log(const struct b2_plugin *plugin, enum stor_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the user asked to stop (the host's cancellation flag). */
int b2_cancelled(const struct b2_plugin *plugin);
/* Bytes done of total (0: not known) for key, to the host's progress display if it has one. */
void b2_progress(const struct b2_plugin *plugin, const char *key, uint64_t done, uint64_t total);
/* Add to a host counter ("requests", "retries", B2's "class_a"/"class_b"/"class_c"). */
void b2_count(const struct b2_plugin *plugin, const char *counter, uint64_t n);

#endif
