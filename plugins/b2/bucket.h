/* plugins/b2/bucket.h — buckets by name (bucket.c): name -> id, learned and cached, and calls
 * scoped to a bucket by name. */
#ifndef B2_BUCKET_H
#define B2_BUCKET_H

#include "call.h"

/* Bucket name -> id: memory, disk cache, the key's allowed buckets, then b2_list_buckets.
 * refresh forgets what was known first (after bad_bucket_id). *id is malloc'd. */
enum stor_status b2_bucket_id(struct b2_plugin *plugin, const char *name, int refresh, char **id,
                              struct stor_error *err);
/* A bucket created (or listed): name -> id kept in memory and in the disk cache. */
void b2_bucket_learn(struct b2_plugin *plugin, const char *name, const char *id);
/* A bucket deleted: its id forgotten, in memory and in the disk cache. */
void b2_bucket_forget(struct b2_plugin *plugin, const char *name);

/* A bucket-scoped call: request gets the bucket's bucketId, and B2's bad_bucket_id resolves the
 * name once more (the bucket may have been made again) before it means "no bucket". */
enum stor_status b2_bucket_call(struct b2_plugin *plugin, const char *bucket, const char *call,
                                json_object *request, const char *capability,
                                json_object **response, struct b2_failure *failure,
                                struct stor_error *err);
enum stor_status b2_bucket_call_checked(struct b2_plugin *plugin, const char *bucket,
                                        const char *call, json_object *request,
                                        const char *capability, const struct b2_done_check *check,
                                        json_object **response, struct b2_failure *failure,
                                        struct stor_error *err);

#endif
