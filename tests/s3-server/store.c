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
	size_t index = store_object_index(bucket, key, true);
	if (index < bucket->object_count && strcmp(bucket->objects[index]->key, key) == 0) {
		free_object(bucket->objects[index]);
		bucket->objects[index] = object;
		return object;
	}
	if (!grow(&bucket->objects, &bucket->object_capacity, bucket->object_count,
		  sizeof *bucket->objects)) {
		free_object(object);
		return NULL;
	}
	memmove(bucket->objects + index + 1, bucket->objects + index,
		(bucket->object_count - index) * sizeof *bucket->objects);
	bucket->objects[index] = object;
	bucket->object_count++;
	return object;
}

bool store_delete_object(struct bucket *bucket, const char *key)
{
	size_t index = store_object_index(bucket, key, true);
	if (index >= bucket->object_count || strcmp(bucket->objects[index]->key, key) != 0)
		return false;
	free_object(bucket->objects[index]);
	memmove(bucket->objects + index, bucket->objects + index + 1,
		(bucket->object_count - index - 1) * sizeof *bucket->objects);
	bucket->object_count--;
	return true;
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
