/* api.c — the JSON calls about the account, buckets and file versions: authorize (v1/v2 flat,
 * v3/v4 apiInfo shapes), buckets, upload URLs, listings, file info, hide, delete and copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "json_reply.h"
#include "names.h"
#include "server.h"
#include "store.h"

enum { RECOMMENDED_PART_SIZE = 100000000, ABSOLUTE_MINIMUM_PART_SIZE = 5000000 };

const struct key *require_account(struct request *req, int capability)
{
	return require_token(req, request_header(req, MHD_HTTP_HEADER_AUTHORIZATION), capability);
}

const struct key *require_token(struct request *req, const char *token, int capability)
{
	const struct key *key = NULL;
	switch (auth_check_account_token(token, &key)) {
	case TOKEN_MISSING:
		reply_error(req, 401, "missing_auth_token", "Authorization header is missing");
		return NULL;
	case TOKEN_EXPIRED:
		reply_error(req, 401, "expired_auth_token", "Authorization token has expired");
		return NULL;
	case TOKEN_OK:
		break;
	default:
		reply_error(req, 401, "bad_auth_token", "Invalid authorization token");
		return NULL;
	}
	if (capability >= 0 && !key_has(key, (enum capability)capability)) {
		reply_error(req, 401, "unauthorized", "The key does not have the capability this call needs");
		return NULL;
	}
	return key;
}

static json_object *string_or_null(const char *text)
{
	return text ? json_object_new_string(text) : NULL;
}

void handle_authorize_account(struct request *req, json_object *body)
{
	const char *authorization = request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!authorization) {
		reply_error(req, 401, "missing_auth_token", "Authorization header is missing");
		return;
	}
	const struct key *key = auth_check_basic(authorization);
	if (!key) {
		reply_error(req, 401, "unauthorized", "Invalid application key id or key");
		return;
	}
	char token[96], bucket_id[32] = "";
	auth_issue_account_token(key, token, sizeof token);
	if (key->bucket_name) {
		json_object *found = store_list_buckets(key, NULL, key->bucket_name, ~0u);
		json_object *buckets = json_object_object_get(found, "buckets");
		if (json_object_array_length(buckets) > 0)
			snprintf(bucket_id, sizeof bucket_id, "%s",
				 json_object_get_string(json_object_object_get(
					 json_object_array_get_idx(buckets, 0), "bucketId")));
		json_object_put(found);
	}
	const char *allowed_bucket_id = *bucket_id ? bucket_id : NULL;
	const char *allowed_bucket_name = *bucket_id ? key->bucket_name : NULL;

	json_object *result = json_object_new_object();
	json_object_object_add(result, "accountId", json_object_new_string(server_config.account_id));
	json_object_object_add(result, "authorizationToken", json_object_new_string(token));
	json_object *urls = req->api_version >= 3 ? json_object_new_object() : result;
	json_object_object_add(urls, "apiUrl", json_object_new_string(server_config.base_url));
	json_object_object_add(urls, "downloadUrl", json_object_new_string(server_config.base_url));
	json_object_object_add(urls, "s3ApiUrl", json_object_new_string(server_config.base_url));
	json_object_object_add(urls, "recommendedPartSize", json_object_new_int(RECOMMENDED_PART_SIZE));
	json_object_object_add(urls, "absoluteMinimumPartSize",
			       json_object_new_int(ABSOLUTE_MINIMUM_PART_SIZE));
	if (req->api_version <= 2) {
		json_object_object_add(result, "minimumPartSize", json_object_new_int(RECOMMENDED_PART_SIZE));
		json_object *allowed = json_object_new_object();
		json_object_object_add(allowed, "capabilities", key_capabilities_json(key));
		json_object_object_add(allowed, "bucketId", string_or_null(allowed_bucket_id));
		json_object_object_add(allowed, "bucketName", string_or_null(allowed_bucket_name));
		json_object_object_add(allowed, "namePrefix", string_or_null(key->name_prefix));
		json_object_object_add(result, "allowed", allowed);
	} else if (req->api_version == 3) {
		json_object_object_add(urls, "capabilities", key_capabilities_json(key));
		json_object_object_add(urls, "bucketId", string_or_null(allowed_bucket_id));
		json_object_object_add(urls, "bucketName", string_or_null(allowed_bucket_name));
		json_object_object_add(urls, "namePrefix", string_or_null(key->name_prefix));
		json_object_object_add(urls, "infoType", json_object_new_string("storageApi"));
	} else {
		json_object *allowed = json_object_new_object();
		json_object *buckets = json_object_new_array();
		if (key->bucket_name) {
			json_object *bucket = json_object_new_object();
			json_object_object_add(bucket, "id", string_or_null(allowed_bucket_id));
			json_object_object_add(bucket, "name", string_or_null(allowed_bucket_name));
			json_object_array_add(buckets, bucket);
		}
		json_object_object_add(allowed, "buckets", buckets);
		json_object_object_add(allowed, "capabilities", key_capabilities_json(key));
		json_object_object_add(allowed, "namePrefix", string_or_null(key->name_prefix));
		json_object_object_add(urls, "allowed", allowed);
	}
	if (req->api_version >= 3) {
		json_object *api_info = json_object_new_object();
		json_object_object_add(api_info, "storageApi", urls);
		json_object_object_add(result, "apiInfo", api_info);
		json_object_object_add(result, "applicationKeyExpirationTimestamp", NULL);
	}
	reply_json(req, 200, result);
}

/* Every call naming an account must name this one. */
static bool check_account_id(struct request *req, json_object *body)
{
	const char *account_id;
	if (!body_string_required(req, body, "accountId", &account_id))
		return false;
	if (strcmp(account_id, server_config.account_id) != 0) {
		reply_error(req, 401, "unauthorized", "accountId does not match the authorization token");
		return false;
	}
	return true;
}

