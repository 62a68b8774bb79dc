/* plugins/b2/plugin.c — the B2 backend's face to the host: options, credentials, open/close, and
 * the const vtable stor_plugin_entry returns. The operations live in upload.c, download.c, list.c. */
#include "plugin.h"

#include "cache.h"
#include "cleanup.h"
#include "instance.h"
#include "large_file.h"
#include "names.h"
#include "operations.h"
#include "pool.h"
#include "protection.h"
#include "sp_clock.h"
#include "sp_host.h"
#include "sp_http.h"
#include "stat.h"
#include "versions.h"
#include "wire.h"

#include <openssl/evp.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define B2_MAX_INFO_HEADERS 10 /* B2's documented limit, src_last_modified_millis included */

static int parse_integer(const char *text, long long minimum, long long maximum, long long *value)
{
    char *end;
    errno = 0;
    long long number = strtoll(text, &end, 10);
    if (errno || end == text || *end || number < minimum || number > maximum)
        return -1;
    *value = number;
    return 0;
}

static int parse_boolean(const char *text, int *value)
{
    static const char *const yes[] = {"1", "yes", "true", "on"}, *const no[] = {"0", "no", "false", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *value = 1, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *value = 0, 0;
    }
    return -1;
}

/* Keeps the key id and key, and the key's Basic-auth form (Base64 of "id:key"): a server that
 * echoes the Authorization header back must not get it printed. */
static enum stor_status set_credentials(struct b2_config *config, const char *id, const char *key,
                                        struct stor_error *err)
{
    free(config->key_id);
    if (config->key)
        explicit_bzero(config->key, strlen(config->key));
    free(config->key);
    free(config->key_basic);
    config->key_id = strdup(id);
    config->key = strdup(key);
    size_t plain_length = strlen(id) + 1 + strlen(key);
    char *plain = malloc(plain_length + 1);
    config->key_basic = malloc(4 * ((plain_length + 2) / 3) + 1);
    if (plain && config->key_basic) {
        snprintf(plain, plain_length + 1, "%s:%s", id, key);
        EVP_EncodeBlock((unsigned char *)config->key_basic, (unsigned char *)plain, (int)plain_length);
        explicit_bzero(plain, plain_length);
    }
    free(plain);
    return config->key_id && config->key && config->key_basic
               ? STOR_OK
               : stor_fail(err, STOR_EINTERNAL, "out of memory");
}

