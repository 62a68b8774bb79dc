/* tests/s3_sigv4_compare.c — reads the requests botocore signed (tests/s3_botocore_sign.py, one
 * JSON object a line on stdin), signs each with plugins/s3/sigv4.c and prints TAP: ok when the
 * Authorization header (or the presigned query, parameter order aside) is botocore's. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

static const char *member(json_object *object, const char *name)
{
	json_object *value;
	if (!json_object_object_get_ex(object, name, &value) || json_object_is_type(value, json_type_null))
		return NULL;
	return json_object_get_string(value);
}

/* "a=1&c=3&b=2" with its pairs sorted, so two orders of one query compare equal. */
static char *sorted_query(const char *query)
{
	char *copy = strdup(query), *pairs[64], *save = NULL;
	size_t count = 0, length = strlen(query);
	for (char *pair = strtok_r(copy, "&", &save); pair && count < 64; pair = strtok_r(NULL, "&", &save))
		pairs[count++] = pair;
	for (size_t i = 1; i < count; i++)
		for (size_t j = i; j > 0 && strcmp(pairs[j - 1], pairs[j]) > 0; j--) {
			char *swap = pairs[j];
			pairs[j] = pairs[j - 1];
			pairs[j - 1] = swap;
		}
	char *out = calloc(1, length + 2);
	for (size_t i = 0; i < count; i++) {
		if (i)
			strcat(out, "&");
		strcat(out, pairs[i]);
	}
	free(copy);
	return out;
}

/* botocore separates the components with ", ", stor's signer with ","; both are valid. */
static void drop_spaces_after_commas(char *text)
{
	char *out = text;
	for (char *in = text; *in; in++) {
		*out++ = *in;
		if (*in == ',')
			while (in[1] == ' ')
				in++;
	}
	*out = '\0';
}

static const char *lookup(void *context, const char *access_key)
{
	json_object *c = context;
	const char *key = member(c, "access_key");
	return key && strcmp(key, access_key) == 0 ? member(c, "secret_key") : NULL;
}

