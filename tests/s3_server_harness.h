/* s3_server_harness.h — starts the S3 test server (tests/s3-server/s3-test-server) for a C test
 * on an ephemeral loopback port with known credentials, talks to its /__control/ path, and always
 * stops it again. What the S3 plugin's CMocka tests will stand on. */
#ifndef S3_SERVER_HARNESS_H
#define S3_SERVER_HARNESS_H

#include <stdint.h>

/* The credentials every server started here accepts (handed over in its environment). */
#define S3_HARNESS_ACCESS_KEY "AKIASTORHARNESS00001"
#define S3_HARNESS_SECRET_KEY "harness/secret+key=0123456789"
#define S3_HARNESS_REGION "us-east-1"
/* The bucket every server started here has. */
#define S3_HARNESS_BUCKET "test-bucket"

struct s3_test_server;

/* Starts a server with --port 0, --bucket S3_HARNESS_BUCKET and extra_args (NULL-terminated, may
 * be NULL, e.g. {"--min-part-size", "1024", NULL}). The binary is
 * $STOR_TEST_BUILDDIR/tests/s3-server/s3-test-server (override: $S3_TEST_SERVER). The server dies
 * with the test process (PR_SET_PDEATHSIG) and is stopped at exit() at the latest. NULL with a
 * message on stderr when it does not come up within 10 s. */
struct s3_test_server *s3_test_server_start(const char *const *extra_args);

uint16_t s3_test_server_port(const struct s3_test_server *server);
const char *s3_test_server_url(const struct s3_test_server *server);  /* http://127.0.0.1:PORT */
const char *s3_test_server_host(const struct s3_test_server *server); /* 127.0.0.1:PORT */

/* GET /__control/<command> (e.g. "fail?op=PutObject&status=503&count=1"): the HTTP status or -1;
 * response (may be NULL) receives the body, malloc'd. */
long s3_test_server_control(struct s3_test_server *server, const char *command, char **response);
/* One counter of one operation ("PutObject", field "calls", "failures" or "injected"): 0 when
 * not seen since the last reset, -1 on error. */
long s3_test_server_counter(struct s3_test_server *server, const char *op, const char *field);

/* SIGTERM, wait (SIGKILL after 5 s), free: the server's exit status (0 = clean stop) or -1.
 * NULL is accepted. */
int s3_test_server_stop(struct s3_test_server *server);

#endif
