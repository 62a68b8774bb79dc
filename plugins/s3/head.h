/* plugins/s3/head.h — HeadObject: one object's headers, for stat, remove (S3 deletes a missing
 * key without a word) and copy. */
#ifndef S3_HEAD_H
#define S3_HEAD_H

#include "instance.h"
#include "sp_http.h"

/* STOR_OK with response holding HeadObject's answer (free it), STOR_ENOTFOUND when missing. */
enum stor_status s3_head_object(struct s3_plugin *plugin, const char *bucket, const char *key,
                                struct sp_http_response *response, struct stor_error *err);
/* The same of one version (version_id NULL: the current one). A delete marker is
 * STOR_ENOTFOUND too, with *delete_marker set (delete_marker may be NULL). */
enum stor_status s3_head_version(struct s3_plugin *plugin, const char *bucket, const char *key,
                                 const char *version_id, struct sp_http_response *response,
                                 int *delete_marker, struct stor_error *err);

#endif
