/* protection.c — SSE-B2, SSE-C and Object Lock settings of file versions (see protection.h), in
 * the shapes b2sdk sends and reads: headers on uploads and downloads, JSON on the API calls. */
#include "protection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "server.h"

void protection_init(struct protection *protection)
{
	memset(protection, 0, sizeof *protection);
	protection->legal_hold = -1;
}

/* A base64 key of 32 bytes and the base64 of its MD5, as B2 takes them; md5 out. */
static bool check_customer_key(const char *algorithm, const char *key, const char *key_md5,
			       char md5[SSE_C_MD5_MAX], struct b2_error *error)
{
	if (!algorithm || strcmp(algorithm, "AES256") != 0) {
		b2_error_set(error, 400, "bad_request", "SSE-C algorithm must be AES256");
		return false;
	}
	unsigned char raw[64], digest[16];
	size_t length = key ? strlen(key) : 0;
	int decoded = length == 44 ? EVP_DecodeBlock(raw, (const unsigned char *)key, 44) : -1;
	/* 44 base64 characters with one '=' decode to 33 bytes of which the last is padding */
	if (decoded != 33 || key[43] != '=' || key[42] == '=') {
		b2_error_set(error, 400, "bad_request", "SSE-C key must be 32 bytes, base64-encoded");
		return false;
	}
	unsigned int digest_length = 0;
	EVP_Digest(raw, 32, digest, &digest_length, EVP_md5(), NULL);
	char expected[SSE_C_MD5_MAX];
	EVP_EncodeBlock((unsigned char *)expected, digest, 16);
	memset(raw, 0, sizeof raw);
	if (!key_md5 || strcmp(key_md5, expected) != 0) {
		b2_error_set(error, 400, "bad_request", "SSE-C key MD5 does not match the key");
		return false;
	}
	snprintf(md5, SSE_C_MD5_MAX, "%s", expected);
	return true;
}

static bool retention_checked(const char *mode, int64_t until, bool has_until,
			      struct protection *protection, struct b2_error *error)
{
	if (!mode && !has_until)
		return true;
	if (!mode || (strcmp(mode, "governance") != 0 && strcmp(mode, "compliance") != 0)) {
		b2_error_set(error, 400, "bad_request", "retention mode must be governance or compliance");
		return false;
	}
	if (!has_until || until <= now_ms()) {
		b2_error_set(error, 400, "bad_request", "retainUntilTimestamp must be in the future");
		return false;
	}
	snprintf(protection->retention, sizeof protection->retention, "%s", mode);
	protection->retain_until = until;
	return true;
}

static bool legal_hold_checked(const char *hold, struct protection *protection,
			       struct b2_error *error)
{
	if (!hold)
		return true;
	if (strcmp(hold, "on") != 0 && strcmp(hold, "off") != 0) {
		b2_error_set(error, 400, "bad_request", "legal hold must be on or off");
		return false;
	}
	protection->legal_hold = strcmp(hold, "on") == 0;
	return true;
}

bool protection_from_headers(struct request *req, struct protection *protection,
			     struct b2_error *error)
{
	protection_init(protection);
	const char *sse = request_header(req, "X-Bz-Server-Side-Encryption");
	const char *algorithm = request_header(req, "X-Bz-Server-Side-Encryption-Customer-Algorithm");
	if (sse && algorithm) {
		b2_error_set(error, 400, "bad_request", "SSE-B2 and SSE-C headers together");
		return false;
	}
	if (sse) {
		if (strcmp(sse, "AES256") != 0) {
			b2_error_set(error, 400, "bad_request", "X-Bz-Server-Side-Encryption must be AES256");
			return false;
		}
		snprintf(protection->mode, sizeof protection->mode, "SSE-B2");
	} else {
		char md5[SSE_C_MD5_MAX];
		if (!sse_c_key_from_headers(req, md5, error))
			return false;
		if (md5[0]) {
			snprintf(protection->mode, sizeof protection->mode, "SSE-C");
			snprintf(protection->key_md5, sizeof protection->key_md5, "%s", md5);
		}
	}
	const char *mode = request_header(req, "X-Bz-File-Retention-Mode");
	const char *until_text = request_header(req, "X-Bz-File-Retention-Retain-Until-Timestamp");
	char *end = NULL;
	long long until = until_text ? strtoll(until_text, &end, 10) : 0;
	if (until_text && (!*until_text || *end)) {
		b2_error_set(error, 400, "bad_request", "X-Bz-File-Retention-Retain-Until-Timestamp "
			     "must be milliseconds");
		return false;
	}
	return retention_checked(mode, until, until_text != NULL, protection, error) &&
	       legal_hold_checked(request_header(req, "X-Bz-File-Legal-Hold"), protection, error);
}

bool sse_c_key_from_headers(struct request *req, char md5[SSE_C_MD5_MAX], struct b2_error *error)
{
	md5[0] = '\0';
	const char *algorithm = request_header(req, "X-Bz-Server-Side-Encryption-Customer-Algorithm");
	const char *key = request_header(req, "X-Bz-Server-Side-Encryption-Customer-Key");
	const char *key_md5 = request_header(req, "X-Bz-Server-Side-Encryption-Customer-Key-Md5");
	if (!algorithm && !key && !key_md5)
		return true;
	return check_customer_key(algorithm, key, key_md5, md5, error);
}

