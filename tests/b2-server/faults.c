/* faults.c — the fault rules installed through /_test/ (errors, dropped connections, delays;
 * the next N calls, optionally every k-th), the X-Bz-Test-Mode header, and per-call counters. */
#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const api_names[API_COUNT] = {
	[API_UNKNOWN] = "unknown",
	[API_AUTHORIZE_ACCOUNT] = "b2_authorize_account",
	[API_LIST_BUCKETS] = "b2_list_buckets",
	[API_CREATE_BUCKET] = "b2_create_bucket",
	[API_DELETE_BUCKET] = "b2_delete_bucket",
	[API_GET_DOWNLOAD_AUTHORIZATION] = "b2_get_download_authorization",
	[API_GET_UPLOAD_URL] = "b2_get_upload_url",
	[API_UPLOAD_FILE] = "b2_upload_file",
	[API_START_LARGE_FILE] = "b2_start_large_file",
	[API_GET_UPLOAD_PART_URL] = "b2_get_upload_part_url",
	[API_UPLOAD_PART] = "b2_upload_part",
	[API_FINISH_LARGE_FILE] = "b2_finish_large_file",
	[API_CANCEL_LARGE_FILE] = "b2_cancel_large_file",
	[API_LIST_UNFINISHED_LARGE_FILES] = "b2_list_unfinished_large_files",
	[API_LIST_PARTS] = "b2_list_parts",
	[API_LIST_FILE_NAMES] = "b2_list_file_names",
	[API_LIST_FILE_VERSIONS] = "b2_list_file_versions",
	[API_GET_FILE_INFO] = "b2_get_file_info",
	[API_DOWNLOAD_FILE_BY_NAME] = "b2_download_file_by_name",
	[API_DOWNLOAD_FILE_BY_ID] = "b2_download_file_by_id",
	[API_DELETE_FILE_VERSION] = "b2_delete_file_version",
	[API_HIDE_FILE] = "b2_hide_file",
	[API_COPY_FILE] = "b2_copy_file",
	[API_COPY_PART] = "b2_copy_part",
	[API_UPDATE_BUCKET] = "b2_update_bucket",
	[API_UPDATE_FILE_RETENTION] = "b2_update_file_retention",
	[API_UPDATE_FILE_LEGAL_HOLD] = "b2_update_file_legal_hold",
	[API_CONTROL] = "_test",
};

const char *api_name(enum b2_api api)
{
	return api < API_COUNT ? api_names[api] : "unknown";
}

enum b2_api api_from_name(const char *name)
{
	for (int i = API_UNKNOWN + 1; i < API_CONTROL; i++)
		if (strcmp(api_names[i], name) == 0)
			return (enum b2_api)i;
	return API_UNKNOWN;
}

struct rule {
	enum fault_kind kind;
	bool any_api;
	enum b2_api api;
	long remaining;              /* < 0: until reset */
	unsigned long every, seen;
	unsigned status;
	char code[48], message[160];
	int retry_after;
	char body[512];              /* raw error body instead of the JSON one; "" = JSON */
	uint64_t after_bytes;
	bool after_call;
	bool reset;
	unsigned delay_ms;
	struct lie lie;              /* FAULT_LIE */
};

#define MAX_RULES 64
static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[MAX_RULES];
static size_t rule_count;

struct counter {
	unsigned long calls, failures, injected;
};
static struct counter counters[API_COUNT];
static unsigned long test_mode_serial[3];

static const char *default_code(unsigned status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "expired_auth_token";
	case 403: return "storage_cap_exceeded";
	case 404: return "not_found";
	case 408: return "request_timeout";
	case 429: return "too_many_requests";
	case 500: return "internal_error";
	default: return "service_unavailable";
	}
}

static bool read_int(json_object *spec, const char *name, long fallback, long low, long high,
		     long *out, char *error, size_t error_size)
{
	json_object *value;
	*out = fallback;
	if (!json_object_object_get_ex(spec, name, &value) || !value)
		return true;
	if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < low ||
	    json_object_get_int64(value) > high) {
		snprintf(error, error_size, "%s must be an integer from %ld to %ld", name, low, high);
		return false;
	}
	*out = (long)json_object_get_int64(value);
	return true;
}

static const char *read_string(json_object *spec, const char *name)
{
	json_object *value;
	if (!json_object_object_get_ex(spec, name, &value) || !json_object_is_type(value, json_type_string))
		return NULL;
	return json_object_get_string(value);
}

static bool read_bool(json_object *spec, const char *name, bool *value, char *error,
		      size_t error_size)
{
	json_object *member;
	if (!json_object_object_get_ex(spec, name, &member))
		return true;
	if (!json_object_is_type(member, json_type_boolean)) {
		snprintf(error, error_size, "%s must be true or false", name);
		return false;
	}
	*value = json_object_get_boolean(member);
	return true;
}