static enum stor_status read_key_file(const char *path, struct b2_config *config,
                                      const struct b2_plugin *plugin, struct stor_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return stor_fail(err, STOR_EINVAL, "key_file %s: %s", path, strerror(errno));
    struct stat info;
    char text[4096];
    ssize_t length = fstat(fd, &info) == 0 ? read(fd, text, sizeof text - 1) : -1;
    close(fd);
    if (length < 0)
        return stor_fail(err, STOR_EINVAL, "key_file %s: %s", path, strerror(errno));
    if (info.st_mode & (S_IRWXG | S_IRWXO))
        sp_log(plugin->host, STOR_LOG_WARN, "key_file %s is readable by others: chmod 600 it",
               path);
    text[length] = '\0';
    char *save = NULL;
    char *id = strtok_r(text, "\r\n", &save);
    char *key = id ? strtok_r(NULL, "\r\n", &save) : NULL;
    for (char **field = (char *[]){id, key, NULL}; *field; field++) {
        char *end = *field + strlen(*field);
        while (end > *field && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
    }
    if (!id || !key || !*id || !*key)
        return stor_fail(err, STOR_EINVAL, "key_file %s must hold two lines: the application key "
                         "id, then the application key", path);
    enum stor_status status = set_credentials(config, id, key, err);
    explicit_bzero(text, sizeof text);
    return status;
}

/* ---- large-file options: transfers, part_size, upload_cutoff, resume ---- */

/* 1 if name is one of them (*status says whether value was good), 0 if not. */
static int parse_large_file_option(struct b2_config *config, const char *name, const char *value,
                                   struct stor_error *err, enum stor_status *status)
{
    long long number;
    int64_t size;
    *status = STOR_OK;
    if (strcmp(name, "transfers") == 0) {
        if (parse_integer(value, 1, B2_MAX_TRANSFERS, &number) != 0)
            *status = stor_fail(err, STOR_EINVAL, "option transfers must be a number of parallel "
                                "parts from 1 to %d", B2_MAX_TRANSFERS);
        else
            config->transfers = (int)number;
    } else if (strcmp(name, "part_size") == 0) {
        if (b2_parse_size(value, &size) != 0 || size < B2_PART_SIZE_MIN || size > B2_PART_SIZE_MAX)
            *status = stor_fail(err, STOR_EINVAL, "option part_size must be a size from %lld "
                                "(5MB) to %lld (5GB) bytes, e.g. 100MB or 64M; got '%s'",
                                B2_PART_SIZE_MIN, B2_PART_SIZE_MAX, value);
        else
            config->part_size = size;
    } else if (strcmp(name, "upload_cutoff") == 0) {
        if (b2_parse_size(value, &size) != 0 || size < B2_PART_SIZE_MIN ||
            size > B2_SINGLE_UPLOAD_MAX)
            *status = stor_fail(err, STOR_EINVAL, "option upload_cutoff must be a size from %lld "
                                "(5MB) to %lld (5GB) bytes, e.g. 200M; got '%s'", B2_PART_SIZE_MIN,
                                B2_SINGLE_UPLOAD_MAX, value);
        else
            config->upload_cutoff = size;
    } else if (strcmp(name, "resume") == 0) {
        if (parse_boolean(value, &config->resume) != 0)
            *status = stor_fail(err, STOR_EINVAL, "option resume must be yes or no");
    } else {
        return 0;
    }
    return 1;
}

/* ---- URL options: endpoint, download_url ---- */

/* http(s), one line, and no user name or password in it: those would be echoed in messages
 * and sent to every host; B2's credentials have their own variables. */
static enum stor_status check_url_option(const char *name, const char *value,
                                         struct stor_error *err)
{
    size_t scheme = strncmp(value, "https://", 8) == 0 ? 8 : strncmp(value, "http://", 7) == 0 ? 7 : 0;
    if (!scheme)
        return stor_fail(err, STOR_EINVAL, "option %s must be an http:// or https:// URL", name);
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c <= ' ' || *c == 127)
            return stor_fail(err, STOR_EINVAL, "option %s: a URL has no spaces or control "
                             "characters", name);
    const char *authority = value + scheme;
    if (memchr(authority, '@', strcspn(authority, "/?#")))
        return stor_fail(err, STOR_EINVAL, "option %s must not hold a user name or password "
                         "(the key goes in B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY or "
                         "-o key_file)", name);
    return STOR_OK;
}

/* Plain http is for test servers on this machine; anywhere else tokens travel in clear. */
static void warn_if_plain_http(struct b2_plugin *plugin, const char *name, const char *url)
{
    if (url && strncmp(url, "http://", 7) == 0 && strncmp(url + 7, "127.0.0.1", 9) != 0 &&
        strncmp(url + 7, "localhost", 9) != 0 && strncmp(url + 7, "[::1]", 5) != 0)
        sp_log(plugin->host, STOR_LOG_WARN, "%s %s is plain http: %s travel unencrypted", name, url,
               strcmp(name, "endpoint") == 0 ? "the key and tokens" : "the account's token and "
               "the data");
}

/* ---- options of downloads and copies: 1 if name is one of them (status says how it went) ---- */
static int download_option(struct b2_config *config, const char *name, const char *value,
                           enum stor_status *status, struct stor_error *err)
{
    *status = STOR_OK;
    if (strcmp(name, "download_url") == 0) {
        *status = check_url_option(name, value, err);
        free(config->download_url);
        config->download_url = *status == STOR_OK ? strdup(value) : NULL;
        size_t length = config->download_url ? strlen(config->download_url) : 0;
        while (length > 0 && config->download_url[length - 1] == '/')
            config->download_url[--length] = '\0';
        if (*status == STOR_OK && !config->download_url)
            *status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    } else if (strcmp(name, "download_part_size") == 0) {
        int64_t size;
        if (b2_parse_size(value, &size) != 0 || size < 1 || size > B2_SINGLE_UPLOAD_MAX)
            *status = stor_fail(err, STOR_EINVAL, "option download_part_size must be a size from "
                                "1 to %lld bytes, e.g. 100MB or 64M; got '%s'",
                                B2_SINGLE_UPLOAD_MAX, value);
        else
            config->download_part_size = size;
    } else {
        return 0;
    }
    return 1;
}

