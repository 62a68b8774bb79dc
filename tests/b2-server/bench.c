/* bench.c — load generator for the B2 test server (run by hand, never by make check): starts a
 * server through the test harness and measures small requests per second over keep-alive. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "../b2_server_harness.h"

struct worker {
	uint16_t port;
	int requests;
	char request[2048];
	size_t request_length;
	int failures;
};

/* Sends the same request `requests` times on one connection, reading each answer whole. */
static void *run_worker(void *cls)
{
	struct worker *worker = cls;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(worker->port)};
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
		worker->failures = worker->requests;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char buffer[65536];
	for (int i = 0; i < worker->requests; i++) {
		if (write(fd, worker->request, worker->request_length) != (ssize_t)worker->request_length) {
			worker->failures += worker->requests - i;
			break;
		}
		size_t have = 0;
		long need = -1;
		while (need < 0 || (long)have < need) {
			ssize_t got = read(fd, buffer + have, sizeof buffer - have - 1);
			if (got <= 0)
				goto out;
			have += (size_t)got;
			buffer[have] = '\0';
			char *end = strstr(buffer, "\r\n\r\n"), *length = strcasestr(buffer, "Content-Length:");
			if (end && length)
				need = (end + 4 - buffer) + strtol(length + 15, NULL, 10);
		}
		worker->failures += strncmp(buffer, "HTTP/1.1 200", 12) != 0;
	}
out:
	close(fd);
	return NULL;
}

static size_t collect(char *data, size_t size, size_t count, void *cls)
{
	strncat(cls, data, 4095 - strlen(cls) < size * count ? 4095 - strlen(cls) : size * count);
	return size * count;
}

/* One JSON call through libcurl for the setup; returns the parsed answer. */
static json_object *setup_call(const char *url, const char *authorization, const char *body)
{
	char answer[4096] = "";
	struct curl_slist *headers = curl_slist_append(NULL, authorization);
	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	return json_tokener_parse(answer);
}

static const char *field(json_object *object, const char *name)
{
	json_object *value = NULL;
	json_object_object_get_ex(object, name, &value);
	return value ? json_object_get_string(value) : "";
}

static void measure(const char *label, struct worker *workers, int threads)
{
	pthread_t ids[256];
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0; i < threads; i++)
		pthread_create(&ids[i], NULL, run_worker, &workers[i]);
	int total = 0, failures = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(ids[i], NULL);
		total += workers[i].requests;
		failures += workers[i].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
	printf("%-24s %8d requests, %d threads: %8.0f requests/s (%d failed)\n", label, total, threads,
	       total / seconds, failures);
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4, requests = argc > 2 ? atoi(argv[2]) : 20000;
	if (threads < 1 || threads > 256 || requests < 1) {
		fprintf(stderr, "usage: b2-server-bench [threads (4)] [requests per thread (20000)]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct b2_test_server *server = b2_test_server_start(NULL);
	if (!server)
		return 1;
	char url[256], authorization[256], body[256];
	snprintf(url, sizeof url, "%s/b2api/v2/b2_authorize_account", b2_test_server_url(server));
	char basic[128] = "Authorization: Basic ";
	EVP_EncodeBlock((unsigned char *)basic + strlen(basic), (const unsigned char *)B2_TEST_KEY_ID ":" B2_TEST_KEY,
			(int)strlen(B2_TEST_KEY_ID ":" B2_TEST_KEY));
	json_object *account = setup_call(url, basic, NULL);
	snprintf(authorization, sizeof authorization, "Authorization: %s", field(account, "authorizationToken"));
	snprintf(url, sizeof url, "%s/b2api/v2/b2_list_buckets", b2_test_server_url(server));
	json_object *buckets = setup_call(url, authorization, "{\"accountId\":\"" B2_TEST_KEY_ID "\"}");
	json_object *list = NULL;
	json_object_object_get_ex(buckets, "buckets", &list);
	char bucket_id[64];
	snprintf(bucket_id, sizeof bucket_id, "%s", field(json_object_array_get_idx(list, 0), "bucketId"));

	struct worker *workers = calloc((size_t)threads, sizeof *workers);
	static const char *const calls[] = {"b2_list_file_names", "b2_get_upload_url"};
	for (size_t c = 0; c < 2; c++) {
		snprintf(body, sizeof body, "{\"bucketId\":\"%s\"}", bucket_id);
		for (int i = 0; i < threads; i++) {
			workers[i] = (struct worker){.port = b2_test_server_port(server), .requests = requests};
			workers[i].request_length = (size_t)snprintf(
				workers[i].request, sizeof workers[i].request,
				"POST /b2api/v2/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				calls[c], authorization, strlen(body), body);
		}
		measure(calls[c], workers, threads);
	}

	/* Small uploads: one upload URL per thread, as a B2 client pools them. */
	snprintf(url, sizeof url, "%s/b2api/v2/b2_get_upload_url", b2_test_server_url(server));
	for (int i = 0; i < threads; i++) {
		json_object *target = setup_call(url, authorization, body);
		const char *upload_url = field(target, "uploadUrl");
		const char *path = strchr(upload_url + strlen("http://"), '/');
		workers[i] = (struct worker){.port = b2_test_server_port(server), .requests = requests};
		workers[i].request_length = (size_t)snprintf(
			workers[i].request, sizeof workers[i].request,
			"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
			"X-Bz-File-Name: bench/file-%d\r\nContent-Type: text/plain\r\n"
			"X-Bz-Content-Sha1: 0a4d55a8d778e5022fab701977c5d840bbc486d0\r\n"
			"Content-Length: 11\r\n\r\nHello World",
			path ? path : "/", field(target, "authorizationToken"), i);
		json_object_put(target);
	}
	measure("b2_upload_file (11 B)", workers, threads);

	free(workers);
	json_object_put(account);
	json_object_put(buckets);
	int status = b2_test_server_stop(server);
	curl_global_cleanup();
	return status == 0 ? 0 : 1;
}
