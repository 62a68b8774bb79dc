/* s3_server_harness.c — fork/exec of the S3 test server with its credentials in the environment,
 * its port read from the first line of its stdout, control calls over libcurl. */
#include "s3_server_harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct s3_test_server {
	pid_t pid;
	uint16_t port;
	char url[64], host[32];
	struct s3_test_server *next;
};

static struct s3_test_server *running;

static void stop_all_at_exit(void)
{
	while (running)
		s3_test_server_stop(running);
}

static uint16_t read_port(int fd)
{
	char line[32];
	size_t length = 0;
	while (length < sizeof line - 1) {
		struct pollfd ready = {.fd = fd, .events = POLLIN};
		int polled = poll(&ready, 1, 10000);
		if (polled < 0 && errno == EINTR)
			continue;
		if (polled <= 0)
			return 0;
		ssize_t got = read(fd, line + length, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		if (line[length] == '\n')
			break;
		length++;
	}
	line[length] = '\0';
	char *end;
	long port = strtol(line, &end, 10);
	return (*end || port <= 0 || port > 65535) ? 0 : (uint16_t)port;
}

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

	int out[2];
	if (pipe(out) != 0)
		return NULL;
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		setenv("S3_TEST_ACCESS_KEY", S3_HARNESS_ACCESS_KEY, 1);
		setenv("S3_TEST_SECRET_KEY", S3_HARNESS_SECRET_KEY, 1);
		execv(path, (char *const *)argv);
		fprintf(stderr, "s3_server_harness: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	uint16_t port = read_port(out[0]);
	close(out[0]);
	struct s3_test_server *server = port ? calloc(1, sizeof *server) : NULL;
	if (!server) {
		fprintf(stderr, "s3_server_harness: %s did not come up\n", path);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return NULL;
	}
	server->pid = pid;
	server->port = port;
	snprintf(server->host, sizeof server->host, "127.0.0.1:%u", (unsigned)port);
	snprintf(server->url, sizeof server->url, "http://%s", server->host);
	static bool exit_hook;
	if (!exit_hook) {
		atexit(stop_all_at_exit);
		exit_hook = true;
	}
	server->next = running;
	running = server;
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
	for (struct s3_test_server **link = &running; *link; link = &(*link)->next)
		if (*link == server) {
			*link = server->next;
			break;
		}
	int status = 0, result = -1;
	kill(server->pid, SIGTERM);
	for (int waited_ms = 0;; waited_ms += 10) {
		pid_t done = waitpid(server->pid, &status, WNOHANG);
		if (done == server->pid) {
			result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		if (done < 0 && errno != EINTR)
			break;
		if (waited_ms >= 5000) {
			kill(server->pid, SIGKILL);
			waitpid(server->pid, NULL, 0);
			break;
		}
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	free(server);
	return result;
}
