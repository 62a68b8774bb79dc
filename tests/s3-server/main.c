/* main.c — command line of the S3 test server: credentials (from the environment), region,
 * buckets, limits; starts the daemon on 127.0.0.1, prints the port on the first line of stdout,
 * runs until SIGTERM or SIGINT. */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "server.h"
#include "store.h"

struct server_config server_config;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: s3-test-server [--port N] [--region R] [--bucket NAME]... [--min-part-size BYTES]\n"
		"                      [--max-body BYTES] [--clock-offset SECONDS] [--threads N]\n"
		"An S3 server (path-style, SigV4) on 127.0.0.1 for tests (see README.md).\n"
		"Credentials come from the environment: S3_TEST_ACCESS_KEY and S3_TEST_SECRET_KEY\n"
		"(defaults test-access-key / test-secret-key). --port 0 (the default) picks a free port;\n"
		"the port is the first line on stdout.\n");
}

static bool parse_number(const char *text, long long min, long long max, long long *value)
{
	char *end;
	if (!text || !*text)
		return false;
	*value = strtoll(text, &end, 10);
	return !*end && *value >= min && *value <= max;
}

static bool valid_bucket_name(const char *name)
{
	size_t length = strlen(name);
	if (length < 3 || length > 63)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
			return false;
	return name[0] != '-' && name[0] != '.' && name[length - 1] != '-' && name[length - 1] != '.';
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"port", required_argument, NULL, 'p'},
		{"region", required_argument, NULL, 'r'},
		{"bucket", required_argument, NULL, 'b'},
		{"min-part-size", required_argument, NULL, 'm'},
		{"max-body", required_argument, NULL, 'x'},
		{"clock-offset", required_argument, NULL, 'c'},
		{"threads", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *buckets[64];
	size_t bucket_count = 0;
	long long port = 0, min_part = 5LL << 20, max_body = 256LL << 20, offset = 0, threads = 4;
	int option;

	server_config.region = "us-east-1";
	while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
		bool ok = true;
		switch (option) {
		case 'p': ok = parse_number(optarg, 0, 65535, &port); break;
		case 'r': server_config.region = optarg; ok = *optarg && strlen(optarg) < 32; break;
		case 'b': ok = bucket_count < 64 && valid_bucket_name(optarg); if (ok) buckets[bucket_count++] = optarg; break;
		case 'm': ok = parse_number(optarg, 0, 5LL << 30, &min_part); break;
		case 'x': ok = parse_number(optarg, 1, 4LL << 30, &max_body); break;
		case 'c': ok = parse_number(optarg, -10LL * 365 * 86400, 10LL * 365 * 86400, &offset); break;
		case 't': ok = parse_number(optarg, 1, 64, &threads); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (!ok) {
			const struct option *bad = options;
			while (bad->name && bad->val != option)
				bad++;
			fprintf(stderr, "s3-test-server: bad value for --%s\n", bad->name ? bad->name : "?");
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* Secrets through the environment, never argv (ps shows argv to every user). */
	server_config.access_key = getenv("S3_TEST_ACCESS_KEY") ? getenv("S3_TEST_ACCESS_KEY") : "test-access-key";
	server_config.secret_key = getenv("S3_TEST_SECRET_KEY") ? getenv("S3_TEST_SECRET_KEY") : "test-secret-key";
	if (!*server_config.access_key || !*server_config.secret_key) {
		fprintf(stderr, "s3-test-server: S3_TEST_ACCESS_KEY and S3_TEST_SECRET_KEY must not be empty\n");
		return 2;
	}
	server_config.min_part_size = (size_t)min_part;
	server_config.max_body = (size_t)max_body;
	server_config.clock_offset = (long)offset;
	for (size_t i = 0; i < bucket_count; i++)
		if (!store_create_bucket(buckets[i], server_config.region)) {
			fprintf(stderr, "s3-test-server: --bucket %s given twice\n", buckets[i]);
			store_free_all();
			return 2;
		}

	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint16_t bound_port = 0;
	struct MHD_Daemon *daemon = http_start((uint16_t)port, (unsigned)threads, &bound_port);
	if (!daemon) {
		fprintf(stderr, "s3-test-server: cannot listen on 127.0.0.1:%lld\n", port);
		store_free_all();
		return 1;
	}
	printf("%u\n", (unsigned)bound_port);
	fflush(stdout);
	int signal_number;
	sigwait(&stop_signals, &signal_number);
	MHD_stop_daemon(daemon);
	store_free_all();
	return 0;
}
