/* b2_cli.c — the fixture of the tests that run stor against the B2 test server (see b2_cli.h). */
#include "b2_cli.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 48

struct b2_cli *b2_cli_start(const char *const *server_args)
{
    struct b2_cli *cli = calloc(1, sizeof *cli);
    assert_non_null(cli);
    cli->server = b2_test_server_start(server_args);
    assert_non_null(cli->server);
    cli->dir = test_mkdtemp();
    snprintf(cli->env_endpoint, sizeof cli->env_endpoint, "STOR_B2_ENDPOINT=%s",
             b2_test_server_url(cli->server));
    snprintf(cli->env_cache, sizeof cli->env_cache, "STOR_CACHE_DIR=%s/cache", cli->dir);
    snprintf(cli->env_home, sizeof cli->env_home, "HOME=%s", cli->dir);
    return cli;
}

void b2_cli_stop(struct b2_cli *cli)
{
    assert_int_equal(b2_test_server_stop(cli->server), 0); /* it never crashed */
    test_rmtree(cli->dir);
    free(cli->dir);
    free(cli);
}

/* argv = {first..., args..., NULL}, from two NULL-terminated lists. */
static void join_args(const char **argv, const char *const *first, const char *const *args)
{
    size_t n = 0;
    for (; *first; first++)
        argv[n++] = *first;
    for (; *args; args++) {
        assert_true(n < MAX_ARGS - 1);
        argv[n++] = *args;
    }
    argv[n] = NULL;
}

/* The argv and environment of one run of stor, with the strings they point into. */
struct stor_command {
    char binary[4096], env_key_id[128], env_key[128];
    const char *argv[MAX_ARGS], *env[8];
};

static void fill_stor_command(const struct b2_cli *cli, const struct b2_cli_as *as,
                              const char *const *args, struct stor_command *command)
{
    static const struct b2_cli_as defaults = {0};
    if (!as)
        as = &defaults;
    /* test_build_path answers in a static buffer: keep a copy. */
    snprintf(command->binary, sizeof command->binary, "%s", test_build_path("stor"));
    join_args(command->argv, B2_CLI_ARGS(command->binary, "--backend=b2"), args);
    snprintf(command->env_key_id, sizeof command->env_key_id, "B2_APPLICATION_KEY_ID=%s",
             as->key_id ? as->key_id : B2_TEST_KEY_ID);
    snprintf(command->env_key, sizeof command->env_key, "B2_APPLICATION_KEY=%s",
             as->key ? as->key : B2_TEST_KEY);
    const char *env[] = {command->env_key_id, command->env_key,
                         as->env_endpoint ? as->env_endpoint : cli->env_endpoint, cli->env_cache,
                         cli->env_home, "STOR_PLUGIN_PATH", "XDG_CACHE_HOME", NULL};
    memcpy(command->env, env, sizeof env);
}

struct test_run b2_cli_run(const struct b2_cli *cli, const struct b2_cli_as *as,
                           const char *const *args)
{
    struct stor_command command;
    fill_stor_command(cli, as, args, &command);
    return test_run(command.argv, command.env, NULL);
}

pid_t b2_cli_spawn(const struct b2_cli *cli, const char *err_path, const char *const *args)
{
    return b2_cli_spawn_to(cli, "/dev/null", err_path, args);
}

pid_t b2_cli_spawn_to(const struct b2_cli *cli, const char *out_path, const char *err_path,
                      const char *const *args)
{
    struct stor_command command;
    fill_stor_command(cli, NULL, args, &command);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR), err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(null, 0);
        dup2(out, 1);
        dup2(err, 2);
        for (const char **e = command.env; *e; e++) {
            if (strchr(*e, '='))
                putenv((char *)*e);
            else
                unsetenv(*e);
        }
        execv(command.argv[0], (char *const *)command.argv);
        _exit(127);
    }
    return pid;
}

struct test_run b2_cli_shell(const struct b2_cli *cli, const char *command)
{
    struct stor_command stor;
    fill_stor_command(cli, NULL, B2_CLI_ARGS(NULL), &stor);
    return test_run(B2_CLI_ARGS("/bin/sh", "-c", command), stor.env, NULL);
}

struct test_run b2_cli_rclone(const struct b2_cli *cli, const char *const *args)
{
    const char *argv[MAX_ARGS];
    join_args(argv, B2_CLI_ARGS("/usr/bin/rclone", "--config", "/dev/null", "--low-level-retries", "3"),
              args);
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "RCLONE_CONFIG_TESTB2_ENDPOINT=%s",
             b2_test_server_url(cli->server));
    /* TZ: rclone prints modification times in local time. */
    const char *env[] = {"RCLONE_CONFIG_TESTB2_TYPE=b2", "RCLONE_CONFIG_TESTB2_ACCOUNT=" B2_TEST_KEY_ID,
                         "RCLONE_CONFIG_TESTB2_KEY=" B2_TEST_KEY, endpoint, cli->env_home, "TZ=UTC",
                         NULL};
    return test_run(argv, env, NULL);
}

void b2_cli_control(const struct b2_cli *cli, const char *path, const char *body)
{
    assert_int_equal(b2_test_server_control(cli->server, "POST", path, body, NULL), 200);
}

long b2_cli_succeeded(const struct b2_cli *cli, const char *api)
{
    return b2_test_server_counter_field(cli->server, api, "calls") -
           b2_test_server_counter_field(cli->server, api, "failures");
}

long b2_cli_total_requests(const struct b2_cli *cli)
{
    char *body = NULL;
    assert_int_equal(b2_test_server_control(cli->server, "GET", "/_test/counters", NULL, &body), 200);
    struct json_object *counters = json_tokener_parse(body);
    assert_non_null(counters);
    long total = 0;
    json_object_object_foreach(counters, api, value)
    {
        (void)api;
        total += (long)json_object_get_int64(json_object_object_get(value, "calls"));
    }
    json_object_put(counters);
    free(body);
    return total;
}

char *b2_cli_path(const struct b2_cli *cli, const char *name)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", cli->dir, name) > 0);
    return path;
}

char *b2_cli_local_file(const struct b2_cli *cli, const char *name, size_t size, unsigned seed)
{
    char *path = b2_cli_path(cli, name);
    char *data = malloc(size + 1); /* + 1: never malloc(0) */
    for (size_t i = 0; i < size; i++)
        data[i] = (char)((i * 2654435761u + seed) >> 13);
    test_write_file(path, data, size);
    free(data);
    return path;
}
