/* values.c — the values of command options: counts, byte ranges, durations, retention. */
#include "values.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int stor_parse_count(const char *text, char **end, int64_t *value)
{
    errno = 0;
    long long v = strtoll(text, end, 10);
    if (errno || *end == text || v < 0 || !isdigit((unsigned char)text[0]))
        return -1;
    *value = v;
    return 0;
}

/* "A-B" (inclusive) or "A-" (to the end). */
int stor_parse_range(const char *text, int64_t *start, int64_t *end)
{
    char *rest;
    if (stor_parse_count(text, &rest, start) != 0 || *rest != '-')
        return -1;
    if (!rest[1]) {
        *end = -1;
        return 0;
    }
    const char *second = rest + 1;
    if (stor_parse_count(second, &rest, end) != 0 || *rest || *end < *start)
        return -1;
    if (*end >= INT64_MAX - 1)
        *end = -1; /* as far as a 64-bit offset goes: to the end (and B - A + 1 cannot overflow) */
    return 0;
}

/* 90s, 30m, 12h, 7d (a bare number is seconds). */
int stor_parse_duration(const char *text, int64_t *ms)
{
    char *rest;
    int64_t n;
    if (stor_parse_count(text, &rest, &n) != 0)
        return -1;
    int64_t unit = !*rest || strcmp(rest, "s") == 0 ? 1
                   : strcmp(rest, "m") == 0        ? 60
                   : strcmp(rest, "h") == 0        ? 3600
                   : strcmp(rest, "d") == 0        ? 86400
                                                   : 0;
    if (!unit || n > INT64_MAX / 1000 / unit)
        return -1;
    *ms = n * unit * 1000;
    return 0;
}

/* governance:DURATION or compliance:DATE (either mode takes either form), in the future. */
int stor_parse_retention(const char *text, struct stor_protection *p)
{
    const char *colon = strchr(text, ':');
    if (!colon)
        return -1;
    size_t mode_length = (size_t)(colon - text);
    const char *mode = mode_length == 10 && strncmp(text, "governance", 10) == 0   ? "governance"
                       : mode_length == 10 && strncmp(text, "compliance", 10) == 0 ? "compliance"
                                                                                   : NULL;
    const char *when = colon + 1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, until_ms, duration_ms;
    struct tm tm = {0};
    const char *end;
    if (stor_parse_duration(when, &duration_ms) == 0 && duration_ms > 0)
        until_ms = now_ms + duration_ms;
    else if (((end = strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm)) && !*end) ||
             (memset(&tm, 0, sizeof tm), (end = strptime(when, "%Y-%m-%d", &tm)) && !*end))
        until_ms = (int64_t)timegm(&tm) * 1000;
    else
        return -1;
    if (!mode || until_ms <= now_ms)
        return -1;
    p->retention_mode = mode;
    p->retain_until_ms = until_ms;
    return 0;
}