static void percent_decode(char *text)
{
	char *out = text;
	for (char *in = text; *in; in++) {
		unsigned value;
		if (*in == '%' && sscanf(in + 1, "%2x", &value) == 1) {
			*out++ = (char)value;
			in += 2;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

/* stor's verifier accepts what botocore signed: the request as the server would receive it. */
static bool verify_theirs(json_object *c, const struct s3_sigv4_request *request,
			  const char *query, char *why, size_t why_size)
{
	struct s3_sigv4_header headers[40];
	struct s3_sigv4_param params[40];
	size_t header_count = 0, param_count = 0;
	char *copy = query ? strdup(query) : NULL, *save = NULL;
	time_t now;
	s3_sigv4_parse_date(member(c, "amz_date"), &now);
	for (size_t i = 0; i < request->header_count; i++)
		headers[header_count++] = request->headers[i];
	if (copy) {
		for (char *pair = strtok_r(copy, "&", &save); pair && param_count < 40;
		     pair = strtok_r(NULL, "&", &save)) {
			char *equals = strchr(pair, '=');
			if (equals)
				*equals = '\0';
			percent_decode(pair);
			if (equals)
				percent_decode(equals + 1);
			params[param_count++] = (struct s3_sigv4_param){pair, equals ? equals + 1 : NULL};
		}
	} else {
		for (size_t i = 0; i < request->param_count; i++)
			params[param_count++] = request->params[i];
		headers[header_count++] = (struct s3_sigv4_header){"X-Amz-Date", member(c, "amz_date")};
		headers[header_count++] = (struct s3_sigv4_header){"X-Amz-Content-SHA256", member(c, "x-amz-content-sha256")};
		headers[header_count++] = (struct s3_sigv4_header){"Authorization", member(c, "authorization")};
		if (member(c, "session_token"))
			headers[header_count++] = (struct s3_sigv4_header){"X-Amz-Security-Token", member(c, "session_token")};
	}
	headers[header_count++] = (struct s3_sigv4_header){"User-Agent", "Botocore/1.29"};
	const struct s3_sigv4_received received = {request->method, request->path, params, param_count,
						   headers, header_count, now + 30, "us-east-1",
						   lookup, c};
	struct s3_sigv4_verified verified;
	char message[256];
	enum s3_sigv4_status status = s3_sigv4_verify(&received, &verified, message, sizeof message);
	free(copy);
	if (status != S3_SIGV4_OK) {
		snprintf(why, why_size, "stor's verifier refuses botocore's signature: %s %s",
			 s3_sigv4_error_code(status), message);
		return false;
	}
	return true;
}

static bool check_case(json_object *c, char *why, size_t why_size)
{
	json_object *params_json, *headers_json;
	if (!json_object_object_get_ex(c, "params", &params_json) ||
	    !json_object_object_get_ex(c, "headers", &headers_json)) {
		snprintf(why, why_size, "the case has no params or headers");
		return false;
	}
	size_t param_count = json_object_array_length(params_json);
	size_t header_count = json_object_array_length(headers_json);
	struct s3_sigv4_param params[32];
	struct s3_sigv4_header headers[32];
	if (param_count > 32 || header_count > 32) {
		snprintf(why, why_size, "too many params or headers");
		return false;
	}
	for (size_t i = 0; i < param_count; i++) {
		json_object *pair = json_object_array_get_idx(params_json, i);
		json_object *value = json_object_array_get_idx(pair, 1);
		params[i].name = json_object_get_string(json_object_array_get_idx(pair, 0));
		params[i].value = json_object_is_type(value, json_type_null) ? NULL : json_object_get_string(value);
	}
	for (size_t i = 0; i < header_count; i++) {
		json_object *pair = json_object_array_get_idx(headers_json, i);
		headers[i].name = json_object_get_string(json_object_array_get_idx(pair, 0));
		headers[i].value = json_object_get_string(json_object_array_get_idx(pair, 1));
	}
	json_object *expires_json;
	int expires = json_object_object_get_ex(c, "expires", &expires_json) ? json_object_get_int(expires_json) : 0;
	const struct s3_sigv4_request request = {
		member(c, "method"), member(c, "path"), params, param_count, headers, header_count,
		member(c, "payload_hash"),
	};
	const struct s3_sigv4_credentials credentials = {
		member(c, "access_key"), member(c, "secret_key"), member(c, "session_token"),
	};
	const struct s3_sigv4_scope scope = {member(c, "amz_date"), member(c, "region"), "s3"};
	char error[256] = "";
	if (expires > 0) {
		char *query = NULL;
		const char *expected = member(c, "query");
		if (s3_sigv4_presign(&request, &credentials, &scope, (unsigned)expires, &query, error,
				     sizeof error) != S3_SIGV4_OK) {
			snprintf(why, why_size, "presign failed: %s", error);
			return false;
		}
		char *ours = sorted_query(query), *theirs = sorted_query(expected ? expected : "");
		bool same = strcmp(ours, theirs) == 0;
		if (!same)
			snprintf(why, why_size, "ours   %s\n# botocore %s", ours, theirs);
		free(ours);
		free(theirs);
		free(query);
		return same && verify_theirs(c, &request, expected, why, why_size);
	}
	struct s3_sigv4_signed out;
	if (s3_sigv4_sign(&request, &credentials, &scope, &out, error, sizeof error) != S3_SIGV4_OK) {
		snprintf(why, why_size, "sign failed: %s", error);
		return false;
	}
	char expected[4096];
	snprintf(expected, sizeof expected, "%s", member(c, "authorization") ? member(c, "authorization") : "");
	drop_spaces_after_commas(expected);
	const char *content = member(c, "x-amz-content-sha256");
	bool same = strcmp(out.authorization, expected) == 0 && content &&
		    strcmp(out.content_sha256, content) == 0;
	if (!same)
		snprintf(why, why_size, "ours     %s\n# botocore %s", out.authorization, expected);
	s3_sigv4_signed_free(&out);
	return same && verify_theirs(c, &request, NULL, why, why_size);
}

int main(void)
{
	char line[65536];
	int count = 0, failed = 0;
	while (fgets(line, sizeof line, stdin)) {
		json_object *c = json_tokener_parse(line);
		char why[8192] = "";
		count++;
		if (!c) {
			printf("not ok %d - line %d is not JSON\n", count, count);
			failed++;
			continue;
		}
		const char *name = member(c, "name");
		if (check_case(c, why, sizeof why)) {
			printf("ok %d - botocore and stor sign alike, stor verifies botocore's: %s\n", count, name ? name : "?");
		} else {
			printf("not ok %d - botocore and stor sign alike: %s\n# %s\n", count, name ? name : "?", why);
			failed++;
		}
		json_object_put(c);
	}
	if (count == 0) {
		printf("not ok 1 - botocore signed no request\n");
		count = failed = 1;
	}
	printf("1..%d\n", count);
	return failed ? 1 : 0;
}
