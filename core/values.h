/* values.h — parsing the values of command options. Each returns 0, or -1 when text is not one. */
#ifndef STOR_VALUES_H
#define STOR_VALUES_H

#include <stdint.h>

#include "stor/plugin.h"

/* A decimal count >= 0; *end points past it. */
int stor_parse_count(const char *text, char **end, int64_t *value);
/* "A-B" (bytes A to B inclusive, A <= B) or "A-" (*end = -1: to the end). */
int stor_parse_range(const char *text, int64_t *start, int64_t *end);
/* 90s, 30m, 12h, 7d; a bare number is seconds. */
int stor_parse_duration(const char *text, int64_t *ms);
/* governance:DURATION or compliance:DATE (either mode takes either form: 30d, 2027-01-31,
 * 2027-01-31T12:00:00Z) in the future, into p's retention_mode and retain_until_ms. */
int stor_parse_retention(const char *text, struct stor_protection *p);

#endif
