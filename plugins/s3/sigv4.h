/* sigv4.h — AWS Signature Version 4 for S3: signing requests (Authorization header or presigned
 * query) and verifying them (the test server's side). Pure functions: no I/O, no globals. */
#ifndef STOR_S3_SIGV4_H
#define STOR_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define S3_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define S3_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define S3_SIGV4_STREAMING_PAYLOAD "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
/* SHA-256 of the empty string: the payload hash of a request without a body. */
#define S3_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_SIGV4_MAX_EXPIRES 604800 /* seven days, S3's limit for presigned URLs */
#define S3_SIGV4_MAX_SKEW 900       /* seconds; beyond it RequestTimeTooSkewed */

/* One query parameter, not escaped. value NULL: a parameter without '=' (?uploads), signed as
 * "uploads=". */
struct s3_sigv4_param {
	const char *name;
	const char *value;
};

/* One header as sent: any case, value untrimmed (the signer trims and collapses spaces). */
struct s3_sigv4_header {
	const char *name;
	const char *value;
};

/* A request as the signer sees it. path is the decoded object path ("/bucket/key with space"):
 * the signer escapes each segment once (S3 does not double-encode). Every header given is signed;
 * one of them must be "host". A client passes host, content-type, content-md5, range and x-amz-*
 * (s3_sigv4_header_is_signed says which); the signer adds x-amz-date, x-amz-content-sha256 and
 * x-amz-security-token itself. */
struct s3_sigv4_request {
	const char *method;
	const char *path;
	const struct s3_sigv4_param *params;
	size_t param_count;
	const struct s3_sigv4_header *headers;
	size_t header_count;
	const char *payload_hash; /* 64 lowercase hex digits or UNSIGNED-PAYLOAD; NULL = empty body */
};

struct s3_sigv4_credentials {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL without one */
};

/* Where and when: amz_date "YYYYMMDDTHHMMSSZ" (s3_sigv4_format_date), region "us-east-1",
 * service "s3". */
struct s3_sigv4_scope {
	const char *amz_date;
	const char *region;
	const char *service;
};

/* What to send after signing with a header. Strings are owned: s3_sigv4_signed_free. */
struct s3_sigv4_signed {
	char *authorization;     /* the Authorization header's value */
	char amz_date[17];       /* x-amz-date */
	char content_sha256[65]; /* x-amz-content-sha256 (hex or UNSIGNED-PAYLOAD) */
	const char *session_token; /* x-amz-security-token when not NULL (the caller's string) */
	char signature[65];
};

/* Failures of signing or verification, each with S3's error code (s3_sigv4_error_code). */
enum s3_sigv4_status {
	S3_SIGV4_OK = 0,
	S3_SIGV4_INVALID_ARGUMENT,        /* the caller's input (signing side); also InvalidArgument */
	S3_SIGV4_NO_AUTH,                 /* neither header nor query: AccessDenied (anonymous) */
	S3_SIGV4_SIGNATURE_MISMATCH,      /* SignatureDoesNotMatch */
	S3_SIGV4_INVALID_ACCESS_KEY,      /* InvalidAccessKeyId */
	S3_SIGV4_HEADER_MALFORMED,        /* AuthorizationHeaderMalformed */
	S3_SIGV4_QUERY_MALFORMED,         /* AuthorizationQueryParametersError */
	S3_SIGV4_TIME_SKEWED,             /* RequestTimeTooSkewed */
	S3_SIGV4_EXPIRED,                 /* AccessDenied "Request has expired" */
	S3_SIGV4_UNSIGNED_HEADERS,        /* AccessDenied: an x-amz-* header sent but not signed */
	S3_SIGV4_CONTENT_SHA256_MISMATCH, /* XAmzContentSHA256Mismatch */
	S3_SIGV4_CONTENT_SHA256_INVALID,  /* InvalidArgument: x-amz-content-sha256 not a hash */
	S3_SIGV4_NO_MEMORY,
};

const char *s3_sigv4_error_code(enum s3_sigv4_status status);
/* HTTP status S3 answers with for this failure (403 or 400). */
int s3_sigv4_http_status(enum s3_sigv4_status status);

