/* download.c — b2_download_file_by_name (GET|HEAD /file/<bucket>/<name>) and
 * b2_download_file_by_id: byte ranges (206, 416), the x-bz-* headers, and bodies streamed from
 * the referenced blobs through MHD's content reader (never copied whole). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "json_reply.h"
#include "names.h"
#include "server.h"
#include "store.h"

struct download {
	struct content *content;
	uint64_t first;              /* first byte of the file sent */
	int fd;                      /* open descriptor of segment fd_segment (file-backed blobs) */
	size_t fd_segment;
	bool corrupt;                /* /_test/corrupt: flip the byte at flip_at of the body sent */
	uint64_t flip_at;
};

static bool parse_number(const char **text, uint64_t *value)
{
	if (!isdigit((unsigned char)**text))
		return false;
	char *end;
	errno = 0;
	*value = strtoull(*text, &end, 10);
	*text = end;
	return errno == 0;
}

bool parse_byte_range(const char *text, uint64_t length, uint64_t *first, uint64_t *last,
		      bool *satisfiable)
{
	uint64_t a = 0, b = 0;
	*satisfiable = true;
	if (strncasecmp(text, "bytes=", 6) != 0)
		return false;
	text += 6;
	if (*text == '-') { /* the last b bytes */
		text++;
		if (!parse_number(&text, &b) || *text)
			return false;
		if (b == 0 || length == 0) {
			*satisfiable = false;
			return true;
		}
		*first = b >= length ? 0 : length - b;
		*last = length - 1;
		return true;
	}
	if (!parse_number(&text, &a) || *text++ != '-')
		return false;
	bool open_ended = *text == '\0';
	if (!open_ended && (!parse_number(&text, &b) || *text || b < a))
		return false;
	if (a >= length) {
		*satisfiable = false;
		return true;
	}
	*first = a;
	*last = open_ended || b >= length ? length - 1 : b;
	return true;
}

