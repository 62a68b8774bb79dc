/* http.c — libmicrohttpd glue of the S3 test server: path-style routing of method + path +
 * subresource to an S3 operation, bounded buffering of bodies, SigV4 verified on every request
 * (header or presigned) and the body held to its declared SHA-256, faults applied, replies
 * counted. Paths and query values are kept percent-encoded by MHD and decoded here once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "chunked.h"
#include "http.h"
#include "server.h"

#define CONTROL_PREFIX "/__control/"

static const char *const op_names[] = {
#define S3_OP_NAME(name) #name,
	S3_OPERATIONS(S3_OP_NAME)
#undef S3_OP_NAME
};

const char *op_name(enum s3_op op)
{
	return op < OP_COUNT ? op_names[op] : "Unknown";
}

enum s3_op op_from_name(const char *name)
{
	for (int op = 0; op < OP_COUNT; op++)
		if (strcmp(op_names[op], name) == 0)
			return (enum s3_op)op;
	return OP_COUNT;
}

time_t server_now(void)
{
	return time(NULL) + server_config.clock_offset;
}

void format_iso8601(time_t when, char out[32])
{
	struct tm utc;
	gmtime_r(&when, &utc);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &utc);
}

void format_http_date(time_t when, char out[40])
{
	struct tm utc;
	gmtime_r(&when, &utc);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &utc);
}

const char *request_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *request_param(struct request *req, const char *name)
{
	for (size_t i = 0; i < req->param_count; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value ? req->params[i].value : "";
	return NULL;
}

bool request_has_param(struct request *req, const char *name)
{
	return request_param(req, name) != NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *percent_decode(const char *text, size_t length)
{
	char *out = malloc(length + 1), *p = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < length; i++) {
		if (text[i] == '%') {
			int high = i + 1 < length ? hex_value(text[i + 1]) : -1;
			int low = i + 2 < length ? hex_value(text[i + 2]) : -1;
			if (high < 0 || low < 0 || (high == 0 && low == 0)) {
				free(out);
				return NULL;
			}
			*p++ = (char)(high * 16 + low);
			i += 2;
		} else {
			*p++ = text[i];
		}
	}
	*p = '\0';
	return out;
}

/* ---- building the request ---- */

struct collected {
	struct s3_sigv4_param *params;
	size_t count;
	bool failed;
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *name,
				     const char *value)
{
	(void)kind;
	struct collected *c = cls;
	if (c->failed || c->count >= 256) {
		c->failed = true;
		return MHD_NO;
	}
	char *decoded_name = percent_decode(name, strlen(name));
	char *decoded_value = value ? percent_decode(value, strlen(value)) : NULL;
	if (!decoded_name || (value && !decoded_value)) {
		free(decoded_name);
		free(decoded_value);
		c->failed = true;
		return MHD_NO;
	}
	c->params[c->count++] = (struct s3_sigv4_param){decoded_name, decoded_value};
	return MHD_YES;
}

static bool valid_utf8(const char *text)
{
	const unsigned char *c = (const unsigned char *)text;
	while (*c) {
		int extra = *c < 0x80 ? 0 : (*c & 0xE0) == 0xC0 ? 1 : (*c & 0xF0) == 0xE0 ? 2
			  : (*c & 0xF8) == 0xF0 ? 3 : -1;
		if (extra < 0 || (extra == 1 && *c < 0xC2))
			return false;
		c++;
		for (int i = 0; i < extra; i++, c++)
			if ((*c & 0xC0) != 0x80)
				return false;
	}
	return true;
}

/* Splits the raw path into bucket and key (each decoded once); false answers 400. */
static bool parse_path(struct request *req)
{
	const char *raw = req->raw_path;
	req->path = percent_decode(raw, strlen(raw));
	if (!req->path) {
		reply_error(req, 400, "InvalidURI", "Couldn't parse the specified URI.");
		return false;
	}
	if (raw[0] != '/' || raw[1] == '\0')
		return true;
	const char *bucket = raw + 1, *slash = strchr(bucket, '/');
	size_t bucket_length = slash ? (size_t)(slash - bucket) : strlen(bucket);
	req->bucket = percent_decode(bucket, bucket_length);
	if (slash && slash[1]) {
		req->key = percent_decode(slash + 1, strlen(slash + 1));
		if (!req->key) {
			reply_error(req, 400, "InvalidURI", "Couldn't parse the specified URI.");
			return false;
		}
		if (strlen(req->key) > 1024) {
			reply_error(req, 400, "KeyTooLongError", "Your key is too long");
			return false;
		}
		if (!valid_utf8(req->key)) {
			reply_error(req, 400, "InvalidArgument", "The key is not valid UTF-8");
			return false;
		}
	}
	if (!req->bucket || strchr(req->bucket, '/')) {
		reply_error(req, 400, "InvalidBucketName", "The specified bucket is not valid.");
		return false;
	}
	return true;
}