/* bucketTypes: absent = the default three; ["all"] = every type; anything else must be known. */
static bool parse_bucket_types(struct request *req, json_object *body, unsigned *mask)
{
	json_object *types = NULL;
	*mask = BUCKET_ALL_PUBLIC | BUCKET_ALL_PRIVATE | BUCKET_SNAPSHOT;
	if (!json_object_object_get_ex(body, "bucketTypes", &types) || !types)
		return true;
	size_t count = json_object_is_type(types, json_type_array) ? json_object_array_length(types) : 0;
	if (count == 0) {
		reply_error(req, 400, "bad_request", "bucketTypes must be a non-empty array");
		return false;
	}
	*mask = 0;
	for (size_t i = 0; i < count; i++) {
		const char *type = json_object_get_string(json_object_array_get_idx(types, i));
		if (type && strcmp(type, "all") == 0 && count == 1)
			*mask = ~0u;
		else if (type && strcmp(type, "allPublic") == 0)
			*mask |= BUCKET_ALL_PUBLIC;
		else if (type && strcmp(type, "allPrivate") == 0)
			*mask |= BUCKET_ALL_PRIVATE;
		else if (type && strcmp(type, "snapshot") == 0)
			*mask |= BUCKET_SNAPSHOT;
		else {
			reply_error(req, 400, "bad_request", "Invalid bucketTypes");
			return false;
		}
	}
	return true;
}

void handle_list_buckets(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_LIST_BUCKETS);
	const char *bucket_id, *bucket_name;
	unsigned mask;
	if (!key || !check_account_id(req, body) || !body_string(req, body, "bucketId", &bucket_id) ||
	    !body_string(req, body, "bucketName", &bucket_name) || !parse_bucket_types(req, body, &mask))
		return;
	if (key->bucket_name && !bucket_id && !bucket_name && req->api_version >= 2) {
		reply_error(req, 401, "unauthorized",
			    "The key is restricted to a bucket: name it with bucketId or bucketName");
		return;
	}
	if (key->bucket_name && bucket_name && strcmp(bucket_name, key->bucket_name) != 0) {
		reply_error(req, 401, "unauthorized", "The key is restricted to another bucket");
		return;
	}
	struct b2_error error;
	if (key->bucket_name && bucket_id && !store_check_bucket(key, bucket_id, &error) &&
	    error.status == 401) { /* another existing bucket; an unknown id just lists nothing */
		reply_b2_error(req, &error);
		return;
	}
	json_object *result = store_list_buckets(key, bucket_id, bucket_name, mask);
	reply_json(req, 200, result);
}

