/* tests/test_s3_server.c — stor's own SigV4 signer (plugins/s3/sigv4.c) talking to the S3 test
 * server over libcurl, the way the S3 plugin will: signed PUT/GET/HEAD/list, ranges, a presigned
 * URL fetched unsigned, refusals, injected faults and counters, a clean stop. Uses the harness
 * tests/s3_server_harness.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "s3_server_harness.h"
#include "sigv4.h"

struct answer {
	long status;
	char *body;
	size_t length;
	char headers[4096];
	size_t header_length;
};

static size_t collect_body(char *data, size_t size, size_t count, void *cls)
{
	struct answer *answer = cls;
	char *grown = realloc(answer->body, answer->length + size * count + 1);
	if (!grown)
		return 0;
	memcpy(grown + answer->length, data, size * count);
	answer->body = grown;
	answer->length += size * count;
	answer->body[answer->length] = '\0';
	return size * count;
}

static size_t collect_header(char *data, size_t size, size_t count, void *cls)
{
	struct answer *answer = cls;
	size_t length = size * count;
	if (answer->header_length + length < sizeof answer->headers) {
		memcpy(answer->headers + answer->header_length, data, length);
		answer->header_length += length;
		answer->headers[answer->header_length] = '\0';
	}
	return length;
}

static void answer_free(struct answer *answer)
{
	free(answer->body);
	memset(answer, 0, sizeof *answer);
}

/* method path (decoded) ?params, with extra headers ("name", "value" pairs, NULL-ended) and a
 * body, signed with secret (NULL: the right one). */
static struct answer request(struct s3_test_server *server, const char *method, const char *path,
			     const struct s3_sigv4_param *params, size_t param_count,
			     const char *const *extra, const char *body, const char *secret)
{
	struct answer answer = {0};
	struct s3_sigv4_header headers[16] = {{"host", s3_test_server_host(server)}};
	size_t header_count = 1;
	for (size_t i = 0; extra && extra[i]; i += 2)
		headers[header_count++] = (struct s3_sigv4_header){extra[i], extra[i + 1]};
	char hash[65], amz_date[17], error[256];
	s3_sigv4_sha256_hex(body ? body : "", body ? strlen(body) : 0, hash);
	assert_true(s3_sigv4_format_date(time(NULL), amz_date));
	const struct s3_sigv4_request signing = {method, path, params, param_count, headers,
						 header_count, hash};
	const struct s3_sigv4_credentials credentials = {S3_HARNESS_ACCESS_KEY,
							 secret ? secret : S3_HARNESS_SECRET_KEY, NULL};
	const struct s3_sigv4_scope scope = {amz_date, S3_HARNESS_REGION, "s3"};
	struct s3_sigv4_signed out;
	assert_int_equal(s3_sigv4_sign(&signing, &credentials, &scope, &out, error, sizeof error), S3_SIGV4_OK);

	char url[2048], line[4096];
	char *escaped = s3_sigv4_escape(path, strlen(path), true);
	snprintf(url, sizeof url, "%s%s", s3_test_server_url(server), escaped);
	free(escaped);
	for (size_t i = 0; i < param_count; i++) {
		char *name = s3_sigv4_escape(params[i].name, strlen(params[i].name), false);
		char *value = params[i].value ? s3_sigv4_escape(params[i].value, strlen(params[i].value), false) : NULL;
		size_t used = strlen(url);
		snprintf(url + used, sizeof url - used, "%s%s%s%s", i ? "&" : "?", name, value ? "=" : "", value ? value : "");
		free(name);
		free(value);
	}
	struct curl_slist *list = NULL;
	for (size_t i = 1; i < header_count; i++) {
		snprintf(line, sizeof line, "%s: %s", headers[i].name, headers[i].value);
		list = curl_slist_append(list, line);
	}
	snprintf(line, sizeof line, "x-amz-date: %s", out.amz_date);
	list = curl_slist_append(list, line);
	snprintf(line, sizeof line, "x-amz-content-sha256: %s", out.content_sha256);
	list = curl_slist_append(list, line);
	snprintf(line, sizeof line, "Authorization: %s", out.authorization);
	list = curl_slist_append(list, line);
	list = curl_slist_append(list, "Expect:");
	s3_sigv4_signed_free(&out);

	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	answer.status = curl_easy_perform(curl) == CURLE_OK ? 0 : -1;
	if (answer.status == 0)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(list);
	return answer;
}

