/* host.c — host services for plugins. Thread-safe: plugins call them from worker threads, so a
 * log line is written with one call and the progress state sits behind one mutex. */
#include "host.h"
#include "text.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ACTIVE_MAX 64
#define COUNTERS_MAX 32

/* What is in flight: per-object bytes by key, plus the batch totals. */
struct active {
    char key[256];
    uint64_t done, total;
};

static struct {
    struct stor_host pub;
    char backend[65];
    enum stor_progress_mode mode;
    pthread_mutex_t lock;
    int line_shown;                 /* a '\r' line is on the terminal */
    struct timespec last_draw, start;
    uint64_t batch_files, batch_bytes, files_done, bytes_done;
    struct active active[ACTIVE_MAX];
    struct {
        char name[32];
        uint64_t value;
    } counters[COUNTERS_MAX];
} host = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t cancel_requested;

static const char *const level_names[] = {"error", "warning", "info", "debug", "trace"};

void stor_printable(const char *text, char *out, size_t size)
{
    stor_escape_text(text, out, size);
}

static void clear_line_locked(void)
{
    if (host.line_shown)
        fputs("\r\033[K", stderr);
    host.line_shown = 0;
}

void stor_host_progress_done(void)
{
    pthread_mutex_lock(&host.lock);
    clear_line_locked();
    pthread_mutex_unlock(&host.lock);
}

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
    pthread_mutex_lock(&host.lock);
    clear_line_locked();
    fwrite(line, 1, len, stderr); /* one write per line keeps threads from interleaving */
    pthread_mutex_unlock(&host.lock);
}

static double seconds_between(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void draw_locked(const struct active *current, struct timespec now)
{
    char text[512], done[32], total[32], rate[32];
    uint64_t bytes = host.bytes_done;
    for (int i = 0; i < ACTIVE_MAX; i++)
        bytes += host.active[i].done;
    double elapsed = seconds_between(host.start, now);
    stor_human_bytes(elapsed > 0 ? (double)bytes / elapsed : 0, rate, sizeof rate);
    stor_human_bytes((double)bytes, done, sizeof done);
    if (host.batch_files) {
        stor_human_bytes((double)host.batch_bytes, total, sizeof total);
        snprintf(text, sizeof text, "[%llu/%llu files] %s of %s, %s/s",
                 (unsigned long long)host.files_done, (unsigned long long)host.batch_files, done,
                 total, rate);
    } else {
        char key[200];
        stor_printable(current->key, key, sizeof key);
        stor_human_bytes((double)current->total, total, sizeof total);
        if (current->total)
            snprintf(text, sizeof text, "%s: %3u%% (%s of %s, %s/s)", key,
                     (unsigned)(current->done * 100 / current->total), done, total, rate);
        else
            snprintf(text, sizeof text, "%s: %s, %s/s", key, done, rate);
    }
    if (host.mode == STOR_PROGRESS_LINES) {
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        fprintf(stderr, "%s stor: %s\n", stamp, text);
    } else {
        fprintf(stderr, "\r\033[K%s", text);
        host.line_shown = 1;
    }
    host.last_draw = now;
}

static struct active *find_active_locked(const char *key)
{
    struct active *free_slot = NULL;
    for (int i = 0; i < ACTIVE_MAX; i++) {
        if (host.active[i].key[0] && strncmp(host.active[i].key, key, sizeof host.active[i].key - 1) == 0)
            return &host.active[i];
        if (!host.active[i].key[0] && !free_slot)
            free_slot = &host.active[i];
    }
    if (free_slot)
        snprintf(free_slot->key, sizeof free_slot->key, "%s", key[0] ? key : "-");
    return free_slot;
}

static void host_progress(const struct stor_host *self, const char *key, uint64_t done,
                          uint64_t total)
{
    if (host.mode == STOR_PROGRESS_NEVER)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&host.lock);
    struct active *a = find_active_locked(key);
    if (a) {
        a->done = done;
        a->total = total;
        double every = host.mode == STOR_PROGRESS_LINES ? 5.0 : 0.25;
        if (seconds_between(host.last_draw, now) >= every)
            draw_locked(a, now);
    }
    pthread_mutex_unlock(&host.lock);
}

