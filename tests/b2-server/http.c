/* http.c — libmicrohttpd glue: routing of /b2api/vN/<call>, /file/<bucket>/<name> and /_test/,
 * bounded buffering of JSON bodies, streaming of upload bodies, fault plans applied, replies
 * queued and counted. Paths are kept percent-encoded (no MHD unescaping) so that '+' and %2B
 * in file names stay distinguishable. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "json_reply.h"
#include "names.h"
#include "server.h"

enum { MAX_JSON_BODY = 4 << 20 };

static const struct {
	enum b2_api api;
	json_handler *handler;
} json_calls[] = {
	{API_AUTHORIZE_ACCOUNT, handle_authorize_account},
	{API_LIST_BUCKETS, handle_list_buckets},
	{API_CREATE_BUCKET, handle_create_bucket},
	{API_DELETE_BUCKET, handle_delete_bucket},
	{API_UPDATE_BUCKET, handle_update_bucket},
	{API_GET_UPLOAD_URL, handle_get_upload_url},
	{API_START_LARGE_FILE, handle_start_large_file},
	{API_GET_UPLOAD_PART_URL, handle_get_upload_part_url},
	{API_FINISH_LARGE_FILE, handle_finish_large_file},
	{API_CANCEL_LARGE_FILE, handle_cancel_large_file},
	{API_LIST_UNFINISHED_LARGE_FILES, handle_list_unfinished_large_files},
	{API_LIST_PARTS, handle_list_parts},
	{API_LIST_FILE_NAMES, handle_list_file_names},
	{API_LIST_FILE_VERSIONS, handle_list_file_versions},
	{API_GET_FILE_INFO, handle_get_file_info},
	{API_DOWNLOAD_FILE_BY_ID, handle_download_file_by_id},
	{API_DELETE_FILE_VERSION, handle_delete_file_version},
	{API_UPDATE_FILE_RETENTION, handle_update_file_retention},
	{API_UPDATE_FILE_LEGAL_HOLD, handle_update_file_legal_hold},
	{API_HIDE_FILE, handle_hide_file},
	{API_COPY_FILE, handle_copy_file},
	{API_COPY_PART, handle_copy_part},
	{API_GET_DOWNLOAD_AUTHORIZATION, handle_get_download_authorization},
	{API_CONTROL, handle_control},
};

const char *request_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *request_query(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

static bool is_streamed(const struct request *req)
{
	return req->api == API_UPLOAD_FILE || req->api == API_UPLOAD_PART;
}

static void route(struct request *req)
{
	const char *path = req->path;
	req->api = API_UNKNOWN;
	req->path_rest = "";
	if (strncmp(path, "/b2api/v", 8) == 0 && path[8] >= '1' && path[8] <= '4' && path[9] == '/') {
		const char *call = path + 10, *slash = strchr(call, '/');
		char name[48];
		size_t length = slash ? (size_t)(slash - call) : strlen(call);
		if (length >= sizeof name)
			return;
		memcpy(name, call, length);
		name[length] = '\0';
		enum b2_api api = api_from_name(name);
		bool upload = api == API_UPLOAD_FILE || api == API_UPLOAD_PART;
		if (api == API_UNKNOWN || upload != (slash != NULL))
			return;
		req->api = api;
		req->api_version = path[8] - '0';
		req->path_rest = slash ? slash + 1 : "";
	} else if (strncmp(path, "/file/", 6) == 0) {
		req->api = API_DOWNLOAD_FILE_BY_NAME;
		req->path_rest = path + 6;
	} else if (strncmp(path, "/_test/", 7) == 0) {
		req->api = API_CONTROL;
		req->path_rest = path + 7;
	}
}

static void buffer_body(struct request *req, const char *data, size_t size)
{
	if (req->body_too_large)
		return;
	if (req->body_length + size > MAX_JSON_BODY) {
		req->body_too_large = true;
		return;
	}
	if (req->body_length + size + 1 > req->body_capacity) {
		size_t capacity = req->body_capacity ? req->body_capacity : 1024;
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

static enum MHD_Result add_query_field(void *cls, enum MHD_ValueKind kind, const char *name,
				       const char *value)
{
	(void)kind;
	char *decoded = percent_decode(value ? value : "", true);
	if (decoded)
		json_object_object_add(cls, name, json_object_new_string(decoded));
	free(decoded);
	return MHD_YES;
}

/* The request as a JSON object: the POST body, or the GET query. NULL after answering 400. */
static json_object *request_json(struct request *req)
{
	if (req->body_too_large) {
		reply_error(req, 400, "bad_request", "Request body too large");
		return NULL;
	}
	if (req->body_length == 0) {
		json_object *query = json_object_new_object();
		MHD_get_connection_values(req->connection, MHD_GET_ARGUMENT_KIND, add_query_field, query);
		return query;
	}
	struct json_tokener *tokener = json_tokener_new();
	json_object *body = json_tokener_parse_ex(tokener, req->body, (int)req->body_length);
	bool complete = json_tokener_get_error(tokener) == json_tokener_success &&
			json_tokener_get_parse_end(tokener) == req->body_length;
	if (!body && json_tokener_get_error(tokener) == json_tokener_continue) {
		/* A bare literal (null, 7) waits for what follows: the end of the body ends it. */
		body = json_tokener_parse_ex(tokener, "", 1);
		complete = json_tokener_get_error(tokener) == json_tokener_success;
	}
	json_tokener_free(tokener);
	if (!body || !complete || !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		/* B2's code for a body that does not parse (b2sdk maps it to its own error). */
		reply_error(req, 400, !complete ? "bad_json" : "bad_request",
			    "The request body is not a JSON object");
		return NULL;
	}
	return body;
}