static ssize_t read_download(void *cls, uint64_t position, char *buffer, size_t max)
{
	struct download *download = cls;
	struct content *content = download->content;
	uint64_t offset = download->first + position, segment_start = 0;
	for (size_t i = 0; i < content->segment_count; i++) {
		const struct segment *segment = &content->segments[i];
		if (offset >= segment_start + segment->length) {
			segment_start += segment->length;
			continue;
		}
		if (download->fd_segment != i) {
			blob_reader_close(&download->fd);
			download->fd_segment = i;
		}
		uint64_t within = offset - segment_start;
		size_t want = segment->length - within < max ? (size_t)(segment->length - within) : max;
		long got = blob_read(segment->blob, segment->offset + within, buffer, want, &download->fd);
		if (got > 0 && download->corrupt && download->flip_at >= position &&
		    download->flip_at < position + (uint64_t)got)
			buffer[download->flip_at - position] ^= 0x01;
		return got > 0 ? got : MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_download(void *cls)
{
	struct download *download = cls;
	blob_reader_close(&download->fd);
	content_free(download->content);
	free(download);
}

/* b2-* file info keys become standard response headers, the rest x-bz-info-*. */
static void add_info_headers(struct request *req, json_object *info)
{
	static const struct { const char *key, *header; } standard[] = {
		{"b2-content-disposition", "Content-Disposition"},
		{"b2-content-language", "Content-Language"},
		{"b2-expires", "Expires"},
		{"b2-cache-control", "Cache-Control"},
		{"b2-content-encoding", "Content-Encoding"},
	};
	if (!info)
		return;
	json_object_object_foreach(info, key, value)
	{
		const char *text = json_object_get_string(value);
		size_t i;
		for (i = 0; i < sizeof standard / sizeof *standard && strcmp(key, standard[i].key); i++)
			;
		if (i < sizeof standard / sizeof *standard) {
			reply_add_header(req, standard[i].header, text);
			continue;
		}
		char header[80];
		char *encoded = percent_encode(text ? text : "");
		snprintf(header, sizeof header, "x-bz-info-%s", key);
		reply_add_header(req, header, encoded);
		free(encoded);
	}
}

/* An SSE-C file is read with its key only (B2: 403 access_denied, as b2sdk maps it). */
static bool key_fits(struct request *req, struct content *content)
{
	char md5[SSE_C_MD5_MAX];
	struct b2_error error;
	if (sse_c_key_from_headers(req, md5, &error) &&
	    protection_check_key(&content->protection, md5, &error))
		return true;
	reply_b2_error(req, &error);
	content_free(content);
	return false;
}

/* Encryption and Object Lock headers, as b2sdk reads them back. */
static void add_protection_headers(struct request *req, const struct protection *protection)
{
	if (strcmp(protection->mode, "SSE-B2") == 0)
		reply_add_header(req, "X-Bz-Server-Side-Encryption", "AES256");
	if (strcmp(protection->mode, "SSE-C") == 0) {
		reply_add_header(req, "X-Bz-Server-Side-Encryption-Customer-Algorithm", "AES256");
		reply_add_header(req, "X-Bz-Server-Side-Encryption-Customer-Key-Md5", protection->key_md5);
	}
	if (protection->retention[0]) {
		char until[32];
		snprintf(until, sizeof until, "%lld", (long long)protection->retain_until);
		reply_add_header(req, "X-Bz-File-Retention-Mode", protection->retention);
		reply_add_header(req, "X-Bz-File-Retention-Retain-Until-Timestamp", until);
	}
	if (protection->legal_hold >= 0)
		reply_add_header(req, "X-Bz-File-Legal-Hold", protection->legal_hold ? "on" : "off");
}

static void send_content(struct request *req, struct content *content)
{
	if (!key_fits(req, content))
		return;
	uint64_t first = 0, last = content->length ? content->length - 1 : 0;
	bool partial = false, satisfiable = true;
	const char *range = request_header(req, "Range");
	if (range && !req->is_head && parse_byte_range(range, content->length, &first, &last, &satisfiable)) {
		if (!satisfiable) {
			char header[64];
			snprintf(header, sizeof header, "bytes */%" PRIu64, content->length);
			reply_error(req, 416, "range_not_satisfiable", "The range is outside the file");
			reply_add_header(req, "Content-Range", header);
			content_free(content);
			return;
		}
		partial = true;
	}
	uint64_t length = content->length ? last - first + 1 : 0;
	struct download *download = calloc(1, sizeof *download);
	download->content = content;
	download->first = first;
	download->fd = -1;
	download->corrupt = length > 0 && !req->is_head && faults_take_corrupt(req->api);
	download->flip_at = length / 2;
	req->response = MHD_create_response_from_callback(length, 256 * 1024, read_download, download,
							  free_download);
	if (!req->response) {
		free_download(download);
		reply_error(req, 500, "internal_error", "Cannot create the response");
		return;
	}
	req->status = partial ? 206 : 200;
	char number[32], *encoded_name = percent_encode(content->file_name);
	reply_add_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, content->content_type);
	reply_add_header(req, "Accept-Ranges", "bytes");
	reply_add_header(req, "X-Bz-File-Id", content->file_id);
	reply_add_header(req, "X-Bz-File-Name", encoded_name);
	reply_add_header(req, "X-Bz-Content-Sha1", content->sha1);
	snprintf(number, sizeof number, "%" PRId64, content->upload_timestamp);
	reply_add_header(req, "X-Bz-Upload-Timestamp", number);
	add_info_headers(req, content->file_info);
	add_protection_headers(req, &content->protection);
	if (partial) {
		char header[96];
		snprintf(header, sizeof header, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
			 content->length);
		reply_add_header(req, "Content-Range", header);
	}
	free(encoded_name);
}

/* The account token from the header, else from ?Authorization=; by name (bucket_name and
 * file_name given) also a download authorization covering that name. */
static const struct key *download_key(struct request *req, const char *bucket_name,
				      const char *file_name)
{
	const char *token = request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	char *from_query = NULL;
	if (!token && request_query(req, "Authorization"))
		token = from_query = percent_decode(request_query(req, "Authorization"), true);
	const struct key *key = NULL;
	enum token_status shared = bucket_name && file_name
					   ? auth_check_download_token(token, bucket_name, file_name, &key)
					   : TOKEN_BAD;
	if (shared == TOKEN_EXPIRED) { /* the check names the token's key even when it expired */
		reply_error(req, 401, "expired_auth_token", "Authorization token has expired");
		key = NULL;
	}
	else if (shared != TOKEN_OK)
		key = require_token(req, token, CAP_READ_FILES);
	free(from_query);
	return key;
}

void handle_download_file_by_name(struct request *req)
{
	if (strcmp(req->method, MHD_HTTP_METHOD_GET) != 0 && !req->is_head) {
		reply_error(req, 405, "method_not_allowed", "Downloads are GET or HEAD requests");
		return;
	}
	const char *slash = strchr(req->path_rest, '/');
	if (!slash || slash == req->path_rest || !slash[1]) {
		reply_error(req, 400, "bad_request", "Expected /file/<bucket>/<file name>");
		return;
	}
	char *bucket_name = strndup(req->path_rest, (size_t)(slash - req->path_rest));
	char *file_name = percent_decode(slash + 1, true);
	const struct key *key = download_key(req, bucket_name, file_name);
	struct b2_error error;
	if (!key) {
		/* answered */
	} else if (!file_name || file_name_problem(file_name)) {
		reply_error(req, 400, "bad_request", "Invalid file name");
	} else {
		struct content *content = store_open_by_name(key, bucket_name, file_name, &error);
		if (content)
			send_content(req, content);
		else
			reply_b2_error(req, &error);
	}
	free(bucket_name);
	free(file_name);
}

void handle_download_file_by_id(struct request *req, json_object *body)
{
	const char *file_id;
	if (!body_string_required(req, body, "fileId", &file_id))
		return;
	const struct key *key = download_key(req, NULL, NULL);
	if (!key)
		return;
	struct b2_error error;
	struct content *content = store_open_by_id(key, file_id, &error);
	if (content)
		send_content(req, content);
	else
		reply_b2_error(req, &error);
}