/* At most 100 rules, each: fileNamePrefix (string), the day counts positive integers or null,
 * one at least; no two rules applying to the same files (one prefix starting another). */
static bool lifecycle_rules_valid(json_object *rules)
{
	if (!json_object_is_type(rules, json_type_array) || json_object_array_length(rules) > 100)
		return false;
	size_t count = json_object_array_length(rules);
	for (size_t i = 0; i < count; i++) {
		json_object *rule = json_object_array_get_idx(rules, i), *member;
		if (!json_object_is_type(rule, json_type_object) ||
		    !json_object_object_get_ex(rule, "fileNamePrefix", &member) ||
		    !json_object_is_type(member, json_type_string))
			return false;
		const char *prefix = json_object_get_string(member);
		for (size_t j = 0; j < count; j++) {
			json_object *other = json_object_array_get_idx(rules, j), *other_prefix;
			if (j != i && json_object_is_type(other, json_type_object) &&
			    json_object_object_get_ex(other, "fileNamePrefix", &other_prefix) &&
			    json_object_is_type(other_prefix, json_type_string) &&
			    strncmp(prefix, json_object_get_string(other_prefix), strlen(prefix)) == 0)
				return false;
		}
		int days = 0;
		for (const char *const *name = (const char *const[]){"daysFromHidingToDeleting",
					"daysFromUploadingToHiding",
					"daysFromStartingToCancelingUnfinishedLargeFiles", NULL}; *name; name++) {
			if (!json_object_object_get_ex(rule, *name, &member) || !member)
				continue;
			if (!json_object_is_type(member, json_type_int) || json_object_get_int64(member) < 1)
				return false;
			days++;
		}
		if (days == 0)
			return false;
	}
	return true;
}

/* fileLockEnabled, defaultServerSideEncryption and lifecycleRules of b2_create_bucket and
 * b2_update_bucket; false when one is refused (the reply is sent). */
static bool bucket_settings_from_body(struct request *req, const struct key *key, json_object *body,
				      struct bucket_settings *settings)
{
	json_object *lock = NULL, *sse = NULL, *rules = NULL;
	if (json_object_object_get_ex(body, "fileLockEnabled", &lock) && lock) {
		if (!json_object_is_type(lock, json_type_boolean)) {
			reply_error(req, 400, "bad_request", "fileLockEnabled must be a boolean");
			return false;
		}
		settings->file_lock = json_object_get_boolean(lock);
	}
	if (json_object_object_get_ex(body, "defaultServerSideEncryption", &sse) && sse) {
		struct protection asked;
		struct b2_error sse_error;
		protection_init(&asked);
		if (!protection_sse_from_json(sse, &asked, &sse_error)) {
			reply_b2_error(req, &sse_error);
			return false;
		}
		if (strcmp(asked.mode, "SSE-C") == 0) {
			reply_error(req, 400, "bad_request", "SSE-C cannot be a bucket's default");
			return false;
		}
		if (!key_has(key, CAP_WRITE_BUCKET_ENCRYPTION)) {
			reply_error(req, 401, "unauthorized", "defaultServerSideEncryption needs "
				    "writeBucketEncryption");
			return false;
		}
		settings->default_sse = asked.mode[0] ? "SSE-B2" : NULL;
		settings->has_default_sse = true;
	}
	if (json_object_object_get_ex(body, "lifecycleRules", &rules) && rules) {
		if (!lifecycle_rules_valid(rules)) {
			reply_error(req, 400, "bad_request", "lifecycleRules must be an array of at most "
				    "100 rules {fileNamePrefix, daysFromHidingToDeleting, "
				    "daysFromUploadingToHiding, daysFromStartingToCancelingUnfinishedLargeFiles}, "
				    "no two for the same files");
			return false;
		}
		settings->lifecycle_rules = rules;
	}
	return true;
}

void handle_create_bucket(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_BUCKETS);
	const char *name, *type;
	if (!key || !check_account_id(req, body) || !body_string_required(req, body, "bucketName", &name) ||
	    !body_string_required(req, body, "bucketType", &type))
		return;
	if (key->bucket_name) {
		reply_error(req, 401, "unauthorized", "The key is restricted to a bucket");
		return;
	}
	struct bucket_settings settings = {0};
	if (!bucket_settings_from_body(req, key, body, &settings))
		return;
	json_object *bucket = NULL;
	struct b2_error error;
	if (store_create_bucket(name, type, &settings, &bucket, &error))
		reply_json(req, 200, bucket);
	else
		reply_b2_error(req, &error);
}

