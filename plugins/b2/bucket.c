/* plugins/b2/bucket.c — bucket name -> id, learned once and kept in memory and in the disk cache,
 * so a warm process addresses a bucket without a b2_list_buckets call. */
#include "bucket.h"

#include "auth.h"
#include "authorized.h"
#include "cache.h"
#include "instance.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static char *remembered(struct b2_plugin *plugin, const char *name)
{
    char *id = NULL;
    pthread_mutex_lock(&plugin->bucket_lock);
    for (size_t i = 0; i < plugin->bucket_id_count && !id; i++)
        if (strcmp(plugin->bucket_ids[i].name, name) == 0)
            id = strdup(plugin->bucket_ids[i].id);
    pthread_mutex_unlock(&plugin->bucket_lock);
    return id;
}

static void forget_in_memory(struct b2_plugin *plugin, const char *name)
{
    pthread_mutex_lock(&plugin->bucket_lock);
    for (size_t i = 0; i < plugin->bucket_id_count; i++) {
        if (strcmp(plugin->bucket_ids[i].name, name) == 0) {
            free(plugin->bucket_ids[i].name);
            free(plugin->bucket_ids[i].id);
            plugin->bucket_ids[i] = plugin->bucket_ids[--plugin->bucket_id_count];
            break;
        }
    }
    pthread_mutex_unlock(&plugin->bucket_lock);
}

static void remember_in_memory(struct b2_plugin *plugin, const char *name, const char *id)
{
    forget_in_memory(plugin, name);
    pthread_mutex_lock(&plugin->bucket_lock);
    struct b2_bucket_ref *grown =
        realloc(plugin->bucket_ids, (plugin->bucket_id_count + 1) * sizeof *grown);
    if (grown) {
        plugin->bucket_ids = grown;
        grown[plugin->bucket_id_count].name = strdup(name);
        grown[plugin->bucket_id_count].id = strdup(id);
        if (grown[plugin->bucket_id_count].name && grown[plugin->bucket_id_count].id) {
            plugin->bucket_id_count++;
        } else {
            free(grown[plugin->bucket_id_count].name);
            free(grown[plugin->bucket_id_count].id);
        }
    }
    pthread_mutex_unlock(&plugin->bucket_lock);
}

struct disk_bucket {
    const char *name;
    const char *id;   /* to store; NULL to read or forget */
    int forget;
    char *found;
};

static int disk_bucket_update(json_object *root, void *context)
{
    struct disk_bucket *request = context;
    json_object *buckets, *id;
    if (!json_object_object_get_ex(root, "buckets", &buckets) ||
        !json_object_is_type(buckets, json_type_object)) {
        if (!request->id)
            return 0;
        buckets = json_object_new_object();
        json_object_object_add(root, "buckets", buckets);
    }
    if (request->id) {
        json_object_object_add(buckets, request->name, json_object_new_string(request->id));
        return 1;
    }
    if (request->forget) {
        json_object_object_del(buckets, request->name);
        return 1;
    }
    if (json_object_object_get_ex(buckets, request->name, &id) &&
        json_object_is_type(id, json_type_string) && json_object_get_string_len(id) > 0)
        request->found = strdup(json_object_get_string(id));
    return 0;
}

static enum stor_status look_up(struct b2_plugin *plugin, const char *name, int refresh,
                               char **id, struct stor_error *err);

enum stor_status b2_bucket_id(struct b2_plugin *plugin, const char *name, int refresh, char **id,
                              struct stor_error *err)
{
    *id = NULL;
    if (!*name)
        return stor_fail(err, STOR_EINVAL, "a bucket name is required");
    if (!refresh && (*id = remembered(plugin, name)))
        return STOR_OK;
    /* Single flight: threads starting together wait for one lookup instead of each asking B2. */
    pthread_mutex_lock(&plugin->bucket_lookup_lock);
    enum stor_status status = STOR_OK;
    if (refresh || !(*id = remembered(plugin, name)))
        status = look_up(plugin, name, refresh, id, err);
    pthread_mutex_unlock(&plugin->bucket_lookup_lock);
    return status;
}

