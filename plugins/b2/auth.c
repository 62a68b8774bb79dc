/* plugins/b2/auth.c — account authorization: b2_authorize_account (v4, v2 fallback), the token
 * in memory and in the disk cache, and the single-flight refresh when B2 says it expired. */
#include "auth.h"

#include "cache.h"
#include "call.h"
#include "instance.h"
#include "sp_host.h"
#include "sp_http.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static int account_fresh(const struct b2_plugin *plugin, const struct b2_account *account)
{
    int64_t now = sp_clock_now(&plugin->clock);
    return account->token && account->authorized_at_ms <= now + 60000 &&
           now < account->authorized_at_ms + B2_TOKEN_LIFE_MS - B2_TOKEN_MARGIN_MS;
}

/* The account's URLs do not downgrade an https endpoint to plain http (tokens in clear). */
static int account_keeps_tls(const struct b2_plugin *plugin, const struct b2_account *account,
                             char why[B2_WHY_MAX])
{
    const char *endpoint = plugin->config.endpoint;
    return b2_wire_url_keeps_tls(endpoint, "apiUrl", account->api_url, why) == 0 &&
           b2_wire_url_keeps_tls(endpoint, "downloadUrl", account->download_url, why) == 0;
}

/* b2_authorize_account over the network, through /b2api/v4/ and, if the server does not know
 * v4 (404), /b2api/v2/. Basic auth is done by the transport from the key id and key. */
static enum stor_status authorize(struct b2_plugin *plugin, struct b2_account *account,
                                  struct stor_error *err)
{
    static const char call[] = "b2_authorize_account";
    const char *version = "v4";
    struct b2_backoff backoff;
    b2_backoff_start(plugin, &backoff);
    for (;;) {
        if (sp_cancelled(plugin->host))
            return stor_fail(err, STOR_ECANCELLED, "%s: cancelled", call);
        char *url;
        if (asprintf(&url, "%s/b2api/%s/b2_authorize_account", plugin->config.endpoint, version) < 0)
            return stor_fail(err, STOR_EINTERNAL, "%s: out of memory", call);
        struct sp_http_request request = {.method = "GET", .url = url,
                                          .basic_user = plugin->config.key_id,
                                          .basic_password = plugin->config.key};
        struct sp_http_response response;
        sp_log(plugin->host, STOR_LOG_DEBUG, "authorizing key %s at %s", plugin->config.key_id,
               url);
        b2_perform(plugin, "class_c", &request, &response);
        free(url);
        struct b2_failure failure;
        b2_failure_from_response(&response, &plugin->config, NULL, &failure);
        if (failure.kind == B2_FAILURE_NONE) {
            char why[B2_WHY_MAX];
            json_object *root = b2_wire_parse(response.body, response.body_length, why);
            sp_http_response_free(&response);
            int parsed = root ? b2_wire_account(root, account, why) : -1;
            json_object_put(root);
            if (parsed != 0)
                return stor_fail(err, STOR_EINTERNAL, "%s: B2's answer is malformed: %s", call, why);
            if (!account_keeps_tls(plugin, account, why)) {
                b2_account_free(account);
                return stor_fail(err, STOR_EINTERNAL, "%s: %s", call, why);
            }
            account->authorized_at_ms = sp_clock_now(&plugin->clock);
            return STOR_OK;
        }
        sp_http_response_free(&response);
        if (failure.http_status == 404 && strcmp(version, "v4") == 0) {
            sp_log(plugin->host, STOR_LOG_DEBUG, "%s: no /b2api/v4/ at this endpoint, using v2",
                   call);
            version = "v2";
            continue;
        }
        if (failure.http_status == 401) {
            /* Never retried: a wrong key stays wrong, and each try is a billable Class C call. */
            if (strcmp(failure.code, "unsupported") == 0)
                return stor_fail(err, STOR_EAUTH,
                                 "%s: the application key %s needs a newer B2 API version (B2 says: %s)",
                                 call, plugin->config.key_id, failure.message);
            return stor_fail(err, STOR_EAUTH,
                             "%s: B2 refused the application key %s (B2 says: %s)", call,
                             plugin->config.key_id,
                             failure.message[0] ? failure.message : "unauthorized");
        }
        if (failure.kind == B2_FAILURE_TRANSIENT) {
            char detail[400];
            b2_failure_describe(&failure, detail, sizeof detail);
            sp_log(plugin->host, STOR_LOG_INFO, "%s: %s", call, detail);
            b2_note_unreachable(plugin, call, &failure);
            int waited = b2_backoff_wait(plugin, &backoff, failure.retry_after_ms);
            if (waited == 0)
                continue;
            if (waited == -2)
                return stor_fail(err, STOR_ECANCELLED, "%s: cancelled", call);
        }
        if (failure.kind == B2_FAILURE_EXPIRED)
            failure.kind = B2_FAILURE_FATAL;
        return b2_failure_report(err, call, &failure, NULL, -1);
    }
}

