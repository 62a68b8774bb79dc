/* loader.c — backend plugins as shared objects: search path, dlopen(RTLD_NOW|RTLD_LOCAL), and the
 * ABI checks that turn a broken plugin into one clear line instead of a crash. */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int stor_search_path_add(struct stor_search_path *path, const char *dir)
{
    if (!dir || dir[0] != '/')
        return 0; /* empty or relative entries would search the current directory */
    for (size_t i = 0; i < path->count; i++)
        if (strcmp(path->dirs[i], dir) == 0)
            return 0;
    if (path->count == sizeof path->dirs / sizeof path->dirs[0])
        return -1;
    path->dirs[path->count++] = dir;
    return 0;
}

static int valid_backend_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

enum stor_status stor_plugin_check(const struct stor_backend *table, const char *expected_name,
                                   const char *where, struct stor_error *err)
{
    if (!table)
        return stor_fail(err, STOR_EINVAL, "plugin %s: %s() returned no backend table", where,
                         STOR_PLUGIN_ENTRY_SYMBOL);
    if (table->abi_version == 0)
        return stor_fail(err, STOR_EINVAL, "plugin %s: invalid plugin ABI version 0", where);
    if (table->abi_version > STOR_ABI_VERSION)
        return stor_fail(err, STOR_EINVAL,
                         "plugin %s needs plugin ABI version %u, but this stor supports up to "
                         "version %u: upgrade stor or rebuild the plugin",
                         where, table->abi_version, STOR_ABI_VERSION);
    if (table->struct_size < STOR_BACKEND_V1_SIZE)
        return stor_fail(err, STOR_EINVAL,
                         "plugin %s: its backend table is %u bytes, shorter than the %zu bytes "
                         "of plugin ABI version 1",
                         where, table->struct_size, (size_t)STOR_BACKEND_V1_SIZE);
    if (!table->name || (expected_name && strcmp(table->name, expected_name) != 0))
        return stor_fail(err, STOR_EINVAL, "plugin %s calls itself '%s', expected '%s'", where,
                         table->name ? table->name : "(null)", expected_name);
    const struct {
        const char *name;
        int present;
    } required[] = {
        {"open", table->open != NULL}, {"close", table->close != NULL},
        {"put", table->put != NULL},   {"get", table->get != NULL},
        {"list", table->list != NULL},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i].present)
            return stor_fail(err, STOR_EINVAL, "plugin %s lacks the required operation '%s'",
                             where, required[i].name);
    return STOR_OK;
}

/* Copies the plugin's table into a host-sized one: slots the plugin is too old to have are NULL. */
static void adopt_table(struct stor_plugin *plugin, const struct stor_backend *table)
{
    size_t n = table->struct_size < sizeof plugin->table ? table->struct_size : sizeof plugin->table;
    memset(&plugin->table, 0, sizeof plugin->table);
    memcpy(&plugin->table, table, n);
    plugin->capabilities = stor_plugin_capabilities(&plugin->table);
}

/* Slot each capability needs (NULL: none beyond ABI 1). */
static int capability_has_slot(const struct stor_backend *b, uint64_t capability)
{
    switch (capability) {
    case STOR_CAP_VERSIONS:
    case STOR_CAP_RANGED_GET:
    case STOR_CAP_RESUME_GET:
        return b->get_ex != NULL;
    case STOR_CAP_SERVER_COPY:
        return b->copy != NULL;
    case STOR_CAP_SHARE:
        return b->share != NULL;
    case STOR_CAP_METADATA:
    case STOR_CAP_MTIME:
    case STOR_CAP_ENCRYPTION:
    case STOR_CAP_RETENTION:
        return b->put_ex != NULL;
    case STOR_CAP_BUCKETS:
        return b->list_buckets && b->create_bucket && b->delete_bucket;
    case STOR_CAP_CLEANUP:
        return b->cleanup != NULL;
    case STOR_CAP_UPLOAD_TARGET:
        return b->get_upload_target != NULL;
    default:
        return 1;
    }
}

uint64_t stor_plugin_capabilities(const struct stor_backend *b)
{
    uint64_t declared;
    if (b->abi_version >= 3) {
        declared = b->capabilities;
    } else {
        /* Older tables say nothing: what their slots could do, as ABI 2 hosts assumed. */
        declared = STOR_CAP_DELIMITER | STOR_CAP_UPLOAD_TARGET | STOR_CAP_SERVER_COPY |
                   STOR_CAP_CLEANUP;
        if (b->abi_version >= 2)
            declared |= STOR_CAP_VERSIONS | STOR_CAP_RANGED_GET | STOR_CAP_RESUME_GET;
    }
    uint64_t usable = 0;
    for (uint64_t bit = 1; bit && bit <= declared; bit <<= 1)
        if ((declared & bit) && capability_has_slot(b, bit))
            usable |= bit;
    return usable;
}

