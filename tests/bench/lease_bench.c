/* lease_bench.c — upload-target leases per second inside the B2 plugin: from a warm pool
 * (b2_pool_lease + b2_pool_return, no I/O) and from a cold one (each lease a b2_get_upload_url).
 *
 * usage: lease_bench ENDPOINT BUCKET WARM_LEASES COLD_LEASES
 * Opens the plugin through its vtable (stor_plugin_entry()->open, real libcurl transport, disk
 * cache off), then calls pool.c directly: the ABI's get_upload_target hands targets over for good,
 * so it can never show a warm lease. Credentials: B2_APPLICATION_KEY_ID, B2_APPLICATION_KEY.
 * Output: one line of key=value pairs. Linked with tests/libb2_under_test.la. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b2.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void quiet_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
{
    (void)host;
    (void)level;
    (void)fmt;
}

static int never_cancelled(const struct stor_host *host)
{
    (void)host;
    return 0;
}

static void ignore_count(const struct stor_host *host, const char *counter, uint64_t n)
{
    (void)host;
    (void)counter;
    (void)n;
}

static const struct stor_host bench_host = {
    .abi_version = STOR_ABI_VERSION,
    .struct_size = sizeof(struct stor_host),
    .log_level = STOR_LOG_ERROR,
    .log = quiet_log,
    .cancelled = never_cancelled,
    .count = ignore_count,
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void);

static int fail(const char *what, const struct stor_error *err)
{
    fprintf(stderr, "lease_bench: %s: %s\n", what, err->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: lease_bench ENDPOINT BUCKET WARM_LEASES COLD_LEASES\n");
        return 2;
    }
    const char *bucket = argv[2];
    long warm_leases = atol(argv[3]), cold_leases = atol(argv[4]);
    if (warm_leases < 1 || cold_leases < 1) {
        fprintf(stderr, "lease_bench: lease counts must be positive\n");
        return 2;
    }
    const struct stor_backend *backend = stor_plugin_entry();
    const struct stor_option options[] = {{"endpoint", argv[1]}, {"cache", "no"}};
    struct stor_error err = {{0}};
    void *instance;
    if (backend->open(&bench_host, options, 2, &instance, &err) != STOR_OK)
        return fail("open", &err);
    struct b2_plugin *plugin = instance;
    char *bucket_id;
    if (b2_bucket_id(plugin, bucket, 0, &bucket_id, &err) != STOR_OK)
        return fail("bucket id", &err);

    /* Cold: every lease asks B2 (fresh = 1), over the plugin's kept-alive connection. */
    struct b2_target target;
    double started = now_seconds();
    for (long i = 0; i < cold_leases; i++) {
        if (b2_pool_lease(plugin, bucket_id, 1, &target, NULL, &err) != STOR_OK)
            return fail("cold lease", &err);
        b2_target_free(&target);
    }
    double cold_seconds = now_seconds() - started;

    /* Warm: one target in the pool, leased and given back again and again. */
    if (b2_pool_lease(plugin, bucket_id, 1, &target, NULL, &err) != STOR_OK)
        return fail("first lease", &err);
    b2_pool_return(plugin, &target);
    started = now_seconds();
    for (long i = 0; i < warm_leases; i++) {
        if (b2_pool_lease(plugin, bucket_id, 0, &target, NULL, &err) != STOR_OK)
            return fail("warm lease", &err);
        b2_pool_return(plugin, &target);
    }
    double warm_seconds = now_seconds() - started;

    printf("warm_leases=%ld warm_seconds=%.6f warm_ns_per_lease=%.1f warm_leases_per_s=%.0f "
           "cold_leases=%ld cold_seconds=%.6f cold_us_per_lease=%.1f cold_leases_per_s=%.0f\n",
           warm_leases, warm_seconds, warm_seconds * 1e9 / warm_leases, warm_leases / warm_seconds,
           cold_leases, cold_seconds, cold_seconds * 1e6 / cold_leases, cold_leases / cold_seconds);
    free(bucket_id);
    backend->close(instance);
    return 0;
}
