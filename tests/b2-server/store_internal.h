/* store_internal.h — the store's data structures, shared by store.c (buckets, versions, listing)
 * and large_file.c (unfinished large files and their parts). Everything here needs store.lock. */
#ifndef B2_STORE_INTERNAL_H
#define B2_STORE_INTERNAL_H

#include <pthread.h>

#include <json-c/linkhash.h>

#include "protection.h"
#include "store.h"

enum version_action { ACTION_UPLOAD, ACTION_HIDE, ACTION_START };

/* A part's bytes: one segment when uploaded, the source's slices when copied. */
struct part {
	bool present;                /* uploaded (or copied) at least once */
	struct segment *segments;
	size_t segment_count;
	uint64_t length;
	char sha1[41];
	char md5[33];                /* hex, "" when unknown (copied parts) */
	int64_t upload_timestamp;
};

struct large_upload {
	struct part *parts;          /* parts[n - 1] is part n */
	size_t capacity;
};

struct bucket;

struct version {
	char *file_id, *file_name;
	struct bucket *bucket;
	enum version_action action;
	char *content_type;
	char *sha1;                  /* hex, "none" (large file) or NULL (hide marker) */
	char *md5;                   /* hex for a small upload and its whole copies, else NULL */
	uint64_t length;
	json_object *file_info;
	int64_t upload_timestamp;
	struct segment *segments;
	size_t segment_count;
	struct large_upload *large;  /* ACTION_START only */
	struct protection protection; /* encryption, retention, legal hold */
};

/* All versions of one name, newest first. */
struct name_entry {
	char *name;
	struct version **versions;
	size_t count, capacity;
};

struct bucket {
	char id[25];
	char *name, *type;
	struct name_entry **names;   /* sorted by name (bytewise, as B2 sorts UTF-8) */
	size_t name_count, name_capacity;
	struct version **unfinished; /* started large files, oldest first */
	size_t unfinished_count, unfinished_capacity;
	bool file_lock;              /* fileLockEnabled at creation */
	char default_sse[8];         /* "" or "SSE-B2" */
	json_object *lifecycle_rules; /* array */
};

struct store {
	pthread_mutex_t lock;
	struct bucket **buckets;
	size_t bucket_count;
	struct lh_table *by_file_id; /* file id → struct version */
	uint64_t used_bytes;
	unsigned long serial;
};
extern struct store store;

struct bucket *bucket_by_id(const char *bucket_id);
/* bucket_by_id() plus the key's bucket restriction, as a B2 error. */
struct bucket *bucket_for_key(const struct key *key, const char *bucket_id, struct b2_error *error);
struct version *version_by_id(const char *file_id);
struct version *version_new(struct bucket *bucket, const char *file_name, enum version_action action);
void version_free(struct version *version);
/* Makes the version the newest of its name. */
void version_publish(struct version *version);
json_object *version_json(const struct version *version, int api_version);
bool store_has_room_locked(uint64_t bytes);
/* The segments covering [first, first + length) of a version, each with a blob reference. */
struct segment *slice_segments(const struct version *version, uint64_t first, uint64_t length,
			       size_t *count);
bool sha1_of_segments(const struct segment *segments, size_t count, char hex[41]);
void segments_free(struct segment *segments, size_t count);
bool grow_array(void *array_pointer, size_t *capacity, size_t count, size_t element_size);

/* Large files (large_file.c) */
void large_upload_free(struct large_upload *large);

#endif
