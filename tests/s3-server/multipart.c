/* multipart.c — multipart uploads of the S3 test server: CreateMultipartUpload, UploadPart,
 * UploadPartCopy (x-amz-copy-source-range), CompleteMultipartUpload (parts in order, ETags,
 * EntityTooSmall, the "md5-of-md5s-N" ETag), AbortMultipartUpload, ListMultipartUploads and
 * ListParts (part-number-marker, max-parts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "objects.h"
#include "server.h"
#include "store.h"

#define OWNER_ID "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"

static void owner(struct xml *x, const char *tag)
{
	xml_open(x, tag);
	xml_element(x, "ID", OWNER_ID);
	xml_element(x, "DisplayName", "stor-test");
	xml_close(x, tag);
}

/* Bucket and upload of the request, under the store lock; NULL after answering. */
static struct upload *existing_upload(struct request *req, struct bucket **bucket)
{
	*bucket = store_bucket(req->bucket);
	if (!*bucket) {
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return NULL;
	}
	const char *id = request_param(req, "uploadId");
	struct upload *upload = id ? store_upload(*bucket, id) : NULL;
	if (!upload || strcmp(upload->key, req->key) != 0) {
		reply_error(req, 404, "NoSuchUpload", "The specified upload does not exist. The upload "
			    "ID may be invalid, or the upload may have been aborted or completed.");
		return NULL;
	}
	return upload;
}

void handle_create_multipart_upload(struct request *req)
{
	struct meta *meta;
	size_t meta_count;
	if (!object_meta_from_request(req, &meta, &meta_count))
		return;
	char id[40] = "";
	store_lock();
	struct bucket *bucket = store_bucket(req->bucket);
	struct upload *upload = bucket ? store_create_upload(bucket, req->key, meta, meta_count) : NULL;
	if (!bucket)
		meta_free(meta, meta_count);
	if (upload)
		snprintf(id, sizeof id, "%s", upload->id);
	store_unlock();
	if (!bucket) {
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return;
	}
	if (!upload) {
		reply_error(req, 500, "InternalError", "out of memory");
		return;
	}
	struct xml x;
	xml_begin(&x, "InitiateMultipartUploadResult");
	xml_element(&x, "Bucket", req->bucket);
	xml_element(&x, "Key", req->key);
	xml_element(&x, "UploadId", id);
	reply_xml(req, 200, xml_finish(&x, "InitiateMultipartUploadResult"));
}

static bool part_number(struct request *req, int *number)
{
	const char *text = request_param(req, "partNumber");
	char *end;
	long value = text && *text ? strtol(text, &end, 10) : 0;
	if (!text || !*text || *end || value < 1 || value > 10000) {
		reply_error(req, 400, "InvalidArgument", "Part number must be an integer between 1 and "
			    "10000, inclusive");
		return false;
	}
	*number = (int)value;
	return true;
}

/* Compares ETags with or without their quotes. */
static bool same_etag(const char *given, const char *etag)
{
	size_t length = strlen(given);
	if (length >= 2 && given[0] == '"' && given[length - 1] == '"')
		return strcmp(given, etag) == 0;
	return length + 2 == strlen(etag) && strncmp(etag + 1, given, length) == 0;
}

void handle_upload_part(struct request *req, bool copy)
{
	int number;
	if (!part_number(req, &number) || !request_param(req, "uploadId")) {
		if (!request_has_reply(req))
			reply_error(req, 400, "InvalidRequest", "UploadPart needs uploadId");
		return;
	}
	unsigned char md5[16];
	char *source_bucket = NULL, *source_key = NULL;
	if (copy) {
		if (!object_copy_source(req, &source_bucket, &source_key))
			return;
	} else if (!object_check_digests(req, md5)) {
		return;
	}
	const char *range = request_header(req, "x-amz-copy-source-range");
	const char *if_match = request_header(req, "x-amz-copy-source-if-match");
	struct blob *blob = NULL;
	char etag[48] = "", modified[32] = "";
	store_lock();
	struct bucket *bucket;
	struct upload *upload = existing_upload(req, &bucket);
	if (upload && copy) {
		struct bucket *from = store_bucket(source_bucket);
		struct object *source = from ? store_object(from, source_key) : NULL;
		size_t first = 0, last = 0;
		if (!source) {
			reply_error(req, 404, from ? "NoSuchKey" : "NoSuchBucket", "The specified %s does "
				    "not exist", from ? "key" : "bucket");
		} else if (if_match && !same_etag(if_match, source->etag)) {
			reply_error(req, 412, "PreconditionFailed", "At least one of the pre-conditions you "
				    "specified did not hold");
		} else if (range && object_parse_range(range, source->blob->size, &first, &last) != 1) {
			reply_error(req, 400, "InvalidArgument", "The x-amz-copy-source-range value must be "
				    "of the form bytes=first-last where first and last are the zero-based "
				    "offsets of the first and last bytes to copy");
		} else {
			if (!range)
				last = source->blob->size ? source->blob->size - 1 : 0;
			size_t size = source->blob->size ? last - first + 1 : 0;
			blob = blob_new(source->blob->data + first, size);
			if (blob) {
				unsigned int length = 16;
				EVP_Digest(blob->data, blob->size, md5, &length, EVP_md5(), NULL);
			}
		}
	} else if (upload) {
		blob = blob_take(req->body ? req->body : malloc(1), req->body_length);
		if (blob) {
			req->body = NULL;
			req->body_length = req->body_capacity = 0;
		}
	}
	if (blob) {
		struct part *part = store_put_part(upload, number, blob, md5);
		if (part) {
			snprintf(etag, sizeof etag, "%s", part->etag);
			format_iso8601(part->modified, modified);
		}
	}
	store_unlock();
	free(source_bucket);
	free(source_key);
	if (request_has_reply(req))
		return;
	if (!etag[0]) {
		reply_error(req, 500, "InternalError", "out of memory");
		return;
	}
	if (copy) {
		struct xml x;
		xml_begin(&x, "CopyPartResult");
		xml_element(&x, "LastModified", modified);
		xml_element(&x, "ETag", etag);
		reply_xml(req, 200, xml_finish(&x, "CopyPartResult"));
	} else {
		reply_empty(req, 200);
		reply_header(req, "ETag", etag);
	}
}