void handle_update_bucket(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_BUCKETS);
	const char *bucket_id, *type = NULL;
	json_object *given = NULL;
	if (!key || !check_account_id(req, body) || !body_string_required(req, body, "bucketId", &bucket_id))
		return;
	if (json_object_object_get_ex(body, "bucketType", &given) && given) {
		if (!json_object_is_type(given, json_type_string)) {
			reply_error(req, 400, "bad_request", "bucketType must be a string");
			return;
		}
		type = json_object_get_string(given);
	}
	if (json_object_object_get_ex(body, "fileLockEnabled", &given)) {
		reply_error(req, 400, "bad_request", "fileLockEnabled is set when the bucket is created");
		return;
	}
	struct bucket_settings settings = {0};
	if (!bucket_settings_from_body(req, key, body, &settings))
		return;
	json_object *bucket = NULL;
	struct b2_error error;
	if (store_update_bucket(key, bucket_id, type, &settings, &bucket, &error))
		reply_json(req, 200, bucket);
	else
		reply_b2_error(req, &error);
}

void handle_delete_bucket(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_DELETE_BUCKETS);
	const char *bucket_id;
	if (!key || !check_account_id(req, body) || !body_string_required(req, body, "bucketId", &bucket_id))
		return;
	json_object *bucket = NULL;
	struct b2_error error;
	if (store_delete_bucket(key, bucket_id, &bucket, &error))
		reply_json(req, 200, bucket);
	else
		reply_b2_error(req, &error);
}

void handle_get_upload_url(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *bucket_id;
	struct b2_error error;
	if (!key || !body_string_required(req, body, "bucketId", &bucket_id))
		return;
	if (!store_check_bucket(key, bucket_id, &error)) {
		reply_b2_error(req, &error);
		return;
	}
	if (!store_has_room(0)) {
		reply_error(req, 403, "storage_cap_exceeded", "Cannot upload files, storage cap exceeded.");
		return;
	}
	char token[96], url_id[24], url[512];
	auth_issue_upload_token(key, bucket_id, token, sizeof token, url_id, sizeof url_id);
	snprintf(url, sizeof url, "%s/b2api/v%d/b2_upload_file/%s/%s", server_config.base_url,
		 req->api_version, bucket_id, url_id);
	json_object *result = json_object_new_object();
	json_object_object_add(result, "bucketId", json_object_new_string(bucket_id));
	json_object_object_add(result, "uploadUrl", json_object_new_string(url));
	json_object_object_add(result, "authorizationToken", json_object_new_string(token));
	reply_json(req, 200, result);
}

/* A token anyone may use to download names under a prefix of one bucket, until it expires. */
void handle_get_download_authorization(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_SHARE_FILES);
	const char *bucket_id, *prefix;
	int64_t seconds;
	struct b2_error error;
	if (!key || !body_string_required(req, body, "bucketId", &bucket_id) ||
	    !body_string_required(req, body, "fileNamePrefix", &prefix) ||
	    !body_integer(req, body, "validDurationInSeconds", -1, &seconds))
		return;
	if (seconds < 1 || seconds > 604800) {
		reply_error(req, 400, "bad_request",
			    "validDurationInSeconds must be between 1 and 604800 (one week)");
		return;
	}
	if (!store_check_bucket(key, bucket_id, &error)) {
		reply_b2_error(req, &error);
		return;
	}
	if (!key_allows_name(key, prefix)) {
		reply_error(req, 401, "unauthorized", "The prefix is outside the key's name prefix");
		return;
	}
	json_object *buckets = store_list_buckets(key, bucket_id, NULL,
						  BUCKET_ALL_PUBLIC | BUCKET_ALL_PRIVATE | BUCKET_SNAPSHOT);
	json_object *list = json_object_object_get(buckets, "buckets");
	json_object *name = json_object_object_get(json_object_array_get_idx(list, 0), "bucketName");
	char token[96];
	auth_issue_download_token(key, name ? json_object_get_string(name) : "", prefix, seconds * 1000, token,
				  sizeof token);
	json_object_put(buckets);
	json_object *result = json_object_new_object();
	json_object_object_add(result, "bucketId", json_object_new_string(bucket_id));
	json_object_object_add(result, "fileNamePrefix", json_object_new_string(prefix));
	json_object_object_add(result, "authorizationToken", json_object_new_string(token));
	reply_json(req, 200, result);
}

