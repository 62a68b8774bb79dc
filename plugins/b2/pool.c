/* plugins/b2/pool.c — the upload-target pool: exclusive leases of (uploadUrl, token) pairs per
 * bucket, reuse after success, b2_get_upload_url when none is idle, persistence across processes. */
#include "pool.h"

#include "authorized.h"
#include "bucket.h"
#include "cache.h"
#include "instance.h"
#include "sp_host.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* The disk pool keeps at most this many idle targets per bucket (the newest). */
#define B2_PERSISTED_TARGETS_MAX 32

int b2_target_usable(const struct b2_plugin *plugin, const struct b2_target *target)
{
    int64_t now = sp_clock_now(&plugin->clock);
    return target->issued_at_ms <= now + 60000 &&
           now < target->issued_at_ms + B2_TOKEN_LIFE_MS - B2_TOKEN_MARGIN_MS;
}

/* An idle target of this process for bucket_id, dropping expired ones on the way. */
static int take_idle(struct b2_plugin *plugin, const char *bucket_id, struct b2_target *target)
{
    int found = 0;
    pthread_mutex_lock(&plugin->pool_lock);
    for (size_t i = plugin->idle_count; i-- > 0 && !found;) {
        struct b2_target *idle = &plugin->idle_targets[i];
        int usable = b2_target_usable(plugin, idle);
        if (usable && strcmp(idle->bucket_id, bucket_id) != 0)
            continue;
        if (usable) {
            *target = *idle;
            found = 1;
        } else {
            b2_target_free(idle);
        }
        /* Keep order: the newest targets stay at the end and are leased first. */
        memmove(idle, idle + 1, (plugin->idle_count - i - 1) * sizeof *idle);
        plugin->idle_count--;
    }
    pthread_mutex_unlock(&plugin->pool_lock);
    return found;
}

struct disk_take {
    struct b2_plugin *plugin;
    const char *bucket_id;
    struct b2_target *target;
    int found;
};

static json_object *persisted_list(json_object *root, const char *bucket_id, int create)
{
    json_object *pools, *list;
    if (!json_object_object_get_ex(root, "uploadTargets", &pools) ||
        !json_object_is_type(pools, json_type_object)) {
        if (!create)
            return NULL;
        pools = json_object_new_object();
        json_object_object_add(root, "uploadTargets", pools);
    }
    if (!json_object_object_get_ex(pools, bucket_id, &list) ||
        !json_object_is_type(list, json_type_array)) {
        if (!create)
            return NULL;
        list = json_object_new_array();
        json_object_object_add(pools, bucket_id, list);
    }
    return list;
}

/* Under the cache lock: move one usable target out of the persisted pool (so no other process
 * can lease it), dropping expired or unreadable entries. */
static int take_persisted(json_object *root, void *context)
{
    struct disk_take *take = context;
    json_object *list = persisted_list(root, take->bucket_id, 0);
    if (!list)
        return 0;
    json_object *kept = json_object_new_array();
    size_t count = json_object_array_length(list);
    for (size_t i = count; i-- > 0;) {
        json_object *entry = json_object_array_get_idx(list, i);
        struct b2_target target;
        char why[B2_WHY_MAX];
        if (b2_wire_target_from_json(entry, &target) != 0)
            continue;
        /* Dropped: straight from B2 it would have been refused (a cache from an older stor). */
        if (b2_wire_url_keeps_tls(take->plugin->config.endpoint, "uploadUrl", target.url, why) != 0) {
            b2_target_free(&target);
            continue;
        }
        if (!take->found && b2_target_usable(take->plugin, &target) &&
            (target.bucket_id = strdup(take->bucket_id))) {
            *take->target = target;
            take->found = 1;
            continue;
        }
        if (b2_target_usable(take->plugin, &target))
            json_object_array_add(kept, json_object_get(entry));
        b2_target_free(&target);
    }
    /* kept was filled newest first; restore oldest-first order. */
    json_object *ordered = json_object_new_array();
    for (size_t i = json_object_array_length(kept); i-- > 0;)
        json_object_array_add(ordered, json_object_get(json_object_array_get_idx(kept, i)));
    json_object_put(kept);
    json_object *pools;
    json_object_object_get_ex(root, "uploadTargets", &pools);
    json_object_object_add(pools, take->bucket_id, ordered);
    return 1;
}

