/* test_b2_server.c — the B2 test server against a libcurl client: every call's happy path and
 * errors, the seed's b2_get_upload_url error table, restricted keys, fault injection and
 * counters, malformed requests (the server must keep answering). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "b2_server_harness.h"

/* ---- a small HTTP client ------------------------------------------------------------------ */

struct reply {
	CURLcode result;
	long status;
	char *body;
	size_t length;
	char *headers;
	size_t headers_length;
	json_object *json;
};

struct collector {
	char **data;
	size_t *length;
};

static size_t collect(char *data, size_t size, size_t count, void *cls)
{
	struct collector *c = cls;
	char *grown = realloc(*c->data, *c->length + size * count + 1);
	assert_non_null(grown);
	memcpy(grown + *c->length, data, size * count);
	*c->data = grown;
	*c->length += size * count;
	grown[*c->length] = '\0';
	return size * count;
}

/* One request; headers is NULL-terminated (may be NULL), body may be NULL. */
static struct reply http(const char *method, const char *url, const char *const *headers,
			 const void *body, size_t body_length)
{
	struct reply reply = {0};
	struct collector body_collector = {&reply.body, &reply.length};
	struct collector header_collector = {&reply.headers, &reply.headers_length};
	struct curl_slist *list = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	CURL *curl = curl_easy_init();
	assert_non_null(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body_collector);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &header_collector);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
	}
	reply.result = curl_easy_perform(curl);
	if (reply.result == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(list);
	if (reply.body)
		reply.json = json_tokener_parse(reply.body);
	return reply;
}

static void reply_free(struct reply *reply)
{
	free(reply->body);
	free(reply->headers);
	json_object_put(reply->json);
	memset(reply, 0, sizeof *reply);
}

/* Value of a response header (case-insensitive name), "" when absent. */
static const char *header(const struct reply *reply, const char *name)
{
	static char value[1024];
	size_t name_length = strlen(name);
	value[0] = '\0';
	for (const char *line = reply->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			break;
		if (strncasecmp(line, name, name_length) == 0 && line[name_length] == ':') {
			const char *start = line + name_length + 1;
			while (*start == ' ')
				start++;
			snprintf(value, sizeof value, "%.*s", (int)(end - start), start);
			return value;
		}
		line = end + 2;
	}
	return value;
}

/* A member by dotted path ("apiInfo.storageApi.apiUrl"); NULL when absent. */
static json_object *member(json_object *object, const char *path)
{
	char copy[256], *rest = copy, *name;
	snprintf(copy, sizeof copy, "%s", path);
	while (object && (name = strsep(&rest, "."))) {
		json_object *next = NULL;
		if (!json_object_object_get_ex(object, name, &next))
			return NULL;
		object = next;
	}
	return object;
}

static const char *text(json_object *object, const char *path)
{
	json_object *value = member(object, path);
	return value ? json_object_get_string(value) : "";
}

static bool has_member(json_object *object, const char *path)
{
	char copy[256];
	snprintf(copy, sizeof copy, "%s", path);
	char *dot = strrchr(copy, '.');
	json_object *parent = object;
	if (dot) {
		*dot = '\0';
		parent = member(object, copy);
	}
	return parent && json_object_object_get_ex(parent, dot ? dot + 1 : copy, NULL);
}

/* Asserts a B2 error reply: HTTP status and JSON {"status","code"} agree. */
static void assert_b2_error(const struct reply *reply, long status, const char *code)
{
	if (reply->status != status || strcmp(text(reply->json, "code"), code) != 0)
		print_error("expected %ld %s, got %ld %s\n", status, code, reply->status,
			    reply->body ? reply->body : "(no body)");
	assert_int_equal(reply->status, status);
	assert_string_equal(text(reply->json, "code"), code);
	assert_int_equal(json_object_get_int(member(reply->json, "status")), status);
	assert_true(has_member(reply->json, "message"));
}

static void sha1_hex(const void *data, size_t length, char hex[41])
{
	unsigned char digest[20];
	EVP_Digest(data, length, digest, NULL, EVP_sha1(), NULL);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* ---- B2 helpers ----------------------------------------------------------------------------- */

struct fixture {
	struct b2_test_server *server;
	char token[128];
	char bucket_id[64];
};

static struct reply authorize_as(struct b2_test_server *server, int version, const char *key_id,
				 const char *key)
{
	char url[256], basic[400], credentials[200], encoded[300];
	snprintf(credentials, sizeof credentials, "%s:%s", key_id, key);
	EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)credentials, (int)strlen(credentials));
	snprintf(basic, sizeof basic, "Authorization: Basic %s", encoded);
	snprintf(url, sizeof url, "%s/b2api/v%d/b2_authorize_account", b2_test_server_url(server), version);
	const char *headers[] = {basic, NULL};
	return http("GET", url, headers, NULL, 0);
}

static void token_of(struct b2_test_server *server, const char *key_id, const char *key, char *token)
{
	struct reply reply = authorize_as(server, 2, key_id, key);
	assert_int_equal(reply.status, 200);
	strcpy(token, text(reply.json, "authorizationToken"));
	reply_free(&reply);
}

/* POST /b2api/v2/<call> with a token and a JSON body. */
static struct reply call_with(struct b2_test_server *server, const char *token, const char *call,
			      const char *json)
{
	char url[256], authorization[200];
	snprintf(url, sizeof url, "%s/b2api/v2/%s", b2_test_server_url(server), call);
	snprintf(authorization, sizeof authorization, "Authorization: %s", token);
	const char *headers[] = {authorization, NULL};
	return http("POST", url, headers, json, strlen(json));
}

static struct reply call(struct fixture *f, const char *call_name, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static struct reply call(struct fixture *f, const char *call_name, const char *format, ...)
{
	char json[8192];
	va_list args;
	va_start(args, format);
	vsnprintf(json, sizeof json, format, args);
	va_end(args);
	return call_with(f->server, f->token, call_name, json);
}

static void bucket_id_of(struct b2_test_server *server, const char *token, const char *name, char *id)
{
	char json[256];
	snprintf(json, sizeof json, "{\"accountId\":\"%s\",\"bucketName\":\"%s\"}", B2_TEST_KEY_ID, name);
	struct reply reply = call_with(server, token, "b2_list_buckets", json);
	assert_int_equal(reply.status, 200);
	json_object *buckets = member(reply.json, "buckets");
	assert_int_equal(json_object_array_length(buckets), 1);
	strcpy(id, text(json_object_array_get_idx(buckets, 0), "bucketId"));
	reply_free(&reply);
}

static int start_server(void **state, const char *const *args)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->server = b2_test_server_start(args);
	if (!f->server) {
		free(f);
		return -1;
	}
	token_of(f->server, B2_TEST_KEY_ID, B2_TEST_KEY, f->token);
	bucket_id_of(f->server, f->token, B2_TEST_BUCKET, f->bucket_id);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return start_server(state, NULL);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int status = b2_test_server_stop(f->server);
	free(f);
	return status == 0 ? 0 : -1; /* a server that does not stop cleanly fails the test */
}

struct target {
	char url[512];
	char token[128];
};

static struct target upload_target(struct fixture *f)
{
	struct target target;
	struct reply reply = call(f, "b2_get_upload_url", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(reply.status, 200);
	strcpy(target.url, text(reply.json, "uploadUrl"));
	strcpy(target.token, text(reply.json, "authorizationToken"));
	reply_free(&reply);
	return target;
}

/* b2_upload_file; sha1 NULL = the right one; extra is one more header or NULL. */
static struct reply upload_to(const struct target *target, const char *encoded_name,
			      const void *data, size_t length, const char *sha1, const char *extra)
{
	char authorization[200], name[1200], sha1_header[100], hex[41];
	snprintf(authorization, sizeof authorization, "Authorization: %s", target->token);
	snprintf(name, sizeof name, "X-Bz-File-Name: %s", encoded_name);
	if (!sha1) {
		sha1_hex(data, length, hex);
		sha1 = hex;
	}
	snprintf(sha1_header, sizeof sha1_header, "X-Bz-Content-Sha1: %s", sha1);
	const char *headers[] = {authorization, name, "Content-Type: text/plain", sha1_header, extra, NULL};
	return http("POST", target->url, headers, data, length);
}

/* Uploads a small file and returns its file id (static buffer). */
static const char *put(struct fixture *f, const char *encoded_name, const char *content)
{
	static char file_id[200];
	struct target target = upload_target(f);
	struct reply reply = upload_to(&target, encoded_name, content, strlen(content), NULL, NULL);
	assert_int_equal(reply.status, 200);
	strcpy(file_id, text(reply.json, "fileId"));
	reply_free(&reply);
	return file_id;
}

static struct reply download(struct fixture *f, const char *method, const char *encoded_name,
			     const char *range)
{
	char url[1200], authorization[200], range_header[100];
	snprintf(url, sizeof url, "%s/file/%s/%s", b2_test_server_url(f->server), B2_TEST_BUCKET, encoded_name);
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	snprintf(range_header, sizeof range_header, "Range: %s", range ? range : "");
	const char *headers[] = {authorization, range ? range_header : NULL, NULL};
	return http(method, url, headers, NULL, 0);
}

static void control(struct fixture *f, const char *path, const char *json)
{
	assert_int_equal(b2_test_server_control(f->server, "POST", path, json, NULL), 200);
}

/* The server still answers a plain authorize. */
static void assert_alive(struct fixture *f)
{
	struct reply reply = authorize_as(f->server, 2, B2_TEST_KEY_ID, B2_TEST_KEY);
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
}

/* ---- b2_authorize_account ------------------------------------------------------------------- */

static void test_authorize_v1_shape(void **state)
{
	struct fixture *f = *state;
	struct reply reply = authorize_as(f->server, 1, B2_TEST_KEY_ID, B2_TEST_KEY);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "accountId"), B2_TEST_KEY_ID);
	assert_string_equal(text(reply.json, "apiUrl"), b2_test_server_url(f->server));
	assert_string_equal(text(reply.json, "downloadUrl"), b2_test_server_url(f->server));
	assert_true(has_member(reply.json, "allowed.bucketId"));
	assert_true(has_member(reply.json, "allowed.namePrefix"));
	assert_int_equal(json_object_get_int(member(reply.json, "absoluteMinimumPartSize")), 5000000);
	assert_true(strlen(text(reply.json, "authorizationToken")) > 10);
	reply_free(&reply);
}

static void test_authorize_v2_post_empty_body(void **state)
{
	struct fixture *f = *state;
	char url[256], basic[200], encoded[100];
	EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)B2_TEST_KEY_ID ":" B2_TEST_KEY,
			(int)strlen(B2_TEST_KEY_ID ":" B2_TEST_KEY));
	snprintf(basic, sizeof basic, "Authorization: Basic %s", encoded);
	snprintf(url, sizeof url, "%s/b2api/v2/b2_authorize_account", b2_test_server_url(f->server));
	const char *headers[] = {basic, NULL};
	struct reply reply = http("POST", url, headers, "{}", 2);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "apiUrl"), b2_test_server_url(f->server));
	json_object *capabilities = member(reply.json, "allowed.capabilities");
	assert_true(json_object_array_length(capabilities) > 10);
	reply_free(&reply);
}

static void test_authorize_v3_v4_shapes(void **state)
{
	struct fixture *f = *state;
	struct reply v3 = authorize_as(f->server, 3, B2_TEST_KEY_ID, B2_TEST_KEY);
	assert_int_equal(v3.status, 200);
	assert_string_equal(text(v3.json, "apiInfo.storageApi.apiUrl"), b2_test_server_url(f->server));
	assert_string_equal(text(v3.json, "apiInfo.storageApi.infoType"), "storageApi");
	assert_false(has_member(v3.json, "allowed"));
	reply_free(&v3);

	struct reply v4 = authorize_as(f->server, 4, B2_TEST_KEY_ID, B2_TEST_KEY);
	assert_int_equal(v4.status, 200);
	assert_string_equal(text(v4.json, "apiInfo.storageApi.downloadUrl"), b2_test_server_url(f->server));
	json_object *buckets = member(v4.json, "apiInfo.storageApi.allowed.buckets");
	assert_non_null(buckets);
	assert_int_equal(json_object_array_length(buckets), 0); /* master key: every bucket */
	assert_false(has_member(v4.json, "apiInfo.storageApi.bucketId"));
	reply_free(&v4);
}

static void test_authorize_errors(void **state)
{
	struct fixture *f = *state;
	struct reply wrong = authorize_as(f->server, 2, B2_TEST_KEY_ID, "wrong-key");
	assert_b2_error(&wrong, 401, "unauthorized");
	reply_free(&wrong);

	char url[256];
	snprintf(url, sizeof url, "%s/b2api/v2/b2_authorize_account", b2_test_server_url(f->server));
	struct reply missing = http("GET", url, NULL, NULL, 0);
	assert_b2_error(&missing, 401, "missing_auth_token");
	reply_free(&missing);

	const char *garbage[] = {"Authorization: Basic !!!notbase64", NULL};
	struct reply bad = http("GET", url, garbage, NULL, 0);
	assert_b2_error(&bad, 401, "unauthorized");
	reply_free(&bad);
}

/* ---- buckets ---------------------------------------------------------------------------------- */