static struct answer fetch(const char *url)
{
	struct answer answer = {0};
	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	answer.status = curl_easy_perform(curl) == CURLE_OK ? 0 : -1;
	if (answer.status == 0)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
	curl_easy_cleanup(curl);
	return answer;
}

static int setup(void **state)
{
	*state = s3_test_server_start(NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	/* A clean stop: the server frees everything and exits 0 (LeakSanitizer would say otherwise). */
	return s3_test_server_stop(*state) == 0 ? 0 : -1;
}

static void signed_put_get_head_and_metadata(void **state)
{
	struct s3_test_server *server = *state;
	const char *const meta[] = {"x-amz-meta-color", "  deep   blue ", "content-type", "text/plain", NULL};
	struct answer put = request(server, "PUT", "/" S3_HARNESS_BUCKET "/dir/a b+c=d~é.txt", NULL, 0, meta,
				    "the bytes of a test object", NULL);
	assert_int_equal(put.status, 200);
	assert_non_null(strstr(put.headers, "ETag: \""));
	answer_free(&put);
	struct answer get = request(server, "GET", "/" S3_HARNESS_BUCKET "/dir/a b+c=d~é.txt", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(get.status, 200);
	assert_string_equal(get.body, "the bytes of a test object");
	assert_non_null(strstr(get.headers, "x-amz-meta-color: deep   blue"));
	assert_non_null(strcasestr(get.headers, "content-type: text/plain")); /* kept lowercased */
	answer_free(&get);
	struct answer head = request(server, "HEAD", "/" S3_HARNESS_BUCKET "/dir/a b+c=d~é.txt", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(head.status, 200);
	assert_non_null(strstr(head.headers, "Content-Length: 26"));
	assert_int_equal(head.length, 0);
	answer_free(&head);
}

static void ranges_and_listing(void **state)
{
	struct s3_test_server *server = *state;
	struct answer put = request(server, "PUT", "/" S3_HARNESS_BUCKET "/list/one", NULL, 0, NULL, "0123456789", NULL);
	assert_int_equal(put.status, 200);
	answer_free(&put);
	put = request(server, "PUT", "/" S3_HARNESS_BUCKET "/list/sub/two", NULL, 0, NULL, "2", NULL);
	answer_free(&put);
	const char *const range[] = {"range", "bytes=2-4", NULL};
	struct answer part = request(server, "GET", "/" S3_HARNESS_BUCKET "/list/one", NULL, 0, range, NULL, NULL);
	assert_int_equal(part.status, 206);
	assert_string_equal(part.body, "234");
	assert_non_null(strstr(part.headers, "Content-Range: bytes 2-4/10"));
	answer_free(&part);
	const struct s3_sigv4_param params[] = {{"prefix", "list/"}, {"list-type", "2"}, {"delimiter", "/"}};
	struct answer list = request(server, "GET", "/" S3_HARNESS_BUCKET, params, 3, NULL, NULL, NULL);
	assert_int_equal(list.status, 200);
	assert_non_null(strstr(list.body, "<Key>list/one</Key>"));
	assert_non_null(strstr(list.body, "<CommonPrefixes><Prefix>list/sub/</Prefix></CommonPrefixes>"));
	assert_non_null(strstr(list.body, "<KeyCount>2</KeyCount>"));
	assert_null(strstr(list.body, "list/sub/two"));
	answer_free(&list);
}

static void presigned_url_fetched_without_signing(void **state)
{
	struct s3_test_server *server = *state;
	struct answer put = request(server, "PUT", "/" S3_HARNESS_BUCKET "/shared file", NULL, 0, NULL, "shared", NULL);
	answer_free(&put);
	const struct s3_sigv4_header host[] = {{"host", s3_test_server_host(server)}};
	const struct s3_sigv4_request signing = {"GET", "/" S3_HARNESS_BUCKET "/shared file", NULL, 0, host, 1, NULL};
	const struct s3_sigv4_credentials credentials = {S3_HARNESS_ACCESS_KEY, S3_HARNESS_SECRET_KEY, NULL};
	char amz_date[17], url[2048], *query;
	assert_true(s3_sigv4_format_date(time(NULL), amz_date));
	const struct s3_sigv4_scope scope = {amz_date, S3_HARNESS_REGION, "s3"};
	assert_int_equal(s3_sigv4_presign(&signing, &credentials, &scope, 60, &query, NULL, 0), S3_SIGV4_OK);
	snprintf(url, sizeof url, "%s/" S3_HARNESS_BUCKET "/shared%%20file?%s", s3_test_server_url(server), query);
	struct answer got = fetch(url);
	assert_int_equal(got.status, 200);
	assert_string_equal(got.body, "shared");
	answer_free(&got);
	snprintf(url, sizeof url, "%s/" S3_HARNESS_BUCKET "/other?%s", s3_test_server_url(server), query);
	got = fetch(url);
	assert_int_equal(got.status, 403);
	assert_non_null(strstr(got.body, "<Code>SignatureDoesNotMatch</Code>"));
	answer_free(&got);
	free(query);
}

static void refusals_are_s3s(void **state)
{
	struct s3_test_server *server = *state;
	struct answer wrong = request(server, "GET", "/", NULL, 0, NULL, NULL, "not-the-secret");
	assert_int_equal(wrong.status, 403);
	assert_non_null(strstr(wrong.body, "<Code>SignatureDoesNotMatch</Code>"));
	assert_non_null(strstr(wrong.body, "<RequestId>"));
	assert_null(strstr(wrong.body, S3_HARNESS_SECRET_KEY));
	answer_free(&wrong);
	struct answer missing = request(server, "GET", "/" S3_HARNESS_BUCKET "/nothing", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(missing.status, 404);
	assert_non_null(strstr(missing.body, "<Code>NoSuchKey</Code>"));
	answer_free(&missing);
	const char *const md5[] = {"content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==", NULL}; /* MD5 of "" */
	struct answer digest = request(server, "PUT", "/" S3_HARNESS_BUCKET "/md5", NULL, 0, md5, "not empty", NULL);
	assert_int_equal(digest.status, 400);
	assert_non_null(strstr(digest.body, "<Code>BadDigest</Code>"));
	answer_free(&digest);
}

static void faults_and_counters(void **state)
{
	struct s3_test_server *server = *state;
	assert_int_equal(s3_test_server_control(server, "reset", NULL), 200);
	assert_int_equal(s3_test_server_control(server, "fail?op=PutObject&status=503&code=SlowDown&count=1", NULL), 200);
	struct answer first = request(server, "PUT", "/" S3_HARNESS_BUCKET "/retried", NULL, 0, NULL, "x", NULL);
	assert_int_equal(first.status, 503);
	assert_non_null(strstr(first.body, "<Code>SlowDown</Code>"));
	answer_free(&first);
	struct answer second = request(server, "PUT", "/" S3_HARNESS_BUCKET "/retried", NULL, 0, NULL, "x", NULL);
	assert_int_equal(second.status, 200);
	answer_free(&second);
	assert_int_equal(s3_test_server_counter(server, "PutObject", "calls"), 2);
	assert_int_equal(s3_test_server_counter(server, "PutObject", "failures"), 1);
	assert_int_equal(s3_test_server_counter(server, "PutObject", "injected"), 1);
	assert_int_equal(s3_test_server_counter(server, "GetObject", "calls"), 0);
	assert_int_equal(s3_test_server_control(server, "drop?op=GetObject&count=1", NULL), 200);
	struct answer dropped = request(server, "GET", "/" S3_HARNESS_BUCKET "/retried", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(dropped.status, -1);
	answer_free(&dropped);
	struct answer again = request(server, "GET", "/" S3_HARNESS_BUCKET "/retried", NULL, 0, NULL, NULL, NULL);
	assert_int_equal(again.status, 200);
	assert_string_equal(again.body, "x");
	answer_free(&again);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(signed_put_get_head_and_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(ranges_and_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(presigned_url_fetched_without_signing, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals_are_s3s, setup, teardown),
		cmocka_unit_test_setup_teardown(faults_and_counters, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
