/* plugins/s3/wire.c — S3's XML answers into the structs of wire.h, over xml.c's bounded tree. */
#include "wire.h"

#include "xml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct s3_xml_node *parse_root(const char *body, size_t length, const char *root,
                                      char why[S3_WHY_MAX])
{
    struct s3_xml_node *tree = s3_xml_parse(body, length, why, S3_WHY_MAX);
    if (tree && strcmp(tree->name, root) != 0) {
        snprintf(why, S3_WHY_MAX, "the answer is <%.40s>, not <%s>", tree->name, root);
        s3_xml_free(tree);
        return NULL;
    }
    return tree;
}

static void copy_text(char *out, size_t size, const char *text)
{
    snprintf(out, size, "%s", text ? text : "");
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < ' ' || *c == 127)
            *c = '?'; /* the server's words reach one line of the user's terminal */
}

int s3_wire_error(const char *body, size_t length, struct s3_wire_error *error)
{
    memset(error, 0, sizeof *error);
    char why[S3_WHY_MAX];
    if (!body || length == 0)
        return -1;
    struct s3_xml_node *tree = parse_root(body, length, "Error", why);
    if (!tree)
        return -1;
    copy_text(error->code, sizeof error->code, s3_xml_child_text(tree, "Code"));
    copy_text(error->message, sizeof error->message, s3_xml_child_text(tree, "Message"));
    copy_text(error->region, sizeof error->region, s3_xml_child_text(tree, "Region"));
    copy_text(error->bucket, sizeof error->bucket, s3_xml_child_text(tree, "BucketName"));
    copy_text(error->endpoint, sizeof error->endpoint, s3_xml_child_text(tree, "Endpoint"));
    s3_xml_free(tree);
    return 0;
}

static int hex_value(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *s3_wire_url_decode(const char *text)
{
    size_t length = strlen(text);
    char *out = malloc(length + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *c = text; *c; c++) {
        if (*c == '%') {
            int high = hex_value(c[1]), low = high < 0 ? -1 : hex_value(c[2]);
            if (low < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(high * 16 + low);
            c += 2;
        } else {
            *o++ = *c == '+' ? ' ' : *c;
        }
    }
    *o = '\0';
    if ((size_t)(o - out) != strlen(out)) { /* a %00 inside: no key holds a NUL */
        free(out);
        return NULL;
    }
    return out;
}

void s3_wire_etag(const char *text, char out[80])
{
    if (!text)
        text = "";
    size_t length = strlen(text);
    if (length >= 2 && text[0] == '"' && text[length - 1] == '"')
        text++, length -= 2;
    snprintf(out, 80, "%.*s", (int)(length < 79 ? length : 79), text);
}

static int64_t from_tm(struct tm *tm, long millis)
{
    time_t seconds = timegm(tm);
    if (seconds == (time_t)-1)
        return -1;
    return (int64_t)seconds * 1000 + millis;
}

int64_t s3_wire_iso8601_ms(const char *text)
{
    if (!text)
        return -1;
    struct tm tm = {0};
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    long millis = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; isdigit((unsigned char)*rest); rest++, digits++)
            if (digits < 3)
                millis = millis * 10 + (*rest - '0');
        for (; digits < 3; digits++)
            millis *= 10;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    return from_tm(&tm, millis);
}

int64_t s3_wire_http_date_ms(const char *text)
{
    if (!text)
        return -1;
    struct tm tm = {0};
    const char *rest = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return rest && !*rest ? from_tm(&tm, 0) : -1;
}

static int parse_size(const char *text, int64_t *size)
{
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || *end || value < 0)
        return -1;
    *size = value;
    return 0;
}

static int grow(void **array, size_t count, size_t element)
{
    void *grown = realloc(*array, (count + 1) * element);
    if (!grown)
        return -1;
    *array = grown;
    memset((char *)grown + count * element, 0, element);
    return 0;
}

static char *key_of(const char *text, int url_encoded)
{
    return url_encoded ? s3_wire_url_decode(text) : strdup(text);
}

/* The entries of a listing: Contents (ListObjectsV2) or Version and DeleteMarker
 * (ListObjectVersions, versions set), and CommonPrefixes. */
