/* places.c — which backend instances a command talks to, and how each gets its options. */
#include "places.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "host.h"

extern const struct stor_backend stor_local_backend; /* plugins/local, linked in as the default */
const struct stor_backend *const stor_builtin_backends[] = {&stor_local_backend, NULL};

static int read_profiles(struct stor_places *p)
{
    if (!p->profiles_read) {
        char why[1024];
        p->profiles_read = stor_profiles_load(&p->profiles, why, sizeof why) == 0 ? 1 : -1;
        if (p->profiles_read < 0)
            stor_error_line("%s", why);
    }
    return p->profiles_read > 0 ? STOR_EXIT_OK : STOR_EXIT_USAGE;
}

static int backend_exists(const char *name, const struct stor_search_path *path)
{
    for (const struct stor_backend *const *b = stor_builtin_backends; *b; b++)
        if (strcmp((*b)->name, name) == 0)
            return 1;
    for (size_t i = 0; i < path->count; i++) {
        char file[PATH_MAX];
        if (snprintf(file, sizeof file, "%s/%s.so", path->dirs[i], name) < (int)sizeof file &&
            access(file, F_OK) == 0)
            return 1;
    }
    return 0;
}

static struct stor_place place_of_profile(const struct stor_profile *pr)
{
    return (struct stor_place){.label = pr->name, .backend = pr->backend, .profile = pr, .key_fd = -1};
}

static int same_place(const struct stor_place *a, const struct stor_place *b)
{
    return a->profile == b->profile && (a->profile || strcmp(a->backend, b->backend) == 0);
}

/* A local path starts with '/', './' or '../' (or is . or ..), or names an existing directory. */
static int looks_local(const char *arg)
{
    struct stat st;
    return arg[0] == '/' || strncmp(arg, "./", 2) == 0 || strncmp(arg, "../", 3) == 0 ||
           strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0 ||
           (stat(arg, &st) == 0 && S_ISDIR(st.st_mode));
}

int stor_places_name(struct stor_places *p, char **args, int count, unsigned remote_positions,
                     int local_paths, const char *backend, const char *profile,
                     const struct stor_search_path *path)
{
    static char names[2][65]; /* the names found: they live as long as the process */
    struct stor_place fallback = {.label = backend, .backend = backend, .key_fd = -1};
    if (profile) {
        if (read_profiles(p) != STOR_EXIT_OK)
            return STOR_EXIT_USAGE;
        const struct stor_profile *pr = stor_profiles_find(&p->profiles, profile);
        if (!pr) {
            stor_error_line("--profile %s: no such profile in %s", profile,
                            p->profiles.exists ? p->profiles.path : "the config file (there is none)");
            return STOR_EXIT_USAGE;
        }
        fallback = place_of_profile(pr);
    }
    for (int i = 0; i < count && i < 2; i++) {
        if (!(remote_positions & (1u << i)))
            continue;
        struct stor_place place = fallback;
        size_t length = strspn(args[i], "abcdefghijklmnopqrstuvwxyz0123456789_-");
        int named = 0;
        if (length > 0 && length <= 64 && args[i][length] == ':') {
            snprintf(names[i], sizeof names[i], "%.*s", (int)length, args[i]);
            /* A profile shadows a backend of its name; a word that names neither stays part of
             * the argument (a local bucket may hold ':'). */
            if (read_profiles(p) != STOR_EXIT_OK)
                return STOR_EXIT_USAGE;
            const struct stor_profile *pr = stor_profiles_find(&p->profiles, names[i]);
            if (pr)
                place = place_of_profile(pr);
            else
                place = (struct stor_place){.label = names[i], .backend = names[i], .key_fd = -1};
            named = pr || backend_exists(names[i], path);
            if (!named)
                place = fallback;
        }
        if (!named && local_paths && looks_local(args[i])) {
            p->local_args |= 1u << i;
            continue;
        }
        if (named)
            args[i] += length + 1;
        if (!p->count || !same_place(&p->items[0], &place))
            p->items[p->count++] = place;
    }
    if (!p->count)
        p->items[p->count++] = fallback;
    return STOR_EXIT_OK;
}

static int documented_anywhere(const struct stor_places *p, const char *key)
{
    for (size_t i = 0; i < p->count; i++)
        if (stor_options_documented(&p->items[i].plugin.table, key))
            return 1;
    return 0;
}

