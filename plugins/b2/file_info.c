/* plugins/b2/file_info.c — what a put keeps with the file (see file_info.h): put_ex's options
 * merged with the plugin's, refused before any request where B2 would refuse them. Pure: no I/O. */
#include "file_info.h"
#include "names.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* put_ex's header fields and the b2-* file-info keys B2 serves them from. */
static const struct {
    const char *field;
    const char *key;
    size_t offset;
} header_fields[] = {
    {"cache_control", "b2-cache-control", offsetof(struct stor_put_options, cache_control)},
    {"content_disposition", "b2-content-disposition",
     offsetof(struct stor_put_options, content_disposition)},
    {"content_encoding", "b2-content-encoding", offsetof(struct stor_put_options, content_encoding)},
    {"content_language", "b2-content-language", offsetof(struct stor_put_options, content_language)},
    {"expires", "b2-expires", offsetof(struct stor_put_options, expires)},
};

void b2_put_meta_free(struct b2_put_meta *meta)
{
    free(meta->content_type);
    for (size_t i = 0; i < meta->info_count; i++) {
        free(meta->info[i].name);
        free(meta->info[i].value);
    }
    free(meta->info);
    memset(meta, 0, sizeof *meta);
    meta->mtime_ms = -1;
    meta->retain_until_ms = -1;
    meta->legal_hold = -1;
}

static int utf8_valid(const char *text)
{
    const unsigned char *c = (const unsigned char *)text;
    while (*c) {
        int follow = *c < 0x80 ? 0 : (*c & 0xE0) == 0xC0 ? 1 : (*c & 0xF0) == 0xE0 ? 2
                                   : (*c & 0xF8) == 0xF0 ? 3 : -1;
        if (follow < 0 || (follow == 1 && *c < 0xC2))
            return 0;
        for (int i = 1; i <= follow; i++)
            if ((c[i] & 0xC0) != 0x80)
                return 0;
        c += follow + 1;
    }
    return 1;
}

/* Set name=value, replacing an entry of the same name (B2 lower-cases names: case does not
 * tell two apart). -1 when out of memory. */
static int set_entry(struct b2_put_meta *meta, const char *name, const char *value)
{
    char *name_copy = strdup(name), *value_copy = strdup(value ? value : "");
    size_t i = 0;
    while (i < meta->info_count && strcasecmp(meta->info[i].name, name) != 0)
        i++;
    struct b2_info *grown = i < meta->info_count
                                ? meta->info
                                : realloc(meta->info, (meta->info_count + 1) * sizeof *grown);
    if (!name_copy || !value_copy || !grown) {
        free(name_copy);
        free(value_copy);
        return -1;
    }
    meta->info = grown;
    if (i == meta->info_count) {
        meta->info_count++;
    } else {
        free(grown[i].name);
        free(grown[i].value);
    }
    grown[i].name = name_copy;
    grown[i].value = value_copy;
    return 0;
}

/* "X-Bz-Info-NAME: VALUE\r\n" with VALUE percent-encoded: what one entry weighs against B2's
 * 7,000 bytes. 0 when out of memory. */
static size_t header_line_bytes(const char *name, const char *value)
{
    char *encoded = b2_percent_encode(value);
    if (!encoded)
        return 0;
    size_t bytes = strlen("X-Bz-Info-") + strlen(name) + 2 + strlen(encoded) + 2;
    free(encoded);
    return bytes;
}

/* protection.*: what B2 can keep, checked before anything is sent. With -o sse_c_key_file every
 * upload is SSE-C unless the put asks for SSE-B2. */
