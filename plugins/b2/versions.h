/* plugins/b2/versions.h — versions (versions.c): listings with every version, remove (a hide
 * marker) and remove_ex (versions deleted for good). */
#ifndef B2_VERSIONS_H
#define B2_VERSIONS_H

#include "instance.h"

/* b2_list_file_versions (STOR_LIST_VERSIONS listings). exact_name: only that name. */
enum stor_status b2_list_versions(struct b2_plugin *plugin, const char *bucket, const char *prefix,
                                  const char *exact_name, unsigned flags, stor_object_fn on_object,
                                  void *context, struct stor_error *err);
enum stor_status b2_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err);
/* One version by id, every version of the name, or (neither) remove. */
enum stor_status b2_remove_ex(void *instance, const char *bucket, const char *key,
                              const struct stor_remove_options *options, struct stor_error *err);

#endif