static void test_list_buckets_fields_and_filters(void **state)
{
	struct fixture *f = *state;
	struct reply all = call(f, "b2_list_buckets",
				"{\"accountId\":\"%s\",\"bucketTypes\":[\"all\"],\"bucketId\":null,"
				"\"bucketName\":\"%s\"}", B2_TEST_KEY_ID, B2_TEST_BUCKET);
	assert_int_equal(all.status, 200);
	json_object *bucket = json_object_array_get_idx(member(all.json, "buckets"), 0);
	assert_string_equal(text(bucket, "bucketName"), B2_TEST_BUCKET);
	assert_string_equal(text(bucket, "bucketType"), "allPrivate");
	static const char *const required[] = {"accountId", "bucketId", "bucketInfo", "corsRules",
					       "lifecycleRules", "revision", "options",
					       "defaultServerSideEncryption", "fileLockConfiguration",
					       "replicationConfiguration"};
	for (size_t i = 0; i < sizeof required / sizeof *required; i++)
		assert_true(has_member(bucket, required[i]));
	reply_free(&all);

	struct reply none = call(f, "b2_list_buckets", "{\"accountId\":\"%s\",\"bucketName\":\"nosuchbucket\"}",
				 B2_TEST_KEY_ID);
	assert_int_equal(none.status, 200);
	assert_int_equal(json_object_array_length(member(none.json, "buckets")), 0);
	reply_free(&none);

	struct reply by_id = call(f, "b2_list_buckets", "{\"accountId\":\"%s\",\"bucketId\":\"%s\"}",
				  B2_TEST_KEY_ID, f->bucket_id);
	assert_int_equal(json_object_array_length(member(by_id.json, "buckets")), 1);
	reply_free(&by_id);
}

static void test_list_buckets_errors(void **state)
{
	struct fixture *f = *state;
	struct reply no_account = call(f, "b2_list_buckets", "{}");
	assert_b2_error(&no_account, 400, "bad_request");
	reply_free(&no_account);
	struct reply other_account = call(f, "b2_list_buckets", "{\"accountId\":\"someone-else\"}");
	assert_b2_error(&other_account, 401, "unauthorized");
	reply_free(&other_account);
	struct reply bad_types = call(f, "b2_list_buckets",
				      "{\"accountId\":\"%s\",\"bucketTypes\":[\"all\",\"allPublic\"]}", B2_TEST_KEY_ID);
	assert_b2_error(&bad_types, 400, "bad_request");
	reply_free(&bad_types);
	struct reply empty_types = call(f, "b2_list_buckets", "{\"accountId\":\"%s\",\"bucketTypes\":[]}",
					B2_TEST_KEY_ID);
	assert_b2_error(&empty_types, 400, "bad_request");
	reply_free(&empty_types);
}

static void test_create_and_delete_bucket(void **state)
{
	struct fixture *f = *state;
	struct reply created = call(f, "b2_create_bucket",
				    "{\"accountId\":\"%s\",\"bucketName\":\"second-bucket\",\"bucketType\":\"allPrivate\"}",
				    B2_TEST_KEY_ID);
	assert_int_equal(created.status, 200);
	char id[64];
	strcpy(id, text(created.json, "bucketId"));
	reply_free(&created);

	struct reply duplicate = call(f, "b2_create_bucket",
				      "{\"accountId\":\"%s\",\"bucketName\":\"%s\",\"bucketType\":\"allPrivate\"}",
				      B2_TEST_KEY_ID, B2_TEST_BUCKET);
	assert_b2_error(&duplicate, 400, "duplicate_bucket_name");
	reply_free(&duplicate);

	put(f, "keeps-it-busy", "x");
	struct reply not_empty = call(f, "b2_delete_bucket", "{\"accountId\":\"%s\",\"bucketId\":\"%s\"}",
				      B2_TEST_KEY_ID, f->bucket_id);
	assert_b2_error(&not_empty, 400, "cannot_delete_non_empty_bucket");
	reply_free(&not_empty);

	struct reply deleted = call(f, "b2_delete_bucket", "{\"accountId\":\"%s\",\"bucketId\":\"%s\"}",
				    B2_TEST_KEY_ID, id);
	assert_int_equal(deleted.status, 200);
	reply_free(&deleted);
	struct reply listed = call(f, "b2_list_buckets", "{\"accountId\":\"%s\",\"bucketName\":\"second-bucket\"}",
				   B2_TEST_KEY_ID);
	assert_int_equal(json_object_array_length(member(listed.json, "buckets")), 0);
	reply_free(&listed);
}

/* b2_update_bucket changes the type and the lifecycle rules, keeps what it is not given, and
 * refuses a bad type, Object Lock after creation and another bucket's id. */
static void test_update_bucket(void **state)
{
	struct fixture *f = *state;
	struct reply reply = call(f, "b2_update_bucket",
				  "{\"accountId\":\"%s\",\"bucketId\":\"%s\",\"bucketType\":\"allPublic\","
				  "\"lifecycleRules\":[{\"fileNamePrefix\":\"logs/\",\"daysFromHidingToDeleting\":7,"
				  "\"daysFromUploadingToHiding\":null}]}",
				  B2_TEST_KEY_ID, f->bucket_id);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "bucketType"), "allPublic");
	json_object *rule = json_object_array_get_idx(member(reply.json, "lifecycleRules"), 0);
	assert_non_null(rule);
	assert_string_equal(text(rule, "fileNamePrefix"), "logs/");
	reply_free(&reply);
	/* Only the type: the rules stay. */
	reply = call(f, "b2_update_bucket",
		     "{\"accountId\":\"%s\",\"bucketId\":\"%s\",\"bucketType\":\"allPrivate\"}",
		     B2_TEST_KEY_ID, f->bucket_id);
	assert_int_equal(reply.status, 200);
	assert_int_equal(json_object_array_length(member(reply.json, "lifecycleRules")), 1);
	reply_free(&reply);
	reply = call(f, "b2_update_bucket", "{\"accountId\":\"%s\",\"bucketId\":\"%s\",\"bucketType\":\"snapshot\"}",
		     B2_TEST_KEY_ID, f->bucket_id);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = call(f, "b2_update_bucket", "{\"accountId\":\"%s\",\"bucketId\":\"%s\",\"fileLockEnabled\":true}",
		     B2_TEST_KEY_ID, f->bucket_id);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = call(f, "b2_update_bucket", "{\"accountId\":\"%s\",\"bucketId\":\"nosuchbucket000\"}",
		     B2_TEST_KEY_ID);
	assert_int_equal(reply.status, 400);
	reply_free(&reply);
}

/* ---- b2_get_upload_url: every error of the seed's table -------------------------------------- */

static void test_get_upload_url_ok(void **state)
{
	struct fixture *f = *state;
	struct reply reply = call(f, "b2_get_upload_url", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "bucketId"), f->bucket_id);
	assert_true(strncmp(text(reply.json, "uploadUrl"), b2_test_server_url(f->server),
			    strlen(b2_test_server_url(f->server))) == 0);
	assert_true(strlen(text(reply.json, "authorizationToken")) > 10);
	reply_free(&reply);
}

static void test_get_upload_url_bad_bucket_id(void **state)
{
	struct fixture *f = *state;
	struct reply reply = call(f, "b2_get_upload_url", "{\"bucketId\":\"000000000000000000000000\"}");
	assert_b2_error(&reply, 400, "bad_bucket_id");
	reply_free(&reply);
}

static void test_get_upload_url_bad_request(void **state)
{
	struct fixture *f = *state;
	struct reply missing = call(f, "b2_get_upload_url", "{}");
	assert_b2_error(&missing, 400, "bad_request");
	reply_free(&missing);
	struct reply wrong_type = call(f, "b2_get_upload_url", "{\"bucketId\":42}");
	assert_b2_error(&wrong_type, 400, "bad_request");
	reply_free(&wrong_type);
}

static void test_get_upload_url_bad_and_expired_token(void **state)
{
	struct fixture *f = *state;
	char json[128];
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", f->bucket_id);
	struct reply bad = call_with(f->server, "4_not_a_token", "b2_get_upload_url", json);
	assert_b2_error(&bad, 401, "bad_auth_token");
	reply_free(&bad);

	control(f, "/_test/expire", "{\"tokens\":\"account\"}");
	struct reply expired = call(f, "b2_get_upload_url", "%s", json);
	assert_b2_error(&expired, 401, "expired_auth_token");
	reply_free(&expired);

	token_of(f->server, B2_TEST_KEY_ID, B2_TEST_KEY, f->token); /* re-authorizing helps */
	struct reply again = call(f, "b2_get_upload_url", "%s", json);
	assert_int_equal(again.status, 200);
	reply_free(&again);
}

