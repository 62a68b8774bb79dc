/* plugins/s3/request.h — the signed call: one S3 request built (path style or virtual-hosted),
 * signed with SigV4, performed through the HTTP seam, S3's XML error classified and mapped to
 * the status enum, retried with backoff and jitter where S3 asks for it. */
#ifndef S3_REQUEST_H
#define S3_REQUEST_H

#include "instance.h"
#include "sigv4.h"
#include "sp_http.h"
#include "wire.h"

struct s3_call {
    const char *operation; /* S3's name, for messages: "PutObject" */
    const char *method;
    const char *bucket;    /* NULL: the service (ListBuckets) */
    const char *key;       /* NULL: the bucket itself */
    const struct s3_sigv4_param *params;
    size_t param_count;
    const struct s3_sigv4_header *headers; /* besides host and the signer's own; all signed */
    size_t header_count;
    /* The body: in memory, or length bytes of fd from offset (read again on every attempt). */
    const char *body;
    size_t body_length;
    int body_fd;            /* -1 unless streamed from a file */
    int64_t body_offset, body_size;
    int sign_body;          /* hash an in-memory body into the signature (else UNSIGNED-PAYLOAD) */
    /* A 2xx body goes here (GetObject); restart is called before each further attempt and
     * returns -1 when the sink cannot start over (a pipe already written to): no retry then. */
    sp_http_write_fn write_body;
    void *write_context;
    int (*restart)(void *context);
    long receive_buffer;      /* bytes handed to write_body at once (0: the transport's own) */
    const char *progress_key; /* progress of this one transfer to the host, or NULL */
    int64_t progress_total;
};

/* Performs call; on STOR_OK response holds the 2xx answer (free it with sp_http_response_free).
 * On failure err says what S3 said, in one line, and error (if not NULL) has S3's code (or,
 * without an error document, the usual code of the HTTP status: "MethodNotAllowed"). A 404 is
 * STOR_ENOTFOUND, 403 STOR_EAUTH, a region mismatch STOR_EINVAL naming the region to use. */
enum stor_status s3_request(struct s3_plugin *plugin, const struct s3_call *call,
                            struct sp_http_response *response, struct s3_wire_error *error,
                            struct stor_error *err);

/* Where bucket/key lives: the URL without query (malloc'd), the host to sign and the decoded
 * path to sign. NULL on no memory. */
char *s3_request_url(const struct s3_plugin *plugin, const char *bucket, const char *key,
                     char **host, char **path);

/* The signing scope of now: amz_date into date[17]. */
void s3_request_scope(const struct s3_plugin *plugin, char date[17], struct s3_sigv4_scope *scope);

#endif