static void dispatch(struct request *req)
{
	if (req->api == API_UNKNOWN) {
		reply_error(req, 404, "not_found", "Unknown path");
		return;
	}
	if (is_streamed(req)) {
		upload_finish(req);
		return;
	}
	if (req->api == API_DOWNLOAD_FILE_BY_NAME) {
		handle_download_file_by_name(req);
		return;
	}
	bool get = strcmp(req->method, MHD_HTTP_METHOD_GET) == 0;
	bool head_by_id = req->is_head && req->api == API_DOWNLOAD_FILE_BY_ID; /* rclone's large copy */
	if (!get && !head_by_id && strcmp(req->method, MHD_HTTP_METHOD_POST) != 0) {
		reply_error(req, 405, "method_not_allowed", "Method %s not allowed", req->method);
		return;
	}
	json_object *body = request_json(req);
	if (!body)
		return;
	for (size_t i = 0; i < sizeof json_calls / sizeof *json_calls; i++)
		if (json_calls[i].api == req->api) {
			json_calls[i].handler(req, body);
			break;
		}
	json_object_put(body);
	if (!request_has_reply(req))
		reply_error(req, 500, "internal_error", "The call produced no answer");
}

static bool stopping;

/* An injected delay, cut short when the server stops (MHD_stop_daemon waits for handlers). */
static void sleep_ms(unsigned ms)
{
	for (unsigned slept = 0; slept < ms && !__atomic_load_n(&stopping, __ATOMIC_RELAXED); slept += 10)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000L}, NULL);
}

/* Closes the connection without an answer (MHD_NO), as a broken pod would. */
static enum MHD_Result drop(struct request *req)
{
	faults_count_reply(req->api, 0, true);
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (req->fault.drop_with_reset && info) {
		/* Disconnecting a TCP socket (AF_UNSPEC) sends RST at once, as a crashed proxy or a
		 * NAT would; MHD's own close would shut down with a FIN first. */
		struct sockaddr unspecified = {.sa_family = AF_UNSPEC};
		connect(info->connect_fd, &unspecified, sizeof unspecified);
	}
	return MHD_NO;
}