static enum stor_status parse_options(struct b2_plugin *plugin, const struct stor_option *options,
                                      size_t option_count, struct stor_error *err)
{
    struct b2_config *config = &plugin->config;
    const char *key_file = NULL, *sse_c_key_file = NULL;
    enum stor_status status = STOR_OK;
    config->retries = 8;
    config->retry_time_ms = 600 * 1000;
    config->upload_cutoff = B2_DEFAULT_UPLOAD_CUTOFF;
    config->transfers = B2_DEFAULT_TRANSFERS;
    config->resume = 1;
    config->disk_cache = 1;
    config->connect_timeout_s = 30;
    config->idle_timeout_s = 120;
    const char *endpoint = B2_DEFAULT_ENDPOINT, *content_type = "b2/x-auto";
    for (size_t i = 0; i < option_count; i++) {
        const char *name = options[i].key, *value = options[i].value ? options[i].value : "";
        long long number;
        enum stor_status handled;
        if (download_option(config, name, value, &handled, err)) {
            if (handled != STOR_OK)
                return handled;
            continue;
        }
        if (strcmp(name, "key") == 0 || strcmp(name, "application_key") == 0 ||
            strcmp(name, "key_id") == 0 || strcmp(name, "application_key_id") == 0)
            return stor_fail(err, STOR_EINVAL,
                             "option %s refused: credentials on the command line are visible to "
                             "every user (ps, shell history); set B2_APPLICATION_KEY_ID and "
                             "B2_APPLICATION_KEY, or use -o key_file=PATH", name);
        if (strcmp(name, "endpoint") == 0) {
            if ((status = check_url_option(name, value, err)) != STOR_OK)
                return status;
            endpoint = value;
        } else if (strcmp(name, "key_file") == 0) {
            key_file = value;
        } else if (strcmp(name, "sse_c_key_file") == 0) {
            sse_c_key_file = value;
        } else if (strcmp(name, "retries") == 0) {
            if (parse_integer(value, 1, 1000, &number) != 0)
                return stor_fail(err, STOR_EINVAL, "option retries must be a number of tries from 1 to 1000");
            config->retries = (int)number;
        } else if (strcmp(name, "retry_time") == 0) {
            if (parse_integer(value, 0, 7 * 86400, &number) != 0)
                return stor_fail(err, STOR_EINVAL, "option retry_time must be seconds, from 0 to 604800");
            config->retry_time_ms = number * 1000;
        } else if (strcmp(name, "content_type") == 0) {
            if (!*value || strpbrk(value, "\r\n"))
                return stor_fail(err, STOR_EINVAL, "option content_type must be a MIME type");
            content_type = value;
        } else if (parse_large_file_option(config, name, value, err, &status)) {
            if (status != STOR_OK)
                return status;
        } else if (strcmp(name, "cache") == 0) {
            if (parse_boolean(value, &config->disk_cache) != 0)
                return stor_fail(err, STOR_EINVAL, "option cache must be yes or no");
        } else if (strcmp(name, "timeout") == 0 || strcmp(name, "connect_timeout") == 0) {
            if (parse_integer(value, 1, 86400, &number) != 0)
                return stor_fail(err, STOR_EINVAL, "option %s must be seconds, from 1 to 86400", name);
            *(name[0] == 't' ? &config->idle_timeout_s : &config->connect_timeout_s) = (long)number;
        } else if (strncmp(name, "info.", 5) == 0) {
            if (!b2_info_name_valid(name + 5))
                return stor_fail(err, STOR_EINVAL, "option %s: a file-info name is 1 to 50 letters, "
                                 "digits or -_.~!#$%%^&*'+`| and not a b2- name B2 does not know",
                                 name);
            int replaced = 0;
            for (size_t j = 0; j < config->info_count && !replaced; j++) {
                if (strcasecmp(config->info[j].name, name + 5) == 0) {
                    char *copy = strdup(value);
                    if (!copy)
                        return stor_fail(err, STOR_EINTERNAL, "out of memory");
                    free(config->info[j].value);
                    config->info[j].value = copy;
                    replaced = 1;
                }
            }
            if (replaced)
                continue;
            if (config->info_count + 1 >= B2_MAX_INFO_HEADERS)
                return stor_fail(err, STOR_EINVAL, "too many info.* options: B2 takes %d file-info "
                                 "entries, src_last_modified_millis included", B2_MAX_INFO_HEADERS);
            struct b2_info *grown = realloc(config->info, (config->info_count + 1) * sizeof *grown);
            if (!grown)
                return stor_fail(err, STOR_EINTERNAL, "out of memory");
            config->info = grown;
            grown[config->info_count].name = strdup(name + 5);
            grown[config->info_count].value = strdup(value);
            config->info_count++; /* counted first, so destroy frees a half-made entry */
            if (!grown[config->info_count - 1].name || !grown[config->info_count - 1].value)
                return stor_fail(err, STOR_EINTERNAL, "out of memory");
        } else {
            return stor_fail(err, STOR_EINVAL, "unknown option '%s' for backend b2 (see stor "
                             "--backend=b2 --help)", name);
        }
    }
    if (config->part_size > config->upload_cutoff)
        return stor_fail(err, STOR_EINVAL, "option upload_cutoff (%lld bytes) must be at least "
                         "part_size (%lld bytes): a file above the cutoff goes up in parts",
                         (long long)config->upload_cutoff, (long long)config->part_size);
    config->endpoint = strdup(endpoint);
    config->content_type = strdup(content_type);
    if (!config->endpoint || !config->content_type)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    size_t length = strlen(config->endpoint);
    while (length > 0 && config->endpoint[length - 1] == '/')
        config->endpoint[--length] = '\0';
    warn_if_plain_http(plugin, "endpoint", config->endpoint);
    warn_if_plain_http(plugin, "download_url", config->download_url);
    if (sse_c_key_file && (status = b2_sse_c_load(sse_c_key_file, config, err)) != STOR_OK)
        return status;

    if (key_file)
        return read_key_file(key_file, config, plugin, err);
    const char *id = getenv("B2_APPLICATION_KEY_ID"), *key = getenv("B2_APPLICATION_KEY");
    int no_id = !id || !*id, no_key = !key || !*key;
    if (no_id || no_key) /* an authentication failure (exit 4), naming what is missing */
        return stor_fail(err, STOR_EAUTH, "no B2 credentials: %s %s not set (set both, or use -o "
                         "key_file=PATH)",
                         no_id && no_key ? "B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY"
                         : no_id         ? "B2_APPLICATION_KEY_ID"
                                         : "B2_APPLICATION_KEY",
                         no_id && no_key ? "are" : "is");
    return set_credentials(config, id, key, err);
}

