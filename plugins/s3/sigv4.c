/* sigv4.c — AWS Signature Version 4 as S3 uses it: canonical request, string to sign, signing
 * key, Authorization header and presigned query; the verifier the S3 test server runs. */
#include "sigv4.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ---- a growing string ---- */

struct text {
	char *data;
	size_t length, capacity;
	bool failed;
};

static void text_append(struct text *text, const char *data, size_t length)
{
	if (text->failed)
		return;
	if (text->length + length + 1 > text->capacity) {
		size_t capacity = text->capacity ? text->capacity : 256;
		while (capacity < text->length + length + 1)
			capacity *= 2;
		char *grown = realloc(text->data, capacity);
		if (!grown) {
			text->failed = true;
			return;
		}
		text->data = grown;
		text->capacity = capacity;
	}
	memcpy(text->data + text->length, data, length);
	text->length += length;
	text->data[text->length] = '\0';
}

static void text_add(struct text *text, const char *string)
{
	text_append(text, string, strlen(string));
}

static void text_escape(struct text *text, const char *string, size_t length, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)string[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			text_append(text, (const char *)&c, 1);
		} else {
			char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
			text_append(text, escaped, 3);
		}
	}
}

static void set_error(char *error, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t size, const char *format, ...)
{
	if (!error || !size)
		return;
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(error, size, format, arguments);
	va_end(arguments);
}

/* ---- primitives ---- */

static void to_hex(const unsigned char *bytes, size_t size, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < size; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[2 * size] = '\0';
}

static void sha256(const void *data, size_t size, unsigned char out[32])
{
	unsigned int length = 32;
	EVP_Digest(data, size, out, &length, EVP_sha256(), NULL);
}

void s3_sigv4_sha256_hex(const void *data, size_t size, char out[65])
{
	unsigned char digest[32];
	sha256(data, size, digest);
	to_hex(digest, 32, out);
}

static void hmac(const void *key, size_t key_size, const char *data, size_t size,
		 unsigned char out[32])
{
	unsigned int length = 32;
	HMAC(EVP_sha256(), key, (int)key_size, (const unsigned char *)data, size, out, &length);
}

static void signing_key(const char *secret, const char *date8, const char *region,
			const char *service, unsigned char out[32])
{
	size_t secret_length = strlen(secret);
	char *key = malloc(secret_length + 5);
	unsigned char step[32];
	if (!key) {
		memset(out, 0, 32);
		return;
	}
	memcpy(key, "AWS4", 4);
	memcpy(key + 4, secret, secret_length + 1);
	hmac(key, secret_length + 4, date8, 8, step);
	OPENSSL_cleanse(key, secret_length + 4);
	free(key);
	hmac(step, 32, region, strlen(region), step);
	hmac(step, 32, service, strlen(service), step);
	hmac(step, 32, "aws4_request", 12, out);
	OPENSSL_cleanse(step, sizeof step);
}

bool s3_sigv4_equal(const char *a, const char *b)
{
	size_t length = strlen(a);
	if (length != strlen(b))
		return false;
	return CRYPTO_memcmp(a, b, length) == 0;
}

bool s3_sigv4_format_date(time_t when, char out[17])
{
	struct tm utc;
	if (!gmtime_r(&when, &utc) || utc.tm_year + 1900 > 9999 || utc.tm_year + 1900 < 0)
		return false;
	return strftime(out, 17, "%Y%m%dT%H%M%SZ", &utc) == 16;
}

bool s3_sigv4_parse_date(const char *amz_date, time_t *when)
{
	if (!amz_date || strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)amz_date[i]))
			return false;
	struct tm utc = {0};
	char *end = strptime(amz_date, "%Y%m%dT%H%M%SZ", &utc);
	if (!end || *end)
		return false;
	*when = timegm(&utc);
	return true;
}

char *s3_sigv4_escape(const char *text, size_t length, bool keep_slash)
{
	struct text out = {0};
	text_escape(&out, text, length, keep_slash);
	text_append(&out, "", 0);
	if (out.failed) {
		free(out.data);
		return NULL;
	}
	return out.data;
}

bool s3_sigv4_header_is_signed(const char *name)
{
	return strcasecmp(name, "host") == 0 || strcasecmp(name, "content-type") == 0 ||
	       strcasecmp(name, "content-md5") == 0 || strcasecmp(name, "range") == 0 ||
	       strncasecmp(name, "x-amz-", 6) == 0;
}

const char *s3_sigv4_error_code(enum s3_sigv4_status status)
{
	switch (status) {
	case S3_SIGV4_OK: return "OK";
	case S3_SIGV4_INVALID_ARGUMENT: return "InvalidArgument";
	case S3_SIGV4_NO_AUTH: return "AccessDenied";
	case S3_SIGV4_SIGNATURE_MISMATCH: return "SignatureDoesNotMatch";
	case S3_SIGV4_INVALID_ACCESS_KEY: return "InvalidAccessKeyId";
	case S3_SIGV4_HEADER_MALFORMED: return "AuthorizationHeaderMalformed";
	case S3_SIGV4_QUERY_MALFORMED: return "AuthorizationQueryParametersError";
	case S3_SIGV4_TIME_SKEWED: return "RequestTimeTooSkewed";
	case S3_SIGV4_EXPIRED: return "AccessDenied";
	case S3_SIGV4_UNSIGNED_HEADERS: return "AccessDenied";
	case S3_SIGV4_CONTENT_SHA256_MISMATCH: return "XAmzContentSHA256Mismatch";
	case S3_SIGV4_CONTENT_SHA256_INVALID: return "InvalidArgument";
	case S3_SIGV4_NO_MEMORY: return "InternalError";
	}
	return "InternalError";
}

