/* plugins/s3/operations.h — the slots of the vtable, by room: put.c, get.c, list.c, remove.c,
 * copy.c, stat.c, buckets.c, share.c, cleanup.c. Only plugin.c (and the tests) call them. */
#ifndef S3_OPERATIONS_H
#define S3_OPERATIONS_H

#include <stor/plugin.h>

/* put.c */
enum stor_status s3_put_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_put_options *options, int fd, stor_object_fn on_result,
                           void *context, struct stor_error *err);
enum stor_status s3_put(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err);
/* get.c */
enum stor_status s3_get_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_get_options *options, int fd, stor_object_fn on_result,
                           void *context, struct stor_error *err);
enum stor_status s3_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err);
/* list.c */
enum stor_status s3_list(void *instance, const char *bucket, const char *prefix, unsigned flags,
                         stor_object_fn on_object, void *context, struct stor_error *err);
/* remove.c */
enum stor_status s3_remove(void *instance, const char *bucket, const char *key,
                           struct stor_error *err);
enum stor_status s3_remove_ex(void *instance, const char *bucket, const char *key,
                              const struct stor_remove_options *options, struct stor_error *err);
enum stor_status s3_remove_many(void *instance, const char *bucket, const char *const *keys,
                                size_t count, stor_removed_fn on_removed, void *context,
                                struct stor_error *err);
/* copy.c */
enum stor_status s3_copy(void *instance, const char *source_bucket, const char *source_key,
                         const char *bucket, const char *key, stor_object_fn on_result,
                         void *context, struct stor_error *err);
/* stat.c */
enum stor_status s3_stat(void *instance, const char *bucket, const char *key,
                         const char *version_id, stor_object_fn on_result, void *context,
                         struct stor_error *err);
/* buckets.c */
enum stor_status s3_list_buckets(void *instance, stor_bucket_fn on_bucket, void *context,
                                 struct stor_error *err);
enum stor_status s3_create_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err);
enum stor_status s3_delete_bucket(void *instance, const char *bucket, struct stor_error *err);
/* share.c */
enum stor_status s3_share(void *instance, const char *bucket, const char *key_or_prefix,
                          int64_t expires_ms, stor_url_fn on_url, void *context,
                          struct stor_error *err);
/* cleanup.c */
enum stor_status s3_cleanup(void *instance, const char *bucket, const char *prefix,
                            int64_t older_than_ms, int dry_run, stor_object_fn on_object,
                            void *context, struct stor_error *err);

#endif
