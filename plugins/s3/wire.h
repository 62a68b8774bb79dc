/* plugins/s3/wire.h — S3's XML answers as C structs: the error document, ListObjectsV2,
 * ListObjectVersions, ListBuckets, multipart (initiate, ListMultipartUploads, ListParts,
 * complete), CopyObject, DeleteObjects; and
 * S3's dates. Strict: a missing or malformed field is a failure with why, never a guess. */
#ifndef S3_WIRE_H
#define S3_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define S3_WHY_MAX 200

struct s3_wire_error {
    char code[64], message[256], region[64], bucket[256], endpoint[256];
};
/* The <Error> document of a failed call; 0 if body is one, -1 if not (fields stay ""). */
int s3_wire_error(const char *body, size_t length, struct s3_wire_error *error);

struct s3_list_entry {
    char *key;      /* decoded (encoding-type=url) */
    int is_prefix;  /* a CommonPrefixes entry */
    int64_t size;   /* -1 for a prefix or a delete marker */
    int64_t modified_ms;
    char *etag;     /* without quotes */
    char *version_id;     /* ListObjectVersions: the version's id, else NULL */
    int is_delete_marker; /* ListObjectVersions: a DeleteMarker entry */
    size_t position;      /* its place in the answer (keeps a key's versions in order) */
};
struct s3_list_page {
    struct s3_list_entry *entries; /* Contents (Version, DeleteMarker), then CommonPrefixes */
    size_t count;
    int truncated;
    char *next_token;                         /* ListObjectsV2 */
    char *next_key_marker, *next_version_marker; /* ListObjectVersions */
};
/* ListObjectsV2's answer; url_encoded says the keys came with encoding-type=url. */
int s3_wire_list_page(const char *body, size_t length, int url_encoded, struct s3_list_page *page,
                      char why[S3_WHY_MAX]);
/* ListObjectVersions' answer: Version and DeleteMarker entries (each with its VersionId), in
 * the answer's order, then CommonPrefixes; NextKeyMarker / NextVersionIdMarker. */
int s3_wire_versions_page(const char *body, size_t length, int url_encoded,
                          struct s3_list_page *page, char why[S3_WHY_MAX]);
void s3_list_page_free(struct s3_list_page *page);

struct s3_bucket_entry {
    char *name;
    int64_t created_ms;
};
int s3_wire_buckets(const char *body, size_t length, struct s3_bucket_entry **buckets,
                    size_t *count, char why[S3_WHY_MAX]);
void s3_buckets_free(struct s3_bucket_entry *buckets, size_t count);

/* CreateMultipartUpload: the UploadId (malloc'd). */
int s3_wire_upload_id(const char *body, size_t length, char **upload_id, char why[S3_WHY_MAX]);

struct s3_upload_entry {
    char *key, *upload_id;
    int64_t initiated_ms;
};
struct s3_uploads_page {
    struct s3_upload_entry *entries;
    size_t count;
    int truncated;
    char *next_key_marker, *next_upload_id_marker;
};
int s3_wire_uploads(const char *body, size_t length, struct s3_uploads_page *page,
                    char why[S3_WHY_MAX]);
void s3_uploads_page_free(struct s3_uploads_page *page);

struct s3_part_entry {
    int number;
    int64_t size;
    char etag[80]; /* without quotes */
};
struct s3_parts_page {
    struct s3_part_entry *entries;
    size_t count;
    int truncated;
    int next_marker;
};
int s3_wire_parts(const char *body, size_t length, struct s3_parts_page *page,
                  char why[S3_WHY_MAX]);

/* CompleteMultipartUpload and CopyObject may answer 200 with an <Error> inside: -1 then, with
 * error filled; else 0 and etag (without quotes, may be "") copied. */
int s3_wire_result_etag(const char *body, size_t length, const char *root, char etag[80],
                        struct s3_wire_error *error, char why[S3_WHY_MAX]);

/* DeleteObjects' answer: the keys it could not delete, each with S3's code and message (a Quiet
 * request lists no Deleted ones); -1 with why when it is not a DeleteResult. */
struct s3_delete_error {
    char *key;
    char code[64], message[256];
};
int s3_wire_delete_errors(const char *body, size_t length, struct s3_delete_error **errors,
                          size_t *count, char why[S3_WHY_MAX]);
void s3_delete_errors_free(struct s3_delete_error *errors, size_t count);

/* "2026-12-06T23:16:00.000Z" (S3's XML dates) → ms since the epoch; -1 if malformed. */
int64_t s3_wire_iso8601_ms(const char *text);
/* "Sun, 06 Dec 2026 23:16:00 GMT" (Last-Modified) → ms; -1 if malformed. */
int64_t s3_wire_http_date_ms(const char *text);
/* Percent-decoding of encoding-type=url ('+' is a space); malloc'd, NULL if malformed. */
char *s3_wire_url_decode(const char *text);
/* An ETag without its quotes into out. */
void s3_wire_etag(const char *text, char out[80]);

#endif
