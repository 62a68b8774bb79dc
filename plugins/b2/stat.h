/* plugins/b2/stat.h — stat (stat.c): a version by id, or a name's current version; protect
 * (object_lock.c) reports through it. */
#ifndef B2_STAT_H
#define B2_STAT_H

#include <stor/plugin.h>

enum stor_status b2_stat(void *instance, const char *bucket, const char *key,
                         const char *version_id, stor_object_fn on_result, void *context,
                         struct stor_error *err);

#endif
