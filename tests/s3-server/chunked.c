/* chunked.c — aws-chunked request bodies (x-amz-content-sha256:
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD): "<hex size>;chunk-signature=<64 hex>\r\n<data>\r\n" until
 * the empty chunk, each signature chained from the seed signature of the request. The body is
 * replaced by the decoded bytes, which must be x-amz-decoded-content-length long. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "chunked.h"
#include "server.h"

static bool malformed(struct request *req, const char *why)
{
	reply_error(req, 400, "IncompleteBody", "The aws-chunked body is malformed: %s", why);
	return false;
}

bool chunked_decode(struct request *req, const struct s3_sigv4_verified *verified)
{
	const char *declared = request_header(req, "x-amz-decoded-content-length");
	char *end;
	if (!declared || !*declared || (strtoull(declared, &end, 10), *end)) {
		reply_error(req, 411, "MissingContentLength", "You must provide the "
			    "x-amz-decoded-content-length HTTP header with an aws-chunked body.");
		return false;
	}
	unsigned long long expected = strtoull(declared, NULL, 10);
	if (expected > req->body_length)
		return malformed(req, "x-amz-decoded-content-length is longer than the body");
	char *decoded = malloc(expected ? expected : 1);
	if (!decoded) {
		reply_error(req, 500, "InternalError", "out of memory");
		return false;
	}
	const char *p = req->body ? req->body : "", *limit = p + req->body_length;
	size_t total = 0;
	char previous[65];
	snprintf(previous, sizeof previous, "%s", verified->seed_signature);
	for (;;) {
		const char *line_end = memchr(p, '\r', (size_t)(limit - p));
		if (!line_end || line_end + 1 >= limit || line_end[1] != '\n' || line_end - p > 128) {
			free(decoded);
			return malformed(req, "a chunk header does not end with CRLF");
		}
		char header[130];
		memcpy(header, p, (size_t)(line_end - p));
		header[line_end - p] = '\0';
		char *semicolon = strchr(header, ';');
		static const char tag[] = "chunk-signature=";
		if (!semicolon || semicolon == header || strncmp(semicolon + 1, tag, strlen(tag)) != 0 ||
		    strlen(semicolon + 1 + strlen(tag)) != 64) {
			free(decoded);
			return malformed(req, "a chunk header is not <hex size>;chunk-signature=<signature>");
		}
		*semicolon = '\0';
		unsigned long long size = strtoull(header, &end, 16);
		if (*end || size > (unsigned long long)(limit - line_end) || total + size > expected) {
			free(decoded);
			return malformed(req, "a chunk size is not hex or runs past the body");
		}
		const char *data = line_end + 2;
		if ((size_t)(limit - data) < size + 2 || data[size] != '\r' || data[size + 1] != '\n') {
			free(decoded);
			return malformed(req, "a chunk does not end with CRLF");
		}
		unsigned char digest[32];
		unsigned int length = 32;
		char signature[65];
		EVP_Digest(data, (size_t)size, digest, &length, EVP_sha256(), NULL);
		s3_sigv4_chunk_signature(verified, previous, digest, signature);
		if (!s3_sigv4_equal(signature, semicolon + 1 + strlen(tag))) {
			free(decoded);
			reply_error(req, 403, "SignatureDoesNotMatch", "The chunk signature we calculated "
				    "does not match the signature you provided (chunk at byte %zu).", total);
			return false;
		}
		snprintf(previous, sizeof previous, "%s", signature);
		memcpy(decoded + total, data, (size_t)size);
		total += (size_t)size;
		p = data + size + 2;
		if (size == 0)
			break;
	}
	if (p != limit || total != expected) {
		free(decoded);
		return malformed(req, total != expected ? "the chunks are not x-amz-decoded-content-length long"
							: "bytes follow the final chunk");
	}
	free(req->body);
	req->body = decoded;
	req->body_length = req->body_capacity = total;
	req->aws_chunked = true;
	return true;
}
