/* plugins/b2/cleanup.h — unfinished large files (cleanup.c): listed, cancelled, known finished
 * after a lost answer; and the cleanup slot. */
#ifndef B2_CLEANUP_H
#define B2_CLEANUP_H

#include <json-c/json.h>

#include "instance.h"

/* ---- large files: large_file.c (sizes, parts, resume), cleanup.c (unfinished files) ---- */
/* Each unfinished large file under prefix in bucket_id, oldest first (paged); on_file returns
 * non-zero to stop (the listing then returns STOR_ECANCELLED). */
typedef int (*b2_unfinished_fn)(void *context, json_object *file);
enum stor_status b2_list_unfinished(struct b2_plugin *plugin, const char *bucket_id,
                                    const char *prefix, b2_unfinished_fn on_file, void *context,
                                    struct stor_error *err);
enum stor_status b2_cancel_large_file(struct b2_plugin *plugin, const char *file_id,
                                      struct stor_error *err);
/* b2_get_file_info on a large file whose finish failed: whether it is finished all the same with
 * length bytes (the answer to a finish whose reply was lost, reference §8.4). If so, *response
 * holds the file, shaped as b2_finish_large_file's answer. */
int b2_large_file_finished(struct b2_plugin *plugin, const char *file_id, int64_t length,
                           json_object **response);
enum stor_status b2_cleanup(void *instance, const char *bucket, const char *prefix,
                            int64_t older_than_ms, int dry_run, stor_object_fn on_object,
                            void *context, struct stor_error *err);

#endif
