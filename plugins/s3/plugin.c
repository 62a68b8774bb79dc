/* plugins/s3/plugin.c — the S3 backend's face to the host: options, credentials (credentials.c),
 * open/close, and the const vtable stor_plugin_entry returns. The operations live below. */
#include "plugin.h"

#include "credentials.h"
#include "instance.h"
#include "operations.h"
#include "sp_clock.h"
#include "sp_host.h"
#include "sp_http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

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

int s3_parse_size(const char *text, int64_t *size)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*text))
        return -1;
    unsigned long long number = strtoull(text, &end, 10);
    if (errno)
        return -1;
    static const struct {
        const char *suffix;
        unsigned long long factor;
    } units[] = {{"", 1}, {"B", 1}, {"K", 1ULL << 10}, {"KiB", 1ULL << 10}, {"KB", 1000},
                 {"M", 1ULL << 20}, {"MiB", 1ULL << 20}, {"MB", 1000000}, {"G", 1ULL << 30},
                 {"GiB", 1ULL << 30}, {"GB", 1000000000}, {"T", 1ULL << 40}, {"TiB", 1ULL << 40},
                 {"TB", 1000000000000ULL}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (number > (unsigned long long)INT64_MAX / units[i].factor)
                return -1;
            *size = (int64_t)(number * units[i].factor);
            return 0;
        }
    }
    return -1;
}

/* http(s), one line, and no user name or password in it. */
static enum stor_status check_url_option(const char *value, struct stor_error *err)
{
    size_t scheme = strncmp(value, "https://", 8) == 0 ? 8 : strncmp(value, "http://", 7) == 0 ? 7 : 0;
    if (!scheme || !value[scheme] || value[scheme] == '/')
        return stor_fail(err, STOR_EINVAL, "option endpoint must be an http:// or https:// URL "
                         "with a host");
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c <= ' ' || *c == 127)
            return stor_fail(err, STOR_EINVAL, "option endpoint: a URL has no spaces or control "
                             "characters");
    const char *authority = value + scheme;
    if (memchr(authority, '@', strcspn(authority, "/?#")))
        return stor_fail(err, STOR_EINVAL, "option endpoint must not hold a user name or password "
                         "(credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the "
                         "AWS files or -o key_file)");
    if (strpbrk(authority, "?#"))
        return stor_fail(err, STOR_EINVAL, "option endpoint takes no query or fragment");
    return STOR_OK;
}

static int is_loopback_or_ip(const char *host)
{
    if (strncmp(host, "localhost", 9) == 0 && (host[9] == '\0' || host[9] == ':'))
        return 2;
    if (strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0)
        return 2;
    if (host[0] == '[')
        return 1;
    size_t digits = strspn(host, "0123456789.");
    return digits > 0 && (host[digits] == '\0' || host[digits] == ':') ? 1 : 0;
}

/* Splits the endpoint into scheme + host, host and base path. */
static enum stor_status set_endpoint(struct s3_config *config, const char *endpoint,
                                     struct stor_error *err)
{
    config->endpoint = strdup(endpoint);
    if (!config->endpoint)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    size_t length = strlen(config->endpoint);
    while (length > 0 && config->endpoint[length - 1] == '/')
        config->endpoint[--length] = '\0';
    const char *authority = strstr(config->endpoint, "://") + 3;
    size_t host_length = strcspn(authority, "/");
    config->host = strndup(authority, host_length);
    config->scheme_host = strndup(config->endpoint, (size_t)(authority - config->endpoint) + host_length);
    config->base_path = strdup(authority + host_length);
    if (!config->host || !config->scheme_host || !config->base_path)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    return STOR_OK;
}

