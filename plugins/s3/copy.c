/* plugins/s3/copy.c — copy: CopyObject inside S3 (metadata copied with the bytes) up to
 * copy_cutoff (5 GiB, S3's limit), above it UploadPartCopy parts (multipart.c) with the source's
 * metadata given again; the new object read back with HeadObject for the report. */
#include "operations.h"

#include "digest.h"
#include "head.h"
#include "instance.h"
#include "meta.h"
#include "multipart.h"
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The new object as HeadObject describes it, reported once. */
static enum stor_status report_copy(struct s3_plugin *plugin, const char *bucket, const char *key,
                                    stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct sp_http_response response;
    enum stor_status status = s3_head_object(plugin, bucket, key, &response, err);
    if (status != STOR_OK)
        return status;
    struct s3_object_view view;
    s3_meta_read(&response, key, &view);
    if (on_result && on_result(context, &view.object) != 0)
        status = stor_fail(err, STOR_ECANCELLED, "stopped");
    sp_http_response_free(&response);
    return status;
}

/* Above copy_cutoff: UploadPartCopy parts; the multipart upload is created with what the
 * source carries (headers, user metadata, mtime, SHA-1, MD5), as CopyObject would copy it. */
static enum stor_status copy_in_parts(struct s3_plugin *plugin,
                                      const struct sp_http_response *head,
                                      const struct s3_object_view *view, const char *source_bucket,
                                      const char *source_key, const char *bucket, const char *key,
                                      struct stor_error *err)
{
    const struct stor_object *o = &view->object;
    struct stor_put_options options = {
        .struct_size = sizeof options, .size = o->size, .mtime_ms = -1,
        .content_type = o->content_type, .cache_control = o->cache_control,
        .content_disposition = o->content_disposition, .content_encoding = o->content_encoding,
        .content_language = o->content_language, .expires = o->expires,
        .metadata = o->metadata, .metadata_count = o->metadata_count,
        .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    const char *kept_mtime = sp_http_header(head, "x-amz-meta-mtime");
    char md5_base64[25] = "";
    if (o->md5) { /* the whole object's MD5, kept as rclone keeps it for a multipart object */
        unsigned char raw[16];
        for (int i = 0; i < 16; i++) {
            unsigned byte;
            sscanf(o->md5 + 2 * i, "%2x", &byte);
            raw[i] = (unsigned char)byte;
        }
        s3_base64(raw, 16, md5_base64);
    }
    struct s3_put_meta meta;
    enum stor_status status = s3_meta_build(plugin, &options, o->sha1,
                                            md5_base64[0] ? md5_base64 : NULL,
                                            kept_mtime ? s3_meta_parse_mtime(kept_mtime) : -1,
                                            &meta, err);
    if (status != STOR_OK)
        return status;
    const char *etag = sp_http_header(head, "ETag");
    status = s3_multipart_copy(plugin, source_bucket, source_key, etag, o->size, bucket, key,
                               meta.headers, meta.count, err);
    s3_meta_free(&meta);
    return status;
}

enum stor_status s3_copy(void *instance, const char *source_bucket, const char *source_key,
                         const char *bucket, const char *key, stor_object_fn on_result,
                         void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    struct sp_http_response response;
    enum stor_status status = s3_head_object(plugin, source_bucket, source_key, &response, err);
    if (status != STOR_OK)
        return status;
    struct s3_object_view view;
    s3_meta_read(&response, source_key, &view);
    int64_t size = view.object.size;
    if (strcmp(source_bucket, bucket) == 0 && strcmp(source_key, key) == 0) {
        sp_http_response_free(&response);
        return stor_fail(err, STOR_EINVAL, "a copy onto itself");
    }
    if (size > plugin->config.copy_cutoff) {
        status = copy_in_parts(plugin, &response, &view, source_bucket, source_key, bucket, key,
                               err);
        sp_http_response_free(&response);
        if (status != STOR_OK)
            return status;
        return report_copy(plugin, bucket, key, on_result, context, err);
    }
    sp_http_response_free(&response);
    char *source = NULL;
    if (asprintf(&source, "/%s/%s", source_bucket, source_key) < 0)
        source = NULL;
    char *escaped = source ? s3_sigv4_escape(source, strlen(source), true) : NULL;
    free(source);
    if (!escaped)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    struct s3_sigv4_header headers[] = {{"x-amz-copy-source", escaped},
                                        {"x-amz-metadata-directive", "COPY"}};
    struct s3_call call = {.operation = "CopyObject", .method = "PUT", .bucket = bucket,
                           .key = key, .headers = headers, .header_count = 2, .body_fd = -1};
    status = s3_request(plugin, &call, &response, NULL, err);
    free(escaped);
    if (status != STOR_OK)
        return status;
    char etag[80], why[S3_WHY_MAX];
    struct s3_wire_error error;
    /* S3 may answer 200 and fail inside the body, when the copy went wrong after it began. */
    if (s3_wire_result_etag(response.body, response.body_length, "CopyObjectResult", etag, &error,
                            why) != 0)
        status = stor_fail(err, STOR_EIO, "S3 CopyObject %s/%s to %s/%s: %s", source_bucket,
                           source_key, bucket, key, why);
    sp_http_response_free(&response);
    if (status != STOR_OK)
        return status;
    return report_copy(plugin, bucket, key, on_result, context, err);
}