static void test_token_ttl_expires(void **state)
{
	(void)state;
	const char *args[] = {"--token-ttl", "1", NULL};
	struct fixture *f;
	assert_int_equal(start_server((void **)&f, args), 0);
	sleep(2);
	struct reply expired = call(f, "b2_get_upload_url", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_b2_error(&expired, 401, "expired_auth_token");
	reply_free(&expired);
	assert_int_equal(b2_test_server_stop(f->server), 0);
	free(f);
}

static void test_get_upload_url_unauthorized_without_write_files(void **state)
{
	(void)state;
	const char *args[] = {"--restricted-key", "reader:reader-key:" B2_TEST_BUCKET ":listBuckets,listFiles,readFiles", NULL};
	struct fixture *f;
	assert_int_equal(start_server((void **)&f, args), 0);
	char token[128];
	token_of(f->server, "reader", "reader-key", token);
	char json[128];
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", f->bucket_id);
	struct reply reply = call_with(f->server, token, "b2_get_upload_url", json);
	assert_b2_error(&reply, 401, "unauthorized");
	reply_free(&reply);
	assert_int_equal(b2_test_server_stop(f->server), 0);
	free(f);
}

static void test_get_upload_url_storage_cap_exceeded(void **state)
{
	(void)state;
	const char *args[] = {"--storage-cap", "10", NULL};
	struct fixture *f;
	assert_int_equal(start_server((void **)&f, args), 0);
	struct target target = upload_target(f);
	struct reply too_big = upload_to(&target, "big", "0123456789ABCDEF", 16, NULL, NULL);
	assert_b2_error(&too_big, 403, "storage_cap_exceeded");
	reply_free(&too_big);
	put(f, "fits", "0123456789"); /* exactly the cap */
	struct reply full = call(f, "b2_get_upload_url", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_b2_error(&full, 403, "storage_cap_exceeded");
	reply_free(&full);
	assert_int_equal(b2_test_server_stop(f->server), 0);
	free(f);
}

static void test_get_upload_url_service_unavailable(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/fail", "{\"api\":\"b2_get_upload_url\",\"status\":503}");
	struct reply busy = call(f, "b2_get_upload_url", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_b2_error(&busy, 503, "service_unavailable");
	reply_free(&busy);
	struct reply next = call(f, "b2_get_upload_url", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(next.status, 200);
	reply_free(&next);
}

/* ---- b2_upload_file ------------------------------------------------------------------------- */

static void test_upload_and_download(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	const char *content = "hello, b2";
	char hex[41];
	sha1_hex(content, strlen(content), hex);
	struct reply up = upload_to(&target, "dir/hello.txt", content, strlen(content), NULL,
				    "X-Bz-Info-Src_Last_Modified_Millis: 1700000000000");
	assert_int_equal(up.status, 200);
	assert_string_equal(text(up.json, "action"), "upload");
	assert_string_equal(text(up.json, "fileName"), "dir/hello.txt");
	assert_string_equal(text(up.json, "contentSha1"), hex);
	/* B2 gives the hex MD5 of a small file, as b2sdk reads it (not null). */
	assert_string_equal(text(up.json, "contentMd5"), "360a11df1bcc38392743d49f913308d4");
	assert_int_equal(json_object_get_int64(member(up.json, "contentLength")), strlen(content));
	/* Go canonicalises header names: B2 lower-cases info keys. */
	assert_string_equal(text(up.json, "fileInfo.src_last_modified_millis"), "1700000000000");
	assert_true(has_member(up.json, "fileRetention") && has_member(up.json, "legalHold"));
	char file_id[200];
	strcpy(file_id, text(up.json, "fileId"));
	reply_free(&up);

	/* The same URL and token serve the next upload too (serial reuse). */
	struct reply second = upload_to(&target, "dir/second.txt", "2", 1, NULL, NULL);
	assert_int_equal(second.status, 200);
	reply_free(&second);

	struct reply down = download(f, "GET", "dir/hello.txt", NULL);
	assert_int_equal(down.status, 200);
	assert_int_equal(down.length, strlen(content));
	assert_memory_equal(down.body, content, strlen(content));
	assert_string_equal(header(&down, "X-Bz-Content-Sha1"), hex);
	assert_string_equal(header(&down, "X-Bz-File-Id"), file_id);
	assert_string_equal(header(&down, "X-Bz-File-Name"), "dir/hello.txt");
	assert_string_equal(header(&down, "x-bz-info-src_last_modified_millis"), "1700000000000");
	assert_string_equal(header(&down, "Content-Type"), "text/plain");
	assert_true(strlen(header(&down, "X-Bz-Upload-Timestamp")) >= 13);
	reply_free(&down);
}

static void test_upload_sha1_mismatch_rejected(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	struct reply reply = upload_to(&target, "bad-sha1", "data", 4,
				       "0000000000000000000000000000000000000000", NULL);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	struct reply down = download(f, "GET", "bad-sha1", NULL);
	assert_b2_error(&down, 404, "not_found");
	reply_free(&down);
}

static void test_upload_hex_digits_at_end(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	const char *content = "streamed content";
	char body[128], hex[41];
	sha1_hex(content, strlen(content), hex);
	snprintf(body, sizeof body, "%s%s", content, hex);
	struct reply ok = upload_to(&target, "trailer", body, strlen(body), "hex_digits_at_end", NULL);
	assert_int_equal(ok.status, 200);
	assert_string_equal(text(ok.json, "contentSha1"), hex);
	assert_int_equal(json_object_get_int64(member(ok.json, "contentLength")), strlen(content));
	reply_free(&ok);

	struct reply down = download(f, "GET", "trailer", NULL);
	assert_int_equal(down.length, strlen(content));
	assert_memory_equal(down.body, content, strlen(content));
	reply_free(&down);

	snprintf(body, sizeof body, "%s%s", content, "ffffffffffffffffffffffffffffffffffffffff");
	struct reply wrong = upload_to(&target, "trailer2", body, strlen(body), "hex_digits_at_end", NULL);
	assert_b2_error(&wrong, 400, "bad_request");
	reply_free(&wrong);
	struct reply short_body = upload_to(&target, "trailer3", "abc", 3, "hex_digits_at_end", NULL);
	assert_b2_error(&short_body, 400, "bad_request");
	reply_free(&short_body);
}

static void test_upload_name_decoding(void **state)
{
	struct fixture *f = *state;
	put(f, "plus+is+space", "1");
	put(f, "percent%20space%2Bplus", "2");
	put(f, "caf%C3%A9/%E2%82%AC", "3");
	struct reply list = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(list.status, 200);
	json_object *files = member(list.json, "files");
	assert_int_equal(json_object_array_length(files), 3);
	/* sorted by UTF-8 bytes */
	assert_string_equal(text(json_object_array_get_idx(files, 0), "fileName"), "caf\xc3\xa9/\xe2\x82\xac");
	assert_string_equal(text(json_object_array_get_idx(files, 1), "fileName"), "percent space+plus");
	assert_string_equal(text(json_object_array_get_idx(files, 2), "fileName"), "plus is space");
	reply_free(&list);
	struct reply down = download(f, "GET", "percent%20space%2Bplus", NULL);
	assert_int_equal(down.status, 200);
	assert_string_equal(header(&down, "X-Bz-File-Name"), "percent%20space%2Bplus");
	reply_free(&down);
	struct reply unicode = download(f, "GET", "caf%C3%A9/%E2%82%AC", NULL);
	assert_int_equal(unicode.status, 200);
	assert_memory_equal(unicode.body, "3", 1);
	reply_free(&unicode);
}

static void test_upload_bad_names_and_headers(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	static const char *const bad_names[] = {"/leading", "trailing/", "double//slash", "bad%zzescape",
						"nul%00byte", "ctrl%01char", ""};
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
		struct reply reply = upload_to(&target, bad_names[i], "x", 1, NULL, NULL);
		assert_b2_error(&reply, 400, "bad_request");
		reply_free(&reply);
	}
	struct reply bad_sha1 = upload_to(&target, "x", "x", 1, "not-a-sha1", NULL);
	assert_b2_error(&bad_sha1, 400, "bad_request");
	reply_free(&bad_sha1);
	struct reply reserved = upload_to(&target, "x", "x", 1, NULL, "X-Bz-Info-b2-unknown: 1");
	assert_b2_error(&reserved, 400, "bad_request");
	reply_free(&reserved);

	char *oversized = malloc(8000);
	strcpy(oversized, "X-Bz-Info-big: ");
	memset(oversized + 15, 'v', 7000);
	oversized[7015] = '\0';
	struct reply too_much_info = upload_to(&target, "x", "x", 1, NULL, oversized);
	assert_b2_error(&too_much_info, 400, "bad_request");
	reply_free(&too_much_info);
	free(oversized);

	char authorization[200];
	snprintf(authorization, sizeof authorization, "Authorization: %s", target.token);
	const char *no_name[] = {authorization, "Content-Type: text/plain",
				 "X-Bz-Content-Sha1: do_not_verify", NULL};
	struct reply missing = http("POST", target.url, no_name, "x", 1);
	assert_b2_error(&missing, 400, "bad_request");
	reply_free(&missing);

	struct reply unverified = upload_to(&target, "unverified", "x", 1, "do_not_verify", NULL);
	assert_int_equal(unverified.status, 200);
	assert_true(strncmp(text(unverified.json, "contentSha1"), "unverified:", 11) == 0);
	reply_free(&unverified);
}

static size_t read_chunk(char *buffer, size_t size, size_t count, void *cls)
{
	int *calls = cls;
	if ((*calls)++ > 0 || size * count < 5)
		return 0;
	memcpy(buffer, "chunk", 5);
	return 5;
}

static void test_upload_chunked_rejected(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	char authorization[200];
	snprintf(authorization, sizeof authorization, "Authorization: %s", target.token);
	struct curl_slist *list = NULL;
	list = curl_slist_append(list, authorization);
	list = curl_slist_append(list, "X-Bz-File-Name: chunked");
	list = curl_slist_append(list, "Content-Type: text/plain");
	list = curl_slist_append(list, "X-Bz-Content-Sha1: do_not_verify");
	list = curl_slist_append(list, "Transfer-Encoding: chunked");
	list = curl_slist_append(list, "Expect:");
	int calls = 0;
	long status = 0;
	char *body = NULL;
	size_t length = 0;
	struct collector collector = {&body, &length};
	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, target.url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_chunk);
	curl_easy_setopt(curl, CURLOPT_READDATA, &calls);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &collector);
	assert_int_equal(curl_easy_perform(curl), CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(list);
	assert_int_equal(status, 400);
	assert_non_null(strstr(body, "bad_request"));
	free(body);
}

static int connect_raw(struct b2_test_server *server);
static void send_all(int fd, const char *text_to_send);
static char *receive_reply(int fd);

static void test_upload_without_content_length(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	char request[1024];
	snprintf(request, sizeof request,
		 "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nX-Bz-File-Name: no-length\r\n"
		 "Content-Type: text/plain\r\nX-Bz-Content-Sha1: do_not_verify\r\nConnection: close\r\n\r\n",
		 strstr(target.url + 7, "/"), target.token);
	int fd = connect_raw(f->server);
	send_all(fd, request);
	char *answer = receive_reply(fd);
	close(fd);
	assert_non_null(strstr(answer, "HTTP/1.1 400"));
	assert_non_null(strstr(answer, "Content-Length is required"));
	free(answer);
}

static void test_upload_token_errors(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	struct target other = upload_target(f);

	struct target wrong_token = target;
	strcpy(wrong_token.token, "2_not_a_token");
	struct reply bad = upload_to(&wrong_token, "x", "x", 1, NULL, NULL);
	assert_b2_error(&bad, 401, "bad_auth_token");
	reply_free(&bad);

	/* A token belongs to its own upload URL. */
	struct target crossed = target;
	strcpy(crossed.token, other.token);
	struct reply cross = upload_to(&crossed, "x", "x", 1, NULL, NULL);
	assert_b2_error(&cross, 401, "bad_auth_token");
	reply_free(&cross);

	/* The account token is not an upload token. */
	struct target account = target;
	strcpy(account.token, f->token);
	struct reply wrong_kind = upload_to(&account, "x", "x", 1, NULL, NULL);
	assert_b2_error(&wrong_kind, 401, "bad_auth_token");
	reply_free(&wrong_kind);

	control(f, "/_test/expire", "{\"tokens\":\"upload\"}");
	struct reply expired = upload_to(&target, "x", "x", 1, NULL, NULL);
	assert_b2_error(&expired, 401, "expired_auth_token");
	reply_free(&expired);
	/* Account tokens are untouched by expiring upload tokens. */
	struct target fresh = upload_target(f);
	struct reply ok = upload_to(&fresh, "x", "x", 1, NULL, NULL);
	assert_int_equal(ok.status, 200);
	reply_free(&ok);
}

static int connect_raw(struct b2_test_server *server)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(b2_test_server_port(server))};
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
	struct timeval timeout = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
	return fd;
}

static void send_all(int fd, const char *text_to_send)
{
	size_t length = strlen(text_to_send);
	assert_int_equal(send(fd, text_to_send, length, MSG_NOSIGNAL), (ssize_t)length);
}

/* Reads until the peer closes or a complete short reply arrived; returns a malloc'd string. */
static char *receive_reply(int fd)
{
	char *buffer = calloc(1, 65536);
	size_t length = 0;
	ssize_t got;
	while (length < 65535 && (got = recv(fd, buffer + length, 65535 - length, 0)) > 0) {
		length += (size_t)got;
		char *end = strstr(buffer, "\r\n\r\n");
		const char *content_length = strcasestr(buffer, "Content-Length:");
		if (end && content_length &&
		    length >= (size_t)(end + 4 - buffer) + strtoul(content_length + 15, NULL, 10))
			break;
	}
	return buffer;
}

static void test_upload_one_at_a_time_per_token(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	const char *path = strstr(target.url + 7, "/");
	char request[2048], hex[41];
	sha1_hex("0123456789", 10, hex);
	snprintf(request, sizeof request,
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nX-Bz-File-Name: slow\r\n"
		 "Content-Type: text/plain\r\nX-Bz-Content-Sha1: %s\r\nContent-Length: 10\r\n\r\n01234",
		 path, target.token, hex);
	int slow = connect_raw(f->server);
	send_all(slow, request);
	/* Let the server see the first upload's headers and half its body. */
	for (int i = 0; i < 100 && b2_test_server_counter(f->server, "b2_upload_file") < 1; i++)
		usleep(10000);
	usleep(50000);

	struct reply second = upload_to(&target, "fast", "x", 1, NULL, NULL);
	assert_b2_error(&second, 400, "auth_token_limit");
	reply_free(&second);

	send_all(slow, "56789");
	char *first = receive_reply(slow);
	close(slow);
	assert_non_null(strstr(first, "HTTP/1.1 200"));
	assert_non_null(strstr(first, "\"fileName\":\"slow\""));
	free(first);

	/* Released once the first upload finished. */
	struct reply third = upload_to(&target, "fast", "x", 1, NULL, NULL);
	assert_int_equal(third.status, 200);
	reply_free(&third);
}

/* ---- large files ---------------------------------------------------------------------------- */

struct large {
	char file_id[200];
	char url[512];
	char token[128];
};

static struct large start_large(struct fixture *f, const char *name)
{
	struct large large;
	struct reply started = call(f, "b2_start_large_file",
				    "{\"bucketId\":\"%s\",\"fileName\":\"%s\",\"contentType\":\"b2/x-auto\","
				    "\"fileInfo\":{\"large_file_sha1\":\"none\"}}", f->bucket_id, name);
	assert_int_equal(started.status, 200);
	assert_string_equal(text(started.json, "action"), "start");
	strcpy(large.file_id, text(started.json, "fileId"));
	reply_free(&started);
	struct reply target = call(f, "b2_get_upload_part_url", "{\"fileId\":\"%s\"}", large.file_id);
	assert_int_equal(target.status, 200);
	strcpy(large.url, text(target.json, "uploadUrl"));
	strcpy(large.token, text(target.json, "authorizationToken"));
	reply_free(&target);
	return large;
}

static struct reply upload_part(const struct large *large, int number, const void *data,
				size_t length, bool digits_at_end)
{
	char authorization[200], part[64], sha1_header[100], hex[41];
	snprintf(authorization, sizeof authorization, "Authorization: %s", large->token);
	snprintf(part, sizeof part, "X-Bz-Part-Number: %d", number);
	sha1_hex(data, length, hex);
	snprintf(sha1_header, sizeof sha1_header, "X-Bz-Content-Sha1: %s",
		 digits_at_end ? "hex_digits_at_end" : hex);
	const char *headers[] = {authorization, part, sha1_header, NULL};
	if (!digits_at_end)
		return http("POST", large->url, headers, data, length);
	char *body = malloc(length + 40);
	memcpy(body, data, length);
	memcpy(body + length, hex, 40);
	struct reply reply = http("POST", large->url, headers, body, length + 40);
	free(body);
	return reply;
}

