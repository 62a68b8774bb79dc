/* attrs.h — what the local backend keeps beside an object's bytes: one extended attribute,
 * user.stor.object, holding JSON: the SHA-1 of the bytes as stored (believed only while the
 * file's size and modification time are still those recorded with it: a file changed by other
 * hands has no SHA-1 until it is stored again), the content type, the five HTTP headers and the
 * user metadata. */
#ifndef STOR_LOCAL_ATTRS_H
#define STOR_LOCAL_ATTRS_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/stat.h>

#include "stor/plugin.h"

#define LOCAL_ATTR_NAME "user.stor.object"
#define LOCAL_ATTR_MAX 4096 /* one file system block: what every file system with xattrs takes */
#define LOCAL_META_MAX 32

struct local_attrs {
    struct json_object *json; /* owns every string below */
    const char *sha1;         /* NULL unless it still describes the bytes */
    const char *content_type, *cache_control, *content_disposition, *content_encoding,
        *content_language, *expires;
    struct stor_option metadata[LOCAL_META_MAX];
    size_t metadata_count;
};

/* Whether options ask for anything kept in the attribute (metadata, not just the SHA-1). */
int local_attrs_wanted(const struct stor_put_options *options);

/* Writes the attribute of the file open on fd (st: that file now, after its mtime was set):
 * sha1 and what options keep (options may be NULL). 0, or -1 with why and errno (EINVAL for
 * text stor cannot keep or too much of it; ENOTSUP where the file system keeps no attributes). */
int local_attrs_write(int fd, const struct stor_put_options *options, const char *sha1,
                      const struct stat *st, char *why, size_t why_size);

/* Reads the attribute of the file open on fd, or of name in directory dir (fd < 0; a link is
 * not followed); st is that file as stat'd. Anything missing, malformed or stale is left out. */
void local_attrs_read(int fd, int dir, const char *name, const struct stat *st,
                      struct local_attrs *a);

/* Copies what a holds into o (whose strings then live as long as a). */
void local_attrs_fill(const struct local_attrs *a, struct stor_object *o);

void local_attrs_free(struct local_attrs *a);

#endif
