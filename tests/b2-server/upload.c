/* upload.c — b2_upload_file and b2_upload_part: headers checked when they arrive, the body
 * streamed into a blob and hashed as it comes (the 40 hex digits of hex_digits_at_end held
 * back), the SHA-1 verified at the end, and the upload token held busy meanwhile. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "auth.h"
#include "blob.h"
#include "json_reply.h"
#include "large_file.h"
#include "names.h"
#include "server.h"
#include "store.h"

#define MAX_FILE_SIZE 5000000000ULL
#define SHA1_HEX_LENGTH 40

struct upload {
	char *token;                 /* claimed upload token, released when the request ends */
	const struct key *key;
	char target_id[128];         /* bucket id (file) or large file id (part) */
	char *file_name, *content_type;
	json_object *file_info;
	int part_number;
	struct blob *blob;
	EVP_MD_CTX *sha1, *md5;      /* B2 reports both: contentSha1 and contentMd5 */
	uint64_t content_length;     /* without the trailing hex digits */
	uint64_t received;
	bool digits_at_end, do_not_verify;
	char expected_sha1[SHA1_HEX_LENGTH + 1];
	char trailer[SHA1_HEX_LENGTH + 1];
	size_t trailer_length;
	struct protection protection; /* encryption and lock asked (file), the SSE-C key (part) */
};

static bool is_sha1_hex(const char *text)
{
	size_t i;
	for (i = 0; i < SHA1_HEX_LENGTH && isxdigit((unsigned char)text[i]); i++)
		;
	return i == SHA1_HEX_LENGTH && text[i] == '\0';
}

/* b2-* info keys B2 knows; every other b2-* key is refused. */
static bool known_b2_info_key(const char *key)
{
	static const char *const known[] = {"b2-content-disposition", "b2-content-language",
					    "b2-expires", "b2-cache-control", "b2-content-encoding"};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (strcmp(key, known[i]) == 0)
			return true;
	return false;
}

static bool info_key_valid(const char *key)
{
	size_t length = strlen(key);
	if (length == 0 || length > 50)
		return false;
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.~!#$%^&*'+`|", *p))
			return false;
	return true;
}

/* B2 limits the file name and all X-Bz-Info-* header lines together to 7,000 bytes. */
#define MAX_NAME_AND_INFO_BYTES 7000

struct info_collector {
	json_object *info;
	const char *problem;
	size_t header_bytes;         /* "name: value\r\n" of the file name and info headers */
};

static enum MHD_Result collect_info_header(void *cls, enum MHD_ValueKind kind, const char *name,
					   const char *value)
{
	struct info_collector *collector = cls;
	(void)kind;
	if (strncasecmp(name, "X-Bz-Info-", 10) != 0)
		return MHD_YES;
	collector->header_bytes += strlen(name) + strlen(value ? value : "") + 4;
	if (collector->header_bytes > MAX_NAME_AND_INFO_BYTES) {
		collector->problem = "File name and X-Bz-Info-* headers exceed 7000 bytes";
		return MHD_NO;
	}
	char key[64];
	size_t length = strlen(name + 10);
	if (length >= sizeof key) {
		collector->problem = "X-Bz-Info-* key too long";
		return MHD_NO;
	}
	for (size_t i = 0; i <= length; i++) /* Go canonicalises header names: B2 lower-cases keys */
		key[i] = (char)tolower((unsigned char)name[10 + i]);
	if (!info_key_valid(key) || (strncmp(key, "b2-", 3) == 0 && !known_b2_info_key(key))) {
		collector->problem = "Invalid X-Bz-Info-* key";
		return MHD_NO;
	}
	char *decoded = percent_decode(value ? value : "", true);
	if (!decoded) {
		collector->problem = "Invalid percent-encoding in X-Bz-Info-* value";
		return MHD_NO;
	}
	json_object_object_add(collector->info, key, json_object_new_string(decoded));
	free(decoded);
	return MHD_YES;
}

static bool parse_content_length(const char *text, uint64_t *length)
{
	char *end;
	if (!text || !isdigit((unsigned char)*text))
		return false;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (errno || *end)
		return false;
	*length = value;
	return true;
}

