/* objects.c — object operations of the S3 test server: PutObject (Content-MD5 → BadDigest,
 * x-amz-checksum-sha1/-sha256 checked, metadata and Content-Type kept), GetObject / HeadObject
 * (Range → 206/416, If-Match / If-None-Match), DeleteObject, DeleteObjects (XML, up to 1000,
 * Quiet) and CopyObject (x-amz-copy-source, metadata directive). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "objects.h"
#include "server.h"
#include "store.h"

static const char *const kept_headers[] = {
	"content-type", "cache-control", "content-disposition", "content-encoding",
	"content-language", "expires", NULL,
};

struct meta_list {
	struct meta *meta;
	size_t count;
	bool failed;
};

static enum MHD_Result collect_meta(void *cls, enum MHD_ValueKind kind, const char *name,
				    const char *value)
{
	(void)kind;
	struct meta_list *list = cls;
	bool keep = strncasecmp(name, "x-amz-meta-", 11) == 0;
	for (const char *const *kept = kept_headers; !keep && *kept; kept++)
		keep = strcasecmp(name, *kept) == 0;
	if (!keep || list->failed)
		return MHD_YES;
	struct meta *grown = realloc(list->meta, (list->count + 1) * sizeof *grown);
	if (!grown) {
		list->failed = true;
		return MHD_YES;
	}
	list->meta = grown;
	char *lower = strdup(name), *copy = strdup(value ? value : "");
	if (!lower || !copy) {
		free(lower);
		free(copy);
		list->failed = true;
		return MHD_YES;
	}
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	list->meta[list->count++] = (struct meta){lower, copy};
	return MHD_YES;
}

bool object_meta_from_request(struct request *req, struct meta **meta, size_t *count)
{
	struct meta_list list = {NULL, 0, false};
	MHD_get_connection_values(req->connection, MHD_HEADER_KIND, collect_meta, &list);
	size_t user = 0;
	for (size_t i = 0; i < list.count; i++)
		user += strlen(list.meta[i].name) + strlen(list.meta[i].value);
	if (list.failed || user > 8192) {
		meta_free(list.meta, list.count);
		reply_error(req, 400, list.failed ? "InternalError" : "MetadataTooLarge",
			    "Your metadata headers exceed the maximum allowed metadata size");
		return false;
	}
	/* aws-chunked is how the body travelled, not how it is stored (S3 drops it). */
	for (size_t i = 0; req->aws_chunked && i < list.count; i++) {
		if (strcmp(list.meta[i].name, "content-encoding") != 0)
			continue;
		char *value = list.meta[i].value;
		if (strncasecmp(value, "aws-chunked", 11) == 0) {
			const char *rest = value + 11;
			while (*rest == ',' || *rest == ' ')
				rest++;
			memmove(value, rest, strlen(rest) + 1);
		}
		if (!*value) {
			free(list.meta[i].name);
			free(list.meta[i].value);
			list.meta[i--] = list.meta[--list.count];
		}
	}
	*meta = list.meta;
	*count = list.count;
	return true;
}

