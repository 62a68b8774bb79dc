/* filter.h — --include / --exclude rules for directory transfers, rsync-like: the first rule that
 * matches a path decides; a path no rule matches is included. */
#ifndef STOR_FILTER_H
#define STOR_FILTER_H

#include <stddef.h>

#define STOR_FILTER_MAX 64

struct stor_filter_rule {
    int include;         /* 1 for --include, 0 for --exclude */
    const char *pattern;
};

struct stor_filter {
    struct stor_filter_rule rules[STOR_FILTER_MAX];
    size_t count;
};

/* Returns 0, or -1 when there are too many rules. */
int stor_filter_add(struct stor_filter *filter, int include, const char *pattern);

/* Whether a relative, '/'-separated path passes. A pattern without '/' matches the last segment
 * at any depth; one with '/' matches the whole path (a leading '/' is allowed and ignored); a
 * trailing '/' matches directories only. '*' and '?' never cross '/', '**' does, [...] is a class. */
int stor_filter_allows(const struct stor_filter *filter, const char *path, int is_dir);

/* Whether a listed object's path passes: every directory on the way as well as the name, as a
 * walk that does not enter an excluded directory would decide. */
int stor_filter_allows_listed(const struct stor_filter *filter, const char *rel);

/* Glob matching as described above, exposed for tests. */
int stor_glob_match(const char *pattern, const char *text);

#endif
