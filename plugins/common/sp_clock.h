/* plugins/common/sp_clock.h — the time seam: wall clock, sleeping and randomness for backoff
 * jitter. Real code uses sp_clock_system(); unit tests install a fake that never waits. */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>

struct sp_clock {
    int64_t (*now_ms)(void *context);             /* ms since the epoch */
    void (*sleep_ms)(void *context, int64_t ms);  /* wait that long (a fake just advances time) */
    uint32_t (*random)(void *context);            /* uniform 32-bit value, for jitter */
    void *context;
};

/* The process clock: CLOCK_REALTIME, nanosleep, a per-thread xorshift seeded from the time. */
struct sp_clock sp_clock_system(void);

static inline int64_t sp_clock_now(const struct sp_clock *clock)
{
    return clock->now_ms(clock->context);
}

#endif
