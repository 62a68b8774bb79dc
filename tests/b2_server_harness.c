/* b2_server_harness.c — the B2 test server as a server_process (its arguments, its URL) and its
 * control calls over libcurl; servers never outlive the test process. */
#include "b2_server_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_process.h"

#include <curl/curl.h>
#include <json-c/json.h>

struct b2_test_server {
	struct server_process *process;
	uint16_t port;
	char url[64];
};

static void server_path(char *path, size_t size)
{
	const char *explicit_path = getenv("B2_TEST_SERVER");
	const char *builddir = getenv("STOR_TEST_BUILDDIR");
	if (explicit_path && *explicit_path)
		snprintf(path, size, "%s", explicit_path);
	else
		snprintf(path, size, "%s/tests/b2-server/b2-test-server", builddir && *builddir ? builddir : ".");
}

struct b2_test_server *b2_test_server_start(const char *const *extra_args)
{
	char path[4096];
	const char *argv[128];
	size_t argc = 0;
	server_path(path, sizeof path);
	argv[argc++] = path;
	const char *fixed[] = {"--port", "0", "--key-id", B2_TEST_KEY_ID, "--key", B2_TEST_KEY,
			       "--bucket", B2_TEST_BUCKET};
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		argv[argc++] = fixed[i];
	for (size_t i = 0; extra_args && extra_args[i] && argc < 127; i++)
		argv[argc++] = extra_args[i];
	argv[argc] = NULL;
	struct b2_test_server *server = calloc(1, sizeof *server);
	if (!server)
		return NULL;
	server->process = server_process_start("b2_server_harness", argv, NULL);
	if (!server->process) {
		free(server);
		return NULL;
	}
	server->port = server_process_port(server->process);
	snprintf(server->url, sizeof server->url, "http://127.0.0.1:%u", (unsigned)server->port);
	return server;
}

uint16_t b2_test_server_port(const struct b2_test_server *server)
{
	return server->port;
}

const char *b2_test_server_url(const struct b2_test_server *server)
{
	return server->url;
}

struct buffer {
	char *data;
	size_t length;
};

static size_t collect(char *data, size_t size, size_t count, void *cls)
{
	struct buffer *buffer = cls;
	char *grown = realloc(buffer->data, buffer->length + size * count + 1);
	if (!grown)
		return 0;
	memcpy(grown + buffer->length, data, size * count);
	buffer->data = grown;
	buffer->length += size * count;
	buffer->data[buffer->length] = '\0';
	return size * count;
}

long b2_test_server_control(struct b2_test_server *server, const char *method, const char *path,
			    const char *json_body, char **response)
{
	char url[512];
	struct buffer body = {0};
	long status = -1;
	CURL *curl = curl_easy_init();
	if (!curl)
		return -1;
	snprintf(url, sizeof url, "%s%s", server->url, path);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (json_body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (response)
		*response = body.data ? body.data : strdup("");
	else
		free(body.data);
	return status;
}

long b2_test_server_counter_field(struct b2_test_server *server, const char *api, const char *field)
{
	char *text = NULL;
	long value = -1;
	if (b2_test_server_control(server, "GET", "/_test/counters", NULL, &text) == 200) {
		json_object *all = json_tokener_parse(text), *one, *number;
		if (!all)
			value = -1;
		else if (!json_object_object_get_ex(all, api, &one))
			value = 0; /* not called since the last reset */
		else if (json_object_object_get_ex(one, field, &number))
			value = (long)json_object_get_int64(number);
		json_object_put(all);
	}
	free(text);
	return value;
}

long b2_test_server_counter(struct b2_test_server *server, const char *api)
{
	return b2_test_server_counter_field(server, api, "calls");
}

int b2_test_server_stop(struct b2_test_server *server)
{
	if (!server)
		return 0;
	int result = server_process_stop(server->process);
	free(server);
	return result;
}
