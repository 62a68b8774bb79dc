/* profiles.h — named places from the config file ($STOR_CONFIG, else
 * $XDG_CONFIG_HOME/stor/config, else ~/.config/stor/config): INI sections such as
 * [work] with backend = b2 and backend options. `work:bucket/key` and --profile=work use them. */
#ifndef STOR_PROFILES_H
#define STOR_PROFILES_H

#include <stddef.h>

#include "options.h"

#define STOR_PROFILES_MAX 64
#define STOR_PROFILE_OPTIONS_MAX 32

struct stor_profile {
    const char *name, *backend;
    int line; /* where its section starts */
    /* backend options, key_file included; the host's own keys are kept apart */
    struct stor_option options[STOR_PROFILE_OPTIONS_MAX];
    size_t option_count;
    const char *key_command; /* its output is the key file's text */
    const char *key_id, *key; /* inline credentials, for users who choose so */
};

struct stor_profiles {
    char path[4096];
    const char *chosen_by; /* "STOR_CONFIG", "XDG_CONFIG_HOME" or "HOME" */
    int exists;
    char *text; /* the file, the profiles' strings point into it */
    struct stor_profile items[STOR_PROFILES_MAX];
    size_t count;
};

/* Reads the config file once. A missing file is no profiles (0), unless STOR_CONFIG names it.
 * -1 with a one-line reason: not a regular file, not the user's own, readable or writable by
 * others, too large, or a line that is not INI. */
int stor_profiles_load(struct stor_profiles *p, char *why, size_t why_size);

const struct stor_profile *stor_profiles_find(const struct stor_profiles *p, const char *name);

/* Whether a key's value is a secret, masked in every output. */
int stor_profile_key_is_secret(const char *key);

/* Adds the profile's options to list; key_command and inline keys become key_file, a sealed
 * in-memory file (/proc/self/fd/N) the backend reads as it reads any key file. *fd is that
 * file's descriptor (close it after open), or -1. -1 with a reason. */
int stor_profile_add_options(const struct stor_profile *profile, struct stor_option_list *list,
                             char *key_path, size_t key_path_size, int *fd, char *why,
                             size_t why_size);

void stor_profiles_free(struct stor_profiles *p);

#endif