static const struct {
    uint64_t bit;
    const char *name;
} capability_names[] = {
    {STOR_CAP_VERSIONS, "versions"},       {STOR_CAP_SERVER_COPY, "server-copy"},
    {STOR_CAP_RANGED_GET, "ranged-get"},   {STOR_CAP_RESUME_GET, "resume-get"},
    {STOR_CAP_RESUME_PUT, "resume-put"},   {STOR_CAP_SHARE, "share"},
    {STOR_CAP_METADATA, "metadata"},       {STOR_CAP_MTIME, "mtime"},
    {STOR_CAP_SHA1, "sha1"},               {STOR_CAP_MD5, "md5"},
    {STOR_CAP_BUCKETS, "buckets"},         {STOR_CAP_DELIMITER, "delimiter"},
    {STOR_CAP_CLEANUP, "cleanup"},         {STOR_CAP_UPLOAD_TARGET, "upload-target"},
    {STOR_CAP_ENCRYPTION, "encryption"},   {STOR_CAP_RETENTION, "retention"},
};

const char *stor_capability_name(uint64_t bit)
{
    for (size_t i = 0; i < sizeof capability_names / sizeof capability_names[0]; i++)
        if (capability_names[i].bit == bit)
            return capability_names[i].name;
    return NULL;
}

void stor_capabilities_text(uint64_t capabilities, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof capability_names / sizeof capability_names[0]; i++) {
        if (!(capabilities & capability_names[i].bit))
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? "," : "", capability_names[i].name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, size, "-");
}

static enum stor_status load_file(const char *file, const char *name, struct stor_plugin *plugin,
                                  struct stor_error *err)
{
    struct stat st;
    if (stat(file, &st) != 0)
        return stor_fail(err, STOR_ENOTFOUND, "plugin %s: %s", file, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return stor_fail(err, STOR_EINVAL, "plugin %s is not a regular file", file);
    if (st.st_mode & S_IWOTH)
        return stor_fail(err, STOR_EINVAL, "plugin %s is writable by anyone: refusing to load it",
                         file);
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return stor_fail(err, STOR_EINVAL,
                         "plugin %s belongs to another user (uid %u): refusing to load it", file,
                         (unsigned)st.st_uid);

    void *handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return stor_fail(err, STOR_EINVAL,
                         "cannot load plugin %s: %s (is it a shared object for this machine, with "
                         "its dependencies installed? ldd shows them)",
                         file, dlerror());
    dlerror();
    stor_plugin_entry_fn entry;
    *(void **)&entry = dlsym(handle, STOR_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        dlclose(handle);
        return stor_fail(err, STOR_EINVAL, "%s is not a stor plugin: it has no symbol %s", file,
                         STOR_PLUGIN_ENTRY_SYMBOL);
    }
    const struct stor_backend *table = entry();
    enum stor_status status = stor_plugin_check(table, name, file, err);
    if (status != STOR_OK) {
        dlclose(handle);
        return status;
    }
    adopt_table(plugin, table);
    plugin->handle = handle;
    snprintf(plugin->path, sizeof plugin->path, "%s", file);
    return STOR_OK;
}

static const struct stor_backend *find_builtin(const struct stor_backend *const *builtins,
                                               const char *name)
{
    for (; builtins && *builtins; builtins++)
        if (strcmp((*builtins)->name, name) == 0)
            return *builtins;
    return NULL;
}

/* The "no such backend" message: where we looked and what exists, so the user can fix it. */
struct name_list {
    char text[1024];
    size_t len;
};

static void collect_name(void *context, const char *name, const struct stor_plugin *plugin,
                         const char *error)
{
    struct name_list *list = context;
    if (!plugin)
        return; /* a broken plugin is not a choice */
    int n = snprintf(list->text + list->len, sizeof list->text - list->len, "%s%s",
                     list->len ? ", " : "", name);
    if (n > 0 && (size_t)n < sizeof list->text - list->len)
        list->len += (size_t)n;
}

static enum stor_status not_found(const char *name, const struct stor_search_path *path,
                                  const struct stor_backend *const *builtins,
                                  struct stor_error *err)
{
    char where[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < path->count && len < sizeof where; i++) {
        int n = snprintf(where + len, sizeof where - len, "%s%s", i ? ":" : "", path->dirs[i]);
        if (n > 0)
            len += (size_t)n;
    }
    struct name_list names = {.len = 0};
    stor_plugin_scan(path, builtins, collect_name, &names);
    return stor_fail(err, STOR_ENOTFOUND, "no backend named '%s' (searched %s; available: %s)",
                     name, len ? where : "no directories", names.len ? names.text : "none");
}

enum stor_status stor_plugin_load(const char *name, const struct stor_search_path *path,
                                  const struct stor_backend *const *builtins,
                                  struct stor_plugin *plugin, struct stor_error *err)
{
    memset(plugin, 0, sizeof *plugin);
    if (!valid_backend_name(name))
        return stor_fail(err, STOR_EINVAL,
                         "invalid backend name '%s' (letters, digits, '-' and '_' only)", name);
    for (size_t i = 0; i < path->count; i++) {
        char file[4096];
        if (snprintf(file, sizeof file, "%s/%s.so", path->dirs[i], name) >= (int)sizeof file)
            continue;
        if (access(file, F_OK) == 0)
            return load_file(file, name, plugin, err);
    }
    const struct stor_backend *builtin = find_builtin(builtins, name);
    if (!builtin)
        return not_found(name, path, builtins, err);
    enum stor_status status = stor_plugin_check(builtin, name, "built-in", err);
    if (status != STOR_OK)
        return status;
    adopt_table(plugin, builtin);
    snprintf(plugin->path, sizeof plugin->path, "built-in");
    return STOR_OK;
}

void stor_plugin_unload(struct stor_plugin *plugin)
{
    if (plugin->handle)
        dlclose(plugin->handle);
    memset(plugin, 0, sizeof *plugin);
}

static int already_seen(char seen[][65], size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(seen[i], name) == 0)
            return 1;
    return 0;
}

