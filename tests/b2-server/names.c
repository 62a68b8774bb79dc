/* names.c — B2's percent coding (String Encoding page: '+' decodes to a space) and the file
 * name rules of the Files page. */
#include "names.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

char *percent_decode(const char *text, bool plus_is_space)
{
	size_t length = strlen(text);
	char *out = malloc(length + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (*p == '%') {
			int high = hex_value(p[1]), low = high < 0 ? -1 : hex_value(p[2]);
			if (low < 0 || (high == 0 && low == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(high * 16 + low);
			p += 2;
		} else if (*p == '+' && plus_is_space) {
			*o++ = ' ';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static bool stays_literal(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("._-/~!$'()*;=:@", c));
}

char *percent_encode(const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(text) * 3 + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (stays_literal(*p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Length of the UTF-8 sequence starting at p, 0 when it is not well formed. */
static size_t utf8_sequence_length(const unsigned char *p)
{
	size_t length;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
		length = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		length = 3;
	else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
		length = 4;
	else
		return 0;
	for (size_t i = 1; i < length; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return length;
}

const char *file_name_problem(const char *name)
{
	size_t length = strlen(name), segment = 0;
	if (length == 0)
		return "File names must not be empty";
	if (length > 1024)
		return "File names must be at most 1024 bytes";
	if (name[0] == '/' || name[length - 1] == '/')
		return "File names must not start or end with '/'";
	if (strstr(name, "//"))
		return "File names must not contain '//'";
	for (const unsigned char *p = (const unsigned char *)name; *p;) {
		if (*p < 32 || *p == 127)
			return "File names must not contain control characters";
		size_t step = utf8_sequence_length(p);
		if (step == 0)
			return "File names must be valid UTF-8";
		segment = *p == '/' ? 0 : segment + step;
		if (segment > 250)
			return "File name segments must be at most 250 bytes";
		p += step;
	}
	return NULL;
}

const char *auto_content_type(const char *file_name)
{
	static const struct { const char *extension, *type; } known[] = {
		{"txt", "text/plain"}, {"html", "text/html"}, {"htm", "text/html"}, {"css", "text/css"},
		{"csv", "text/csv"}, {"js", "application/javascript"}, {"json", "application/json"},
		{"xml", "application/xml"}, {"pdf", "application/pdf"}, {"zip", "application/zip"},
		{"gz", "application/gzip"}, {"tar", "application/x-tar"}, {"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"}, {"png", "image/png"}, {"gif", "image/gif"}, {"svg", "image/svg+xml"},
		{"mp4", "video/mp4"}, {"mp3", "audio/mpeg"},
	};
	const char *dot = strrchr(file_name, '.'), *slash = strrchr(file_name, '/');
	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof known / sizeof *known; i++)
			if (strcasecmp(dot + 1, known[i].extension) == 0)
				return known[i].type;
	return "application/octet-stream";
}
