/* tests/fuzz/fuzz_s3_sigv4.c — the SigV4 verifier (plugins/s3/sigv4.c) on hostile requests, as
 * the S3 test server hands them over: line 1 the method, line 2 the path, line 3 the query
 * ("a=b&c", split but not decoded), every further line a header "name: value" (Authorization,
 * x-amz-date, x-amz-content-sha256, SignedHeaders naming repeated headers...). */
#include "fuzz.h"

#include <stdio.h>
#include <time.h>

#include "sigv4.h"

static const char *lookup(void *context, const char *access_key)
{
	(void)context;
	return strcmp(access_key, "AKIDEXAMPLE") == 0 ? "secret" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), *save = NULL;
	char *lines[80];
	size_t line_count = 0;
	for (char *line = strtok_r(text, "\n", &save); line && line_count < 80; line = strtok_r(NULL, "\n", &save))
		lines[line_count++] = line;
	struct s3_sigv4_param params[64];
	struct s3_sigv4_header headers[80];
	size_t param_count = 0, header_count = 0;
	if (line_count >= 3) {
		char *query_save = NULL;
		for (char *pair = strtok_r(lines[2], "&", &query_save); pair && param_count < 64;
		     pair = strtok_r(NULL, "&", &query_save)) {
			char *equals = strchr(pair, '=');
			if (equals)
				*equals = '\0';
			params[param_count++] = (struct s3_sigv4_param){pair, equals ? equals + 1 : NULL};
		}
	}
	for (size_t i = 3; i < line_count; i++) {
		char *colon = strchr(lines[i], ':');
		if (!colon)
			continue;
		*colon = '\0';
		headers[header_count++] = (struct s3_sigv4_header){lines[i], colon + 1};
	}
	time_t now;
	s3_sigv4_parse_date("20260314T150926Z", &now);
	const struct s3_sigv4_received request = {
		line_count > 0 ? lines[0] : "GET", line_count > 1 ? lines[1] : "/", params, param_count,
		headers, header_count, now, "us-east-1", lookup, NULL,
	};
	struct s3_sigv4_verified verified;
	char message[256];
	enum s3_sigv4_status status = s3_sigv4_verify(&request, &verified, message, sizeof message);
	if (strlen(message) >= sizeof message || !s3_sigv4_error_code(status))
		abort();
	if (status == S3_SIGV4_OK) {
		unsigned char digest[32] = {0};
		char chunk[65];
		s3_sigv4_check_payload(&verified, digest);
		s3_sigv4_chunk_signature(&verified, verified.seed_signature, digest, chunk);
	}
	free(text);
	return 0;
}