int s3_sigv4_http_status(enum s3_sigv4_status status)
{
	switch (status) {
	case S3_SIGV4_OK: return 200;
	case S3_SIGV4_INVALID_ARGUMENT:
	case S3_SIGV4_HEADER_MALFORMED:
	case S3_SIGV4_QUERY_MALFORMED:
	case S3_SIGV4_CONTENT_SHA256_MISMATCH:
	case S3_SIGV4_CONTENT_SHA256_INVALID: return 400;
	case S3_SIGV4_NO_MEMORY: return 500;
	default: return 403;
	}
}

/* ---- canonical request ---- */

struct canonical_header {
	char *name;  /* lowercased */
	char *value; /* trimmed, inner runs of spaces collapsed */
};

struct canonical_param {
	char *name, *value; /* escaped */
};

static int compare_headers(const void *a, const void *b)
{
	return strcmp(((const struct canonical_header *)a)->name,
		      ((const struct canonical_header *)b)->name);
}

static int compare_params(const void *a, const void *b)
{
	const struct canonical_param *x = a, *y = b;
	int by_name = strcmp(x->name, y->name);
	return by_name ? by_name : strcmp(x->value, y->value);
}

static char *normalize_value(const char *value)
{
	size_t length = strlen(value);
	char *out = malloc(length + 1), *p = out;
	if (!out)
		return NULL;
	const char *start = value, *end = value + length;
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	bool space = false;
	for (const char *c = start; c < end; c++) {
		if (*c == ' ' || *c == '\t') {
			space = true;
			continue;
		}
		if (space)
			*p++ = ' ';
		space = false;
		*p++ = *c;
	}
	*p = '\0';
	return out;
}

static void free_headers(struct canonical_header *headers, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(headers[i].name);
		free(headers[i].value);
	}
	free(headers);
}

