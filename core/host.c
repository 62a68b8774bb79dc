/* host.c — host services for plugins. Thread-safe: plugins call them from their worker threads,
 * so each log line is written with one call and the progress line is guarded by a mutex. */
#include "host.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    struct stor_host pub;
    char backend[65];
    int show_progress;
    pthread_mutex_t progress_lock;
    int progress_shown;
    struct timespec progress_last;
} host = {.progress_lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t cancel_requested;

static const char *const level_names[] = {"error", "warning", "info", "debug", "trace"};

static void host_log(const struct stor_host *self, enum stor_log_level level, const char *fmt, ...)
{
    if (level > self->log_level)
        return;
    char line[2048];
    int n = snprintf(line, sizeof line, "stor: %s: %s: ", host.backend,
                     level_names[level <= STOR_LOG_TRACE ? level : STOR_LOG_TRACE]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strnlen(line, sizeof line - 2);
    line[len++] = '\n';
    stor_host_progress_done();
    fwrite(line, 1, len, stderr); /* one write per line keeps threads from interleaving */
}

static void host_progress(const struct stor_host *self, const char *key, uint64_t done,
                          uint64_t total)
{
    if (!host.show_progress)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&host.progress_lock);
    long elapsed_ms = (now.tv_sec - host.progress_last.tv_sec) * 1000 +
                      (now.tv_nsec - host.progress_last.tv_nsec) / 1000000;
    if (elapsed_ms >= 250 || (total && done == total)) {
        host.progress_last = now;
        if (total)
            fprintf(stderr, "\r\033[K%s: %3u%% (%llu of %llu bytes)", key,
                    (unsigned)(done * 100 / total), (unsigned long long)done,
                    (unsigned long long)total);
        else
            fprintf(stderr, "\r\033[K%s: %llu bytes", key, (unsigned long long)done);
        host.progress_shown = 1;
    }
    pthread_mutex_unlock(&host.progress_lock);
}

void stor_host_progress_done(void)
{
    pthread_mutex_lock(&host.progress_lock);
    if (host.progress_shown)
        fputs("\r\033[K", stderr);
    host.progress_shown = 0;
    pthread_mutex_unlock(&host.progress_lock);
}

static int host_cancelled(const struct stor_host *self)
{
    return cancel_requested != 0;
}

static void on_signal(int sig)
{
    cancel_requested = 1;
}

void stor_host_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND; /* the second Ctrl-C ends the process at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

const struct stor_host *stor_host_init(const char *backend, int verbosity)
{
    int level = STOR_LOG_WARN + verbosity;
    if (level < STOR_LOG_ERROR)
        level = STOR_LOG_ERROR;
    if (level > STOR_LOG_TRACE)
        level = STOR_LOG_TRACE;
    snprintf(host.backend, sizeof host.backend, "%s", backend);
    host.show_progress = verbosity >= 0 && isatty(STDERR_FILENO);
    host.pub = (struct stor_host){
        .abi_version = STOR_ABI_VERSION,
        .struct_size = sizeof(struct stor_host),
        .log_level = (enum stor_log_level)level,
        .log = host_log,
        .progress = host_progress,
        .cancelled = host_cancelled,
    };
    return &host.pub;
}