/* The header checks of b2_upload_file; false after answering. */
static bool begin_file(struct request *req, struct upload *upload)
{
	const char *encoded_name = request_header(req, "X-Bz-File-Name");
	const char *content_type = request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!encoded_name || !content_type || !*content_type) {
		reply_error(req, 400, "bad_request", "X-Bz-File-Name and Content-Type are required");
		return false;
	}
	upload->file_name = percent_decode(encoded_name, true);
	const char *problem = upload->file_name ? file_name_problem(upload->file_name)
						: "Invalid percent-encoding in X-Bz-File-Name";
	if (problem) {
		reply_error(req, 400, "bad_request", "%s", problem);
		return false;
	}
	if (!key_allows_name(upload->key, upload->file_name)) {
		reply_error(req, 401, "unauthorized", "The key is restricted to another name prefix");
		return false;
	}
	upload->content_type = strdup(strcmp(content_type, "b2/x-auto") == 0
					      ? auto_content_type(upload->file_name)
					      : content_type);
	struct info_collector collector = {json_object_new_object(), NULL,
					   strlen("X-Bz-File-Name: \r\n") + strlen(encoded_name)};
	MHD_get_connection_values(req->connection, MHD_HEADER_KIND, collect_info_header, &collector);
	upload->file_info = collector.info;
	if (collector.problem) {
		reply_error(req, 400, "bad_request", "%s", collector.problem);
		return false;
	}
	struct b2_error error;
	if (!protection_from_headers(req, &upload->protection, &error) ||
	    !store_check_bucket(upload->key, upload->target_id, &error)) {
		reply_b2_error(req, &error);
		return false;
	}
	return true;
}

/* The header checks of b2_upload_part; false after answering. */
static bool begin_part(struct request *req, struct upload *upload)
{
	const char *number = request_header(req, "X-Bz-Part-Number");
	char *end = NULL;
	long value = number ? strtol(number, &end, 10) : 0;
	if (!number || *end || value < 1 || value > 10000) {
		reply_error(req, 400, "bad_request", "X-Bz-Part-Number must be 1 to 10000");
		return false;
	}
	upload->part_number = (int)value;
	struct b2_error error;
	protection_init(&upload->protection);
	if (!sse_c_key_from_headers(req, upload->protection.key_md5, &error) ||
	    !store_check_large_file(upload->key, upload->target_id, &error)) {
		reply_b2_error(req, &error);
		return false;
	}
	return true;
}

/* Claims the upload token for this URL; false after answering. */
static bool claim_token(struct request *req, struct upload *upload, const char *url_id)
{
	const char *token = request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	switch (auth_begin_upload(token, url_id, upload->target_id, &upload->key)) {
	case TOKEN_OK:
		upload->token = strdup(token);
		return true;
	case TOKEN_MISSING:
		reply_error(req, 401, "missing_auth_token", "Authorization header is missing");
		return false;
	case TOKEN_EXPIRED:
		reply_error(req, 401, "expired_auth_token", "Authorization token has expired");
		return false;
	case TOKEN_BUSY:
		reply_error(req, 400, "auth_token_limit", "more than one upload using auth token");
		return false;
	default:
		reply_error(req, 401, "bad_auth_token", "Invalid authorization token for this upload URL");
		return false;
	}
}

void upload_begin(struct request *req)
{
	struct upload *upload = calloc(1, sizeof *upload);
	req->upload = upload;
	if (!upload) {
		reply_error(req, 500, "internal_error", "out of memory");
		return;
	}
	if (strcmp(req->method, MHD_HTTP_METHOD_POST) != 0) {
		reply_error(req, 405, "method_not_allowed", "Uploads are POST requests");
		return;
	}
	/* The path is <target id>/<url id>: the token must have been issued for exactly this URL. */
	const char *slash = strrchr(req->path_rest, '/');
	if (!slash || slash == req->path_rest || (size_t)(slash - req->path_rest) >= sizeof upload->target_id) {
		reply_error(req, 404, "not_found", "Unknown upload URL");
		return;
	}
	memcpy(upload->target_id, req->path_rest, (size_t)(slash - req->path_rest));
	const char *transfer_encoding = request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	uint64_t length;
	if (transfer_encoding && strcasestr(transfer_encoding, "chunked")) {
		reply_error(req, 400, "bad_request", "Chunked transfer encoding is not supported");
		return;
	}
	if (!parse_content_length(request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH), &length)) {
		reply_error(req, 400, "bad_request", "Content-Length is required");
		return;
	}
	if (!claim_token(req, upload, slash + 1))
		return;

	const char *sha1 = request_header(req, "X-Bz-Content-Sha1");
	if (!sha1) {
		reply_error(req, 400, "bad_request", "X-Bz-Content-Sha1 is required");
		return;
	}
	upload->digits_at_end = strcmp(sha1, "hex_digits_at_end") == 0;
	upload->do_not_verify = strcmp(sha1, "do_not_verify") == 0;
	if (!upload->digits_at_end && !upload->do_not_verify && !is_sha1_hex(sha1)) {
		reply_error(req, 400, "bad_request", "Invalid X-Bz-Content-Sha1: %.60s", sha1);
		return;
	}
	if (!upload->digits_at_end && !upload->do_not_verify)
		snprintf(upload->expected_sha1, sizeof upload->expected_sha1, "%s", sha1);
	if (upload->digits_at_end && length < SHA1_HEX_LENGTH) {
		reply_error(req, 400, "bad_request", "Content-Length too small for hex_digits_at_end");
		return;
	}
	upload->content_length = length - (upload->digits_at_end ? SHA1_HEX_LENGTH : 0);
	if (upload->content_length > MAX_FILE_SIZE) {
		reply_error(req, 400, "bad_request", "Content-Length above the 5 GB maximum");
		return;
	}
	if (!(req->api == API_UPLOAD_PART ? begin_part(req, upload) : begin_file(req, upload)))
		return;
	if (!store_has_room(upload->content_length)) {
		reply_error(req, 403, "storage_cap_exceeded", "Cannot upload files, storage cap exceeded.");
		return;
	}
	upload->blob = blob_create(upload->content_length);
	upload->sha1 = EVP_MD_CTX_new();
	upload->md5 = EVP_MD_CTX_new();
	if (!upload->blob || !upload->sha1 || !upload->md5 ||
	    EVP_DigestInit_ex(upload->sha1, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestInit_ex(upload->md5, EVP_md5(), NULL) != 1)
		reply_error(req, 500, "internal_error", "Cannot store the upload");
}