static void test_large_file_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t first_length = 5000000, second_length = 1234;
	char *data = malloc(first_length + second_length);
	for (size_t i = 0; i < first_length + second_length; i++)
		data[i] = (char)(i * 7 + i / 1000);
	char sha1_first[41], sha1_second[41], sha1_whole[41];
	sha1_hex(data, first_length, sha1_first);
	sha1_hex(data + first_length, second_length, sha1_second);
	sha1_hex(data, first_length + second_length, sha1_whole);

	char small_id[200];
	strcpy(small_id, put(f, "big/file.bin", "an older, small version"));
	struct large large = start_large(f, "big/file.bin");
	struct reply unfinished = call(f, "b2_list_unfinished_large_files", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(json_object_array_length(member(unfinished.json, "files")), 1);
	reply_free(&unfinished);
	/* Versions show the started file first (newest), names only the finished one. */
	struct reply versions = call(f, "b2_list_file_versions", "{\"bucketId\":\"%s\"}", f->bucket_id);
	json_object *listed = member(versions.json, "files");
	assert_int_equal(json_object_array_length(listed), 2);
	assert_string_equal(text(json_object_array_get_idx(listed, 0), "action"), "start");
	assert_string_equal(text(json_object_array_get_idx(listed, 0), "fileId"), large.file_id);
	assert_string_equal(text(json_object_array_get_idx(listed, 1), "fileId"), small_id);
	reply_free(&versions);
	struct reply names = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(json_object_array_length(member(names.json, "files")), 1);
	assert_string_equal(text(json_object_array_get_idx(member(names.json, "files"), 0), "fileId"), small_id);
	reply_free(&names);

	struct reply one = upload_part(&large, 1, data, first_length, true);
	assert_int_equal(one.status, 200);
	assert_string_equal(text(one.json, "contentSha1"), sha1_first);
	assert_int_equal(json_object_get_int64(member(one.json, "contentLength")), first_length);
	reply_free(&one);
	struct reply two = upload_part(&large, 2, data + first_length, second_length, false);
	assert_int_equal(two.status, 200);
	unsigned char md5[16];
	char md5_hex[33];
	EVP_Digest(data + first_length, second_length, md5, NULL, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		snprintf(md5_hex + 2 * i, 3, "%02x", md5[i]);
	assert_string_equal(text(two.json, "contentMd5"), md5_hex); /* a part's MD5 too */
	reply_free(&two);

	struct reply parts = call(f, "b2_list_parts", "{\"fileId\":\"%s\"}", large.file_id);
	assert_int_equal(parts.status, 200);
	assert_int_equal(json_object_array_length(member(parts.json, "parts")), 2);
	reply_free(&parts);

	struct reply wrong = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\"]}",
				  large.file_id, sha1_second, sha1_first);
	assert_b2_error(&wrong, 400, "bad_request");
	reply_free(&wrong);
	struct reply missing = call(f, "b2_finish_large_file",
				    "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\",\"%s\"]}",
				    large.file_id, sha1_first, sha1_second, sha1_second);
	assert_b2_error(&missing, 400, "bad_request");
	reply_free(&missing);
	struct reply too_few = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\"]}",
				    large.file_id, sha1_first);
	assert_b2_error(&too_few, 400, "bad_request");
	reply_free(&too_few);

	struct reply finished = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\"]}",
				     large.file_id, sha1_first, sha1_second);
	assert_int_equal(finished.status, 200);
	assert_string_equal(text(finished.json, "action"), "upload");
	assert_string_equal(text(finished.json, "contentSha1"), "none");
	assert_string_equal(text(finished.json, "contentType"), "application/octet-stream"); /* b2/x-auto */
	assert_int_equal(json_object_get_int64(member(finished.json, "contentLength")), first_length + second_length);
	reply_free(&finished);

	struct reply again = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\"]}",
				  large.file_id, sha1_first, sha1_second);
	assert_b2_error(&again, 400, "bad_request"); /* already finished */
	reply_free(&again);

	struct reply down = download(f, "GET", "big/file.bin", NULL);
	assert_int_equal(down.status, 200);
	assert_int_equal(down.length, first_length + second_length);
	char got[41];
	sha1_hex(down.body, down.length, got);
	assert_string_equal(got, sha1_whole);
	reply_free(&down);

	/* A range across the part boundary. */
	struct reply across = download(f, "GET", "big/file.bin", "bytes=4999990-5000009");
	assert_int_equal(across.status, 206);
	assert_int_equal(across.length, 20);
	assert_memory_equal(across.body, data + 4999990, 20);
	reply_free(&across);

	struct reply none_left = call(f, "b2_list_unfinished_large_files", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(json_object_array_length(member(none_left.json, "files")), 0);
	reply_free(&none_left);
	struct reply after = call(f, "b2_list_file_versions", "{\"bucketId\":\"%s\"}", f->bucket_id);
	listed = member(after.json, "files");
	assert_int_equal(json_object_array_length(listed), 2);
	assert_string_equal(text(json_object_array_get_idx(listed, 0), "action"), "upload");
	assert_string_equal(text(json_object_array_get_idx(listed, 0), "fileId"), large.file_id);
	reply_free(&after);

	/* An unfinished file alone under its name, between other names. */
	put(f, "a-first", "1");
	put(f, "z-last", "2");
	struct large lonely = start_large(f, "m-middle");
	struct reply mixed = call(f, "b2_list_file_versions", "{\"bucketId\":\"%s\",\"maxFileCount\":1,\"startFileName\":\"c\"}",
				  f->bucket_id);
	listed = member(mixed.json, "files");
	assert_int_equal(json_object_array_length(listed), 1);
	assert_string_equal(text(json_object_array_get_idx(listed, 0), "fileId"), lonely.file_id);
	assert_string_equal(text(mixed.json, "nextFileName"), "z-last");
	reply_free(&mixed);
	free(data);
}

static void test_large_file_small_part_and_cancel(void **state)
{
	struct fixture *f = *state;
	struct large large = start_large(f, "small-parts");
	char hex[41];
	sha1_hex("abc", 3, hex);
	struct reply one = upload_part(&large, 1, "abc", 3, false);
	assert_int_equal(one.status, 200);
	reply_free(&one);
	struct reply two = upload_part(&large, 2, "abc", 3, false);
	assert_int_equal(two.status, 200);
	reply_free(&two);
	struct reply small = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\"]}",
				  large.file_id, hex, hex);
	assert_b2_error(&small, 400, "bad_request"); /* part 1 below 5,000,000 bytes */
	reply_free(&small);

	struct reply bad_number = upload_part(&large, 10001, "abc", 3, false);
	assert_b2_error(&bad_number, 400, "bad_request");
	reply_free(&bad_number);

	struct reply cancelled = call(f, "b2_cancel_large_file", "{\"fileId\":\"%s\"}", large.file_id);
	assert_int_equal(cancelled.status, 200);
	assert_string_equal(text(cancelled.json, "fileName"), "small-parts");
	reply_free(&cancelled);
	struct reply gone = call(f, "b2_get_upload_part_url", "{\"fileId\":\"%s\"}", large.file_id);
	assert_b2_error(&gone, 400, "bad_request");
	reply_free(&gone);
	struct reply late_part = upload_part(&large, 3, "abc", 3, false);
	assert_int_not_equal(late_part.status, 200);
	reply_free(&late_part);
}

static void test_copy_part(void **state)
{
	struct fixture *f = *state;
	size_t first_length = 5000000, big_length = first_length + 10;
	char *data = malloc(big_length + 3);
	for (size_t i = 0; i < big_length; i++)
		data[i] = (char)(i % 251);
	char sha1_first[41], sha1_rest[41], sha1_big[41], sha1_small[41], sha1_all[41];
	sha1_hex(data, first_length, sha1_first);
	sha1_hex(data + first_length, 10, sha1_rest);
	sha1_hex(data, big_length, sha1_big);
	sha1_hex("234", 3, sha1_small);

	/* A two-part source, so the copied part spans two segments. */
	struct large source = start_large(f, "copy-source");
	struct reply one = upload_part(&source, 1, data, first_length, false);
	struct reply two = upload_part(&source, 2, data + first_length, 10, false);
	assert_int_equal(one.status, 200);
	assert_int_equal(two.status, 200);
	reply_free(&one);
	reply_free(&two);
	struct reply done = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\"]}",
				 source.file_id, sha1_first, sha1_rest);
	assert_int_equal(done.status, 200);
	reply_free(&done);
	char small_id[200];
	strcpy(small_id, put(f, "copy-small", "0123456789"));

	struct large target = start_large(f, "copy-target");
	struct reply whole = call(f, "b2_copy_part", "{\"sourceFileId\":\"%s\",\"largeFileId\":\"%s\",\"partNumber\":1}",
				  source.file_id, target.file_id);
	assert_int_equal(whole.status, 200);
	assert_string_equal(text(whole.json, "contentSha1"), sha1_big);
	assert_int_equal(json_object_get_int64(member(whole.json, "contentLength")), big_length);
	reply_free(&whole);
	struct reply ranged = call(f, "b2_copy_part",
				   "{\"sourceFileId\":\"%s\",\"largeFileId\":\"%s\",\"partNumber\":2,\"range\":\"bytes=2-4\"}",
				   small_id, target.file_id);
	assert_int_equal(ranged.status, 200);
	assert_string_equal(text(ranged.json, "contentSha1"), sha1_small);
	reply_free(&ranged);
	struct reply outside = call(f, "b2_copy_part",
				    "{\"sourceFileId\":\"%s\",\"largeFileId\":\"%s\",\"partNumber\":3,\"range\":\"bytes=20-30\"}",
				    small_id, target.file_id);
	assert_b2_error(&outside, 416, "range_not_satisfiable");
	reply_free(&outside);

	struct reply finished = call(f, "b2_finish_large_file", "{\"fileId\":\"%s\",\"partSha1Array\":[\"%s\",\"%s\"]}",
				     target.file_id, sha1_big, sha1_small);
	assert_int_equal(finished.status, 200);
	reply_free(&finished);
	struct reply down = download(f, "GET", "copy-target", NULL);
	assert_int_equal(down.length, big_length + 3);
	memcpy(data + big_length, "234", 3);
	sha1_hex(data, big_length + 3, sha1_all);
	char got[41];
	sha1_hex(down.body, down.length, got);
	assert_string_equal(got, sha1_all);
	reply_free(&down);
	free(data);
}

/* ---- listing, info, hide, delete, copy ------------------------------------------------------ */

static void test_list_file_names(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {"a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d.txt", "e.txt"};
	for (size_t i = 0; i < 6; i++)
		put(f, names[i], "x");

	struct reply folders = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\",\"delimiter\":\"/\"}", f->bucket_id);
	json_object *files = member(folders.json, "files");
	assert_int_equal(json_object_array_length(files), 4);
	assert_string_equal(text(json_object_array_get_idx(files, 1), "fileName"), "b/");
	assert_string_equal(text(json_object_array_get_idx(files, 1), "action"), "folder");
	reply_free(&folders);

	struct reply prefixed = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\",\"prefix\":\"b/\",\"delimiter\":\"/\"}",
				     f->bucket_id);
	files = member(prefixed.json, "files");
	assert_int_equal(json_object_array_length(files), 3);
	assert_string_equal(text(json_object_array_get_idx(files, 2), "fileName"), "b/c/");
	reply_free(&prefixed);

	/* Pages of two, chained through nextFileName. */
	char start[256] = "";
	int pages = 0, total = 0;
	do {
		struct reply page = start[0]
			? call(f, "b2_list_file_names", "{\"bucketId\":\"%s\",\"maxFileCount\":2,\"startFileName\":\"%s\"}",
			       f->bucket_id, start)
			: call(f, "b2_list_file_names", "{\"bucketId\":\"%s\",\"maxFileCount\":2}", f->bucket_id);
		assert_int_equal(page.status, 200);
		total += (int)json_object_array_length(member(page.json, "files"));
		json_object *next = member(page.json, "nextFileName");
		snprintf(start, sizeof start, "%s", next ? json_object_get_string(next) : "");
		reply_free(&page);
		pages++;
	} while (start[0] && pages < 10);
	assert_int_equal(total, 6);
	assert_int_equal(pages, 3);

	struct reply out_of_range = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\",\"maxFileCount\":0}", f->bucket_id);
	assert_b2_error(&out_of_range, 400, "out_of_range");
	reply_free(&out_of_range);
	struct reply bad_bucket = call(f, "b2_list_file_names", "{\"bucketId\":\"nope\"}");
	assert_b2_error(&bad_bucket, 400, "bad_bucket_id");
	reply_free(&bad_bucket);

	/* GET with query parameters works too. */
	char url[512], authorization[200];
	snprintf(url, sizeof url, "%s/b2api/v3/b2_list_file_names?bucketId=%s&prefix=b%%2F1", b2_test_server_url(f->server),
		 f->bucket_id);
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	const char *headers[] = {authorization, NULL};
	struct reply get = http("GET", url, headers, NULL, 0);
	assert_int_equal(get.status, 200);
	assert_int_equal(json_object_array_length(member(get.json, "files")), 1);
	reply_free(&get);
}

