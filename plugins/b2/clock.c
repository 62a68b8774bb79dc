/* plugins/b2/clock.c — the real clock behind the time seam (see clock.h).
 * Kept apart so tests link their own fake instead of this file's sleeping. */
#include "clock.h"

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

/* Jitter only has to keep clients out of step, not be unpredictable: xorshift32 per thread. */
static uint32_t system_random(void *context)
{
    (void)context;
    static __thread uint32_t state;
    if (state == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        state = (uint32_t)now.tv_nsec ^ (uint32_t)(uintptr_t)&state ^ 0x9e3779b9u;
        if (state == 0)
            state = 1;
    }
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

struct b2_clock b2_clock_system(void)
{
    return (struct b2_clock){system_now_ms, system_sleep_ms, system_random, NULL};
}
