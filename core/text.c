/* text.c — what stor prints of names and of other programs' words: UTF-8 checked, control
 * bytes (C0, DEL, C1) and broken sequences escaped, so one error stays one line on a terminal. */
#include "text.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), its code point in *code; 0 if not valid
 * (stray continuation, overlong form, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_sequence(const unsigned char *s, unsigned long *code)
{
    if (s[0] < 0x80) {
        *code = s[0];
        return 1;
    }
    size_t length = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (length == 0 || s[0] > 0xF4)
        return 0;
    unsigned long c = s[0] & (0x7F >> length);
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    static const unsigned long smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < smallest[length] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *code = c;
    return length;
}

long stor_utf8_problem(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; s[i];) {
        unsigned long code;
        size_t n = utf8_sequence(s + i, &code);
        if (n == 0)
            return (long)i;
        i += n;
    }
    return -1;
}

int stor_key_problem(const char *key, size_t shown_at, char *why, size_t size)
{
    long bad = stor_utf8_problem(key);
    if (bad >= 0) {
        snprintf(why, size, "is not valid UTF-8 (byte %zu): object names are UTF-8",
                 shown_at + (size_t)bad + 1);
        return 1;
    }
    if (key[0] == '/') {
        snprintf(why, size, "starts with '/'");
        return 1;
    }
    for (size_t i = 0; key[i]; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, size, "holds a control character (byte %zu)", shown_at + i + 1);
            return 1;
        }
    }
    for (const char *segment = key; *segment;) {
        size_t n = strcspn(segment, "/");
        int last = segment[n] == '\0';
        if (n == 0) {
            snprintf(why, size, "has an empty segment ('//')");
            return 1;
        }
        if ((n == 1 && segment[0] == '.') || (n == 2 && segment[0] == '.' && segment[1] == '.')) {
            snprintf(why, size, "has a '%.*s' segment", (int)n, segment);
            return 1;
        }
        segment += n + !last; /* a final '/' (a prefix) leaves an empty rest: done */
    }
    return 0;
}

void stor_escape_text(const char *text, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 1 < size;) {
        unsigned long code;
        size_t n = utf8_sequence(s + i, &code);
        char escape[16] = "";
        if (n == 0)
            snprintf(escape, sizeof escape, "\\x%02X", s[i]); /* not UTF-8: the byte itself */
        else if (code < 0x20 || code == 0x7F)
            snprintf(escape, sizeof escape, "\\x%02lX", code);
        else if (code >= 0x80 && code <= 0x9F)
            snprintf(escape, sizeof escape, "\\u%04lX", code); /* C1: a terminal obeys them */
        size_t length = escape[0] ? strlen(escape) : n;
        if (o + length >= size)
            break;
        memcpy(out + o, escape[0] ? escape : (const char *)s + i, length);
        o += length;
        i += n ? n : 1;
    }
    if (size)
        out[o] = '\0';
}

void stor_valid_utf8(const char *text, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; s[i];) {
        unsigned long code;
        size_t n = utf8_sequence(s + i, &code);
        const char *piece = n ? (const char *)s + i : "\xEF\xBF\xBD"; /* U+FFFD */
        size_t length = n ? n : 3;
        if (o + length >= size)
            break;
        memcpy(out + o, piece, length);
        o += length;
        i += n ? n : 1;
    }
    if (size)
        out[o] = '\0';
}

void stor_human_bytes(double bytes, char *out, size_t size)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4)
        bytes /= 1024, u++;
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}