static enum stor_status check_protection(const struct b2_plugin *plugin,
                                         const struct stor_put_options *options,
                                         struct b2_put_meta *meta, struct stor_error *err)
{
    const struct stor_protection *protection = &options->protection;
    const char *encryption = protection->encryption;
    meta->config = &plugin->config;
    if (!encryption)
        meta->sse = plugin->config.sse_c_key_b64 ? B2_SSE_C : B2_SSE_NONE;
    else if (strcmp(encryption, "SSE-B2") == 0)
        meta->sse = B2_SSE_B2;
    else if (strcmp(encryption, "SSE-C") == 0 && !plugin->config.sse_c_key_b64)
        return stor_fail(err, STOR_EINVAL, "protection.encryption SSE-C needs its key: give it "
                         "with -o sse_c_key_file=PATH (a file of 32 bytes): nothing stored");
    else if (strcmp(encryption, "SSE-C") == 0)
        meta->sse = B2_SSE_C;
    else
        return stor_fail(err, STOR_EUNSUPPORTED, "backend b2 does not keep protection.encryption "
                         "'%.40s' (B2 has SSE-B2 and SSE-C): nothing stored", encryption);
    const char *mode = protection->retention_mode;
    if (mode && strcmp(mode, "governance") != 0 && strcmp(mode, "compliance") != 0)
        return stor_fail(err, STOR_EINVAL, "protection.retention_mode '%.40s' is not one B2 "
                         "knows: governance or compliance", mode);
    if (!mode != (protection->retain_until_ms < 0))
        return stor_fail(err, STOR_EINVAL, "protection.retention_mode and retain_until_ms go "
                         "together: give both or neither");
    if (mode && protection->retain_until_ms <= sp_clock_now(&plugin->clock))
        return stor_fail(err, STOR_EINVAL, "protection.retain_until_ms must be in the future "
                         "(retention until a time already past protects nothing)");
    if (protection->legal_hold > 1 || protection->legal_hold < -1)
        return stor_fail(err, STOR_EINVAL, "protection.legal_hold is 1 (on), 0 (off) or -1");
    meta->retention_mode = !mode ? NULL : strcmp(mode, "governance") == 0 ? "governance"
                                                                          : "compliance";
    meta->retain_until_ms = mode ? protection->retain_until_ms : -1;
    meta->legal_hold = protection->legal_hold;
    return STOR_OK;
}

int b2_put_meta_locks(const struct b2_put_meta *meta)
{
    return meta->retention_mode != NULL || meta->legal_hold >= 0;
}

enum stor_status b2_lock_refused(const struct b2_put_meta *meta, const char *bucket,
                                 const char *key, const struct b2_failure *failure,
                                 enum stor_status status, struct stor_error *err)
{
    if (!b2_put_meta_locks(meta) || failure->outcome != SP_HTTP_COMPLETE ||
        (strcmp(failure->code, "bad_request") != 0 && strcmp(failure->code, "access_denied") != 0))
        return status;
    return stor_fail(err, STOR_EINVAL, "%s/%s: B2 refused the retention or legal hold: bucket %s "
                     "must have Object Lock enabled (made with -o bucket.object_lock=yes) and the "
                     "key writeFileRetentions / writeFileLegalHolds (B2 says: %s)", bucket, key,
                     bucket, failure->message[0] ? failure->message : failure->code);
}

static enum stor_status check_metadata(const struct stor_option *entry, struct stor_error *err)
{
    const char *name = entry->key ? entry->key : "";
    if (!b2_info_name_valid(name) || strncasecmp(name, "b2-", 3) == 0) {
        if (strncasecmp(name, "b2-", 3) == 0 && b2_info_name_valid(name))
            return stor_fail(err, STOR_EINVAL, "metadata key '%s' is one of B2's own: give it as "
                             "cache_control, content_disposition, content_encoding, "
                             "content_language or expires", name);
        return stor_fail(err, STOR_EINVAL, "metadata key '%s' is not one B2 takes: 1 to 50 "
                         "letters, digits or -_.~!#$%%^&*'+`|, and not starting with b2-", name);
    }
    if (strcasecmp(name, "src_last_modified_millis") == 0 || strcasecmp(name, "large_file_sha1") == 0)
        return stor_fail(err, STOR_EINVAL, "metadata key '%s' is kept by the b2 backend itself "
                         "(the source's mtime, the SHA-1 of a large file)", name);
    return STOR_OK;
}