void handle_complete_multipart_upload(struct request *req)
{
	struct xml_doc doc;
	char message[256];
	if (req->body_length > 4 * 1024 * 1024 ||
	    !xml_parse(req->body, req->body_length, &doc, message, sizeof message)) {
		reply_error(req, 400, "MalformedXML", "%s", req->body_length > 4 * 1024 * 1024 ?
			    "The XML you provided was too large" : message);
		return;
	}
	char version_id[40] = "";
	/* The parts asked for, in document order: number and ETag of each. */
	size_t wanted_count = 0;
	for (size_t i = 0; i < doc.count; i++)
		wanted_count += strcmp(doc.nodes[i].path, "CompleteMultipartUpload/Part") == 0;
	struct {
		long number;
		const char *etag;
	} *wanted = calloc(wanted_count ? wanted_count : 1, sizeof *wanted);
	size_t filled = 0;
	long number = -1;
	const char *etag = NULL;
	bool ok = wanted && strcmp(doc.nodes[doc.count - 1].path, "CompleteMultipartUpload") == 0 &&
		  wanted_count > 0 && wanted_count <= 10000;
	for (size_t i = 0; ok && i < doc.count; i++) {
		const char *path = doc.nodes[i].path;
		if (strcmp(path, "CompleteMultipartUpload/Part/PartNumber") == 0) {
			char *end;
			number = strtol(doc.nodes[i].text, &end, 10);
			if (!doc.nodes[i].text[0] || *end || number < 1 || number > 10000)
				ok = false;
		} else if (strcmp(path, "CompleteMultipartUpload/Part/ETag") == 0) {
			etag = doc.nodes[i].text;
		} else if (strcmp(path, "CompleteMultipartUpload/Part") == 0) {
			if (number < 0 || !etag)
				ok = false;
			else
				wanted[filled].number = number, wanted[filled++].etag = etag;
			number = -1;
			etag = NULL;
		}
	}
	if (!ok) {
		free(wanted);
		xml_doc_free(&doc);
		reply_error(req, 400, "MalformedXML", "The XML you provided was not well-formed or did "
			    "not validate against our published schema");
		return;
	}
	char final_etag[64] = "";
	store_lock();
	struct bucket *bucket;
	struct upload *upload = existing_upload(req, &bucket);
	for (size_t i = 1; upload && i < filled; i++)
		if (wanted[i].number <= wanted[i - 1].number) {
			reply_error(req, 400, "InvalidPartOrder", "The list of parts was not in ascending "
				    "order. The parts list must be specified in order by part number.");
			upload = NULL;
		}
	struct part **parts = upload ? calloc(filled, sizeof *parts) : NULL;
	size_t total = 0;
	for (size_t i = 0; upload && i < filled; i++) {
		struct part *part = NULL;
		for (size_t j = 0; j < upload->part_count && !part; j++)
			if (upload->parts[j].number == wanted[i].number)
				part = &upload->parts[j];
		if (!part || !same_etag(wanted[i].etag, part->etag)) {
			reply_error(req, 400, "InvalidPart", "One or more of the specified parts could not "
				    "be found. The part may not have been uploaded, or the specified entity "
				    "tag may not match the part's entity tag. (part %ld)", wanted[i].number);
			upload = NULL;
		} else if (i + 1 < filled && part->blob->size < server_config.min_part_size) {
			reply_error(req, 400, "EntityTooSmall", "Your proposed upload is smaller than the "
				    "minimum allowed size (part %ld: %zu bytes, minimum %zu)",
				    wanted[i].number, part->blob->size, server_config.min_part_size);
			upload = NULL;
		} else if (parts) {
			parts[i] = part;
			total += part->blob->size;
		}
	}
	if (upload && !parts)
		reply_error(req, 500, "InternalError", "out of memory"), upload = NULL;
	unsigned char *data = upload ? malloc(total ? total : 1) : NULL;
	if (upload && !data)
		reply_error(req, 500, "InternalError", "out of memory"), upload = NULL;
	if (upload) {
		EVP_MD_CTX *md5s = EVP_MD_CTX_new();
		unsigned char digest[16];
		unsigned int length = 16;
		size_t offset = 0;
		EVP_DigestInit_ex(md5s, EVP_md5(), NULL);
		for (size_t i = 0; i < filled; i++) {
			memcpy(data + offset, parts[i]->blob->data, parts[i]->blob->size);
			offset += parts[i]->blob->size;
			EVP_DigestUpdate(md5s, parts[i]->md5, 16);
		}
		EVP_DigestFinal_ex(md5s, digest, &length);
		EVP_MD_CTX_free(md5s);
		final_etag[0] = '"';
		for (int i = 0; i < 16; i++)
			snprintf(final_etag + 1 + 2 * i, 3, "%02x", digest[i]);
		snprintf(final_etag + 33, sizeof final_etag - 33, "-%zu\"", filled);
		struct blob *blob = blob_take(data, total);
		struct meta *meta = meta_copy(upload->meta, upload->meta_count);
		size_t meta_count = meta ? upload->meta_count : 0;
		struct object *object = blob ? store_put_object(bucket, req->key, blob, final_etag, meta, meta_count) : NULL;
		if (!blob) {
			free(data);
			meta_free(meta, meta_count);
		}
		if (object && bucket->versioning != VERSIONING_OFF)
			snprintf(version_id, sizeof version_id, "%s", object->version_id);
		if (object)
			store_delete_upload(bucket, upload);
		else
			reply_error(req, 500, "InternalError", "out of memory");
	}
	store_unlock();
	free(parts);
	free(wanted);
	xml_doc_free(&doc);
	if (request_has_reply(req))
		return;
	struct xml x;
	xml_begin(&x, "CompleteMultipartUploadResult");
	const char *host = request_header(req, "Host");
	char *location = s3_sigv4_escape(req->key, strlen(req->key), true);
	xml_elementf(&x, "Location", "http://%s/%s/%s", host ? host : "127.0.0.1", req->bucket,
		     location ? location : "");
	free(location);
	xml_element(&x, "Bucket", req->bucket);
	xml_element(&x, "Key", req->key);
	xml_element(&x, "ETag", final_etag);
	reply_xml(req, 200, xml_finish(&x, "CompleteMultipartUploadResult"));
	if (version_id[0])
		reply_header(req, "x-amz-version-id", version_id);
}