void upload_receive(struct request *req, const char *data, size_t size)
{
	struct upload *upload = req->upload;
	if (!upload || !upload->blob || request_has_reply(req))
		return; /* answered already: the rest of the body is read and dropped */
	uint64_t content_left = upload->content_length - (upload->received < upload->content_length
								  ? upload->received
								  : upload->content_length);
	size_t content = size < content_left ? size : (size_t)content_left;
	if (content > 0 && (!blob_append(upload->blob, data, content) ||
			    EVP_DigestUpdate(upload->sha1, data, content) != 1 ||
			    EVP_DigestUpdate(upload->md5, data, content) != 1)) {
		reply_error(req, 500, "internal_error", "Cannot store the upload");
		return;
	}
	size_t trailer = size - content;
	if (trailer > SHA1_HEX_LENGTH - upload->trailer_length)
		trailer = SHA1_HEX_LENGTH - upload->trailer_length;
	memcpy(upload->trailer + upload->trailer_length, data + content, trailer);
	upload->trailer_length += trailer;
	upload->received += size;
}

void upload_finish(struct request *req)
{
	struct upload *upload = req->upload;
	if (!upload || request_has_reply(req))
		return;
	unsigned char digest[20], md5_digest[16];
	char actual[SHA1_HEX_LENGTH + 1], stored[64], md5[33];
	EVP_DigestFinal_ex(upload->sha1, digest, NULL);
	EVP_DigestFinal_ex(upload->md5, md5_digest, NULL);
	for (int i = 0; i < 20; i++)
		snprintf(actual + 2 * i, 3, "%02x", digest[i]);
	for (int i = 0; i < 16; i++)
		snprintf(md5 + 2 * i, 3, "%02x", md5_digest[i]);
	if (upload->digits_at_end) {
		upload->trailer[upload->trailer_length] = '\0';
		if (!is_sha1_hex(upload->trailer)) {
			reply_error(req, 400, "bad_request", "The last 40 bytes are not a hex SHA-1");
			return;
		}
		memcpy(upload->expected_sha1, upload->trailer, sizeof upload->expected_sha1);
	}
	if (!upload->do_not_verify && strcasecmp(upload->expected_sha1, actual) != 0) {
		reply_error(req, 400, "bad_request", "Sha1 did not match data received");
		return;
	}
	snprintf(stored, sizeof stored, "%s%s", upload->do_not_verify ? "unverified:" : "", actual);
	blob_seal(upload->blob);

	struct b2_error error;
	json_object *result;
	if (req->api == API_UPLOAD_PART) {
		result = store_put_part(upload->target_id, upload->part_number, upload->blob, stored, md5,
					upload->protection.key_md5, &error);
	} else {
		struct new_upload file = {
			.key = upload->key,
			.bucket_id = upload->target_id,
			.file_name = upload->file_name,
			.content_type = upload->content_type,
			.sha1 = stored,
			.md5 = md5,
			.file_info = upload->file_info,
			.blob = upload->blob,
			.api_version = req->api_version,
			.protection = upload->protection,
		};
		upload->file_info = NULL; /* taken by the store */
		result = store_add_upload(&file, &error);
	}
	if (result)
		reply_json(req, 200, result);
	else
		reply_b2_error(req, &error);
}

void upload_release(struct request *req)
{
	struct upload *upload = req->upload;
	if (!upload)
		return;
	if (upload->token) {
		auth_end_upload(upload->token);
		free(upload->token);
	}
	blob_unref(upload->blob);
	EVP_MD_CTX_free(upload->sha1);
	EVP_MD_CTX_free(upload->md5);
	json_object_put(upload->file_info);
	free(upload->file_name);
	free(upload->content_type);
	free(upload);
	req->upload = NULL;
}