struct cache_refresh {
    struct b2_plugin *plugin;
    const char *refused_token; /* the token B2 refused: the cache must not hand it back */
    struct b2_account account;
    enum stor_status status;
    int ran; /* the cache was locked and read: its answer stands even if saving failed */
    struct stor_error *err;
};

/* Runs under the cache's flock: take another process's fresh token, or authorize and store. */
static int refresh_through_cache(json_object *root, void *context)
{
    struct cache_refresh *refresh = context;
    struct b2_plugin *plugin = refresh->plugin;
    json_object *cached;
    refresh->ran = 1;
    char why[B2_WHY_MAX];
    if (json_object_object_get_ex(root, "account", &cached) &&
        b2_wire_account(cached, &refresh->account, why) == 0) {
        if (account_fresh(plugin, &refresh->account) &&
            account_keeps_tls(plugin, &refresh->account, why) &&
            (!refresh->refused_token || strcmp(refresh->account.token, refresh->refused_token) != 0)) {
            sp_log(plugin->host, STOR_LOG_DEBUG, "using the cached authorization of key %s",
                   plugin->config.key_id);
            refresh->account.from_cache = 1;
            refresh->status = STOR_OK;
            return 0;
        }
        b2_account_free(&refresh->account);
    }
    refresh->status = authorize(plugin, &refresh->account, refresh->err);
    if (refresh->status != STOR_OK)
        return 0;
    json_object *saved = b2_wire_account_to_json(&refresh->account);
    if (!saved)
        return 0;
    json_object_object_add(root, "account", saved);
    return 1;
}

/* With auth_lock held: install a usable account token, from the disk cache or B2. */
static enum stor_status obtain(struct b2_plugin *plugin, const char *refused_token,
                               struct stor_error *err)
{
    struct cache_refresh refresh = {.plugin = plugin, .refused_token = refused_token,
                                    .status = STOR_EINTERNAL, .err = err};
    int saved = plugin->cache ? b2_cache_update(plugin->cache, refresh_through_cache, &refresh) : -1;
    if (plugin->cache && saved < 0)
        sp_log(plugin->host, STOR_LOG_WARN, "cannot %s the cache %s",
               refresh.ran ? "write" : "lock", b2_cache_path(plugin->cache));
    if (!refresh.ran)
        refresh.status = authorize(plugin, &refresh.account, err);
    if (refresh.status != STOR_OK) {
        b2_account_free(&refresh.account);
        return refresh.status;
    }
    b2_account_free(&plugin->account);
    plugin->account = refresh.account;
    plugin->auth_generation++;
    return STOR_OK;
}