/* Takes the rule (and its lie's strings, freed if it does not fit). */
static bool add(struct rule *rule, char *error, size_t error_size)
{
	pthread_mutex_lock(&rules_lock);
	bool added = rule_count < MAX_RULES;
	if (added)
		rules[rule_count++] = *rule;
	pthread_mutex_unlock(&rules_lock);
	if (!added) {
		lie_clear(&rule->lie);
		snprintf(error, error_size, "too many rules (%d): reset first", MAX_RULES);
	}
	return added;
}

bool faults_add_rule(enum fault_kind kind, json_object *spec, char *error, size_t error_size)
{
	struct rule rule = {.kind = kind, .any_api = true, .retry_after = -1};
	long count, every, status, retry_after, after_bytes, delay_ms;
	if (!json_object_is_type(spec, json_type_object)) {
		snprintf(error, error_size, "the body must be a JSON object");
		return false;
	}
	const char *api = read_string(spec, "api");
	if (api && strcmp(api, "*") != 0 && strcmp(api, "any") != 0) {
		rule.any_api = false;
		rule.api = api_from_name(api);
		if (rule.api == API_UNKNOWN) {
			snprintf(error, error_size, "unknown api '%s'", api);
			return false;
		}
	}
	if (kind == FAULT_LIE) {
		if (!read_int(spec, "count", 1, -1, 1000000000L, &count, error, error_size) ||
		    !read_int(spec, "every", 1, 1, 1000000, &every, error, error_size) ||
		    !lie_parse(spec, &rule.lie, error, error_size))
			return false;
		rule.remaining = count;
		rule.every = (unsigned long)every;
		return add(&rule, error, error_size);
	}
	if (!read_int(spec, "count", 1, -1, 1000000000L, &count, error, error_size) ||
	    !read_int(spec, "every", 1, 1, 1000000, &every, error, error_size) ||
	    !read_int(spec, "status", 503, 200, 599, &status, error, error_size) ||
	    !read_int(spec, "retry_after", -1, -1, 86400, &retry_after, error, error_size) ||
	    !read_int(spec, "after_bytes", 1, 0, 1L << 40, &after_bytes, error, error_size) ||
	    !read_int(spec, "ms", kind == FAULT_DELAY ? -1 : 0, 0, 600000, &delay_ms, error, error_size))
		return false;
	if (kind == FAULT_DELAY && delay_ms < 0) {
		snprintf(error, error_size, "ms is required");
		return false;
	}
	if (!read_bool(spec, "after_call", &rule.after_call, error, error_size) ||
	    !read_bool(spec, "reset", &rule.reset, error, error_size))
		return false;
	const char *code = read_string(spec, "code"), *message = read_string(spec, "message");
	const char *body = read_string(spec, "body");
	if (body && strlen(body) >= sizeof rule.body) {
		snprintf(error, error_size, "body is longer than %zu bytes", sizeof rule.body - 1);
		return false;
	}
	snprintf(rule.body, sizeof rule.body, "%s", body ? body : "");
	if (status < 400 && !body) {
		snprintf(error, error_size, "status below 400 needs a body (a broken success answer)");
		return false;
	}
	rule.remaining = count;
	rule.every = (unsigned long)every;
	rule.status = (unsigned)status;
	rule.retry_after = (int)retry_after;
	rule.after_bytes = (uint64_t)after_bytes;
	rule.delay_ms = (unsigned)(delay_ms > 0 ? delay_ms : 0);
	snprintf(rule.code, sizeof rule.code, "%s", code ? code : default_code(rule.status));
	snprintf(rule.message, sizeof rule.message, "%s", message ? message : "injected by the B2 test server");
	return add(&rule, error, error_size);
}

void faults_clear_rules(void)
{
	pthread_mutex_lock(&rules_lock);
	for (size_t i = 0; i < rule_count; i++)
		lie_clear(&rules[i].lie);
	rule_count = 0;
	pthread_mutex_unlock(&rules_lock);
}

static void plan_error(struct fault_plan *plan, unsigned status, const char *code,
		       const char *message, int retry_after)
{
	plan->kind = FAULT_ERROR;
	plan->status = status;
	plan->retry_after = retry_after;
	snprintf(plan->code, sizeof plan->code, "%s", code);
	snprintf(plan->message, sizeof plan->message, "%s", message);
}

/* Every third matching call: deterministic, so tests know what to expect. */
static bool every_third(int mode)
{
	return __atomic_add_fetch(&test_mode_serial[mode], 1, __ATOMIC_RELAXED) % 3 == 0;
}

