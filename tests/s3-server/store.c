/* store.c — buckets, objects and multipart uploads of the S3 test server, in memory under one
 * lock. Objects stay sorted by key so that listings are a walk from a binary search. */
#include "store.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "server.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket **buckets;
static size_t bucket_count, bucket_capacity;

void store_lock(void)
{
	pthread_mutex_lock(&lock);
}

void store_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

struct blob *blob_take(void *data, size_t size)
{
	struct blob *blob = calloc(1, sizeof *blob);
	if (!blob)
		return NULL;
	blob->data = data;
	blob->size = size;
	blob->references = 1;
	return blob;
}

struct blob *blob_new(const void *data, size_t size)
{
	void *copy = malloc(size ? size : 1);
	if (!copy)
		return NULL;
	if (size)
		memcpy(copy, data, size);
	struct blob *blob = blob_take(copy, size);
	if (!blob)
		free(copy);
	return blob;
}

void blob_release(struct blob *blob)
{
	if (blob && --blob->references == 0) {
		free(blob->data);
		free(blob);
	}
}

struct meta *meta_copy(const struct meta *meta, size_t count)
{
	struct meta *copy = calloc(count ? count : 1, sizeof *copy);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		copy[i].name = strdup(meta[i].name);
		copy[i].value = strdup(meta[i].value);
		if (!copy[i].name || !copy[i].value) {
			meta_free(copy, i + 1);
			return NULL;
		}
	}
	return copy;
}

void meta_free(struct meta *meta, size_t count)
{
	if (!meta)
		return;
	for (size_t i = 0; i < count; i++) {
		free(meta[i].name);
		free(meta[i].value);
	}
	free(meta);
}

static bool grow(void *array, size_t *capacity, size_t count, size_t size)
{
	if (count < *capacity)
		return true;
	size_t wanted = *capacity ? *capacity * 2 : 16;
	void *grown = realloc(*(void **)array, wanted * size);
	if (!grown)
		return false;
	*(void **)array = grown;
	*capacity = wanted;
	return true;
}

