/* plugins/common/sp_host.c — the host's services (stor_host: log, progress, count, cancelled)
 * wrapped for the rooms, each safe with no host or a host that lacks one. */
#include "sp_host.h"

#include <stdarg.h>
#include <stdio.h>

void sp_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
{
    if (!host || !host->log || level > host->log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    host->log(host, level, "%s", line);
}

void sp_count(const struct stor_host *host, const char *counter, uint64_t n)
{
    if (host && STOR_HOST_HAS(host, count))
        host->count(host, counter, n);
}

void sp_progress(const struct stor_host *host, const char *key, uint64_t done, uint64_t total)
{
    if (host && host->progress)
        host->progress(host, key, done, total);
}

int sp_cancelled(const struct stor_host *host)
{
    return host && host->cancelled && host->cancelled(host);
}
