/* store.c — buckets, file versions and listings. One mutex for the whole store keeps every call
 * atomic; the bytes themselves are blobs, referenced (never copied) by downloads and copies. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "server.h"

struct store store = {.lock = PTHREAD_MUTEX_INITIALIZER};

bool grow_array(void *array_pointer, size_t *capacity, size_t count, size_t element_size)
{
	void **array = array_pointer;
	if (count < *capacity)
		return true;
	size_t grown = *capacity ? *capacity * 2 : 8;
	void *bigger = realloc(*array, grown * element_size);
	if (!bigger)
		return false;
	*array = bigger;
	*capacity = grown;
	return true;
}

static struct lh_table *file_index(void)
{
	if (!store.by_file_id)
		store.by_file_id = lh_kchar_table_new(4096, NULL);
	return store.by_file_id;
}

struct bucket *bucket_by_id(const char *bucket_id)
{
	for (size_t i = 0; bucket_id && i < store.bucket_count; i++)
		if (strcmp(store.buckets[i]->id, bucket_id) == 0)
			return store.buckets[i];
	return NULL;
}

static struct bucket *bucket_by_name(const char *name)
{
	for (size_t i = 0; name && i < store.bucket_count; i++)
		if (strcmp(store.buckets[i]->name, name) == 0)
			return store.buckets[i];
	return NULL;
}

struct bucket *bucket_for_key(const struct key *key, const char *bucket_id, struct b2_error *error)
{
	struct bucket *bucket = bucket_by_id(bucket_id);
	if (!bucket) {
		b2_error_set(error, 400, "bad_bucket_id", "Bucket does not exist: %s", bucket_id);
		return NULL;
	}
	if (!key_allows_bucket(key, bucket->name)) {
		b2_error_set(error, 401, "unauthorized", "The key is not allowed to use this bucket");
		return NULL;
	}
	return bucket;
}

struct version *version_by_id(const char *file_id)
{
	void *value = NULL;
	if (!file_id || !store.by_file_id || !lh_table_lookup_ex(store.by_file_id, file_id, &value))
		return NULL;
	return value;
}

struct version *version_new(struct bucket *bucket, const char *file_name, enum version_action action)
{
	struct version *version = calloc(1, sizeof *version);
	char file_id[96];
	snprintf(file_id, sizeof file_id, "4_z%s_f%016lx", bucket->id, ++store.serial);
	version->file_id = strdup(file_id);
	version->file_name = strdup(file_name);
	version->bucket = bucket;
	version->action = action;
	version->upload_timestamp = now_ms();
	protection_init(&version->protection);
	lh_table_insert(file_index(), version->file_id, version);
	return version;
}

void version_free(struct version *version)
{
	lh_table_delete(file_index(), version->file_id);
	segments_free(version->segments, version->segment_count);
	if (version->large)
		large_upload_free(version->large);
	json_object_put(version->file_info);
	free(version->file_id);
	free(version->file_name);
	free(version->content_type);
	free(version->sha1);
	free(version->md5);
	free(version);
}

/* Index of the first name >= name in a sorted array of name entries. */
static size_t lower_bound_in(struct name_entry *const *names, size_t count, const char *name)
{
	size_t low = 0, high = count;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (strcmp(names[middle]->name, name) < 0)
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

static size_t lower_bound(const struct bucket *bucket, const char *name)
{
	return lower_bound_in(bucket->names, bucket->name_count, name);
}

static struct name_entry *find_name(const struct bucket *bucket, const char *name)
{
	size_t at = lower_bound(bucket, name);
	if (at < bucket->name_count && strcmp(bucket->names[at]->name, name) == 0)
		return bucket->names[at];
	return NULL;
}

void version_publish(struct version *version)
{
	struct bucket *bucket = version->bucket;
	size_t at = lower_bound(bucket, version->file_name);
	struct name_entry *entry;
	if (at < bucket->name_count && strcmp(bucket->names[at]->name, version->file_name) == 0) {
		entry = bucket->names[at];
	} else {
		if (!grow_array(&bucket->names, &bucket->name_capacity, bucket->name_count,
				sizeof *bucket->names))
			abort();
		entry = calloc(1, sizeof *entry);
		entry->name = strdup(version->file_name);
		memmove(bucket->names + at + 1, bucket->names + at,
			(bucket->name_count - at) * sizeof *bucket->names);
		bucket->names[at] = entry;
		bucket->name_count++;
	}
	if (!grow_array(&entry->versions, &entry->capacity, entry->count, sizeof *entry->versions))
		abort();
	memmove(entry->versions + 1, entry->versions, entry->count * sizeof *entry->versions);
	entry->versions[0] = version;
	entry->count++;
}

/* Takes a published version out of its name entry (dropping the entry when it empties). */
static void version_unpublish(struct version *version)
{
	struct bucket *bucket = version->bucket;
	size_t at = lower_bound(bucket, version->file_name);
	if (at >= bucket->name_count)
		return;
	struct name_entry *entry = bucket->names[at];
	for (size_t i = 0; i < entry->count; i++) {
		if (entry->versions[i] != version)
			continue;
		memmove(entry->versions + i, entry->versions + i + 1,
			(entry->count - i - 1) * sizeof *entry->versions);
		entry->count--;
		break;
	}
	if (entry->count == 0) {
		free(entry->versions);
		free(entry->name);
		free(entry);
		memmove(bucket->names + at, bucket->names + at + 1,
			(bucket->name_count - at - 1) * sizeof *bucket->names);
		bucket->name_count--;
	}
}

static const char *action_name(enum version_action action)
{
	return action == ACTION_UPLOAD ? "upload" : action == ACTION_HIDE ? "hide" : "start";
}

static json_object *string_or_null(const char *text)
{
	return text ? json_object_new_string(text) : NULL;
}

json_object *version_json(const struct version *version, int api_version)
{
	json_object *file = json_object_new_object();
	json_object_object_add(file, "accountId", json_object_new_string(server_config.account_id));
	json_object_object_add(file, "action", json_object_new_string(action_name(version->action)));
	json_object_object_add(file, "bucketId", json_object_new_string(version->bucket->id));
	json_object_object_add(file, "contentLength", json_object_new_int64((int64_t)version->length));
	/* A hide marker holds no bytes: B2 gives the SHA-1 of nothing, never null (b2sdk needs it). */
	json_object_object_add(file, "contentSha1",
			       version->action == ACTION_HIDE && !version->sha1
				       ? json_object_new_string("da39a3ee5e6b4b0d3255bfef95601890afd80709")
				       : string_or_null(version->sha1));
	json_object_object_add(file, "contentMd5", string_or_null(version->md5)); /* B2: small files */
	json_object_object_add(file, "contentType", string_or_null(version->content_type));
	json_object_object_add(file, "fileId", json_object_new_string(version->file_id));
	/* A deep copy: json-c's reference counts and print buffers are not thread-safe. */
	json_object *info = NULL;
	if (!version->file_info || json_object_deep_copy(version->file_info, &info, NULL) != 0)
		info = json_object_new_object();
	json_object_object_add(file, "fileInfo", info);
	json_object_object_add(file, "fileName", json_object_new_string(version->file_name));
	json_object_object_add(file, "fileRetention", protection_retention_json(&version->protection));
	json_object_object_add(file, "legalHold", protection_legal_hold_json(&version->protection));
	json_object_object_add(file, "replicationStatus", NULL);
	json_object_object_add(file, "serverSideEncryption", protection_sse_json(&version->protection));
	json_object_object_add(file, "uploadTimestamp", json_object_new_int64(version->upload_timestamp));
	if (api_version == 1) /* v1 listings (rclone 1.60) read the length as "size" */
		json_object_object_add(file, "size", json_object_new_int64((int64_t)version->length));
	return file;
}

static json_object *folder_json(const struct bucket *bucket, const char *folder, int api_version)
{
	json_object *file = json_object_new_object();
	json_object_object_add(file, "accountId", json_object_new_string(server_config.account_id));
	json_object_object_add(file, "action", json_object_new_string("folder"));
	json_object_object_add(file, "bucketId", json_object_new_string(bucket->id));
	json_object_object_add(file, "contentLength", json_object_new_int64(0));
	json_object_object_add(file, "contentSha1", NULL);
	json_object_object_add(file, "contentMd5", NULL);
	json_object_object_add(file, "contentType", NULL);
	json_object_object_add(file, "fileId", NULL);
	json_object_object_add(file, "fileInfo", json_object_new_object());
	json_object_object_add(file, "fileName", json_object_new_string(folder));
	json_object_object_add(file, "uploadTimestamp", json_object_new_int64(0));
	if (api_version == 1)
		json_object_object_add(file, "size", json_object_new_int64(0));
	return file;
}

static json_object *bucket_json(const struct bucket *bucket)
{
	json_object *json = json_object_new_object();
	json_object_object_add(json, "accountId", json_object_new_string(server_config.account_id));
	json_object_object_add(json, "bucketId", json_object_new_string(bucket->id));
	json_object_object_add(json, "bucketName", json_object_new_string(bucket->name));
	json_object_object_add(json, "bucketType", json_object_new_string(bucket->type));
	json_object_object_add(json, "bucketInfo", json_object_new_object());
	json_object_object_add(json, "corsRules", json_object_new_array());
	json_object *rules = NULL;
	if (!bucket->lifecycle_rules || json_object_deep_copy(bucket->lifecycle_rules, &rules, NULL) != 0)
		rules = json_object_new_array();
	json_object_object_add(json, "lifecycleRules", rules);
	json_object_object_add(json, "revision", json_object_new_int(1));
	json_object *options = json_object_new_array();
	json_object_array_add(options, json_object_new_string("s3"));
	json_object_object_add(json, "options", options);

	json_object *encryption = json_object_new_object();
	json_object_object_add(encryption, "isClientAuthorizedToRead", json_object_new_boolean(1));
	json_object *encryption_value = json_object_new_object();
	json_object_object_add(encryption_value, "algorithm", bucket->default_sse[0]
				       ? json_object_new_string("AES256") : NULL);
	json_object_object_add(encryption_value, "mode", bucket->default_sse[0]
				       ? json_object_new_string(bucket->default_sse) : NULL);
	json_object_object_add(encryption, "value", encryption_value);
	json_object_object_add(json, "defaultServerSideEncryption", encryption);

	json_object *retention = json_object_new_object();
	json_object_object_add(retention, "mode", NULL);
	json_object_object_add(retention, "period", NULL);
	json_object *lock_value = json_object_new_object();
	json_object_object_add(lock_value, "defaultRetention", retention);
	json_object_object_add(lock_value, "isFileLockEnabled", json_object_new_boolean(bucket->file_lock));
	json_object *lock = json_object_new_object();
	json_object_object_add(lock, "isClientAuthorizedToRead", json_object_new_boolean(1));
	json_object_object_add(lock, "value", lock_value);
	json_object_object_add(json, "fileLockConfiguration", lock);

	json_object *replication = json_object_new_object();
	json_object_object_add(replication, "isClientAuthorizedToRead", json_object_new_boolean(1));
	json_object_object_add(replication, "value", NULL);
	json_object_object_add(json, "replicationConfiguration", replication);
	return json;
}

static unsigned bucket_type_bit(const char *type)
{
	return strcmp(type, "allPublic") == 0 ? BUCKET_ALL_PUBLIC
	       : strcmp(type, "allPrivate") == 0 ? BUCKET_ALL_PRIVATE
	       : BUCKET_SNAPSHOT;
}

static bool bucket_name_valid(const char *name)
{
	size_t length = strlen(name);
	if (length < 6 || length > 63 || name[0] == '-' || strncmp(name, "b2-", 3) == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

bool store_create_bucket(const char *name, const char *type, const struct bucket_settings *settings,
			 json_object **json, struct b2_error *error)
{
	if (!bucket_name_valid(name)) {
		b2_error_set(error, 400, "bad_request", "Invalid bucket name: %s", name);
		return false;
	}
	if (strcmp(type, "allPrivate") != 0 && strcmp(type, "allPublic") != 0) {
		b2_error_set(error, 400, "bad_request", "Invalid bucketType: %s", type);
		return false;
	}
	pthread_mutex_lock(&store.lock);
	bool created = false;
	if (bucket_by_name(name)) {
		b2_error_set(error, 400, "duplicate_bucket_name", "Bucket name is already in use.");
	} else if (store.bucket_count >= 100) {
		b2_error_set(error, 400, "too_many_buckets", "Account already has 100 buckets");
	} else {
		struct bucket **grown = realloc(store.buckets, (store.bucket_count + 1) * sizeof *grown);
		struct bucket *bucket = grown ? calloc(1, sizeof *bucket) : NULL;
		if (grown)
			store.buckets = grown;
		if (bucket) {
			snprintf(bucket->id, sizeof bucket->id, "%012lx%012lx", 0xb2b2b2UL, ++store.serial);
			bucket->name = strdup(name);
			bucket->type = strdup(type);
			if (settings) {
				bucket->file_lock = settings->file_lock;
				snprintf(bucket->default_sse, sizeof bucket->default_sse, "%s",
					 settings->default_sse ? settings->default_sse : "");
				if (settings->lifecycle_rules)
					json_object_deep_copy(settings->lifecycle_rules,
							      &bucket->lifecycle_rules, NULL);
			}
			store.buckets[store.bucket_count++] = bucket;
			if (json)
				*json = bucket_json(bucket);
			created = true;
		} else {
			b2_error_set(error, 500, "internal_error", "out of memory");
		}
	}
	pthread_mutex_unlock(&store.lock);
	return created;
}

static void bucket_free(struct bucket *bucket)
{
	for (size_t i = 0; i < bucket->name_count; i++) {
		struct name_entry *entry = bucket->names[i];
		for (size_t k = 0; k < entry->count; k++)
			version_free(entry->versions[k]);
		free(entry->versions);
		free(entry->name);
		free(entry);
	}
	for (size_t i = 0; i < bucket->unfinished_count; i++)
		version_free(bucket->unfinished[i]);
	free(bucket->unfinished);
	free(bucket->names);
	free(bucket->name);
	free(bucket->type);
	json_object_put(bucket->lifecycle_rules);
	free(bucket);
}

bool store_update_bucket(const struct key *key, const char *bucket_id, const char *type,
			 const struct bucket_settings *settings, json_object **json,
			 struct b2_error *error)
{
	if (type && strcmp(type, "allPrivate") != 0 && strcmp(type, "allPublic") != 0) {
		b2_error_set(error, 400, "bad_request", "Invalid bucketType: %s", type);
		return false;
	}
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(key, bucket_id, error);
	char *new_type = bucket && type ? strdup(type) : NULL;
	json_object *rules = NULL;
	if (bucket && settings->lifecycle_rules)
		json_object_deep_copy(settings->lifecycle_rules, &rules, NULL);
	if (bucket) {
		if (new_type) {
			free(bucket->type);
			bucket->type = new_type;
		}
		if (settings->has_default_sse)
			snprintf(bucket->default_sse, sizeof bucket->default_sse, "%s",
				 settings->default_sse ? settings->default_sse : "");
		if (rules) {
			json_object_put(bucket->lifecycle_rules);
			bucket->lifecycle_rules = rules;
		}
		*json = bucket_json(bucket);
	}
	pthread_mutex_unlock(&store.lock);
	return bucket != NULL;
}

bool store_delete_bucket(const struct key *key, const char *bucket_id, json_object **json,
			 struct b2_error *error)
{
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(key, bucket_id, error);
	bool deleted = false;
	if (bucket && (bucket->name_count || bucket->unfinished_count)) {
		b2_error_set(error, 400, "cannot_delete_non_empty_bucket",
			     "Cannot delete non-empty bucket");
	} else if (bucket) {
		*json = bucket_json(bucket);
		for (size_t i = 0; i < store.bucket_count; i++) {
			if (store.buckets[i] != bucket)
				continue;
			memmove(store.buckets + i, store.buckets + i + 1,
				(store.bucket_count - i - 1) * sizeof *store.buckets);
			store.bucket_count--;
			break;
		}
		bucket_free(bucket);
		deleted = true;
	}
	pthread_mutex_unlock(&store.lock);
	return deleted;
}

static int compare_bucket_names(const void *a, const void *b)
{
	return strcmp((*(struct bucket *const *)a)->name, (*(struct bucket *const *)b)->name);
}

json_object *store_list_buckets(const struct key *key, const char *bucket_id,
				const char *bucket_name, unsigned type_mask)
{
	json_object *list = json_object_new_array();
	pthread_mutex_lock(&store.lock);
	struct bucket **sorted = malloc((store.bucket_count + 1) * sizeof *sorted);
	memcpy(sorted, store.buckets, store.bucket_count * sizeof *sorted);
	qsort(sorted, store.bucket_count, sizeof *sorted, compare_bucket_names);
	for (size_t i = 0; i < store.bucket_count; i++) {
		struct bucket *bucket = sorted[i];
		if ((bucket_id && strcmp(bucket_id, bucket->id) != 0) ||
		    (bucket_name && strcmp(bucket_name, bucket->name) != 0) ||
		    !(type_mask & bucket_type_bit(bucket->type)) || !key_allows_bucket(key, bucket->name))
			continue;
		json_object_array_add(list, bucket_json(bucket));
	}
	free(sorted);
	pthread_mutex_unlock(&store.lock);
	json_object *result = json_object_new_object();
	json_object_object_add(result, "buckets", list);
	return result;
}

bool store_check_bucket(const struct key *key, const char *bucket_id, struct b2_error *error)
{
	pthread_mutex_lock(&store.lock);
	bool ok = bucket_for_key(key, bucket_id, error) != NULL;
	pthread_mutex_unlock(&store.lock);
	return ok;
}

bool store_has_room_locked(uint64_t bytes)
{
	if (!server_config.storage_cap)
		return true;
	if (bytes == 0)
		return store.used_bytes < server_config.storage_cap;
	return store.used_bytes + bytes <= server_config.storage_cap;
}

bool store_has_room(uint64_t bytes)
{
	pthread_mutex_lock(&store.lock);
	bool room = store_has_room_locked(bytes);
	pthread_mutex_unlock(&store.lock);
	return room;
}

json_object *store_add_upload(const struct new_upload *upload, struct b2_error *error)
{
	json_object *result = NULL;
	uint64_t length = blob_length(upload->blob);
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(upload->key, upload->bucket_id, error);
	if (!bucket) {
		json_object_put(upload->file_info);
	} else if (!store_has_room_locked(length)) {
		b2_error_set(error, 403, "storage_cap_exceeded", "Cannot upload files, storage cap exceeded.");
		json_object_put(upload->file_info);
	} else if (protection_wants_lock(&upload->protection) && !bucket->file_lock) {
		b2_error_set(error, 400, "bad_request", "File lock is not enabled on bucket %s: "
			     "retention and legal hold cannot be set", bucket->name);
		json_object_put(upload->file_info);
	} else {
		struct version *version = version_new(bucket, upload->file_name, ACTION_UPLOAD);
		version->protection = upload->protection;
		if (!version->protection.mode[0] && bucket->default_sse[0])
			snprintf(version->protection.mode, sizeof version->protection.mode, "%s",
				 bucket->default_sse);
		version->content_type = strdup(upload->content_type);
		version->sha1 = strdup(upload->sha1);
		version->md5 = upload->md5 ? strdup(upload->md5) : NULL;
		version->length = length;
		version->file_info = upload->file_info;
		version->segments = malloc(sizeof *version->segments);
		version->segments[0] = (struct segment){upload->blob, 0, length};
		version->segment_count = 1;
		blob_ref(upload->blob);
		store.used_bytes += length;
		version_publish(version);
		result = version_json(version, upload->api_version);
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}

static bool has_prefix(const char *text, const char *prefix, size_t prefix_length)
{
	return strncmp(text, prefix, prefix_length) == 0;
}

/* The folder ("dir/") a name collapses into under prefix+delimiter, or 0 when none. */
static size_t folder_length(const char *name, size_t prefix_length, const char *delimiter)
{
	if (!delimiter || !*delimiter)
		return 0;
	const char *found = strstr(name + prefix_length, delimiter);
	return found ? (size_t)(found - name) + strlen(delimiter) : 0;
}

/* Newer first: later upload timestamp, then later serial (file ids end in the serial). */
static bool newer(const struct version *a, const struct version *b)
{
	if (a->upload_timestamp != b->upload_timestamp)
		return a->upload_timestamp > b->upload_timestamp;
	return strcmp(a->file_id, b->file_id) > 0;
}

static int compare_unfinished(const void *left, const void *right)
{
	const struct version *a = *(struct version *const *)left, *b = *(struct version *const *)right;
	int by_name = strcmp(a->file_name, b->file_name);
	return by_name ? by_name : newer(a, b) ? -1 : 1;
}

/* The bucket's names with its unfinished large files ("start") merged in, for
 * b2_list_file_versions. Entries of names with unfinished files are temporary copies. */
struct merged_names {
	struct name_entry **names, **temporary;
	size_t count, temporary_count;
};

static void merged_names_free(struct merged_names *merged)
{
	for (size_t i = 0; i < merged->temporary_count; i++) {
		free(merged->temporary[i]->versions);
		free(merged->temporary[i]);
	}
	free(merged->temporary);
	free(merged->names);
}

static void merge_unfinished(const struct bucket *bucket, struct merged_names *merged)
{
	size_t unfinished_count = bucket->unfinished_count;
	struct version **unfinished = malloc(unfinished_count * sizeof *unfinished);
	memcpy(unfinished, bucket->unfinished, unfinished_count * sizeof *unfinished);
	qsort(unfinished, unfinished_count, sizeof *unfinished, compare_unfinished);
	merged->names = malloc((bucket->name_count + unfinished_count) * sizeof *merged->names);
	merged->temporary = malloc(unfinished_count * sizeof *merged->temporary);
	size_t i = 0, u = 0;
	while (i < bucket->name_count || u < unfinished_count) {
		int order = i == bucket->name_count ? 1
			    : u == unfinished_count ? -1
			    : strcmp(bucket->names[i]->name, unfinished[u]->file_name);
		if (order < 0) {
			merged->names[merged->count++] = bucket->names[i++];
			continue;
		}
		/* A temporary entry: this name's started files and (order == 0) its versions, newest first. */
		struct name_entry *published = order == 0 ? bucket->names[i++] : NULL;
		size_t same = 0;
		while (u + same < unfinished_count &&
		       strcmp(unfinished[u + same]->file_name, unfinished[u]->file_name) == 0)
			same++;
		struct name_entry *entry = calloc(1, sizeof *entry);
		entry->name = published ? published->name : unfinished[u]->file_name;
		entry->capacity = same + (published ? published->count : 0);
		entry->versions = malloc(entry->capacity * sizeof *entry->versions);
		for (size_t a = 0, b = 0; a < same || (published && b < published->count);) {
			bool take_unfinished = a < same && (!published || b == published->count ||
							    newer(unfinished[u + a], published->versions[b]));
			entry->versions[entry->count++] = take_unfinished ? unfinished[u + a++]
									  : published->versions[b++];
		}
		u += same;
		merged->temporary[merged->temporary_count++] = entry;
		merged->names[merged->count++] = entry;
	}
	free(unfinished);
}

json_object *store_list_files(const struct key *key, const struct list_query *query,
			      struct b2_error *error)
{
	int64_t max = query->max_file_count;
	if (max < 1 || max > 10000) {
		b2_error_set(error, 400, "out_of_range", "maxFileCount out of range: %lld", (long long)max);
		return NULL;
	}
	const char *prefix = query->prefix ? query->prefix : "";
	if (!key_allows_name(key, prefix)) {
		b2_error_set(error, 401, "unauthorized", "The key is restricted to another name prefix");
		return NULL;
	}
	if (query->start_file_id && !query->start_file_name) {
		b2_error_set(error, 400, "bad_request", "startFileId requires startFileName");
		return NULL;
	}
	size_t prefix_length = strlen(prefix);
	const char *start = query->start_file_name && strcmp(query->start_file_name, prefix) > 0
				    ? query->start_file_name
				    : prefix;
	json_object *files = json_object_new_array();
	char *next_name = NULL;
	const char *next_id = NULL;
	int64_t count = 0;

	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(key, query->bucket_id, error);
	if (!bucket) {
		pthread_mutex_unlock(&store.lock);
		json_object_put(files);
		return NULL;
	}
	struct merged_names merged = {0};
	struct name_entry **names = bucket->names;
	size_t name_count = bucket->name_count;
	if (query->all_versions && bucket->unfinished_count) {
		merge_unfinished(bucket, &merged);
		names = merged.names;
		name_count = merged.count;
	}
	for (size_t i = lower_bound_in(names, name_count, start); i < name_count; i++) {
		struct name_entry *entry = names[i];
		if (!has_prefix(entry->name, prefix, prefix_length))
			break; /* sorted: every later name is past the prefix too */
		size_t folder = folder_length(entry->name, prefix_length, query->delimiter);
		if (folder) {
			/* One "folder" entry for all names below it that have something to show. */
			bool visible = false;
			size_t last = i;
			for (; last < name_count && strncmp(names[last]->name, entry->name, folder) == 0;
			     last++)
				visible |= query->all_versions ||
					   names[last]->versions[0]->action == ACTION_UPLOAD;
			if (visible) {
				if (count == max) {
					next_name = strndup(entry->name, folder);
					break;
				}
				char *folder_name = strndup(entry->name, folder);
				json_object_array_add(files, folder_json(bucket, folder_name,
									 query->api_version));
				free(folder_name);
				count++;
			}
			i = last - 1;
			continue;
		}
		if (!query->all_versions) {
			struct version *newest = entry->versions[0];
			if (newest->action != ACTION_UPLOAD)
				continue; /* hidden */
			if (count == max) {
				next_name = strdup(entry->name);
				break;
			}
			json_object_array_add(files, version_json(newest, query->api_version));
			count++;
			continue;
		}
		size_t first = 0;
		if (query->start_file_id && strcmp(entry->name, query->start_file_name) == 0)
			while (first < entry->count &&
			       strcmp(entry->versions[first]->file_id, query->start_file_id) != 0)
				first++;
		if (first == entry->count)
			first = 0; /* an unknown startFileId starts at the name */
		for (size_t k = first; k < entry->count; k++) {
			if (count == max) {
				next_name = strdup(entry->name);
				next_id = entry->versions[k]->file_id;
				break;
			}
			json_object_array_add(files, version_json(entry->versions[k], query->api_version));
			count++;
		}
		if (next_name)
			break;
	}
	json_object *result = json_object_new_object();
	json_object_object_add(result, "files", files);
	json_object_object_add(result, "nextFileName", string_or_null(next_name));
	if (query->all_versions)
		json_object_object_add(result, "nextFileId", string_or_null(next_id));
	merged_names_free(&merged);
	pthread_mutex_unlock(&store.lock);
	free(next_name);
	return result;
}

/* The version behind a file id that the key may see, or a B2 error. */
static struct version *version_for_key(const struct key *key, const char *file_id,
				       struct b2_error *error)
{
	struct version *version = version_by_id(file_id);
	if (!version) {
		b2_error_set(error, 404, "not_found", "File not present: %s", file_id ? file_id : "");
		return NULL;
	}
	if (!key_allows_bucket(key, version->bucket->name) || !key_allows_name(key, version->file_name)) {
		b2_error_set(error, 401, "unauthorized", "The key is not allowed to access this file");
		return NULL;
	}
	return version;
}

json_object *store_get_file_info(const struct key *key, const char *file_id, int api_version,
				 struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = version_for_key(key, file_id, error);
	if (version)
		result = version_json(version, api_version);
	pthread_mutex_unlock(&store.lock);
	return result;
}

json_object *store_hide_file(const struct key *key, const char *bucket_id, const char *file_name,
			     int api_version, struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(key, bucket_id, error);
	struct name_entry *entry = bucket ? find_name(bucket, file_name) : NULL;
	if (!bucket) {
		/* error set */
	} else if (!key_allows_name(key, file_name)) {
		b2_error_set(error, 401, "unauthorized", "The key is restricted to another name prefix");
	} else if (!entry) {
		b2_error_set(error, 400, "no_such_file", "File not present: %s", file_name);
	} else if (entry->versions[0]->action == ACTION_HIDE) {
		b2_error_set(error, 400, "already_hidden", "File already hidden: %s", file_name);
	} else {
		struct version *version = version_new(bucket, file_name, ACTION_HIDE);
		version->content_type = strdup("application/x-bz-hide-marker");
		version_publish(version);
		result = version_json(version, api_version);
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}

json_object *store_delete_file_version(const struct key *key, const char *file_name,
				       const char *file_id, bool bypass, struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = version_for_key(key, file_id, error);
	const struct protection *lock = version ? &version->protection : NULL;
	bool retained = lock && lock->retention[0] && lock->retain_until > now_ms();
	if (!version || strcmp(version->file_name, file_name) != 0) {
		if (version || error->status == 404)
			b2_error_set(error, 400, "file_not_present", "File not present: %s %s",
				     file_name, file_id);
	} else if (bypass && !key_has(key, CAP_BYPASS_GOVERNANCE)) {
		b2_error_set(error, 401, "unauthorized", "bypassGovernance needs the "
			     "bypassGovernance capability");
	} else if (lock->legal_hold == 1) {
		b2_error_set(error, 403, "access_denied", "The file version is under legal hold");
	} else if (retained && (strcmp(lock->retention, "compliance") == 0 || !bypass)) {
		b2_error_set(error, 403, "access_denied", "The file version is under %s retention "
			     "until %lld", lock->retention, (long long)lock->retain_until);
	} else {
		result = json_object_new_object();
		json_object_object_add(result, "fileId", json_object_new_string(version->file_id));
		json_object_object_add(result, "fileName", json_object_new_string(version->file_name));
		if (version->action == ACTION_START) {
			struct bucket *bucket = version->bucket;
			for (size_t i = 0; i < bucket->unfinished_count; i++)
				if (bucket->unfinished[i] == version) {
					memmove(bucket->unfinished + i, bucket->unfinished + i + 1,
						(bucket->unfinished_count - i - 1) * sizeof *bucket->unfinished);
					bucket->unfinished_count--;
					break;
				}
			for (size_t i = 0; i < version->large->capacity; i++)
				store.used_bytes -= version->large->parts[i].length;
		} else {
			version_unpublish(version);
			store.used_bytes -= version->action == ACTION_UPLOAD ? version->length : 0;
		}
		version_free(version);
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}

void content_free(struct content *content)
{
	if (!content)
		return;
	for (size_t i = 0; i < content->segment_count; i++)
		blob_unref(content->segments[i].blob);
	free(content->segments);
	json_object_put(content->file_info);
	free(content->file_id);
	free(content->file_name);
	free(content->content_type);
	free(content->sha1);
	free(content);
}

static struct content *content_of(const struct version *version)
{
	struct content *content = calloc(1, sizeof *content);
	content->file_id = strdup(version->file_id);
	content->file_name = strdup(version->file_name);
	content->content_type = strdup(version->content_type ? version->content_type : "");
	content->sha1 = strdup(version->sha1 ? version->sha1 : "none");
	content->upload_timestamp = version->upload_timestamp;
	content->length = version->length;
	content->protection = version->protection;
	/* A deep copy: json-c reference counts are not thread-safe across readers. */
	content->file_info = NULL;
	if (version->file_info)
		json_object_deep_copy(version->file_info, &content->file_info, NULL);
	content->segments = malloc((version->segment_count + 1) * sizeof *content->segments);
	content->segment_count = version->segment_count;
	for (size_t i = 0; i < version->segment_count; i++) {
		content->segments[i] = version->segments[i];
		blob_ref(version->segments[i].blob);
	}
	return content;
}

struct content *store_open_by_name(const struct key *key, const char *bucket_name,
				   const char *file_name, struct b2_error *error)
{
	struct content *content = NULL;
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_by_name(bucket_name);
	struct name_entry *entry = bucket ? find_name(bucket, file_name) : NULL;
	if (!bucket) {
		b2_error_set(error, 404, "not_found", "Bucket does not exist: %s", bucket_name);
	} else if (!key_allows_bucket(key, bucket->name) || !key_allows_name(key, file_name)) {
		b2_error_set(error, 401, "unauthorized", "The key is not allowed to read this file");
	} else if (!entry || entry->versions[0]->action != ACTION_UPLOAD) {
		b2_error_set(error, 404, "not_found", "File with such name does not exist.");
	} else {
		content = content_of(entry->versions[0]);
	}
	pthread_mutex_unlock(&store.lock);
	return content;
}

struct content *store_open_by_id(const struct key *key, const char *file_id, struct b2_error *error)
{
	struct content *content = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = version_for_key(key, file_id, error);
	if (version && version->action != ACTION_UPLOAD)
		b2_error_set(error, 404, "not_found", "File with such id does not exist.");
	else if (version)
		content = content_of(version);
	pthread_mutex_unlock(&store.lock);
	return content;
}

struct segment *slice_segments(const struct version *version, uint64_t first,
				      uint64_t length, size_t *count)
{
	struct segment *slices = malloc((version->segment_count + 1) * sizeof *slices);
	uint64_t position = 0;
	*count = 0;
	for (size_t i = 0; i < version->segment_count && length > 0; i++) {
		struct segment segment = version->segments[i];
		if (position + segment.length <= first) {
			position += segment.length;
			continue;
		}
		uint64_t skip = first > position ? first - position : 0;
		uint64_t take = segment.length - skip < length ? segment.length - skip : length;
		slices[(*count)++] = (struct segment){segment.blob, segment.offset + skip, take};
		blob_ref(segment.blob);
		length -= take;
		first += take;
		position += segment.length;
	}
	return slices;
}

void segments_free(struct segment *segments, size_t count)
{
	for (size_t i = 0; i < count; i++)
		blob_unref(segments[i].blob);
	free(segments);
}

/* Hex SHA-1 of the bytes of some segments. */
bool sha1_of_segments(const struct segment *segments, size_t count, char hex[41])
{
	unsigned char digest[20], buffer[65536];
	EVP_MD_CTX *context = EVP_MD_CTX_new();
	bool ok = EVP_DigestInit_ex(context, EVP_sha1(), NULL) == 1;
	for (size_t i = 0; ok && i < count; i++) {
		int fd = -1;
		for (uint64_t done = 0; ok && done < segments[i].length;) {
			uint64_t want = segments[i].length - done;
			long got = blob_read(segments[i].blob, segments[i].offset + done, buffer,
					     want < sizeof buffer ? (size_t)want : sizeof buffer, &fd);
			ok = got > 0 && EVP_DigestUpdate(context, buffer, (size_t)got) == 1;
			done += got > 0 ? (uint64_t)got : 0;
		}
		blob_reader_close(&fd);
	}
	ok = ok && EVP_DigestFinal_ex(context, digest, NULL) == 1;
	EVP_MD_CTX_free(context);
	for (int i = 0; ok && i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return ok;
}

json_object *store_copy_file(const struct key *key, const struct copy_request *copy,
			     struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *source = version_for_key(key, copy->source_file_id, error);
	struct bucket *destination = NULL;
	if (source && source->action != ACTION_UPLOAD) {
		b2_error_set(error, 400, "bad_request", "Source file is not an upload: %s",
			     copy->source_file_id);
		source = NULL;
	}
	if (source)
		destination = copy->destination_bucket_id
				      ? bucket_for_key(key, copy->destination_bucket_id, error)
				      : source->bucket;
	if (source && !protection_check_key(&source->protection, copy->source_key_md5, error))
		source = NULL, destination = NULL; /* error set: an SSE-C source needs its key */
	uint64_t first = copy->has_range ? copy->range_first : 0;
	uint64_t last = copy->has_range ? copy->range_last : (source ? source->length : 0) - 1;
	if (!destination) {
		/* error set */
	} else if (!key_allows_name(key, copy->file_name)) {
		b2_error_set(error, 401, "unauthorized", "The key is restricted to another name prefix");
	} else if (protection_wants_lock(&copy->destination) && !destination->file_lock) {
		b2_error_set(error, 400, "bad_request", "File lock is not enabled on bucket %s: "
			     "retention and legal hold cannot be set", destination->name);
	} else if (copy->has_range && (first > last || last >= source->length)) {
		b2_error_set(error, 416, "range_not_satisfiable", "The range is outside the source file");
	} else {
		uint64_t length = source->length ? last - first + 1 : 0;
		if (!store_has_room_locked(length)) {
			b2_error_set(error, 403, "storage_cap_exceeded", "Storage cap exceeded.");
		} else {
			struct version *version = version_new(destination, copy->file_name, ACTION_UPLOAD);
			version->protection = copy->destination;
			if (!version->protection.mode[0] && destination->default_sse[0])
				snprintf(version->protection.mode, sizeof version->protection.mode,
					 "%s", destination->default_sse);
			version->length = length;
			version->segments = slice_segments(source, first, length, &version->segment_count);
			char hex[41];
			if (!copy->has_range || length == source->length) {
				version->sha1 = strdup(source->sha1);
				version->md5 = source->md5 ? strdup(source->md5) : NULL;
			} else {
				version->sha1 = strdup(sha1_of_segments(version->segments,
									version->segment_count, hex)
								       ? hex
								       : "none");
			}
			const struct version *metadata = copy->replace_metadata ? NULL : source;
			version->content_type = strdup(metadata ? source->content_type : copy->content_type);
			if (metadata && source->file_info)
				json_object_deep_copy(source->file_info, &version->file_info, NULL);
			else if (!metadata && copy->file_info)
				json_object_deep_copy(copy->file_info, &version->file_info, NULL);
			store.used_bytes += length;
			version_publish(version);
			result = version_json(version, copy->api_version);
			/* B2 answers a copy with action "copy" (listings say "upload" later). */
			json_object_object_add(result, "action", json_object_new_string("copy"));
		}
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}

void store_free_all(void)
{
	pthread_mutex_lock(&store.lock);
	for (size_t i = 0; i < store.bucket_count; i++)
		bucket_free(store.buckets[i]);
	free(store.buckets);
	store.buckets = NULL;
	store.bucket_count = 0;
	if (store.by_file_id)
		lh_table_free(store.by_file_id);
	store.by_file_id = NULL;
	pthread_mutex_unlock(&store.lock);
}

/* The version an Object Lock change names: (file_name, file_id) of an upload in a lock bucket. */
static struct version *lockable_version(const struct key *key, const char *file_name,
					const char *file_id, struct b2_error *error)
{
	struct version *version = version_for_key(key, file_id, error);
	if (!version || strcmp(version->file_name, file_name) != 0) {
		if (version || error->status == 404)
			b2_error_set(error, 400, "file_not_present", "File not present: %s %s",
				     file_name, file_id);
		return NULL;
	}
	if (version->action != ACTION_UPLOAD) {
		b2_error_set(error, 400, "bad_request", "Not an uploaded file version: %s", file_id);
		return NULL;
	}
	if (!version->bucket->file_lock) {
		b2_error_set(error, 400, "bad_request", "File lock is not enabled on bucket %s",
			     version->bucket->name);
		return NULL;
	}
	return version;
}

json_object *store_update_file_retention(const struct key *key, const char *file_name,
					 const char *file_id, const char *mode, int64_t until,
					 bool bypass, struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = lockable_version(key, file_name, file_id, error);
	struct protection *lock = version ? &version->protection : NULL;
	bool active = lock && lock->retention[0] && lock->retain_until > now_ms();
	bool removing = !*mode;
	if (!version) {
		/* error set */
	} else if (bypass && !key_has(key, CAP_BYPASS_GOVERNANCE)) {
		b2_error_set(error, 401, "unauthorized", "bypassGovernance needs the "
			     "bypassGovernance capability");
	} else if (!removing && until <= now_ms()) {
		b2_error_set(error, 400, "bad_request", "retainUntilTimestamp must be in the future");
	} else if (active && strcmp(lock->retention, "compliance") == 0 &&
		   (removing || strcmp(mode, "compliance") != 0 || until < lock->retain_until)) {
		b2_error_set(error, 403, "access_denied", "The file version is under compliance "
			     "retention until %lld: it can only be extended",
			     (long long)lock->retain_until);
	} else if (active && !bypass && (removing || until < lock->retain_until)) {
		b2_error_set(error, 403, "access_denied", "The file version is under governance "
			     "retention until %lld: shortening or removing it needs bypassGovernance",
			     (long long)lock->retain_until);
	} else {
		snprintf(lock->retention, sizeof lock->retention, "%s", mode);
		lock->retain_until = removing ? 0 : until;
		result = json_object_new_object();
		json_object_object_add(result, "fileId", json_object_new_string(version->file_id));
		json_object_object_add(result, "fileName", json_object_new_string(version->file_name));
		json_object *retention = json_object_new_object();
		json_object_object_add(retention, "mode", removing ? NULL : json_object_new_string(mode));
		json_object_object_add(retention, "retainUntilTimestamp",
				       removing ? NULL : json_object_new_int64(until));
		json_object_object_add(result, "fileRetention", retention);
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}

json_object *store_update_file_legal_hold(const struct key *key, const char *file_name,
					  const char *file_id, bool on, struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = lockable_version(key, file_name, file_id, error);
	if (version) {
		version->protection.legal_hold = on;
		result = json_object_new_object();
		json_object_object_add(result, "fileId", json_object_new_string(version->file_id));
		json_object_object_add(result, "fileName", json_object_new_string(version->file_name));
		json_object_object_add(result, "legalHold", json_object_new_string(on ? "on" : "off"));
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}
