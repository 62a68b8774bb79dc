/* reply.c — answers of the S3 test server: S3's XML error document, XML results, object bytes,
 * and the headers every answer carries (x-amz-request-id). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static void set_response(struct request *req, int status, struct MHD_Response *response)
{
	if (req->response)
		MHD_destroy_response(req->response);
	req->response = response;
	req->status = status;
	if (response) {
		MHD_add_response_header(response, "x-amz-request-id", req->request_id);
		MHD_add_response_header(response, "x-amz-id-2", req->request_id);
		MHD_add_response_header(response, "Server", "stor-s3-test-server");
	}
}

bool request_has_reply(const struct request *req)
{
	return req->response != NULL;
}

void reply_header(struct request *req, const char *name, const char *value)
{
	if (req->response)
		MHD_add_response_header(req->response, name, value);
}

void reply_xml(struct request *req, int status, char *xml)
{
	if (!xml) {
		reply_error(req, 500, "InternalError", "We encountered an internal error (out of memory).");
		return;
	}
	size_t length = strlen(xml);
	struct MHD_Response *response =
		req->is_head ? MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT)
			     : MHD_create_response_from_buffer(length, xml, MHD_RESPMEM_MUST_FREE);
	if (req->is_head)
		free(xml);
	set_response(req, status, response);
	reply_header(req, "Content-Type", "application/xml");
}

void reply_error(struct request *req, int status, const char *code, const char *format, ...)
{
	char message[1024];
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(message, sizeof message, format, arguments);
	va_end(arguments);
	struct xml x;
	memset(&x, 0, sizeof x);
	xml_raw(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
	xml_element(&x, "Code", code);
	xml_element(&x, "Message", message);
	if (req->bucket)
		xml_element(&x, "BucketName", req->bucket);
	if (req->key)
		xml_element(&x, "Key", req->key);
	xml_element(&x, "Resource", req->path ? req->path : "/");
	xml_element(&x, "RequestId", req->request_id);
	xml_element(&x, "HostId", req->request_id);
	xml_raw(&x, "</Error>");
	if (x.failed) {
		free(x.data);
		x.data = NULL;
	}
	if (!x.data) {
		set_response(req, 500, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
		return;
	}
	if (req->is_head) {
		free(x.data);
		set_response(req, status, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
		return;
	}
	set_response(req, status, MHD_create_response_from_buffer(x.length, x.data, MHD_RESPMEM_MUST_FREE));
	reply_header(req, "Content-Type", "application/xml");
}

/* HEAD answers the length of what GET would send; MHD never reads the body of a HEAD answer. */
static ssize_t no_body(void *cls, uint64_t position, char *buffer, size_t max)
{
	(void)cls; (void)position; (void)buffer; (void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

void reply_bytes(struct request *req, int status, const void *data, size_t size)
{
	struct MHD_Response *response =
		req->is_head ? MHD_create_response_from_callback(size, 4096, no_body, NULL, NULL)
			     : MHD_create_response_from_buffer(size, (void *)data, MHD_RESPMEM_MUST_COPY);
	set_response(req, status, response);
}

void reply_empty(struct request *req, int status)
{
	set_response(req, status, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
}
