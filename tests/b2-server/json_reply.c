/* json_reply.c — B2-shaped replies and request field readers. A HEAD request gets headers only,
 * as on B2, so clients fall back to the HTTP status. */
#include "json_reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void b2_error_set(struct b2_error *error, unsigned status, const char *code, const char *format, ...)
{
	va_list args;
	error->status = status;
	error->code = code;
	va_start(args, format);
	vsnprintf(error->message, sizeof error->message, format, args);
	va_end(args);
}

bool request_has_reply(const struct request *req)
{
	return req->response != NULL;
}

void reply_json(struct request *req, unsigned status, json_object *body)
{
	if (req->response) {
		json_object_put(body);
		return;
	}
	size_t length = 0;
	const char *text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE,
							     &length);
	if (req->is_head) {
		req->response = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		char *copy = malloc(length + 1);
		if (copy)
			memcpy(copy, text, length + 1);
		req->response = copy ? MHD_create_response_from_buffer(length, copy, MHD_RESPMEM_MUST_FREE)
				     : NULL;
	}
	json_object_put(body);
	if (!req->response)
		return;
	req->status = status;
	if (!req->is_head)
		MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
}

void reply_raw(struct request *req, unsigned status, const char *text)
{
	if (req->response)
		return;
	size_t length = req->is_head ? 0 : strlen(text);
	char *copy = malloc(length + 1);
	if (!copy)
		return;
	memcpy(copy, text, length);
	copy[length] = '\0';
	req->response = MHD_create_response_from_buffer(length, copy, MHD_RESPMEM_MUST_FREE);
	if (!req->response) {
		free(copy);
		return;
	}
	req->status = status;
	if (!req->is_head)
		MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_TYPE,
					text[0] == '<' ? "text/html" : "application/json");
}

void reply_error(struct request *req, unsigned status, const char *code, const char *format, ...)
{
	char message[512];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof message, format, args);
	va_end(args);

	json_object *body = json_object_new_object();
	json_object_object_add(body, "status", json_object_new_int((int)status));
	json_object_object_add(body, "code", json_object_new_string(code));
	json_object_object_add(body, "message", json_object_new_string(message));
	reply_json(req, status, body);
}

void reply_b2_error(struct request *req, const struct b2_error *error)
{
	reply_error(req, error->status, error->code, "%s", error->message);
}

void reply_add_header(struct request *req, const char *name, const char *value)
{
	if (req->response)
		MHD_add_response_header(req->response, name, value);
}

static json_object *field(json_object *body, const char *name)
{
	json_object *value = NULL;
	if (!body || !json_object_object_get_ex(body, name, &value))
		return NULL;
	return value; /* NULL for JSON null as well */
}

bool body_string(struct request *req, json_object *body, const char *name, const char **out)
{
	json_object *value = field(body, name);
	*out = NULL;
	if (!value)
		return true;
	if (!json_object_is_type(value, json_type_string)) {
		reply_error(req, 400, "bad_request", "%s must be a string", name);
		return false;
	}
	*out = json_object_get_string(value);
	return true;
}

bool body_string_required(struct request *req, json_object *body, const char *name, const char **out)
{
	if (!body_string(req, body, name, out))
		return false;
	if (!*out || !**out) {
		reply_error(req, 400, "bad_request", "required field %s is missing", name);
		return false;
	}
	return true;
}

bool body_integer(struct request *req, json_object *body, const char *name, int64_t fallback,
		  int64_t *out)
{
	json_object *value = field(body, name);
	*out = fallback;
	if (!value)
		return true;
	if (json_object_is_type(value, json_type_int)) {
		*out = json_object_get_int64(value);
		return true;
	}
	if (json_object_is_type(value, json_type_string)) { /* GET query parameters arrive as text */
		const char *text = json_object_get_string(value);
		char *end;
		errno = 0;
		long long number = strtoll(text, &end, 10);
		if (*text && !*end && errno == 0) {
			*out = number;
			return true;
		}
	}
	reply_error(req, 400, "bad_request", "%s must be an integer", name);
	return false;
}
