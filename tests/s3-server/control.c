/* control.c — the test server's control path /__control/ (unsigned, loopback only): fault
 * injection per operation (an error answered instead, or the connection dropped) and request
 * counters per operation. Query parameters, so a shell test needs nothing but curl. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

enum { MAX_RULES = 64 };

struct rule {
	enum s3_op op; /* OP_COUNT: every operation */
	enum fault_kind kind;
	int status;
	char code[48];
	long remaining; /* -1: until reset */
	long skip;      /* matching requests let through before the rule applies */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[MAX_RULES];
static size_t rule_count;
static struct {
	unsigned long calls, failures, injected;
} counters[OP_COUNT];

void faults_plan(enum s3_op op, struct fault *fault)
{
	memset(fault, 0, sizeof *fault);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < rule_count; i++) {
		struct rule *rule = &rules[i];
		if ((rule->op != op && rule->op != OP_COUNT) || rule->remaining == 0)
			continue;
		if (rule->skip > 0) {
			rule->skip--;
			continue;
		}
		if (rule->remaining > 0)
			rule->remaining--;
		fault->kind = rule->kind;
		fault->status = rule->status;
		snprintf(fault->code, sizeof fault->code, "%s", rule->code);
		break;
	}
	pthread_mutex_unlock(&lock);
}

void counters_count(enum s3_op op, int status, bool injected)
{
	if (op >= OP_COUNT)
		return;
	pthread_mutex_lock(&lock);
	counters[op].calls++;
	if (status >= 400 || status == 0)
		counters[op].failures++;
	if (injected)
		counters[op].injected++;
	pthread_mutex_unlock(&lock);
}

static const char *default_code(int status)
{
	switch (status) {
	case 500: return "InternalError";
	case 503: return "SlowDown";
	case 400: return "BadRequest";
	case 403: return "AccessDenied";
	case 404: return "NoSuchKey";
	default: return "InternalError";
	}
}

static bool from_loopback(struct request *req)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!info || !info->client_addr || info->client_addr->sa_family != AF_INET)
		return false;
	const struct sockaddr_in *address = (const struct sockaddr_in *)info->client_addr;
	return (ntohl(address->sin_addr.s_addr) >> 24) == 127;
}

static void add_rule(struct request *req, enum fault_kind kind)
{
	const char *op_text = request_param(req, "op"), *status_text = request_param(req, "status");
	const char *count_text = request_param(req, "count"), *code = request_param(req, "code");
	const char *skip_text = request_param(req, "skip"), *what = request_param(req, "what");
	enum s3_op op = OP_COUNT;
	if (!op_text || (strcmp(op_text, "*") != 0 && (op = op_from_name(op_text)) == OP_COUNT)) {
		reply_error(req, 400, "InvalidArgument", "op must be an S3 operation name or *");
		return;
	}
	long status = status_text ? strtol(status_text, NULL, 10) : 503;
	long count = count_text ? strtol(count_text, NULL, 10) : 1;
	long skip = skip_text ? strtol(skip_text, NULL, 10) : 0;
	if (kind == FAULT_WRONG_RANGE) { /* "lie": what names the lie */
		kind = !what ? FAULT_NONE : strcmp(what, "range") == 0 ? FAULT_WRONG_RANGE
			: strcmp(what, "short") == 0 ? FAULT_SHORT_BODY
			: strcmp(what, "overwrite") == 0 ? FAULT_OVERWRITE
			: strcmp(what, "deny") == 0 ? FAULT_DENY_KEYS : FAULT_NONE;
		if (kind == FAULT_NONE || (op != OP_GetObject && kind != FAULT_DENY_KEYS) ||
		    (op != OP_DeleteObjects && kind == FAULT_DENY_KEYS)) {
			reply_error(req, 400, "InvalidArgument", "lie needs op=GetObject and what=range, "
				    "short or overwrite, or op=DeleteObjects and what=deny");
			return;
		}
	}
	if (skip < 0 || skip > 1000000) {
		reply_error(req, 400, "InvalidArgument", "skip must be 0 or more");
		return;
	}
	if (kind == FAULT_ERROR && (status < 400 || status > 599)) {
		reply_error(req, 400, "InvalidArgument", "status must be 400..599");
		return;
	}
	if (count == 0 || count < -1) {
		reply_error(req, 400, "InvalidArgument", "count must be positive or -1");
		return;
	}
	if (code && (!*code || strlen(code) >= sizeof rules[0].code || strpbrk(code, "<>&"))) {
		reply_error(req, 400, "InvalidArgument", "code must be a short name");
		return;
	}
	pthread_mutex_lock(&lock);
	bool full = rule_count >= MAX_RULES;
	if (!full) {
		struct rule *rule = &rules[rule_count++];
		rule->op = op;
		rule->kind = kind;
		rule->status = (int)status;
		rule->remaining = count;
		rule->skip = skip;
		snprintf(rule->code, sizeof rule->code, "%s", code ? code : default_code((int)status));
	}
	pthread_mutex_unlock(&lock);
	if (full)
		reply_error(req, 400, "InvalidArgument", "too many fault rules (%d)", MAX_RULES);
	else
		reply_bytes(req, 200, "ok\n", 3);
}

void handle_control(struct request *req)
{
	if (!from_loopback(req)) {
		reply_error(req, 403, "AccessDenied", "The control path answers loopback only");
		return;
	}
	const char *command = req->raw_path + strlen("/__control/");
	if (strcmp(command, "fail") == 0) {
		add_rule(req, FAULT_ERROR);
	} else if (strcmp(command, "drop") == 0) {
		add_rule(req, FAULT_DROP);
	} else if (strcmp(command, "lie") == 0) {
		add_rule(req, FAULT_WRONG_RANGE);
	} else if (strcmp(command, "reset") == 0) {
		pthread_mutex_lock(&lock);
		rule_count = 0;
		memset(counters, 0, sizeof counters);
		pthread_mutex_unlock(&lock);
		reply_bytes(req, 200, "ok\n", 3);
	} else if (strcmp(command, "counters") == 0) {
		/* one line per operation seen: NAME CALLS FAILURES INJECTED */
		char text[64 * OP_COUNT];
		size_t length = 0;
		pthread_mutex_lock(&lock);
		for (int op = 0; op < OP_COUNT; op++)
			if (counters[op].calls)
				length += (size_t)snprintf(text + length, sizeof text - length, "%s %lu %lu %lu\n",
							   op_name((enum s3_op)op), counters[op].calls,
							   counters[op].failures, counters[op].injected);
		pthread_mutex_unlock(&lock);
		reply_bytes(req, 200, text, length);
		reply_header(req, "Content-Type", "text/plain");
	} else {
		reply_error(req, 404, "NoSuchControl", "Unknown control command (fail, drop, lie, counters, reset)");
	}
}
