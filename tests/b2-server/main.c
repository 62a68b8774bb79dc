/* main.c — command line of the B2 test server: keys, buckets, limits; starts the daemon on
 * 127.0.0.1, prints the port on the first line of stdout, runs until SIGTERM or SIGINT. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "blob.h"
#include "http.h"
#include "server.h"
#include "store.h"

struct server_config server_config;

int64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: b2-test-server [--port N] [--bucket NAME]... [--key-id ID] [--key KEY]\n"
		"                      [--restricted-key ID:KEY:BUCKET:CAPS[:PREFIX]]...\n"
		"                      [--data-dir DIR] [--token-ttl SECONDS] [--storage-cap BYTES]\n"
		"                      [--threads N (pool size; 0: a thread per connection)]\n"
		"A Backblaze B2 native API server on 127.0.0.1 for tests (see README.md).\n"
		"--port 0 (the default) picks a free port; the port is the first line on stdout.\n");
}

static bool parse_unsigned(const char *text, unsigned long long max, unsigned long long *value)
{
	char *end;
	if (!text || !*text || *text == '-')
		return false;
	*value = strtoull(text, &end, 10);
	return !*end && *value <= max;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"port", required_argument, NULL, 'p'},
		{"bucket", required_argument, NULL, 'b'},
		{"key-id", required_argument, NULL, 'i'},
		{"key", required_argument, NULL, 'k'},
		{"restricted-key", required_argument, NULL, 'r'},
		{"data-dir", required_argument, NULL, 'd'},
		{"token-ttl", required_argument, NULL, 't'},
		{"storage-cap", required_argument, NULL, 'c'},
		{"threads", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key_id = "test-account", *key = "test-master-key";
	const char *buckets[64], *restricted[64];
	size_t bucket_count = 0, restricted_count = 0;
	unsigned long long port = 0, ttl = 24 * 3600, cap = 0, threads = 4;
	int option;

	server_config.token_ttl_ms = 24LL * 3600 * 1000;
	while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
		bool ok = true;
		switch (option) {
		case 'p': ok = parse_unsigned(optarg, 65535, &port); break;
		case 'b': ok = bucket_count < 64; if (ok) buckets[bucket_count++] = optarg; break;
		case 'i': key_id = optarg; break;
		case 'k': key = optarg; break;
		case 'r': ok = restricted_count < 64; if (ok) restricted[restricted_count++] = optarg; break;
		case 'd': server_config.data_dir = optarg; break;
		case 't': ok = parse_unsigned(optarg, 10LL * 365 * 86400, &ttl); break;
		case 'c': ok = parse_unsigned(optarg, ULLONG_MAX, &cap); break;
		case 'n': ok = parse_unsigned(optarg, 256, &threads); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (!ok) {
			const struct option *bad = options;
			while (bad->name && bad->val != option)
				bad++;
			fprintf(stderr, "b2-test-server: bad value for --%s\n", bad->name ? bad->name : "?");
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	server_config.account_id = key_id;
	server_config.token_ttl_ms = (int64_t)ttl * 1000;
	server_config.storage_cap = cap;
	if (server_config.data_dir) {
		struct stat status;
		if (stat(server_config.data_dir, &status) != 0 || !S_ISDIR(status.st_mode)) {
			fprintf(stderr, "b2-test-server: --data-dir %s is not a directory\n",
				server_config.data_dir);
			return 2;
		}
		blob_set_directory(server_config.data_dir);
	}

	int status = 1;
	auth_add_master_key(key_id, key);
	for (size_t i = 0; i < restricted_count; i++) {
		char error[128];
		if (!auth_add_restricted_key(restricted[i], error, sizeof error)) {
			/* The spec holds a secret: name the problem, not the argument. */
			fprintf(stderr, "b2-test-server: --restricted-key #%zu: %s\n", i + 1, error);
			goto out;
		}
	}
	for (size_t i = 0; i < bucket_count; i++) {
		struct b2_error error;
		if (!store_create_bucket(buckets[i], "allPrivate", NULL, NULL, &error)) {
			fprintf(stderr, "b2-test-server: --bucket %s: %s\n", buckets[i], error.message);
			goto out;
		}
	}

	/* Signals are taken synchronously by sigwait(); every thread MHD starts inherits the mask. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint16_t bound_port = 0;
	struct MHD_Daemon *daemon = http_start((uint16_t)port, (unsigned)threads, &bound_port);
	if (!daemon) {
		fprintf(stderr, "b2-test-server: cannot listen on 127.0.0.1:%llu\n", port);
		goto out;
	}
	snprintf(server_config.base_url, sizeof server_config.base_url, "http://127.0.0.1:%u",
		 (unsigned)bound_port);
	printf("%u\n", (unsigned)bound_port);
	fflush(stdout);

	int signal_number;
	sigwait(&stop_signals, &signal_number);
	http_stop(daemon);
	status = 0;
out:
	store_free_all();
	auth_free_all();
	return status;
}