static bool any_param(struct request *req, const char *const *names)
{
	for (; *names; names++)
		if (request_has_param(req, *names))
			return true;
	return false;
}

/* Subresources this server does not implement: their requests are NotImplemented, never
 * mistaken for a plain GET or PUT of the bucket or object. */
static const char *const unsupported[] = {
	"acl", "policy", "cors", "lifecycle", "tagging", "website", "logging", "notification",
	"replication", "encryption", "object-lock", "legal-hold", "retention", "torrent",
	"requestPayment", "accelerate", "analytics", "inventory", "metrics", "ownershipControls",
	"publicAccessBlock", "intelligent-tiering", "restore", "select", "attributes",
	NULL,
};

static enum s3_op route(struct request *req)
{
	const char *m = req->method;
	bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0, post = strcmp(m, "POST") == 0;
	bool del = strcmp(m, "DELETE") == 0, head = strcmp(m, "HEAD") == 0;
	if (strncmp(req->raw_path, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0)
		return OP_Control;
	if (!req->bucket)
		return get ? OP_ListBuckets : OP_Unknown;
	if (!req->key) {
		if (put && request_has_param(req, "versioning") && req->param_count == 1)
			return OP_PutBucketVersioning;
		if (put)
			return req->param_count == 0 ? OP_CreateBucket : OP_Unknown;
		if (del)
			return req->param_count == 0 ? OP_DeleteBucket : OP_Unknown;
		if (head)
			return OP_HeadBucket;
		if (post)
			return request_has_param(req, "delete") ? OP_DeleteObjects : OP_Unknown;
		if (!get || any_param(req, unsupported))
			return OP_Unknown;
		if (request_has_param(req, "location"))
			return OP_GetBucketLocation;
		if (request_has_param(req, "versioning"))
			return OP_GetBucketVersioning;
		if (request_has_param(req, "versions"))
			return OP_ListObjectVersions;
		if (request_has_param(req, "uploads"))
			return OP_ListMultipartUploads;
		const char *type = request_param(req, "list-type");
		if (type && strcmp(type, "2") == 0)
			return OP_ListObjectsV2;
		return type ? OP_Unknown : OP_ListObjects;
	}
	if (any_param(req, unsupported))
		return OP_Unknown;
	bool copy = request_header(req, "x-amz-copy-source") != NULL;
	if (put) {
		if (request_has_param(req, "uploadId") || request_has_param(req, "partNumber"))
			return copy ? OP_UploadPartCopy : OP_UploadPart;
		return copy ? OP_CopyObject : OP_PutObject;
	}
	if (get)
		return request_has_param(req, "uploadId") ? OP_ListParts : OP_GetObject;
	if (head)
		return OP_HeadObject;
	if (del)
		return request_has_param(req, "uploadId") ? OP_AbortMultipartUpload : OP_DeleteObject;
	if (post) {
		if (request_has_param(req, "uploads"))
			return OP_CreateMultipartUpload;
		if (request_has_param(req, "uploadId"))
			return OP_CompleteMultipartUpload;
	}
	return OP_Unknown;
}

/* ---- authentication ---- */

struct header_list {
	struct s3_sigv4_header headers[128];
	size_t count;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *name,
				      const char *value)
{
	(void)kind;
	struct header_list *list = cls;
	if (list->count < sizeof list->headers / sizeof *list->headers)
		list->headers[list->count++] = (struct s3_sigv4_header){name, value ? value : ""};
	return MHD_YES;
}

static const char *lookup_secret(void *context, const char *access_key)
{
	(void)context;
	return strcmp(access_key, server_config.access_key) == 0 ? server_config.secret_key : NULL;
}

/* false after answering the refusal S3 would give. */
static bool authenticate(struct request *req)
{
	const char *authorization = request_header(req, "Authorization");
	if ((authorization && strncmp(authorization, "AWS ", 4) == 0) ||
	    (request_has_param(req, "AWSAccessKeyId") && request_has_param(req, "Signature"))) {
		/* Signature Version 2, as S3 answers it in the regions that take only version 4. */
		reply_error(req, 400, "InvalidRequest", "The authorization mechanism you have provided is "
			    "not supported. Please use AWS4-HMAC-SHA256.");
		return false;
	}
	struct header_list list;
	list.count = 0;
	MHD_get_connection_values(req->connection, MHD_HEADER_KIND, collect_header, &list);
	const struct s3_sigv4_received received = {
		req->method, req->path, req->params, req->param_count, list.headers, list.count,
		server_now(), server_config.region, lookup_secret, NULL,
	};
	struct s3_sigv4_verified verified;
	char message[512];
	enum s3_sigv4_status status = s3_sigv4_verify(&received, &verified, message, sizeof message);
	if (status != S3_SIGV4_OK) {
		reply_error(req, s3_sigv4_http_status(status), s3_sigv4_error_code(status), "%s", message);
		return false;
	}
	if (strcmp(verified.payload_hash, S3_SIGV4_STREAMING_PAYLOAD) == 0)
		return chunked_decode(req, &verified);
	if (strcmp(verified.payload_hash, S3_SIGV4_UNSIGNED_PAYLOAD) == 0)
		return true; /* nothing to hash the body against */
	unsigned char digest[32];
	unsigned int length = 32;
	EVP_Digest(req->body ? req->body : "", req->body_length, digest, &length, EVP_sha256(), NULL);
	if (s3_sigv4_check_payload(&verified, digest) != S3_SIGV4_OK) {
		reply_error(req, 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
			    "header does not match what was computed.");
		return false;
	}
	return true;
}

/* ---- dispatch ---- */

static void dispatch(struct request *req)
{
	switch (req->op) {
	case OP_ListBuckets: handle_list_buckets(req); break;
	case OP_CreateBucket: handle_create_bucket(req); break;
	case OP_DeleteBucket: handle_delete_bucket(req); break;
	case OP_HeadBucket: handle_head_bucket(req); break;
	case OP_GetBucketLocation: handle_get_bucket_location(req); break;
	case OP_GetBucketVersioning: handle_get_bucket_versioning(req); break;
	case OP_PutBucketVersioning: handle_put_bucket_versioning(req); break;
	case OP_ListObjectVersions: handle_list_object_versions(req); break;
	case OP_ListObjects: handle_list_objects(req, false); break;
	case OP_ListObjectsV2: handle_list_objects(req, true); break;
	case OP_ListMultipartUploads: handle_list_multipart_uploads(req); break;
	case OP_DeleteObjects: handle_delete_objects(req); break;
	case OP_PutObject: handle_put_object(req); break;
	case OP_CopyObject: handle_copy_object(req); break;
	case OP_GetObject:
	case OP_HeadObject: handle_get_object(req); break;
	case OP_DeleteObject: handle_delete_object(req); break;
	case OP_CreateMultipartUpload: handle_create_multipart_upload(req); break;
	case OP_UploadPart: handle_upload_part(req, false); break;
	case OP_UploadPartCopy: handle_upload_part(req, true); break;
	case OP_CompleteMultipartUpload: handle_complete_multipart_upload(req); break;
	case OP_AbortMultipartUpload: handle_abort_multipart_upload(req); break;
	case OP_ListParts: handle_list_parts(req); break;
	case OP_Control: handle_control(req); break;
	case OP_Unknown:
	case OP_COUNT:
		reply_error(req, 501, "NotImplemented", "A header or query you provided implies "
			    "functionality that is not implemented (%s %s)", req->method,
			    req->bucket ? (req->key ? "object" : "bucket") : "service");
		break;
	}
	if (!request_has_reply(req))
		reply_error(req, 500, "InternalError", "We encountered an internal error. Please try again.");
}

static enum MHD_Result answer(struct request *req)
{
	bool injected = false;
	if (!request_has_reply(req)) {
		if (req->fault.kind == FAULT_ERROR) {
			injected = true;
			reply_error(req, req->fault.status, req->fault.code, "%s",
				    req->fault.status == 503 ? "Please reduce your request rate."
							     : "We encountered an internal error. Please try again.");
		} else if (req->body_too_large) {
			reply_error(req, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
				    "allowed size (%zu bytes here)", server_config.max_body);
		} else if (req->op == OP_Control || authenticate(req)) {
			dispatch(req);
			injected = req->fault.kind >= FAULT_WRONG_RANGE;
		}
	}
	if (!req->response)
		return MHD_NO;
	enum MHD_Result queued = MHD_queue_response(req->connection, (unsigned)req->status, req->response);
	MHD_destroy_response(req->response);
	req->response = NULL;
	if (req->op != OP_Control)
		counters_count(req->op, req->status, injected);
	return queued;
}

static void buffer_body(struct request *req, const char *data, size_t size)
{
	if (req->body_too_large)
		return;
	if (req->body_length + size > server_config.max_body) {
		req->body_too_large = true;
		free(req->body);
		req->body = NULL;
		req->body_length = req->body_capacity = 0;
		return;
	}
	if (req->body_length + size + 1 > req->body_capacity) {
		size_t capacity = req->body_capacity ? req->body_capacity : 4096;
		while (capacity < req->body_length + size + 1)
			capacity *= 2;
		char *grown = realloc(req->body, capacity);
		if (!grown) {
			req->body_too_large = true;
			return;
		}
		req->body = grown;
		req->body_capacity = capacity;
	}
	memcpy(req->body + req->body_length, data, size);
	req->body_length += size;
	req->body[req->body_length] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **request_pointer)
{
	(void)cls;
	(void)version;
	struct request *req = *request_pointer;
	if (!req) {
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*request_pointer = req;
		req->connection = connection;
		req->method = method;
		req->is_head = strcmp(method, "HEAD") == 0;
		unsigned char random[8];
		RAND_bytes(random, sizeof random);
		for (int i = 0; i < 8; i++)
			snprintf(req->request_id + 2 * i, 3, "%02X", random[i]);
		req->raw_path = strdup(url);
		req->params = calloc(256, sizeof *req->params);
		if (!req->raw_path || !req->params)
			return MHD_NO;
		struct collected collected = {req->params, 0, false};
		MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_param, &collected);
		req->param_count = collected.count;
		if (collected.failed)
			reply_error(req, 400, "InvalidArgument", "The query string is not valid (bad "
				    "escape or more than 256 parameters)");
		else if (parse_path(req))
			req->op = route(req);
		else
			req->op = OP_Unknown;
		if (!request_has_reply(req) && req->op != OP_Control) {
			faults_plan(req->op, &req->fault);
			if (req->fault.kind == FAULT_DROP) {
				counters_count(req->op, 0, true);
				return MHD_NO; /* the connection closes without an answer */
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		buffer_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return answer(req);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **request_pointer,
			 enum MHD_RequestTerminationCode reason)
{
	(void)cls;
	(void)connection;
	(void)reason;
	struct request *req = *request_pointer;
	if (!req)
		return;
	if (req->response)
		MHD_destroy_response(req->response);
	for (size_t i = 0; i < req->param_count; i++) {
		free((char *)req->params[i].name);
		free((char *)req->params[i].value);
	}
	free(req->params);
	free(req->body);
	free(req->raw_path);
	free(req->path);
	free(req->bucket);
	free(req->key);
	free(req);
	*request_pointer = NULL;
}

static size_t keep_escaped(void *cls, struct MHD_Connection *connection, char *text)
{
	(void)cls;
	(void)connection;
	return strlen(text);
}

struct MHD_Daemon *http_start(uint16_t port, unsigned threads, uint16_t *bound_port)
{
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *daemon = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD, port, NULL, NULL, on_request, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
		MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 1u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u,
		MHD_OPTION_CONNECTION_LIMIT, 1024u,
		/* Room to read a large body in pieces of about 256 KiB, not MHD's 32 KiB default. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(512 << 10),
		MHD_OPTION_END);
	if (!daemon)
		return NULL;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info ? info->port : port;
	return daemon;
}
