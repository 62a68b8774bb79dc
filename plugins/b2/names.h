/* plugins/b2/names.h — B2's percent-encoding of file names and file-info values (reference §7).
 * Used for X-Bz-File-Name, X-Bz-Info-* values and download URLs; JSON bodies carry raw UTF-8. */
#ifndef B2_NAMES_H
#define B2_NAMES_H

#include <stddef.h>

/* Encode every byte outside B2's literal set (A-Z a-z 0-9 . _ - / ~ ! $ ' ( ) * ; = : @) as %XX;
 * so '+' -> %2B, ' ' -> %20, and '/' stays. Returns a malloc'd string, NULL if out of memory. */
char *b2_percent_encode(const char *text);
/* b2_percent_encode for a URL path (download by name): besides, a "." or ".." segment goes out
 * as %2E / %2E%2E, so nothing on the way can normalise it into another name. */
char *b2_url_path_encode(const char *name);
/* Decode %XX and '+' (B2 reads '+' as a space). Returns malloc'd text, NULL if out of memory or
 * malformed (a '%' without two hex digits, or an encoded NUL). */
char *b2_percent_decode(const char *text);
/* name as it may appear in a one-line message: control bytes as '?', and cut with "..." to fit
 * size, so that a long name never pushes the reason out of a 512-byte error. */
void b2_printable_name(const char *name, char *out, size_t size);
/* A file-info key B2 accepts: 1 to 50 bytes of letters, digits and -_.~!#$%^&*'+`| ; a "b2-" key
 * only when it is one of the five B2 knows (b2-cache-control, ...). 1 if valid. */
int b2_info_name_valid(const char *name);
/* NULL if name is a valid B2 file name, else why not (a constant string). */
const char *b2_file_name_problem(const char *name);

#endif
