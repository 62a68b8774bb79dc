/* options.c — gathering backend options from the environment and the command line. */
#include "options.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stor_options_add_arg(struct stor_option_list *list, char *arg, char *why, size_t why_size)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        snprintf(why, why_size, "-o expects KEY=VALUE, got '%s'", arg);
        return -1;
    }
    if (list->count == STOR_OPTIONS_MAX) {
        snprintf(why, why_size, "too many -o options (at most %d)", STOR_OPTIONS_MAX);
        return -1;
    }
    *eq = '\0';
    list->items[list->count++] = (struct stor_option){arg, eq + 1};
    return 0;
}

void stor_options_add(struct stor_option_list *list, const char *key, const char *value)
{
    if (list->count < STOR_OPTIONS_MAX)
        list->items[list->count++] = (struct stor_option){key, value};
}

void stor_env_name(const char *backend, const char *key, char *out, size_t size)
{
    int n = snprintf(out, size, "STOR_%s_%s", backend, key);
    for (int i = 0; i < n && (size_t)i < size; i++)
        out[i] = isalnum((unsigned char)out[i]) ? (char)toupper((unsigned char)out[i]) : '_';
}

void stor_options_add_env(struct stor_option_list *list, const struct stor_backend *backend)
{
    for (const struct stor_option_doc *o = backend->options; o && o->key; o++) {
        if (strchr(o->key, '.'))
            continue; /* key families such as info.NAME have no single variable */
        char name[256];
        stor_env_name(backend->name, o->key, name, sizeof name);
        const char *value = getenv(name);
        if (value)
            stor_options_add(list, o->key, value);
    }
}

int stor_options_documented(const struct stor_backend *backend, const char *key)
{
    for (const struct stor_option_doc *o = backend->options; o && o->key; o++)
        if (strcmp(o->key, key) == 0)
            return 1;
    return 0;
}

const char *stor_options_find(const struct stor_option_list *list, const char *key)
{
    const char *value = NULL; /* the last one wins, as the backend reads them */
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].key, key) == 0)
            value = list->items[i].value;
    return value;
}