static enum stor_status get_upload_url(struct b2_plugin *plugin, const char *bucket_id,
                                       struct b2_target *target, struct b2_failure *failure,
                                       struct stor_error *err)
{
    json_object *request = json_object_new_object(), *response = NULL;
    if (!request)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    json_object_object_add(request, "bucketId", json_object_new_string(bucket_id));
    enum stor_status status = b2_api_call(plugin, "b2_get_upload_url", request, "writeFiles",
                                          &response, failure, err);
    json_object_put(request);
    if (status != STOR_OK)
        return status;
    char why[B2_WHY_MAX];
    if (b2_wire_upload_url(response, bucket_id, target, why) != 0) {
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_upload_url: B2's answer is malformed: %s", why);
    } else if (b2_wire_url_keeps_tls(plugin->config.endpoint, "uploadUrl", target->url, why) != 0) {
        b2_target_free(target);
        status = stor_fail(err, STOR_EINTERNAL, "b2_get_upload_url: %s", why);
    } else {
        target->issued_at_ms = sp_clock_now(&plugin->clock);
    }
    json_object_put(response);
    return status;
}

enum stor_status b2_pool_lease(struct b2_plugin *plugin, const char *bucket_id, int fresh,
                               struct b2_target *target, struct b2_failure *failure,
                               struct stor_error *err)
{
    struct b2_failure local_failure;
    if (!failure)
        failure = &local_failure;
    memset(failure, 0, sizeof *failure);
    memset(target, 0, sizeof *target);
    if (!fresh) {
        if (take_idle(plugin, bucket_id, target))
            return STOR_OK;
        struct disk_take take = {.plugin = plugin, .bucket_id = bucket_id, .target = target};
        if (plugin->cache && b2_cache_update(plugin->cache, take_persisted, &take) >= 0 &&
            take.found) {
            sp_log(plugin->host, STOR_LOG_DEBUG, "upload target taken from the disk cache");
            return STOR_OK;
        }
    }
    sp_log(plugin->host, STOR_LOG_DEBUG, "asking B2 for a%s upload target", fresh ? " fresh" : "n");
    return get_upload_url(plugin, bucket_id, target, failure, err);
}

void b2_pool_return(struct b2_plugin *plugin, struct b2_target *target)
{
    if (!b2_target_usable(plugin, target)) {
        b2_target_free(target);
        return;
    }
    pthread_mutex_lock(&plugin->pool_lock);
    if (plugin->idle_count == plugin->idle_capacity) {
        size_t capacity = plugin->idle_capacity ? plugin->idle_capacity * 2 : 8;
        struct b2_target *grown = realloc(plugin->idle_targets, capacity * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&plugin->pool_lock);
            b2_target_free(target);
            return;
        }
        plugin->idle_targets = grown;
        plugin->idle_capacity = capacity;
    }
    plugin->idle_targets[plugin->idle_count++] = *target;
    memset(target, 0, sizeof *target);
    pthread_mutex_unlock(&plugin->pool_lock);
}

enum stor_status b2_lease_for_bucket(struct b2_plugin *plugin, const char *bucket, int fresh,
                                     struct b2_target *target, struct stor_error *err)
{
    char *bucket_id;
    enum stor_status status = b2_bucket_id(plugin, bucket, 0, &bucket_id, err);
    if (status != STOR_OK)
        return status;
    struct b2_failure failure;
    status = b2_pool_lease(plugin, bucket_id, fresh, target, &failure, err);
    if (status == STOR_ENOTFOUND && strcmp(failure.code, "bad_bucket_id") == 0) {
        /* The bucket may have been deleted and re-created under the same name: ask once more. */
        sp_log(plugin->host, STOR_LOG_INFO, "bucket %s is not where it was; looking it up again",
               bucket);
        free(bucket_id);
        status = b2_bucket_id(plugin, bucket, 1, &bucket_id, err);
        if (status != STOR_OK)
            return status;
        status = b2_pool_lease(plugin, bucket_id, 1, target, &failure, err);
        if (status == STOR_ENOTFOUND && strcmp(failure.code, "bad_bucket_id") == 0)
            status = stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
    } else if (status == STOR_ENOTFOUND) {
        status = stor_fail(err, STOR_ENOTFOUND, "no bucket '%s'", bucket);
    }
    free(bucket_id);
    return status;
}

