/* faults.h — fault injection and per-call counters of the B2 test server: the rules the control
 * API installs, the X-Bz-Test-Mode header, and the decision taken for each request. */
#ifndef B2_FAULTS_H
#define B2_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lies.h"

enum b2_api {
	API_UNKNOWN,
	API_AUTHORIZE_ACCOUNT,
	API_LIST_BUCKETS,
	API_CREATE_BUCKET,
	API_DELETE_BUCKET,
	API_GET_UPLOAD_URL,
	API_UPLOAD_FILE,
	API_START_LARGE_FILE,
	API_GET_UPLOAD_PART_URL,
	API_UPLOAD_PART,
	API_FINISH_LARGE_FILE,
	API_CANCEL_LARGE_FILE,
	API_LIST_UNFINISHED_LARGE_FILES,
	API_LIST_PARTS,
	API_LIST_FILE_NAMES,
	API_LIST_FILE_VERSIONS,
	API_GET_FILE_INFO,
	API_DOWNLOAD_FILE_BY_NAME,
	API_DOWNLOAD_FILE_BY_ID,
	API_DELETE_FILE_VERSION,
	API_HIDE_FILE,
	API_COPY_FILE,
	API_COPY_PART,
	API_GET_DOWNLOAD_AUTHORIZATION,
	API_UPDATE_BUCKET,
	API_UPDATE_FILE_RETENTION,
	API_UPDATE_FILE_LEGAL_HOLD,
	API_CONTROL,                 /* /_test/: never counted, never failed */
	API_COUNT
};

/* "b2_upload_file", ...; "unknown" for API_UNKNOWN. */
const char *api_name(enum b2_api api);
/* API_UNKNOWN when the name is not a B2 call this server knows. */
enum b2_api api_from_name(const char *name);

/* FAULT_DELAY only names a rule: a plan carries delays in delay_ms. FAULT_CORRUPT rules are not
 * part of plans: downloads ask faults_take_corrupt. FAULT_LIE answers what the rule says instead
 * of running the call (lies.h). */
enum fault_kind { FAULT_NONE, FAULT_ERROR, FAULT_DROP, FAULT_DELAY, FAULT_CORRUPT, FAULT_LIE };

/* What to do to one request, decided when its headers arrive. */
struct fault_plan {
	enum fault_kind kind;
	unsigned status;             /* FAULT_ERROR */
	char code[48];
	char message[160];
	int retry_after;             /* seconds; < 0: no Retry-After header */
	char body[512];              /* FAULT_ERROR: raw text instead of the JSON error ("" = JSON) */
	uint64_t drop_after_bytes;   /* FAULT_DROP: close the connection after this many body bytes */
	bool drop_after_call;        /* FAULT_DROP: do the call, then close instead of answering */
	bool drop_with_reset;        /* FAULT_DROP: close with a TCP reset (RST), not an orderly FIN */
	unsigned delay_ms;           /* sleep before answering (any kind) */
	struct lie *lie;             /* FAULT_LIE: the answer, owned by the plan */
};

/* Installs a rule from the control API's JSON; false with a message when the JSON is wrong. */
bool faults_add_rule(enum fault_kind kind, json_object *spec, char *error, size_t error_size);
void faults_clear_rules(void);

/* Counts the call and decides its fault. test_mode is the X-Bz-Test-Mode header or NULL. */
void faults_plan(enum b2_api api, const char *test_mode, struct fault_plan *plan);
/* Whether this download's body gets one byte flipped (a /_test/corrupt rule; consumes a count). */
bool faults_take_corrupt(enum b2_api api);
/* Counts the answer: a failure is any status >= 400 (injected or genuine). */
void faults_count_reply(enum b2_api api, unsigned status, bool injected);

/* {"b2_upload_file": {"calls": n, "failures": n, "injected": n}, ...} for every call seen. */
json_object *faults_counters_json(void);
void faults_reset_counters(void);

#endif