/* "YYYYMMDDTHHMMSSZ" of a UTC time; false when the year does not fit. */
bool s3_sigv4_format_date(time_t when, char out[17]);
/* The inverse, strict; false on anything else. */
bool s3_sigv4_parse_date(const char *amz_date, time_t *when);

/* Lowercase hex SHA-256 of data. */
void s3_sigv4_sha256_hex(const void *data, size_t size, char out[65]);

/* RFC 3986 escaping as SigV4 wants it: A-Za-z0-9-._~ kept, all else %XX uppercase; '/' kept
 * when keep_slash. Returns a malloc'd string or NULL (no memory). */
char *s3_sigv4_escape(const char *text, size_t length, bool keep_slash);

/* Whether a client should sign this header (host, content-type, content-md5, range, x-amz-*).
 * Case-insensitive. */
bool s3_sigv4_header_is_signed(const char *name);

/* Signs with an Authorization header. error gets a message on failure (never a secret). */
enum s3_sigv4_status s3_sigv4_sign(const struct s3_sigv4_request *request,
				   const struct s3_sigv4_credentials *credentials,
				   const struct s3_sigv4_scope *scope, struct s3_sigv4_signed *out,
				   char *error, size_t error_size);
void s3_sigv4_signed_free(struct s3_sigv4_signed *signed_request);

/* Presigns: *query gets the whole query string to put after '?' (the request's own parameters
 * and X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Security-Token/Signature, escaped,
 * sorted); malloc'd. expires_seconds 1..604800. The payload is UNSIGNED-PAYLOAD. */
enum s3_sigv4_status s3_sigv4_presign(const struct s3_sigv4_request *request,
				      const struct s3_sigv4_credentials *credentials,
				      const struct s3_sigv4_scope *scope, unsigned expires_seconds,
				      char **query, char *error, size_t error_size);

/* ---- verification (the server's side) ---- */

/* The secret of an access key, or NULL when the key is unknown. */
typedef const char *s3_sigv4_secret_lookup(void *context, const char *access_key);

/* A request as received: every query parameter and header from the wire, decoded path. */
struct s3_sigv4_received {
	const char *method;
	const char *path;
	const struct s3_sigv4_param *params;
	size_t param_count;
	const struct s3_sigv4_header *headers;
	size_t header_count;
	time_t now;
	const char *region; /* the server's region; NULL accepts any */
	s3_sigv4_secret_lookup *lookup;
	void *lookup_context;
};

/* What a verified request declared: the payload hash the body must match, and for streaming
 * (aws-chunked) bodies the seed signature and the signing key of the chunk chain. */
struct s3_sigv4_verified {
	bool presigned;
	char access_key[129];
	char amz_date[17];
	char scope[160];           /* date/region/service/aws4_request */
	char payload_hash[65];     /* hex, UNSIGNED-PAYLOAD or STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	char seed_signature[65];
	unsigned char signing_key[32];
};

/* Verifies the Authorization header or the presigned query; message says why it failed. The
 * body is not seen here: check it with s3_sigv4_check_payload. */
enum s3_sigv4_status s3_sigv4_verify(const struct s3_sigv4_received *request,
				     struct s3_sigv4_verified *out, char *message,
				     size_t message_size);

/* The body's SHA-256 (32 raw bytes) against the declared payload hash: OK for UNSIGNED-PAYLOAD,
 * CONTENT_SHA256_MISMATCH when it differs. */
enum s3_sigv4_status s3_sigv4_check_payload(const struct s3_sigv4_verified *verified,
					    const unsigned char body_sha256[32]);

/* The signature of one aws-chunked chunk: previous is the seed or the last chunk's signature. */
void s3_sigv4_chunk_signature(const struct s3_sigv4_verified *verified, const char *previous,
			      const unsigned char chunk_sha256[32], char out[65]);

/* Constant-time comparison of two strings of the same length (false when lengths differ). */
bool s3_sigv4_equal(const char *a, const char *b);

#endif
