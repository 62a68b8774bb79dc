/* server_process.c — fork/exec of a test server, its port from the first line of its stdout, and
 * a stop that always happens (see server_process.h). */
#include "server_process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct server_process {
	pid_t pid;
	uint16_t port;
	struct server_process *next; /* running servers, stopped at exit */
};

static struct server_process *running;

static void stop_all_at_exit(void)
{
	while (running)
		server_process_stop(running);
}

/* Reads the port line within the deadline; 0 on failure. */
static uint16_t read_port(int fd)
{
	char line[32];
	size_t length = 0;
	while (length < sizeof line - 1) {
		struct pollfd ready = {.fd = fd, .events = POLLIN};
		int polled = poll(&ready, 1, 10000);
		if (polled < 0 && errno == EINTR)
			continue;
		if (polled <= 0)
			return 0;
		ssize_t got = read(fd, line + length, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		if (line[length] == '\n')
			break;
		length++;
	}
	line[length] = '\0';
	char *end;
	long port = strtol(line, &end, 10);
	return (*end || port <= 0 || port > 65535) ? 0 : (uint16_t)port;
}

struct server_process *server_process_start(const char *who, const char *const *argv,
					    const char *const *env)
{
	int out[2];
	if (pipe(out) != 0)
		return NULL;
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	if (pid == 0) {
		/* Die with the test process, even when it is killed; and if it already died, now. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", who, argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	uint16_t port = read_port(out[0]);
	close(out[0]);
	struct server_process *process = port ? calloc(1, sizeof *process) : NULL;
	if (!process) {
		fprintf(stderr, "%s: %s did not come up (no port on its first line)\n", who, argv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return NULL;
	}
	process->pid = pid;
	process->port = port;
	static bool exit_hook;
	if (!exit_hook) {
		atexit(stop_all_at_exit);
		exit_hook = true;
	}
	process->next = running;
	running = process;
	return process;
}

uint16_t server_process_port(const struct server_process *process)
{
	return process->port;
}

int server_process_stop(struct server_process *process)
{
	if (!process)
		return 0;
	for (struct server_process **link = &running; *link; link = &(*link)->next)
		if (*link == process) {
			*link = process->next;
			break;
		}
	int status = 0, result = -1;
	kill(process->pid, SIGTERM);
	for (int waited_ms = 0;; waited_ms += 10) {
		pid_t done = waitpid(process->pid, &status, WNOHANG);
		if (done == process->pid) {
			result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		if (done < 0 && errno != EINTR)
			break;
		if (waited_ms >= 5000) {
			kill(process->pid, SIGKILL);
			waitpid(process->pid, NULL, 0);
			break;
		}
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	free(process);
	return result;
}