static void warn_about_cache(void *context, const char *line)
{
    const struct b2_plugin *plugin = context;
    sp_log(plugin->host, STOR_LOG_WARN, "%s", line);
}

enum stor_status b2_plugin_create(const struct stor_host *host, const struct stor_option *options,
                                  size_t option_count, struct sp_clock clock,
                                  struct b2_plugin **result, struct stor_error *err)
{
    *result = NULL;
    struct b2_plugin *plugin = calloc(1, sizeof *plugin);
    if (!plugin)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    plugin->host = host;
    plugin->clock = clock;
    pthread_mutex_init(&plugin->auth_lock, NULL);
    pthread_mutex_init(&plugin->bucket_lock, NULL);
    pthread_mutex_init(&plugin->bucket_lookup_lock, NULL);
    pthread_mutex_init(&plugin->pool_lock, NULL);
    enum stor_status status = parse_options(plugin, options, option_count, err);
    if (status != STOR_OK) {
        b2_plugin_destroy(plugin);
        return status;
    }
    if (plugin->config.disk_cache) {
        char why[300];
        plugin->cache = b2_cache_open(plugin->config.cache_dir, plugin->config.endpoint,
                                      plugin->config.key_id, plugin->config.key, why,
                                      sizeof why);
        if (!plugin->cache)
            sp_log(plugin->host, STOR_LOG_WARN, "no disk cache (%s): every run authorizes anew",
                   why);
        else
            b2_cache_on_warning(plugin->cache, warn_about_cache, plugin);
    }
    *result = plugin;
    return STOR_OK;
}

