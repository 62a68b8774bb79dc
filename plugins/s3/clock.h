/* plugins/s3/clock.h — the time seam: wall clock, sleeping and randomness for backoff jitter.
 * Real code uses s3_clock_system(); unit tests install a fake that never waits. */
#ifndef S3_CLOCK_H
#define S3_CLOCK_H

#include <stdint.h>

struct s3_clock {
    int64_t (*now_ms)(void *context);             /* ms since the epoch */
    void (*sleep_ms)(void *context, int64_t ms);  /* wait that long (a fake just advances time) */
    uint32_t (*random)(void *context);            /* uniform 32-bit value, for jitter */
    void *context;
};

/* The process clock: CLOCK_REALTIME, nanosleep, a per-thread xorshift seeded from the time. */
struct s3_clock s3_clock_system(void);

static inline int64_t s3_clock_now(const struct s3_clock *clock)
{
    return clock->now_ms(clock->context);
}

#endif
