/* mime.h — content types from file name extensions (the system's /etc/mime.types). */
#ifndef STOR_MIME_H
#define STOR_MIME_H

/* The type for name's extension ("a/b.JPG" → "image/jpeg"), or NULL when none is known. The
 * string lives as long as the process. Thread-safe. */
const char *stor_mime_type(const char *name);

#endif
