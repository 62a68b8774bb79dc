/* lies.c — a lying server's answers: generated as they are sent, paced when trickling. */
#include "lies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_PIECE = 64 << 10 };
static const uint64_t max_length = 1ULL << 32; /* 4 GiB: plenty to explode a client's memory */

static bool read_piece(json_object *spec, const char *name, char **out, char *error,
		       size_t error_size)
{
	json_object *value;
	*out = NULL;
	if (!json_object_object_get_ex(spec, name, &value) || !value)
		return true;
	if (!json_object_is_type(value, json_type_string) ||
	    strlen(json_object_get_string(value)) > MAX_PIECE) {
		snprintf(error, error_size, "%s must be a string of up to %d bytes", name, MAX_PIECE);
		return false;
	}
	*out = strdup(json_object_get_string(value));
	return *out != NULL;
}

static bool read_number(json_object *spec, const char *name, int64_t fallback, int64_t high,
			int64_t *out, char *error, size_t error_size)
{
	json_object *value;
	*out = fallback;
	if (!json_object_object_get_ex(spec, name, &value) || !value)
		return true;
	if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0 ||
	    json_object_get_int64(value) > high) {
		snprintf(error, error_size, "%s must be an integer from 0 to %lld", name, (long long)high);
		return false;
	}
	*out = json_object_get_int64(value);
	return true;
}

static uint64_t lie_length(const struct lie *lie)
{
	return strlen(lie->head) + strlen(lie->repeat) * lie->times + strlen(lie->tail);
}

bool lie_parse(json_object *spec, struct lie *lie, char *error, size_t error_size)
{
	memset(lie, 0, sizeof *lie);
	int64_t status, times, rate;
	bool ok = read_piece(spec, "body", &lie->head, error, error_size) &&
		  read_piece(spec, "repeat", &lie->repeat, error, error_size) &&
		  read_piece(spec, "tail", &lie->tail, error, error_size) &&
		  read_number(spec, "status", 200, 599, &status, error, error_size) &&
		  read_number(spec, "times", 0, 1LL << 32, &times, error, error_size) &&
		  read_number(spec, "bytes_per_second", 0, 1000000, &rate, error, error_size);
	if (ok && !lie->head) {
		snprintf(error, error_size, "body is required");
		ok = false;
	}
	if (ok && ((!lie->repeat && !(lie->repeat = strdup(""))) || (!lie->tail && !(lie->tail = strdup(""))))) {
		snprintf(error, error_size, "out of memory");
		ok = false;
	}
	if (ok && status < 100) {
		snprintf(error, error_size, "status must be an HTTP status");
		ok = false;
	}
	lie->status = (unsigned)status;
	lie->times = (uint64_t)times;
	lie->bytes_per_second = (unsigned)rate;
	if (ok && lie_length(lie) > max_length) {
		snprintf(error, error_size, "the body would be over %llu bytes", (unsigned long long)max_length);
		ok = false;
	}
	if (!ok)
		lie_clear(lie);
	return ok;
}

void lie_clear(struct lie *lie)
{
	free(lie->head);
	free(lie->repeat);
	free(lie->tail);
	memset(lie, 0, sizeof *lie);
}

void lie_free(struct lie *lie)
{
	if (lie)
		lie_clear(lie);
	free(lie);
}

struct lie *lie_copy(const struct lie *lie)
{
	struct lie *copy = calloc(1, sizeof *copy);
	if (!copy)
		return NULL;
	*copy = *lie;
	copy->head = strdup(lie->head);
	copy->repeat = strdup(lie->repeat);
	copy->tail = strdup(lie->tail);
	if (!copy->head || !copy->repeat || !copy->tail) {
		lie_free(copy);
		return NULL;
	}
	return copy;
}

/* Bytes from position of head + repeat × times + tail, without building it. */
static ssize_t tell(void *context, uint64_t position, char *buffer, size_t size)
{
	const struct lie *lie = context;
	if (lie->bytes_per_second) { /* a tenth of a second's worth, then a pause */
		size_t slice = lie->bytes_per_second / 10 ? lie->bytes_per_second / 10 : 1;
		size = size < slice ? size : slice;
		struct timespec pause = {0, (long)(1000000000.0 * (double)size / lie->bytes_per_second)};
		while (pause.tv_nsec >= 1000000000L) {
			pause.tv_sec++;
			pause.tv_nsec -= 1000000000L;
		}
		nanosleep(&pause, NULL);
	}
	uint64_t head = strlen(lie->head), repeat = strlen(lie->repeat);
	uint64_t middle = repeat * lie->times, tail = strlen(lie->tail);
	size_t done = 0;
	while (done < size && position < head + middle + tail) {
		const char *from;
		uint64_t left;
		if (position < head) {
			from = lie->head + position;
			left = head - position;
		} else if (position < head + middle) {
			uint64_t at = (position - head) % repeat;
			from = lie->repeat + at;
			left = repeat - at;
		} else {
			from = lie->tail + (position - head - middle);
			left = head + middle + tail - position;
		}
		size_t n = left < size - done ? (size_t)left : size - done;
		memcpy(buffer + done, from, n);
		done += n;
		position += n;
	}
	return done ? (ssize_t)done : MHD_CONTENT_READER_END_OF_STREAM;
}

static void forget(void *context)
{
	lie_free(context);
}

struct MHD_Response *lie_response(struct lie *lie)
{
	struct MHD_Response *response = MHD_create_response_from_callback(
		lie_length(lie), 64 << 10, tell, lie, forget);
	if (!response) {
		lie_free(lie);
		return NULL;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
				lie->head[0] == '<' ? "text/html" : "application/json");
	return response;
}