static enum stor_status look_up(struct b2_plugin *plugin, const char *name, int refresh,
                               char **id, struct stor_error *err)
{
    if (refresh) {
        forget_in_memory(plugin, name);
        struct disk_bucket forget = {.name = name, .forget = 1};
        if (plugin->cache)
            b2_cache_update(plugin->cache, disk_bucket_update, &forget);
    } else {
        if ((*id = remembered(plugin, name)))
            return STOR_OK;
        struct disk_bucket lookup = {.name = name};
        if (plugin->cache && b2_cache_update(plugin->cache, disk_bucket_update, &lookup) >= 0 &&
            lookup.found) {
            remember_in_memory(plugin, name, lookup.found);
            *id = lookup.found;
            return STOR_OK;
        }
    }

    struct b2_credentials credentials;
    enum stor_status status = b2_auth_get(plugin, &credentials, err);
    if (status != STOR_OK)
        return status;
    if (b2_auth_refuses_bucket(plugin, name, err)) {
        b2_credentials_free(&credentials);
        return STOR_EAUTH;
    }
    char *found = b2_auth_allowed_bucket(plugin, name);
    if (!found) {
        json_object *request = json_object_new_object(), *response = NULL;
        json_object_object_add(request, "accountId", json_object_new_string(credentials.account_id));
        json_object_object_add(request, "bucketName", json_object_new_string(name));
        status = b2_api_call(plugin, "b2_list_buckets", request, "listBuckets", &response, NULL, err);
        json_object_put(request);
        if (status == STOR_OK) {
            char why[B2_WHY_MAX];
            int result = b2_wire_bucket_id(response, name, &found, why);
            if (result < 0)
                status = stor_fail(err, STOR_EINTERNAL, "b2_list_buckets: B2's answer is malformed: %s", why);
            else if (result == 0)
                status = stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", name);
        }
        json_object_put(response);
    }
    b2_credentials_free(&credentials);
    if (status != STOR_OK)
        return status;
    remember_in_memory(plugin, name, found);
    struct disk_bucket store = {.name = name, .id = found};
    if (plugin->cache)
        b2_cache_update(plugin->cache, disk_bucket_update, &store);
    *id = found;
    return STOR_OK;
}

void b2_bucket_learn(struct b2_plugin *plugin, const char *name, const char *id)
{
    remember_in_memory(plugin, name, id);
    struct disk_bucket store = {.name = name, .id = id};
    if (plugin->cache)
        b2_cache_update(plugin->cache, disk_bucket_update, &store);
}

void b2_bucket_forget(struct b2_plugin *plugin, const char *name)
{
    forget_in_memory(plugin, name);
    struct disk_bucket forget = {.name = name, .forget = 1};
    if (plugin->cache)
        b2_cache_update(plugin->cache, disk_bucket_update, &forget);
}

/* ---- calls about one bucket, by name ---- */

enum stor_status b2_bucket_call_checked(struct b2_plugin *plugin, const char *bucket,
                                        const char *call, json_object *request,
                                        const char *capability, const struct b2_done_check *check,
                                        json_object **response, struct b2_failure *failure,
                                        struct stor_error *err)
{
    memset(failure, 0, sizeof *failure);
    for (int attempt = 0;; attempt++) {
        char *bucket_id;
        enum stor_status status = b2_bucket_id(plugin, bucket, attempt > 0, &bucket_id, err);
        if (status != STOR_OK)
            return status;
        json_object_object_add(request, "bucketId", json_object_new_string(bucket_id));
        free(bucket_id);
        status = b2_api_call_checked(plugin, call, request, capability, check, response, failure,
                                     err);
        if (status == STOR_ENOTFOUND && (strcmp(failure->code, "bad_bucket_id") == 0 ||
                                         strcmp(failure->code, "invalid_bucket_id") == 0)) {
            if (attempt == 0)
                continue;
            return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
        }
        return status;
    }
}

enum stor_status b2_bucket_call(struct b2_plugin *plugin, const char *bucket, const char *call,
                                json_object *request, const char *capability,
                                json_object **response, struct b2_failure *failure,
                                struct stor_error *err)
{
    return b2_bucket_call_checked(plugin, bucket, call, request, capability, NULL, response,
                                  failure, err);
}