static void test_versions_hide_and_delete(void **state)
{
	struct fixture *f = *state;
	char old_id[200], new_id[200];
	strcpy(old_id, put(f, "doc", "old"));
	strcpy(new_id, put(f, "doc", "new"));

	struct reply versions = call(f, "b2_list_file_versions", "{\"bucketId\":\"%s\"}", f->bucket_id);
	json_object *files = member(versions.json, "files");
	assert_int_equal(json_object_array_length(files), 2);
	assert_string_equal(text(json_object_array_get_idx(files, 0), "fileId"), new_id); /* newest first */
	reply_free(&versions);

	struct reply hidden = call(f, "b2_hide_file", "{\"bucketId\":\"%s\",\"fileName\":\"doc\"}", f->bucket_id);
	assert_int_equal(hidden.status, 200);
	assert_string_equal(text(hidden.json, "action"), "hide");
	/* As real B2: the SHA-1 of no bytes, never null (b2sdk reads it). */
	assert_string_equal(text(hidden.json, "contentSha1"), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	reply_free(&hidden);
	struct reply twice = call(f, "b2_hide_file", "{\"bucketId\":\"%s\",\"fileName\":\"doc\"}", f->bucket_id);
	assert_b2_error(&twice, 400, "already_hidden");
	reply_free(&twice);
	struct reply absent = call(f, "b2_hide_file", "{\"bucketId\":\"%s\",\"fileName\":\"nothing\"}", f->bucket_id);
	assert_b2_error(&absent, 400, "no_such_file");
	reply_free(&absent);

	struct reply names = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(json_object_array_length(member(names.json, "files")), 0);
	reply_free(&names);
	struct reply gone = download(f, "GET", "doc", NULL);
	assert_b2_error(&gone, 404, "not_found");
	reply_free(&gone);
	struct reply all = call(f, "b2_list_file_versions", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(json_object_array_length(member(all.json, "files")), 3);
	reply_free(&all);

	/* A version stays downloadable by id. */
	char url[512], authorization[200];
	snprintf(url, sizeof url, "%s/b2api/v2/b2_download_file_by_id?fileId=%s", b2_test_server_url(f->server), old_id);
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	const char *headers[] = {authorization, NULL};
	struct reply by_id = http("GET", url, headers, NULL, 0);
	assert_int_equal(by_id.status, 200);
	assert_memory_equal(by_id.body, "old", 3);
	reply_free(&by_id);

	struct reply deleted = call(f, "b2_delete_file_version", "{\"fileName\":\"doc\",\"fileId\":\"%s\"}", old_id);
	assert_int_equal(deleted.status, 200);
	assert_string_equal(text(deleted.json, "fileId"), old_id);
	reply_free(&deleted);
	struct reply again = call(f, "b2_delete_file_version", "{\"fileName\":\"doc\",\"fileId\":\"%s\"}", old_id);
	assert_b2_error(&again, 400, "file_not_present");
	reply_free(&again);
	struct reply wrong_name = call(f, "b2_delete_file_version", "{\"fileName\":\"other\",\"fileId\":\"%s\"}", new_id);
	assert_b2_error(&wrong_name, 400, "file_not_present");
	reply_free(&wrong_name);
}

static void test_get_file_info(void **state)
{
	struct fixture *f = *state;
	char id[200];
	strcpy(id, put(f, "info.txt", "abc"));
	struct reply info = call(f, "b2_get_file_info", "{\"fileId\":\"%s\"}", id);
	assert_int_equal(info.status, 200);
	assert_string_equal(text(info.json, "fileName"), "info.txt");
	assert_int_equal(json_object_get_int64(member(info.json, "contentLength")), 3);
	reply_free(&info);
	struct reply missing = call(f, "b2_get_file_info", "{\"fileId\":\"4_zmissing\"}");
	assert_b2_error(&missing, 404, "not_found");
	reply_free(&missing);
}

static void test_download_ranges_and_head(void **state)
{
	struct fixture *f = *state;
	put(f, "range.txt", "0123456789");
	struct reply partial = download(f, "GET", "range.txt", "bytes=2-5");
	assert_int_equal(partial.status, 206);
	assert_int_equal(partial.length, 4);
	assert_memory_equal(partial.body, "2345", 4);
	assert_string_equal(header(&partial, "Content-Range"), "bytes 2-5/10");
	reply_free(&partial);

	struct reply tail = download(f, "GET", "range.txt", "bytes=-3");
	assert_int_equal(tail.status, 206);
	assert_memory_equal(tail.body, "789", 3);
	reply_free(&tail);

	struct reply open_end = download(f, "GET", "range.txt", "bytes=7-");
	assert_int_equal(open_end.status, 206);
	assert_string_equal(header(&open_end, "Content-Range"), "bytes 7-9/10");
	reply_free(&open_end);

	struct reply outside = download(f, "GET", "range.txt", "bytes=10-20");
	assert_b2_error(&outside, 416, "range_not_satisfiable");
	assert_string_equal(header(&outside, "Content-Range"), "bytes */10");
	reply_free(&outside);

	struct reply head = download(f, "HEAD", "range.txt", NULL);
	assert_int_equal(head.status, 200);
	assert_string_equal(header(&head, "Content-Length"), "10");
	assert_null(head.body);
	reply_free(&head);

	struct reply head_missing = download(f, "HEAD", "nothing-here", NULL);
	assert_int_equal(head_missing.status, 404);
	assert_null(head_missing.body);
	reply_free(&head_missing);

	char url[512];
	snprintf(url, sizeof url, "%s/file/%s/range.txt", b2_test_server_url(f->server), B2_TEST_BUCKET);
	struct reply anonymous = http("GET", url, NULL, NULL, 0);
	assert_b2_error(&anonymous, 401, "missing_auth_token");
	reply_free(&anonymous);
	snprintf(url, sizeof url, "%s/file/%s/range.txt?Authorization=%s", b2_test_server_url(f->server),
		 B2_TEST_BUCKET, f->token);
	struct reply query_token = http("GET", url, NULL, NULL, 0);
	assert_int_equal(query_token.status, 200);
	reply_free(&query_token);
}

/* b2_get_download_authorization: a token for names under a prefix, in the query, anonymous; other
 * names refused; the duration checked; and once it expired, refused even for an existing file. */
static void test_download_authorization(void **state)
{
	struct fixture *f = *state;
	put(f, "shared/a.txt", "abc");
	put(f, "private.txt", "secret");
	struct reply bad = call(f, "b2_get_download_authorization", "{\"bucketId\":\"%s\","
				"\"fileNamePrefix\":\"shared/\",\"validDurationInSeconds\":604801}", f->bucket_id);
	assert_b2_error(&bad, 400, "bad_request");
	reply_free(&bad);
	struct reply granted = call(f, "b2_get_download_authorization", "{\"bucketId\":\"%s\","
				    "\"fileNamePrefix\":\"shared/\",\"validDurationInSeconds\":1}", f->bucket_id);
	assert_int_equal(granted.status, 200);
	assert_string_equal(text(granted.json, "fileNamePrefix"), "shared/");
	char token[200], url[512];
	snprintf(token, sizeof token, "%s", text(granted.json, "authorizationToken"));
	reply_free(&granted);
	snprintf(url, sizeof url, "%s/file/%s/shared/a.txt?Authorization=%s",
		 b2_test_server_url(f->server), B2_TEST_BUCKET, token);
	struct reply ok = http("GET", url, NULL, NULL, 0);
	assert_int_equal(ok.status, 200);
	reply_free(&ok);
	char outside[512];
	snprintf(outside, sizeof outside, "%s/file/%s/private.txt?Authorization=%s",
		 b2_test_server_url(f->server), B2_TEST_BUCKET, token);
	struct reply refused = http("GET", outside, NULL, NULL, 0);
	assert_int_equal(refused.status, 401);
	reply_free(&refused);
	usleep(1100 * 1000);
	struct reply expired = http("GET", url, NULL, NULL, 0);
	assert_b2_error(&expired, 401, "expired_auth_token");
	reply_free(&expired);
}

static void test_copy_file(void **state)
{
	struct fixture *f = *state;
	char id[200];
	strcpy(id, put(f, "source.txt", "0123456789"));
	struct reply copied = call(f, "b2_copy_file", "{\"sourceFileId\":\"%s\",\"fileName\":\"copy.txt\"}", id);
	assert_int_equal(copied.status, 200);
	assert_string_equal(text(copied.json, "fileName"), "copy.txt");
	assert_string_equal(text(copied.json, "action"), "copy");
	reply_free(&copied);
	struct reply ranged = call(f, "b2_copy_file",
				   "{\"sourceFileId\":\"%s\",\"fileName\":\"part.txt\",\"range\":\"bytes=3-5\","
				   "\"metadataDirective\":\"REPLACE\",\"contentType\":\"application/x-test\"}", id);
	assert_int_equal(ranged.status, 200);
	char hex[41];
	sha1_hex("345", 3, hex);
	assert_string_equal(text(ranged.json, "contentSha1"), hex);
	reply_free(&ranged);

	struct reply down = download(f, "GET", "part.txt", NULL);
	assert_int_equal(down.length, 3);
	assert_memory_equal(down.body, "345", 3);
	assert_string_equal(header(&down, "Content-Type"), "application/x-test");
	reply_free(&down);
	struct reply full = download(f, "GET", "copy.txt", NULL);
	assert_memory_equal(full.body, "0123456789", 10);
	reply_free(&full);

	struct reply bad = call(f, "b2_copy_file", "{\"sourceFileId\":\"%s\",\"fileName\":\"x\",\"contentType\":\"a/b\"}", id);
	assert_b2_error(&bad, 400, "bad_request"); /* contentType only with REPLACE */
	reply_free(&bad);
}

/* ---- restricted keys -------------------------------------------------------------------------- */

static void test_restricted_key_bucket_and_prefix(void **state)
{
	(void)state;
	const char *args[] = {"--bucket", "other-bucket", "--restricted-key",
			      "limited:limited-key:" B2_TEST_BUCKET ":listBuckets,listFiles,readFiles,writeFiles:allowed/",
			      NULL};
	struct fixture *f;
	assert_int_equal(start_server((void **)&f, args), 0);
	char other_id[64], token[128], json[256];
	bucket_id_of(f->server, f->token, "other-bucket", other_id);
	put(f, "secret.txt", "master wrote this");
	put(f, "allowed/ok.txt", "fine");

	struct reply authorized = authorize_as(f->server, 1, "limited", "limited-key");
	assert_int_equal(authorized.status, 200);
	assert_string_equal(text(authorized.json, "allowed.bucketId"), f->bucket_id);
	assert_string_equal(text(authorized.json, "allowed.bucketName"), B2_TEST_BUCKET);
	assert_string_equal(text(authorized.json, "allowed.namePrefix"), "allowed/");
	strcpy(token, text(authorized.json, "authorizationToken"));
	reply_free(&authorized);
	struct reply v4 = authorize_as(f->server, 4, "limited", "limited-key");
	json_object *buckets = member(v4.json, "apiInfo.storageApi.allowed.buckets");
	assert_int_equal(json_object_array_length(buckets), 1);
	assert_string_equal(text(json_object_array_get_idx(buckets, 0), "id"), f->bucket_id);
	reply_free(&v4);

	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", other_id);
	struct reply other = call_with(f->server, token, "b2_get_upload_url", json);
	assert_b2_error(&other, 401, "unauthorized");
	reply_free(&other);

	snprintf(json, sizeof json, "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	struct reply unnamed = call_with(f->server, token, "b2_list_buckets", json);
	assert_b2_error(&unnamed, 401, "unauthorized");
	reply_free(&unnamed);

	snprintf(json, sizeof json, "{\"accountId\":\"%s\",\"bucketId\":\"%s\"}", B2_TEST_KEY_ID, other_id);
	struct reply named_other = call_with(f->server, token, "b2_list_buckets", json);
	assert_b2_error(&named_other, 401, "unauthorized");
	reply_free(&named_other);
	snprintf(json, sizeof json, "{\"accountId\":\"%s\",\"bucketName\":\"%s\"}", B2_TEST_KEY_ID, B2_TEST_BUCKET);
	struct reply named_own = call_with(f->server, token, "b2_list_buckets", json);
	assert_int_equal(named_own.status, 200);
	assert_int_equal(json_object_array_length(member(named_own.json, "buckets")), 1);
	reply_free(&named_own);

	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", f->bucket_id);
	struct reply whole_bucket = call_with(f->server, token, "b2_list_file_names", json);
	assert_b2_error(&whole_bucket, 401, "unauthorized");
	reply_free(&whole_bucket);
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\",\"prefix\":\"allowed/\"}", f->bucket_id);
	struct reply inside = call_with(f->server, token, "b2_list_file_names", json);
	assert_int_equal(inside.status, 200);
	assert_int_equal(json_object_array_length(member(inside.json, "files")), 1);
	reply_free(&inside);

	/* Uploads outside the prefix are refused, inside accepted. */
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", f->bucket_id);
	struct reply target_reply = call_with(f->server, token, "b2_get_upload_url", json);
	assert_int_equal(target_reply.status, 200);
	struct target target;
	strcpy(target.url, text(target_reply.json, "uploadUrl"));
	strcpy(target.token, text(target_reply.json, "authorizationToken"));
	reply_free(&target_reply);
	struct reply outside = upload_to(&target, "elsewhere.txt", "x", 1, NULL, NULL);
	assert_b2_error(&outside, 401, "unauthorized");
	reply_free(&outside);
	struct reply within = upload_to(&target, "allowed/new.txt", "x", 1, NULL, NULL);
	assert_int_equal(within.status, 200);
	reply_free(&within);

	/* Downloads too. */
	char url[512], authorization[200];
	snprintf(url, sizeof url, "%s/file/%s/secret.txt", b2_test_server_url(f->server), B2_TEST_BUCKET);
	snprintf(authorization, sizeof authorization, "Authorization: %s", token);
	const char *headers[] = {authorization, NULL};
	struct reply secret = http("GET", url, headers, NULL, 0);
	assert_b2_error(&secret, 401, "unauthorized");
	reply_free(&secret);

	/* A capability it lacks. */
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\",\"fileName\":\"allowed/ok.txt\"}", f->bucket_id);
	struct reply hide = call_with(f->server, token, "b2_hide_file", json);
	assert_int_equal(hide.status, 200); /* writeFiles */
	reply_free(&hide);
	snprintf(json, sizeof json, "{\"fileName\":\"allowed/ok.txt\",\"fileId\":\"x\"}");
	struct reply delete = call_with(f->server, token, "b2_delete_file_version", json);
	assert_b2_error(&delete, 401, "unauthorized"); /* no deleteFiles */
	reply_free(&delete);

	assert_int_equal(b2_test_server_stop(f->server), 0);
	free(f);
}

/* ---- fault injection and counters ------------------------------------------------------------ */

static void test_fail_next_calls_and_counters(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/reset", NULL);
	control(f, "/_test/fail", "{\"api\":\"b2_upload_file\",\"status\":503,\"count\":2}");
	struct target target = upload_target(f);
	for (int i = 0; i < 2; i++) {
		struct reply failed = upload_to(&target, "f", "x", 1, NULL, NULL);
		assert_b2_error(&failed, 503, "service_unavailable");
		reply_free(&failed);
	}
	struct reply ok = upload_to(&target, "f", "x", 1, NULL, NULL);
	assert_int_equal(ok.status, 200);
	reply_free(&ok);
	assert_int_equal(b2_test_server_counter(f->server, "b2_upload_file"), 3);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_upload_file", "failures"), 2);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_upload_file", "injected"), 2);
	assert_int_equal(b2_test_server_counter(f->server, "b2_get_upload_url"), 1);
	assert_int_equal(b2_test_server_counter(f->server, "b2_list_file_names"), 0);

	control(f, "/_test/reset", "{\"faults\":false}");
	assert_int_equal(b2_test_server_counter(f->server, "b2_upload_file"), 0);
}

static void test_fail_every_third(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/fail", "{\"api\":\"b2_upload_file\",\"status\":500,\"count\":-1,\"every\":3}");
	struct target target = upload_target(f);
	int failures = 0;
	for (int i = 0; i < 9; i++) {
		struct reply reply = upload_to(&target, "f", "x", 1, NULL, NULL);
		if (reply.status == 500) {
			assert_string_equal(text(reply.json, "code"), "internal_error");
			failures++;
			assert_int_equal(i % 3, 2);
		} else {
			assert_int_equal(reply.status, 200);
		}
		reply_free(&reply);
	}
	assert_int_equal(failures, 3);
	control(f, "/_test/reset", NULL);
	struct reply after = upload_to(&target, "f", "x", 1, NULL, NULL);
	assert_int_equal(after.status, 200);
	reply_free(&after);
}

