/* plugins/s3/meta.c — a put's headers and metadata, and an object read back from HEAD/GET
 * headers (meta.h). Pure: no I/O, no calls; above request.c only for the types it shares. */
#include "meta.h"

#include "digest.h"
#include "wire.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int add(struct s3_put_meta *meta, const char *name, const char *value, int copy_name)
{
    if (meta->count >= S3_META_HEADERS_MAX)
        return -1;
    char *owned_value = strdup(value);
    char *owned_name = copy_name ? strdup(name) : NULL;
    if (!owned_value || (copy_name && !owned_name)) {
        free(owned_value);
        free(owned_name);
        return -1;
    }
    meta->owned[meta->owned_count++] = owned_value;
    if (owned_name)
        meta->owned[meta->owned_count++] = owned_name;
    meta->headers[meta->count++] = (struct s3_sigv4_header){owned_name ? owned_name : name, owned_value};
    return 0;
}

static int value_ok(const char *value)
{
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c < ' ' || *c == 127 || *c > 126)
            return 0; /* S3 keeps US-ASCII in headers */
    return 1;
}

static int name_ok(const char *name)
{
    if (!*name || strlen(name) > 128)
        return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (!isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
            return 0;
    return 1;
}

void s3_meta_format_mtime(int64_t mtime_ms, char out[32])
{
    int64_t seconds = mtime_ms / 1000, millis = mtime_ms % 1000;
    if (millis < 0)
        seconds--, millis += 1000;
    if (millis == 0)
        snprintf(out, 32, "%lld", (long long)seconds);
    else {
        snprintf(out, 32, "%lld.%03lld", (long long)seconds, (long long)millis);
        size_t length = strlen(out);
        while (out[length - 1] == '0')
            out[--length] = '\0';
    }
}

int64_t s3_meta_parse_mtime(const char *text)
{
    if (!text || !*text)
        return -1;
    const char *c = text;
    int negative = *c == '-';
    if (negative)
        c++;
    if (!isdigit((unsigned char)*c))
        return -1;
    int64_t seconds = 0, millis = 0;
    for (; isdigit((unsigned char)*c); c++) {
        if (seconds > 100000000000LL)
            return -1;
        seconds = seconds * 10 + (*c - '0');
    }
    if (*c == '.') {
        int digits = 0;
        for (c++; isdigit((unsigned char)*c); c++, digits++)
            if (digits < 3)
                millis = millis * 10 + (*c - '0');
        for (; digits < 3; digits++)
            millis *= 10;
    }
    if (*c)
        return -1;
    int64_t ms = seconds * 1000 + millis;
    return negative ? -ms : ms;
}

enum stor_status s3_meta_build(const struct s3_plugin *plugin, const struct stor_put_options *options,
                               const char *sha1, const char *md5_base64, int64_t mtime_ms,
                               struct s3_put_meta *meta, struct stor_error *err)
{
    memset(meta, 0, sizeof *meta);
    const struct stor_protection *protection = options ? &options->protection : NULL;
    if (protection && protection->encryption)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 does not keep encryption (asked: %s)",
                         protection->encryption);
    if (protection && (protection->retention_mode || protection->legal_hold > 0))
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 does not keep retention or legal "
                         "holds");
    const char *content_type = options && options->content_type ? options->content_type
                                                                : plugin->config.content_type;
    struct {
        const char *name, *value;
    } fields[] = {
        {"Content-Type", content_type},
        {"Cache-Control", options ? options->cache_control : NULL},
        {"Content-Disposition", options ? options->content_disposition : NULL},
        {"Content-Encoding", options ? options->content_encoding : NULL},
        {"Content-Language", options ? options->content_language : NULL},
        {"Expires", options ? options->expires : NULL},
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (!fields[i].value)
            continue;
        if (!value_ok(fields[i].value)) {
            s3_meta_free(meta);
            return stor_fail(err, STOR_EINVAL, "%s must be printable US-ASCII for S3", fields[i].name);
        }
        if (add(meta, fields[i].name, fields[i].value, 0) != 0)
            goto no_memory;
    }
    size_t user_bytes = 0;
    for (size_t i = 0; options && i < options->metadata_count; i++) {
        const struct stor_option *entry = &options->metadata[i];
        const char *value = entry->value ? entry->value : "";
        if (!name_ok(entry->key) || !value_ok(value)) {
            s3_meta_free(meta);
            return stor_fail(err, STOR_EINVAL, "metadata %s: S3 takes names of letters, digits "
                             "and -_. and printable US-ASCII values", entry->key);
        }
        if (strcasecmp(entry->key, "mtime") == 0 || strcasecmp(entry->key, "sha1") == 0 ||
            strcasecmp(entry->key, "md5chksum") == 0) {
            s3_meta_free(meta);
            return stor_fail(err, STOR_EINVAL, "metadata %s is the plugin's own", entry->key);
        }
        user_bytes += strlen(entry->key) + strlen(value);
        if (user_bytes > S3_USER_METADATA_MAX || i >= S3_MAX_METADATA) {
            s3_meta_free(meta);
            return stor_fail(err, STOR_EINVAL, "too much metadata: S3 keeps %d bytes of names "
                             "and values", S3_USER_METADATA_MAX);
        }
        char name[160];
        snprintf(name, sizeof name, "x-amz-meta-%s", entry->key);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (add(meta, name, value, 1) != 0)
            goto no_memory;
    }
    if (sha1 && add(meta, "x-amz-meta-sha1", sha1, 0) != 0)
        goto no_memory;
    if (md5_base64 && add(meta, "x-amz-meta-md5chksum", md5_base64, 0) != 0)
        goto no_memory;
    if (mtime_ms >= 0) {
        char text[32];
        s3_meta_format_mtime(mtime_ms, text);
        if (add(meta, "x-amz-meta-mtime", text, 0) != 0)
            goto no_memory;
    }
    return STOR_OK;
