/* server_process.h — a test server as a child process: started on an ephemeral port it prints as
 * its first line of stdout, tied to the test process's life, and always stopped again. What the
 * B2 and S3 harnesses (b2_server_harness.c, s3_server_harness.c) share. */
#ifndef SERVER_PROCESS_H
#define SERVER_PROCESS_H

#include <stdint.h>

struct server_process;

/* Runs argv (argv[0] the binary's path) with env ("NAME=VALUE" entries set in the child; may be
 * NULL) and waits up to 10 s for the port line. The child dies with the test process
 * (PR_SET_PDEATHSIG, which fires when the *thread* that started it exits: start servers from a
 * thread that outlives them) and is stopped at exit() at the latest. NULL with a message on
 * stderr naming `who` when it does not come up. */
struct server_process *server_process_start(const char *who, const char *const *argv,
					    const char *const *env);

uint16_t server_process_port(const struct server_process *process);

/* SIGTERM, wait (SIGKILL after 5 s), free: the exit status (0 = clean stop), or -1 when it had to
 * be killed or died of a signal. NULL is accepted. */
int server_process_stop(struct server_process *process);

#endif
