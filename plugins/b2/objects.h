/* plugins/b2/objects.h — stored files as the operations share them (objects.c): B2's file object
 * as a stor_object, its SHA-1, a name's current version, checks that a listing is believable. */
#ifndef B2_OBJECTS_H
#define B2_OBJECTS_H

#include <json-c/json.h>
#include <stor/plugin.h>

#include "instance.h"

/* The current (newest, not hidden) version of exactly key: b2_list_file_names from key, one
 * entry. *answer holds the listing (put it), *entry the file in it; STOR_ENOTFOUND if none. */
enum stor_status b2_current_version(struct b2_plugin *plugin, const char *bucket, const char *key,
                                    json_object **answer, json_object **entry,
                                    struct stor_error *err);
/* A listing that cannot be believed: a name outside the prefix asked for, or a cursor that does
 * not advance (which would loop for good). Both STOR_EINTERNAL, with a message naming the call. */
enum stor_status b2_listed_outside(struct stor_error *err, const char *call, const char *name,
                                   const char *prefix);
enum stor_status b2_cursor_stuck(struct stor_error *err, const char *call, const char *field);
/* The SHA-1 to report for a listed file (contentSha1, else large_file_sha1), or NULL. */
const char *b2_file_sha1(const struct b2_file *file);
/* A stored file as the host sees it, every field the file object carries: name, size, mtime
 * (src_last_modified_millis, else the upload time), upload time, id, type, MD5, the b2-* headers,
 * user metadata, protection; folders and hide markers as such; sha1 as given. Points into file. */
struct stor_object b2_file_object(const struct b2_file *file, const char *sha1);

#endif
