/* places.h — the backend instances one command talks to. An argument names its place with a
 * NAME: prefix (a profile of the config file, else a backend); bare BUCKET/KEY arguments use
 * --profile, else --backend (default local). Each place is loaded, given its options (the
 * environment's, then its profile's, then -o) and opened. */
#ifndef STOR_PLACES_H
#define STOR_PLACES_H

#include "loader.h"
#include "options.h"
#include "profiles.h"

/* The backends linked into stor (local), after those found on the search path. */
extern const struct stor_backend *const stor_builtin_backends[];

struct stor_place {
    const char *label;                  /* the profile's or backend's name */
    const char *backend;
    const struct stor_profile *profile; /* NULL: the backend alone */
    struct stor_plugin plugin;
    int loaded;
    struct stor_option_list options;
    char key_path[32]; /* a profile's key_command or inline key, as a key_file */
    int key_fd;
    void *instance;
};

struct stor_places {
    struct stor_profiles profiles;
    int profiles_read;
    struct stor_place items[2]; /* [0]: the source, or the command's only place */
    size_t count;
    unsigned local_args; /* bit i: argument i is a local directory */
};

/* Takes NAME: prefixes off the arguments at remote_positions (bit i: argument i; only cp, mv,
 * sync and check have two) and finds their places. With local_paths (sync, check) an argument
 * that names no place and starts with /, ./ or ../, or names an existing directory, is a local
 * directory. Prints a one-line reason and returns an exit code on failure. */
int stor_places_name(struct stor_places *p, char **args, int count, unsigned remote_positions,
                     int local_paths, const char *backend, const char *profile,
                     const struct stor_search_path *path);

/* Loads every place's plugin and gathers its options; cli holds the -o options: each goes to
 * every place whose backend documents its key, and to the first place when none does (which
 * then refuses it by name). */
int stor_places_load(struct stor_places *p, const struct stor_search_path *path,
                     const struct stor_backend *const *builtins, const struct stor_option_list *cli);

/* Opens every loaded place; on failure closes what it opened and returns an exit code. */
int stor_places_open(struct stor_places *p, const struct stor_host *host);

void stor_places_close(struct stor_places *p);

/* stor config: the config file (where it was found and why), its profiles with secrets masked,
 * the options the environment sets for their backends, and the plugin search path. */
int stor_cmd_config(const struct stor_search_path *path, int json);

#endif