static size_t bucket_index(const char *name, bool *found)
{
	size_t low = 0, high = bucket_count;
	*found = false;
	while (low < high) {
		size_t middle = (low + high) / 2;
		int order = strcmp(buckets[middle]->name, name);
		if (order == 0) {
			*found = true;
			return middle;
		}
		if (order < 0)
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

struct bucket *store_bucket(const char *name)
{
	bool found;
	size_t index = bucket_index(name, &found);
	return found ? buckets[index] : NULL;
}

size_t store_bucket_count(void)
{
	return bucket_count;
}

struct bucket *store_bucket_at(size_t index)
{
	return index < bucket_count ? buckets[index] : NULL;
}

bool store_create_bucket(const char *name, const char *region)
{
	bool found;
	size_t index = bucket_index(name, &found);
	if (found || !grow(&buckets, &bucket_capacity, bucket_count, sizeof *buckets))
		return false;
	struct bucket *bucket = calloc(1, sizeof *bucket);
	if (!bucket || !(bucket->name = strdup(name))) {
		free(bucket);
		return false;
	}
	snprintf(bucket->region, sizeof bucket->region, "%s", region);
	bucket->created = server_now();
	memmove(buckets + index + 1, buckets + index, (bucket_count - index) * sizeof *buckets);
	buckets[index] = bucket;
	bucket_count++;
	return true;
}

static void free_object(struct object *object)
{
	blob_release(object->blob);
	meta_free(object->meta, object->meta_count);
	free(object->key);
	free(object);
}

static void free_upload(struct upload *upload)
{
	for (size_t i = 0; i < upload->part_count; i++)
		blob_release(upload->parts[i].blob);
	free(upload->parts);
	meta_free(upload->meta, upload->meta_count);
	free(upload->key);
	free(upload);
}

void store_delete_bucket(struct bucket *bucket)
{
	bool found;
	size_t index = bucket_index(bucket->name, &found);
	if (!found)
		return;
	memmove(buckets + index, buckets + index + 1, (bucket_count - index - 1) * sizeof *buckets);
	bucket_count--;
	for (size_t i = 0; i < bucket->object_count; i++)
		free_object(bucket->objects[i]);
	for (size_t i = 0; i < bucket->upload_count; i++)
		free_upload(bucket->uploads[i]);
	for (size_t i = 0; i < bucket->history_count; i++)
		free_object(bucket->history[i]);
	free(bucket->history);
	free(bucket->objects);
	free(bucket->uploads);
	free(bucket->name);
	free(bucket);
}

size_t store_object_index(struct bucket *bucket, const char *key, bool inclusive)
{
	size_t low = 0, high = bucket->object_count;
	while (low < high) {
		size_t middle = (low + high) / 2;
		int order = strcmp(bucket->objects[middle]->key, key);
		if (order < 0 || (!inclusive && order == 0))
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

struct object *store_object(struct bucket *bucket, const char *key)
{
	size_t index = store_object_index(bucket, key, true);
	if (index < bucket->object_count && strcmp(bucket->objects[index]->key, key) == 0)
		return bucket->objects[index];
	return NULL;
}

static unsigned long last_sequence;

/* (key, sequence) order of the history: by key, newest first. */
static int history_order(const struct object *a, const char *key, unsigned long sequence)
{
	int order = strcmp(a->key, key);
	return order ? order : a->sequence > sequence ? -1 : a->sequence < sequence ? 1 : 0;
}

size_t store_history_index(struct bucket *bucket, const char *key)
{
	size_t low = 0, high = bucket->history_count;
	while (low < high) {
		size_t middle = (low + high) / 2;
		if (strcmp(bucket->history[middle]->key, key) < 0)
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

static bool history_insert(struct bucket *bucket, struct object *object)
{
	if (!grow(&bucket->history, &bucket->history_capacity, bucket->history_count,
		  sizeof *bucket->history))
		return false;
	size_t index = store_history_index(bucket, object->key);
	while (index < bucket->history_count &&
	       history_order(bucket->history[index], object->key, object->sequence) < 0)
		index++;
	memmove(bucket->history + index + 1, bucket->history + index,
		(bucket->history_count - index) * sizeof *bucket->history);
	bucket->history[index] = object;
	bucket->history_count++;
	return true;
}

static struct object *history_take(struct bucket *bucket, size_t index)
{
	struct object *object = bucket->history[index];
	memmove(bucket->history + index, bucket->history + index + 1,
		(bucket->history_count - index - 1) * sizeof *bucket->history);
	bucket->history_count--;
	return object;
}

static bool is_null_version(const struct object *object)
{
	return !object->version_id[0] || strcmp(object->version_id, "null") == 0;
}

/* Suspended versioning: what is stored now replaces the key's "null" version. */
static void drop_null_versions(struct bucket *bucket, const char *key)
{
	for (size_t i = store_history_index(bucket, key);
	     i < bucket->history_count && strcmp(bucket->history[i]->key, key) == 0;)
		if (is_null_version(bucket->history[i]))
			free_object(history_take(bucket, i));
		else
			i++;
}

static void new_version(struct bucket *bucket, struct object *object)
{
	object->sequence = ++last_sequence;
	if (bucket->versioning == VERSIONING_ENABLED) {
		unsigned char random[16];
		if (RAND_bytes(random, sizeof random) != 1)
			memset(random, 0, sizeof random);
		for (int i = 0; i < 16; i++)
			snprintf(object->version_id + 2 * i, 3, "%02x", random[i]);
	} else if (bucket->versioning == VERSIONING_SUSPENDED) {
		snprintf(object->version_id, sizeof object->version_id, "null");
	}
}

/* The current version at index stops being current: kept in the history when versioning keeps
 * it, else freed. Either way it leaves objects. */
static void retire_current(struct bucket *bucket, size_t index)
{
	struct object *current = bucket->objects[index];
	memmove(bucket->objects + index, bucket->objects + index + 1,
		(bucket->object_count - index - 1) * sizeof *bucket->objects);
	bucket->object_count--;
	bool keep = bucket->versioning == VERSIONING_ENABLED ||
		    (bucket->versioning == VERSIONING_SUSPENDED && !is_null_version(current));
	if (!keep || !history_insert(bucket, current))
		free_object(current);
}

static bool insert_current(struct bucket *bucket, struct object *object)
{
	size_t index = store_object_index(bucket, object->key, true);
	if (!grow(&bucket->objects, &bucket->object_capacity, bucket->object_count,
		  sizeof *bucket->objects))
		return false;
	memmove(bucket->objects + index + 1, bucket->objects + index,
		(bucket->object_count - index) * sizeof *bucket->objects);
	bucket->objects[index] = object;
	bucket->object_count++;
	return true;
}

struct object *store_put_object(struct bucket *bucket, const char *key, struct blob *blob,
				const char *etag, struct meta *meta, size_t meta_count)
{
	struct object *object = calloc(1, sizeof *object);
	if (!object || !(object->key = strdup(key))) {
		free(object);
		blob_release(blob);
		meta_free(meta, meta_count);
		return NULL;
	}
	object->blob = blob;
	snprintf(object->etag, sizeof object->etag, "%s", etag);
	object->modified = server_now();
	object->meta = meta;
	object->meta_count = meta_count;
	new_version(bucket, object);
	if (bucket->versioning == VERSIONING_SUSPENDED)
		drop_null_versions(bucket, key);
	size_t index = store_object_index(bucket, key, true);
	if (index < bucket->object_count && strcmp(bucket->objects[index]->key, key) == 0)
		retire_current(bucket, index);
	if (!insert_current(bucket, object)) {
		free_object(object);
		return NULL;
	}
	return object;
}

bool store_delete_object(struct bucket *bucket, const char *key, char marker_id[40])
{
	marker_id[0] = '\0';
	size_t index = store_object_index(bucket, key, true);
	bool exists = index < bucket->object_count && strcmp(bucket->objects[index]->key, key) == 0;
	if (bucket->versioning == VERSIONING_OFF) {
		if (exists)
			retire_current(bucket, index);
		return exists;
	}
	struct object *marker = calloc(1, sizeof *marker);
	if (!marker || !(marker->key = strdup(key))) {
		free(marker);
		return false;
	}
	marker->delete_marker = true;
	marker->modified = server_now();
	new_version(bucket, marker);
	if (bucket->versioning == VERSIONING_SUSPENDED)
		drop_null_versions(bucket, key);
	if (exists)
		retire_current(bucket, index);
	if (!history_insert(bucket, marker)) {
		free_object(marker);
		return exists;
	}
	snprintf(marker_id, 40, "%s", marker->version_id);
	return true;
}

struct object *store_find_version(struct bucket *bucket, const char *key, const char *id)
{
	bool null = strcmp(id, "null") == 0;
	struct object *current = store_object(bucket, key);
	if (current && (strcmp(current->version_id, id) == 0 || (null && is_null_version(current))))
		return current;
	for (size_t i = store_history_index(bucket, key);
	     i < bucket->history_count && strcmp(bucket->history[i]->key, key) == 0; i++)
		if (strcmp(bucket->history[i]->version_id, id) == 0 ||
		    (null && is_null_version(bucket->history[i])))
			return bucket->history[i];
	return NULL;
}

struct object *store_latest_marker(struct bucket *bucket, const char *key)
{
	if (store_object(bucket, key))
		return NULL;
	size_t i = store_history_index(bucket, key);
	return i < bucket->history_count && strcmp(bucket->history[i]->key, key) == 0 &&
		       bucket->history[i]->delete_marker ? bucket->history[i] : NULL;
}

bool store_delete_version(struct bucket *bucket, const char *key, const char *id, bool *was_marker)
{
	*was_marker = false;
	struct object *found = store_find_version(bucket, key, id);
	if (!found)
		return false;
	*was_marker = found->delete_marker;
	size_t index = store_object_index(bucket, key, true);
	if (index < bucket->object_count && bucket->objects[index] == found) {
		memmove(bucket->objects + index, bucket->objects + index + 1,
			(bucket->object_count - index - 1) * sizeof *bucket->objects);
		bucket->object_count--;
	} else {
		for (size_t i = store_history_index(bucket, key); i < bucket->history_count; i++)
			if (bucket->history[i] == found) {
				history_take(bucket, i);
				break;
			}
	}
	free_object(found);
	/* The newest remaining version becomes current, unless it is a delete marker. */
	size_t newest = store_history_index(bucket, key);
	if (!store_object(bucket, key) && newest < bucket->history_count &&
	    strcmp(bucket->history[newest]->key, key) == 0 && !bucket->history[newest]->delete_marker) {
		struct object *promoted = history_take(bucket, newest);
		if (!insert_current(bucket, promoted))
			free_object(promoted);
	}
	return true;
}

void store_set_versioning(struct bucket *bucket, enum versioning versioning)
{
	if (bucket->versioning == VERSIONING_OFF && versioning != VERSIONING_OFF)
		for (size_t i = 0; i < bucket->object_count; i++)
			snprintf(bucket->objects[i]->version_id, sizeof bucket->objects[i]->version_id,
				 "null");
	bucket->versioning = versioning;
}

struct upload *store_create_upload(struct bucket *bucket, const char *key, struct meta *meta,
				   size_t meta_count)
{
	struct upload *upload = calloc(1, sizeof *upload);
	unsigned char random[16];
	if (!upload || !(upload->key = strdup(key)) ||
	    !grow(&bucket->uploads, &bucket->upload_capacity, bucket->upload_count,
		  sizeof *bucket->uploads) || RAND_bytes(random, sizeof random) != 1) {
		if (upload)
			free(upload->key);
		free(upload);
		meta_free(meta, meta_count);
		return NULL;
	}
	for (int i = 0; i < 16; i++)
		snprintf(upload->id + 2 * i, 3, "%02x", random[i]);
	upload->initiated = server_now();
	upload->meta = meta;
	upload->meta_count = meta_count;
	bucket->uploads[bucket->upload_count++] = upload;
	return upload;
}

struct upload *store_upload(struct bucket *bucket, const char *id)
{
	for (size_t i = 0; i < bucket->upload_count; i++)
		if (strcmp(bucket->uploads[i]->id, id) == 0)
			return bucket->uploads[i];
	return NULL;
}

struct part *store_put_part(struct upload *upload, int number, struct blob *blob,
			    const unsigned char md5[16])
{
	size_t index = 0;
	while (index < upload->part_count && upload->parts[index].number < number)
		index++;
	if (index >= upload->part_count || upload->parts[index].number != number) {
		struct part *grown = realloc(upload->parts, (upload->part_count + 1) * sizeof *grown);
		if (!grown) {
			blob_release(blob);
			return NULL;
		}
		upload->parts = grown;
		memmove(upload->parts + index + 1, upload->parts + index,
			(upload->part_count - index) * sizeof *grown);
		upload->part_count++;
	} else {
		blob_release(upload->parts[index].blob);
	}
	struct part *part = &upload->parts[index];
	part->number = number;
	part->blob = blob;
	memcpy(part->md5, md5, 16);
	part->etag[0] = '"';
	for (int i = 0; i < 16; i++)
		snprintf(part->etag + 1 + 2 * i, 3, "%02x", md5[i]);
	strcat(part->etag, "\"");
	part->modified = server_now();
	return part;
}

void store_delete_upload(struct bucket *bucket, struct upload *upload)
{
	for (size_t i = 0; i < bucket->upload_count; i++)
		if (bucket->uploads[i] == upload) {
			memmove(bucket->uploads + i, bucket->uploads + i + 1,
				(bucket->upload_count - i - 1) * sizeof *bucket->uploads);
			bucket->upload_count--;
			free_upload(upload);
			return;
		}
}

void store_free_all(void)
{
	while (bucket_count)
		store_delete_bucket(buckets[bucket_count - 1]);
	free(buckets);
	buckets = NULL;
	bucket_capacity = 0;
}
