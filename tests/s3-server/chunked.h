/* chunked.h — decoding and verifying aws-chunked request bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
#ifndef S3_CHUNKED_H
#define S3_CHUNKED_H

#include <stdbool.h>

#include "server.h"

/* Replaces req->body by the decoded bytes after checking every chunk's signature; false after
 * answering (403 SignatureDoesNotMatch, 400 IncompleteBody, 411 MissingContentLength). */
bool chunked_decode(struct request *req, const struct s3_sigv4_verified *verified);

#endif