int stor_places_load(struct stor_places *p, const struct stor_search_path *path,
                     const struct stor_backend *const *builtins, const struct stor_option_list *cli)
{
    struct stor_error err = {""};
    for (size_t i = 0; i < p->count; i++) {
        struct stor_place *pl = &p->items[i];
        enum stor_status status = stor_plugin_load(pl->backend, path, builtins, &pl->plugin, &err);
        if (status != STOR_OK) {
            if (pl->profile)
                stor_error_line("profile %s: %s", pl->label, err.message);
            else
                stor_error_line("%s", err.message);
            return stor_exit_code(status);
        }
        pl->loaded = 1;
    }
    for (size_t i = 0; i < p->count; i++) {
        struct stor_place *pl = &p->items[i];
        const struct stor_backend *table = &pl->plugin.table;
        /* The environment first, the profile over it, -o over both: the last value wins. */
        stor_options_add_env(&pl->options, table);
        if (pl->profile) {
            const struct stor_profile *pr = pl->profile;
            if ((pr->key_command || pr->key) && !stor_options_documented(table, "key_file")) {
                stor_error_line("profile %s: backend %s reads no key file: %s does not apply",
                                pr->name, table->name, pr->key_command ? "key_command" : "key_id/key");
                return STOR_EXIT_USAGE;
            }
            char why[512];
            if (stor_profile_add_options(pr, &pl->options, pl->key_path, sizeof pl->key_path,
                                         &pl->key_fd, why, sizeof why) != 0) {
                stor_error_line("%s", why);
                return STOR_EXIT_AUTH;
            }
        }
        for (size_t j = 0; j < cli->count; j++) {
            const char *key = cli->items[j].key;
            if (stor_options_documented(table, key) || (i == 0 && !documented_anywhere(p, key)))
                stor_options_add(&pl->options, key, cli->items[j].value);
        }
    }
    return STOR_EXIT_OK;
}

int stor_places_open(struct stor_places *p, const struct stor_host *host)
{
    int code = STOR_EXIT_OK;
    for (size_t i = 0; i < p->count && code == STOR_EXIT_OK; i++) {
        struct stor_place *pl = &p->items[i];
        struct stor_error err = {""};
        enum stor_status status = pl->plugin.table.open(host, pl->options.items, pl->options.count,
                                                        &pl->instance, &err);
        if (status != STOR_OK) {
            pl->instance = NULL;
            if (pl->profile)
                stor_error_line("profile %s: %s", pl->label, err.message);
            else
                stor_error_line("%s", err.message);
            code = stor_exit_code(status);
        }
        if (pl->key_fd >= 0) { /* read by open, if at all: the key need not stay in memory */
            close(pl->key_fd);
            pl->key_fd = -1;
        }
    }
    return code;
}

void stor_places_close(struct stor_places *p)
{
    for (size_t i = p->count; i-- > 0;) {
        struct stor_place *pl = &p->items[i];
        if (pl->instance)
            pl->plugin.table.close(pl->instance);
        if (pl->loaded)
            stor_plugin_unload(&pl->plugin);
        if (pl->key_fd >= 0)
            close(pl->key_fd);
        pl->instance = NULL;
        pl->loaded = 0;
        pl->key_fd = -1;
    }
    stor_profiles_free(&p->profiles);
}

/* --- stor config ----------------------------------------------------------------------------- */

static const char *shown_value(const char *key, const char *value)
{
    return stor_profile_key_is_secret(key) ? "********" : value;
}

static void add_shown(struct json_object *object, const char *key, const char *value)
{
    json_object_object_add(object, key, json_object_new_string(shown_value(key, value)));
}

/* One "  NAME = VALUE" line, the value masked by its option's key: a value is the user's text
 * and may hold anything (escapes for a terminal among it), so it is shown escaped. */
static void print_setting(const char *name, const char *key, const char *value, const char *note)
{
    char shown[8192];
    stor_printable(shown_value(key, value), shown, sizeof shown);
    printf("  %s = %s%s\n", name, shown, note);
}

