/* plugins/common/sp_clock.c — the real clock behind the time seam (see sp_clock.h).
 * Kept apart so tests link their own fake instead of this file's sleeping. */
#include "sp_clock.h"

#include <errno.h>
#include <time.h>

static int64_t system_now_ms(void *context)
{
    (void)context;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void system_sleep_ms(void *context, int64_t ms)
{
    (void)context;
    struct timespec wait = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
        ;
}

/* Jitter only has to keep clients out of step, not be unpredictable: one xorshift32 shared by
 * every thread, advanced atomically. (A __thread state here lived in dynamic TLS of the dlopen'ed
 * plugin, which LeakSanitizer's exit-time scan crashed on: "Tracer caught signal 11".) */
static uint32_t random_state;

static uint32_t system_random(void *context)
{
    (void)context;
    uint32_t old = __atomic_load_n(&random_state, __ATOMIC_RELAXED), next;
    do {
        next = old;
        if (next == 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            next = ((uint32_t)now.tv_nsec ^ 0x9e3779b9u) | 1;
        }
        next ^= next << 13;
        next ^= next >> 17;
        next ^= next << 5;
    } while (!__atomic_compare_exchange_n(&random_state, &old, next, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return next;
}

struct sp_clock sp_clock_system(void)
{
    return (struct sp_clock){system_now_ms, system_sleep_ms, system_random, NULL};
}