no_memory:
    s3_meta_free(meta);
    return stor_fail(err, STOR_EINTERNAL, "out of memory");
}

void s3_meta_free(struct s3_put_meta *meta)
{
    for (size_t i = 0; i < meta->owned_count; i++)
        free(meta->owned[i]);
    memset(meta, 0, sizeof *meta);
}

static int lower_hex(const char *text, size_t length)
{
    if (!text || strlen(text) != length)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!isdigit((unsigned char)text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
            return 0;
    return 1;
}

int s3_meta_etag_is_md5(const struct sp_http_response *response)
{
    const char *sse = sp_http_header(response, "x-amz-server-side-encryption");
    return !(sse && strncasecmp(sse, "aws:kms", 7) == 0) &&
           !sp_http_header(response, "x-amz-server-side-encryption-customer-algorithm");
}

void s3_meta_read(const struct sp_http_response *response, const char *key,
                  struct s3_object_view *view)
{
    memset(view, 0, sizeof *view);
    struct stor_object *object = &view->object;
    object->key = key;
    object->size = -1;
    object->mtime_ms = -1;
    object->upload_ms = -1;
    object->protection.retain_until_ms = -1;
    object->protection.legal_hold = -1;
    const char *length = sp_http_header(response, "Content-Length");
    const char *range = sp_http_header(response, "Content-Range");
    const char *slash = range ? strrchr(range, '/') : NULL;
    if (slash && isdigit((unsigned char)slash[1]))
        object->size = strtoll(slash + 1, NULL, 10);
    else if (length && isdigit((unsigned char)*length))
        object->size = strtoll(length, NULL, 10);
    object->upload_ms = s3_wire_http_date_ms(sp_http_header(response, "Last-Modified"));
    object->mtime_ms = s3_meta_parse_mtime(sp_http_header(response, "x-amz-meta-mtime"));
    if (object->mtime_ms < 0)
        object->mtime_ms = object->upload_ms;
    const char *sha1 = sp_http_header(response, "x-amz-meta-sha1");
    if (lower_hex(sha1, 40)) {
        memcpy(view->sha1, sha1, 41);
        object->sha1 = view->sha1;
    }
    char etag[80];
    s3_wire_etag(sp_http_header(response, "ETag"), etag);
    const char *md5chksum = sp_http_header(response, "x-amz-meta-md5chksum");
    if (lower_hex(etag, 32) && s3_meta_etag_is_md5(response)) {
        memcpy(view->md5, etag, 33);
        object->md5 = view->md5;
    } else if (md5chksum && strlen(md5chksum) == 24) {
        unsigned char raw[18];
        if (EVP_DecodeBlock(raw, (const unsigned char *)md5chksum, 24) == 18) {
            s3_hex(raw, 16, view->md5);
            object->md5 = view->md5;
        }
    }
    /* The version id of a versioned bucket's object ("null" for one stored before versioning). */
    const char *version = sp_http_header(response, "x-amz-version-id");
    object->id = version && *version && strlen(version) <= 1024 && !strpbrk(version, "\r\n\t")
                     ? version : NULL;
    object->content_type = sp_http_header(response, "Content-Type");
    object->cache_control = sp_http_header(response, "Cache-Control");
    object->content_disposition = sp_http_header(response, "Content-Disposition");
    object->content_encoding = sp_http_header(response, "Content-Encoding");
    object->content_language = sp_http_header(response, "Content-Language");
    object->expires = sp_http_header(response, "Expires");
    for (size_t i = 0; i < response->header_count && view->object.metadata_count < S3_MAX_METADATA; i++) {
        const char *name = response->headers[i].name;
        if (strncasecmp(name, "x-amz-meta-", 11) != 0)
            continue;
        name += 11;
        if (strcasecmp(name, "mtime") == 0 || strcasecmp(name, "sha1") == 0 ||
            strcasecmp(name, "md5chksum") == 0 || !*name)
            continue;
        view->metadata[object->metadata_count++] =
            (struct stor_option){name, response->headers[i].value};
    }
    object->metadata = object->metadata_count ? view->metadata : NULL;
}