static void list_files(struct request *req, json_object *body, bool all_versions)
{
	const struct key *key = require_account(req, CAP_LIST_FILES);
	struct list_query query = {.all_versions = all_versions, .api_version = req->api_version};
	if (!key || !body_string_required(req, body, "bucketId", &query.bucket_id) ||
	    !body_string(req, body, "startFileName", &query.start_file_name) ||
	    !body_string(req, body, "prefix", &query.prefix) ||
	    !body_string(req, body, "delimiter", &query.delimiter) ||
	    !body_integer(req, body, "maxFileCount", 100, &query.max_file_count) ||
	    (all_versions && !body_string(req, body, "startFileId", &query.start_file_id)))
		return;
	struct b2_error error;
	json_object *result = store_list_files(key, &query, &error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_list_file_names(struct request *req, json_object *body)
{
	list_files(req, body, false);
}

void handle_list_file_versions(struct request *req, json_object *body)
{
	list_files(req, body, true);
}

void handle_get_file_info(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_READ_FILES);
	const char *file_id;
	if (!key || !body_string_required(req, body, "fileId", &file_id))
		return;
	struct b2_error error;
	json_object *result = store_get_file_info(key, file_id, req->api_version, &error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_hide_file(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	const char *bucket_id, *file_name;
	if (!key || !body_string_required(req, body, "bucketId", &bucket_id) ||
	    !body_string_required(req, body, "fileName", &file_name))
		return;
	struct b2_error error;
	json_object *result = store_hide_file(key, bucket_id, file_name, req->api_version, &error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_delete_file_version(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_DELETE_FILES);
	const char *file_name, *file_id;
	if (!key || !body_string_required(req, body, "fileName", &file_name) ||
	    !body_string_required(req, body, "fileId", &file_id))
		return;
	json_object *bypass = NULL;
	json_object_object_get_ex(body, "bypassGovernance", &bypass);
	if (bypass && !json_object_is_type(bypass, json_type_boolean)) {
		reply_error(req, 400, "bad_request", "bypassGovernance must be a boolean");
		return;
	}
	struct b2_error error;
	json_object *result = store_delete_file_version(key, file_name, file_id,
							bypass && json_object_get_boolean(bypass), &error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

/* b2_update_file_retention {fileName, fileId, fileRetention {mode, retainUntilTimestamp},
 * bypassGovernance?}: mode and time both null remove the retention. */
void handle_update_file_retention(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILE_RETENTIONS);
	const char *file_name, *file_id;
	if (!key || !body_string_required(req, body, "fileName", &file_name) ||
	    !body_string_required(req, body, "fileId", &file_id))
		return;
	json_object *retention = NULL, *mode = NULL, *until = NULL, *bypass = NULL;
	json_object_object_get_ex(body, "bypassGovernance", &bypass);
	if (bypass && !json_object_is_type(bypass, json_type_boolean)) {
		reply_error(req, 400, "bad_request", "bypassGovernance must be a boolean");
		return;
	}
	if (!json_object_object_get_ex(body, "fileRetention", &retention) ||
	    !json_object_is_type(retention, json_type_object) ||
	    !json_object_object_get_ex(retention, "mode", &mode) ||
	    !json_object_object_get_ex(retention, "retainUntilTimestamp", &until)) {
		reply_error(req, 400, "bad_request", "fileRetention {mode, retainUntilTimestamp} is required");
		return;
	}
	const char *mode_text = mode && json_object_is_type(mode, json_type_string)
					? json_object_get_string(mode) : NULL;
	bool removing = !mode;
	if ((!removing && (!mode_text || (strcmp(mode_text, "governance") != 0 &&
					  strcmp(mode_text, "compliance") != 0))) ||
	    (removing && until) || (!removing && !json_object_is_type(until, json_type_int))) {
		reply_error(req, 400, "bad_request", "fileRetention mode must be governance or compliance "
			    "with an integer retainUntilTimestamp, or both null");
		return;
	}
	struct b2_error error;
	json_object *result = store_update_file_retention(
		key, file_name, file_id, removing ? "" : mode_text,
		removing ? 0 : json_object_get_int64(until), bypass && json_object_get_boolean(bypass),
		&error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

/* b2_update_file_legal_hold {fileName, fileId, legalHold "on" | "off"}. */
void handle_update_file_legal_hold(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILE_LEGAL_HOLDS);
	const char *file_name, *file_id, *hold;
	if (!key || !body_string_required(req, body, "fileName", &file_name) ||
	    !body_string_required(req, body, "fileId", &file_id) ||
	    !body_string_required(req, body, "legalHold", &hold))
		return;
	if (strcmp(hold, "on") != 0 && strcmp(hold, "off") != 0) {
		reply_error(req, 400, "bad_request", "legalHold must be on or off");
		return;
	}
	struct b2_error error;
	json_object *result = store_update_file_legal_hold(key, file_name, file_id,
							   strcmp(hold, "on") == 0, &error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void handle_copy_file(struct request *req, json_object *body)
{
	const struct key *key = require_account(req, CAP_WRITE_FILES);
	struct copy_request copy = {.api_version = req->api_version};
	const char *range, *directive;
	if (!key || !body_string_required(req, body, "sourceFileId", &copy.source_file_id) ||
	    !body_string_required(req, body, "fileName", &copy.file_name) ||
	    !body_string(req, body, "destinationBucketId", &copy.destination_bucket_id) ||
	    !body_string(req, body, "range", &range) ||
	    !body_string(req, body, "metadataDirective", &directive) ||
	    !body_string(req, body, "contentType", &copy.content_type))
		return;
	if (!key_has(key, CAP_READ_FILES)) {
		reply_error(req, 401, "unauthorized", "Copying needs readFiles too");
		return;
	}
	const char *problem = file_name_problem(copy.file_name);
	if (problem) {
		reply_error(req, 400, "bad_request", "%s", problem);
		return;
	}
	copy.replace_metadata = directive && strcmp(directive, "REPLACE") == 0;
	if (directive && !copy.replace_metadata && strcmp(directive, "COPY") != 0) {
		reply_error(req, 400, "bad_request", "metadataDirective must be COPY or REPLACE");
		return;
	}
	if (copy.replace_metadata != (copy.content_type != NULL)) {
		reply_error(req, 400, "bad_request",
			    "contentType is required with REPLACE and forbidden with COPY");
		return;
	}
	json_object_object_get_ex(body, "fileInfo", &copy.file_info);
	if (copy.file_info && (!copy.replace_metadata || !json_object_is_type(copy.file_info, json_type_object))) {
		reply_error(req, 400, "bad_request", "fileInfo is an object, only allowed with REPLACE");
		return;
	}
	if (range) {
		bool satisfiable;
		copy.has_range = true;
		/* The source length is not known here: parse against the largest size. */
		if (!parse_byte_range(range, UINT64_MAX, &copy.range_first, &copy.range_last, &satisfiable) ||
		    strncmp(range, "bytes=-", 7) == 0) {
			reply_error(req, 400, "bad_request", "Malformed range: %s", range);
			return;
		}
	}
	struct b2_error error;
	struct protection source_key;
	protection_init(&source_key);
	protection_init(&copy.destination);
	json_object *source_sse = NULL, *destination_sse = NULL, *retention = NULL, *hold = NULL;
	json_object_object_get_ex(body, "sourceServerSideEncryption", &source_sse);
	json_object_object_get_ex(body, "destinationServerSideEncryption", &destination_sse);
	json_object_object_get_ex(body, "fileRetention", &retention);
	json_object_object_get_ex(body, "legalHold", &hold);
	if (!protection_sse_from_json(source_sse, &source_key, &error) ||
	    !protection_sse_from_json(destination_sse, &copy.destination, &error) ||
	    !protection_lock_from_json(retention, hold, &copy.destination, &error)) {
		reply_b2_error(req, &error);
		return;
	}
	snprintf(copy.source_key_md5, sizeof copy.source_key_md5, "%s", source_key.key_md5);
	json_object *result = store_copy_file(key, &copy, &error);
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}