void object_etag(const unsigned char md5[16], char out[48])
{
	out[0] = '"';
	for (int i = 0; i < 16; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", md5[i]);
	strcpy(out + 33, "\"");
}

static void digest(const EVP_MD *type, const void *data, size_t size, unsigned char *out)
{
	unsigned int length = 0;
	EVP_Digest(data ? data : "", size, out, &length, type, NULL);
}

/* A base64 digest header against the body (known: its digest already computed, or NULL);
 * false after answering. */
static bool check_base64_digest(struct request *req, const char *header, const EVP_MD *type,
				size_t digest_size, const unsigned char *known,
				const char *invalid_code, const char *name)
{
	const char *value = request_header(req, header);
	if (!value)
		return true;
	unsigned char decoded[80], computed[64];
	size_t length = strlen(value);
	if (length == 0 || length > 88 || length % 4 ||
	    EVP_DecodeBlock(decoded, (const unsigned char *)value, (int)length) < 0) {
		reply_error(req, 400, invalid_code, "The %s you specified was invalid.", name);
		return false;
	}
	size_t decoded_length = length / 4 * 3 - (value[length - 1] == '=') - (value[length - 2] == '=');
	if (decoded_length != digest_size) {
		reply_error(req, 400, invalid_code, "The %s you specified was invalid.", name);
		return false;
	}
	if (known)
		memcpy(computed, known, digest_size);
	else
		digest(type, req->body, req->body_length, computed);
	if (memcmp(decoded, computed, digest_size) != 0) {
		reply_error(req, 400, "BadDigest", "The %s you specified did not match the calculated "
			    "checksum.", name);
		return false;
	}
	return true;
}

bool object_check_digests(struct request *req, unsigned char md5[16])
{
	/* The MD5 (the ETag) once, for Content-MD5 too, as S3 hashes a body once. */
	digest(EVP_md5(), req->body, req->body_length, md5);
	return check_base64_digest(req, "Content-MD5", EVP_md5(), 16, md5, "InvalidDigest",
				   "Content-MD5") &&
	       check_base64_digest(req, "x-amz-checksum-sha1", EVP_sha1(), 20, NULL, "InvalidRequest",
				   "SHA1") &&
	       check_base64_digest(req, "x-amz-checksum-sha256", EVP_sha256(), 32, NULL,
				   "InvalidRequest", "SHA256");
}

void handle_put_object(struct request *req)
{
	unsigned char md5[16];
	struct meta *meta;
	size_t meta_count;
	if (!object_check_digests(req, md5) || !object_meta_from_request(req, &meta, &meta_count))
		return;
	char etag[48];
	object_etag(md5, etag);
	struct blob *blob = blob_take(req->body ? req->body : malloc(1), req->body_length);
	if (!blob) {
		meta_free(meta, meta_count);
		reply_error(req, 500, "InternalError", "out of memory");
		return;
	}
	req->body = NULL;
	req->body_length = req->body_capacity = 0;
	store_lock();
	struct bucket *bucket = store_bucket(req->bucket);
	struct object *object = NULL;
	char version_id[40] = "";
	if (bucket)
		object = store_put_object(bucket, req->key, blob, etag, meta, meta_count);
	else {
		blob_release(blob);
		meta_free(meta, meta_count);
	}
	if (object && bucket->versioning != VERSIONING_OFF)
		snprintf(version_id, sizeof version_id, "%s", object->version_id);
	store_unlock();
	if (!bucket) {
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return;
	}
	if (!object) {
		reply_error(req, 500, "InternalError", "out of memory");
		return;
	}
	reply_empty(req, 200);
	reply_header(req, "ETag", etag);
	if (version_id[0])
		reply_header(req, "x-amz-version-id", version_id);
	const char *sha1 = request_header(req, "x-amz-checksum-sha1");
	if (sha1)
		reply_header(req, "x-amz-checksum-sha1", sha1);
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" against size: 1 satisfiable (first/last set), 0 not
 * satisfiable (416), -1 not a single byte range (ignored, as S3 does). */
int object_parse_range(const char *range, size_t size, size_t *first, size_t *last)
{
	if (strncmp(range, "bytes=", 6) != 0 || strchr(range, ','))
		return -1;
	const char *spec = range + 6;
	char *end;
	if (*spec == '-') {
		if (!(spec[1] >= '0' && spec[1] <= '9'))
			return -1;
		unsigned long long suffix = strtoull(spec + 1, &end, 10);
		if (*end)
			return -1;
		if (suffix == 0 || size == 0)
			return 0;
		*first = suffix >= size ? 0 : size - (size_t)suffix;
		*last = size - 1;
		return 1;
	}
	if (!(*spec >= '0' && *spec <= '9'))
		return -1;
	unsigned long long a = strtoull(spec, &end, 10), b;
	if (*end != '-')
		return -1;
	if (end[1] == '\0') {
		b = size ? size - 1 : 0;
	} else {
		if (!(end[1] >= '0' && end[1] <= '9'))
			return -1;
		b = strtoull(end + 1, &end, 10);
		if (*end || b < a)
			return -1;
	}
	if (a >= size)
		return 0;
	*first = (size_t)a;
	*last = b >= size ? size - 1 : (size_t)b;
	return 1;
}

static bool etag_matches(const char *list, const char *etag)
{
	if (strcmp(list, "*") == 0)
		return true;
	/* a comma-separated list of quoted (or bare) ETags */
	char copy[1024], *save = NULL;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		size_t length = strlen(item);
		while (length && item[length - 1] == ' ')
			item[--length] = '\0';
		if (strcmp(item, etag) == 0 ||
		    (length + 2 == strlen(etag) && strncmp(etag + 1, item, length) == 0))
			return true;
	}
	return false;
}

/* A concurrent writer (the overwrite lie): the object that was just read gets other bytes (the
 * first flipped), another ETag, the same headers. Under the store lock. */
static void overwrite(const char *bucket_name, const char *key, const struct blob *read)
{
	struct bucket *bucket = store_bucket(bucket_name);
	struct object *object = bucket ? store_object(bucket, key) : NULL;
	if (!object || object->blob != read || read->size == 0)
		return;
	struct blob *changed = blob_new(read->data, read->size);
	struct meta *meta = meta_copy(object->meta, object->meta_count);
	if (!changed || (!meta && object->meta_count)) {
		blob_release(changed);
		meta_free(meta, object->meta_count);
		return;
	}
	changed->data[0] ^= 1;
	unsigned char md5[16];
	EVP_Digest(changed->data, changed->size, md5, NULL, EVP_md5(), NULL);
	char etag[48];
	object_etag(md5, etag);
	store_put_object(bucket, key, changed, etag, meta, object->meta_count);
}

void handle_get_object(struct request *req)
{
	store_lock();
	struct bucket *bucket = store_bucket(req->bucket);
	const char *wanted = request_param(req, "versionId");
	struct object *object = !bucket ? NULL : wanted ? store_find_version(bucket, req->key, wanted)
						 : store_object(bucket, req->key);
	if (!bucket) {
		store_unlock();
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return;
	}
	if (!object || object->delete_marker) {
		/* A delete marker: a GET of it is not allowed, a GET of the name finds nothing. */
		struct object *marker = object ? object : store_latest_marker(bucket, req->key);
		char marker_id[40] = "";
		if (marker)
			snprintf(marker_id, sizeof marker_id, "%s", marker->version_id);
		store_unlock();
		if (object)
			reply_error(req, 405, "MethodNotAllowed", "The specified method is not allowed "
				    "against this resource.");
		else if (wanted)
			reply_error(req, 404, "NoSuchVersion", "The specified version does not exist.");
		else
			reply_error(req, 404, "NoSuchKey", "The specified key does not exist.");
		if (marker) {
			reply_header(req, "x-amz-delete-marker", "true");
			reply_header(req, "x-amz-version-id", marker_id);
		}
		return;
	}
	char version_id[40] = "";
	if (bucket->versioning != VERSIONING_OFF || wanted)
		snprintf(version_id, sizeof version_id, "%s", object->version_id[0] ? object->version_id
										     : "null");
	struct blob *blob = object->blob;
	blob->references++;
	char etag[48], modified[40];
	snprintf(etag, sizeof etag, "%s", object->etag);
	format_http_date(object->modified, modified);
	struct meta *meta = meta_copy(object->meta, object->meta_count);
	size_t meta_count = meta ? object->meta_count : 0;
	store_unlock();

	const char *if_match = request_header(req, "If-Match");
	const char *if_none_match = request_header(req, "If-None-Match");
	const char *range = request_header(req, "Range");
	size_t first = 0, last = blob->size ? blob->size - 1 : 0;
	int ranged = range ? object_parse_range(range, blob->size, &first, &last) : -1;
	if (if_match && !etag_matches(if_match, etag)) {
		reply_error(req, 412, "PreconditionFailed", "At least one of the pre-conditions you "
			    "specified did not hold");
	} else if (if_none_match && etag_matches(if_none_match, etag)) {
		reply_empty(req, 304);
		reply_header(req, "ETag", etag);
	} else if (ranged == 0) {
		reply_error(req, 416, "InvalidRange", "The requested range is not satisfiable");
		char content_range[64];
		snprintf(content_range, sizeof content_range, "bytes */%zu", blob->size);
		reply_header(req, "Content-Range", content_range);
	} else {
		if (ranged == 1) {
			char content_range[96];
			size_t sent = last - first + 1;
			if (req->fault.kind == FAULT_WRONG_RANGE && last + 1 < blob->size) {
				first++; /* another stretch than asked, said as it is */
				last++;
			} else if (req->fault.kind == FAULT_WRONG_RANGE && first > 0) {
				first--;
				last--;
			}
			if (req->fault.kind == FAULT_SHORT_BODY && sent > 1)
				sent--; /* one byte less than Content-Range says */
			reply_bytes(req, 206, blob->data + first, sent);
			snprintf(content_range, sizeof content_range, "bytes %zu-%zu/%zu", first, last, blob->size);
			reply_header(req, "Content-Range", content_range);
		} else {
			reply_bytes(req, 200, blob->data, blob->size);
		}
		reply_header(req, "ETag", etag);
		reply_header(req, "Last-Modified", modified);
		reply_header(req, "Accept-Ranges", "bytes");
		if (version_id[0])
			reply_header(req, "x-amz-version-id", version_id);
		static const char *const overrides[][2] = {
			{"response-content-type", "content-type"},
			{"response-content-disposition", "content-disposition"},
			{"response-cache-control", "cache-control"},
			{"response-content-encoding", "content-encoding"},
			{"response-content-language", "content-language"},
			{"response-expires", "expires"},
		};
		bool typed = false;
		for (size_t i = 0; i < sizeof overrides / sizeof *overrides; i++) {
			const char *value = request_param(req, overrides[i][0]);
			if (value && !strpbrk(value, "\r\n")) {
				reply_header(req, overrides[i][1], value);
				typed |= i == 0;
			}
		}
		for (size_t i = 0; i < meta_count; i++) {
			bool overridden = false;
			for (size_t j = 0; j < sizeof overrides / sizeof *overrides; j++)
				overridden |= strcmp(meta[i].name, overrides[j][1]) == 0 &&
					      request_param(req, overrides[j][0]);
			if (!overridden)
				reply_header(req, meta[i].name, meta[i].value);
			typed |= strcmp(meta[i].name, "content-type") == 0;
		}
		if (!typed)
			reply_header(req, "Content-Type", "binary/octet-stream");
	}
	meta_free(meta, meta_count);
	store_lock();
	if (req->fault.kind == FAULT_OVERWRITE && req->status < 300)
		overwrite(req->bucket, req->key, blob);
	blob_release(blob);
	store_unlock();
}

void handle_delete_object(struct request *req)
{
	const char *wanted = request_param(req, "versionId");
	char version_id[40] = "";
	bool marker = false;
	store_lock();
	struct bucket *bucket = store_bucket(req->bucket);
	if (bucket && wanted) {
		/* One version for good (a missing one is 204 too, as S3 answers). */
		store_delete_version(bucket, req->key, wanted, &marker);
		snprintf(version_id, sizeof version_id, "%s", wanted);
	} else if (bucket) {
		store_delete_object(bucket, req->key, version_id);
		marker = version_id[0] != '\0';
	}
	store_unlock();
	if (!bucket) {
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return;
	}
	reply_empty(req, 204);
	if (version_id[0])
		reply_header(req, "x-amz-version-id", version_id);
	if (marker)
		reply_header(req, "x-amz-delete-marker", "true");
}

/* One <Object> of a DeleteObjects: its <Deleted> (unless quiet) or its <Error>. */
static void delete_one(struct bucket *bucket, const char *key, const char *version, bool quiet,
		       bool deny, struct xml *x)
{
	const char *code = !*key ? "InvalidArgument" : strlen(key) > 1024 ? "KeyTooLongError"
			   : deny ? "AccessDenied" : NULL;
	if (code) {
		xml_open(x, "Error");
		xml_element(x, "Key", key);
		if (version)
			xml_element(x, "VersionId", version);
		xml_element(x, "Code", code);
		xml_element(x, "Message", !*key ? "The key is empty" : deny ? "Access Denied"
					  : "Your key is too long");
		xml_close(x, "Error");
		return;
	}
	char marker_id[40] = "";
	bool marker = false;
	if (version)
		store_delete_version(bucket, key, version, &marker);
	else
		store_delete_object(bucket, key, marker_id);
	if (quiet)
		return;
	xml_open(x, "Deleted");
	xml_element(x, "Key", key);
	if (version)
		xml_element(x, "VersionId", version);
	if (marker || marker_id[0])
		xml_element(x, "DeleteMarker", "true");
	if (marker_id[0])
		xml_element(x, "DeleteMarkerVersionId", marker_id);
	xml_close(x, "Deleted");
}

void handle_delete_objects(struct request *req)
{
	unsigned char md5[16];
	if (!object_check_digests(req, md5))
		return;
	struct xml_doc doc;
	char message[256];
	if (req->body_length > 2 * 1024 * 1024 ||
	    !xml_parse(req->body, req->body_length, &doc, message, sizeof message)) {
		reply_error(req, 400, "MalformedXML", "%s", req->body_length > 2 * 1024 * 1024 ?
			    "The XML you provided was too large" : message);
		return;
	}
	bool quiet = false;
	size_t keys = 0;
	bool ok = strcmp(doc.nodes[doc.count - 1].path, "Delete") == 0;
	for (size_t i = 0; i < doc.count; i++) {
		if (strcmp(doc.nodes[i].path, "Delete/Quiet") == 0)
			quiet = strcmp(doc.nodes[i].text, "true") == 0;
		else if (strcmp(doc.nodes[i].path, "Delete/Object") == 0)
			keys++;
	}
	if (!ok || keys == 0 || keys > 1000) {
		xml_doc_free(&doc);
		reply_error(req, 400, "MalformedXML", "The XML you provided was not well-formed or did "
			    "not validate against our published schema (1 to 1000 keys)");
		return;
	}
	struct xml x;
	xml_begin(&x, "DeleteResult");
	store_lock();
	struct bucket *bucket = store_bucket(req->bucket);
	const char *key = NULL, *version = NULL;
	size_t position = 0;
	for (size_t i = 0; bucket && i < doc.count; i++) {
		/* An Object's children end before it does: its Key and VersionId, then the Object. */
		if (strcmp(doc.nodes[i].path, "Delete/Object/Key") == 0)
			key = doc.nodes[i].text;
		else if (strcmp(doc.nodes[i].path, "Delete/Object/VersionId") == 0)
			version = doc.nodes[i].text;
		if (strcmp(doc.nodes[i].path, "Delete/Object") != 0)
			continue;
		/* The deny lie: every other key (the first, the third ...) is refused and kept. */
		bool deny = req->fault.kind == FAULT_DENY_KEYS && position++ % 2 == 0;
		delete_one(bucket, key ? key : "", version, quiet, deny, &x);
		key = version = NULL;
	}
	store_unlock();
	xml_doc_free(&doc);
	if (!bucket) {
		free(x.data);
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
		return;
	}
	reply_xml(req, 200, xml_finish(&x, "DeleteResult"));
}

bool object_copy_source(struct request *req, char **bucket, char **key)
{
	const char *source = request_header(req, "x-amz-copy-source");
	*bucket = *key = NULL;
	char *decoded = source ? percent_decode(source, strcspn(source, "?")) : NULL;
	const char *path = decoded ? decoded + (decoded[0] == '/') : NULL;
	const char *slash = path ? strchr(path, '/') : NULL;
	if (!slash || slash == path || !slash[1] || strlen(slash + 1) > 1024) {
		free(decoded);
		reply_error(req, 400, "InvalidArgument", "Copy Source must mention the source bucket "
			    "and key: sourcebucket/sourcekey");
		return false;
	}
	*bucket = strndup(path, (size_t)(slash - path));
	*key = strdup(slash + 1);
	free(decoded);
	if (!*bucket || !*key) {
		free(*bucket);
		free(*key);
		reply_error(req, 500, "InternalError", "out of memory");
		return false;
	}
	return true;
}

void handle_copy_object(struct request *req)
{
	char *source_bucket, *source_key;
	if (!object_copy_source(req, &source_bucket, &source_key))
		return;
	const char *directive = request_header(req, "x-amz-metadata-directive");
	bool replace = directive && strcmp(directive, "REPLACE") == 0;
	if (directive && !replace && strcmp(directive, "COPY") != 0) {
		free(source_bucket);
		free(source_key);
		reply_error(req, 400, "InvalidArgument", "Unknown metadata directive.");
		return;
	}
	struct meta *meta = NULL;
	size_t meta_count = 0;
	if (replace && !object_meta_from_request(req, &meta, &meta_count)) {
		free(source_bucket);
		free(source_key);
		return;
	}
	char etag[48] = "", modified[32] = "", version_id[40] = "";
	int status = 200;
	const char *code = NULL, *message = NULL;
	store_lock();
	struct bucket *from = store_bucket(source_bucket), *to = store_bucket(req->bucket);
	struct object *source = from ? store_object(from, source_key) : NULL;
	if (!from || !to) {
		status = 404, code = "NoSuchBucket", message = "The specified bucket does not exist";
	} else if (!source) {
		status = 404, code = "NoSuchKey", message = "The specified key does not exist.";
	} else if (from == to && strcmp(source_key, req->key) == 0 && !replace) {
		status = 400, code = "InvalidRequest";
		message = "This copy request is illegal because it is trying to copy an object to itself "
			  "without changing the object's metadata, storage class, website redirect "
			  "location or encryption attributes.";
	} else {
		if (!replace) {
			meta = meta_copy(source->meta, source->meta_count);
			meta_count = meta ? source->meta_count : 0;
		}
		struct blob *blob = source->blob;
		blob->references++;
		snprintf(etag, sizeof etag, "%s", source->etag);
		struct object *copy = store_put_object(to, req->key, blob, etag, meta, meta_count);
		meta = NULL;
		if (copy && to->versioning != VERSIONING_OFF)
			snprintf(version_id, sizeof version_id, "%s", copy->version_id);
		if (copy)
			format_iso8601(copy->modified, modified);
		else
			status = 500, code = "InternalError", message = "out of memory";
	}
	store_unlock();
	meta_free(meta, meta_count);
	free(source_bucket);
	free(source_key);
	if (code) {
		reply_error(req, status, code, "%s", message);
		return;
	}
	struct xml x;
	if (version_id[0])
		reply_header(req, "x-amz-version-id", version_id);
	xml_begin(&x, "CopyObjectResult");
	xml_element(&x, "LastModified", modified);
	xml_element(&x, "ETag", etag);
	reply_xml(req, 200, xml_finish(&x, "CopyObjectResult"));
}
