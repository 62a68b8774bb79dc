/* s3_cli.c — the fixture of the C tests that run stor against the S3 test server (s3_cli.h). */
#include "s3_cli.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 48

struct s3_cli *s3_cli_start(const char *const *server_args)
{
    struct s3_cli *cli = calloc(1, sizeof *cli);
    assert_non_null(cli);
    cli->server = s3_test_server_start(server_args);
    assert_non_null(cli->server);
    cli->dir = test_mkdtemp();
    snprintf(cli->endpoint, sizeof cli->endpoint, "endpoint=%s", s3_test_server_url(cli->server));
    snprintf(cli->env_cache, sizeof cli->env_cache, "STOR_CACHE_DIR=%s/cache", cli->dir);
    snprintf(cli->env_home, sizeof cli->env_home, "HOME=%s", cli->dir);
    return cli;
}

void s3_cli_stop(struct s3_cli *cli)
{
    assert_int_equal(s3_test_server_stop(cli->server), 0); /* it never crashed */
    test_rmtree(cli->dir);
    free(cli->dir);
    free(cli);
}

const char *const *s3_cli_env(const struct s3_cli *cli)
{
    static const char *env[16];
    const char *fixed[] = {"AWS_ACCESS_KEY_ID=" S3_HARNESS_ACCESS_KEY,
                           "AWS_SECRET_ACCESS_KEY=" S3_HARNESS_SECRET_KEY,
                           "AWS_REGION=" S3_HARNESS_REGION, cli->env_cache, cli->env_home,
                           "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE",
                           "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                           "AWS_DEFAULT_REGION", "STOR_PLUGIN_PATH", "XDG_CACHE_HOME", NULL};
    memcpy(env, fixed, sizeof fixed);
    return env;
}

struct test_run s3_cli_run(const struct s3_cli *cli, const char *endpoint, const char *const *args)
{
    char binary[4096];
    snprintf(binary, sizeof binary, "%s", test_build_path("stor")); /* a static buffer: copied */
    const char *argv[MAX_ARGS] = {binary, "--backend=s3", "-o", endpoint ? endpoint : cli->endpoint};
    size_t n = 4;
    for (; *args; args++) {
        assert_true(n < MAX_ARGS - 1);
        argv[n++] = *args;
    }
    argv[n] = NULL;
    return test_run(argv, s3_cli_env(cli), NULL);
}

void s3_cli_control(const struct s3_cli *cli, const char *command)
{
    assert_int_equal(s3_test_server_control(cli->server, command, NULL), 200);
}

long s3_cli_succeeded(const struct s3_cli *cli, const char *op)
{
    long calls = s3_test_server_counter(cli->server, op, "calls");
    long failures = s3_test_server_counter(cli->server, op, "failures");
    assert_true(calls >= 0 && failures >= 0);
    return calls - failures;
}

long s3_cli_total_requests(const struct s3_cli *cli)
{
    char *text = NULL;
    assert_int_equal(s3_test_server_control(cli->server, "counters", &text), 200);
    long total = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        long calls;
        assert_int_equal(sscanf(line, "%63s %ld", name, &calls), 2);
        total += calls;
    }
    free(text);
    return total;
}

char *s3_cli_local_file(const struct s3_cli *cli, const char *name, size_t size, unsigned seed)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", cli->dir, name) > 0);
    char *data = malloc(size + 1); /* + 1: never malloc(0) */
    assert_non_null(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)((i * 2654435761u + seed) >> 13);
    test_write_file(path, data, size);
    free(data);
    return path;
}
