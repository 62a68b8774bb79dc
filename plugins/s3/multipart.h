/* plugins/s3/multipart.h — multipart uploads: part sizing, CreateMultipartUpload, parts in
 * parallel (UploadPart with Content-MD5), CompleteMultipartUpload, resume of an unfinished upload
 * of the same file (ListMultipartUploads + ListParts: only the parts missing or different), abort;
 * the listing of unfinished uploads that cleanup reads. */
#ifndef S3_MULTIPART_H
#define S3_MULTIPART_H

#include "instance.h"
#include "sigv4.h"
#include "wire.h"

/* The part size for an object of size bytes (-1: a stream of unknown size): the configured one
 * (0: S3_DEFAULT_PART_SIZE, grown in MiB steps to stay within 10,000 parts). A configured size
 * that needs more than 10,000 parts is STOR_EINVAL naming the smallest that fits. */
enum stor_status s3_multipart_part_size(int64_t configured, int64_t size, int64_t *part_size,
                                        struct stor_error *err);

/* What goes up: length bytes of a regular file fd from offset, or (fd a pipe, size -1) first
 * (first_length bytes already read, owned by the caller) followed by the rest of fd. */
struct s3_upload_source {
    int fd;
    int64_t offset, size;
    const char *first;
    size_t first_length;
};

/* What went up, for the put's report: the whole object's SHA-1 and MD5 (hex, "" if unknown). */
struct s3_upload_result {
    int64_t size;
    char sha1[41], md5[33];
};

enum stor_status s3_multipart_put(struct s3_plugin *plugin, const char *bucket, const char *key,
                                  const struct stor_put_options *options, int64_t mtime_ms,
                                  const struct s3_upload_source *source,
                                  struct s3_upload_result *result, struct stor_error *err);

/* A copy inside S3 of an object too large for one CopyObject: CreateMultipartUpload of bucket/key
 * with headers (the source's metadata), UploadPartCopy of its ranges `transfers` at a time, each
 * pinned to the source's ETag (x-amz-copy-source-if-match: an overwritten source is
 * STOR_ESTALE), CompleteMultipartUpload; aborted on any failure. */
enum stor_status s3_multipart_copy(struct s3_plugin *plugin, const char *source_bucket,
                                   const char *source_key, const char *source_etag, int64_t size,
                                   const char *bucket, const char *key,
                                   const struct s3_sigv4_header *headers, size_t header_count,
                                   struct stor_error *err);

/* One page of unfinished uploads below prefix from the markers (NULL: the start). */
enum stor_status s3_multipart_list(struct s3_plugin *plugin, const char *bucket, const char *prefix,
                                   const char *key_marker, const char *upload_id_marker,
                                   struct s3_uploads_page *page, struct stor_error *err);
enum stor_status s3_multipart_abort(struct s3_plugin *plugin, const char *bucket, const char *key,
                                    const char *upload_id, struct stor_error *err);

#endif