static enum stor_status copy_credentials(struct b2_plugin *plugin,
                                         struct b2_credentials *credentials,
                                         struct stor_error *err)
{
    const struct b2_account *account = &plugin->account;
    credentials->token = strdup(account->token);
    credentials->api_url = strdup(account->api_url);
    credentials->download_url = strdup(account->download_url);
    credentials->account_id = strdup(account->account_id);
    credentials->generation = plugin->auth_generation;
    credentials->from_cache = account->from_cache;
    if (!credentials->token || !credentials->api_url || !credentials->download_url ||
        !credentials->account_id) {
        b2_credentials_free(credentials);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    return STOR_OK;
}

enum stor_status b2_auth_get(struct b2_plugin *plugin, struct b2_credentials *credentials,
                             struct stor_error *err)
{
    memset(credentials, 0, sizeof *credentials);
    pthread_mutex_lock(&plugin->auth_lock);
    enum stor_status status = STOR_OK;
    if (!account_fresh(plugin, &plugin->account))
        status = obtain(plugin, NULL, err);
    if (status == STOR_OK)
        status = copy_credentials(plugin, credentials, err);
    pthread_mutex_unlock(&plugin->auth_lock);
    return status;
}

enum stor_status b2_auth_ensure(struct b2_plugin *plugin, struct stor_error *err)
{
    struct b2_credentials credentials;
    enum stor_status status = b2_auth_get(plugin, &credentials, err);
    if (status == STOR_OK)
        b2_credentials_free(&credentials);
    return status;
}

enum stor_status b2_auth_refresh(struct b2_plugin *plugin, uint64_t stale, struct stor_error *err)
{
    pthread_mutex_lock(&plugin->auth_lock);
    enum stor_status status = STOR_OK;
    /* Another thread refreshed while this one waited for the lock: its token is the answer. */
    if (plugin->auth_generation == stale || !account_fresh(plugin, &plugin->account)) {
        char *refused = plugin->auth_generation == stale && plugin->account.token
                            ? strdup(plugin->account.token)
                            : NULL;
        status = obtain(plugin, refused, err);
        free(refused);
    }
    pthread_mutex_unlock(&plugin->auth_lock);
    return status;
}

enum stor_status b2_auth_reauthorize(struct b2_plugin *plugin, struct b2_credentials *credentials,
                                     struct stor_error *err)
{
    uint64_t stale = credentials->generation;
    b2_credentials_free(credentials);
    enum stor_status status = b2_auth_refresh(plugin, stale, err);
    if (status == STOR_OK)
        status = b2_auth_get(plugin, credentials, err);
    return status;
}

void b2_credentials_free(struct b2_credentials *credentials)
{
    free(credentials->token);
    free(credentials->api_url);
    free(credentials->download_url);
    free(credentials->account_id);
    memset(credentials, 0, sizeof *credentials);
}

int b2_auth_has_capability(struct b2_plugin *plugin, const char *capability)
{
    pthread_mutex_lock(&plugin->auth_lock);
    int has = plugin->account.token ? 0 : -1;
    for (size_t i = 0; i < plugin->account.capability_count; i++)
        if (strcmp(plugin->account.capabilities[i], capability) == 0)
            has = 1;
    pthread_mutex_unlock(&plugin->auth_lock);
    return has;
}

char *b2_auth_name_prefix(struct b2_plugin *plugin)
{
    pthread_mutex_lock(&plugin->auth_lock);
    const char *prefix = plugin->account.name_prefix;
    char *copy = prefix && *prefix ? strdup(prefix) : NULL;
    pthread_mutex_unlock(&plugin->auth_lock);
    return copy;
}

enum stor_status b2_auth_listing_prefix(struct b2_plugin *plugin, const char *asked,
                                        char **narrowed, struct stor_error *err)
{
    *narrowed = NULL;
    enum stor_status status = b2_auth_ensure(plugin, err);
    if (status != STOR_OK)
        return status;
    char *key_prefix = b2_auth_name_prefix(plugin);
    if (!asked)
        asked = "";
    size_t asked_length = strlen(asked), key_length = key_prefix ? strlen(key_prefix) : 0;
    if (!key_prefix || (asked_length >= key_length && strncmp(asked, key_prefix, key_length) == 0)) {
        free(key_prefix); /* no restriction, or asked is inside it */
        return STOR_OK;
    }
    if (strncmp(key_prefix, asked, asked_length) == 0) {
        *narrowed = key_prefix; /* wider than the key may see: only its part */
        return STOR_OK;
    }
    status = stor_fail(err, STOR_EAUTH, "the application key is restricted to names starting "
                       "with %s: it cannot list %s", key_prefix, asked);
    free(key_prefix);
    return status;
}

enum stor_status b2_auth_check_name(struct b2_plugin *plugin, const char *bucket, const char *key,
                                    struct stor_error *err)
{
    enum stor_status status = b2_auth_ensure(plugin, err);
    if (status != STOR_OK)
        return status;
    if (b2_auth_refuses_bucket(plugin, bucket, err))
        return STOR_EAUTH;
    char *prefix = b2_auth_name_prefix(plugin);
    if (prefix && strncmp(key, prefix, strlen(prefix)) != 0)
        status = stor_fail(err, STOR_EAUTH,
                           "the application key is restricted to names starting with %s: it cannot "
                           "write %s/%s", prefix, bucket, key);
    free(prefix);
    return status;
}

int b2_auth_refuses_bucket(struct b2_plugin *plugin, const char *name, struct stor_error *err)
{
    char allowed[512] = "";
    size_t len = 0;
    int refused = 0;
    pthread_mutex_lock(&plugin->auth_lock);
    const struct b2_account *account = &plugin->account;
    if (account->bucket_count > 0) {
        refused = 1;
        for (size_t i = 0; i < account->bucket_count; i++) {
            const char *bucket = account->buckets[i].name;
            if (bucket && strcmp(bucket, name) == 0)
                refused = 0;
            int n = snprintf(allowed + len, sizeof allowed - len, "%s%s", i ? ", " : "",
                             bucket ? bucket : account->buckets[i].id);
            if (n > 0 && (size_t)n < sizeof allowed - len)
                len += (size_t)n;
        }
    }
    if (refused)
        stor_fail(err, STOR_EAUTH,
                  "the application key is restricted to bucket %s%s%s: it cannot use bucket %s",
                  allowed, account->name_prefix ? " and names starting with " : "",
                  account->name_prefix ? account->name_prefix : "", name);
    pthread_mutex_unlock(&plugin->auth_lock);
    return refused;
}

char *b2_auth_allowed_bucket(struct b2_plugin *plugin, const char *name)
{
    char *id = NULL;
    pthread_mutex_lock(&plugin->auth_lock);
    for (size_t i = 0; i < plugin->account.bucket_count && !id; i++) {
        const struct b2_bucket_ref *bucket = &plugin->account.buckets[i];
        if (bucket->name && strcmp(bucket->name, name) == 0)
            id = strdup(bucket->id);
    }
    pthread_mutex_unlock(&plugin->auth_lock);
    return id;
}

enum stor_status b2_auth_allowed_buckets(struct b2_plugin *plugin, struct b2_bucket_ref **buckets,
                                         size_t *count, struct stor_error *err)
{
    *buckets = NULL;
    *count = 0;
    enum stor_status status = b2_auth_ensure(plugin, err);
    if (status != STOR_OK)
        return status;
    pthread_mutex_lock(&plugin->auth_lock);
    size_t allowed = plugin->account.bucket_count;
    *buckets = allowed ? calloc(allowed, sizeof **buckets) : NULL;
    for (size_t i = 0; *buckets && i < allowed; i++) {
        const struct b2_bucket_ref *bucket = &plugin->account.buckets[i];
        (*buckets)[i].id = strdup(bucket->id);
        (*buckets)[i].name = bucket->name ? strdup(bucket->name) : NULL;
        *count = i + 1;
        if (!(*buckets)[i].id || (bucket->name && !(*buckets)[i].name))
            status = STOR_EINTERNAL;
    }
    if (allowed && !*buckets)
        status = STOR_EINTERNAL;
    pthread_mutex_unlock(&plugin->auth_lock);
    if (status != STOR_OK) {
        b2_bucket_refs_free(*buckets, *count);
        *buckets = NULL;
        *count = 0;
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    return STOR_OK;
}

void b2_bucket_refs_free(struct b2_bucket_ref *buckets, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(buckets[i].id);
        free(buckets[i].name);
    }
    free(buckets);
}
