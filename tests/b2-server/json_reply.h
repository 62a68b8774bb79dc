/* json_reply.h — answers in B2's shape (JSON bodies, {"status","code","message"} errors) and
 * typed reads of request fields that answer 400 bad_request by themselves. */
#ifndef B2_JSON_REPLY_H
#define B2_JSON_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "server.h"

/* An error decided below the HTTP layer (store, auth), answered later by reply_b2_error(). */
struct b2_error {
	unsigned status;
	const char *code;
	char message[256];
};
void b2_error_set(struct b2_error *error, unsigned status, const char *code, const char *format, ...)
	__attribute__((format(printf, 4, 5)));

/* Each queues at most one reply per request; later calls are ignored. Takes ownership of body. */
void reply_json(struct request *req, unsigned status, json_object *body);
/* text as it is (no JSON, no Content-Type: application/json): a broken proxy's answer. */
void reply_raw(struct request *req, unsigned status, const char *text);
void reply_error(struct request *req, unsigned status, const char *code, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
void reply_b2_error(struct request *req, const struct b2_error *error);
/* Adds a header to the queued reply (no-op without one). */
void reply_add_header(struct request *req, const char *name, const char *value);
bool request_has_reply(const struct request *req);

/* Field readers: absent or JSON null gives the fallback and true; a wrong type answers 400
 * bad_request and gives false. The *_required variants also answer 400 when absent. */
bool body_string(struct request *req, json_object *body, const char *field, const char **out);
bool body_string_required(struct request *req, json_object *body, const char *field, const char **out);
bool body_integer(struct request *req, json_object *body, const char *field, int64_t fallback,
		  int64_t *out);

#endif