void stor_progress_scan(uint64_t files)
{
    if (host.mode == STOR_PROGRESS_NEVER)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&host.lock);
    double every = host.mode == STOR_PROGRESS_LINES ? 5.0 : 0.25;
    if (seconds_between(host.last_draw, now) >= every) {
        if (host.mode == STOR_PROGRESS_LINES) {
            fprintf(stderr, "stor: scanning: %llu files so far\n", (unsigned long long)files);
        } else {
            fprintf(stderr, "\r\033[Kscanning: %llu files so far", (unsigned long long)files);
            host.line_shown = 1;
        }
        host.last_draw = now;
    }
    pthread_mutex_unlock(&host.lock);
}

void stor_progress_batch(uint64_t files, uint64_t bytes)
{
    pthread_mutex_lock(&host.lock);
    host.batch_files = files;
    host.batch_bytes = bytes;
    host.files_done = host.bytes_done = 0;
    clock_gettime(CLOCK_MONOTONIC, &host.start);
    pthread_mutex_unlock(&host.lock);
}

void stor_progress_file_done(const char *key, uint64_t bytes)
{
    pthread_mutex_lock(&host.lock);
    struct active *a = find_active_locked(key);
    if (a)
        memset(a, 0, sizeof *a);
    host.files_done++;
    host.bytes_done += bytes;
    pthread_mutex_unlock(&host.lock);
}

static void host_count(const struct stor_host *self, const char *counter, uint64_t n)
{
    pthread_mutex_lock(&host.lock);
    for (int i = 0; i < COUNTERS_MAX; i++) {
        if (!host.counters[i].name[0])
            snprintf(host.counters[i].name, sizeof host.counters[i].name, "%s", counter);
        if (strncmp(host.counters[i].name, counter, sizeof host.counters[i].name - 1) == 0) {
            host.counters[i].value += n;
            break;
        }
    }
    pthread_mutex_unlock(&host.lock);
}

uint64_t stor_host_counter(const char *counter)
{
    uint64_t value = 0;
    pthread_mutex_lock(&host.lock);
    for (int i = 0; i < COUNTERS_MAX && host.counters[i].name[0]; i++)
        if (strcmp(host.counters[i].name, counter) == 0)
            value = host.counters[i].value;
    pthread_mutex_unlock(&host.lock);
    return value;
}

void stor_host_each_counter(void (*visit)(void *context, const char *name, uint64_t value),
                            void *context)
{
    pthread_mutex_lock(&host.lock);
    for (int i = 0; i < COUNTERS_MAX && host.counters[i].name[0]; i++)
        visit(context, host.counters[i].name, host.counters[i].value);
    pthread_mutex_unlock(&host.lock);
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

const struct stor_host *stor_host_init(const char *backend, int verbosity,
                                       enum stor_progress_mode mode, enum stor_intent intent)
{
    int level = STOR_LOG_WARN + verbosity;
    if (level < STOR_LOG_ERROR)
        level = STOR_LOG_ERROR;
    if (level > STOR_LOG_TRACE)
        level = STOR_LOG_TRACE;
    snprintf(host.backend, sizeof host.backend, "%s", backend);
    if (mode == STOR_PROGRESS_AUTO)
        mode = isatty(STDERR_FILENO) ? STOR_PROGRESS_ALWAYS : STOR_PROGRESS_NEVER;
    host.mode = verbosity < 0 ? STOR_PROGRESS_NEVER : mode;
    clock_gettime(CLOCK_MONOTONIC, &host.start);
    host.pub = (struct stor_host){
        .abi_version = STOR_ABI_VERSION,
        .struct_size = sizeof(struct stor_host),
        .log_level = (enum stor_log_level)level,
        .log = host_log,
        .progress = host_progress,
        .cancelled = host_cancelled,
        .count = host_count,
        .intent = intent,
    };
    return &host.pub;
}
