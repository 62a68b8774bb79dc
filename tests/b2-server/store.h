/* store.h — buckets, file versions and their bytes, behind one mutex. Every call that touches a
 * bucket or file checks the caller's key (bucket and name prefix) and reports B2 errors. */
#ifndef B2_STORE_H
#define B2_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "auth.h"
#include "blob.h"
#include "json_reply.h"
#include "protection.h"

/* A run of bytes of a blob; a file is one segment, a large file one per part, copies share. */
struct segment {
	struct blob *blob;
	uint64_t offset, length;
};

/* A snapshot of one version for a download: metadata copies plus references on its bytes. */
struct content {
	char *file_id, *file_name, *content_type, *sha1;
	int64_t upload_timestamp;
	uint64_t length;
	json_object *file_info;
	struct segment *segments;
	size_t segment_count;
	struct protection protection;
};
void content_free(struct content *content);

enum bucket_type_mask { BUCKET_ALL_PUBLIC = 1, BUCKET_ALL_PRIVATE = 2, BUCKET_SNAPSHOT = 4 };

void store_free_all(void);

/* What b2_create_bucket may set besides name and type. */
struct bucket_settings {
	bool file_lock;              /* fileLockEnabled */
	const char *default_sse;     /* "SSE-B2" or NULL */
	json_object *lifecycle_rules; /* borrowed array, or NULL */
	bool has_default_sse;        /* b2_update_bucket: defaultServerSideEncryption was given */
};
bool store_create_bucket(const char *name, const char *type, const struct bucket_settings *settings,
			 json_object **bucket, struct b2_error *error);
/* b2_update_bucket: the type (NULL: kept), default encryption (if has_default_sse) and lifecycle
 * rules (if not NULL) of a bucket the key may use. */
bool store_update_bucket(const struct key *key, const char *bucket_id, const char *type,
			 const struct bucket_settings *settings, json_object **bucket,
			 struct b2_error *error);
bool store_delete_bucket(const struct key *key, const char *bucket_id, json_object **bucket,
			 struct b2_error *error);
/* Buckets filtered by id, name (NULL = any), type mask and the key's bucket; sorted by name. */
json_object *store_list_buckets(const struct key *key, const char *bucket_id,
				const char *bucket_name, unsigned type_mask);
/* Resolves a bucket id the key may use: 400 bad_bucket_id or 401 unauthorized otherwise. */
bool store_check_bucket(const struct key *key, const char *bucket_id, struct b2_error *error);

/* Storage cap: room for this many more bytes (0: "is anything left at all"). */
bool store_has_room(uint64_t bytes);

struct new_upload {
	const struct key *key;
	const char *bucket_id, *file_name, *content_type, *sha1, *md5;
	json_object *file_info;      /* taken */
	struct blob *blob;           /* a reference is taken */
	int api_version;
	struct protection protection;
};
json_object *store_add_upload(const struct new_upload *upload, struct b2_error *error);

struct list_query {
	const char *bucket_id, *start_file_name, *start_file_id, *prefix, *delimiter;
	int64_t max_file_count;
	bool all_versions;           /* b2_list_file_versions */
	int api_version;
};
json_object *store_list_files(const struct key *key, const struct list_query *query,
			      struct b2_error *error);

json_object *store_get_file_info(const struct key *key, const char *file_id, int api_version,
				 struct b2_error *error);
json_object *store_hide_file(const struct key *key, const char *bucket_id, const char *file_name,
			     int api_version, struct b2_error *error);
/* Refused with 403 access_denied while a legal hold is on or retention lasts (governance: unless
 * bypass, which needs the bypassGovernance capability). */
json_object *store_delete_file_version(const struct key *key, const char *file_name,
				       const char *file_id, bool bypass, struct b2_error *error);
/* b2_update_file_retention: mode "" removes it. Needs a lock-enabled bucket (400 bad_request);
 * compliance is only extended (403 access_denied otherwise; switching to compliance is allowed);
 * governance shortened, removed or switched ... only with bypass (403 without), which needs the
 * bypassGovernance capability (401). Answers {fileId, fileName, fileRetention {mode,
 * retainUntilTimestamp}}. */
json_object *store_update_file_retention(const struct key *key, const char *file_name,
					 const char *file_id, const char *mode, int64_t until,
					 bool bypass, struct b2_error *error);
/* b2_update_file_legal_hold: on or off, in a lock-enabled bucket; {fileId, fileName, legalHold}. */
json_object *store_update_file_legal_hold(const struct key *key, const char *file_name,
					  const char *file_id, bool on, struct b2_error *error);

/* NULL with 404 not_found when the file is absent or hidden. */
struct content *store_open_by_name(const struct key *key, const char *bucket_name,
				   const char *file_name, struct b2_error *error);
struct content *store_open_by_id(const struct key *key, const char *file_id,
				 struct b2_error *error);

struct copy_request {
	const char *source_file_id, *file_name, *destination_bucket_id;
	bool has_range;
	uint64_t range_first, range_last;
	bool replace_metadata;
	const char *content_type;
	json_object *file_info;      /* borrowed */
	int api_version;
	char source_key_md5[SSE_C_MD5_MAX]; /* the SSE-C key given for the source, or "" */
	struct protection destination;      /* what the copy is to be kept with */
};
json_object *store_copy_file(const struct key *key, const struct copy_request *copy,
			     struct b2_error *error);

#endif