static int list_entries(const struct s3_xml_node *tree, int url_encoded, int versions,
                        struct s3_list_page *page, char why[S3_WHY_MAX])
{
    for (const struct s3_xml_node *child = tree->children; child; child = child->next) {
        int marker = versions && strcmp(child->name, "DeleteMarker") == 0;
        int object = marker || strcmp(child->name, versions ? "Version" : "Contents") == 0;
        if (!object && strcmp(child->name, "CommonPrefixes") != 0)
            continue;
        const char *key = s3_xml_child_text(child, object ? "Key" : "Prefix");
        if (!key || !*key) {
            snprintf(why, S3_WHY_MAX, "%s without a %s", child->name, object ? "Key" : "Prefix");
            return -1;
        }
        if (grow((void **)&page->entries, page->count, sizeof *page->entries) != 0) {
            snprintf(why, S3_WHY_MAX, "out of memory");
            return -1;
        }
        struct s3_list_entry *entry = &page->entries[page->count];
        memset(entry, 0, sizeof *entry);
        entry->position = page->count++;
        entry->is_prefix = !object;
        entry->is_delete_marker = marker;
        entry->size = -1;
        entry->modified_ms = -1;
        if (!(entry->key = key_of(key, url_encoded))) {
            snprintf(why, S3_WHY_MAX, "a key that is not URL-encoded right");
            return -1;
        }
        if (!object)
            continue;
        if (versions) {
            const char *id = s3_xml_child_text(child, "VersionId");
            if (!id || !*id || strlen(id) > 1024 || strpbrk(id, "\r\n\t /?#&")) {
                snprintf(why, S3_WHY_MAX, "%s without a usable VersionId", child->name);
                return -1;
            }
            if (!(entry->version_id = strdup(id))) {
                snprintf(why, S3_WHY_MAX, "out of memory");
                return -1;
            }
        }
        entry->modified_ms = s3_wire_iso8601_ms(s3_xml_child_text(child, "LastModified"));
        if (marker)
            continue;
        char etag[80];
        if (parse_size(s3_xml_child_text(child, "Size"), &entry->size) != 0) {
            snprintf(why, S3_WHY_MAX, "%s without a Size", child->name);
            return -1;
        }
        s3_wire_etag(s3_xml_child_text(child, "ETag"), etag);
        if (!(entry->etag = strdup(etag))) {
            snprintf(why, S3_WHY_MAX, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* A copy of a text child into *out (NULL when absent or empty); -1 on no memory. */
static int optional_copy(const struct s3_xml_node *tree, const char *name, char **out)
{
    const char *text = s3_xml_child_text(tree, name);
    *out = text && *text ? strdup(text) : NULL;
    return text && *text && !*out ? -1 : 0;
}

int s3_wire_list_page(const char *body, size_t length, int url_encoded, struct s3_list_page *page,
                      char why[S3_WHY_MAX])
{
    memset(page, 0, sizeof *page);
    struct s3_xml_node *tree = parse_root(body, length, "ListBucketResult", why);
    if (!tree)
        return -1;
    int failed = list_entries(tree, url_encoded, 0, page, why) != 0;
    const char *truncated = s3_xml_child_text(tree, "IsTruncated");
    page->truncated = truncated && strcmp(truncated, "true") == 0;
    if (!failed && optional_copy(tree, "NextContinuationToken", &page->next_token) != 0) {
        snprintf(why, S3_WHY_MAX, "out of memory");
        failed = 1;
    }
    s3_xml_free(tree);
    if (failed)
        s3_list_page_free(page);
    return failed ? -1 : 0;
}

int s3_wire_versions_page(const char *body, size_t length, int url_encoded,
                          struct s3_list_page *page, char why[S3_WHY_MAX])
{
    memset(page, 0, sizeof *page);
    struct s3_xml_node *tree = parse_root(body, length, "ListVersionsResult", why);
    if (!tree)
        return -1;
    int failed = list_entries(tree, url_encoded, 1, page, why) != 0;
    const char *truncated = s3_xml_child_text(tree, "IsTruncated");
    page->truncated = truncated && strcmp(truncated, "true") == 0;
    const char *next_key = s3_xml_child_text(tree, "NextKeyMarker");
    if (!failed && next_key && *next_key && !(page->next_key_marker = key_of(next_key, url_encoded))) {
        snprintf(why, S3_WHY_MAX, "a NextKeyMarker that is not URL-encoded right");
        failed = 1;
    }
    if (!failed && optional_copy(tree, "NextVersionIdMarker", &page->next_version_marker) != 0) {
        snprintf(why, S3_WHY_MAX, "out of memory");
        failed = 1;
    }
    s3_xml_free(tree);
    if (failed)
        s3_list_page_free(page);
    return failed ? -1 : 0;
}

void s3_list_page_free(struct s3_list_page *page)
{
    for (size_t i = 0; i < page->count; i++) {
        free(page->entries[i].key);
        free(page->entries[i].etag);
        free(page->entries[i].version_id);
    }
    free(page->entries);
    free(page->next_token);
    free(page->next_key_marker);
    free(page->next_version_marker);
    memset(page, 0, sizeof *page);
}

int s3_wire_buckets(const char *body, size_t length, struct s3_bucket_entry **buckets,
                    size_t *count, char why[S3_WHY_MAX])
{
    *buckets = NULL;
    *count = 0;
    struct s3_xml_node *tree = parse_root(body, length, "ListAllMyBucketsResult", why);
    if (!tree)
        return -1;
    const struct s3_xml_node *list = s3_xml_child(tree, "Buckets");
    int failed = 0;
    for (const struct s3_xml_node *child = list ? list->children : NULL; child && !failed;
         child = child->next) {
        if (strcmp(child->name, "Bucket") != 0)
            continue;
        const char *name = s3_xml_child_text(child, "Name");
        if (!name || !*name) {
            snprintf(why, S3_WHY_MAX, "a Bucket without a Name");
            failed = 1;
        } else if (grow((void **)buckets, *count, sizeof **buckets) != 0 ||
                   !((*buckets)[*count].name = strdup(name))) {
            snprintf(why, S3_WHY_MAX, "out of memory");
            failed = 1;
        } else {
            (*buckets)[(*count)++].created_ms =
                s3_wire_iso8601_ms(s3_xml_child_text(child, "CreationDate"));
        }
    }
    s3_xml_free(tree);
    if (failed) {
        s3_buckets_free(*buckets, *count);
        *buckets = NULL;
        *count = 0;
    }
    return failed ? -1 : 0;
}

void s3_buckets_free(struct s3_bucket_entry *buckets, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(buckets[i].name);
    free(buckets);
}

int s3_wire_upload_id(const char *body, size_t length, char **upload_id, char why[S3_WHY_MAX])
{
    *upload_id = NULL;
    struct s3_xml_node *tree = parse_root(body, length, "InitiateMultipartUploadResult", why);
    if (!tree)
        return -1;
    const char *id = s3_xml_child_text(tree, "UploadId");
    if (!id || !*id)
        snprintf(why, S3_WHY_MAX, "no UploadId");
    else if (strpbrk(id, "\r\n"))
        snprintf(why, S3_WHY_MAX, "an UploadId with a line break");
    else
        *upload_id = strdup(id);
    s3_xml_free(tree);
    return *upload_id ? 0 : -1;
}

int s3_wire_uploads(const char *body, size_t length, struct s3_uploads_page *page,
                    char why[S3_WHY_MAX])
{
    memset(page, 0, sizeof *page);
    struct s3_xml_node *tree = parse_root(body, length, "ListMultipartUploadsResult", why);
    if (!tree)
        return -1;
    int failed = 0;
    for (const struct s3_xml_node *child = tree->children; child && !failed; child = child->next) {
        if (strcmp(child->name, "Upload") != 0)
            continue;
        const char *key = s3_xml_child_text(child, "Key"), *id = s3_xml_child_text(child, "UploadId");
        if (!key || !*key || !id || !*id) {
            snprintf(why, S3_WHY_MAX, "an Upload without Key or UploadId");
            failed = 1;
        } else if (grow((void **)&page->entries, page->count, sizeof *page->entries) != 0) {
            snprintf(why, S3_WHY_MAX, "out of memory");
            failed = 1;
        } else {
            struct s3_upload_entry *entry = &page->entries[page->count++];
            entry->key = strdup(key);
            entry->upload_id = strdup(id);
            entry->initiated_ms = s3_wire_iso8601_ms(s3_xml_child_text(child, "Initiated"));
            if (!entry->key || !entry->upload_id) {
                snprintf(why, S3_WHY_MAX, "out of memory");
                failed = 1;
            }
        }
    }
    const char *truncated = s3_xml_child_text(tree, "IsTruncated");
    page->truncated = truncated && strcmp(truncated, "true") == 0;
    const char *key_marker = s3_xml_child_text(tree, "NextKeyMarker");
    const char *id_marker = s3_xml_child_text(tree, "NextUploadIdMarker");
    page->next_key_marker = key_marker ? strdup(key_marker) : NULL;
    page->next_upload_id_marker = id_marker ? strdup(id_marker) : NULL;
    s3_xml_free(tree);
    if (failed)
        s3_uploads_page_free(page);
    return failed ? -1 : 0;
}

void s3_uploads_page_free(struct s3_uploads_page *page)
{
    for (size_t i = 0; i < page->count; i++) {
        free(page->entries[i].key);
        free(page->entries[i].upload_id);
    }
    free(page->entries);
    free(page->next_key_marker);
    free(page->next_upload_id_marker);
    memset(page, 0, sizeof *page);
}

int s3_wire_parts(const char *body, size_t length, struct s3_parts_page *page,
                  char why[S3_WHY_MAX])
{
    memset(page, 0, sizeof *page);
    struct s3_xml_node *tree = parse_root(body, length, "ListPartsResult", why);
    if (!tree)
        return -1;
    int failed = 0;
    for (const struct s3_xml_node *child = tree->children; child && !failed; child = child->next) {
        if (strcmp(child->name, "Part") != 0)
            continue;
        int64_t number, size;
        if (parse_size(s3_xml_child_text(child, "PartNumber"), &number) != 0 || number < 1 ||
            number > 10000 || parse_size(s3_xml_child_text(child, "Size"), &size) != 0) {
            snprintf(why, S3_WHY_MAX, "a Part without a PartNumber (1 to 10000) or Size");
            failed = 1;
        } else if (grow((void **)&page->entries, page->count, sizeof *page->entries) != 0) {
            snprintf(why, S3_WHY_MAX, "out of memory");
            failed = 1;
        } else {
            struct s3_part_entry *entry = &page->entries[page->count++];
            entry->number = (int)number;
            entry->size = size;
            s3_wire_etag(s3_xml_child_text(child, "ETag"), entry->etag);
        }
    }
    const char *truncated = s3_xml_child_text(tree, "IsTruncated");
    page->truncated = truncated && strcmp(truncated, "true") == 0;
    int64_t marker = 0;
    if (parse_size(s3_xml_child_text(tree, "NextPartNumberMarker"), &marker) == 0 && marker <= 10000)
        page->next_marker = (int)marker;
    s3_xml_free(tree);
    if (failed) {
        free(page->entries);
        memset(page, 0, sizeof *page);
    }
    return failed ? -1 : 0;
}

int s3_wire_result_etag(const char *body, size_t length, const char *root, char etag[80],
                        struct s3_wire_error *error, char why[S3_WHY_MAX])
{
    etag[0] = '\0';
    if (s3_wire_error(body, length, error) == 0) {
        snprintf(why, S3_WHY_MAX, "%.60s: %.130s", error->code, error->message);
        return -1;
    }
    struct s3_xml_node *tree = parse_root(body, length, root, why);
    if (!tree)
        return -1;
    s3_wire_etag(s3_xml_child_text(tree, "ETag"), etag);
    s3_xml_free(tree);
    return 0;
}

int s3_wire_delete_errors(const char *body, size_t length, struct s3_delete_error **errors,
                          size_t *count, char why[S3_WHY_MAX])
{
    *errors = NULL;
    *count = 0;
    struct s3_xml_node *tree = parse_root(body, length, "DeleteResult", why);
    if (!tree)
        return -1;
    int failed = 0;
    for (const struct s3_xml_node *child = tree->children; child && !failed; child = child->next) {
        if (strcmp(child->name, "Error") != 0)
            continue;
        const char *key = s3_xml_child_text(child, "Key");
        if (!key || !*key) {
            snprintf(why, S3_WHY_MAX, "an Error without a Key");
            failed = 1;
        } else if (grow((void **)errors, *count, sizeof **errors) != 0 ||
                   !((*errors)[*count].key = strdup(key))) {
            snprintf(why, S3_WHY_MAX, "out of memory");
            failed = 1;
        } else {
            struct s3_delete_error *error = &(*errors)[(*count)++];
            copy_text(error->code, sizeof error->code, s3_xml_child_text(child, "Code"));
            copy_text(error->message, sizeof error->message, s3_xml_child_text(child, "Message"));
        }
    }
    s3_xml_free(tree);
    if (failed) {
        s3_delete_errors_free(*errors, *count);
        *errors = NULL;
        *count = 0;
    }
    return failed ? -1 : 0;
}

void s3_delete_errors_free(struct s3_delete_error *errors, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(errors[i].key);
    free(errors);
}
