/* plugins/s3/pages.h — a listing page by page: ListObjectsV2 from continuation tokens, or
 * ListObjectVersions from key and version-id markers, with the guards against a lying server;
 * each accepted entry, in byte order of key, to a callback. For list and remove_ex. */
#ifndef S3_PAGES_H
#define S3_PAGES_H

#include "instance.h"
#include "wire.h"

/* Receives one entry (valid during the call); anything but STOR_OK stops the listing. */
typedef enum stor_status (*s3_entry_fn)(void *context, const struct s3_list_entry *entry,
                                        struct stor_error *err);

/* Every entry under prefix: flags STOR_LIST_RECURSIVE (else one level, prefixes as entries) and
 * STOR_LIST_VERSIONS (every version and delete marker, newest first within a key). */
enum stor_status s3_pages_list(struct s3_plugin *plugin, const char *bucket, const char *prefix,
                               unsigned flags, s3_entry_fn on_entry, void *context,
                               struct stor_error *err);

#endif
