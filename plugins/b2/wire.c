/* plugins/b2/wire.c — strict parsers for B2's JSON responses (see wire.h).
 * Every field is type-checked: a hostile or broken reply is an error string, never a crash. */
#include "wire.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define B2_JSON_MAX_DEPTH 32

json_object *b2_wire_parse(const char *body, size_t length, char why[B2_WHY_MAX])
{
    if (!body || length == 0) {
        snprintf(why, B2_WHY_MAX, "empty body");
        return NULL;
    }
    if (length > INT32_MAX) {
        snprintf(why, B2_WHY_MAX, "body too large");
        return NULL;
    }
    json_tokener *tokener = json_tokener_new_ex(B2_JSON_MAX_DEPTH);
    if (!tokener) {
        snprintf(why, B2_WHY_MAX, "out of memory");
        return NULL;
    }
    json_object *root = json_tokener_parse_ex(tokener, body, (int)length);
    enum json_tokener_error error = json_tokener_get_error(tokener);
    size_t end = json_tokener_get_parse_end(tokener);
    json_tokener_free(tokener);
    if (error != json_tokener_success || !root) {
        snprintf(why, B2_WHY_MAX, "not JSON (%s)",
                 error == json_tokener_continue ? "truncated" : json_tokener_error_desc(error));
        json_object_put(root);
        return NULL;
    }
    while (end < length && strchr(" \t\r\n", body[end]))
        end++;
    if (end != length) {
        snprintf(why, B2_WHY_MAX, "not JSON (bytes after the value)");
        json_object_put(root);
        return NULL;
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(why, B2_WHY_MAX, "JSON is not an object");
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* The string member key of object: NULL when absent or null; *bad set when of another type. */
static const char *get_string(json_object *object, const char *key, int *bad)
{
    json_object *member;
    if (!object || !json_object_object_get_ex(object, key, &member) || !member)
        return NULL;
    if (!json_object_is_type(member, json_type_string)) {
        *bad = 1;
        return NULL;
    }
    return json_object_get_string(member);
}

/* A required non-empty string; on failure explains which field. */
static const char *need_string(json_object *object, const char *key, char why[B2_WHY_MAX])
{
    int bad = 0;
    const char *value = get_string(object, key, &bad);
    if (bad)
        snprintf(why, B2_WHY_MAX, "field %s is not a string", key);
    else if (!value)
        snprintf(why, B2_WHY_MAX, "field %s is missing", key);
    else if (!*value)
        snprintf(why, B2_WHY_MAX, "field %s is empty", key);
    else
        return value;
    return NULL;
}

/* An integer member: 1 found, 0 absent or null, -1 another type. */
static int get_int(json_object *object, const char *key, int64_t *value)
{
    json_object *member;
    if (!object || !json_object_object_get_ex(object, key, &member) || !member)
        return 0;
    if (!json_object_is_type(member, json_type_int))
        return -1;
    *value = json_object_get_int64(member);
    return 1;
}

static json_object *get_object(json_object *object, const char *key)
{
    json_object *member;
    if (object && json_object_object_get_ex(object, key, &member) &&
        json_object_is_type(member, json_type_object))
        return member;
    return NULL;
}

void b2_wire_error(const char *body, size_t length, char *code, size_t code_size, char *message,
                   size_t message_size)
{
    char why[B2_WHY_MAX];
    code[0] = message[0] = '\0';
    json_object *root = b2_wire_parse(body, length, why);
    if (!root)
        return;
    int bad = 0;
    const char *value = get_string(root, "code", &bad);
    if (value)
        snprintf(code, code_size, "%s", value);
    value = get_string(root, "message", &bad);
    if (value)
        snprintf(message, message_size, "%s", value);
    json_object_put(root);
}

static int dup_into(char **target, const char *value)
{
    *target = value ? strdup(value) : NULL;
    return value && !*target ? -1 : 0;
}

void b2_account_free(struct b2_account *account)
{
    if (!account)
        return;
    free(account->account_id);
    free(account->token);
    free(account->api_url);
    free(account->download_url);
    free(account->name_prefix);
    for (size_t i = 0; i < account->capability_count; i++)
        free(account->capabilities[i]);
    free(account->capabilities);
    for (size_t i = 0; i < account->bucket_count; i++) {
        free(account->buckets[i].id);
        free(account->buckets[i].name);
    }
    free(account->buckets);
    memset(account, 0, sizeof *account);
}

/* What the server hands out goes into request lines and headers: a token or URL with a control
 * byte or space (CR/LF would inject a header) or a URL of another scheme than http(s) is refused
 * when received. 0 if value is fit, else -1 with why naming field. */
static int unsafe_value(const char *value, const char *field, int url, char why[B2_WHY_MAX])
{
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c <= 32 || *c == 127) {
            snprintf(why, B2_WHY_MAX, "%s holds a control character or a space", field);
            return -1;
        }
    if (!*value || (url && strncasecmp(value, "https://", 8) != 0 && strncasecmp(value, "http://", 7) != 0)) {
        snprintf(why, B2_WHY_MAX, "%s is not %s", field, url ? "an http(s) URL" : "a token");
        return -1;
    }
    return 0;
}

static int add_bucket(struct b2_account *account, const char *id, const char *name)
{
    struct b2_bucket_ref *grown =
        realloc(account->buckets, (account->bucket_count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    account->buckets = grown;
    struct b2_bucket_ref *bucket = &grown[account->bucket_count];
    if (dup_into(&bucket->id, id) != 0 || dup_into(&bucket->name, name) != 0) {
        free(bucket->id);
        return -1;
    }
    account->bucket_count++;
    return 0;
}

/* The key's restrictions: v4 allowed{buckets[], capabilities, namePrefix}, v2 allowed{bucketId,
 * bucketName, ...}, v3 the same fields directly in storageApi. */
static int parse_allowed(json_object *allowed, struct b2_account *account, char why[B2_WHY_MAX])
{
    int bad = 0;
    json_object *list;
    if (json_object_object_get_ex(allowed, "capabilities", &list) && list) {
        if (!json_object_is_type(list, json_type_array)) {
            snprintf(why, B2_WHY_MAX, "field allowed.capabilities is not an array");
            return -1;
        }
        size_t count = json_object_array_length(list);
        account->capabilities = calloc(count ? count : 1, sizeof *account->capabilities);
        if (!account->capabilities)
            goto out_of_memory;
        for (size_t i = 0; i < count; i++) {
            json_object *item = json_object_array_get_idx(list, i);
            if (!json_object_is_type(item, json_type_string))
                continue; /* unknown shapes of future capabilities are not our business */
            if (dup_into(&account->capabilities[account->capability_count],
                         json_object_get_string(item)) != 0)
                goto out_of_memory;
            account->capability_count++;
        }
    }
    if (json_object_object_get_ex(allowed, "buckets", &list) && list) {
        if (!json_object_is_type(list, json_type_array)) {
            snprintf(why, B2_WHY_MAX, "field allowed.buckets is not an array");
            return -1;
        }
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *item = json_object_array_get_idx(list, i);
            const char *id = get_string(item, "id", &bad);
            const char *name = get_string(item, "name", &bad);
            if (bad || !id) {
                snprintf(why, B2_WHY_MAX, "an entry of allowed.buckets has no string id");
                return -1;
            }
            if (add_bucket(account, id, name) != 0)
                goto out_of_memory;
        }
    } else {
        const char *id = get_string(allowed, "bucketId", &bad);
        const char *name = get_string(allowed, "bucketName", &bad);
        if (bad) {
            snprintf(why, B2_WHY_MAX, "field allowed.bucketId or bucketName is not a string");
            return -1;
        }
        if (id && add_bucket(account, id, name) != 0)
            goto out_of_memory;
    }
    const char *prefix = get_string(allowed, "namePrefix", &bad);
    if (bad) {
        snprintf(why, B2_WHY_MAX, "field allowed.namePrefix is not a string");
        return -1;
    }
    if (dup_into(&account->name_prefix, prefix) != 0)
        goto out_of_memory;
    return 0;
out_of_memory:
    snprintf(why, B2_WHY_MAX, "out of memory");
    return -1;
}

int b2_wire_account(json_object *root, struct b2_account *account, char why[B2_WHY_MAX])
{
    memset(account, 0, sizeof *account);
    /* v3/v4 nest the storage fields in apiInfo.storageApi; v1/v2 (and our cache) keep them at
     * the top. */
    json_object *storage = get_object(get_object(root, "apiInfo"), "storageApi");
    if (!storage)
        storage = root;
    const char *account_id = need_string(root, "accountId", why);
    const char *token = account_id ? need_string(root, "authorizationToken", why) : NULL;
    const char *api_url = token ? need_string(storage, "apiUrl", why) : NULL;
    const char *download_url = api_url ? need_string(storage, "downloadUrl", why) : NULL;
    if (!download_url || unsafe_value(token, "authorizationToken", 0, why) ||
        unsafe_value(api_url, "apiUrl", 1, why) || unsafe_value(download_url, "downloadUrl", 1, why))
        return -1;
    if (dup_into(&account->account_id, account_id) || dup_into(&account->token, token) ||
        dup_into(&account->api_url, api_url) || dup_into(&account->download_url, download_url)) {
        snprintf(why, B2_WHY_MAX, "out of memory");
        goto fail;
    }
    if (get_int(storage, "recommendedPartSize", &account->recommended_part_size) < 0 ||
        get_int(storage, "absoluteMinimumPartSize", &account->absolute_minimum_part_size) < 0) {
        snprintf(why, B2_WHY_MAX, "a part size field is not an integer");
        goto fail;
    }
    json_object *allowed = get_object(storage, "allowed");
    if (!allowed)
        allowed = get_object(root, "allowed");
    if (parse_allowed(allowed ? allowed : storage, account, why) != 0)
        goto fail;
    if (get_int(root, "authorizedAt", &account->authorized_at_ms) < 0) {
        snprintf(why, B2_WHY_MAX, "field authorizedAt is not an integer");
        goto fail;
    }
    return 0;
fail:
    b2_account_free(account);
    return -1;
}

static json_object *string_or_null(const char *value)
{
    return value ? json_object_new_string(value) : NULL;
}

json_object *b2_wire_account_to_json(const struct b2_account *account)
{
    json_object *root = json_object_new_object(), *allowed = json_object_new_object();
    json_object *capabilities = json_object_new_array(), *buckets = json_object_new_array();
    if (!root || !allowed || !capabilities || !buckets) {
        json_object_put(root);
        json_object_put(allowed);
        json_object_put(capabilities);
        json_object_put(buckets);
        return NULL;
    }
    json_object_object_add(root, "accountId", string_or_null(account->account_id));
    json_object_object_add(root, "authorizationToken", string_or_null(account->token));
    json_object_object_add(root, "apiUrl", string_or_null(account->api_url));
    json_object_object_add(root, "downloadUrl", string_or_null(account->download_url));
    json_object_object_add(root, "recommendedPartSize",
                           json_object_new_int64(account->recommended_part_size));
    json_object_object_add(root, "absoluteMinimumPartSize",
                           json_object_new_int64(account->absolute_minimum_part_size));
    json_object_object_add(root, "authorizedAt", json_object_new_int64(account->authorized_at_ms));
    for (size_t i = 0; i < account->capability_count; i++)
        json_object_array_add(capabilities, json_object_new_string(account->capabilities[i]));
    for (size_t i = 0; i < account->bucket_count; i++) {
        json_object *bucket = json_object_new_object();
        json_object_object_add(bucket, "id", string_or_null(account->buckets[i].id));
        json_object_object_add(bucket, "name", string_or_null(account->buckets[i].name));
        json_object_array_add(buckets, bucket);
    }
    json_object_object_add(allowed, "capabilities", capabilities);
    json_object_object_add(allowed, "buckets", buckets);
    json_object_object_add(allowed, "namePrefix", string_or_null(account->name_prefix));
    json_object_object_add(root, "allowed", allowed);
    return root;
}

int b2_wire_upload_url(json_object *root, const char *bucket_id, struct b2_target *target,
                       char why[B2_WHY_MAX])
{
    memset(target, 0, sizeof *target);
    const char *answered_bucket = need_string(root, "bucketId", why);
    const char *url = answered_bucket ? need_string(root, "uploadUrl", why) : NULL;
    const char *token = url ? need_string(root, "authorizationToken", why) : NULL;
    if (!token)
        return -1;
    if (strcmp(answered_bucket, bucket_id) != 0) {
        snprintf(why, B2_WHY_MAX, "bucketId in the answer is not the bucket asked for");
        return -1;
    }
    if (unsafe_value(url, "uploadUrl", 1, why) || unsafe_value(token, "authorizationToken", 0, why))
        return -1;
    if (dup_into(&target->bucket_id, bucket_id) || dup_into(&target->url, url) ||
        dup_into(&target->token, token)) {
        b2_target_free(target);
        snprintf(why, B2_WHY_MAX, "out of memory");
        return -1;
    }
    return 0;
}

json_object *b2_wire_target_to_json(const struct b2_target *target)
{
    json_object *object = json_object_new_object();
    if (!object)
        return NULL;
    json_object_object_add(object, "uploadUrl", json_object_new_string(target->url));
    json_object_object_add(object, "authorizationToken", json_object_new_string(target->token));
    json_object_object_add(object, "issuedAt", json_object_new_int64(target->issued_at_ms));
    return object;
}

int b2_wire_target_from_json(json_object *object, struct b2_target *target)
{
    char why[B2_WHY_MAX];
    memset(target, 0, sizeof *target);
    const char *url = need_string(object, "uploadUrl", why);
    const char *token = url ? need_string(object, "authorizationToken", why) : NULL;
    if (!token || get_int(object, "issuedAt", &target->issued_at_ms) != 1 ||
        unsafe_value(url, "uploadUrl", 1, why) || unsafe_value(token, "authorizationToken", 0, why))
        return -1;
    if (dup_into(&target->url, url) || dup_into(&target->token, token)) {
        b2_target_free(target);
        return -1;
    }
    return 0;
}

void b2_target_free(struct b2_target *target)
{
    if (!target)
        return;
    free(target->bucket_id);
    free(target->url);
    free(target->token);
    memset(target, 0, sizeof *target);
}

int b2_wire_bucket_id(json_object *root, const char *name, char **id, char why[B2_WHY_MAX])
{
    json_object *buckets;
    *id = NULL;
    if (!json_object_object_get_ex(root, "buckets", &buckets) ||
        !json_object_is_type(buckets, json_type_array)) {
        snprintf(why, B2_WHY_MAX, "field buckets is missing or not an array");
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(buckets); i++) {
        json_object *bucket = json_object_array_get_idx(buckets, i);
        int bad = 0;
        const char *bucket_name = get_string(bucket, "bucketName", &bad);
        const char *bucket_id = get_string(bucket, "bucketId", &bad);
        if (bad || !bucket_name || !bucket_id || !*bucket_id) {
            snprintf(why, B2_WHY_MAX, "a bucket lacks a string bucketName or bucketId");
            return -1;
        }
        if (strcmp(bucket_name, name) == 0) {
            *id = strdup(bucket_id);
            if (!*id) {
                snprintf(why, B2_WHY_MAX, "out of memory");
                return -1;
            }
            return 1;
        }
    }
    return 0;
}

/* A boolean member: 1 true, 0 false, -1 absent or of another type. */
static int get_bool(json_object *object, const char *key)
{
    json_object *member;
    if (!object || !json_object_object_get_ex(object, key, &member) ||
        !json_object_is_type(member, json_type_boolean))
        return -1;
    return json_object_get_boolean(member) ? 1 : 0;
}

/* A {isClientAuthorizedToRead, value} wrapper's value, when the key may read it: the member
 * value (possibly NULL for null), *readable 1; else *readable 0. */
static json_object *readable_value(json_object *wrapper, int *readable)
{
    json_object *value = NULL;
    *readable = wrapper && get_bool(wrapper, "isClientAuthorizedToRead") != 0 &&
                json_object_object_get_ex(wrapper, "value", &value);
    return *readable ? value : NULL;
}

static int is_lower_hex(const char *text, size_t length)
{
    if (strlen(text) != length)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return 0;
    return 1;
}

/* What B2 says protects the file: only the values the ABI knows, the rest unknown. */
static void parse_protection(json_object *object, struct stor_protection *protection)
{
    protection->encryption = NULL;
    protection->retention_mode = NULL;
    protection->retain_until_ms = -1;
    protection->legal_hold = -1;
    int bad = 0, readable;
    if (!object)
        return;
    const char *mode = get_string(get_object(object, "serverSideEncryption"), "mode", &bad);
    if (mode && strcmp(mode, "SSE-B2") == 0)
        protection->encryption = "SSE-B2";
    else if (mode && strcmp(mode, "SSE-C") == 0)
        protection->encryption = "SSE-C";
    json_object *retention = readable_value(get_object(object, "fileRetention"), &readable);
    if (retention && json_object_is_type(retention, json_type_object)) {
        bad = 0;
        mode = get_string(retention, "mode", &bad);
        int64_t until = -1;
        int has_until = get_int(retention, "retainUntilTimestamp", &until) == 1 && until >= 0;
        if (mode && (strcmp(mode, "governance") == 0 || strcmp(mode, "compliance") == 0) &&
            has_until) {
            protection->retention_mode = strcmp(mode, "governance") == 0 ? "governance"
                                                                         : "compliance";
            protection->retain_until_ms = until;
        }
    }
    json_object *hold = readable_value(get_object(object, "legalHold"), &readable);
    if (hold && json_object_is_type(hold, json_type_string))
        protection->legal_hold = strcmp(json_object_get_string(hold), "on") == 0    ? 1
                                 : strcmp(json_object_get_string(hold), "off") == 0 ? 0
                                                                                     : -1;
}

/* src_last_modified_millis as B2 keeps it: a decimal string; anything else is unknown (-1). */
static int64_t parse_millis(const char *text)
{
    if (!text || !((*text >= '0' && *text <= '9') || (*text == '-' && text[1] >= '0' && text[1] <= '9')))
        return -1;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    return errno || *end ? -1 : value;
}

/* fileInfo: the plugin's own keys, the b2-* headers, and the rest as metadata. Entries that are
 * not strings are not B2's (it stores strings) and are left out. */
static void parse_file_info(json_object *info, struct b2_file *file)
{
    static const struct {
        const char *key;
        size_t offset;
    } headers[] = {
        {"b2-cache-control", offsetof(struct b2_file, cache_control)},
        {"b2-content-disposition", offsetof(struct b2_file, content_disposition)},
        {"b2-content-encoding", offsetof(struct b2_file, content_encoding)},
        {"b2-content-language", offsetof(struct b2_file, content_language)},
        {"b2-expires", offsetof(struct b2_file, expires)},
    };
    if (!info)
        return;
    json_object_object_foreach(info, key, value) {
        if (!value || !json_object_is_type(value, json_type_string))
            continue;
        const char *text = json_object_get_string(value);
        if (strcasecmp(key, "src_last_modified_millis") == 0) {
            file->src_last_modified_millis = parse_millis(text);
            continue;
        }
        if (strcasecmp(key, "large_file_sha1") == 0) {
            file->large_file_sha1 = text;
            continue;
        }
        size_t i = 0;
        while (i < sizeof headers / sizeof *headers && strcasecmp(key, headers[i].key) != 0)
            i++;
        if (i < sizeof headers / sizeof *headers) {
            *(const char **)((char *)file + headers[i].offset) = text;
            continue;
        }
        if (file->metadata_count == B2_FILE_INFO_MAX) {
            file->info_truncated = 1;
            continue;
        }
        file->metadata[file->metadata_count].key = key;
        file->metadata[file->metadata_count].value = text;
        file->metadata_count++;
    }
}

int b2_wire_file(json_object *object, struct b2_file *file, char why[B2_WHY_MAX])
{
    memset(file, 0, sizeof *file);
    int bad = 0;
    file->upload_timestamp = -1;
    file->src_last_modified_millis = -1;
    parse_protection(NULL, &file->protection);
    if (!json_object_is_type(object, json_type_object)) {
        snprintf(why, B2_WHY_MAX, "a file entry is not an object");
        return -1;
    }
    file->file_name = need_string(object, "fileName", why);
    if (!file->file_name)
        return -1;
    file->action = get_string(object, "action", &bad);
    file->file_id = get_string(object, "fileId", &bad);
    file->content_sha1 = get_string(object, "contentSha1", &bad);
    file->content_type = get_string(object, "contentType", &bad);
    file->bucket_id = get_string(object, "bucketId", &bad);
    const char *md5 = get_string(object, "contentMd5", &bad);
    if (bad) {
        snprintf(why, B2_WHY_MAX, "a file field is not a string");
        return -1;
    }
    file->content_md5 = md5 && is_lower_hex(md5, 32) ? md5 : NULL;
    file->content_length = 0;
    if (get_int(object, "contentLength", &file->content_length) < 0 ||
        get_int(object, "uploadTimestamp", &file->upload_timestamp) < 0) {
        snprintf(why, B2_WHY_MAX, "contentLength or uploadTimestamp is not an integer");
        return -1;
    }
    parse_file_info(get_object(object, "fileInfo"), file);
    parse_protection(object, &file->protection);
    return 0;
}

/* ---- buckets ---- */

int b2_wire_bucket(json_object *object, struct b2_bucket *bucket, char why[B2_WHY_MAX])
{
    memset(bucket, 0, sizeof *bucket);
    if (!json_object_is_type(object, json_type_object)) {
        snprintf(why, B2_WHY_MAX, "a bucket entry is not an object");
        return -1;
    }
    bucket->name = need_string(object, "bucketName", why);
    bucket->id = bucket->name ? need_string(object, "bucketId", why) : NULL;
    if (!bucket->id)
        return -1;
    int bad = 0;
    bucket->type = get_string(object, "bucketType", &bad);
    if (bad) {
        snprintf(why, B2_WHY_MAX, "field bucketType is not a string");
        return -1;
    }
    json_object *rules;
    if (json_object_object_get_ex(object, "lifecycleRules", &rules) && rules) {
        if (!json_object_is_type(rules, json_type_array)) {
            snprintf(why, B2_WHY_MAX, "field lifecycleRules is not an array");
            return -1;
        }
        bucket->lifecycle_rules = json_object_to_json_string_ext(
            rules, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        bucket->lifecycle_rule_count = json_object_array_length(rules);
    }
    bucket->keep_old_days = bucket->hide_after_days = -1;
    bucket->file_lock = -1;
    json_object *first = bucket->lifecycle_rule_count ? json_object_array_get_idx(rules, 0) : NULL;
    if (first && json_object_is_type(first, json_type_object)) {
        int64_t days;
        bad = 0;
        bucket->lifecycle_prefix = get_string(first, "fileNamePrefix", &bad);
        if (get_int(first, "daysFromHidingToDeleting", &days) == 1 && days > 0)
            bucket->keep_old_days = days;
        if (get_int(first, "daysFromUploadingToHiding", &days) == 1 && days > 0)
            bucket->hide_after_days = days;
    }
    int readable;
    json_object *lock = readable_value(get_object(object, "fileLockConfiguration"), &readable);
    if (readable && lock && json_object_is_type(lock, json_type_object))
        bucket->file_lock = get_bool(lock, "isFileLockEnabled");
    json_object *encryption = readable_value(get_object(object, "defaultServerSideEncryption"),
                                             &readable);
    if (readable) {
        bad = 0;
        const char *mode = get_string(encryption, "mode", &bad);
        bucket->default_encryption = bad ? NULL : mode ? mode : "none";
    }
    return 0;
}

int b2_wire_download_authorization(json_object *root, const char *bucket_id, const char *prefix,
                                   const char **token, char why[B2_WHY_MAX])
{
    *token = need_string(root, "authorizationToken", why);
    if (!*token || unsafe_value(*token, "authorizationToken", 0, why) != 0) {
        *token = NULL;
        return -1;
    }
    int bad = 0;
    const char *answered_bucket = get_string(root, "bucketId", &bad);
    const char *answered_prefix = get_string(root, "fileNamePrefix", &bad);
    if (bad || (answered_bucket && strcmp(answered_bucket, bucket_id) != 0) ||
        (answered_prefix && strcmp(answered_prefix, prefix) != 0)) {
        snprintf(why, B2_WHY_MAX, "the authorization is for another bucket or prefix than asked");
        *token = NULL;
        return -1;
    }
    return 0;
}

/* ---- large files ---- */

int b2_wire_upload_part_url(json_object *root, const char *file_id, struct b2_target *target,
                            char why[B2_WHY_MAX])
{
    memset(target, 0, sizeof *target);
    /* fileId is only checked when present: stor knows it, and b2sdk's simulator leaves it out. */
    int bad = 0;
    const char *answered_file = get_string(root, "fileId", &bad);
    const char *url = need_string(root, "uploadUrl", why);
    const char *token = url ? need_string(root, "authorizationToken", why) : NULL;
    if (!token)
        return -1;
    if (bad || (answered_file && strcmp(answered_file, file_id) != 0)) {
        snprintf(why, B2_WHY_MAX, "fileId in the answer is not the file asked for");
        return -1;
    }
    if (unsafe_value(url, "uploadUrl", 1, why) || unsafe_value(token, "authorizationToken", 0, why))
        return -1;
    if (dup_into(&target->bucket_id, file_id) || dup_into(&target->url, url) ||
        dup_into(&target->token, token)) {
        b2_target_free(target);
        snprintf(why, B2_WHY_MAX, "out of memory");
        return -1;
    }
    return 0;
}

int b2_wire_part(json_object *object, struct b2_part *part, char why[B2_WHY_MAX])
{
    memset(part, 0, sizeof *part);
    int64_t number = 0;
    if (!json_object_is_type(object, json_type_object)) {
        snprintf(why, B2_WHY_MAX, "a part entry is not an object");
        return -1;
    }
    if (get_int(object, "partNumber", &number) != 1 || number < 1 || number > 10000 ||
        get_int(object, "contentLength", &part->content_length) != 1 || part->content_length < 0) {
        snprintf(why, B2_WHY_MAX, "a part lacks an integer partNumber or contentLength");
        return -1;
    }
    part->part_number = (int)number;
    part->content_sha1 = need_string(object, "contentSha1", why);
    return part->content_sha1 ? 0 : -1;
}

const char *b2_wire_file_info(json_object *file, const char *key)
{
    int bad = 0;
    const char *value = get_string(get_object(file, "fileInfo"), key, &bad);
    return bad ? NULL : value;
}

int b2_wire_url_keeps_tls(const char *endpoint, const char *field, const char *url,
                          char why[B2_WHY_MAX])
{
    if (strncasecmp(endpoint, "https://", 8) != 0 || strncasecmp(url, "http://", 7) != 0)
        return 0;
    snprintf(why, B2_WHY_MAX, "%s is plain http:// while the endpoint is https: refused, the "
             "token and data sent there would travel in clear", field);
    return -1;
}
