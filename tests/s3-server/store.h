/* store.h — the S3 test server's data: buckets, their objects (kept sorted by key, bytes in
 * memory, shared by copies), and multipart uploads in progress. One lock guards it all: take
 * store_lock() around every use of what these functions return. */
#ifndef S3_STORE_H
#define S3_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Bytes shared by an object and its copies; freed with the last reference. */
struct blob {
	unsigned char *data;
	size_t size;
	unsigned references;
};

struct blob *blob_new(const void *data, size_t size); /* copies; NULL when out of memory */
struct blob *blob_take(void *data, size_t size);      /* takes a malloc'd buffer */
void blob_release(struct blob *blob);

/* Headers kept with an object: content-type, cache-control, content-disposition,
 * content-encoding, content-language, expires and every x-amz-meta-* (names lowercased). */
struct meta {
	char *name, *value;
};

struct object {
	char *key;
	struct blob *blob; /* NULL for a delete marker */
	char etag[48]; /* with its quotes */
	time_t modified;
	struct meta *meta;
	size_t meta_count;
	/* Versioning: "" in a bucket that never had it; "null" for what was stored without it
	 * (before it was enabled, or while it is suspended); else 32 hex digits. */
	char version_id[40];
	unsigned long sequence; /* larger: stored later (orders the versions of one key) */
	bool delete_marker;
};

enum versioning { VERSIONING_OFF = 0, VERSIONING_ENABLED, VERSIONING_SUSPENDED };

struct part {
	int number;
	struct blob *blob;
	char etag[48];
	unsigned char md5[16];
	time_t modified;
};

struct upload {
	char id[40];
	char *key;
	time_t initiated;
	struct meta *meta;
	size_t meta_count;
	struct part *parts; /* sorted by number */
	size_t part_count;
};

struct bucket {
	char *name;
	char region[32];
	time_t created;
	struct object **objects; /* sorted by key (bytewise) */
	size_t object_count, object_capacity;
	struct upload **uploads;
	size_t upload_count, upload_capacity;
	enum versioning versioning;
	/* The versions that are not current, and delete markers: by key, newest first. The current
	 * version of a key (in objects) is always newer than every one of these. */
	struct object **history;
	size_t history_count, history_capacity;
};

void store_lock(void);
void store_unlock(void);

struct bucket *store_bucket(const char *name);
size_t store_bucket_count(void);
struct bucket *store_bucket_at(size_t index); /* sorted by name */
/* false when it exists already */
bool store_create_bucket(const char *name, const char *region);
void store_delete_bucket(struct bucket *bucket);

struct object *store_object(struct bucket *bucket, const char *key);
/* The index of the first key greater than (or, inclusive, equal to) key. */
size_t store_object_index(struct bucket *bucket, const char *key, bool inclusive);
/* Puts (replacing) an object; takes the blob reference and the meta array. In a versioned
 * bucket the current version before it is kept (suspended: a "null" version is replaced). */
struct object *store_put_object(struct bucket *bucket, const char *key, struct blob *blob,
				const char *etag, struct meta *meta, size_t meta_count);
/* Deletes key as a DeleteObject without versionId does: unversioned, the object goes (false if
 * there was none); versioned, a delete marker becomes the newest version (its id in marker_id,
 * "" when unversioned). */
bool store_delete_object(struct bucket *bucket, const char *key, char marker_id[40]);
/* The version id of key, current or not (delete markers too); "null" matches "" as well. */
struct object *store_find_version(struct bucket *bucket, const char *key, const char *id);
/* Whether the newest version of key is a delete marker (no current object, yet a history). */
struct object *store_latest_marker(struct bucket *bucket, const char *key);
/* Deletes one version for good; the newest remaining one becomes current unless it is a delete
 * marker. false when there is no such version. *was_marker tells what it was. */
bool store_delete_version(struct bucket *bucket, const char *key, const char *id, bool *was_marker);
/* PutBucketVersioning: enabling marks what is stored as version "null". */
void store_set_versioning(struct bucket *bucket, enum versioning versioning);
/* The first history entry at or after key (by key, then newest first). */
size_t store_history_index(struct bucket *bucket, const char *key);

struct upload *store_create_upload(struct bucket *bucket, const char *key, struct meta *meta,
				   size_t meta_count);
struct upload *store_upload(struct bucket *bucket, const char *id);
/* Puts (replacing) a part; takes the blob reference. */
struct part *store_put_part(struct upload *upload, int number, struct blob *blob,
			    const unsigned char md5[16]);
void store_delete_upload(struct bucket *bucket, struct upload *upload);

struct meta *meta_copy(const struct meta *meta, size_t count);
void meta_free(struct meta *meta, size_t count);

void store_free_all(void);

#endif
