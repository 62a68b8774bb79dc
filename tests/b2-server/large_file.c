/* large_file.c — B2's large files: start, part upload targets, parts, finish with the
 * partSha1Array checks, cancel and the two listings. Parts are segments of blobs (copied parts
 * share the source's bytes) and become the finished file's segments without being copied. */
#include "large_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "json_reply.h"
#include "names.h"
#include "store_internal.h"

enum { MAX_PARTS = 10000, MINIMUM_PART_SIZE = 5000000 };

void large_upload_free(struct large_upload *large)
{
	for (size_t i = 0; i < large->capacity; i++)
		segments_free(large->parts[i].segments, large->parts[i].segment_count);
	free(large->parts);
	free(large);
}

/* An unfinished large file the key may write, or a B2 error. */
static struct version *unfinished_for_key(const struct key *key, const char *file_id,
					  struct b2_error *error)
{
	struct version *version = version_by_id(file_id);
	if (!version || version->action != ACTION_START) {
		b2_error_set(error, 400, "bad_request", "No active upload for: %s", file_id ? file_id : "");
		return NULL;
	}
	if (!key_allows_bucket(key, version->bucket->name) || !key_allows_name(key, version->file_name)) {
		b2_error_set(error, 401, "unauthorized", "The key is not allowed to write this file");
		return NULL;
	}
	return version;
}

bool store_check_large_file(const struct key *key, const char *file_id, struct b2_error *error)
{
	pthread_mutex_lock(&store.lock);
	bool ok = unfinished_for_key(key, file_id, error) != NULL;
	pthread_mutex_unlock(&store.lock);
	return ok;
}

static json_object *part_json(const char *file_id, int number, const struct part *part)
{
	json_object *json = json_object_new_object();
	json_object_object_add(json, "fileId", json_object_new_string(file_id));
	json_object_object_add(json, "partNumber", json_object_new_int(number));
	json_object_object_add(json, "contentLength", json_object_new_int64((int64_t)part->length));
	json_object_object_add(json, "contentSha1", json_object_new_string(part->sha1));
	json_object_object_add(json, "contentMd5",
			       part->md5[0] ? json_object_new_string(part->md5) : NULL);
	json_object_object_add(json, "uploadTimestamp", json_object_new_int64(part->upload_timestamp));
	return json;
}

/* Stores a part under the store lock, taking the segments (and their references); the caller
 * checked the part number. */
static json_object *put_part_locked(struct version *version, int number, struct segment *segments,
				    size_t segment_count, uint64_t length, const char *sha1,
				    const char *md5, struct b2_error *error)
{
	struct large_upload *large = version->large;
	if ((size_t)number > large->capacity) {
		size_t capacity = large->capacity ? large->capacity : 16;
		while (capacity < (size_t)number)
			capacity *= 2;
		struct part *grown = realloc(large->parts, capacity * sizeof *grown);
		if (!grown) {
			segments_free(segments, segment_count);
			b2_error_set(error, 500, "internal_error", "out of memory");
			return NULL;
		}
		memset(grown + large->capacity, 0, (capacity - large->capacity) * sizeof *grown);
		large->parts = grown;
		large->capacity = capacity;
	}
	struct part *part = &large->parts[number - 1];
	/* Uploading a part number again replaces it. */
	store.used_bytes -= part->length;
	segments_free(part->segments, part->segment_count);
	part->present = true;
	part->segments = segments;
	part->segment_count = segment_count;
	part->length = length;
	snprintf(part->sha1, sizeof part->sha1, "%s", sha1);
	snprintf(part->md5, sizeof part->md5, "%s", md5 ? md5 : "");
	part->upload_timestamp = now_ms();
	store.used_bytes += length;
	return part_json(version->file_id, number, part);
}

json_object *store_put_part(const char *file_id, int part_number, struct blob *blob,
			    const char *sha1, const char *md5, const char *key_md5,
			    struct b2_error *error)
{
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = version_by_id(file_id);
	if (!version || version->action != ACTION_START)
		b2_error_set(error, 400, "bad_request", "No active upload for: %s", file_id);
	else if (!protection_check_key(&version->protection, key_md5, error))
		; /* error set: an SSE-C file's parts come with its key */
	else if (!store_has_room_locked(blob_length(blob)))
		b2_error_set(error, 403, "storage_cap_exceeded", "Cannot upload files, storage cap exceeded.");
	else {
		struct segment *segment = malloc(sizeof *segment);
		*segment = (struct segment){blob, 0, blob_length(blob)};
		blob_ref(blob);
		result = put_part_locked(version, part_number, segment, 1, blob_length(blob), sha1, md5,
					 error);
	}
	pthread_mutex_unlock(&store.lock);
	return result;
}