struct disk_give {
    struct b2_plugin *plugin;
    struct b2_target *targets;
    size_t count;
};

/* Under the cache lock: add this process's idle targets, keep the newest usable ones. */
static int give_persisted(json_object *root, void *context)
{
    struct disk_give *give = context;
    for (size_t i = 0; i < give->count; i++) {
        json_object *list = persisted_list(root, give->targets[i].bucket_id, 1);
        json_object *entry = b2_wire_target_to_json(&give->targets[i]);
        if (list && entry)
            json_object_array_add(list, entry);
        else
            json_object_put(entry);
    }
    json_object *pools, *pruned = json_object_new_object();
    if (!pruned || !json_object_object_get_ex(root, "uploadTargets", &pools)) {
        json_object_put(pruned);
        return 1;
    }
    json_object_object_foreach(pools, bucket_id, list) {
        if (!json_object_is_type(list, json_type_array))
            continue;
        size_t count = json_object_array_length(list);
        json_object *kept = json_object_new_array();
        for (size_t i = 0; i < count; i++) {
            json_object *entry = json_object_array_get_idx(list, i);
            struct b2_target target;
            if (b2_wire_target_from_json(entry, &target) != 0)
                continue;
            if (b2_target_usable(give->plugin, &target))
                json_object_array_add(kept, json_object_get(entry));
            b2_target_free(&target);
        }
        size_t excess = json_object_array_length(kept) > B2_PERSISTED_TARGETS_MAX
                            ? json_object_array_length(kept) - B2_PERSISTED_TARGETS_MAX
                            : 0;
        if (excess)
            json_object_array_del_idx(kept, 0, excess);
        json_object_object_add(pruned, bucket_id, kept);
    }
    json_object_object_add(root, "uploadTargets", pruned);
    return 1;
}

void b2_pool_persist(struct b2_plugin *plugin)
{
    pthread_mutex_lock(&plugin->pool_lock);
    struct disk_give give = {.plugin = plugin, .targets = plugin->idle_targets,
                             .count = plugin->idle_count};
    if (plugin->cache && give.count > 0 &&
        b2_cache_update(plugin->cache, give_persisted, &give) < 0)
        sp_log(plugin->host, STOR_LOG_WARN, "cannot save upload targets in %s",
               b2_cache_path(plugin->cache));
    for (size_t i = 0; i < plugin->idle_count; i++)
        b2_target_free(&plugin->idle_targets[i]);
    free(plugin->idle_targets);
    plugin->idle_targets = NULL;
    plugin->idle_count = plugin->idle_capacity = 0;
    pthread_mutex_unlock(&plugin->pool_lock);
}

static int drop_persisted(json_object *root, void *context)
{
    json_object *pools;
    if (!json_object_object_get_ex(root, "uploadTargets", &pools) ||
        !json_object_is_type(pools, json_type_object) ||
        !json_object_object_get_ex(pools, context, NULL))
        return 0;
    json_object_object_del(pools, context);
    return 1;
}

void b2_pool_forget_bucket(struct b2_plugin *plugin, const char *bucket_id)
{
    pthread_mutex_lock(&plugin->pool_lock);
    size_t kept = 0;
    for (size_t i = 0; i < plugin->idle_count; i++) {
        if (strcmp(plugin->idle_targets[i].bucket_id, bucket_id) == 0)
            b2_target_free(&plugin->idle_targets[i]);
        else
            plugin->idle_targets[kept++] = plugin->idle_targets[i];
    }
    plugin->idle_count = kept;
    pthread_mutex_unlock(&plugin->pool_lock);
    if (plugin->cache)
        b2_cache_update(plugin->cache, drop_persisted, (void *)bucket_id);
}