static int compare_backend_names(const void *a, const void *b)
{
    return strcmp((*(const struct stor_backend *const *)a)->name,
                  (*(const struct stor_backend *const *)b)->name);
}

void stor_plugin_scan(const struct stor_search_path *path, const struct stor_backend *const *builtins,
                      stor_plugin_visit_fn visit, void *context)
{
    char seen[256][65];
    size_t seen_count = 0;

    for (size_t d = 0; d < path->count; d++) {
        struct dirent **entries;
        int n = scandir(path->dirs[d], &entries, NULL, alphasort);
        if (n < 0)
            continue;
        for (int i = 0; i < n; i++) {
            char name[65];
            size_t len = strlen(entries[i]->d_name);
            if (len > 3 && len - 3 < sizeof name &&
                strcmp(entries[i]->d_name + len - 3, ".so") == 0) {
                memcpy(name, entries[i]->d_name, len - 3);
                name[len - 3] = '\0';
                if (valid_backend_name(name) && !already_seen(seen, seen_count, name) &&
                    seen_count < sizeof seen / sizeof seen[0]) {
                    strcpy(seen[seen_count++], name);
                    char file[4096];
                    snprintf(file, sizeof file, "%s/%s", path->dirs[d], entries[i]->d_name);
                    struct stor_plugin plugin;
                    struct stor_error err = {""};
                    memset(&plugin, 0, sizeof plugin);
                    if (load_file(file, name, &plugin, &err) == STOR_OK) {
                        visit(context, name, &plugin, NULL);
                        stor_plugin_unload(&plugin);
                    } else {
                        visit(context, name, NULL, err.message);
                    }
                }
            }
            free(entries[i]);
        }
        free(entries);
    }

    /* Built-ins not shadowed by a file, in name order. */
    const struct stor_backend *shown[64];
    size_t count = 0;
    for (const struct stor_backend *const *b = builtins; b && *b && count < 64; b++)
        if (!already_seen(seen, seen_count, (*b)->name))
            shown[count++] = *b;
    qsort(shown, count, sizeof shown[0], compare_backend_names);
    for (size_t i = 0; i < count; i++) {
        struct stor_plugin plugin;
        adopt_table(&plugin, shown[i]);
        plugin.handle = NULL;
        snprintf(plugin.path, sizeof plugin.path, "built-in");
        visit(context, shown[i]->name, &plugin, NULL);
    }
}
