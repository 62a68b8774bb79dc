/* plugins/s3/host_services.c — the host's services (stor_host: log, progress, count, cancelled)
 * wrapped for the rooms, each safe with a host that lacks one. The bottom: it calls no room. */
#include "host_services.h"

#include "instance.h"

#include <stdarg.h>
#include <stdio.h>

void s3_log(const struct s3_plugin *plugin, enum stor_log_level level, const char *fmt, ...)
{
    const struct stor_host *host = plugin->host;
    if (!host || !host->log || level > host->log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    host->log(host, level, "%s", line);
}

void s3_count(const struct s3_plugin *plugin, const char *counter, uint64_t n)
{
    const struct stor_host *host = plugin->host;
    if (host && STOR_HOST_HAS(host, count))
        host->count(host, counter, n);
}

void s3_progress(const struct s3_plugin *plugin, const char *key, uint64_t done, uint64_t total)
{
    const struct stor_host *host = plugin->host;
    if (host && host->progress)
        host->progress(host, key, done, total);
}

int s3_cancelled(const struct s3_plugin *plugin)
{
    const struct stor_host *host = plugin->host;
    return host && host->cancelled && host->cancelled(host);
}
