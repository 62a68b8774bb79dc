/* text.h — checking and escaping text from outside (names, servers' messages) before stor prints
 * it on a terminal or in JSON. */
#ifndef STOR_TEXT_H
#define STOR_TEXT_H

#include <stddef.h>

/* -1 if text is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), else
 * the offset of the first byte that is not. */
long stor_utf8_problem(const char *text);
/* The host's one check of an object name or prefix, before any backend sees it: valid UTF-8, no
 * control character, no leading '/', no empty, "." or ".." segment (a final '/' of a prefix is
 * fine). Returns 0, or 1 with why ("has a '..' segment") filled; byte positions in why count
 * from shown_at, where key starts in what the user typed. */
int stor_key_problem(const char *key, size_t shown_at, char *why, size_t size);
/* text for a terminal: C0 and DEL as \xHH, C1 as \u0080..\u009F, bytes that are not UTF-8 as
 * \xHH; the rest as is. Cut to fit size. */
void stor_escape_text(const char *text, char *out, size_t size);
/* bytes for people: "512 B", "1.5 KiB", ... "2.0 TiB". */
void stor_human_bytes(double bytes, char *out, size_t size);
/* text as valid UTF-8 for JSON: what is not UTF-8 becomes U+FFFD. Cut to fit size. */
void stor_valid_utf8(const char *text, char *out, size_t size);

#endif