static void test_fail_any_api_with_retry_after(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/fail", "{\"api\":\"*\",\"status\":429,\"retry_after\":7,\"count\":1}");
	struct reply limited = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_b2_error(&limited, 429, "too_many_requests");
	assert_string_equal(header(&limited, "Retry-After"), "7");
	reply_free(&limited);
	struct reply next = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_int_equal(next.status, 200);
	reply_free(&next);

	control(f, "/_test/fail", "{\"api\":\"b2_list_buckets\",\"status\":401,\"code\":\"expired_auth_token\"}");
	struct reply expired = call(f, "b2_list_buckets", "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	assert_b2_error(&expired, 401, "expired_auth_token");
	reply_free(&expired);
	control(f, "/_test/fail", "{\"api\":\"b2_get_file_info\",\"status\":408}");
	struct reply timeout = call(f, "b2_get_file_info", "{\"fileId\":\"x\"}");
	assert_b2_error(&timeout, 408, "request_timeout");
	reply_free(&timeout);
}

/* "body" replaces the JSON error with raw text: truncated JSON, or HTML from a proxy. */
static void test_fail_with_a_raw_body(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/fail", "{\"api\":\"b2_list_buckets\",\"status\":502,\"body\":\"<html>Bad Gateway</html>\"}");
	control(f, "/_test/fail", "{\"api\":\"b2_list_buckets\",\"status\":500,\"body\":\"{\\\"status\\\": 50\"}");
	struct reply html = call(f, "b2_list_buckets", "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	assert_int_equal(html.status, 502);
	assert_int_equal(html.length, strlen("<html>Bad Gateway</html>"));
	assert_memory_equal(html.body, "<html>Bad Gateway</html>", html.length);
	assert_string_equal(header(&html, "Content-Type"), "text/html");
	reply_free(&html);
	struct reply truncated = call(f, "b2_list_buckets", "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	assert_int_equal(truncated.status, 500);
	assert_int_equal(truncated.length, strlen("{\"status\": 50"));
	assert_memory_equal(truncated.body, "{\"status\": 50", truncated.length);
	reply_free(&truncated);
	struct reply next = call(f, "b2_list_buckets", "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	assert_int_equal(next.status, 200);
	reply_free(&next);
}

static void test_control_rejects_bad_rules(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/fail", "{\"api\":\"b2_nothing\"}", NULL), 400);
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/fail", "{\"status\":200}", NULL), 400);
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/fail", "[1]", NULL), 400);
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/delay", "{}", NULL), 400);
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/expire", "{\"tokens\":\"x\"}", NULL), 400);
	assert_int_equal(b2_test_server_control(f->server, "GET", "/_test/nothing", NULL, NULL), 404);
	assert_int_equal(b2_test_server_control(f->server, "GET", "/_test/fail", NULL, NULL), 405);
}

static void test_delay(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/delay", "{\"api\":\"b2_list_file_names\",\"ms\":300}");
	struct timespec before, after;
	clock_gettime(CLOCK_MONOTONIC, &before);
	struct reply slow = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	clock_gettime(CLOCK_MONOTONIC, &after);
	assert_int_equal(slow.status, 200);
	reply_free(&slow);
	long elapsed_ms = (after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000;
	assert_true(elapsed_ms >= 300);

	/* A request stuck in a long delay must not hold up a clean stop (teardown checks it). */
	control(f, "/_test/delay", "{\"api\":\"b2_list_buckets\",\"ms\":600000}");
	int fd = connect_raw(f->server);
	send_all(fd, "GET /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int i = 0; i < 100 && b2_test_server_counter(f->server, "b2_list_buckets") < 2; i++)
		usleep(10000);
	assert_int_equal(b2_test_server_counter(f->server, "b2_list_buckets"), 2);
	assert_int_equal(b2_test_server_stop(f->server), 0);
	f->server = NULL;
	close(fd);
}

/* /_test/corrupt flips one byte of the next N download bodies, headers (SHA-1) unchanged. */
static void test_corrupt_downloads(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/reset", NULL);
	char id[200];
	snprintf(id, sizeof id, "%s", put(f, "c.txt", "0123456789"));
	control(f, "/_test/corrupt", "{\"api\":\"b2_download_file_by_name\",\"count\":1}");
	struct reply bad = download(f, "GET", "c.txt", NULL);
	assert_int_equal(bad.status, 200);
	assert_int_equal(bad.length, 10);
	assert_memory_equal(bad.body, "01234" "4" "6789", 10); /* '5' ^ 1 */
	char hex[41];
	sha1_hex("0123456789", 10, hex);
	assert_string_equal(header(&bad, "X-Bz-Content-Sha1"), hex);
	reply_free(&bad);
	struct reply good = download(f, "GET", "c.txt", NULL);
	assert_memory_equal(good.body, "0123456789", 10);
	reply_free(&good);
	/* A range is corrupted in its own middle; by id only when the rule says so. */
	control(f, "/_test/corrupt", "{\"api\":\"*\",\"count\":2}");
	struct reply part = download(f, "GET", "c.txt", "bytes=2-5");
	assert_int_equal(part.status, 206);
	assert_memory_equal(part.body, "23" "5" "5", 4); /* '4' ^ 1 */
	reply_free(&part);
	char url[512], authorization[200];
	snprintf(url, sizeof url, "%s/b2api/v2/b2_download_file_by_id?fileId=%s", b2_test_server_url(f->server), id);
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	const char *headers[] = {authorization, NULL};
	struct reply by_id = http("GET", url, headers, NULL, 0);
	assert_int_equal(by_id.status, 200);
	assert_memory_equal(by_id.body, "0123446789", 10);
	reply_free(&by_id);
	by_id = http("GET", url, headers, NULL, 0);
	assert_memory_equal(by_id.body, "0123456789", 10);
	reply_free(&by_id);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_download_file_by_name", "injected"), 2);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_download_file_by_id", "injected"), 1);
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/corrupt",
						 "{\"api\":\"b2_nothing\"}", NULL), 400);
	/* HEAD by id (rclone's large server-side copy reads the source's headers so). */
	struct reply head = http("HEAD", url, headers, NULL, 0);
	assert_int_equal(head.status, 200);
	assert_string_equal(header(&head, "Content-Length"), "10");
	assert_string_equal(header(&head, "X-Bz-Content-Sha1"), hex);
	assert_null(head.body);
	reply_free(&head);
}

static void test_thread_per_connection(void **state)
{
	(void)state;
	const char *args[] = {"--threads", "0", NULL};
	struct fixture *f;
	assert_int_equal(start_server((void **)&f, args), 0);
	control(f, "/_test/delay", "{\"api\":\"b2_list_buckets\",\"ms\":5000}");
	int fd = connect_raw(f->server);
	send_all(fd, "GET /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int i = 0; i < 100 && b2_test_server_counter(f->server, "b2_list_buckets") < 2; i++)
		usleep(10000);
	struct timespec before, after;
	clock_gettime(CLOCK_MONOTONIC, &before);
	assert_alive(f); /* not stuck behind the delayed call */
	clock_gettime(CLOCK_MONOTONIC, &after);
	assert_true(after.tv_sec - before.tv_sec < 2);
	assert_int_equal(b2_test_server_stop(f->server), 0);
	close(fd);
	free(f);
}

/* /_test/lie: the call answers head + repeat x times + tail instead of running; bad specs are
 * refused by name. */
static void test_lie_answers_what_it_is_told(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/lie", "{\"api\":\"b2_list_buckets\",\"body\":\"[\",\"repeat\":\"ab\","
		   "\"times\":3,\"tail\":\"]\",\"status\":299}");
	struct reply told = call(f, "b2_list_buckets", "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	assert_int_equal(told.status, 299);
	assert_int_equal(told.length, 8);
	assert_memory_equal(told.body, "[ababab]", 8);
	reply_free(&told);
	struct reply truth = call(f, "b2_list_buckets", "{\"accountId\":\"%s\"}", B2_TEST_KEY_ID);
	assert_int_equal(truth.status, 200); /* count 1: the next call runs */
	reply_free(&truth);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_list_buckets", "injected"), 1);
	static const char *const bad[] = {"{\"api\":\"b2_list_buckets\"}",
					  "{\"api\":\"b2_list_buckets\",\"body\":\"x\",\"times\":-1}",
					  "{\"api\":\"b2_list_buckets\",\"body\":\"x\",\"repeat\":\"yy\","
					  "\"times\":4294967296}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/lie", bad[i], NULL), 400);
}

static void test_drop_connection_mid_upload(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/drop", "{\"api\":\"b2_upload_file\",\"after_bytes\":1000}");
	struct target target = upload_target(f);
	size_t length = 1 << 20;
	char *data = calloc(1, length);
	struct reply dropped = upload_to(&target, "dropped", data, length, NULL, NULL);
	assert_int_not_equal(dropped.result, CURLE_OK);
	reply_free(&dropped);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_upload_file", "injected"), 1);
	/* Nothing stored, the token released, the server fine. */
	struct reply gone = download(f, "HEAD", "dropped", NULL);
	assert_int_equal(gone.status, 404);
	reply_free(&gone);
	struct reply retry = upload_to(&target, "dropped", data, length, NULL, NULL);
	assert_int_equal(retry.status, 200);
	reply_free(&retry);
	free(data);
}

/* after_call: the upload is done and stored, only its answer is lost (the connection closes). */
static void test_drop_connection_after_the_call(void **state)
{
	struct fixture *f = *state;
	control(f, "/_test/drop", "{\"api\":\"b2_upload_file\",\"after_call\":true}");
	struct target target = upload_target(f);
	struct reply lost = upload_to(&target, "done-unanswered", "bytes", 5, NULL, NULL);
	assert_int_not_equal(lost.result, CURLE_OK);
	reply_free(&lost);
	assert_int_equal(b2_test_server_counter_field(f->server, "b2_upload_file", "injected"), 1);
	struct reply stored = download(f, "HEAD", "done-unanswered", NULL);
	assert_int_equal(stored.status, 200);
	reply_free(&stored);
	/* The token was released with the call: the same target uploads again. */
	struct reply again = upload_to(&target, "done-unanswered", "bytes", 5, NULL, NULL);
	assert_int_equal(again.status, 200);
	reply_free(&again);
	assert_int_equal(b2_test_server_control(f->server, "POST", "/_test/drop",
						"{\"api\":\"b2_upload_file\",\"after_call\":1}", NULL), 400);
	/* "reset": the connection ends with RST, which the client sees as a reset, not an EOF. */
	control(f, "/_test/drop", "{\"api\":\"b2_list_file_names\",\"after_call\":true,\"reset\":true}");
	struct reply reset = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	if (reset.result != CURLE_RECV_ERROR && reset.result != CURLE_SEND_ERROR)
		fail_msg("a reset connection gave curl result %d", reset.result);
	reply_free(&reset);
}

static void test_expire_all_tokens(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	control(f, "/_test/expire", "{\"tokens\":\"all\"}");
	struct reply account = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\"}", f->bucket_id);
	assert_b2_error(&account, 401, "expired_auth_token");
	reply_free(&account);
	struct reply upload = upload_to(&target, "x", "x", 1, NULL, NULL);
	assert_b2_error(&upload, 401, "expired_auth_token");
	reply_free(&upload);
}

static void test_x_bz_test_mode(void **state)
{
	struct fixture *f = *state;
	struct target target = upload_target(f);
	int failed = 0;
	for (int i = 0; i < 3; i++) {
		struct reply reply = upload_to(&target, "m", "x", 1, NULL, "X-Bz-Test-Mode: fail_some_uploads");
		if (reply.status == 503)
			failed++;
		else
			assert_int_equal(reply.status, 200);
		reply_free(&reply);
	}
	assert_int_equal(failed, 1);

	char authorization[200], url[256], json[128];
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	snprintf(url, sizeof url, "%s/b2api/v2/b2_get_upload_url", b2_test_server_url(f->server));
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", f->bucket_id);
	const char *cap[] = {authorization, "X-Bz-Test-Mode: force_cap_exceeded", NULL};
	struct reply capped = http("POST", url, cap, json, strlen(json));
	assert_b2_error(&capped, 403, "storage_cap_exceeded");
	reply_free(&capped);

	const char *expire[] = {authorization, "X-Bz-Test-Mode: expire_some_account_authorization_tokens", NULL};
	int expired = 0;
	for (int i = 0; i < 3; i++) {
		struct reply reply = http("POST", url, expire, json, strlen(json));
		expired += reply.status == 401 && strcmp(text(reply.json, "code"), "expired_auth_token") == 0;
		reply_free(&reply);
	}
	assert_int_equal(expired, 1);
}

/* ---- malformed requests ---------------------------------------------------------------------- */

