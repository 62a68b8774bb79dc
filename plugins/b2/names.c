/* plugins/b2/names.c — percent-encoding and validation of B2 file names (reference §7).
 * One table of literal bytes, so encoder and tests agree with Backblaze's String Encoding page. */
#include "names.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int stays_literal(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("._-/~!$'()*;=:@", c) != NULL;
}

char *b2_percent_encode(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t length = strlen(text);
    char *encoded = malloc(length * 3 + 1), *out = encoded;
    if (!encoded)
        return NULL;
    for (const unsigned char *in = (const unsigned char *)text; *in; in++) {
        if (stays_literal(*in)) {
            *out++ = (char)*in;
        } else {
            *out++ = '%';
            *out++ = hex[*in >> 4];
            *out++ = hex[*in & 15];
        }
    }
    *out = '\0';
    return encoded;
}

/* A segment that is exactly "." or ".." would be removed by URL normalisation (libcurl, proxies,
 * CDNs): B2 names keep them literally, so in a URL path their dots go out as %2E. */
char *b2_url_path_encode(const char *name)
{
    char *encoded = b2_percent_encode(name);
    if (!encoded)
        return NULL;
    char *out = malloc(strlen(encoded) * 3 + 1), *o = out;
    if (!out) {
        free(encoded);
        return NULL;
    }
    for (const char *segment = encoded;;) {
        size_t length = strcspn(segment, "/");
        if ((length == 1 || length == 2) && strspn(segment, ".") == length) {
            for (size_t i = 0; i < length; i++, o += 3)
                memcpy(o, "%2E", 3);
        } else {
            memcpy(o, segment, length);
            o += length;
        }
        if (!segment[length])
            break;
        *o++ = '/';
        segment += length + 1;
    }
    *o = '\0';
    free(encoded);
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *b2_percent_decode(const char *text)
{
    char *decoded = malloc(strlen(text) + 1), *out = decoded;
    if (!decoded)
        return NULL;
    for (const char *in = text; *in; in++) {
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in == '%') {
            int high = hex_value(in[1]), low = high < 0 ? -1 : hex_value(in[2]);
            if (low < 0 || (high == 0 && low == 0)) {
                free(decoded);
                return NULL;
            }
            *out++ = (char)(high << 4 | low);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return decoded;
}

const char *b2_file_name_problem(const char *name)
{
    size_t length = strlen(name);
    if (length == 0)
        return "a B2 file name cannot be empty";
    if (length > 1024)
        return "a B2 file name is at most 1024 bytes";
    if (name[0] == '/' || name[length - 1] == '/')
        return "a B2 file name cannot start or end with '/'";
    if (strstr(name, "//"))
        return "a B2 file name cannot contain '//'";
    size_t segment = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (*c < 32 || *c == 127)
            return "a B2 file name cannot contain control characters";
        segment = *c == '/' ? 0 : segment + 1;
        if (segment > 250)
            return "each '/'-separated part of a B2 file name is at most 250 bytes";
    }
    return NULL;
}

void b2_printable_name(const char *name, char *out, size_t size)
{
    size_t length = strlen(name), o = 0;
    size_t keep = size > 8 ? size - 8 : 0; /* room for "..." and the NUL */
    for (size_t i = 0; i < length && o < keep; i++) {
        unsigned char c = (unsigned char)name[i];
        out[o++] = c < 32 || c == 127 ? '?' : (char)c;
    }
    if (o < length && size >= 4) {
        while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
            o--; /* do not cut a UTF-8 sequence in half */
        if (o > 0 && (unsigned char)out[o - 1] >= 0xC0)
            o--;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    if (size)
        out[o < size ? o : size - 1] = '\0';
}

int b2_info_name_valid(const char *name)
{
    static const char *const reserved[] = {"b2-content-disposition", "b2-content-language",
                                           "b2-expires", "b2-cache-control", "b2-content-encoding"};
    size_t length = strlen(name);
    if (length == 0 || length > 50)
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("-_.~!#$%^&*'+`|", *c)))
            return 0;
    if (strncasecmp(name, "b2-", 3) != 0)
        return 1;
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return 1;
    return 0;
}
