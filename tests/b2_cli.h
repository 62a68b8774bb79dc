/* b2_cli.h — the fixture of the tests that run `./stor --backend=b2` (and rclone) against the B2
 * test server: one server and one scratch directory, and stor's environment pointed at them. */
#ifndef B2_CLI_H
#define B2_CLI_H

#include <stddef.h>
#include <sys/types.h>

#include "b2_server_harness.h"
#include "test_util.h"

struct b2_cli {
    struct b2_test_server *server;
    char *dir; /* scratch: stor's HOME and cache, local files */
    char env_endpoint[256], env_cache[4200], env_home[4200];
};

/* Starts a server with server_args (as b2_test_server_start) and makes a scratch directory;
 * asserts that both worked. */
struct b2_cli *b2_cli_start(const char *const *server_args);
/* Stops the server, asserting it never crashed, and removes the scratch directory. */
void b2_cli_stop(struct b2_cli *cli);

/* A NULL-terminated argument list from the arguments given, e.g. B2_CLI_ARGS("ls", "-r"). */
#define B2_CLI_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Who stor runs as and what it talks to; a NULL field keeps the default. */
struct b2_cli_as {
    const char *key_id, *key;  /* default: the server's master key */
    const char *env_endpoint;  /* "STOR_B2_ENDPOINT=URL"; default: the fixture's server */
};

/* Runs ./stor --backend=b2 args... (as: NULL for the defaults) with HOME and the cache in the
 * scratch directory, and no plugin path or XDG cache inherited from the caller. */
struct test_run b2_cli_run(const struct b2_cli *cli, const struct b2_cli_as *as,
                           const char *const *args);
/* The same in the background as the master key: stdin and stdout /dev/null, stderr into err_path. */
pid_t b2_cli_spawn(const struct b2_cli *cli, const char *err_path, const char *const *args);
/* The same with stdout into out_path. */
pid_t b2_cli_spawn_to(const struct b2_cli *cli, const char *out_path, const char *err_path,
                      const char *const *args);
/* Runs /bin/sh -c command in the environment b2_cli_run gives stor, for pipes into stor. */
struct test_run b2_cli_shell(const struct b2_cli *cli, const char *command);
/* Runs /usr/bin/rclone args... with a remote "testb2:" on the fixture's server. */
struct test_run b2_cli_rclone(const struct b2_cli *cli, const char *const *args);

/* POSTs body to the server's control endpoint path (e.g. "/_test/fail"); asserts it took it. */
void b2_cli_control(const struct b2_cli *cli, const char *path, const char *body);
/* Calls of api the server answered without a failure since the last counter reset. */
long b2_cli_succeeded(const struct b2_cli *cli, const char *api);
/* Every call the server counted since the last counter reset, failed ones too. */
long b2_cli_total_requests(const struct b2_cli *cli);

/* dir/name (malloc'd). */
char *b2_cli_path(const struct b2_cli *cli, const char *name);
/* A file dir/name of size pseudo-random bytes, different for each seed; its path (malloc'd). */
char *b2_cli_local_file(const struct b2_cli *cli, const char *name, size_t size, unsigned seed);

#endif