static void test_malformed_requests(void **state)
{
	struct fixture *f = *state;
	char url[512], authorization[200];
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	const char *headers[] = {authorization, NULL};
	/* B2: what does not parse is bad_json; JSON that is not an object, bad_request. */
	static const char *const bodies[] = {"{", "not json", "[1,2]", "\"string\"", "{\"bucketId\":", "{}}", "null"};
	static const char *const codes[] = {"bad_json", "bad_json", "bad_request", "bad_request",
					    "bad_json", "bad_json", "bad_request"};
	snprintf(url, sizeof url, "%s/b2api/v2/b2_list_file_names", b2_test_server_url(f->server));
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		struct reply reply = http("POST", url, headers, bodies[i], strlen(bodies[i]));
		assert_b2_error(&reply, 400, codes[i]);
		reply_free(&reply);
	}
	struct reply wrong_types = call(f, "b2_list_file_names", "{\"bucketId\":\"%s\",\"maxFileCount\":\"many\"}",
					f->bucket_id);
	assert_b2_error(&wrong_types, 400, "bad_request");
	reply_free(&wrong_types);
	struct reply object_field = call(f, "b2_hide_file", "{\"bucketId\":{},\"fileName\":[]}");
	assert_b2_error(&object_field, 400, "bad_request");
	reply_free(&object_field);

	size_t huge_length = 5 << 20;
	char *huge = malloc(huge_length);
	memset(huge, ' ', huge_length);
	struct reply too_large = http("POST", url, headers, huge, huge_length);
	assert_b2_error(&too_large, 400, "bad_request");
	reply_free(&too_large);
	free(huge);

	static const char *const unknown_paths[] = {"/", "/b2api/v9/b2_list_buckets", "/b2api/v2/b2_nothing",
						    "/b2api/v2/", "/b2api/v2/b2_list_buckets/extra",
						    "/b2api/v2/b2_upload_file", "/favicon.ico"};
	for (size_t i = 0; i < sizeof unknown_paths / sizeof *unknown_paths; i++) {
		snprintf(url, sizeof url, "%s%s", b2_test_server_url(f->server), unknown_paths[i]);
		struct reply reply = http("POST", url, headers, "{}", 2);
		assert_b2_error(&reply, 404, "not_found");
		reply_free(&reply);
	}
	snprintf(url, sizeof url, "%s/b2api/v2/b2_list_buckets", b2_test_server_url(f->server));
	struct reply put_method = http("PUT", url, headers, "{}", 2);
	assert_b2_error(&put_method, 405, "method_not_allowed");
	reply_free(&put_method);
	snprintf(url, sizeof url, "%s/b2api/v2/b2_upload_file/%s/nothing", b2_test_server_url(f->server), f->bucket_id);
	struct reply no_headers = http("POST", url, NULL, "x", 1);
	assert_int_equal(no_headers.status / 100, 4);
	assert_non_null(member(no_headers.json, "code"));
	reply_free(&no_headers);

	/* Raw garbage on the socket, and a connection closed halfway through a request. */
	int fd = connect_raw(f->server);
	send_all(fd, "\x01\x02\x03 garbage \r\n\r\n");
	char *answer = receive_reply(fd);
	close(fd);
	free(answer);
	fd = connect_raw(f->server);
	send_all(fd, "POST /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"acc");
	close(fd);
	fd = connect_raw(f->server);
	send_all(fd, "GET /file/" B2_TEST_BUCKET "/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: x\r\n\r\n");
	answer = receive_reply(fd);
	close(fd);
	assert_non_null(strstr(answer, "HTTP/1.1 401"));
	free(answer);
	assert_alive(f);
}

/* ---- storage in a data directory -------------------------------------------------------------- */

static int count_entries(const char *directory)
{
	DIR *dir = opendir(directory);
	int count = 0;
	for (struct dirent *entry; dir && (entry = readdir(dir));)
		count += entry->d_name[0] != '.';
	if (dir)
		closedir(dir);
	return count;
}

static void test_data_dir(void **state)
{
	(void)state;
	char directory[] = "/tmp/b2-server-test-XXXXXX";
	assert_non_null(mkdtemp(directory));
	const char *args[] = {"--data-dir", directory, NULL};
	struct fixture *f;
	assert_int_equal(start_server((void **)&f, args), 0);
	char id[200];
	strcpy(id, put(f, "on-disk.txt", "stored in a file"));
	assert_int_equal(count_entries(directory), 1);
	struct reply down = download(f, "GET", "on-disk.txt", "bytes=10-15");
	assert_int_equal(down.status, 206);
	assert_memory_equal(down.body, "a file", 6);
	reply_free(&down);
	struct reply deleted = call(f, "b2_delete_file_version", "{\"fileName\":\"on-disk.txt\",\"fileId\":\"%s\"}", id);
	assert_int_equal(deleted.status, 200);
	reply_free(&deleted);
	/* The download's answer holds the bytes until MHD frees it, a moment after the client read it. */
	for (int i = 0; i < 200 && count_entries(directory) > 0; i++)
		usleep(10000);
	assert_int_equal(count_entries(directory), 0);
	put(f, "left-behind.txt", "x");
	assert_int_equal(b2_test_server_stop(f->server), 0);
	assert_int_equal(count_entries(directory), 0); /* a clean stop removes its files */
	free(f);
	rmdir(directory);
}

static void test_bad_command_line(void **state)
{
	(void)state;
	const char *bad_key[] = {"--restricted-key", "only:two", NULL};
	assert_null(b2_test_server_start(bad_key));
	const char *bad_caps[] = {"--restricted-key", "id:key:bucket:flyToTheMoon", NULL};
	assert_null(b2_test_server_start(bad_caps));
	const char *bad_port[] = {"--port", "70000", NULL};
	assert_null(b2_test_server_start(bad_port));
}


/* ---- encryption at rest and Object Lock ---- */

#define SSE_KEY "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlBQkNERUY=" /* base64 of 32 bytes */
#define OTHER_KEY "YW5vdGhlciBrZXkgb2YgZXhhY3RseSAzMiBieXRlcyE="

static void key_headers(const char *key_b64, char algorithm[80], char key[120], char md5[120])
{
	unsigned char raw[48], digest[16];
	char md5_b64[32];
	unsigned int length;
	EVP_DecodeBlock(raw, (const unsigned char *)key_b64, 44);
	EVP_Digest(raw, 32, digest, &length, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)md5_b64, digest, 16);
	snprintf(algorithm, 80, "X-Bz-Server-Side-Encryption-Customer-Algorithm: AES256");
	snprintf(key, 120, "X-Bz-Server-Side-Encryption-Customer-Key: %s", key_b64);
	snprintf(md5, 120, "X-Bz-Server-Side-Encryption-Customer-Key-Md5: %s", md5_b64);
}

/* b2_upload_file of "secret" with up to four more headers. */
static struct reply upload_with(struct fixture *f, const char *bucket_id, const char *name,
				const char *const extra[4])
{
	char url[512], token[128], authorization[200], file_name[300], sha1_header[100], hex[41];
	char json[200];
	snprintf(json, sizeof json, "{\"bucketId\":\"%s\"}", bucket_id);
	struct reply target = call_with(f->server, f->token, "b2_get_upload_url", json);
	assert_int_equal(target.status, 200);
	strcpy(url, text(target.json, "uploadUrl"));
	strcpy(token, text(target.json, "authorizationToken"));
	reply_free(&target);
	snprintf(authorization, sizeof authorization, "Authorization: %s", token);
	snprintf(file_name, sizeof file_name, "X-Bz-File-Name: %s", name);
	sha1_hex("secret", 6, hex);
	snprintf(sha1_header, sizeof sha1_header, "X-Bz-Content-Sha1: %s", hex);
	const char *headers[] = {authorization, file_name, "Content-Type: text/plain", sha1_header,
				 extra[0], extra[1], extra[2], extra[3], NULL};
	size_t count = 4;
	while (count < 8 && headers[count])
		count++;
	headers[count] = NULL;
	return http("POST", url, headers, "secret", 6);
}

static struct reply download_with(struct fixture *f, const char *name, const char *const extra[3])
{
	char url[600], authorization[200];
	snprintf(url, sizeof url, "%s/file/%s/%s", b2_test_server_url(f->server), B2_TEST_BUCKET, name);
	snprintf(authorization, sizeof authorization, "Authorization: %s", f->token);
	const char *headers[] = {authorization, extra[0], extra[1], extra[2], NULL};
	return http("GET", url, headers, NULL, 0);
}

/* SSE-B2 and SSE-C are kept and answered as B2 does: mode and algorithm in the file JSON, never
 * the key's MD5; an SSE-C file is read only with its key (403 access_denied otherwise). */
static void test_server_side_encryption(void **state)
{
	struct fixture *f = *state;
	const char *sse_b2[4] = {"X-Bz-Server-Side-Encryption: AES256"};
	struct reply reply = upload_with(f, f->bucket_id, "b2.txt", sse_b2);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "serverSideEncryption.mode"), "SSE-B2");
	assert_string_equal(text(reply.json, "serverSideEncryption.algorithm"), "AES256");
	reply_free(&reply);
	char algorithm[80], key[120], md5[120], other_algorithm[80], other_key[120], other_md5[120];
	key_headers(SSE_KEY, algorithm, key, md5);
	key_headers(OTHER_KEY, other_algorithm, other_key, other_md5);
	const char *sse_c[4] = {algorithm, key, md5};
	reply = upload_with(f, f->bucket_id, "c.txt", sse_c);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "serverSideEncryption.mode"), "SSE-C");
	assert_false(has_member(reply.json, "serverSideEncryption.customerKeyMd5"));
	assert_null(strstr(reply.body, md5 + strlen("X-Bz-Server-Side-Encryption-Customer-Key-Md5: ")));
	char file_id[200];
	strcpy(file_id, text(reply.json, "fileId"));
	reply_free(&reply);
	/* a key whose MD5 is not its own is refused at upload */
	const char *mismatched[4] = {algorithm, key, other_md5};
	reply = upload_with(f, f->bucket_id, "bad.txt", mismatched);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	const char *none[3] = {NULL};
	reply = download_with(f, "c.txt", none);
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	const char *wrong[3] = {other_algorithm, other_key, other_md5};
	reply = download_with(f, "c.txt", wrong);
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = download_with(f, "c.txt", sse_c);
	assert_int_equal(reply.status, 200);
	assert_memory_equal(reply.body, "secret", 6);
	assert_non_null(header(&reply, "X-Bz-Server-Side-Encryption-Customer-Algorithm"));
	reply_free(&reply);
	reply = download_with(f, "b2.txt", none);
	assert_int_equal(reply.status, 200);
	assert_string_equal(header(&reply, "X-Bz-Server-Side-Encryption"), "AES256");
	reply_free(&reply);
	/* copies: the source's key is needed, the destination keeps what it is given */
	reply = call(f, "b2_copy_file", "{\"sourceFileId\":\"%s\",\"fileName\":\"copy.txt\"}", file_id);
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = call(f, "b2_copy_file", "{\"sourceFileId\":\"%s\",\"fileName\":\"copy.txt\","
		     "\"sourceServerSideEncryption\":{\"mode\":\"SSE-C\",\"algorithm\":\"AES256\","
		     "\"customerKey\":\"%s\",\"customerKeyMd5\":\"%s\"},"
		     "\"destinationServerSideEncryption\":{\"mode\":\"SSE-B2\",\"algorithm\":\"AES256\"}}",
		     file_id, SSE_KEY, md5 + strlen("X-Bz-Server-Side-Encryption-Customer-Key-Md5: "));
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "serverSideEncryption.mode"), "SSE-B2");
	reply_free(&reply);
	/* a large SSE-C file: every part needs the key */
	reply = call(f, "b2_start_large_file", "{\"bucketId\":\"%s\",\"fileName\":\"big\","
		     "\"contentType\":\"b2/x-auto\",\"serverSideEncryption\":{\"mode\":\"SSE-C\","
		     "\"algorithm\":\"AES256\",\"customerKey\":\"%s\",\"customerKeyMd5\":\"%s\"}}",
		     f->bucket_id, SSE_KEY, md5 + strlen("X-Bz-Server-Side-Encryption-Customer-Key-Md5: "));
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "serverSideEncryption.mode"), "SSE-C");
	char large_id[200];
	strcpy(large_id, text(reply.json, "fileId"));
	reply_free(&reply);
	reply = call(f, "b2_get_upload_part_url", "{\"fileId\":\"%s\"}", large_id);
	assert_int_equal(reply.status, 200);
	char part_url[512], part_token[200], hex[41], sha1_header[100];
	strcpy(part_url, text(reply.json, "uploadUrl"));
	snprintf(part_token, sizeof part_token, "Authorization: %s", text(reply.json, "authorizationToken"));
	reply_free(&reply);
	sha1_hex("secret", 6, hex);
	snprintf(sha1_header, sizeof sha1_header, "X-Bz-Content-Sha1: %s", hex);
	const char *part_headers[] = {part_token, "X-Bz-Part-Number: 1", sha1_header, NULL, NULL, NULL, NULL};
	reply = http("POST", part_url, part_headers, "secret", 6);
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	part_headers[3] = algorithm, part_headers[4] = key, part_headers[5] = md5;
	reply = http("POST", part_url, part_headers, "secret", 6);
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
}

/* Bucket settings at creation come back from b2_create_bucket and b2_list_buckets; retention
 * and legal hold need a lock bucket and then keep a version from b2_delete_file_version. */