static enum stor_status check_limits(const struct b2_put_meta *meta, const char *key, int large,
                                     struct stor_error *err)
{
    size_t own = (meta->mtime_ms >= 0) + (large != 0);
    if (meta->info_count + own > B2_INFO_ENTRIES_MAX)
        return stor_fail(err, STOR_EINVAL, "%s: B2 keeps %d file-info entries at most, but this "
                         "put needs %zu: %zu from info.* options, metadata and headers, plus %s",
                         key, B2_INFO_ENTRIES_MAX, meta->info_count + own, meta->info_count,
                         own == 2 ? "src_last_modified_millis and large_file_sha1 (a large file)"
                         : own && large ? "large_file_sha1 (a large file)"
                         : own          ? "src_last_modified_millis (the source's mtime)"
                                        : "nothing of the backend's own");
    char *encoded = b2_percent_encode(key);
    if (!encoded)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    size_t bytes = strlen("X-Bz-File-Name: \r\n") + strlen(encoded);
    free(encoded);
    if (meta->mtime_ms >= 0) {
        char digits[32];
        snprintf(digits, sizeof digits, "%lld", (long long)meta->mtime_ms);
        bytes += header_line_bytes("src_last_modified_millis", digits);
    }
    if (large)
        bytes += header_line_bytes("large_file_sha1", "0000000000000000000000000000000000000000");
    for (size_t i = 0; i < meta->info_count; i++) {
        size_t line = header_line_bytes(meta->info[i].name, meta->info[i].value);
        if (!line)
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        bytes += line;
    }
    int protected = meta->sse != B2_SSE_NONE || b2_put_meta_locks(meta);
    int most = protected ? B2_NAME_AND_INFO_BYTES_PROTECTED : B2_NAME_AND_INFO_BYTES;
    if (bytes > (size_t)most)
        return stor_fail(err, STOR_EINVAL, "%s: the name and the file info take %zu bytes as "
                         "B2 headers (percent-encoded), more than the %d B2 takes%s", key, bytes,
                         most, protected ? " with encryption or Object Lock" : "");
    return STOR_OK;
}

static enum stor_status build(const struct b2_plugin *plugin, const char *key,
                              const struct stor_put_options *options, int64_t source_mtime_ms,
                              int large, struct b2_put_meta *meta, struct stor_error *err)
{
    enum stor_status status = check_protection(plugin, options, meta, err);
    if (status != STOR_OK)
        return status;
    const char *type = options->content_type ? options->content_type : plugin->config.content_type;
    for (const unsigned char *c = (const unsigned char *)type; *c; c++)
        if (*c < 0x20 || *c >= 0x7f)
            return stor_fail(err, STOR_EINVAL, "content_type must be a MIME type of printable "
                             "ASCII (no control characters)");
    if (!*type)
        return stor_fail(err, STOR_EINVAL, "content_type must be a MIME type, not empty");
    if (!(meta->content_type = strdup(type)))
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    for (size_t i = 0; i < plugin->config.info_count; i++)
        if (set_entry(meta, plugin->config.info[i].name, plugin->config.info[i].value) != 0)
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
    for (size_t i = 0; i < sizeof header_fields / sizeof *header_fields; i++) {
        const char *value = *(const char *const *)((const char *)options + header_fields[i].offset);
        if (value && set_entry(meta, header_fields[i].key, value) != 0)
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; options->metadata && i < options->metadata_count; i++) {
        if ((status = check_metadata(&options->metadata[i], err)) != STOR_OK)
            return status;
        if (set_entry(meta, options->metadata[i].key, options->metadata[i].value) != 0)
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < meta->info_count; i++)
        if (!utf8_valid(meta->info[i].value))
            return stor_fail(err, STOR_EINVAL, "file info %s: B2 keeps UTF-8 text only",
                             meta->info[i].name);
    meta->mtime_ms = options->mtime_ms >= 0 ? options->mtime_ms : source_mtime_ms;
    if (options->sha1) {
        size_t length = strlen(options->sha1);
        if (length != B2_SHA1_HEX_LENGTH || strspn(options->sha1, "0123456789abcdefABCDEF") != length)
            return stor_fail(err, STOR_EINVAL, "sha1 must be 40 hex digits");
        for (size_t i = 0; i <= length; i++)
            meta->sha1[i] = (char)tolower((unsigned char)options->sha1[i]);
    }
    return check_limits(meta, key, large, err);
}

