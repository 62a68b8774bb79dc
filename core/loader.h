/* loader.h — finds a backend plugin by name on a search path, dlopens it and checks its ABI.
 * The only place in the host that knows plugins are shared objects. */
#ifndef STOR_LOADER_H
#define STOR_LOADER_H

#include <stddef.h>

#include "stor/plugin.h"

/* A loaded backend. `table` is the plugin's vtable copied into a host-sized struct, zero-filled
 * past what the plugin provided, so slots newer than the plugin read as NULL (unsupported). */
struct stor_plugin {
    struct stor_backend table;
    uint64_t capabilities; /* what the host may use: stor_plugin_capabilities(&table) */
    void *handle;       /* dlopen handle, NULL for a built-in backend */
    char path[4096];    /* file it came from, or "built-in" */
};

/* Where to look, in order. Directories are tried as given; the caller leaves out anything that
 * would mean the current directory. */
struct stor_search_path {
    const char *dirs[32];
    size_t count;
};

/* Appends dir unless it is empty, relative, or already listed; returns 0, or -1 when full. */
int stor_search_path_add(struct stor_search_path *path, const char *dir);

/* Loads backend `name` from the first directory holding NAME.so; if none does, falls back to a
 * built-in table of that name (builtins is NULL-terminated, may be NULL). On failure returns
 * STOR_EINVAL / STOR_ENOTFOUND with a one-line message naming the file and the cause. */
enum stor_status stor_plugin_load(const char *name, const struct stor_search_path *path,
                                  const struct stor_backend *const *builtins,
                                  struct stor_plugin *plugin, struct stor_error *err);

/* Checks a plugin's table against this host's ABI; `where` names it in messages. */
enum stor_status stor_plugin_check(const struct stor_backend *table, const char *expected_name,
                                   const char *where, struct stor_error *err);

void stor_plugin_unload(struct stor_plugin *plugin);

/* The STOR_CAP_* bits the host may rely on: a table's declared ones (or, for ABI 1 and 2 tables,
 * what their slots could do) less those whose slot is NULL. */
uint64_t stor_plugin_capabilities(const struct stor_backend *table);
/* "versions", "server-copy", ... for one bit (NULL if unknown); and a comma-separated list of
 * all set in capabilities ("-" for none). */
const char *stor_capability_name(uint64_t bit);
void stor_capabilities_text(uint64_t capabilities, char *out, size_t size);

/* Calls visit for every backend found (first of each name wins, then built-ins not shadowed):
 * with the loaded plugin, or with plugin NULL and the reason it could not be loaded. */
typedef void (*stor_plugin_visit_fn)(void *context, const char *name, const struct stor_plugin *plugin,
                                     const char *error);
void stor_plugin_scan(const struct stor_search_path *path, const struct stor_backend *const *builtins,
                      stor_plugin_visit_fn visit, void *context);

#endif