/* Lowercases, normalizes, sorts and merges same-named headers (values joined with ','). */
static struct canonical_header *canonical_headers(const struct s3_sigv4_header *headers,
						  size_t count, size_t *merged_count)
{
	struct canonical_header *out = calloc(count ? count : 1, sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		out[i].name = strdup(headers[i].name);
		out[i].value = normalize_value(headers[i].value ? headers[i].value : "");
		if (!out[i].name || !out[i].value) {
			free_headers(out, i + 1);
			return NULL;
		}
		for (char *c = out[i].name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	/* A stable merge keeps the order of repeated headers: insertion sort (few headers). */
	for (size_t i = 1; i < count; i++)
		for (size_t j = i; j > 0 && compare_headers(&out[j - 1], &out[j]) > 0; j--) {
			struct canonical_header swap = out[j];
			out[j] = out[j - 1];
			out[j - 1] = swap;
		}
	size_t kept = 0;
	for (size_t i = 0; i < count; i++) {
		if (kept > 0 && strcmp(out[kept - 1].name, out[i].name) == 0) {
			struct canonical_header *last = &out[kept - 1];
			size_t a = strlen(last->value), b = strlen(out[i].value);
			char *joined = malloc(a + b + 2);
			if (!joined) {
				free_headers(out, count);
				return NULL;
			}
			memcpy(joined, last->value, a);
			joined[a] = ',';
			memcpy(joined + a + 1, out[i].value, b + 1);
			free(last->value);
			last->value = joined;
			free(out[i].name);
			free(out[i].value);
			out[i].name = out[i].value = NULL;
			continue;
		}
		out[kept++] = out[i];
		if (kept - 1 != i)
			out[i].name = out[i].value = NULL;
	}
	*merged_count = kept;
	return out;
}

static void canonical_query(struct text *text, const struct s3_sigv4_param *params, size_t count,
			    const char *skip)
{
	struct canonical_param *sorted = calloc(count ? count : 1, sizeof *sorted);
	size_t used = 0;
	if (!sorted) {
		text->failed = true;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if (skip && strcmp(params[i].name, skip) == 0)
			continue;
		const char *value = params[i].value ? params[i].value : "";
		sorted[used].name = s3_sigv4_escape(params[i].name, strlen(params[i].name), false);
		sorted[used].value = s3_sigv4_escape(value, strlen(value), false);
		used++;
		if (!sorted[used - 1].name || !sorted[used - 1].value)
			text->failed = true;
	}
	if (!text->failed) {
		if (used > 1)
			qsort(sorted, used, sizeof *sorted, compare_params);
		for (size_t i = 0; i < used; i++) {
			if (i)
				text_add(text, "&");
			text_add(text, sorted[i].name);
			text_add(text, "=");
			text_add(text, sorted[i].value);
		}
	}
	for (size_t i = 0; i < used; i++) {
		free(sorted[i].name);
		free(sorted[i].value);
	}
	free(sorted);
}

/* The string to sign's last line is the hash of this; signed_names gets "a;b;c". */
static bool canonical_request(struct text *out, struct text *signed_names, const char *method,
			      const char *path, const struct s3_sigv4_param *params,
			      size_t param_count, const char *skip_param,
			      const struct s3_sigv4_header *headers, size_t header_count,
			      const char *payload_hash)
{
	size_t count = 0;
	struct canonical_header *canonical = canonical_headers(headers, header_count, &count);
	if (!canonical)
		return false;
	text_add(out, method);
	text_add(out, "\n");
	text_escape(out, path, strlen(path), true);
	text_add(out, "\n");
	canonical_query(out, params, param_count, skip_param);
	text_add(out, "\n");
	for (size_t i = 0; i < count; i++) {
		text_add(out, canonical[i].name);
		text_add(out, ":");
		text_add(out, canonical[i].value);
		text_add(out, "\n");
		if (i)
			text_add(signed_names, ";");
		text_add(signed_names, canonical[i].name);
	}
	text_add(out, "\n");
	text_add(out, signed_names->data ? signed_names->data : "");
	text_add(out, "\n");
	text_add(out, payload_hash);
	free_headers(canonical, count);
	return !out->failed && !signed_names->failed;
}

static void credential_scope(char *out, size_t size, const struct s3_sigv4_scope *scope)
{
	snprintf(out, size, "%.8s/%s/%s/aws4_request", scope->amz_date, scope->region, scope->service);
}

/* hex signature of a canonical request */
static void signature_of(const struct text *canonical, const char *amz_date, const char *scope,
			 const unsigned char key[32], char out[65])
{
	char hash[65];
	s3_sigv4_sha256_hex(canonical->data, canonical->length, hash);
	struct text to_sign = {0};
	text_add(&to_sign, S3_SIGV4_ALGORITHM "\n");
	text_add(&to_sign, amz_date);
	text_add(&to_sign, "\n");
	text_add(&to_sign, scope);
	text_add(&to_sign, "\n");
	text_add(&to_sign, hash);
	unsigned char mac[32];
	if (to_sign.failed)
		memset(mac, 0, sizeof mac);
	else
		hmac(key, 32, to_sign.data, to_sign.length, mac);
	to_hex(mac, 32, out);
	free(to_sign.data);
}

static bool valid_payload_hash(const char *hash)
{
	if (strcmp(hash, S3_SIGV4_UNSIGNED_PAYLOAD) == 0 || strcmp(hash, S3_SIGV4_STREAMING_PAYLOAD) == 0)
		return true;
	if (strlen(hash) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!isdigit((unsigned char)hash[i]) && !(hash[i] >= 'a' && hash[i] <= 'f'))
			return false;
	return true;
}

static bool scope_part_ok(const char *part)
{
	if (!part || !*part || strlen(part) > 40)
		return false;
	for (const char *c = part; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-')
			return false;
	return true;
}

static enum s3_sigv4_status check_input(const struct s3_sigv4_request *request,
					const struct s3_sigv4_credentials *credentials,
					const struct s3_sigv4_scope *scope, char *error,
					size_t error_size)
{
	time_t when;
	if (!request || !request->method || !*request->method || !request->path ||
	    request->path[0] != '/') {
		set_error(error, error_size, "the request needs a method and a path starting with '/'");
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	if (!credentials || !credentials->access_key || !*credentials->access_key ||
	    strchr(credentials->access_key, '/') || !credentials->secret_key ||
	    !*credentials->secret_key) {
		set_error(error, error_size, "an access key (without '/') and a secret key are needed");
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	if (!scope || !s3_sigv4_parse_date(scope->amz_date, &when)) {
		set_error(error, error_size, "the date must be YYYYMMDDTHHMMSSZ");
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	if (!scope_part_ok(scope->region) || !scope_part_ok(scope->service)) {
		set_error(error, error_size, "region and service must be letters, digits and '-'");
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	bool host = false;
	for (size_t i = 0; i < request->header_count; i++) {
		const char *name = request->headers[i].name;
		if (!name || !*name || strpbrk(name, ":\r\n ") ||
		    (request->headers[i].value && strpbrk(request->headers[i].value, "\r\n"))) {
			set_error(error, error_size, "header %zu has an invalid name or value", i + 1);
			return S3_SIGV4_INVALID_ARGUMENT;
		}
		if (strcasecmp(name, "x-amz-date") == 0 || strcasecmp(name, "x-amz-content-sha256") == 0 ||
		    strcasecmp(name, "x-amz-security-token") == 0 || strcasecmp(name, "authorization") == 0) {
			set_error(error, error_size, "header %s is the signer's to set", name);
			return S3_SIGV4_INVALID_ARGUMENT;
		}
		host |= strcasecmp(name, "host") == 0;
	}
	if (!host) {
		set_error(error, error_size, "the host header must be signed");
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < request->param_count; i++)
		if (!request->params[i].name || !*request->params[i].name) {
			set_error(error, error_size, "query parameter %zu has no name", i + 1);
			return S3_SIGV4_INVALID_ARGUMENT;
		}
	return S3_SIGV4_OK;
}

enum s3_sigv4_status s3_sigv4_sign(const struct s3_sigv4_request *request,
				   const struct s3_sigv4_credentials *credentials,
				   const struct s3_sigv4_scope *scope, struct s3_sigv4_signed *out,
				   char *error, size_t error_size)
{
	memset(out, 0, sizeof *out);
	enum s3_sigv4_status status = check_input(request, credentials, scope, error, error_size);
	if (status != S3_SIGV4_OK)
		return status;
	const char *payload = request->payload_hash ? request->payload_hash : S3_SIGV4_EMPTY_SHA256;
	if (!valid_payload_hash(payload)) {
		set_error(error, error_size, "the payload hash must be 64 lowercase hex digits or %s",
			  S3_SIGV4_UNSIGNED_PAYLOAD);
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	size_t count = request->header_count + 3;
	struct s3_sigv4_header *headers = calloc(count, sizeof *headers);
	if (!headers)
		return S3_SIGV4_NO_MEMORY;
	if (request->header_count)
		memcpy(headers, request->headers, request->header_count * sizeof *headers);
	snprintf(out->amz_date, sizeof out->amz_date, "%s", scope->amz_date);
	snprintf(out->content_sha256, sizeof out->content_sha256, "%s", payload);
	count = request->header_count;
	headers[count++] = (struct s3_sigv4_header){"x-amz-date", out->amz_date};
	headers[count++] = (struct s3_sigv4_header){"x-amz-content-sha256", out->content_sha256};
	if (credentials->session_token)
		headers[count++] = (struct s3_sigv4_header){"x-amz-security-token", credentials->session_token};
	out->session_token = credentials->session_token;

	struct text canonical = {0}, names = {0}, header = {0};
	char scope_text[160];
	unsigned char key[32];
	credential_scope(scope_text, sizeof scope_text, scope);
	status = S3_SIGV4_NO_MEMORY;
	if (canonical_request(&canonical, &names, request->method, request->path, request->params,
			      request->param_count, NULL, headers, count, payload)) {
		signing_key(credentials->secret_key, scope->amz_date, scope->region, scope->service, key);
		signature_of(&canonical, scope->amz_date, scope_text, key, out->signature);
		OPENSSL_cleanse(key, sizeof key);
		text_add(&header, S3_SIGV4_ALGORITHM " Credential=");
		text_add(&header, credentials->access_key);
		text_add(&header, "/");
		text_add(&header, scope_text);
		text_add(&header, ",SignedHeaders=");
		text_add(&header, names.data);
		text_add(&header, ",Signature=");
		text_add(&header, out->signature);
		if (!header.failed) {
			out->authorization = header.data;
			header.data = NULL;
			status = S3_SIGV4_OK;
		}
	}
	free(header.data);
	free(canonical.data);
	free(names.data);
	free(headers);
	return status;
}

void s3_sigv4_signed_free(struct s3_sigv4_signed *signed_request)
{
	if (!signed_request)
		return;
	free(signed_request->authorization);
	signed_request->authorization = NULL;
}

enum s3_sigv4_status s3_sigv4_presign(const struct s3_sigv4_request *request,
				      const struct s3_sigv4_credentials *credentials,
				      const struct s3_sigv4_scope *scope, unsigned expires_seconds,
				      char **query, char *error, size_t error_size)
{
	*query = NULL;
	enum s3_sigv4_status status = check_input(request, credentials, scope, error, error_size);
	if (status != S3_SIGV4_OK)
		return status;
	if (expires_seconds < 1 || expires_seconds > S3_SIGV4_MAX_EXPIRES) {
		set_error(error, error_size, "X-Amz-Expires must be between 1 and %d seconds",
			  S3_SIGV4_MAX_EXPIRES);
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	static const char *const own[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
					  "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
					  "X-Amz-Security-Token"};
	for (size_t i = 0; i < request->param_count; i++)
		for (size_t j = 0; j < sizeof own / sizeof *own; j++)
			if (strcasecmp(request->params[i].name, own[j]) == 0) {
				set_error(error, error_size, "query parameter %s is the signer's to set",
					  own[j]);
				return S3_SIGV4_INVALID_ARGUMENT;
			}

	char scope_text[160], credential[320], expires[16];
	credential_scope(scope_text, sizeof scope_text, scope);
	snprintf(credential, sizeof credential, "%s/%s", credentials->access_key, scope_text);
	snprintf(expires, sizeof expires, "%u", expires_seconds);

	/* SignedHeaders: the names of the request's headers, as the canonical request lists them. */
	struct text names = {0}, probe = {0};
	if (!canonical_request(&probe, &names, request->method, request->path, NULL, 0, NULL,
			       request->headers, request->header_count, S3_SIGV4_UNSIGNED_PAYLOAD)) {
		free(probe.data);
		free(names.data);
		return S3_SIGV4_NO_MEMORY;
	}
	free(probe.data);

	size_t count = request->param_count + 7;
	struct s3_sigv4_param *params = calloc(count, sizeof *params);
	if (!params) {
		free(names.data);
		return S3_SIGV4_NO_MEMORY;
	}
	if (request->param_count)
		memcpy(params, request->params, request->param_count * sizeof *params);
	count = request->param_count;
	params[count++] = (struct s3_sigv4_param){"X-Amz-Algorithm", S3_SIGV4_ALGORITHM};
	params[count++] = (struct s3_sigv4_param){"X-Amz-Credential", credential};
	params[count++] = (struct s3_sigv4_param){"X-Amz-Date", scope->amz_date};
	params[count++] = (struct s3_sigv4_param){"X-Amz-Expires", expires};
	params[count++] = (struct s3_sigv4_param){"X-Amz-SignedHeaders", names.data};
	if (credentials->session_token)
		params[count++] = (struct s3_sigv4_param){"X-Amz-Security-Token", credentials->session_token};

	struct text canonical = {0}, names_again = {0}, out = {0};
	status = S3_SIGV4_NO_MEMORY;
	if (canonical_request(&canonical, &names_again, request->method, request->path, params, count,
			      NULL, request->headers, request->header_count,
			      S3_SIGV4_UNSIGNED_PAYLOAD)) {
		unsigned char key[32];
		char signature[65];
		signing_key(credentials->secret_key, scope->amz_date, scope->region, scope->service, key);
		signature_of(&canonical, scope->amz_date, scope_text, key, signature);
		OPENSSL_cleanse(key, sizeof key);
		/* The signature goes last, as AWS's examples and clients put it. */
		canonical_query(&out, params, count, NULL);
		text_add(&out, "&X-Amz-Signature=");
		text_add(&out, signature);
		if (!out.failed) {
			*query = out.data;
			out.data = NULL;
			status = S3_SIGV4_OK;
		}
	}
	free(out.data);
	free(canonical.data);
	free(names_again.data);
	free(names.data);
	free(params);
	return status;
}

/* ---- verification ---- */

static const char *find_header(const struct s3_sigv4_received *request, const char *name)
{
	for (size_t i = 0; i < request->header_count; i++)
		if (strcasecmp(request->headers[i].name, name) == 0)
			return request->headers[i].value ? request->headers[i].value : "";
	return NULL;
}

static const char *find_param(const struct s3_sigv4_received *request, const char *name)
{
	for (size_t i = 0; i < request->param_count; i++)
		if (strcmp(request->params[i].name, name) == 0)
			return request->params[i].value ? request->params[i].value : "";
	return NULL;
}

struct parsed_auth {
	char access_key[129];
	char date8[9], region[41], service[41];
	char signed_headers[2048];
	char signature[65];
};

/* "AK/20130524/us-east-1/s3/aws4_request" */
static bool parse_credential(const char *credential, struct parsed_auth *auth)
{
	const char *parts[5];
	size_t lengths[5];
	const char *start = credential;
	for (int i = 0; i < 5; i++) {
		const char *slash = i < 4 ? strchr(start, '/') : start + strlen(start);
		if (!slash)
			return false;
		parts[i] = start;
		lengths[i] = (size_t)(slash - start);
		start = slash + 1;
	}
	if (lengths[0] == 0 || lengths[0] >= sizeof auth->access_key || lengths[1] != 8 ||
	    lengths[2] == 0 || lengths[2] >= sizeof auth->region || lengths[3] == 0 ||
	    lengths[3] >= sizeof auth->service || lengths[4] != 12 ||
	    memcmp(parts[4], "aws4_request", 12) != 0)
		return false;
	memcpy(auth->access_key, parts[0], lengths[0]);
	auth->access_key[lengths[0]] = '\0';
	memcpy(auth->date8, parts[1], 8);
	auth->date8[8] = '\0';
	memcpy(auth->region, parts[2], lengths[2]);
	auth->region[lengths[2]] = '\0';
	memcpy(auth->service, parts[3], lengths[3]);
	auth->service[lengths[3]] = '\0';
	for (int i = 0; i < 8; i++)
		if (!isdigit((unsigned char)auth->date8[i]))
			return false;
	return true;
}

/* Lowercase names separated by ';', each once and in ascending order, as a canonical request
 * lists them (a repeated name would also let one header be counted many times). */
static bool valid_signed_headers(const char *names)
{
	if (!*names)
		return false;
	for (const char *c = names; *c; c++)
		if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-' || *c == '_' ||
		      *c == '.' || (*c == ';' && c[1] && c[1] != ';' && c != names)))
			return false;
	const char *previous = NULL;
	size_t previous_length = 0;
	for (const char *name = names; *name;) {
		size_t length = strcspn(name, ";");
		if (previous) {
			size_t shorter = length < previous_length ? length : previous_length;
			int order = memcmp(previous, name, shorter);
			if (order > 0 || (order == 0 && previous_length >= length))
				return false;
		}
		previous = name;
		previous_length = length;
		name += length + (name[length] == ';');
	}
	return true;
}

static bool valid_signature(const char *signature)
{
	if (strlen(signature) != 64)
		return false;
	for (const char *c = signature; *c; c++)
		if (!isdigit((unsigned char)*c) && !(*c >= 'a' && *c <= 'f'))
			return false;
	return true;
}

/* AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=... (any order, spaces after ','). */
static bool parse_authorization(const char *header, struct parsed_auth *auth, char *message,
				size_t size)
{
	size_t algorithm = strlen(S3_SIGV4_ALGORITHM);
	if (strncmp(header, S3_SIGV4_ALGORITHM, algorithm) != 0 || header[algorithm] != ' ') {
		set_error(message, size, "The authorization header is malformed; the authorization "
			  "mechanism is not supported (only %s).", S3_SIGV4_ALGORITHM);
		return false;
	}
	bool have_credential = false, have_names = false, have_signature = false;
	const char *p = header + algorithm;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *equals = memchr(p, '=', (size_t)(end - p));
		if (!equals) {
			set_error(message, size, "The authorization header is malformed; a component "
				  "has no '='.");
			return false;
		}
		size_t name_length = (size_t)(equals - p), value_length = (size_t)(end - equals - 1);
		while (value_length && equals[value_length] == ' ')
			value_length--;
		char value[2048];
		if (value_length >= sizeof value) {
			set_error(message, size, "The authorization header is malformed; a component is "
				  "too long.");
			return false;
		}
		memcpy(value, equals + 1, value_length);
		value[value_length] = '\0';
		if (name_length == 10 && memcmp(p, "Credential", 10) == 0) {
			if (!parse_credential(value, auth)) {
				set_error(message, size, "The authorization header is malformed; the "
					  "Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/"
					  "REGION/SERVICE/aws4_request\".");
				return false;
			}
			have_credential = true;
		} else if (name_length == 13 && memcmp(p, "SignedHeaders", 13) == 0) {
			snprintf(auth->signed_headers, sizeof auth->signed_headers, "%s", value);
			have_names = true;
		} else if (name_length == 9 && memcmp(p, "Signature", 9) == 0) {
			snprintf(auth->signature, sizeof auth->signature, "%.64s", value);
			have_signature = valid_signature(value);
			if (!have_signature) {
				set_error(message, size, "The authorization header is malformed; the "
					  "Signature is not 64 hex digits.");
				return false;
			}
		} else {
			set_error(message, size, "The authorization header is malformed; unknown "
				  "component '%.*s'.", (int)(name_length > 40 ? 40 : name_length), p);
			return false;
		}
		p = end;
	}
	if (!have_credential || !have_names || !have_signature) {
		set_error(message, size, "The authorization header is malformed; it needs Credential, "
			  "SignedHeaders and Signature.");
		return false;
	}
	if (!valid_signed_headers(auth->signed_headers)) {
		set_error(message, size, "The authorization header is malformed; SignedHeaders must be "
			  "lowercase names separated by ';', each once, in ascending order.");
		return false;
	}
	return true;
}

/* The headers named in SignedHeaders, with the request's values (missing ones: empty). */
static struct s3_sigv4_header *signed_header_values(const struct s3_sigv4_received *request,
						    char *names, size_t *count, bool *has_host)
{
	/* Names are unique (valid_signed_headers), so each received header matches one at most. */
	size_t capacity = 1;
	for (const char *c = names; *c; c++)
		capacity += *c == ';';
	capacity += request->header_count;
	struct s3_sigv4_header *headers = calloc(capacity, sizeof *headers);
	if (!headers)
		return NULL;
	*count = 0;
	*has_host = false;
	for (char *save = NULL, *name = strtok_r(names, ";", &save); name;
	     name = strtok_r(NULL, ";", &save)) {
		bool found = false;
		*has_host |= strcmp(name, "host") == 0;
		for (size_t i = 0; i < request->header_count && *count < capacity; i++)
			if (strcasecmp(request->headers[i].name, name) == 0) {
				headers[(*count)++] = (struct s3_sigv4_header){name, request->headers[i].value};
				found = true;
			}
		if (!found && *count < capacity)
			headers[(*count)++] = (struct s3_sigv4_header){name, ""};
	}
	return headers;
}

/* An RFC 1123 Date header, as a fallback for x-amz-date. */
static bool parse_http_date(const char *text, char out[17])
{
	struct tm utc = {0};
	char *end = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
	if (!end || *end)
		return false;
	return s3_sigv4_format_date(timegm(&utc), out);
}

static enum s3_sigv4_status verify_with(const struct s3_sigv4_received *request,
					struct parsed_auth *auth, const char *amz_date,
					const char *payload_hash, bool presigned,
					struct s3_sigv4_verified *out, char *message, size_t size)
{
	time_t when;
	if (!s3_sigv4_parse_date(amz_date, &when)) {
		set_error(message, size, presigned ? "X-Amz-Date must be in the ISO8601 Long Format "
			  "\"yyyyMMdd'T'HHmmss'Z'\"" : "The request has no valid x-amz-date.");
		return presigned ? S3_SIGV4_QUERY_MALFORMED : S3_SIGV4_HEADER_MALFORMED;
	}
	enum s3_sigv4_status malformed = presigned ? S3_SIGV4_QUERY_MALFORMED : S3_SIGV4_HEADER_MALFORMED;
	if (memcmp(auth->date8, amz_date, 8) != 0) {
		set_error(message, size, "Invalid credential date \"%s\". This date is not the same "
			  "as X-Amz-Date: \"%.8s\".", auth->date8, amz_date);
		return malformed;
	}
	if (request->region && strcmp(auth->region, request->region) != 0) {
		set_error(message, size, "The authorization header is malformed; the region '%s' is "
			  "wrong; expecting '%s'", auth->region, request->region);
		return malformed;
	}
	if (strcmp(auth->service, "s3") != 0) {
		set_error(message, size, "The authorization header is malformed; incorrect service "
			  "\"%s\". This endpoint belongs to \"s3\".", auth->service);
		return malformed;
	}
	const char *secret = request->lookup ? request->lookup(request->lookup_context, auth->access_key) : NULL;
	if (!secret) {
		set_error(message, size, "The AWS Access Key Id you provided does not exist in our records.");
		return S3_SIGV4_INVALID_ACCESS_KEY;
	}
	if (!presigned && (when > request->now + S3_SIGV4_MAX_SKEW ||
			   when < request->now - S3_SIGV4_MAX_SKEW)) {
		set_error(message, size, "The difference between the request time and the current time "
			  "is too large.");
		return S3_SIGV4_TIME_SKEWED;
	}
	if (presigned && when > request->now + S3_SIGV4_MAX_SKEW) {
		set_error(message, size, "Request is not valid yet");
		return S3_SIGV4_EXPIRED;
	}

	char names[sizeof auth->signed_headers];
	snprintf(names, sizeof names, "%s", auth->signed_headers);
	size_t count = 0;
	bool has_host = false;
	struct s3_sigv4_header *headers = signed_header_values(request, names, &count, &has_host);
	if (!headers)
		return S3_SIGV4_NO_MEMORY;
	if (!has_host) {
		free(headers);
		set_error(message, size, "The host header must be signed.");
		return malformed;
	}
	{
		/* S3 refuses x-amz-* headers that were not signed (header auth and presigned URLs
		 * alike), all but x-amz-content-sha256, which it tolerates unsigned. */
		for (size_t i = 0; i < request->header_count; i++) {
			if (strncasecmp(request->headers[i].name, "x-amz-", 6) != 0 ||
			    strcasecmp(request->headers[i].name, "x-amz-content-sha256") == 0)
				continue;
			bool listed = false;
			for (size_t j = 0; j < count && !listed; j++)
				listed = strcasecmp(headers[j].name, request->headers[i].name) == 0;
			if (!listed) {
				set_error(message, size, "There were headers present in the request which "
					  "were not signed: %.64s", request->headers[i].name);
				free(headers);
				return S3_SIGV4_UNSIGNED_HEADERS;
			}
		}
	}
	struct text canonical = {0}, signed_names = {0};
	bool built = canonical_request(&canonical, &signed_names, request->method, request->path,
				       request->params, request->param_count,
				       presigned ? "X-Amz-Signature" : NULL, headers, count,
				       payload_hash);
	free(headers);
	free(signed_names.data);
	if (!built) {
		free(canonical.data);
		return S3_SIGV4_NO_MEMORY;
	}
	struct s3_sigv4_scope scope = {amz_date, auth->region, auth->service};
	char expected[65];
	credential_scope(out->scope, sizeof out->scope, &scope);
	signing_key(secret, amz_date, auth->region, auth->service, out->signing_key);
	signature_of(&canonical, amz_date, out->scope, out->signing_key, expected);
	free(canonical.data);
	if (!s3_sigv4_equal(expected, auth->signature)) {
		OPENSSL_cleanse(out->signing_key, sizeof out->signing_key);
		set_error(message, size, "The request signature we calculated does not match the "
			  "signature you provided. Check your key and signing method.");
		return S3_SIGV4_SIGNATURE_MISMATCH;
	}
	out->presigned = presigned;
	snprintf(out->access_key, sizeof out->access_key, "%s", auth->access_key);
	snprintf(out->amz_date, sizeof out->amz_date, "%s", amz_date);
	snprintf(out->payload_hash, sizeof out->payload_hash, "%s", payload_hash);
	snprintf(out->seed_signature, sizeof out->seed_signature, "%s", auth->signature);
	return S3_SIGV4_OK;
}

static enum s3_sigv4_status verify_query(const struct s3_sigv4_received *request,
					 struct s3_sigv4_verified *out, char *message, size_t size)
{
	struct parsed_auth auth = {0};
	const char *algorithm = find_param(request, "X-Amz-Algorithm");
	const char *credential = find_param(request, "X-Amz-Credential");
	const char *date = find_param(request, "X-Amz-Date");
	const char *expires = find_param(request, "X-Amz-Expires");
	const char *names = find_param(request, "X-Amz-SignedHeaders");
	const char *signature = find_param(request, "X-Amz-Signature");
	if (!algorithm || strcmp(algorithm, S3_SIGV4_ALGORITHM) != 0) {
		set_error(message, size, "X-Amz-Algorithm only supports \"%s\"", S3_SIGV4_ALGORITHM);
		return S3_SIGV4_QUERY_MALFORMED;
	}
	if (!credential || !date || !expires || !names || !signature) {
		set_error(message, size, "Query-string authentication version 4 requires the "
			  "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
			  "X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	if (!parse_credential(credential, &auth)) {
		set_error(message, size, "Error parsing the X-Amz-Credential parameter; the Credential "
			  "is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	char *end;
	if (!*expires || !isdigit((unsigned char)*expires)) {
		set_error(message, size, "X-Amz-Expires should be a number");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	unsigned long long seconds = strtoull(expires, &end, 10);
	if (*end) {
		set_error(message, size, "X-Amz-Expires should be a number");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	if (seconds < 1 || seconds > S3_SIGV4_MAX_EXPIRES) {
		set_error(message, size, "X-Amz-Expires must be less than a week (in seconds) that is; "
			  "the maximum expires is 604800 seconds");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	if (strlen(names) >= sizeof auth.signed_headers || !valid_signed_headers(names)) {
		set_error(message, size, "X-Amz-SignedHeaders must be lowercase names separated by ';', "
			  "each once, in ascending order");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	snprintf(auth.signed_headers, sizeof auth.signed_headers, "%s", names);
	if (!valid_signature(signature)) {
		set_error(message, size, "X-Amz-Signature must be 64 hex digits");
		return S3_SIGV4_QUERY_MALFORMED;
	}
	snprintf(auth.signature, sizeof auth.signature, "%s", signature);
	const char *payload = find_header(request, "x-amz-content-sha256");
	enum s3_sigv4_status status = verify_with(request, &auth, date,
						  payload ? payload : S3_SIGV4_UNSIGNED_PAYLOAD, true,
						  out, message, size);
	if (status != S3_SIGV4_OK)
		return status;
	time_t when;
	s3_sigv4_parse_date(date, &when);
	if (request->now > when + (time_t)seconds) {
		OPENSSL_cleanse(out->signing_key, sizeof out->signing_key);
		set_error(message, size, "Request has expired");
		return S3_SIGV4_EXPIRED;
	}
	return S3_SIGV4_OK;
}

enum s3_sigv4_status s3_sigv4_verify(const struct s3_sigv4_received *request,
				     struct s3_sigv4_verified *out, char *message,
				     size_t message_size)
{
	memset(out, 0, sizeof *out);
	if (message && message_size)
		message[0] = '\0';
	const char *authorization = find_header(request, "authorization");
	bool query = find_param(request, "X-Amz-Algorithm") || find_param(request, "X-Amz-Signature") ||
		     find_param(request, "X-Amz-Credential");
	if (authorization && query) {
		set_error(message, message_size, "Only one auth mechanism allowed; only the "
			  "X-Amz-Algorithm query parameter or the Authorization header should be specified");
		return S3_SIGV4_INVALID_ARGUMENT;
	}
	if (query)
		return verify_query(request, out, message, message_size);
	if (!authorization) {
		set_error(message, message_size, "Access Denied");
		return S3_SIGV4_NO_AUTH;
	}
	struct parsed_auth auth = {0};
	if (!parse_authorization(authorization, &auth, message, message_size))
		return S3_SIGV4_HEADER_MALFORMED;
	const char *payload = find_header(request, "x-amz-content-sha256");
	if (!payload) {
		set_error(message, message_size, "Missing required header for this request: "
			  "x-amz-content-sha256");
		return S3_SIGV4_CONTENT_SHA256_INVALID;
	}
	if (!valid_payload_hash(payload)) {
		set_error(message, message_size, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
			  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.");
		return S3_SIGV4_CONTENT_SHA256_INVALID;
	}
	char amz_date[17];
	const char *date = find_header(request, "x-amz-date");
	if (date) {
		snprintf(amz_date, sizeof amz_date, "%.16s", date);
		if (strlen(date) != 16)
			amz_date[0] = '\0';
	} else if (!(date = find_header(request, "date")) || !parse_http_date(date, amz_date)) {
		set_error(message, message_size, "AWS authentication requires a valid Date or "
			  "x-amz-date header");
		return S3_SIGV4_NO_AUTH;
	}
	return verify_with(request, &auth, amz_date, payload, false, out, message, message_size);
}

enum s3_sigv4_status s3_sigv4_check_payload(const struct s3_sigv4_verified *verified,
					    const unsigned char body_sha256[32])
{
	if (strcmp(verified->payload_hash, S3_SIGV4_UNSIGNED_PAYLOAD) == 0 ||
	    strcmp(verified->payload_hash, S3_SIGV4_STREAMING_PAYLOAD) == 0)
		return S3_SIGV4_OK;
	char hex[65];
	to_hex(body_sha256, 32, hex);
	return s3_sigv4_equal(hex, verified->payload_hash) ? S3_SIGV4_OK
							   : S3_SIGV4_CONTENT_SHA256_MISMATCH;
}

void s3_sigv4_chunk_signature(const struct s3_sigv4_verified *verified, const char *previous,
			      const unsigned char chunk_sha256[32], char out[65])
{
	char chunk_hex[65];
	to_hex(chunk_sha256, 32, chunk_hex);
	struct text to_sign = {0};
	text_add(&to_sign, S3_SIGV4_ALGORITHM "-PAYLOAD\n");
	text_add(&to_sign, verified->amz_date);
	text_add(&to_sign, "\n");
	text_add(&to_sign, verified->scope);
	text_add(&to_sign, "\n");
	text_add(&to_sign, previous);
	text_add(&to_sign, "\n" S3_SIGV4_EMPTY_SHA256 "\n");
	text_add(&to_sign, chunk_hex);
	unsigned char mac[32];
	if (to_sign.failed)
		memset(mac, 0, sizeof mac);
	else
		hmac(verified->signing_key, 32, to_sign.data, to_sign.length, mac);
	to_hex(mac, 32, out);
	free(to_sign.data);
}
