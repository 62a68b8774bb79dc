/* plugins/b2/lifecycle.h — lifecycle rules as stor writes them (--lifecycle=RULE):
 * "hide-after=90d,keep-old-versions=30d,cancel-unfinished=7d,prefix=logs/" (prefix last, the
 * rest of the text), turned into B2's lifecycleRules and checked as B2 checks them: at most 100,
 * each with a day count, no two applying to the same files. Pure: no I/O. */
#ifndef B2_LIFECYCLE_H
#define B2_LIFECYCLE_H

#include <json-c/json.h>

#include "stor/plugin.h"

#define B2_LIFECYCLE_RULES_MAX 100

/* Appends the rule text to rules (a JSON array); STOR_EINVAL naming what is wrong. */
enum stor_status b2_lifecycle_add(json_object *rules, const char *text, struct stor_error *err);

/* Checks a whole set: the count, and that no rule's prefix starts another's. */
enum stor_status b2_lifecycle_check(json_object *rules, struct stor_error *err);

#endif
