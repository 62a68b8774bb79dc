/* s3_cli.h — the fixture of the C tests that run `./stor --backend=s3` against the S3 test
 * server: one server and one scratch directory, stor's environment pointed at them. */
#ifndef S3_CLI_H
#define S3_CLI_H

#include <stddef.h>

#include "s3_server_harness.h"
#include "test_util.h"

struct s3_cli {
    struct s3_test_server *server;
    char *dir; /* scratch: stor's HOME and cache, local files */
    char endpoint[128]; /* "endpoint=http://127.0.0.1:PORT", for -o */
    char env_cache[4200], env_home[4200];
};

/* Starts a server with server_args (as s3_test_server_start) and makes a scratch directory;
 * asserts that both worked. */
struct s3_cli *s3_cli_start(const char *const *server_args);
/* Stops the server, asserting it never crashed, and removes the scratch directory. */
void s3_cli_stop(struct s3_cli *cli);

#define S3_CLI_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs ./stor --backend=s3 -o ENDPOINT args... as the harness's access key, with HOME and the
 * cache in the scratch directory and no AWS or stor configuration inherited. endpoint: the -o
 * value ("endpoint=URL"); NULL: the fixture's server. */
struct test_run s3_cli_run(const struct s3_cli *cli, const char *endpoint, const char *const *args);
/* The environment s3_cli_run gives stor (NULL-terminated, static), for other ways to run it. */
const char *const *s3_cli_env(const struct s3_cli *cli);

/* One control command (e.g. "fail?op=PutObject&status=503"); asserts the server took it. */
void s3_cli_control(const struct s3_cli *cli, const char *command);
/* Calls of op the server answered without a failure since the last reset. */
long s3_cli_succeeded(const struct s3_cli *cli, const char *op);
/* Every call the server counted since the last reset, failed ones too. */
long s3_cli_total_requests(const struct s3_cli *cli);

/* A file dir/name of size pseudo-random bytes, different for each seed; its path (malloc'd). */
char *s3_cli_local_file(const struct s3_cli *cli, const char *name, size_t size, unsigned seed);

#endif
