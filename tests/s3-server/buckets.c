/* buckets.c — bucket operations of the S3 test server: ListBuckets, CreateBucket (with a
 * LocationConstraint body), DeleteBucket, HeadBucket, GetBucketLocation, GetBucketVersioning,
 * and the listings ListObjects (v1, marker) and ListObjectsV2 (continuation tokens). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The bucket of the request, or NULL after answering NoSuchBucket. Under the store lock. */
static struct bucket *existing_bucket(struct request *req)
{
	struct bucket *bucket = store_bucket(req->bucket);
	if (!bucket)
		reply_error(req, 404, "NoSuchBucket", "The specified bucket does not exist");
	return bucket;
}

void handle_list_buckets(struct request *req)
{
	struct xml x;
	char date[32];
	xml_begin(&x, "ListAllMyBucketsResult");
	owner(&x, "Owner");
	xml_open(&x, "Buckets");
	store_lock();
	for (size_t i = 0; i < store_bucket_count(); i++) {
		struct bucket *bucket = store_bucket_at(i);
		xml_open(&x, "Bucket");
		xml_element(&x, "Name", bucket->name);
		format_iso8601(bucket->created, date);
		xml_element(&x, "CreationDate", date);
		xml_close(&x, "Bucket");
	}
	store_unlock();
	xml_close(&x, "Buckets");
	reply_xml(req, 200, xml_finish(&x, "ListAllMyBucketsResult"));
}

static bool valid_bucket_name(const char *name)
{
	size_t length = strlen(name);
	if (length < 3 || length > 63)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
			return false;
	if (strstr(name, "..") || strstr(name, ".-") || strstr(name, "-."))
		return false;
	return name[0] != '-' && name[0] != '.' && name[length - 1] != '-' && name[length - 1] != '.';
}

void handle_create_bucket(struct request *req)
{
	if (!valid_bucket_name(req->bucket)) {
		reply_error(req, 400, "InvalidBucketName", "The specified bucket is not valid.");
		return;
	}
	char region[32];
	snprintf(region, sizeof region, "%s", server_config.region);
	if (req->body_length > 0) {
		struct xml_doc doc;
		char message[256];
		if (req->body_length > 64 * 1024 ||
		    !xml_parse(req->body, req->body_length, &doc, message, sizeof message)) {
			reply_error(req, 400, "MalformedXML", "%s", req->body_length > 64 * 1024 ?
				    "The XML you provided was too large" : message);
			return;
		}
		bool ok = strcmp(doc.nodes[doc.count - 1].path, "CreateBucketConfiguration") == 0;
		for (size_t i = 0; ok && i < doc.count; i++)
			if (strcmp(doc.nodes[i].path, "CreateBucketConfiguration/LocationConstraint") == 0)
				snprintf(region, sizeof region, "%s", doc.nodes[i].text);
		xml_doc_free(&doc);
		if (!ok) {
			reply_error(req, 400, "MalformedXML", "The XML you provided was not well-formed or "
				    "did not validate against our published schema");
			return;
		}
		/* S3 names us-east-1 by an empty constraint ("US" and "EU" are legacy names). */
		if (!region[0] || strcmp(region, "US") == 0)
			snprintf(region, sizeof region, "us-east-1");
		if (strcmp(region, server_config.region) != 0) {
			reply_error(req, 400, "IllegalLocationConstraintException", "The %s location "
				    "constraint is incompatible for the region specific endpoint this "
				    "request was sent to (%s).", region, server_config.region);
			return;
		}
	}
	store_lock();
	bool exists = store_bucket(req->bucket) != NULL;
	bool created = !exists && store_create_bucket(req->bucket, region);
	store_unlock();
	if (exists) {
		reply_error(req, 409, "BucketAlreadyOwnedByYou", "Your previous request to create the "
			    "named bucket succeeded and you already own it.");
		return;
	}
	if (!created) {
		reply_error(req, 500, "InternalError", "We encountered an internal error (out of memory).");
		return;
	}
	char location[128];
	snprintf(location, sizeof location, "/%s", req->bucket);
	reply_empty(req, 200);
	reply_header(req, "Location", location);
}