static void test_object_lock_and_bucket_settings(void **state)
{
	struct fixture *f = *state;
	struct reply reply = call(f, "b2_create_bucket", "{\"accountId\":\"%s\",\"bucketName\":"
				  "\"lock-bucket\",\"bucketType\":\"allPrivate\",\"fileLockEnabled\":true,"
				  "\"defaultServerSideEncryption\":{\"mode\":\"SSE-B2\",\"algorithm\":\"AES256\"},"
				  "\"lifecycleRules\":[{\"fileNamePrefix\":\"\",\"daysFromHidingToDeleting\":30,"
				  "\"daysFromUploadingToHiding\":null}]}", B2_TEST_KEY_ID);
	assert_int_equal(reply.status, 200);
	assert_true(json_object_get_boolean(member(reply.json, "fileLockConfiguration.value.isFileLockEnabled")));
	reply_free(&reply);
	reply = call(f, "b2_list_buckets", "{\"accountId\":\"%s\",\"bucketName\":\"lock-bucket\"}",
		     B2_TEST_KEY_ID);
	json_object *bucket = json_object_array_get_idx(member(reply.json, "buckets"), 0);
	assert_string_equal(text(bucket, "defaultServerSideEncryption.value.mode"), "SSE-B2");
	json_object *rule = json_object_array_get_idx(member(bucket, "lifecycleRules"), 0);
	assert_int_equal(json_object_get_int(member(rule, "daysFromHidingToDeleting")), 30);
	char lock_id[64];
	strcpy(lock_id, text(bucket, "bucketId"));
	reply_free(&reply);
	reply = call(f, "b2_create_bucket", "{\"accountId\":\"%s\",\"bucketName\":\"bad-rules\","
		     "\"bucketType\":\"allPrivate\",\"lifecycleRules\":[{\"fileNamePrefix\":\"\"}]}",
		     B2_TEST_KEY_ID);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);

	char until[100];
	snprintf(until, sizeof until, "X-Bz-File-Retention-Retain-Until-Timestamp: 4102444800000");
	const char *retained[4] = {"X-Bz-File-Retention-Mode: governance", until};
	reply = upload_with(f, f->bucket_id, "plain.txt", retained);
	assert_b2_error(&reply, 400, "bad_request"); /* no Object Lock on the bucket */
	reply_free(&reply);
	const char *past[4] = {"X-Bz-File-Retention-Mode: governance",
			       "X-Bz-File-Retention-Retain-Until-Timestamp: 1000"};
	reply = upload_with(f, lock_id, "past.txt", past);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = upload_with(f, lock_id, "kept.txt", retained);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "fileRetention.value.mode"), "governance");
	assert_string_equal(text(reply.json, "serverSideEncryption.mode"), "SSE-B2"); /* default */
	char kept_id[200];
	strcpy(kept_id, text(reply.json, "fileId"));
	reply_free(&reply);
	const char *held[4] = {"X-Bz-File-Legal-Hold: on"};
	reply = upload_with(f, lock_id, "held.txt", held);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "legalHold.value"), "on");
	char held_id[200];
	strcpy(held_id, text(reply.json, "fileId"));
	reply_free(&reply);
	reply = call(f, "b2_delete_file_version", "{\"fileName\":\"kept.txt\",\"fileId\":\"%s\"}", kept_id);
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = call(f, "b2_delete_file_version", "{\"fileName\":\"held.txt\",\"fileId\":\"%s\","
		     "\"bypassGovernance\":true}", held_id);
	assert_b2_error(&reply, 403, "access_denied"); /* a legal hold is never bypassed */
	reply_free(&reply);
	/* bypass: with the capability only */
	char reader[200];
	token_of(f->server, "deleter", "deleter-key", reader);
	char json[300];
	snprintf(json, sizeof json, "{\"fileName\":\"kept.txt\",\"fileId\":\"%s\",\"bypassGovernance\":true}",
		 kept_id);
	reply = call_with(f->server, reader, "b2_delete_file_version", json);
	assert_b2_error(&reply, 401, "unauthorized");
	reply_free(&reply);
	reply = call(f, "b2_delete_file_version", "{\"fileName\":\"kept.txt\",\"fileId\":\"%s\","
		     "\"bypassGovernance\":true}", kept_id);
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
}

/* b2_update_file_retention and b2_update_file_legal_hold keep B2's rules: the capability, a lock
 * bucket, compliance only extended, governance shortened or removed only with bypassGovernance
 * (and its capability); a legal hold on then off lets the version be deleted again. */
static void test_update_file_retention_and_legal_hold(void **state)
{
	struct fixture *f = *state;
	struct reply reply = call(f, "b2_create_bucket", "{\"accountId\":\"%s\",\"bucketName\":"
				  "\"locked-bucket\",\"bucketType\":\"allPrivate\",\"fileLockEnabled\":true}",
				  B2_TEST_KEY_ID);
	assert_int_equal(reply.status, 200);
	char lock_id[64];
	strcpy(lock_id, text(reply.json, "bucketId"));
	reply_free(&reply);
	const char *none[4] = {NULL};
	reply = upload_with(f, lock_id, "g.txt", none);
	assert_int_equal(reply.status, 200);
	char g_id[200], c_id[200], p_id[200];
	strcpy(g_id, text(reply.json, "fileId"));
	reply_free(&reply);
	reply = upload_with(f, lock_id, "c.txt", none);
	strcpy(c_id, text(reply.json, "fileId"));
	reply_free(&reply);
	reply = upload_with(f, f->bucket_id, "plain.txt", none);
	strcpy(p_id, text(reply.json, "fileId"));
	reply_free(&reply);
#define RETAIN(name, id, mode, until, extra)                                                       \
	call(f, "b2_update_file_retention", "{\"fileName\":\"" name "\",\"fileId\":\"%s\","         \
	     "\"fileRetention\":{\"mode\":" mode ",\"retainUntilTimestamp\":" until "}" extra "}", id)

	/* no Object Lock on the bucket; a wrong name; a malformed retention */
	reply = RETAIN("plain.txt", p_id, "\"governance\"", "4102444800000", "");
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = RETAIN("other.txt", g_id, "\"governance\"", "4102444800000", "");
	assert_b2_error(&reply, 400, "file_not_present");
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "\"forever\"", "4102444800000", "");
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "\"governance\"", "1000", ""); /* in the past */
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	/* governance: set, extended, not shortened or removed without the bypass, then with it */
	reply = RETAIN("g.txt", g_id, "\"governance\"", "4102444800000", "");
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "fileRetention.mode"), "governance");
	assert_int_equal(json_object_get_int64(member(reply.json, "fileRetention.retainUntilTimestamp")),
			 4102444800000LL);
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "\"governance\"", "4102444900000", "");
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "\"governance\"", "4102444800000", "");
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "null", "null", "");
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = call(f, "b2_get_file_info", "{\"fileId\":\"%s\"}", g_id);
	assert_int_equal(json_object_get_int64(member(reply.json, "fileRetention.value.retainUntilTimestamp")),
			 4102444900000LL);
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "\"governance\"", "4102444800000", ",\"bypassGovernance\":true");
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
	reply = RETAIN("g.txt", g_id, "null", "null", ",\"bypassGovernance\":true");
	assert_int_equal(reply.status, 200);
	assert_null(member(reply.json, "fileRetention.mode"));
	reply_free(&reply);
	reply = call(f, "b2_get_file_info", "{\"fileId\":\"%s\"}", g_id);
	assert_null(member(reply.json, "fileRetention.value.mode"));
	reply_free(&reply);
	/* compliance: extended only, never shortened, removed or weakened, not even with the bypass */
	reply = RETAIN("c.txt", c_id, "\"compliance\"", "4102444800000", "");
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
	reply = RETAIN("c.txt", c_id, "\"compliance\"", "4102444900000", "");
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
	reply = RETAIN("c.txt", c_id, "\"compliance\"", "4102444800000", ",\"bypassGovernance\":true");
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = RETAIN("c.txt", c_id, "null", "null", ",\"bypassGovernance\":true");
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = RETAIN("c.txt", c_id, "\"governance\"", "4102444900000", ",\"bypassGovernance\":true");
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	/* legal hold: on keeps the version, off lets it go */
	reply = call(f, "b2_update_file_legal_hold", "{\"fileName\":\"g.txt\",\"fileId\":\"%s\","
		     "\"legalHold\":\"maybe\"}", g_id);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = call(f, "b2_update_file_legal_hold", "{\"fileName\":\"plain.txt\",\"fileId\":\"%s\","
		     "\"legalHold\":\"on\"}", p_id);
	assert_b2_error(&reply, 400, "bad_request");
	reply_free(&reply);
	reply = call(f, "b2_update_file_legal_hold", "{\"fileName\":\"g.txt\",\"fileId\":\"%s\","
		     "\"legalHold\":\"on\"}", g_id);
	assert_int_equal(reply.status, 200);
	assert_string_equal(text(reply.json, "legalHold"), "on");
	reply_free(&reply);
	reply = call(f, "b2_delete_file_version", "{\"fileName\":\"g.txt\",\"fileId\":\"%s\"}", g_id);
	assert_b2_error(&reply, 403, "access_denied");
	reply_free(&reply);
	reply = call(f, "b2_update_file_legal_hold", "{\"fileName\":\"g.txt\",\"fileId\":\"%s\","
		     "\"legalHold\":\"off\"}", g_id);
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
	reply = call(f, "b2_get_file_info", "{\"fileId\":\"%s\"}", g_id);
	assert_string_equal(text(reply.json, "legalHold.value"), "off");
	reply_free(&reply);
	reply = call(f, "b2_delete_file_version", "{\"fileName\":\"g.txt\",\"fileId\":\"%s\"}", g_id);
	assert_int_equal(reply.status, 200);
	reply_free(&reply);
	/* capabilities: a key without writeFileRetentions / writeFileLegalHolds / bypassGovernance */
	char token[200], json[400];
	token_of(f->server, "deleter", "deleter-key", token);
	snprintf(json, sizeof json, "{\"fileName\":\"c.txt\",\"fileId\":\"%s\",\"fileRetention\":"
		 "{\"mode\":\"compliance\",\"retainUntilTimestamp\":4102445000000}}", c_id);
	reply = call_with(f->server, token, "b2_update_file_retention", json);
	assert_b2_error(&reply, 401, "unauthorized");
	reply_free(&reply);
	snprintf(json, sizeof json, "{\"fileName\":\"c.txt\",\"fileId\":\"%s\",\"legalHold\":\"on\"}",
		 c_id);
	reply = call_with(f->server, token, "b2_update_file_legal_hold", json);
	assert_b2_error(&reply, 401, "unauthorized");
	reply_free(&reply);
	token_of(f->server, "locker", "locker-key", token);
	snprintf(json, sizeof json, "{\"fileName\":\"c.txt\",\"fileId\":\"%s\",\"fileRetention\":"
		 "{\"mode\":\"compliance\",\"retainUntilTimestamp\":4102445000000},"
		 "\"bypassGovernance\":true}", c_id);
	reply = call_with(f->server, token, "b2_update_file_retention", json);
	assert_b2_error(&reply, 401, "unauthorized"); /* the bypass needs its capability */
	reply_free(&reply);
#undef RETAIN
}

static int setup_with_locker(void **state)
{
	const char *args[] = {"--restricted-key", "deleter:deleter-key:" B2_TEST_BUCKET ":listBuckets,"
			      "listFiles,readFiles,deleteFiles",
			      "--restricted-key", "locker:locker-key:locked-bucket:listBuckets,"
			      "listFiles,readFiles,writeFileRetentions,writeFileLegalHolds", NULL};
	return start_server(state, args);
}

static int setup_with_deleter(void **state)
{
	const char *args[] = {"--restricted-key", "deleter:deleter-key:" B2_TEST_BUCKET ":listBuckets,"
			      "listFiles,readFiles,deleteFiles", NULL};
	return start_server(state, args);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_authorize_v1_shape),
		TEST(test_server_side_encryption),
		cmocka_unit_test_setup_teardown(test_object_lock_and_bucket_settings, setup_with_deleter,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_file_retention_and_legal_hold,
						setup_with_locker, teardown),
		TEST(test_authorize_v2_post_empty_body),
		TEST(test_authorize_v3_v4_shapes),
		TEST(test_authorize_errors),
		TEST(test_list_buckets_fields_and_filters),
		TEST(test_list_buckets_errors),
		TEST(test_create_and_delete_bucket),
		TEST(test_update_bucket),
		TEST(test_download_authorization),
		TEST(test_get_upload_url_ok),
		TEST(test_get_upload_url_bad_bucket_id),
		TEST(test_get_upload_url_bad_request),
		TEST(test_get_upload_url_bad_and_expired_token),
		cmocka_unit_test(test_token_ttl_expires),
		cmocka_unit_test(test_get_upload_url_unauthorized_without_write_files),
		cmocka_unit_test(test_get_upload_url_storage_cap_exceeded),
		TEST(test_get_upload_url_service_unavailable),
		TEST(test_upload_and_download),
		TEST(test_upload_sha1_mismatch_rejected),
		TEST(test_upload_hex_digits_at_end),
		TEST(test_upload_name_decoding),
		TEST(test_upload_bad_names_and_headers),
		TEST(test_upload_chunked_rejected),
		TEST(test_upload_without_content_length),
		TEST(test_upload_token_errors),
		TEST(test_upload_one_at_a_time_per_token),
		TEST(test_large_file_round_trip),
		TEST(test_large_file_small_part_and_cancel),
		TEST(test_copy_part),
		TEST(test_list_file_names),
		TEST(test_versions_hide_and_delete),
		TEST(test_get_file_info),
		TEST(test_download_ranges_and_head),
		TEST(test_copy_file),
		cmocka_unit_test(test_restricted_key_bucket_and_prefix),
		TEST(test_fail_next_calls_and_counters),
		TEST(test_fail_every_third),
		TEST(test_fail_any_api_with_retry_after),
		TEST(test_fail_with_a_raw_body),
		TEST(test_control_rejects_bad_rules),
		TEST(test_delay),
		TEST(test_corrupt_downloads),
		cmocka_unit_test(test_thread_per_connection),
		TEST(test_drop_connection_mid_upload),
		TEST(test_lie_answers_what_it_is_told),
		TEST(test_drop_connection_after_the_call),
		TEST(test_expire_all_tokens),
		TEST(test_x_bz_test_mode),
		TEST(test_malformed_requests),
		cmocka_unit_test(test_data_dir),
		cmocka_unit_test(test_bad_command_line),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