static const char *member_string(json_object *object, const char *name, bool *bad)
{
	json_object *member;
	if (!object || !json_object_object_get_ex(object, name, &member) || !member)
		return NULL;
	if (!json_object_is_type(member, json_type_string)) {
		*bad = true;
		return NULL;
	}
	return json_object_get_string(member);
}

bool protection_sse_from_json(json_object *sse, struct protection *protection, struct b2_error *error)
{
	if (!sse)
		return true;
	bool bad = !json_object_is_type(sse, json_type_object);
	const char *mode = member_string(sse, "mode", &bad);
	const char *algorithm = member_string(sse, "algorithm", &bad);
	if (bad) {
		b2_error_set(error, 400, "bad_request", "serverSideEncryption must be an object of strings");
		return false;
	}
	if (!mode || strcmp(mode, "none") == 0)
		return true;
	if (strcmp(mode, "SSE-B2") == 0) {
		if (algorithm && strcmp(algorithm, "AES256") != 0) {
			b2_error_set(error, 400, "bad_request", "SSE-B2 algorithm must be AES256");
			return false;
		}
		snprintf(protection->mode, sizeof protection->mode, "SSE-B2");
		return true;
	}
	if (strcmp(mode, "SSE-C") != 0) {
		b2_error_set(error, 400, "bad_request", "unknown serverSideEncryption mode %s", mode);
		return false;
	}
	char md5[SSE_C_MD5_MAX];
	if (!check_customer_key(algorithm, member_string(sse, "customerKey", &bad),
				member_string(sse, "customerKeyMd5", &bad), md5, error))
		return false;
	snprintf(protection->mode, sizeof protection->mode, "SSE-C");
	snprintf(protection->key_md5, sizeof protection->key_md5, "%s", md5);
	return true;
}

bool protection_lock_from_json(json_object *retention, json_object *hold,
			       struct protection *protection, struct b2_error *error)
{
	bool bad = retention && !json_object_is_type(retention, json_type_object);
	const char *mode = member_string(retention, "mode", &bad);
	json_object *until = NULL;
	if (retention)
		json_object_object_get_ex(retention, "retainUntilTimestamp", &until);
	if (bad || (until && !json_object_is_type(until, json_type_int)) ||
	    (hold && !json_object_is_type(hold, json_type_string))) {
		b2_error_set(error, 400, "bad_request", "fileRetention or legalHold is malformed");
		return false;
	}
	return retention_checked(mode, until ? json_object_get_int64(until) : 0, until != NULL,
				 protection, error) &&
	       legal_hold_checked(hold ? json_object_get_string(hold) : NULL, protection, error);
}

bool protection_wants_lock(const struct protection *protection)
{
	return protection->retention[0] || protection->legal_hold >= 0;
}

bool protection_check_key(const struct protection *file, const char *md5, struct b2_error *error)
{
	if (strcmp(file->mode, "SSE-C") != 0)
		return true;
	if (!md5 || !md5[0]) {
		b2_error_set(error, 403, "access_denied", "The file is encrypted with SSE-C: the "
			     "request must give its key");
		return false;
	}
	if (strcmp(md5, file->key_md5) != 0) {
		b2_error_set(error, 403, "access_denied", "The SSE-C key does not match the file's");
		return false;
	}
	return true;
}

json_object *protection_sse_json(const struct protection *protection)
{
	json_object *sse = json_object_new_object();
	if (!protection || !protection->mode[0]) {
		json_object_object_add(sse, "algorithm", NULL);
		json_object_object_add(sse, "mode", NULL);
		return sse;
	}
	/* The key's MD5 stays out too: B2 answers with mode and algorithm only. */
	json_object_object_add(sse, "algorithm", json_object_new_string("AES256"));
	json_object_object_add(sse, "mode", json_object_new_string(protection->mode));
	return sse;
}

json_object *protection_retention_json(const struct protection *protection)
{
	json_object *value = json_object_new_object();
	bool has = protection && protection->retention[0];
	json_object_object_add(value, "mode", has ? json_object_new_string(protection->retention) : NULL);
	json_object_object_add(value, "retainUntilTimestamp",
			       has ? json_object_new_int64(protection->retain_until) : NULL);
	json_object *retention = json_object_new_object();
	json_object_object_add(retention, "isClientAuthorizedToRead", json_object_new_boolean(1));
	json_object_object_add(retention, "value", value);
	return retention;
}

json_object *protection_legal_hold_json(const struct protection *protection)
{
	json_object *hold = json_object_new_object();
	json_object_object_add(hold, "isClientAuthorizedToRead", json_object_new_boolean(1));
	json_object_object_add(hold, "value", protection && protection->legal_hold >= 0
						      ? json_object_new_string(protection->legal_hold ? "on" : "off")
						      : NULL);
	return hold;
}
