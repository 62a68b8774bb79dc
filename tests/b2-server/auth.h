/* auth.h — application keys with their capabilities, bucket and name prefix, and the account and
 * upload tokens the server hands out (expiry, one upload at a time per upload token). */
#ifndef B2_AUTH_H
#define B2_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

enum capability {
	CAP_LIST_KEYS, CAP_WRITE_KEYS, CAP_DELETE_KEYS, CAP_LIST_BUCKETS, CAP_LIST_ALL_BUCKET_NAMES,
	CAP_READ_BUCKETS, CAP_WRITE_BUCKETS, CAP_DELETE_BUCKETS, CAP_READ_BUCKET_RETENTIONS,
	CAP_WRITE_BUCKET_RETENTIONS, CAP_READ_BUCKET_ENCRYPTION, CAP_WRITE_BUCKET_ENCRYPTION,
	CAP_LIST_FILES, CAP_READ_FILES, CAP_SHARE_FILES, CAP_WRITE_FILES, CAP_DELETE_FILES,
	CAP_READ_FILE_RETENTIONS, CAP_WRITE_FILE_RETENTIONS, CAP_READ_FILE_LEGAL_HOLDS,
	CAP_WRITE_FILE_LEGAL_HOLDS, CAP_BYPASS_GOVERNANCE, CAP_COUNT
};

struct key {
	char *id;
	char *secret;
	unsigned capabilities;       /* bit (1u << enum capability) */
	char *bucket_name;           /* NULL: every bucket */
	char *name_prefix;           /* NULL: every name */
};

/* Keys are registered before the daemon starts and never change afterwards. */
bool auth_add_master_key(const char *id, const char *secret);
/* "ID:KEY:BUCKET:CAPS[:PREFIX]", CAPS comma-separated B2 capability names. */
bool auth_add_restricted_key(const char *spec, char *error, size_t error_size);
void auth_free_all(void);

bool key_has(const struct key *key, enum capability capability);
bool key_allows_bucket(const struct key *key, const char *bucket_name);
/* The name (or listing prefix) lies inside the key's name prefix. */
bool key_allows_name(const struct key *key, const char *name);
/* JSON array of the key's capability names. */
json_object *key_capabilities_json(const struct key *key);

/* "Basic base64(id:secret)" → key, NULL when wrong. */
const struct key *auth_check_basic(const char *authorization);

enum token_status { TOKEN_OK, TOKEN_MISSING, TOKEN_BAD, TOKEN_EXPIRED, TOKEN_BUSY };

/* A new account token for the key, written to token (at least 80 bytes). */
void auth_issue_account_token(const struct key *key, char *token, size_t token_size);
enum token_status auth_check_account_token(const char *token, const struct key **key);

/* A new upload token bound to one upload URL (url_id) and to a bucket id or large file id. */
void auth_issue_upload_token(const struct key *key, const char *target_id, char *token,
			     size_t token_size, char *url_id, size_t url_id_size);
/* Claims the upload token for one upload: it must belong to url_id and target_id, be unexpired
 * and idle (else TOKEN_BUSY: 400 auth_token_limit). auth_end_upload() releases it. */
enum token_status auth_begin_upload(const char *token, const char *url_id, const char *target_id,
				    const struct key **key);
void auth_end_upload(const char *token);

/* A download authorization (b2_get_download_authorization): reads names starting with prefix in
 * one bucket, for ttl_ms. */
void auth_issue_download_token(const struct key *key, const char *bucket_name, const char *prefix,
			       int64_t ttl_ms, char *token, size_t token_size);
/* TOKEN_OK (and *key, the issuing key) when token is a download authorization that covers
 * bucket_name/file_name; TOKEN_BAD when it is none or covers something else. */
enum token_status auth_check_download_token(const char *token, const char *bucket_name,
					    const char *file_name, const struct key **key);

/* Control API: every account / upload token issued so far expires now. */
void auth_expire_account_tokens(void);
void auth_expire_upload_tokens(void);

#endif
