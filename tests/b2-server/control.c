/* control.c — the test control API under /_test/ on the server's own port: fault injection,
 * token expiry, counters. It is not part of B2; clients under test never see it.
 *
 * Every endpoint answers JSON; errors use B2's {"status","code","message"} shape (400 bad_request).
 *
 *   POST /_test/fail     {"api": "b2_upload_file" | "*", "status": 503, "code": "service_unavailable",
 *                         "message": "...", "count": 1, "every": 1, "retry_after": 5}
 *        The next `count` matching calls (-1: every one until reset) answer this error instead
 *        of running. With "every": k only every k-th matching call fails ("every": 3 = a third).
 *        "code" defaults from the status (400 bad_request, 401 expired_auth_token, 403
 *        storage_cap_exceeded, 408 request_timeout, 429 too_many_requests, 500 internal_error,
 *        503 service_unavailable); "retry_after" adds a Retry-After header (seconds).
 *        "body": "TEXT" answers TEXT as it is instead of the JSON error (truncated JSON, an HTML
 *        page from a proxy; Content-Type text/html when it starts with '<'); with a body the status
 *        may be 200-399 (a broken success answer: the call does not run, it counts as a failure).
 *        An upload that fails this way has its body read first, then the error is answered.
 *   POST /_test/drop     {"api": "b2_upload_file", "count": 1, "every": 1, "after_bytes": 1}
 *        Closes the connection without an answer once `after_bytes` bytes of the request body
 *        arrived (at the end of the body if it is shorter): a connection broken mid-upload.
 *        "after_call": true instead runs the call, then closes without answering: the answer
 *        is lost although the call was done. "reset": true closes with a TCP reset (RST).
 *   POST /_test/delay    {"api": "*", "ms": 200, "count": 1, "every": 1}
 *        Delays the answer of the matching calls.
 *   POST /_test/corrupt  {"api": "b2_download_file_by_name" | "b2_download_file_by_id" | "*", "count": 1}
 *        Flip one byte (the middle one) of the next count download bodies; headers unchanged.
 *   POST /_test/expire   {"tokens": "account" | "upload" | "all"}
 *        Every token of that kind issued so far expires now (401 expired_auth_token on use).
 *   GET  /_test/counters
 *        {"b2_upload_file": {"calls": 12, "failures": 4, "injected": 3}, ...}: calls received,
 *        answers >= 400 or dropped (injected or genuine), and the injected ones among them;
 *        only calls seen since the last reset are listed.
 *   POST /_test/reset    {"counters": true, "faults": true}   (body optional: both by default)
 *        Zeroes the counters and/or removes every fault rule.
 *
 * Rules are checked in the order they were added; at most one error or drop applies to a call
 * (delays add up). X-Bz-Test-Mode (B2's own header) works on every call without any setup:
 * fail_some_uploads (every 3rd upload: 503), expire_some_account_authorization_tokens (every 3rd
 * call with an account token: 401 expired_auth_token), force_cap_exceeded (upload-related calls:
 * 403 storage_cap_exceeded). */
#include <string.h>

#include "auth.h"
#include "json_reply.h"
#include "server.h"

static bool is_post(struct request *req)
{
	if (strcmp(req->method, MHD_HTTP_METHOD_POST) == 0)
		return true;
	reply_error(req, 405, "method_not_allowed", "Use POST for /_test/%s", req->path_rest);
	return false;
}

static json_object *ok_body(void)
{
	json_object *body = json_object_new_object();
	json_object_object_add(body, "ok", json_object_new_boolean(1));
	return body;
}

static void add_rule(struct request *req, enum fault_kind kind, json_object *body)
{
	char error[160];
	if (!is_post(req))
		return;
	if (!body) {
		reply_error(req, 400, "bad_request", "a JSON object body is required");
		return;
	}
	if (faults_add_rule(kind, body, error, sizeof error))
		reply_json(req, 200, ok_body());
	else
		reply_error(req, 400, "bad_request", "%s", error);
}

static bool flag(json_object *body, const char *name)
{
	json_object *value;
	return !body || !json_object_object_get_ex(body, name, &value) || json_object_get_boolean(value);
}

void handle_control(struct request *req, json_object *body)
{
	const char *what = req->path_rest;
	if (strcmp(what, "fail") == 0) {
		add_rule(req, FAULT_ERROR, body);
	} else if (strcmp(what, "drop") == 0) {
		add_rule(req, FAULT_DROP, body);
	} else if (strcmp(what, "delay") == 0) {
		add_rule(req, FAULT_DELAY, body);
	} else if (strcmp(what, "lie") == 0) {
		add_rule(req, FAULT_LIE, body);
	} else if (strcmp(what, "corrupt") == 0) {
		add_rule(req, FAULT_CORRUPT, body);
	} else if (strcmp(what, "expire") == 0) {
		json_object *tokens = NULL;
		const char *kind = body && json_object_object_get_ex(body, "tokens", &tokens)
					   ? json_object_get_string(tokens)
					   : "all";
		if (!is_post(req))
			return;
		if (!kind || (strcmp(kind, "account") && strcmp(kind, "upload") && strcmp(kind, "all"))) {
			reply_error(req, 400, "bad_request", "tokens must be account, upload or all");
			return;
		}
		if (strcmp(kind, "upload") != 0)
			auth_expire_account_tokens();
		if (strcmp(kind, "account") != 0)
			auth_expire_upload_tokens();
		reply_json(req, 200, ok_body());
	} else if (strcmp(what, "counters") == 0) {
		reply_json(req, 200, faults_counters_json());
	} else if (strcmp(what, "reset") == 0) {
		if (!is_post(req))
			return;
		if (flag(body, "counters"))
			faults_reset_counters();
		if (flag(body, "faults"))
			faults_clear_rules();
		reply_json(req, 200, ok_body());
	} else {
		reply_error(req, 404, "not_found", "Unknown control endpoint /_test/%s", what);
	}
}
