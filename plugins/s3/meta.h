/* plugins/s3/meta.h — what a put keeps and what a HEAD/GET tells back: Content-Type and the other
 * headers, x-amz-meta-* user metadata, the source's mtime as rclone keeps it (X-Amz-Meta-Mtime,
 * seconds with a fraction), the whole object's SHA-1 (X-Amz-Meta-Sha1) and MD5 (the ETag of a
 * single PUT, else rclone's X-Amz-Meta-Md5chksum). Checked before any request. */
#ifndef S3_META_H
#define S3_META_H

#include "instance.h"
#include "sigv4.h"
#include "sp_http.h"

#define S3_META_HEADERS_MAX (S3_MAX_METADATA + 12)
#define S3_USER_METADATA_MAX 2048 /* AWS: user metadata of at most 2 KB */

struct s3_put_meta {
    struct s3_sigv4_header headers[S3_META_HEADERS_MAX];
    size_t count;
    char *owned[S3_META_HEADERS_MAX * 2];
    size_t owned_count;
};

/* The headers of a PutObject / CreateMultipartUpload. sha1 (40 hex) and md5_base64 may be NULL
 * (unknown: a stream); mtime_ms -1 for none. Fields S3 cannot keep here (protection) are
 * STOR_EUNSUPPORTED naming the field; bad names or values STOR_EINVAL. */
enum stor_status s3_meta_build(const struct s3_plugin *plugin, const struct stor_put_options *options,
                               const char *sha1, const char *md5_base64, int64_t mtime_ms,
                               struct s3_put_meta *meta, struct stor_error *err);
void s3_meta_free(struct s3_put_meta *meta);

/* An object as HEAD or GET described it; pointers into response, which must outlive it. */
struct s3_object_view {
    struct stor_object object;
    char sha1[41], md5[33];
    struct stor_option metadata[S3_MAX_METADATA];
};
void s3_meta_read(const struct sp_http_response *response, const char *key,
                  struct s3_object_view *view);
/* Whether the ETag of this answer (a PUT, a part, a GET or HEAD) can be the MD5 of the bytes:
 * not when S3 says they are encrypted with KMS or a customer's key (its ETags are opaque). */
int s3_meta_etag_is_md5(const struct sp_http_response *response);

/* rclone's mtime text ("1700000000.123456789") → ms, -1 if malformed; and back (out[32]). */
int64_t s3_meta_parse_mtime(const char *text);
void s3_meta_format_mtime(int64_t mtime_ms, char out[32]);

#endif