void handle_abort_multipart_upload(struct request *req)
{
	store_lock();
	struct bucket *bucket;
	struct upload *upload = existing_upload(req, &bucket);
	if (upload)
		store_delete_upload(bucket, upload);
	store_unlock();
	if (upload)
		reply_empty(req, 204);
}

void handle_list_multipart_uploads(struct request *req)
{
	const char *prefix = request_param(req, "prefix");
	const char *max_text = request_param(req, "max-uploads");
	const char *key_marker = request_param(req, "key-marker");
	const char *id_marker = request_param(req, "upload-id-marker");
	long max_uploads = max_text ? strtol(max_text, NULL, 10) : 1000;
	if (max_uploads < 0 || max_uploads > 1000)
		max_uploads = 1000;
	prefix = prefix ? prefix : "";
	struct xml x;
	char date[32];
	xml_begin(&x, "ListMultipartUploadsResult");
	xml_element(&x, "Bucket", req->bucket);
	xml_element(&x, "KeyMarker", key_marker ? key_marker : "");
	xml_element(&x, "UploadIdMarker", id_marker ? id_marker : "");
	xml_element(&x, "Prefix", prefix);
	xml_elementf(&x, "MaxUploads", "%ld", max_uploads);
	store_lock();
	struct bucket *bucket = store_bucket(req->bucket);
	long count = 0;
	bool truncated = false;
	struct xml items;
	memset(&items, 0, sizeof items);
	/* sorted by key, then by initiation: a copy of the pointers, insertion-sorted */
	struct upload **sorted = bucket ? calloc(bucket->upload_count + 1, sizeof *sorted) : NULL;
	size_t sorted_count = 0;
	for (size_t i = 0; sorted && i < bucket->upload_count; i++) {
		struct upload *upload = bucket->uploads[i];
		if (strncmp(upload->key, prefix, strlen(prefix)) != 0)
			continue;
		size_t j = sorted_count++;
		while (j > 0 && strcmp(sorted[j - 1]->key, upload->key) > 0) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = upload;
	}
	/* Resume after the markers: keys after key-marker, or with upload-id-marker, the uploads of
	 * key-marker after that one too (sorted by key, then in the order they were initiated). */
	size_t first = 0;
	if (key_marker && *key_marker) {
		while (first < sorted_count && strcmp(sorted[first]->key, key_marker) < 0)
			first++;
		size_t same = first;
		bool passed = !(id_marker && *id_marker);
		while (same < sorted_count && strcmp(sorted[same]->key, key_marker) == 0) {
			if (!passed && strcmp(sorted[same]->id, id_marker) == 0)
				passed = true, first = same + 1;
			same++;
		}
		if (!(id_marker && *id_marker) || !passed)
			first = same;
	}
	size_t last_listed = first;
	for (size_t i = first; i < sorted_count; i++) {
		last_listed = i;
		if (count >= max_uploads) {
			truncated = true;
			break;
		}
		struct upload *upload = sorted[i];
		xml_open(&items, "Upload");
		xml_element(&items, "Key", upload->key);
		xml_element(&items, "UploadId", upload->id);
		owner(&items, "Initiator");
		owner(&items, "Owner");
		xml_element(&items, "StorageClass", "STANDARD");
		format_iso8601(upload->initiated, date);
		xml_element(&items, "Initiated", date);
		xml_close(&items, "Upload");
		count++;
	}
	if (truncated && count > 0) {
		xml_element(&x, "NextKeyMarker", sorted[last_listed - 1]->key);
		xml_element(&x, "NextUploadIdMarker", sorted[last_listed - 1]->id);
	} else {
		truncated = false; /* max-uploads=0: nothing to resume from */
	}
	free(sorted);
	store_unlock();
	if (!bucket) {
		free(x.data);
		free(items.data);
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return;
	}
	xml_element(&x, "IsTruncated", truncated ? "true" : "false");
	xml_raw(&x, items.data ? items.data : "");
	x.failed |= items.failed;
	free(items.data);
	reply_xml(req, 200, xml_finish(&x, "ListMultipartUploadsResult"));
}