void b2_plugin_destroy(struct b2_plugin *plugin)
{
    if (!plugin)
        return;
    b2_pool_persist(plugin);
    b2_cache_close(plugin->cache);
    if (plugin->http)
        plugin->http->destroy(plugin->http);
    b2_account_free(&plugin->account);
    for (size_t i = 0; i < plugin->bucket_id_count; i++) {
        free(plugin->bucket_ids[i].name);
        free(plugin->bucket_ids[i].id);
    }
    free(plugin->bucket_ids);
    struct b2_config *config = &plugin->config;
    free(config->endpoint);
    free(config->key_id);
    if (config->key)
        explicit_bzero(config->key, strlen(config->key));
    free(config->key);
    if (config->key_basic)
        explicit_bzero(config->key_basic, strlen(config->key_basic));
    free(config->key_basic);
    free(config->content_type);
    free(config->cache_dir);
    free(config->download_url);
    b2_sse_c_forget(config);
    for (size_t i = 0; i < config->info_count; i++) {
        free(config->info[i].name);
        free(config->info[i].value);
    }
    free(config->info);
    pthread_mutex_destroy(&plugin->auth_lock);
    pthread_mutex_destroy(&plugin->bucket_lock);
    pthread_mutex_destroy(&plugin->bucket_lookup_lock);
    pthread_mutex_destroy(&plugin->pool_lock);
    free(plugin);
}

/* An answer kept in memory is JSON (or an error): a 1,000-name listing is under 1 MB. json-c's
 * tree takes ~250 times the text, so a hostile 32 MB answer once took 7.7 GB: 4 MiB is ample. */
#define B2_MAX_MEMORY_ANSWER ((size_t)4 << 20)

static void trace_to_host(void *context, const char *line)
{
    const struct b2_plugin *plugin = context;
    sp_log(plugin->host, STOR_LOG_TRACE, "%s", line);
}

