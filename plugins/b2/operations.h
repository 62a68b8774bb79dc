/* plugins/b2/operations.h — the operations the vtable points at and no other room calls, by room:
 * upload.c, download.c, list.c, copy.c, bucket_admin.c, object_lock.c, share.c. */
#ifndef B2_OPERATIONS_H
#define B2_OPERATIONS_H

#include <stor/plugin.h>

/* ---- upload.c ---- */
enum stor_status b2_put(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err);
/* put with put_ex's options (NULL: the defaults, which is what put is). */
enum stor_status b2_put_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_put_options *options, int fd,
                           stor_object_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_get_upload_target(void *instance, const char *bucket,
                                      stor_upload_target_fn on_target, void *context,
                                      struct stor_error *err);

/* ---- download.c ---- */
enum stor_status b2_get(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_get_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_get_options *options, int fd,
                           stor_object_fn on_result, void *context, struct stor_error *err);

/* ---- list.c ---- */
enum stor_status b2_list(void *instance, const char *bucket, const char *prefix, unsigned flags,
                         stor_object_fn on_object, void *context, struct stor_error *err);

/* ---- copy.c ---- */
enum stor_status b2_copy(void *instance, const char *source_bucket, const char *source_key,
                         const char *bucket, const char *key, stor_object_fn on_result,
                         void *context, struct stor_error *err);

/* ---- bucket_admin.c ---- */
enum stor_status b2_list_buckets(void *instance, stor_bucket_fn on_bucket, void *context,
                                 struct stor_error *err);
enum stor_status b2_create_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err);
enum stor_status b2_delete_bucket(void *instance, const char *bucket, struct stor_error *err);
enum stor_status b2_update_bucket(void *instance, const char *bucket,
                                  const struct stor_bucket_options *options,
                                  stor_bucket_fn on_result, void *context, struct stor_error *err);

/* ---- object_lock.c: protect (b2_update_file_retention, b2_update_file_legal_hold) ---- */
enum stor_status b2_protect(void *instance, const char *bucket, const char *key,
                            const char *version_id, const struct stor_protection *protection,
                            unsigned flags, stor_object_fn on_result, void *context,
                            struct stor_error *err);

/* ---- share.c ---- */
#define B2_SHARE_SECONDS_MAX 604800 /* b2_get_download_authorization: 1 s to one week */
enum stor_status b2_share(void *instance, const char *bucket, const char *key_or_prefix,
                          int64_t expires_ms, stor_url_fn on_url, void *context,
                          struct stor_error *err);

#endif