static int region_ok(const char *region)
{
    if (!*region || strlen(region) > 40)
        return 0;
    for (const char *c = region; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return 0;
    return 1;
}

static enum stor_status parse_options(struct s3_plugin *plugin, const struct stor_option *options,
                                      size_t option_count, struct stor_error *err)
{
    struct s3_config *config = &plugin->config;
    const char *endpoint = NULL, *region = NULL, *profile = NULL, *key_file = NULL;
    const char *content_type = "application/octet-stream";
    int path_style = -1;
    config->transfers = S3_DEFAULT_TRANSFERS;
    config->upload_cutoff = S3_DEFAULT_UPLOAD_CUTOFF;
    config->copy_cutoff = S3_SINGLE_PUT_MAX;
    config->resume = 1;
    config->retries = 8;
    config->list_metadata = 1;
    config->idle_timeout_s = 120;
    config->connect_timeout_s = 30;
    for (size_t i = 0; i < option_count; i++) {
        const char *name = options[i].key, *value = options[i].value ? options[i].value : "";
        long long number;
        int64_t size;
        static const char *const secrets[] = {"secret_key", "secret_access_key", "access_key",
                                              "access_key_id", "aws_secret_access_key",
                                              "aws_access_key_id", "session_token", "key", "key_id"};
        for (size_t j = 0; j < sizeof secrets / sizeof *secrets; j++)
            if (strcmp(name, secrets[j]) == 0)
                return stor_fail(err, STOR_EINVAL, "option %s refused: credentials on the "
                                 "command line are visible to every user (ps, shell history); "
                                 "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use a profile "
                                 "of ~/.aws/credentials, or -o key_file=PATH", name);
        if (strcmp(name, "endpoint") == 0) {
            enum stor_status status = check_url_option(value, err);
            if (status != STOR_OK)
                return status;
            endpoint = value;
        } else if (strcmp(name, "region") == 0) {
            if (!region_ok(value))
                return stor_fail(err, STOR_EINVAL, "option region must be a region name such as "
                                 "us-east-1 (letters, digits, '-')");
            region = value;
        } else if (strcmp(name, "path_style") == 0) {
            if (parse_boolean(value, &path_style) != 0)
                return stor_fail(err, STOR_EINVAL, "option path_style must be yes or no");
        } else if (strcmp(name, "profile") == 0) {
            if (!*value || strpbrk(value, "[]\r\n"))
                return stor_fail(err, STOR_EINVAL, "option profile must be a profile name");
            profile = value;
        } else if (strcmp(name, "key_file") == 0) {
            key_file = value;
        } else if (strcmp(name, "transfers") == 0) {
            if (parse_integer(value, 1, S3_MAX_TRANSFERS, &number) != 0)
                return stor_fail(err, STOR_EINVAL, "option transfers must be a number of parallel "
                                 "parts from 1 to %d", S3_MAX_TRANSFERS);
            config->transfers = (int)number;
        } else if (strcmp(name, "part_size") == 0) {
            if (s3_parse_size(value, &size) != 0 || size < S3_PART_SIZE_MIN || size > S3_PART_SIZE_MAX)
                return stor_fail(err, STOR_EINVAL, "option part_size must be a size from 1K to 5G "
                                 "(AWS takes 5M at least), e.g. 64M; got '%s'", value);
            config->part_size = size;
        } else if (strcmp(name, "download_part_size") == 0) {
            if (s3_parse_size(value, &size) != 0 || size < S3_PART_SIZE_MIN || size > S3_PART_SIZE_MAX)
                return stor_fail(err, STOR_EINVAL, "option download_part_size must be a size from "
                                 "1K to 5G, e.g. 64M; got '%s'", value);
            config->download_part_size = size;
        } else if (strcmp(name, "copy_cutoff") == 0) {
            if (s3_parse_size(value, &size) != 0 || size < S3_PART_SIZE_MIN || size > S3_SINGLE_PUT_MAX)
                return stor_fail(err, STOR_EINVAL, "option copy_cutoff must be a size from 1K to "
                                 "5G, e.g. 1G; got '%s'", value);
            config->copy_cutoff = size;
        } else if (strcmp(name, "upload_cutoff") == 0) {
            if (s3_parse_size(value, &size) != 0 || size < 0 || size > S3_SINGLE_PUT_MAX)
                return stor_fail(err, STOR_EINVAL, "option upload_cutoff must be a size from 0 to "
                                 "5G, e.g. 200M; got '%s'", value);
            config->upload_cutoff = size;
        } else if (strcmp(name, "resume") == 0) {
            if (parse_boolean(value, &config->resume) != 0)
                return stor_fail(err, STOR_EINVAL, "option resume must be yes or no");
        } else if (strcmp(name, "list_metadata") == 0) {
            if (parse_boolean(value, &config->list_metadata) != 0)
                return stor_fail(err, STOR_EINVAL, "option list_metadata must be yes or no");
        } else if (strcmp(name, "retries") == 0) {
            if (parse_integer(value, 1, 1000, &number) != 0)
                return stor_fail(err, STOR_EINVAL, "option retries must be a number of tries from 1 to 1000");
            config->retries = (int)number;
        } else if (strcmp(name, "timeout") == 0 || strcmp(name, "connect_timeout") == 0) {
            if (parse_integer(value, 1, 86400, &number) != 0)
                return stor_fail(err, STOR_EINVAL, "option %s must be seconds, from 1 to 86400", name);
            *(name[0] == 't' ? &config->idle_timeout_s : &config->connect_timeout_s) = (long)number;
        } else if (strcmp(name, "content_type") == 0) {
            if (!*value || strpbrk(value, "\r\n"))
                return stor_fail(err, STOR_EINVAL, "option content_type must be a MIME type");
            content_type = value;
        } else {
            return stor_fail(err, STOR_EINVAL, "unknown option '%s' for backend s3 (see stor "
                             "--backend=s3 --help)", name);
        }
    }
    struct s3_found found;
    enum stor_status status = s3_credentials_find(profile, key_file, &found, err);
    if (status != STOR_OK)
        return status;
    if (found.loose_file)
        sp_log(plugin->host, STOR_LOG_WARN, "key_file %s is readable by others: chmod 600 it",
               key_file);
    config->access_key = found.access_key;
    config->secret_key = found.secret_key;
    config->session_token = found.session_token;
    config->credentials_source = found.source;
    found.access_key = found.secret_key = found.session_token = found.source = NULL;
    config->region = strdup(region ? region : s3_credentials_region(&found));
    char *default_endpoint = NULL;
    if (!endpoint && found.endpoint && check_url_option(found.endpoint, err) == STOR_OK)
        endpoint = found.endpoint;
    if (!endpoint && config->region &&
        asprintf(&default_endpoint, "https://s3.%s.amazonaws.com", config->region) >= 0)
        endpoint = default_endpoint;
    status = endpoint && config->region ? set_endpoint(config, endpoint, err)
                                        : stor_fail(err, STOR_EINTERNAL, "out of memory");
    free(default_endpoint);
    s3_found_free(&found);
    if (status != STOR_OK)
        return status;
    if (!region_ok(config->region))
        return stor_fail(err, STOR_EINVAL, "region '%s' (from the environment or the AWS config) "
                         "is not a region name", config->region);
    int loopback = is_loopback_or_ip(config->host);
    config->path_style = path_style >= 0 ? path_style : loopback ? 1 : 0;
    if (strncmp(config->endpoint, "http://", 7) == 0 && loopback != 2)
        sp_log(plugin->host, STOR_LOG_WARN,
               "endpoint %s is plain http: the data travels unencrypted "
               "(the secret itself is never sent)", config->endpoint);
    if (config->part_size > 0 && config->upload_cutoff > 0 && config->part_size > S3_SINGLE_PUT_MAX)
        return stor_fail(err, STOR_EINVAL, "option part_size is above 5G");
    config->content_type = strdup(content_type);
    if (!config->content_type)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    return STOR_OK;
}

enum stor_status s3_plugin_create(const struct stor_host *host, const struct stor_option *options,
                                  size_t option_count, struct sp_clock clock,
                                  struct s3_plugin **result, struct stor_error *err)
{
    *result = NULL;
    struct s3_plugin *plugin = calloc(1, sizeof *plugin);
    if (!plugin)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    plugin->host = host;
    plugin->clock = clock;
    enum stor_status status = parse_options(plugin, options, option_count, err);
    if (status != STOR_OK) {
        s3_plugin_destroy(plugin);
        return status;
    }
    *result = plugin;
    return STOR_OK;
}

static void wipe(char *text)
{
    if (text)
        explicit_bzero(text, strlen(text));
    free(text);
}

void s3_plugin_destroy(struct s3_plugin *plugin)
{
    if (!plugin)
        return;
    if (plugin->http)
        plugin->http->destroy(plugin->http);
    struct s3_config *config = &plugin->config;
    free(config->endpoint);
    free(config->scheme_host);
    free(config->host);
    free(config->base_path);
    free(config->region);
    free(config->access_key);
    wipe(config->secret_key);
    wipe(config->session_token);
    free(config->credentials_source);
    free(config->content_type);
    free(plugin);
}

/* An answer kept in memory is XML: a ListObjectsV2 page of 1,000 keys of 1,024 bytes, URL-encoded,
 * stays under 4 MiB; anything larger is refused rather than parsed (a hostile server). */
#define S3_MAX_MEMORY_ANSWER ((size_t)8 << 20)
/* Blanked in the trace besides Authorization: the session token, a secret like the signing key. */
static const char *const s3_secret_headers[] = {"X-Amz-Security-Token", NULL};

static void trace_to_host(void *context, const char *line)
{
    const struct s3_plugin *plugin = context;
    sp_log(plugin->host, STOR_LOG_TRACE, "%s", line);
}

static enum stor_status s3_open(const struct stor_host *host, const struct stor_option *options,
                                size_t option_count, void **instance, struct stor_error *err)
{
    *instance = NULL;
    if (!host || host->abi_version < 1 ||
        host->struct_size < offsetof(struct stor_host, cancelled) + sizeof host->cancelled)
        return stor_fail(err, STOR_EUNSUPPORTED, "the s3 backend needs a host of plugin ABI 1 or newer");
    struct s3_plugin *plugin;
    enum stor_status status = s3_plugin_create(host, options, option_count, sp_clock_system(),
                                               &plugin, err);
    if (status != STOR_OK)
        return status;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        s3_plugin_destroy(plugin);
        return stor_fail(err, STOR_EINTERNAL, "libcurl failed to initialise");
    }
    char user_agent[80];
    snprintf(user_agent, sizeof user_agent, "stor-s3/%s libcurl/%s", PACKAGE_VERSION,
             curl_version_info(CURLVERSION_NOW)->version);
    struct sp_http_options http_options = {
        .connect_timeout_s = plugin->config.connect_timeout_s,
        .idle_timeout_s = plugin->config.idle_timeout_s,
        .user_agent = user_agent,
        .max_memory_body = S3_MAX_MEMORY_ANSWER,
        .secret_headers = s3_secret_headers,
        .trace = host->log_level >= STOR_LOG_TRACE ? trace_to_host : NULL,
        .trace_context = plugin,
    };
    plugin->http = sp_http_curl_create(&http_options);
    if (!plugin->http) {
        s3_plugin_destroy(plugin);
        curl_global_cleanup();
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    sp_log(plugin->host, STOR_LOG_DEBUG, "s3: endpoint %s, region %s, %s, credentials from %s",
           plugin->config.endpoint, plugin->config.region,
           plugin->config.path_style ? "path style" : "virtual-hosted",
           plugin->config.credentials_source ? plugin->config.credentials_source : "?");
    *instance = plugin;
    return STOR_OK;
}

static void s3_close(void *instance)
{
    s3_plugin_destroy(instance);
    curl_global_cleanup();
}

static const struct stor_option_doc s3_options[] = {
    {"endpoint", "S3 URL (default $AWS_ENDPOINT_URL, the profile's endpoint_url, else "
                 "https://s3.REGION.amazonaws.com; env STOR_S3_ENDPOINT)"},
    {"region", "region signed for (default $AWS_REGION, $AWS_DEFAULT_REGION, the profile's "
               "region, else us-east-1)"},
    {"path_style", "yes: http://HOST/BUCKET/KEY; no: http://BUCKET.HOST/KEY (default: yes for "
                   "IP addresses and localhost, no elsewhere)"},
    {"profile", "profile of ~/.aws/credentials and ~/.aws/config (default $AWS_PROFILE, else "
                "default); given, it wins over AWS_ACCESS_KEY_ID"},
    {"key_file", "file with two lines: access key id, secret access key (else the AWS "
                 "environment variables and files)"},
    {"upload_cutoff", "files above this SIZE go up as multipart uploads (default 200M, at most "
                      "5G; K/M/G = powers of 1024, KB/MB/GB = powers of 1000)"},
    {"copy_cutoff", "copies (cp, mv) above this SIZE go as UploadPartCopy parts of part_size, "
                    "transfers at a time (default and most 5G: S3's CopyObject limit)"},
    {"part_size", "SIZE of one part (default 16M, grown to stay within 10,000 parts; AWS takes "
                  "5M at least)"},
    {"transfers", "parts of one upload, or ranges of one download, in parallel (default 4, 1 to "
                  "64); memory is at most transfers x part_size for a pipe"},
    {"download_part_size", "SIZE of each parallel range of a download into a file (default 16M; "
                           "1K to 5G)"},
    {"resume", "continue an unfinished multipart upload of the same name, sending only parts "
               "missing or different (yes/no, default yes; no aborts it)"},
    {"list_metadata", "HEAD every listed object for its mtime and SHA-1, as rclone does, so sync "
                      "compares right (yes/no, default yes; no: the upload time, no SHA-1)"},
    {"content_type", "Content-Type of uploads unless the put gives one (default "
                     "application/octet-stream)"},
    {"retries", "tries of one S3 request before giving up (default 8)"},
    {"timeout", "seconds without progress before a transfer is abandoned (default 120)"},
    {"connect_timeout", "seconds to wait for a connection (default 30)"},
    {NULL, NULL},
};

static const struct stor_backend s3_backend = {
    .abi_version = STOR_ABI_VERSION,
    .struct_size = sizeof(struct stor_backend),
    .name = "s3",
    .description = "Amazon S3 and S3-compatible storage (AWS, B2, R2, MinIO, Ceph ...)",
    .options = s3_options,
    .notes = "Credentials come as AWS's own tools find them: AWS_ACCESS_KEY_ID, "
             "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, then the profile ($AWS_PROFILE or "
             "-o profile) of ~/.aws/credentials and ~/.aws/config ($AWS_SHARED_CREDENTIALS_FILE, "
             "$AWS_CONFIG_FILE), or -o key_file=PATH; never from the command line. Every request "
             "is signed with Signature V4.\n\n"
             "A put keeps its content type, Cache-Control, Content-Disposition, Content-Encoding, "
             "Content-Language, Expires and user metadata (x-amz-meta-*), the source's mtime as "
             "rclone keeps it (X-Amz-Meta-Mtime) and the whole file's SHA-1 (X-Amz-Meta-Sha1). "
             "Files above upload_cutoff go up in parts, transfers at a time; a failed one is kept "
             "and the next put of the same name resumes it (parts with the same size and MD5 are "
             "not sent again); stor cleanup aborts unfinished ones. A pipe that ends within one "
             "part is one PUT; a longer one streams in parts (its SHA-1 is not kept).\n\n"
             "A get into a file fetches the first range, then the rest in ranges of "
             "download_part_size, transfers at a time, each held to the Content-Range asked and "
             "to the object's ETag (If-Match) and version, so an object overwritten meanwhile is "
             "refused; the whole file is verified against X-Amz-Meta-Sha1, else the MD5 of a "
             "single-part ETag. An interrupted get continues on the next one when the object is "
             "still the same.\n\n"
             "On a versioned bucket rm leaves a delete marker (listed as hidden by ls "
             "--versions); rm --version=ID deletes that version for good, rm --hard every "
             "version of the name.\n\n"
             "share makes a presigned GET URL of one object, valid 1 second to 7 days. Buckets "
             "are created in the region of the run.",
    .open = s3_open,
    .close = s3_close,
    .put = s3_put,                         /* PutObject, multipart above the cutoff */
    .get = s3_get,                         /* GetObject, parallel ranges, verified */
    .list = s3_list,                       /* ListObjectsV2, page by page */
    .remove = s3_remove,                   /* DeleteObject of an existing key */
    .get_upload_target = NULL,             /* S3 has no upload targets to hand over */
    .cleanup = s3_cleanup,                 /* AbortMultipartUpload of unfinished uploads */
    .get_ex = s3_get_ex,                   /* ranges, resume */
    .remove_ex = s3_remove_ex,             /* DeleteObject ?versionId, every version */
    .copy = s3_copy,                       /* CopyObject */
    .capabilities = STOR_CAP_VERSIONS |    /* ListObjectVersions, ?versionId, delete markers */
                    STOR_CAP_SERVER_COPY | /* CopyObject, UploadPartCopy above 5 GiB */
                    STOR_CAP_RANGED_GET |  /* Range: bytes=A-B */
                    STOR_CAP_RESUME_GET |  /* the rest of a partial file, pinned, verified */
                    STOR_CAP_RESUME_PUT |  /* ListMultipartUploads + ListParts */
                    STOR_CAP_SHARE |       /* presigned GET */
                    STOR_CAP_METADATA |    /* Content-Type, headers, x-amz-meta-* */
                    STOR_CAP_MTIME |       /* X-Amz-Meta-Mtime (rclone's) */
                    STOR_CAP_SHA1 |        /* X-Amz-Meta-Sha1 */
                    STOR_CAP_MD5 |         /* the ETag of one PUT, X-Amz-Meta-Md5chksum of parts */
                    STOR_CAP_BUCKETS |     /* ListBuckets, CreateBucket, DeleteBucket */
                    STOR_CAP_DELIMITER |   /* delimiter "/" */
                    STOR_CAP_CLEANUP,      /* unfinished multipart uploads */
    .put_ex = s3_put_ex,
    .stat = s3_stat,                       /* HeadObject */
    .list_buckets = s3_list_buckets,
    .create_bucket = s3_create_bucket,
    .delete_bucket = s3_delete_bucket,
    .share = s3_share,
    .remove_many = s3_remove_many,         /* DeleteObjects, 1,000 keys a request */
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void)
{
    return &s3_backend;
}