void handle_start_large_file(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *bucket_id, *file_name, *content_type;
	if (!key || !body_string_required(req, body, "bucketId", &bucket_id) ||
	    !body_string_required(req, body, "fileName", &file_name) ||
	    !body_string_required(req, body, "contentType", &content_type))
		return;
	json_object *file_info = NULL;
	if (json_object_object_get_ex(body, "fileInfo", &file_info) && file_info &&
	    !json_object_is_type(file_info, json_type_object)) {
		reply_error(req, 400, "bad_request", "fileInfo must be an object");
		return;
	}
	const char *problem = file_name_problem(file_name);
	if (problem) {
		reply_error(req, 400, "bad_request", "%s", problem);
		return;
	}
	if (!key_allows_name(key, file_name)) {
		reply_error(req, 401, "unauthorized", "The key is restricted to another name prefix");
		return;
	}
	struct b2_error error;
	struct protection protection;
	protection_init(&protection);
	json_object *sse = NULL, *retention = NULL, *hold = NULL;
	json_object_object_get_ex(body, "serverSideEncryption", &sse);
	json_object_object_get_ex(body, "fileRetention", &retention);
	json_object_object_get_ex(body, "legalHold", &hold);
	if (!protection_sse_from_json(sse, &protection, &error) ||
	    !protection_lock_from_json(retention, hold, &protection, &error)) {
		reply_b2_error(req, &error);
		return;
	}
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(key, bucket_id, &error);
	if (bucket && protection_wants_lock(&protection) && !bucket->file_lock) {
		b2_error_set(&error, 400, "bad_request", "File lock is not enabled on bucket %s: "
			     "retention and legal hold cannot be set", bucket->name);
		bucket = NULL;
	}
	if (bucket && !store_has_room_locked(0)) {
		b2_error_set(&error, 403, "storage_cap_exceeded", "Cannot upload files, storage cap exceeded.");
	} else if (bucket && grow_array(&bucket->unfinished, &bucket->unfinished_capacity,
					bucket->unfinished_count, sizeof *bucket->unfinished)) {
		struct version *version = version_new(bucket, file_name, ACTION_START);
		version->content_type = strdup(strcmp(content_type, "b2/x-auto") == 0
						       ? auto_content_type(file_name)
						       : content_type);
		version->sha1 = strdup("none");
		version->protection = protection;
		if (!protection.mode[0] && bucket->default_sse[0])
			snprintf(version->protection.mode, sizeof version->protection.mode, "%s",
				 bucket->default_sse);
		if (file_info)
			json_object_deep_copy(file_info, &version->file_info, NULL);
		version->large = calloc(1, sizeof *version->large);
		bucket->unfinished[bucket->unfinished_count++] = version;
		result = version_json(version, req->api_version);
	}
	pthread_mutex_unlock(&store.lock);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_get_upload_part_url(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *file_id;
	struct b2_error error;
	if (!key || !body_string_required(req, body, "fileId", &file_id))
		return;
	if (!store_check_large_file(key, file_id, &error)) {
		reply_b2_error(req, &error);
		return;
	}
	char token[96], url_id[24], url[512];
	auth_issue_upload_token(key, file_id, token, sizeof token, url_id, sizeof url_id);
	snprintf(url, sizeof url, "%s/b2api/v%d/b2_upload_part/%s/%s", server_config.base_url,
		 req->api_version, file_id, url_id);
	json_object *result = json_object_new_object();
	json_object_object_add(result, "fileId", json_object_new_string(file_id));
	json_object_object_add(result, "uploadUrl", json_object_new_string(url));
	json_object_object_add(result, "authorizationToken", json_object_new_string(token));
	reply_json(req, 200, result);
}

static void remove_unfinished(struct version *version)
{
	struct bucket *bucket = version->bucket;
	for (size_t i = 0; i < bucket->unfinished_count; i++) {
		if (bucket->unfinished[i] != version)
			continue;
		memmove(bucket->unfinished + i, bucket->unfinished + i + 1,
			(bucket->unfinished_count - i - 1) * sizeof *bucket->unfinished);
		bucket->unfinished_count--;
		return;
	}
}

/* Checks partSha1Array against the uploaded parts; on success the parts become the file. */
static bool finish_locked(struct version *version, json_object *sha1_array, struct b2_error *error)
{
	struct large_upload *large = version->large;
	size_t count = json_object_array_length(sha1_array);
	if (count == 0 || count > MAX_PARTS) {
		b2_error_set(error, 400, "bad_request", "partSha1Array must list 1 to 10000 parts");
		return false;
	}
	for (size_t i = count; i < large->capacity; i++)
		if (large->parts[i].present) {
			b2_error_set(error, 400, "bad_request", "Part %zu was uploaded but is not in partSha1Array", i + 1);
			return false;
		}
	uint64_t total = 0;
	for (size_t i = 0; i < count; i++) {
		json_object *item = json_object_array_get_idx(sha1_array, i);
		const struct part *part = i < large->capacity ? &large->parts[i] : NULL;
		if (!part || !part->present) {
			b2_error_set(error, 400, "bad_request", "Part number %zu has not been uploaded", i + 1);
			return false;
		}
		if (!json_object_is_type(item, json_type_string) ||
		    strcasecmp(json_object_get_string(item), part->sha1) != 0) {
			b2_error_set(error, 400, "bad_request", "Part number %zu has SHA-1 %s, not the one given", i + 1, part->sha1);
			return false;
		}
		if (i + 1 < count && part->length < MINIMUM_PART_SIZE) {
			b2_error_set(error, 400, "bad_request",
				     "Part number %zu is smaller than the minimum part size", i + 1);
			return false;
		}
		total += part->length;
	}
	size_t segment_count = 0;
	for (size_t i = 0; i < count; i++)
		segment_count += large->parts[i].segment_count;
	version->segments = malloc((segment_count + 1) * sizeof *version->segments);
	version->segment_count = 0;
	for (size_t i = 0; i < count; i++) { /* the parts' segments (and references) move over */
		struct part *part = &large->parts[i];
		memcpy(version->segments + version->segment_count, part->segments,
		       part->segment_count * sizeof *part->segments);
		version->segment_count += part->segment_count;
		free(part->segments);
		part->segments = NULL;
		part->segment_count = 0;
	}
	version->length = total;
	large_upload_free(version->large);
	version->large = NULL;
	version->action = ACTION_UPLOAD;
	remove_unfinished(version);
	version_publish(version);
	return true;
}

void handle_finish_large_file(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *file_id;
	json_object *sha1_array = NULL;
	if (!key || !body_string_required(req, body, "fileId", &file_id))
		return;
	if (!json_object_object_get_ex(body, "partSha1Array", &sha1_array) ||
	    !json_object_is_type(sha1_array, json_type_array)) {
		reply_error(req, 400, "bad_request", "partSha1Array must be an array");
		return;
	}
	struct b2_error error;
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = unfinished_for_key(key, file_id, &error);
	if (version && finish_locked(version, sha1_array, &error))
		result = version_json(version, req->api_version);
	pthread_mutex_unlock(&store.lock);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_cancel_large_file(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *file_id;
	if (!key || !body_string_required(req, body, "fileId", &file_id))
		return;
	struct b2_error error;
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = unfinished_for_key(key, file_id, &error);
	if (version) {
		result = json_object_new_object();
		json_object_object_add(result, "fileId", json_object_new_string(version->file_id));
		json_object_object_add(result, "accountId", json_object_new_string(server_config.account_id));
		json_object_object_add(result, "bucketId", json_object_new_string(version->bucket->id));
		json_object_object_add(result, "fileName", json_object_new_string(version->file_name));
		for (size_t i = 0; i < version->large->capacity; i++)
			store.used_bytes -= version->large->parts[i].length;
		remove_unfinished(version);
		version_free(version);
	}
	pthread_mutex_unlock(&store.lock);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_list_unfinished_large_files(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_LIST_FILES);
	const char *bucket_id, *prefix, *start_file_id;
	int64_t max;
	if (!key || !body_string_required(req, body, "bucketId", &bucket_id) ||
	    !body_string(req, body, "namePrefix", &prefix) ||
	    !body_string(req, body, "startFileId", &start_file_id) ||
	    !body_integer(req, body, "maxFileCount", 100, &max))
		return;
	if (max < 1 || max > 100) {
		reply_error(req, 400, "out_of_range", "maxFileCount must be 1 to 100");
		return;
	}
	if (!key_allows_name(key, prefix ? prefix : "")) {
		reply_error(req, 401, "unauthorized", "The key is restricted to another name prefix");
		return;
	}
	struct b2_error error;
	json_object *files = json_object_new_array();
	const char *next = NULL;
	pthread_mutex_lock(&store.lock);
	struct bucket *bucket = bucket_for_key(key, bucket_id, &error);
	bool started = !start_file_id;
	int64_t count = 0;
	for (size_t i = 0; bucket && i < bucket->unfinished_count; i++) {
		struct version *version = bucket->unfinished[i];
		started |= start_file_id && strcmp(version->file_id, start_file_id) == 0;
		if (!started || (prefix && strncmp(version->file_name, prefix, strlen(prefix)) != 0))
			continue;
		if (count == max) {
			next = version->file_id;
			break;
		}
		json_object_array_add(files, version_json(version, req->api_version));
		count++;
	}
	json_object *result = json_object_new_object();
	json_object_object_add(result, "files", files);
	json_object_object_add(result, "nextFileId", next ? json_object_new_string(next) : NULL);
	pthread_mutex_unlock(&store.lock);
	if (bucket)
		reply_json(req, 200, result);
	else {
		json_object_put(result);
		reply_b2_error(req, &error);
	}
}

void handle_list_parts(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *file_id;
	int64_t start, max;
	if (!key || !body_string_required(req, body, "fileId", &file_id) ||
	    !body_integer(req, body, "startPartNumber", 1, &start) ||
	    !body_integer(req, body, "maxPartCount", 100, &max))
		return;
	if (max < 1 || max > 1000 || start < 1 || start > MAX_PARTS) {
		reply_error(req, 400, "out_of_range", "startPartNumber or maxPartCount out of range");
		return;
	}
	struct b2_error error;
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *version = unfinished_for_key(key, file_id, &error);
	if (version) {
		json_object *parts = json_object_new_array();
		int64_t count = 0, next = 0;
		for (size_t i = (size_t)start - 1; i < version->large->capacity; i++) {
			if (!version->large->parts[i].present)
				continue;
			if (count == max) {
				next = (int64_t)i + 1;
				break;
			}
			json_object_array_add(parts, part_json(file_id, (int)i + 1, &version->large->parts[i]));
			count++;
		}
		result = json_object_new_object();
		json_object_object_add(result, "parts", parts);
		json_object_object_add(result, "nextPartNumber", next ? json_object_new_int64(next) : NULL);
	}
	pthread_mutex_unlock(&store.lock);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_copy_part(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *source_id, *large_file_id, *range;
	int64_t number;
	if (!key || !body_string_required(req, body, "sourceFileId", &source_id) ||
	    !body_string_required(req, body, "largeFileId", &large_file_id) ||
	    !body_integer(req, body, "partNumber", 0, &number) || !body_string(req, body, "range", &range))
		return;
	if (number < 1 || number > MAX_PARTS) {
		reply_error(req, 400, "bad_request", "partNumber must be 1 to 10000");
		return;
	}
	struct b2_error error;
	struct protection source_key, destination_key;
	protection_init(&source_key);
	protection_init(&destination_key);
	json_object *source_sse = NULL, *destination_sse = NULL;
	json_object_object_get_ex(body, "sourceServerSideEncryption", &source_sse);
	json_object_object_get_ex(body, "destinationServerSideEncryption", &destination_sse);
	if (!protection_sse_from_json(source_sse, &source_key, &error) ||
	    !protection_sse_from_json(destination_sse, &destination_key, &error)) {
		reply_b2_error(req, &error);
		return;
	}
	json_object *result = NULL;
	pthread_mutex_lock(&store.lock);
	struct version *source = version_by_id(source_id);
	struct version *target = unfinished_for_key(key, large_file_id, &error);
	if (target && source && source->action == ACTION_UPLOAD &&
	    (!protection_check_key(&source->protection, source_key.key_md5, &error) ||
	     !protection_check_key(&target->protection, destination_key.key_md5, &error))) {
		target = NULL; /* error set: the source's key, and the large file's own */
	}
	if (target && (!source || source->action != ACTION_UPLOAD)) {
		b2_error_set(&error, 400, "bad_request", "Source file not present: %s", source_id);
	} else if (target && (!key_allows_bucket(key, source->bucket->name) ||
			      !key_allows_name(key, source->file_name))) {
		b2_error_set(&error, 401, "unauthorized", "The key is not allowed to read the source");
	} else if (target) {
		uint64_t first = 0, last = source->length ? source->length - 1 : 0;
		bool satisfiable = true;
		if (range && !parse_byte_range(range, source->length, &first, &last, &satisfiable)) {
			b2_error_set(&error, 400, "bad_request", "Malformed range: %s", range);
		} else if (!satisfiable || source->length == 0) {
			b2_error_set(&error, 416, "range_not_satisfiable", "The range is outside the source file");
		} else if (!store_has_room_locked(last - first + 1)) {
			b2_error_set(&error, 403, "storage_cap_exceeded", "Storage cap exceeded.");
		} else {
			/* The part shares the source's bytes. */
			uint64_t length = last - first + 1;
			size_t count = 0;
			struct segment *segments = slice_segments(source, first, length, &count);
			char hex[41];
			if (sha1_of_segments(segments, count, hex)) {
				result = put_part_locked(target, (int)number, segments, count, length, hex,
							 NULL, &error);
			} else {
				segments_free(segments, count);
				b2_error_set(&error, 500, "internal_error", "could not read the source");
			}
		}
	}
	pthread_mutex_unlock(&store.lock);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}
