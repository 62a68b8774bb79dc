/* filter.c — glob matching and include/exclude rules (see filter.h). A small matcher of our own,
 * because fnmatch(3) has no '**'. */
#include "filter.h"

#include <stdlib.h>
#include <string.h>

int stor_filter_add(struct stor_filter *filter, int include, const char *pattern)
{
    if (filter->count == STOR_FILTER_MAX)
        return -1;
    filter->rules[filter->count++] = (struct stor_filter_rule){include, pattern};
    return 0;
}

/* Matches one bracket expression at *p against c; advances *p past it. -1 if malformed. */
static int match_class(const char **p, char c)
{
    const char *s = *p + 1;
    int negate = *s == '!' || *s == '^';
    if (negate)
        s++;
    int matched = 0, first = 1;
    for (; *s && (first || *s != ']'); s++, first = 0) {
        if (s[1] == '-' && s[2] && s[2] != ']') {
            matched |= c >= s[0] && c <= s[2];
            s += 2;
        } else {
            matched |= c == *s;
        }
    }
    if (*s != ']')
        return -1;
    *p = s + 1;
    return matched != negate;
}

/* One match: the whole pattern and text, and the (pattern, text) positions already known not to
 * match. Every '*' retries the rest of the pattern at each text position; without the memo many
 * stars backtrack exponentially ("**a**a**a...b" against "aaaa..."), with it each pair runs once. */
struct glob {
    const char *pattern, *text;
    size_t text_length;
    unsigned char *failed; /* bit per (pattern offset, text offset), or NULL: no memo */
};

static int match(struct glob *g, const char *p, const char *t);

/* The rest of the pattern from p against the rest of text from t, remembering a failure. */
static int match_rest(struct glob *g, const char *p, const char *t)
{
    size_t bit = (size_t)(p - g->pattern) * (g->text_length + 1) + (size_t)(t - g->text);
    if (g->failed && g->failed[bit / 8] & (1u << bit % 8))
        return 0;
    int matched = match(g, p, t);
    if (!matched && g->failed)
        g->failed[bit / 8] |= (unsigned char)(1u << bit % 8);
    return matched;
}

/* Whether the whole of text from t matches the whole of pattern from p. */
static int match(struct glob *g, const char *p, const char *t)
{
    for (; *p; ) {
        if (p[0] == '*' && p[1] == '*') {
            p += 2;
            /* '**' spans any number of segments, none included: "**\/x" matches "x" too. */
            for (const char *s = t;; s++) {
                if (match_rest(g, p, s) || (*p == '/' && s == t && match_rest(g, p + 1, s)))
                    return 1;
                if (!*s)
                    return 0;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *s = t;; s++) {
                if (match_rest(g, p, s))
                    return 1;
                if (!*s || *s == '/')
                    return 0;
            }
        }
        if (!*t)
            return 0;
        if (*p == '?') {
            if (*t == '/')
                return 0;
            p++, t++;
            continue;
        }
        if (*p == '[') {
            const char *q = p;
            int r = *t == '/' ? 0 : match_class(&q, *t);
            if (r < 0) { /* not a class: a literal '[' */
                if (*t != '[')
                    return 0;
                p++, t++;
                continue;
            }
            if (!r)
                return 0;
            p = q, t++;
            continue;
        }
        if (*p == '\\' && p[1])
            p++;
        if (*p != *t)
            return 0;
        p++, t++;
    }
    return *t == '\0';
}

static int match_glob(const char *pattern, const char *text)
{
    size_t pattern_length = strlen(pattern), text_length = strlen(text);
    struct glob g = {pattern, text, text_length, NULL};
    if (strchr(pattern, '*')) {
        size_t bits = (pattern_length + 1) * (text_length + 1);
        g.failed = calloc(bits / 8 + 1, 1); /* NULL: slower, still correct */
    }
    int matched = match(&g, pattern, text);
    free(g.failed);
    return matched;
}

int stor_glob_match(const char *pattern, const char *text)
{
    return match_glob(pattern, text);
}

int stor_filter_allows(const struct stor_filter *filter, const char *path, int is_dir)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (size_t i = 0; i < filter->count; i++) {
        const char *pattern = filter->rules[i].pattern;
        char buf[1024];
        size_t len = strlen(pattern);
        int dir_only = len > 1 && pattern[len - 1] == '/';
        if (dir_only && !is_dir)
            continue;
        if (dir_only || len >= sizeof buf) {
            len = len < sizeof buf ? len - (size_t)dir_only : sizeof buf - 1;
            memcpy(buf, pattern, len);
            buf[len] = '\0';
            pattern = buf;
        }
        int anchored = strchr(pattern, '/') != NULL;
        if (pattern[0] == '/')
            pattern++;
        if (match_glob(pattern, anchored ? path : base))
            return filter->rules[i].include;
    }
    return 1;
}

int stor_filter_allows_listed(const struct stor_filter *filter, const char *rel)
{
    char parent[4096];
    for (const char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        if ((size_t)(slash - rel) >= sizeof parent)
            return 0;
        memcpy(parent, rel, (size_t)(slash - rel));
        parent[slash - rel] = '\0';
        if (!stor_filter_allows(filter, parent, 1))
            return 0;
    }
    return stor_filter_allows(filter, rel, 0);
}
