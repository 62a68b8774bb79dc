/* lifecycle.c — --lifecycle=RULE texts into B2's lifecycleRules, checked before any request. */
#include "lifecycle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static const struct {
    const char *word, *field;
} day_fields[] = {
    {"hide-after", "daysFromUploadingToHiding"},
    {"keep-old-versions", "daysFromHidingToDeleting"},
    {"cancel-unfinished", "daysFromStartingToCancelingUnfinishedLargeFiles"},
};

/* "30d" or "30": days from 1 to 100000; -1 otherwise. */
static long long days_of(const char *text, size_t length)
{
    char copy[16];
    if (length == 0 || length >= sizeof copy || text[0] < '0' || text[0] > '9')
        return -1;
    memcpy(copy, text, length);
    copy[length] = '\0';
    char *end;
    errno = 0;
    long long days = strtoll(copy, &end, 10);
    if (errno || (*end && strcmp(end, "d") != 0) || days < 1 || days > 100000)
        return -1;
    return days;
}

enum stor_status b2_lifecycle_add(json_object *rules, const char *text, struct stor_error *err)
{
    json_object *rule = json_object_new_object();
    const char *prefix = "";
    int days = 0;
    for (const char *at = text; *at;) {
        if (strncmp(at, "prefix=", 7) == 0) {
            prefix = at + 7; /* the rest of the text: a prefix may hold ',' and '=' */
            break;
        }
        size_t length = strcspn(at, ",");
        const char *equals = memchr(at, '=', length);
        size_t i = 0, count = sizeof day_fields / sizeof day_fields[0];
        while (equals && i < count && (strlen(day_fields[i].word) != (size_t)(equals - at) ||
                                       strncmp(day_fields[i].word, at, (size_t)(equals - at)) != 0))
            i++;
        long long n = equals && i < count ? days_of(equals + 1, length - (size_t)(equals - at) - 1) : -1;
        if (n < 0) {
            json_object_put(rule);
            return stor_fail(err, STOR_EINVAL, "--lifecycle '%s': expected hide-after=DAYS, "
                             "keep-old-versions=DAYS, cancel-unfinished=DAYS (1d to 100000d), "
                             "separated by ',', then prefix=PREFIX last", text);
        }
        if (json_object_object_get_ex(rule, day_fields[i].field, NULL)) {
            json_object_put(rule);
            return stor_fail(err, STOR_EINVAL, "--lifecycle '%s': %s given twice", text,
                             day_fields[i].word);
        }
        json_object_object_add(rule, day_fields[i].field, json_object_new_int64(n));
        days++;
        at += length + (at[length] == ',');
    }
    if (!days) {
        json_object_put(rule);
        return stor_fail(err, STOR_EINVAL, "--lifecycle '%s': a rule needs hide-after, "
                         "keep-old-versions or cancel-unfinished (else it does nothing)", text);
    }
    /* A prefix is good when a file name can start with it (so it may end in '/'). */
    char name[1100];
    const char *problem = *prefix && snprintf(name, sizeof name, "%sx", prefix) < (int)sizeof name
                              ? b2_file_name_problem(name)
                          : *prefix ? "a B2 file name is at most 1024 bytes"
                                    : NULL;
    if (problem) {
        json_object_put(rule);
        return stor_fail(err, STOR_EINVAL, "--lifecycle: prefix '%s': %s", prefix, problem);
    }
    json_object_object_add(rule, "fileNamePrefix", json_object_new_string(prefix));
    json_object_array_add(rules, rule);
    return STOR_OK;
}

static const char *prefix_of(json_object *rule)
{
    json_object *prefix;
    return json_object_object_get_ex(rule, "fileNamePrefix", &prefix) &&
                   json_object_is_type(prefix, json_type_string)
               ? json_object_get_string(prefix)
               : "";
}

enum stor_status b2_lifecycle_check(json_object *rules, struct stor_error *err)
{
    size_t count = json_object_array_length(rules);
    if (count > B2_LIFECYCLE_RULES_MAX)
        return stor_fail(err, STOR_EINVAL, "%zu lifecycle rules: B2 keeps at most %d on a bucket",
                         count, B2_LIFECYCLE_RULES_MAX);
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < count; j++) {
            const char *a = prefix_of(json_object_array_get_idx(rules, i)),
                       *b = prefix_of(json_object_array_get_idx(rules, j));
            if (i != j && strncmp(a, b, strlen(a)) == 0)
                return stor_fail(err, STOR_EINVAL, "lifecycle rules for '%s' and '%s' would both "
                                 "apply to the names below '%s': B2 takes one rule per file",
                                 a, b, b);
        }
    return STOR_OK;
}
