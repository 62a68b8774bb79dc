/* plugins/common/sp_http.c — transport-independent helpers of the HTTP seam: response headers,
 * cleanup. Shared by the libcurl transport and the scripted fakes of the unit tests. */
#include "sp_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *sp_http_header(const struct sp_http_response *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++)
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    return NULL;
}

int sp_http_response_add_header(struct sp_http_response *response, const char *name,
                                size_t name_length, const char *value, size_t value_length)
{
    struct sp_http_header *grown =
        realloc(response->headers, (response->header_count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    response->headers = grown;
    struct sp_http_header *header = &grown[response->header_count];
    header->name = strndup(name, name_length);
    header->value = strndup(value, value_length);
    if (!header->name || !header->value) {
        free(header->name);
        free(header->value);
        return -1;
    }
    response->header_count++;
    return 0;
}

void sp_http_response_clear_headers(struct sp_http_response *response)
{
    for (size_t i = 0; i < response->header_count; i++) {
        free(response->headers[i].name);
        free(response->headers[i].value);
    }
    free(response->headers);
    response->headers = NULL;
    response->header_count = 0;
}

void sp_http_response_free(struct sp_http_response *response)
{
    sp_http_response_clear_headers(response);
    free(response->body);
    memset(response, 0, sizeof *response);
}

int sp_http_add_header_line(char **lines, size_t *count, size_t max_lines, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ok = *count < max_lines && vasprintf(&lines[*count], fmt, ap) >= 0;
    va_end(ap);
    if (ok)
        (*count)++;
    return ok ? 0 : -1;
}

void sp_http_free_header_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
}
