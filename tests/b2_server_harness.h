/* b2_server_harness.h — starts the B2 test server (tests/b2-server/b2-test-server) for a test on
 * an ephemeral loopback port, talks to its /_test/ control API, and always stops it again. */
#ifndef B2_SERVER_HARNESS_H
#define B2_SERVER_HARNESS_H

#include <stdint.h>

/* The master key every server started here accepts (its id is also the account id). */
#define B2_TEST_KEY_ID "test-account"
#define B2_TEST_KEY "test-master-key"
/* The bucket every server started here has. */
#define B2_TEST_BUCKET "test-bucket"

struct b2_test_server;

/* Starts a server with --port 0, the key above, --bucket B2_TEST_BUCKET, plus extra_args
 * (NULL-terminated list of further arguments, e.g. {"--storage-cap", "1000", NULL}; may be NULL).
 * The binary is $STOR_TEST_BUILDDIR/tests/b2-server/b2-test-server (override: $B2_TEST_SERVER).
 * Later options override earlier ones, so extra_args may replace --key-id/--key; --bucket adds.
 * The server dies with the test process (PR_SET_PDEATHSIG; note that it fires when the *thread*
 * that started the server exits, so start servers from a thread that outlives them) and at
 * exit() at the latest.
 * Returns NULL with a message on stderr when it does not come up within 10 s. */
struct b2_test_server *b2_test_server_start(const char *const *extra_args);

uint16_t b2_test_server_port(const struct b2_test_server *server);
/* "http://127.0.0.1:PORT": what to give a B2 client as its endpoint / realm. */
const char *b2_test_server_url(const struct b2_test_server *server);

/* One control call, e.g. (server, "POST", "/_test/fail", "{\"api\":\"b2_upload_file\"}").
 * json_body may be NULL (no body). Returns the HTTP status, or -1 when the server did not answer;
 * if response is not NULL it receives the body (malloc'd, caller frees). */
long b2_test_server_control(struct b2_test_server *server, const char *method, const char *path,
			    const char *json_body, char **response);

/* Calls of one B2 API seen since start or the last reset (e.g. "b2_upload_file"); -1 on error. */
long b2_test_server_counter(struct b2_test_server *server, const char *api);
/* The same for one field of the counters: "calls", "failures" or "injected". */
long b2_test_server_counter_field(struct b2_test_server *server, const char *api, const char *field);

/* SIGTERM, wait (SIGKILL after 5 s), free. Returns the server's exit status (0 = clean stop),
 * or -1 when it had to be killed or died of a signal. NULL is accepted. */
int b2_test_server_stop(struct b2_test_server *server);

#endif
