/* server.h — what the S3 test server's files share: the request being answered, the operations
 * it knows, the reply helpers (reply.c), the handlers (buckets.c, objects.c, multipart.c) and the
 * server's configuration. */
#ifndef S3_SERVER_H
#define S3_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sigv4.h"

/* Every S3 operation the server tells apart; counters and faults are kept per operation. */
#define S3_OPERATIONS(X) \
	X(ListBuckets) X(CreateBucket) X(DeleteBucket) X(HeadBucket) X(GetBucketLocation) \
	X(GetBucketVersioning) X(PutBucketVersioning) X(ListObjectVersions) X(ListObjects) X(ListObjectsV2) X(ListMultipartUploads) \
	X(DeleteObjects) X(PutObject) X(CopyObject) X(GetObject) X(HeadObject) X(DeleteObject) \
	X(CreateMultipartUpload) X(UploadPart) X(UploadPartCopy) X(CompleteMultipartUpload) \
	X(AbortMultipartUpload) X(ListParts) X(Control) X(Unknown)

enum s3_op {
#define S3_OP_ENUM(name) OP_##name,
	S3_OPERATIONS(S3_OP_ENUM)
#undef S3_OP_ENUM
	OP_COUNT
};

const char *op_name(enum s3_op op);
/* OP_COUNT when the name is none of them ("*" is handled by the caller). */
enum s3_op op_from_name(const char *name);

struct server_config {
	const char *access_key;
	const char *secret_key;
	const char *region;
	size_t min_part_size;  /* EntityTooSmall below it, but for the last part (S3: 5 MiB) */
	size_t max_body;       /* the largest request body taken (EntityTooLarge beyond) */
	long clock_offset;     /* seconds added to the server's clock (RequestTimeTooSkewed tests) */
};
extern struct server_config server_config;

/* FAULT_WRONG_RANGE, FAULT_SHORT_BODY and FAULT_OVERWRITE are lies of a GetObject answer:
 * another stretch than the range asked, one byte less than its Content-Range says, and the object
 * overwritten (other bytes, another ETag) right after this answer, as by a concurrent writer;
 * FAULT_DENY_KEYS a DeleteObjects answering AccessDenied for every other key (and keeping it). */
enum fault_kind { FAULT_NONE, FAULT_ERROR, FAULT_DROP, FAULT_WRONG_RANGE, FAULT_SHORT_BODY,
		  FAULT_OVERWRITE, FAULT_DENY_KEYS };

struct fault {
	enum fault_kind kind;
	int status;
	char code[48];
};

struct request {
	struct MHD_Connection *connection;
	const char *method;
	bool is_head;
	char *raw_path;    /* as sent, still percent-encoded */
	char *path;        /* decoded: what SigV4 signs */
	char *bucket;      /* decoded; NULL for "/" */
	char *key;         /* decoded; NULL for a bucket request */
	struct s3_sigv4_param *params; /* decoded query */
	size_t param_count;
	enum s3_op op;
	struct fault fault;
	char *body;
	size_t body_length, body_capacity;
	bool body_too_large;
	bool aws_chunked; /* the body was aws-chunked and is now decoded */
	char request_id[17];
	int status;
	struct MHD_Response *response;
};

/* ---- request helpers (http.c) ---- */
const char *request_header(struct request *req, const char *name);
/* A query parameter, decoded; "" for ?name without a value; NULL when absent. */
const char *request_param(struct request *req, const char *name);
bool request_has_param(struct request *req, const char *name);
/* %XX decoded copy (malloc'd); NULL on a bad escape or an embedded NUL. */
char *percent_decode(const char *text, size_t length);

/* ---- replies (reply.c) ---- */
/* S3's XML error document (no body for HEAD), with RequestId and Resource. */
void reply_error(struct request *req, int status, const char *code, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
/* An XML body (taken: freed by the reply). */
void reply_xml(struct request *req, int status, char *xml);
/* A body copied from data (HEAD: only its length is sent). */
void reply_bytes(struct request *req, int status, const void *data, size_t size);
void reply_empty(struct request *req, int status);
void reply_header(struct request *req, const char *name, const char *value);
bool request_has_reply(const struct request *req);

/* ---- XML (xml.c) ---- */
struct xml {
	char *data;
	size_t length, capacity;
	bool failed;
};
void xml_begin(struct xml *x, const char *root); /* declaration + <root xmlns=S3> */
void xml_open(struct xml *x, const char *tag);
void xml_close(struct xml *x, const char *tag);
void xml_element(struct xml *x, const char *tag, const char *text); /* escaped text */
void xml_elementf(struct xml *x, const char *tag, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
void xml_raw(struct xml *x, const char *text);
char *xml_finish(struct xml *x, const char *root); /* closes root; NULL on failure */

/* A parsed request body: each element, in document order of its end, with its path from the
 * root ("Delete/Object/Key") and its text. */
struct xml_node {
	char path[160];
	char *text;
};
struct xml_doc {
	struct xml_node *nodes;
	size_t count;
};
/* false (with a message) for what is not well-formed, too deep or too large. */
bool xml_parse(const char *body, size_t length, struct xml_doc *doc, char *message, size_t size);
void xml_doc_free(struct xml_doc *doc);

/* ---- dates ---- */
void format_iso8601(time_t when, char out[32]);
void format_http_date(time_t when, char out[40]);
time_t server_now(void);

/* ---- handlers ---- */
void handle_list_buckets(struct request *req);
void handle_create_bucket(struct request *req);
void handle_delete_bucket(struct request *req);
void handle_head_bucket(struct request *req);
void handle_get_bucket_location(struct request *req);
void handle_get_bucket_versioning(struct request *req);
void handle_put_bucket_versioning(struct request *req);
void handle_list_object_versions(struct request *req);
void handle_list_objects(struct request *req, bool v2);
void handle_put_object(struct request *req);
void handle_copy_object(struct request *req);
void handle_get_object(struct request *req);
void handle_delete_object(struct request *req);
void handle_delete_objects(struct request *req);
void handle_create_multipart_upload(struct request *req);
void handle_upload_part(struct request *req, bool copy);
void handle_complete_multipart_upload(struct request *req);
void handle_abort_multipart_upload(struct request *req);
void handle_list_multipart_uploads(struct request *req);
void handle_list_parts(struct request *req);
void handle_control(struct request *req);

/* ---- faults and counters (control.c) ---- */
void faults_plan(enum s3_op op, struct fault *fault);
void counters_count(enum s3_op op, int status, bool injected);

#endif
