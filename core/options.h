/* options.h — backend options as the host gathers them: STOR_<BACKEND>_<KEY> environment
 * variables for documented keys, then -o KEY=VALUE arguments (a later value of a key wins). */
#ifndef STOR_OPTIONS_H
#define STOR_OPTIONS_H

#include <stddef.h>

#include "stor/plugin.h"

#define STOR_OPTIONS_MAX 128

struct stor_option_list {
    struct stor_option items[STOR_OPTIONS_MAX];
    size_t count;
};

/* Splits "KEY=VALUE" in place (arg must outlive the list). Returns 0, or -1 with a one-line
 * reason in why (no '=', empty key, or the list is full). */
int stor_options_add_arg(struct stor_option_list *list, char *arg, char *why, size_t why_size);

/* Adds the value of STOR_<BACKEND>_<KEY> for every key the backend documents. */
void stor_options_add_env(struct stor_option_list *list, const struct stor_backend *backend);

/* Appends key=value unless the list is full; both strings must outlive the list. */
void stor_options_add(struct stor_option_list *list, const char *key, const char *value);

/* STOR_<BACKEND>_<KEY>: upper-cased, every other character turned into '_'. */
void stor_env_name(const char *backend, const char *key, char *out, size_t size);

/* Whether the backend's option table lists key. */
int stor_options_documented(const struct stor_backend *backend, const char *key);

/* The value given for key (the last one), or NULL. */
const char *stor_options_find(const struct stor_option_list *list, const char *key);

#endif
