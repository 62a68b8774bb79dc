/* server.h — what the B2 test server's request handlers share: its configuration, the table of
 * B2 calls it knows, and one HTTP request in flight with its reply. */
#ifndef B2_SERVER_H
#define B2_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "faults.h"

/* Set once by main() before the daemon starts, read-only afterwards. */
struct server_config {
	char base_url[64];         /* "http://127.0.0.1:PORT": apiUrl, downloadUrl, upload URLs */
	const char *account_id;    /* the master key's id, as on B2 */
	int64_t token_ttl_ms;      /* lifetime of account and upload tokens */
	uint64_t storage_cap;      /* bytes; 0 = no cap */
	const char *data_dir;      /* NULL: object bytes live in memory */
};
extern struct server_config server_config;

/* Milliseconds since the epoch, as B2 timestamps are. */
int64_t now_ms(void);

struct upload;

/* One HTTP request from its headers to its response. */
struct request {
	struct MHD_Connection *connection;
	const char *method;
	bool is_head;
	enum b2_api api;
	int api_version;             /* 1..4 from /b2api/vN/, 0 elsewhere */
	char *path;                  /* raw path, percent-encoding untouched */
	const char *path_rest;       /* after "/b2api/vN/<call>/" or "/file/" or "/_test/" */

	char *body;                  /* buffered body of JSON calls (bounded) */
	size_t body_length, body_capacity;
	bool body_too_large;

	struct upload *upload;       /* b2_upload_file / b2_upload_part: streamed body */
	struct fault_plan fault;     /* decided when the headers arrive */
	uint64_t body_bytes_seen;

	unsigned status;             /* of the queued reply */
	struct MHD_Response *response;
};

/* Request header lookup (case-insensitive), NULL when absent. */
const char *request_header(struct request *req, const char *name);
/* Query argument, raw (still percent-encoded), NULL when absent. */
const char *request_query(struct request *req, const char *name);

struct key;
/* The account token of the Authorization header, checked for a capability (-1: none needed).
 * NULL after answering 401 (missing_auth_token, bad_auth_token, expired_auth_token, unauthorized). */
const struct key *require_account(struct request *req, int capability);
/* The same for a token found elsewhere (downloads also take ?Authorization=). */
const struct key *require_token(struct request *req, const char *token, int capability);

/* "bytes=a-b" / "bytes=a-" / "bytes=-n" against a length: false when malformed (ignore it);
 * *satisfiable false when it lies outside the file (416). */
bool parse_byte_range(const char *text, uint64_t length, uint64_t *first, uint64_t *last,
		      bool *satisfiable);

/* Handlers of JSON calls: body is the request object (GET queries turned into one). */
typedef void json_handler(struct request *req, json_object *body);
json_handler handle_authorize_account, handle_list_buckets, handle_create_bucket, handle_update_bucket,
	handle_delete_bucket, handle_get_upload_url, handle_list_file_names,
	handle_list_file_versions, handle_get_file_info, handle_hide_file,
	handle_delete_file_version, handle_update_file_retention, handle_update_file_legal_hold,
	handle_copy_file, handle_copy_part,
	handle_start_large_file, handle_get_upload_part_url, handle_finish_large_file,
	handle_cancel_large_file, handle_list_unfinished_large_files, handle_list_parts,
	handle_download_file_by_id, handle_get_download_authorization;

/* Downloads by name: GET|HEAD /file/<bucket>/<name>. */
void handle_download_file_by_name(struct request *req);
/* Control API under /_test/ (see control.c). */
void handle_control(struct request *req, json_object *body);

/* Streamed uploads (upload.c). */
void upload_begin(struct request *req);
void upload_receive(struct request *req, const char *data, size_t size);
void upload_finish(struct request *req);
void upload_release(struct request *req);

#endif