void handle_list_parts(struct request *req)
{
	const char *marker_text = request_param(req, "part-number-marker");
	const char *max_text = request_param(req, "max-parts");
	long marker = marker_text ? strtol(marker_text, NULL, 10) : 0;
	long max_parts = max_text ? strtol(max_text, NULL, 10) : 1000;
	if (max_parts < 0 || max_parts > 1000)
		max_parts = 1000;
	struct xml x;
	char date[32], size[32];
	xml_begin(&x, "ListPartsResult");
	xml_element(&x, "Bucket", req->bucket);
	xml_element(&x, "Key", req->key);
	xml_element(&x, "UploadId", request_param(req, "uploadId") ? request_param(req, "uploadId") : "");
	owner(&x, "Initiator");
	owner(&x, "Owner");
	xml_element(&x, "StorageClass", "STANDARD");
	xml_elementf(&x, "PartNumberMarker", "%ld", marker);
	xml_elementf(&x, "MaxParts", "%ld", max_parts);
	store_lock();
	struct bucket *bucket;
	struct upload *upload = existing_upload(req, &bucket);
	struct xml items;
	memset(&items, 0, sizeof items);
	long count = 0, next = 0;
	bool truncated = false;
	for (size_t i = 0; upload && i < upload->part_count; i++) {
		struct part *part = &upload->parts[i];
		if (part->number <= marker)
			continue;
		if (count >= max_parts) {
			truncated = true;
			break;
		}
		xml_open(&items, "Part");
		xml_elementf(&items, "PartNumber", "%d", part->number);
		format_iso8601(part->modified, date);
		xml_element(&items, "LastModified", date);
		xml_element(&items, "ETag", part->etag);
		snprintf(size, sizeof size, "%zu", part->blob->size);
		xml_element(&items, "Size", size);
		xml_close(&items, "Part");
		next = part->number;
		count++;
	}
	store_unlock();
	if (!upload) {
		free(x.data);
		free(items.data);
		return;
	}
	xml_elementf(&x, "NextPartNumberMarker", "%ld", next);
	xml_element(&x, "IsTruncated", truncated ? "true" : "false");
	xml_raw(&x, items.data ? items.data : "");
	x.failed |= items.failed;
	free(items.data);
	reply_xml(req, 200, xml_finish(&x, "ListPartsResult"));
}