enum stor_status b2_put_meta_build(const struct b2_plugin *plugin, const char *key,
                                   const struct stor_put_options *options, int64_t source_mtime_ms,
                                   int large, struct b2_put_meta *meta, struct stor_error *err)
{
    struct stor_put_options asked = {.struct_size = sizeof asked, .size = -1, .mtime_ms = -1,
                                     .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    if (options) /* a caller built against a shorter struct gets the defaults for the rest */
        memcpy(&asked, options,
               options->struct_size < sizeof asked ? options->struct_size : sizeof asked);
    memset(meta, 0, sizeof *meta);
    meta->mtime_ms = -1;
    meta->retain_until_ms = -1;
    meta->legal_hold = -1;
    enum stor_status status = build(plugin, key, &asked, source_mtime_ms, large, meta, err);
    if (status != STOR_OK)
        b2_put_meta_free(meta);
    return status;
}

static int protection_headers(const struct b2_put_meta *meta, char **lines, size_t *count,
                              size_t max_lines);

int b2_put_meta_headers(const struct b2_put_meta *meta, char **lines, size_t *count,
                        size_t max_lines)
{
    if (sp_http_add_header_line(lines, count, max_lines, "Content-Type: %s", meta->content_type) != 0)
        return -1;
    if (meta->mtime_ms >= 0 &&
        sp_http_add_header_line(lines, count, max_lines, "X-Bz-Info-src_last_modified_millis: %lld",
                           (long long)meta->mtime_ms) != 0)
        return -1;
    for (size_t i = 0; i < meta->info_count; i++) {
        char *value = b2_percent_encode(meta->info[i].value);
        int failed = !value || sp_http_add_header_line(lines, count, max_lines, "X-Bz-Info-%s: %s",
                                                  meta->info[i].name, value) != 0;
        free(value);
        if (failed)
            return -1;
    }
    return protection_headers(meta, lines, count, max_lines);
}

int b2_put_meta_part_headers(const struct b2_put_meta *meta, char **lines, size_t *count,
                             size_t max_lines)
{
    return meta->sse == B2_SSE_C ? b2_sse_c_headers(meta->config, lines, count, max_lines) : 0;
}

/* Encryption and Object Lock of b2_upload_file: B2's headers, as b2sdk sends them. */
static int protection_headers(const struct b2_put_meta *meta, char **lines, size_t *count,
                              size_t max_lines)
{
    if (meta->sse == B2_SSE_B2 &&
        sp_http_add_header_line(lines, count, max_lines, "X-Bz-Server-Side-Encryption: AES256") != 0)
        return -1;
    if (meta->sse == B2_SSE_C && b2_sse_c_headers(meta->config, lines, count, max_lines) != 0)
        return -1;
    if (meta->retention_mode &&
        (sp_http_add_header_line(lines, count, max_lines, "X-Bz-File-Retention-Mode: %s", meta->retention_mode) ||
         sp_http_add_header_line(lines, count, max_lines, "X-Bz-File-Retention-Retain-Until-Timestamp: %lld",
                  (long long)meta->retain_until_ms)))
        return -1;
    if (meta->legal_hold >= 0 &&
        sp_http_add_header_line(lines, count, max_lines, "X-Bz-File-Legal-Hold: %s", meta->legal_hold ? "on" : "off"))
        return -1;
    return 0;
}

void b2_put_meta_start_fields(const struct b2_put_meta *meta, json_object *request)
{
    json_object *sse = meta->config ? b2_sse_json(meta->config, meta->sse) : NULL;
    if (sse)
        json_object_object_add(request, "serverSideEncryption", sse);
    if (meta->retention_mode) {
        json_object *retention = json_object_new_object();
        json_object_object_add(retention, "mode", json_object_new_string(meta->retention_mode));
        json_object_object_add(retention, "retainUntilTimestamp",
                               json_object_new_int64(meta->retain_until_ms));
        json_object_object_add(request, "fileRetention", retention);
    }
    if (meta->legal_hold >= 0)
        json_object_object_add(request, "legalHold",
                               json_object_new_string(meta->legal_hold ? "on" : "off"));
}

json_object *b2_put_meta_file_info(const struct b2_put_meta *meta, const char *large_file_sha1)
{
    json_object *info = json_object_new_object();
    if (!info)
        return NULL;
    for (size_t i = 0; i < meta->info_count; i++)
        json_object_object_add(info, meta->info[i].name, json_object_new_string(meta->info[i].value));
    if (large_file_sha1 && *large_file_sha1)
        json_object_object_add(info, "large_file_sha1", json_object_new_string(large_file_sha1));
    if (meta->mtime_ms >= 0) {
        char mtime[32];
        snprintf(mtime, sizeof mtime, "%lld", (long long)meta->mtime_ms);
        json_object_object_add(info, "src_last_modified_millis", json_object_new_string(mtime));
    }
    return info;
}