static void plan_test_mode(enum b2_api api, const char *mode, struct fault_plan *plan)
{
	bool upload = api == API_UPLOAD_FILE || api == API_UPLOAD_PART;
	bool upload_related = upload || api == API_GET_UPLOAD_URL || api == API_START_LARGE_FILE ||
			      api == API_GET_UPLOAD_PART_URL || api == API_COPY_FILE || api == API_COPY_PART;
	if (strcmp(mode, "fail_some_uploads") == 0 && upload && every_third(0))
		plan_error(plan, 503, "service_unavailable", "fail_some_uploads: try another upload URL", -1);
	else if (strcmp(mode, "expire_some_account_authorization_tokens") == 0 && !upload &&
		 api != API_AUTHORIZE_ACCOUNT && every_third(1))
		plan_error(plan, 401, "expired_auth_token", "Authorization token has expired", -1);
	else if (strcmp(mode, "force_cap_exceeded") == 0 && upload_related)
		plan_error(plan, 403, "storage_cap_exceeded", "Cannot upload files, storage cap exceeded.", -1);
}

void faults_plan(enum b2_api api, const char *test_mode, struct fault_plan *plan)
{
	memset(plan, 0, sizeof *plan);
	plan->retry_after = -1;
	if (api == API_CONTROL)
		return;
	__atomic_add_fetch(&counters[api].calls, 1, __ATOMIC_RELAXED);

	pthread_mutex_lock(&rules_lock);
	for (size_t i = 0; i < rule_count; i++) {
		struct rule *rule = &rules[i];
		if (rule->remaining == 0 || (!rule->any_api && rule->api != api) ||
		    rule->kind == FAULT_CORRUPT)
			continue;
		if (rule->kind != FAULT_DELAY && plan->kind != FAULT_NONE)
			continue; /* one error or drop per call; later rules wait for later calls */
		if (++rule->seen % rule->every != 0)
			continue;
		if (rule->remaining > 0)
			rule->remaining--;
		if (rule->kind == FAULT_DELAY) {
			plan->delay_ms += rule->delay_ms;
		} else if (rule->kind == FAULT_LIE) {
			plan->kind = FAULT_LIE;
			plan->status = rule->lie.status;
			plan->lie = lie_copy(&rule->lie);
		} else if (rule->kind == FAULT_DROP) {
			plan->kind = FAULT_DROP;
			plan->drop_after_bytes = rule->after_bytes;
			plan->drop_after_call = rule->after_call;
			plan->drop_with_reset = rule->reset;
		} else {
			plan_error(plan, rule->status, rule->code, rule->message, rule->retry_after);
			snprintf(plan->body, sizeof plan->body, "%s", rule->body);
		}
	}
	pthread_mutex_unlock(&rules_lock);
	if (plan->kind == FAULT_NONE && test_mode)
		plan_test_mode(api, test_mode, plan);
}

bool faults_take_corrupt(enum b2_api api)
{
	bool corrupt = false;
	pthread_mutex_lock(&rules_lock);
	for (size_t i = 0; i < rule_count && !corrupt; i++) {
		struct rule *rule = &rules[i];
		if (rule->kind != FAULT_CORRUPT || rule->remaining == 0 ||
		    (!rule->any_api && rule->api != api) || ++rule->seen % rule->every != 0)
			continue;
		if (rule->remaining > 0)
			rule->remaining--;
		corrupt = true;
	}
	pthread_mutex_unlock(&rules_lock);
	if (corrupt)
		__atomic_add_fetch(&counters[api].injected, 1, __ATOMIC_RELAXED);
	return corrupt;
}

void faults_count_reply(enum b2_api api, unsigned status, bool injected)
{
	if (api == API_CONTROL || api >= API_COUNT)
		return;
	if (status >= 400 || status == 0 || injected) /* an injected 200 (a raw body): the call never ran */
		__atomic_add_fetch(&counters[api].failures, 1, __ATOMIC_RELAXED);
	if (injected)
		__atomic_add_fetch(&counters[api].injected, 1, __ATOMIC_RELAXED);
}

json_object *faults_counters_json(void)
{
	json_object *all = json_object_new_object();
	for (int i = 0; i < API_CONTROL; i++) {
		unsigned long calls = __atomic_load_n(&counters[i].calls, __ATOMIC_RELAXED);
		if (!calls)
			continue;
		json_object *one = json_object_new_object();
		json_object_object_add(one, "calls", json_object_new_int64((int64_t)calls));
		json_object_object_add(one, "failures", json_object_new_int64((int64_t)__atomic_load_n(
								  &counters[i].failures, __ATOMIC_RELAXED)));
		json_object_object_add(one, "injected", json_object_new_int64((int64_t)__atomic_load_n(
								  &counters[i].injected, __ATOMIC_RELAXED)));
		json_object_object_add(all, api_names[i], one);
	}
	return all;
}

void faults_reset_counters(void)
{
	for (int i = 0; i < API_COUNT; i++) {
		__atomic_store_n(&counters[i].calls, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&counters[i].failures, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&counters[i].injected, 0, __ATOMIC_RELAXED);
	}
}