/* A drop before the call ran (mid-body); a drop after_call runs it and loses the answer. */
static bool drops_early(const struct request *req)
{
	return req->fault.kind == FAULT_DROP && !req->fault.drop_after_call;
}

static enum MHD_Result answer(struct request *req)
{
	bool injected = req->fault.kind == FAULT_ERROR || req->fault.kind == FAULT_LIE;
	if (req->fault.kind == FAULT_LIE) { /* told instead of running the call */
		req->response = req->fault.lie ? lie_response(req->fault.lie) : NULL;
		req->fault.lie = NULL;
		req->status = req->fault.status;
	} else if (injected) { /* the call never ran (uploads: never began), its body was read and dropped */
		if (req->fault.body[0])
			reply_raw(req, req->fault.status, req->fault.body);
		else
			reply_error(req, req->fault.status, req->fault.code, "%s", req->fault.message);
		if (req->fault.retry_after >= 0) {
			char seconds[16];
			snprintf(seconds, sizeof seconds, "%d", req->fault.retry_after);
			reply_add_header(req, "Retry-After", seconds);
		}
	} else if (!request_has_reply(req)) {
		dispatch(req);
	}
	/* Free the upload token before the client can see the answer and send its next upload. */
	upload_release(req);
	if (req->fault.kind == FAULT_DROP) /* after_call: done, and the answer is lost */
		return drop(req);
	if (req->fault.delay_ms)
		sleep_ms(req->fault.delay_ms);
	if (!req->response)
		return MHD_NO;
	enum MHD_Result queued = MHD_queue_response(req->connection, req->status, req->response);
	MHD_destroy_response(req->response);
	req->response = NULL;
	faults_count_reply(req->api, req->status, injected);
	return queued;
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
		req->connection = connection;
		req->method = method;
		req->is_head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
		req->path = strdup(url);
		*request_pointer = req;
		if (!req->path)
			return MHD_NO;
		route(req);
		faults_plan(req->api, request_header(req, "X-Bz-Test-Mode"), &req->fault);
		if (drops_early(req) && req->fault.drop_after_bytes == 0)
			return drop(req);
		if (is_streamed(req) && (req->fault.kind == FAULT_NONE || req->fault.drop_after_call))
			upload_begin(req);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t size = *upload_data_size;
		*upload_data_size = 0;
		req->body_bytes_seen += size;
		if (drops_early(req) && req->body_bytes_seen >= req->fault.drop_after_bytes)
			return drop(req);
		if (req->fault.kind == FAULT_ERROR || req->fault.kind == FAULT_LIE)
			return MHD_YES; /* the body is read and dropped, the fault answered at the end */
		if (is_streamed(req))
			upload_receive(req, upload_data, size);
		else
			buffer_body(req, upload_data, size);
		return MHD_YES;
	}
	if (drops_early(req))
		return drop(req);
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
	upload_release(req);
	if (req->response)
		MHD_destroy_response(req->response);
	lie_free(req->fault.lie);
	free(req->body);
	free(req->path);
	free(req);
	*request_pointer = NULL;
}

/* Keeps paths and query values percent-encoded: names are decoded by B2's own rules. */
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
	/* threads == 0: one thread per connection, so an injected delay stalls only its own. */
	unsigned flags = threads ? MHD_USE_AUTO_INTERNAL_THREAD
				 : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	struct MHD_Daemon *daemon = MHD_start_daemon(
		flags, port, NULL, NULL, on_request, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
		MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 1u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u,
		MHD_OPTION_CONNECTION_LIMIT, 4096u,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		MHD_OPTION_END);
	if (!daemon)
		return NULL;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info ? info->port : port;
	return daemon;
}

void http_stop(struct MHD_Daemon *daemon)
{
	__atomic_store_n(&stopping, true, __ATOMIC_RELAXED);
	MHD_stop_daemon(daemon);
}
