/* s3_server_harness.c — the S3 test server as a server_process (its arguments, its credentials
 * in the environment, its URL) and its /__control/ calls over libcurl. */
#include "s3_server_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_process.h"

#include <curl/curl.h>

struct s3_test_server {
	struct server_process *process;
	uint16_t port;
	char url[64], host[32];
};

struct s3_test_server *s3_test_server_start(const char *const *extra_args)
{
	char path[4096];
	const char *explicit_path = getenv("S3_TEST_SERVER"), *builddir = getenv("STOR_TEST_BUILDDIR");
	if (explicit_path && *explicit_path)
		snprintf(path, sizeof path, "%s", explicit_path);
	else
		snprintf(path, sizeof path, "%s/tests/s3-server/s3-test-server",
			 builddir && *builddir ? builddir : ".");
	const char *argv[128] = {path, "--port", "0", "--bucket", S3_HARNESS_BUCKET};
	size_t argc = 5;
	for (size_t i = 0; extra_args && extra_args[i] && argc < 127; i++)
		argv[argc++] = extra_args[i];
	argv[argc] = NULL;
	/* The credentials in its environment: never in argv. */
	const char *env[] = {"S3_TEST_ACCESS_KEY=" S3_HARNESS_ACCESS_KEY,
			     "S3_TEST_SECRET_KEY=" S3_HARNESS_SECRET_KEY, NULL};
	struct s3_test_server *server = calloc(1, sizeof *server);
	if (!server)
		return NULL;
	server->process = server_process_start("s3_server_harness", argv, env);
	if (!server->process) {
		free(server);
		return NULL;
	}
	server->port = server_process_port(server->process);
	snprintf(server->host, sizeof server->host, "127.0.0.1:%u", (unsigned)server->port);
	snprintf(server->url, sizeof server->url, "http://%s", server->host);
	return server;
}

uint16_t s3_test_server_port(const struct s3_test_server *server)
{
	return server->port;
}

const char *s3_test_server_url(const struct s3_test_server *server)
{
	return server->url;
}

const char *s3_test_server_host(const struct s3_test_server *server)
{
	return server->host;
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

long s3_test_server_control(struct s3_test_server *server, const char *command, char **response)
{
	char url[1024];
	struct buffer body = {0};
	long status = -1;
	CURL *curl = curl_easy_init();
	if (!curl)
		return -1;
	snprintf(url, sizeof url, "%s/__control/%s", server->url, command);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (response)
		*response = body.data ? body.data : strdup("");
	else
		free(body.data);
	return status;
}

long s3_test_server_counter(struct s3_test_server *server, const char *op, const char *field)
{
	int column = strcmp(field, "calls") == 0 ? 1 : strcmp(field, "failures") == 0 ? 2
		   : strcmp(field, "injected") == 0 ? 3 : 0;
	char *text = NULL;
	long value = -1;
	if (column && s3_test_server_control(server, "counters", &text) == 200) {
		value = 0;
		char *save = NULL;
		for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char name[64];
			long numbers[3];
			if (sscanf(line, "%63s %ld %ld %ld", name, &numbers[0], &numbers[1], &numbers[2]) == 4 &&
			    strcmp(name, op) == 0)
				value = numbers[column - 1];
		}
	}
	free(text);
	return value;
}

int s3_test_server_stop(struct s3_test_server *server)
{
	if (!server)
		return 0;
	int result = server_process_stop(server->process);
	free(server);
	return result;
}
