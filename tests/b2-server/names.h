/* names.h — B2's percent coding of file names and info values, and the file name rules
 * (1..1024 UTF-8 bytes, no control characters, no leading/trailing or double slash). */
#ifndef B2_NAMES_H
#define B2_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes %XX escapes (and '+' as a space when plus_is_space, as B2 does for X-Bz-File-Name).
 * Returns a malloc'd string, or NULL on a malformed escape or an embedded NUL. */
char *percent_decode(const char *text, bool plus_is_space);
/* Encodes every byte outside B2's "may stay literal" set; '/' stays literal. malloc'd. */
char *percent_encode(const char *text);
/* The Content-Type B2 picks for "b2/x-auto": by the name's extension, else
 * application/octet-stream. */
const char *auto_content_type(const char *file_name);
/* NULL when the name is acceptable, else the reason. */
const char *file_name_problem(const char *name);

#endif