static enum stor_status b2_open(const struct stor_host *host, const struct stor_option *options,
                                size_t option_count, void **instance, struct stor_error *err)
{
    *instance = NULL;
    if (!host || host->abi_version < 1 ||
        host->struct_size < offsetof(struct stor_host, cancelled) + sizeof host->cancelled)
        return stor_fail(err, STOR_EUNSUPPORTED, "the b2 backend needs a host of plugin ABI 1 or newer");
    struct b2_plugin *plugin;
    enum stor_status status = b2_plugin_create(host, options, option_count, sp_clock_system(),
                                               &plugin, err);
    if (status != STOR_OK)
        return status;
    /* Thread-safe since libcurl 7.84; done here, before any worker thread can use curl. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        b2_plugin_destroy(plugin);
        return stor_fail(err, STOR_EINTERNAL, "libcurl failed to initialise");
    }
    /* libcurl's own version only: curl_version() lists every library behind it (200 bytes
     * here), which libcurl formatted into each request for about 30,000 instructions. */
    char user_agent[80];
    snprintf(user_agent, sizeof user_agent, "stor-b2/%s libcurl/%s", PACKAGE_VERSION,
             curl_version_info(CURLVERSION_NOW)->version);
    struct sp_http_options http_options = {
        .connect_timeout_s = plugin->config.connect_timeout_s,
        .idle_timeout_s = plugin->config.idle_timeout_s,
        .user_agent = user_agent,
        .max_memory_body = B2_MAX_MEMORY_ANSWER,
        .secret_headers = b2_sse_c_secret_headers,
        .trace = host->log_level >= STOR_LOG_TRACE ? trace_to_host : NULL,
        .trace_context = plugin,
    };
    plugin->http = sp_http_curl_create(&http_options);
    if (!plugin->http) {
        b2_plugin_destroy(plugin);
        curl_global_cleanup();
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    *instance = plugin;
    return STOR_OK;
}

static void b2_close(void *instance)
{
    b2_plugin_destroy(instance);
    curl_global_cleanup();
}

static const struct stor_option_doc b2_options[] = {
    {"endpoint", "authorization URL (default " B2_DEFAULT_ENDPOINT "; env STOR_B2_ENDPOINT)"},
    {"key_file", "file with two lines: application key id, application key (else env "
                 "B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY)"},
    {"retries", "tries of one B2 call before giving up (default 8)"},
    {"retry_time", "seconds one B2 call may spend retrying (default 600)"},
    {"content_type", "Content-Type of uploads unless the put gives one (default b2/x-auto: B2 "
                     "picks by extension)"},
    {"info.NAME", "file info NAME=VALUE stored with uploads; a put's metadata and headers of the "
                  "same name win (B2 keeps 10 entries in all, src_last_modified_millis and a large "
                  "file's large_file_sha1 included)"},
    {"upload_cutoff", "files above this SIZE go up as large files in parts (default 200M, "
                      "5MB to 5GB; K/M/G (or KiB/MiB/GiB) = powers of 1024 as in rclone, "
                      "KB/MB/GB = powers of 1000)"},
    {"part_size", "SIZE of one part of a large file (default: max(B2's recommended 100MB, "
                  "file size / 10000), 5MB to 5GB, at most upload_cutoff)"},
    {"transfers", "parts of one large file sent or fetched in parallel (default 4, 1 to 64)"},
    {"resume", "continue an unfinished large upload of the same file (same name, SHA-1 and "
               "mtime) instead of starting again (yes/no, default yes; no cancels it)"},
    {"cache", "keep the token, bucket ids and upload URLs in the disk cache (yes/no, default yes)"},
    {"timeout", "seconds without progress before a transfer is abandoned (default 120)"},
    {"connect_timeout", "seconds to wait for a connection (default 30)"},
    /* ---- downloads and copies ---- */
    {"download_url", "download by name through this URL instead of B2's (a CDN); the account "
                     "token is sent to it"},
    {"download_part_size", "SIZE of each parallel range of a large download (default: B2's "
                           "recommended part size)"},
    /* ---- encryption at rest and bucket settings ---- */
    {"sse_c_key_file", "file of exactly 32 bytes (yours, mode 600): every upload, copy and "
                       "download of this run uses SSE-C with that key; its files cannot be read "
                       "without it"},
    {"bucket.default_sse", "mb: b2 makes SSE-B2 the bucket's default encryption (an update "
                           "also takes none)"},
    {"bucket.object_lock", "mb: yes enables Object Lock (retention, legal hold); it "
                           "cannot be turned off later"},
    {"bucket.keep_old_versions", "mb: Nd deletes versions N days after they were hidden "
                                 "or replaced (lifecycle daysFromHidingToDeleting; an update "
                                 "also takes none)"},
    {"bucket.hide_after", "mb: Nd hides files N days after their upload (lifecycle "
                          "daysFromUploadingToHiding; an update also takes none)"},
    {"bucket.lifecycle_prefix", "mb: the names keep_old_versions and hide_after apply to "
                                "(default: every name)"},
    {NULL, NULL},
};

static const struct stor_backend b2_backend = {
    .abi_version = STOR_ABI_VERSION,       /* built against this ABI */
    .struct_size = sizeof(struct stor_backend), /* our table's size */
    .name = "b2",                          /* b2.so */
    .description = "Backblaze B2 cloud storage (native API)", /* one line for --help */
    .options = b2_options,                 /* every -o key, also read from STOR_B2_<KEY> */
    .notes = "Credentials come from B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY or from "
             "-o key_file=PATH, never from the command line. The token, bucket ids and idle "
             "upload URLs are cached in $STOR_CACHE_DIR (default $XDG_CACHE_HOME/stor). remove "
             "hides a file: it leaves listings, its versions stay until lifecycle rules delete "
             "them. Files above upload_cutoff go up as large files, part_size bytes a part, "
             "transfers parts at a time; a failed or killed large upload is kept and the next put "
             "of the same file resumes it (resume=no starts again); stor cleanup cancels "
             "unfinished ones.\n\n"
             "A put keeps its content type, the headers Cache-Control, Content-Disposition, "
             "Content-Encoding, Content-Language and Expires (B2's b2-* file info, served with "
             "every download) and user metadata (X-Bz-Info-*), large files included. B2 takes "
             "10 file-info entries and 7,000 bytes of name and file info at most, keys of 1 to "
             "50 letters, digits or -_.~!#$%^&*'+`|: a put beyond that is refused before "
             "anything is sent.\n\n"
             "Encryption at rest: a put asking for SSE-B2 is encrypted by B2 with its own keys; "
             "with -o sse_c_key_file every upload, large-file part and copy of the run is "
             "SSE-C with that key, and every download sends it (B2 keeps only its MD5: a lost "
             "key is a lost file). Object Lock: a put may ask for governance or compliance "
             "retention until a future time, and a legal hold, in a bucket made with "
             "bucket.object_lock=yes; such a version cannot be deleted until then (or while the "
             "hold is on). protect changes a version's retention and legal hold later: "
             "compliance can only be extended, governance shortened or removed only with the "
             "bypass and a key with bypassGovernance (which also lets remove delete a version "
             "under governance).\n\n"
             "share makes a download-authorization URL (the key needs shareFiles) valid from 1 "
             "second to 7 days, for a name or for every name below a prefix ending in '/'; with "
             "-o download_url it points there. Buckets are made allPrivate unless asked public; "
             "a key restricted to a bucket lists just that one.",
    .open = b2_open,                       /* parse options, read credentials */
    .close = b2_close,                     /* save idle upload URLs, free everything */
    .put = b2_put,                         /* b2_upload_file through the target pool */
    .get = b2_get,                         /* b2_download_file_by_name, SHA-1 checked */
    .list = b2_list,                       /* b2_list_file_names, page by page */
    .remove = b2_remove,                   /* b2_hide_file */
    .get_upload_target = b2_get_upload_target, /* a pooled or new b2_get_upload_url, handed over */
    .cleanup = b2_cleanup,                 /* cancel unfinished large files (cleanup.c) */
    /* ---- ABI 2: downloads, versions, deletes, copies ---- */
    .get_ex = b2_get_ex,                   /* by version id, ranged, resumed, parallel ranges */
    .remove_ex = b2_remove_ex,             /* b2_delete_file_version: one or every version */
    .copy = b2_copy,                       /* b2_copy_file, or b2_copy_part above 5 GB */
    /* ---- ABI 3 ---- */
    .capabilities = STOR_CAP_VERSIONS |      /* version listings, get_ex/stat/remove_ex by id */
                    STOR_CAP_SERVER_COPY |   /* b2_copy_file / b2_copy_part */
                    STOR_CAP_RANGED_GET |    /* Range: bytes=A-B */
                    STOR_CAP_RESUME_GET |    /* resume, expected id and SHA-1 */
                    STOR_CAP_RESUME_PUT |    /* unfinished large files are taken up again */
                    STOR_CAP_SHARE |         /* b2_get_download_authorization (share.c) */
                    STOR_CAP_METADATA |      /* content type, b2-* headers, X-Bz-Info-* */
                    STOR_CAP_MTIME |         /* src_last_modified_millis */
                    STOR_CAP_SHA1 |          /* contentSha1, else large_file_sha1 */
                    STOR_CAP_BUCKETS |       /* b2_list/create/delete_bucket (bucket_admin.c) */
                    STOR_CAP_DELIMITER |     /* delimiter "/" in b2_list_file_names */
                    STOR_CAP_CLEANUP |       /* cancel unfinished large files */
                    STOR_CAP_UPLOAD_TARGET | /* pooled b2_get_upload_url, handed over */
                    STOR_CAP_ENCRYPTION |    /* SSE-B2, SSE-C with -o sse_c_key_file */
                    STOR_CAP_RETENTION,      /* Object Lock retention and legal hold */
    .put_ex = b2_put_ex,                   /* put with content type, headers, metadata, mtime, SHA-1 */
    .stat = b2_stat,                       /* b2_get_file_info, or the name's current version */
    .list_buckets = b2_list_buckets,       /* b2_list_buckets, or the key's allowed buckets */
    .create_bucket = b2_create_bucket,     /* b2_create_bucket, allPublic / allPrivate */
    .delete_bucket = b2_delete_bucket,     /* b2_delete_bucket of an empty bucket */
    .share = b2_share,                     /* download-authorization URL, 1 s to 7 days */
    .update_bucket = b2_update_bucket,     /* b2_update_bucket: type, lifecycle, default SSE */
    .protect = b2_protect,                 /* b2_update_file_retention / _legal_hold (object_lock.c) */
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void)
{
    return &b2_backend;
}
