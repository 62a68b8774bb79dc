/* lies.h — the answers of a lying server (POST /_test/lie): a body the call never produced,
 * built as head + repeat × times + tail so that it can be huge without being held, and sent at
 * once or trickled a few bytes per second. */
#ifndef B2_LIES_H
#define B2_LIES_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <microhttpd.h>

struct lie {
	unsigned status;
	char *head, *repeat, *tail;
	uint64_t times;
	unsigned bytes_per_second; /* 0: as fast as the connection takes it */
};

/* Reads a lie from the control API's JSON; false with a message when it is wrong. */
bool lie_parse(json_object *spec, struct lie *lie, char *error, size_t error_size);
/* A copy owning its strings (NULL when out of memory); lie_free releases either. */
struct lie *lie_copy(const struct lie *lie);
void lie_clear(struct lie *lie);
void lie_free(struct lie *lie);
/* The response telling it; it takes the lie (freed with the response). NULL when out of memory. */
struct MHD_Response *lie_response(struct lie *lie);

#endif
