/* protection.h — server-side encryption and Object Lock as B2 keeps them: what an upload, a large
 * file's start or a copy asks for (headers or JSON), checked, and shown back in file JSON. */
#ifndef B2_PROTECTION_H
#define B2_PROTECTION_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "json_reply.h"

struct request;

#define SSE_C_MD5_MAX 32 /* base64 of 16 bytes is 24 characters */

struct protection {
	char mode[8];                /* "", "SSE-B2" or "SSE-C" */
	char key_md5[SSE_C_MD5_MAX]; /* SSE-C: base64 MD5 of the customer's key (never the key) */
	char retention[16];          /* "", "governance" or "compliance" */
	int64_t retain_until;        /* ms, with retention */
	int legal_hold;              /* -1 not asked, 0 off, 1 on */
};

void protection_init(struct protection *protection);
/* b2_upload_file's X-Bz-Server-Side-Encryption* and X-Bz-File-* headers. */
bool protection_from_headers(struct request *req, struct protection *protection,
			     struct b2_error *error);
/* The SSE-C key a download or a part sends (Customer-Algorithm/-Key/-Key-Md5): its MD5 in md5,
 * "" when none was sent; false (bad key) with error set. */
bool sse_c_key_from_headers(struct request *req, char md5[SSE_C_MD5_MAX], struct b2_error *error);
/* serverSideEncryption / destinationServerSideEncryption / sourceServerSideEncryption JSON (may
 * be NULL), fileRetention and legalHold (may be NULL). */
bool protection_sse_from_json(json_object *sse, struct protection *protection, struct b2_error *error);
bool protection_lock_from_json(json_object *retention, json_object *hold,
			       struct protection *protection, struct b2_error *error);
/* Whether retention or a legal hold is asked for. */
bool protection_wants_lock(const struct protection *protection);
/* B2's answer for an SSE-C file read with md5 (""= no key): true if it may be read. */
bool protection_check_key(const struct protection *file, const char *md5, struct b2_error *error);

json_object *protection_sse_json(const struct protection *protection);
json_object *protection_retention_json(const struct protection *protection);
json_object *protection_legal_hold_json(const struct protection *protection);

#endif