static void show_profile(const struct stor_profile *pr, const struct stor_search_path *path,
                         int json, struct json_object *array)
{
    struct stor_plugin plugin;
    struct stor_error err = {""};
    int loaded = stor_plugin_load(pr->backend, path, stor_builtin_backends, &plugin, &err) == STOR_OK;
    const char *key = pr->key_command ? "key_command" : pr->key ? "inline key_id and key" : NULL;
    for (size_t i = 0; !key && i < pr->option_count; i++)
        if (strcmp(pr->options[i].key, "key_file") == 0)
            key = "key_file";
    int shadows = backend_exists(pr->name, path);
    struct stor_option_list env = {.count = 0};
    if (loaded)
        stor_options_add_env(&env, &plugin.table);
    if (json) {
        struct json_object *j = json_object_new_object(), *options = json_object_new_object(),
                           *environment = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(pr->name));
        json_object_object_add(j, "backend", json_object_new_string(pr->backend));
        json_object_object_add(j, "line", json_object_new_int(pr->line));
        json_object_object_add(j, "plugin", json_object_new_string(loaded ? plugin.path : err.message));
        json_object_object_add(j, "shadowsBackend", json_object_new_boolean(shadows));
        json_object_object_add(j, "key", key ? json_object_new_string(key) : NULL);
        for (size_t i = 0; i < pr->option_count; i++)
            add_shown(options, pr->options[i].key, pr->options[i].value);
        if (pr->key_command)
            add_shown(options, "key_command", pr->key_command);
        if (pr->key_id) {
            add_shown(options, "key_id", pr->key_id);
            add_shown(options, "key", pr->key);
        }
        for (size_t i = 0; i < env.count; i++) {
            char name[256];
            stor_env_name(pr->backend, env.items[i].key, name, sizeof name);
            json_object_object_add(environment, name, json_object_new_string(
                                       shown_value(env.items[i].key, env.items[i].value)));
        }
        json_object_object_add(j, "options", options);
        json_object_object_add(j, "environment", environment);
        json_object_array_add(array, j);
    } else {
        char where[8192];
        stor_printable(loaded ? plugin.path : err.message, where, sizeof where);
        printf("\nprofile %s (line %d): backend %s, %s%s\n", pr->name, pr->line, pr->backend,
               where, shadows ? " (it shadows the backend of its name)" : "");
        for (size_t i = 0; i < pr->option_count; i++)
            print_setting(pr->options[i].key, pr->options[i].key, pr->options[i].value, "");
        if (pr->key_command)
            print_setting("key_command", "key_command", pr->key_command, "");
        if (pr->key_id) {
            print_setting("key_id", "key_id", pr->key_id, "");
            print_setting("key", "key", pr->key, "");
        }
        for (size_t i = 0; i < env.count; i++) {
            char name[256];
            stor_env_name(pr->backend, env.items[i].key, name, sizeof name);
            print_setting(name, env.items[i].key, env.items[i].value,
                          " (environment; the profile and -o win)");
        }
        printf("  key: %s\n", key ? key : "the backend's own (environment variables)");
    }
    if (loaded)
        stor_plugin_unload(&plugin);
}

int stor_cmd_config(const struct stor_search_path *path, int json)
{
    struct stor_places p = {.count = 0};
    if (read_profiles(&p) != STOR_EXIT_OK)
        return STOR_EXIT_USAGE;
    const struct stor_profiles *pf = &p.profiles;
    struct json_object *top = json ? json_object_new_object() : NULL, *array = NULL;
    if (json) {
        struct json_object *file = json_object_new_object(), *dirs = json_object_new_array();
        json_object_object_add(file, "path", pf->chosen_by ? json_object_new_string(pf->path) : NULL);
        json_object_object_add(file, "from", pf->chosen_by ? json_object_new_string(pf->chosen_by) : NULL);
        json_object_object_add(file, "exists", json_object_new_boolean(pf->exists));
        json_object_object_add(top, "config", file);
        for (size_t i = 0; i < path->count; i++)
            json_object_array_add(dirs, json_object_new_string(path->dirs[i]));
        json_object_object_add(top, "pluginPath", dirs);
        array = json_object_new_array();
        json_object_object_add(top, "profiles", array);
    } else if (!pf->chosen_by) {
        printf("config: none (neither STOR_CONFIG, XDG_CONFIG_HOME nor HOME is set)\n");
    } else {
        printf("config: %s (from %s)%s\n", pf->path, pf->chosen_by,
               pf->exists ? "" : ": none there, so no profiles");
    }
    if (!json) {
        printf("plugin search path:");
        for (size_t i = 0; i < path->count; i++)
            printf(" %s", path->dirs[i]);
        printf("\n");
    }
    for (size_t i = 0; i < pf->count; i++)
        show_profile(&pf->items[i], path, json, array);
    if (json) {
        stor_print_json(top);
        json_object_put(top);
    }
    stor_places_close(&p);
    return STOR_EXIT_OK;
}