void handle_delete_bucket(struct request *req)
{
	store_lock();
	struct bucket *bucket = existing_bucket(req);
	if (bucket && (bucket->object_count > 0 || bucket->history_count > 0)) {
		reply_error(req, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
	} else if (bucket) {
		store_delete_bucket(bucket);
		reply_empty(req, 204);
	}
	store_unlock();
}

void handle_head_bucket(struct request *req)
{
	store_lock();
	struct bucket *bucket = existing_bucket(req);
	if (bucket) {
		reply_empty(req, 200);
		reply_header(req, "x-amz-bucket-region", bucket->region);
	}
	store_unlock();
}

void handle_get_bucket_location(struct request *req)
{
	char region[32] = "";
	store_lock();
	struct bucket *bucket = existing_bucket(req);
	if (bucket)
		snprintf(region, sizeof region, "%s", bucket->region);
	store_unlock();
	if (!bucket)
		return;
	struct xml x;
	memset(&x, 0, sizeof x);
	xml_raw(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	/* us-east-1 answers an empty constraint */
	if (strcmp(region, "us-east-1") != 0)
		xml_raw(&x, region);
	xml_raw(&x, "</LocationConstraint>");
	reply_xml(req, 200, x.failed ? NULL : x.data);
}

void handle_get_bucket_versioning(struct request *req)
{
	store_lock();
	struct bucket *bucket = existing_bucket(req);
	enum versioning versioning = bucket ? bucket->versioning : VERSIONING_OFF;
	store_unlock();
	if (!bucket)
		return;
	struct xml x;
	xml_begin(&x, "VersioningConfiguration");
	if (versioning != VERSIONING_OFF)
		xml_element(&x, "Status", versioning == VERSIONING_ENABLED ? "Enabled" : "Suspended");
	reply_xml(req, 200, xml_finish(&x, "VersioningConfiguration"));
}

void handle_put_bucket_versioning(struct request *req)
{
	struct xml_doc doc;
	char message[256];
	if (req->body_length > 64 * 1024 ||
	    !xml_parse(req->body, req->body_length, &doc, message, sizeof message)) {
		reply_error(req, 400, "MalformedXML", "%s", req->body_length > 64 * 1024 ?
			    "The XML you provided was too large" : message);
		return;
	}
	const char *status = NULL;
	bool root = doc.count && strcmp(doc.nodes[doc.count - 1].path, "VersioningConfiguration") == 0;
	for (size_t i = 0; i < doc.count; i++)
		if (strcmp(doc.nodes[i].path, "VersioningConfiguration/Status") == 0)
			status = doc.nodes[i].text;
	enum versioning wanted = !status ? VERSIONING_OFF : strcmp(status, "Enabled") == 0
				 ? VERSIONING_ENABLED : strcmp(status, "Suspended") == 0
				 ? VERSIONING_SUSPENDED : VERSIONING_OFF;
	xml_doc_free(&doc);
	if (!root || wanted == VERSIONING_OFF) {
		reply_error(req, 400, "MalformedXML", "The XML you provided was not well-formed or did "
			    "not validate against our published schema (Status Enabled or Suspended)");
		return;
	}
	store_lock();
	struct bucket *bucket = existing_bucket(req);
	if (bucket)
		store_set_versioning(bucket, wanted);
	store_unlock();
	if (bucket)
		reply_empty(req, 200);
}

/* ---- listing ---- */

/* encoding-type=url: everything but unreserved characters and '/' as %XX (botocore decodes it
 * with unquote_plus, so '+' must be escaped). */
static void listed(struct xml *x, const char *tag, const char *text, bool url)
{
	if (!url) {
		xml_element(x, tag, text);
		return;
	}
	char *escaped = s3_sigv4_escape(text, strlen(text), true);
	xml_element(x, tag, escaped ? escaped : "");
	free(escaped);
}

static char *hex_encode(const char *text)
{
	size_t length = strlen(text);
	char *out = malloc(2 * length + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < length; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)text[i]);
	out[2 * length] = '\0';
	return out;
}

static char *hex_decode(const char *text)
{
	size_t length = strlen(text);
	if (length % 2 || length > 4096)
		return NULL;
	char *out = malloc(length / 2 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < length / 2; i++) {
		unsigned value;
		if (sscanf(text + 2 * i, "%2x", &value) != 1 || value == 0 ||
		    !strchr("0123456789abcdef", text[2 * i]) || !strchr("0123456789abcdef", text[2 * i + 1])) {
			free(out);
			return NULL;
		}
		out[i] = (char)value;
	}
	out[length / 2] = '\0';
	return out;
}

static bool starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

void handle_list_objects(struct request *req, bool v2)
{
	const char *prefix = request_param(req, "prefix"), *delimiter = request_param(req, "delimiter");
	const char *max_text = request_param(req, "max-keys"), *encoding = request_param(req, "encoding-type");
	const char *token = v2 ? request_param(req, "continuation-token") : NULL;
	const char *start_after = request_param(req, v2 ? "start-after" : "marker");
	bool url = encoding && strcmp(encoding, "url") == 0;
	bool fetch_owner = !v2 || (request_param(req, "fetch-owner") &&
				   strcmp(request_param(req, "fetch-owner"), "true") == 0);
	if (encoding && !url) {
		reply_error(req, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
		return;
	}
	long max_keys = 1000;
	if (max_text) {
		char *end;
		max_keys = strtol(max_text, &end, 10);
		if (!*max_text || *end || max_keys < 0) {
			reply_error(req, 400, "InvalidArgument", "Provided max-keys not an integer or within "
				    "integer range");
			return;
		}
		if (max_keys > 1000)
			max_keys = 1000;
	}
	prefix = prefix ? prefix : "";
	if (delimiter && !*delimiter)
		delimiter = NULL;
	char *after = NULL;
	if (token) {
		after = hex_decode(token);
		if (!after) {
			reply_error(req, 400, "InvalidArgument", "The continuation token provided is incorrect");
			return;
		}
	} else if (start_after && *start_after) {
		after = strdup(start_after);
	}

	struct xml x;
	char date[32], size[32];
	xml_begin(&x, "ListBucketResult");
	xml_element(&x, "Name", req->bucket);
	listed(&x, "Prefix", prefix, url);
	if (v2) {
		if (token)
			xml_element(&x, "ContinuationToken", token);
		if (start_after)
			listed(&x, "StartAfter", start_after, url);
	} else {
		listed(&x, "Marker", start_after ? start_after : "", url);
	}
	if (delimiter)
		listed(&x, "Delimiter", delimiter, url);
	xml_elementf(&x, "MaxKeys", "%ld", max_keys);
	if (url)
		xml_element(&x, "EncodingType", "url");

	store_lock();
	struct bucket *bucket = existing_bucket(req);
	if (!bucket) {
		store_unlock();
		free(after);
		free(x.data);
		return;
	}
	struct xml items;
	memset(&items, 0, sizeof items);
	long count = 0;
	bool truncated = false;
	char *last = NULL, *last_prefix = NULL;
	size_t index = after ? store_object_index(bucket, after, false)
			     : store_object_index(bucket, prefix, true);
	for (; index < bucket->object_count; index++) {
		struct object *object = bucket->objects[index];
		if (!starts_with(object->key, prefix)) {
			if (strcmp(object->key, prefix) > 0)
				break;
			continue;
		}
		/* resuming after a common prefix skips everything under it */
		if (after && delimiter && starts_with(object->key, after) &&
		    strlen(after) >= strlen(delimiter) &&
		    strcmp(after + strlen(after) - strlen(delimiter), delimiter) == 0)
			continue;
		const char *rest = object->key + strlen(prefix);
		const char *cut = delimiter ? strstr(rest, delimiter) : NULL;
		if (cut) {
			size_t length = (size_t)(cut - object->key) + strlen(delimiter);
			if (last_prefix && strlen(last_prefix) == length &&
			    strncmp(last_prefix, object->key, length) == 0)
				continue;
			if (count >= max_keys) {
				truncated = true;
				break;
			}
			free(last_prefix);
			last_prefix = strndup(object->key, length);
			free(last);
			last = last_prefix ? strdup(last_prefix) : NULL;
			xml_open(&items, "CommonPrefixes");
			listed(&items, "Prefix", last_prefix ? last_prefix : "", url);
			xml_close(&items, "CommonPrefixes");
			count++;
			continue;
		}
		if (count >= max_keys) {
			truncated = true;
			break;
		}
		xml_open(&items, "Contents");
		listed(&items, "Key", object->key, url);
		format_iso8601(object->modified, date);
		xml_element(&items, "LastModified", date);
		xml_element(&items, "ETag", object->etag);
		snprintf(size, sizeof size, "%zu", object->blob->size);
		xml_element(&items, "Size", size);
		if (fetch_owner)
			owner(&items, "Owner");
		xml_element(&items, "StorageClass", "STANDARD");
		xml_close(&items, "Contents");
		free(last);
		last = strdup(object->key);
		count++;
	}
	store_unlock();
	if (!last)
		truncated = false; /* max-keys=0: nothing listed, nothing to resume from */
	if (v2)
		xml_elementf(&x, "KeyCount", "%ld", count);
	xml_element(&x, "IsTruncated", truncated ? "true" : "false");
	if (truncated && last) {
		if (v2) {
			char *next = hex_encode(last);
			xml_element(&x, "NextContinuationToken", next ? next : "");
			free(next);
		} else {
			listed(&x, "NextMarker", last, url);
		}
	}
	xml_raw(&x, items.data ? items.data : "");
	x.failed |= items.failed;
	free(items.data);
	free(last);
	free(last_prefix);
	free(after);
	reply_xml(req, 200, xml_finish(&x, "ListBucketResult"));
}

/* ---- ListObjectVersions ---- */

/* The versions of a bucket in S3's order: by key, the newest first (the current version, then
 * the history). A cursor over both arrays. */
struct version_cursor {
	struct bucket *bucket;
	size_t current, history;
};

static struct object *cursor_peek(struct version_cursor *c, bool *latest)
{
	struct bucket *b = c->bucket;
	struct object *now = c->current < b->object_count ? b->objects[c->current] : NULL;
	struct object *old = c->history < b->history_count ? b->history[c->history] : NULL;
	if (now && (!old || strcmp(now->key, old->key) <= 0)) {
		*latest = true;
		return now;
	}
	/* A history entry is the latest when its key has no current version and it is the first */
	*latest = old && !store_object(b, old->key) &&
		  (c->history == 0 || strcmp(b->history[c->history - 1]->key, old->key) != 0);
	return old;
}

static void cursor_next(struct version_cursor *c, const struct object *taken)
{
	if (c->current < c->bucket->object_count && c->bucket->objects[c->current] == taken)
		c->current++;
	else
		c->history++;
}

/* Past every version up to (key_marker, version_marker): with a version marker, the versions of
 * key_marker up to and including it; without, all of key_marker. */
static void cursor_seek(struct version_cursor *c, const char *key_marker, const char *version_marker)
{
	c->current = store_object_index(c->bucket, key_marker, false);
	c->history = store_history_index(c->bucket, key_marker);
	while (c->history < c->bucket->history_count &&
	       strcmp(c->bucket->history[c->history]->key, key_marker) == 0)
		c->history++;
	if (!version_marker || !*version_marker)
		return;
	/* The marker's key again, from its newest version, resuming after the marker. */
	size_t current = store_object_index(c->bucket, key_marker, true);
	size_t history = store_history_index(c->bucket, key_marker);
	struct version_cursor at = {c->bucket, current, history};
	bool latest;
	for (struct object *o; (o = cursor_peek(&at, &latest)) && strcmp(o->key, key_marker) == 0;) {
		cursor_next(&at, o);
		const char *id = o->version_id[0] ? o->version_id : "null";
		if (strcmp(id, version_marker) == 0) {
			*c = at;
			return;
		}
	}
}

void handle_list_object_versions(struct request *req)
{
	const char *prefix = request_param(req, "prefix"), *delimiter = request_param(req, "delimiter");
	const char *max_text = request_param(req, "max-keys"), *encoding = request_param(req, "encoding-type");
	const char *key_marker = request_param(req, "key-marker");
	const char *version_marker = request_param(req, "version-id-marker");
	bool url = encoding && strcmp(encoding, "url") == 0;
	if (encoding && !url) {
		reply_error(req, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
		return;
	}
	if (version_marker && *version_marker && (!key_marker || !*key_marker)) {
		reply_error(req, 400, "InvalidArgument", "A version-id marker cannot be specified "
			    "without a key marker.");
		return;
	}
	long max_keys = 1000;
	if (max_text) {
		char *end;
		max_keys = strtol(max_text, &end, 10);
		if (!*max_text || *end || max_keys < 0) {
			reply_error(req, 400, "InvalidArgument", "Provided max-keys not an integer or within "
				    "integer range");
			return;
		}
		if (max_keys > 1000)
			max_keys = 1000;
	}
	prefix = prefix ? prefix : "";
	if (delimiter && !*delimiter)
		delimiter = NULL;
	struct xml x;
	xml_begin(&x, "ListVersionsResult");
	xml_element(&x, "Name", req->bucket);
	listed(&x, "Prefix", prefix, url);
	listed(&x, "KeyMarker", key_marker ? key_marker : "", url);
	xml_element(&x, "VersionIdMarker", version_marker ? version_marker : "");
	xml_elementf(&x, "MaxKeys", "%ld", max_keys);
	if (delimiter)
		listed(&x, "Delimiter", delimiter, url);
	if (url)
		xml_element(&x, "EncodingType", "url");

	store_lock();
	struct bucket *bucket = existing_bucket(req);
	if (!bucket) {
		store_unlock();
		free(x.data);
		return;
	}
	struct version_cursor cursor = {bucket, 0, 0};
	if (key_marker && *key_marker)
		cursor_seek(&cursor, key_marker, version_marker);
	else {
		cursor.current = store_object_index(bucket, prefix, true);
		cursor.history = store_history_index(bucket, prefix);
	}
	struct xml items;
	memset(&items, 0, sizeof items);
	long count = 0;
	bool truncated = false, latest;
	char *next_key = NULL, next_version[40] = "", *last_prefix = NULL;
	char date[32], size[32];
	for (struct object *o; (o = cursor_peek(&cursor, &latest));) {
		if (!starts_with(o->key, prefix)) {
			if (strcmp(o->key, prefix) > 0)
				break;
			cursor_next(&cursor, o);
			continue;
		}
		/* resuming after a common prefix skips everything under it */
		if (key_marker && delimiter && starts_with(o->key, key_marker) &&
		    strlen(key_marker) >= strlen(delimiter) &&
		    strcmp(key_marker + strlen(key_marker) - strlen(delimiter), delimiter) == 0) {
			cursor_next(&cursor, o);
			continue;
		}
		const char *cut = delimiter ? strstr(o->key + strlen(prefix), delimiter) : NULL;
		if (cut) {
			size_t length = (size_t)(cut - o->key) + strlen(delimiter);
			if (last_prefix && strlen(last_prefix) == length &&
			    strncmp(last_prefix, o->key, length) == 0) {
				cursor_next(&cursor, o);
				continue;
			}
			if (count >= max_keys) {
				truncated = true;
				break;
			}
			free(last_prefix);
			last_prefix = strndup(o->key, length);
			free(next_key);
			next_key = last_prefix ? strdup(last_prefix) : NULL;
			next_version[0] = '\0';
			xml_open(&items, "CommonPrefixes");
			listed(&items, "Prefix", last_prefix ? last_prefix : "", url);
			xml_close(&items, "CommonPrefixes");
			count++;
			cursor_next(&cursor, o);
			continue;
		}
		if (count >= max_keys) {
			truncated = true;
			break;
		}
		const char *id = o->version_id[0] ? o->version_id : "null";
		const char *tag = o->delete_marker ? "DeleteMarker" : "Version";
		xml_open(&items, tag);
		listed(&items, "Key", o->key, url);
		xml_element(&items, "VersionId", id);
		xml_element(&items, "IsLatest", latest ? "true" : "false");
		format_iso8601(o->modified, date);
		xml_element(&items, "LastModified", date);
		if (!o->delete_marker) {
			xml_element(&items, "ETag", o->etag);
			snprintf(size, sizeof size, "%zu", o->blob->size);
			xml_element(&items, "Size", size);
			xml_element(&items, "StorageClass", "STANDARD");
		}
		owner(&items, "Owner");
		xml_close(&items, tag);
		free(next_key);
		next_key = strdup(o->key);
		snprintf(next_version, sizeof next_version, "%s", id);
		count++;
		cursor_next(&cursor, o);
	}
	store_unlock();
	if (!next_key)
		truncated = false; /* max-keys=0: nothing listed, nothing to resume from */
	xml_element(&x, "IsTruncated", truncated ? "true" : "false");
	if (truncated) {
		listed(&x, "NextKeyMarker", next_key, url);
		if (next_version[0])
			xml_element(&x, "NextVersionIdMarker", next_version);
	}
	xml_raw(&x, items.data ? items.data : "");
	x.failed |= items.failed;
	free(items.data);
	free(next_key);
	free(last_prefix);
	reply_xml(req, 200, xml_finish(&x, "ListVersionsResult"));
}
