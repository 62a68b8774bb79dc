/* plugins/s3/list.c — list: ListObjectsV2 page by page (delimiter '/' for one level,
 * encoding-type=url so any key survives XML), each page's keys and prefixes merged in byte order.
 * A server that lies is refused: a key outside the prefix, out of order, a token that does not
 * advance; a name no object can have (control bytes, bad UTF-8, "." or ".." segments) is skipped
 * with a warning. With list_metadata (default) each object is HEADed for its mtime and SHA-1. */
#include "operations.h"

#include "head.h"
#include "host_services.h"
#include "instance.h"
#include "meta.h"
#include "request.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S3_LIST_EMPTY_PAGES_MAX 10 /* truncated pages without a key, in a row */

/* What the host takes as a key (stor/plugin.h KEYS): else the name is not passed on. */
static int name_acceptable(const char *name)
{
    const unsigned char *c = (const unsigned char *)name;
    if (!*c || *c == '/')
        return 0;
    while (*c) {
        if (*c < 0x20 || *c == 0x7f)
            return 0;
        int extra = *c < 0x80 ? 0 : (*c & 0xe0) == 0xc0 ? 1 : (*c & 0xf0) == 0xe0 ? 2
                  : (*c & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || (extra == 1 && *c < 0xc2))
            return 0;
        for (int i = 1; i <= extra; i++)
            if ((c[i] & 0xc0) != 0x80)
                return 0;
        if ((extra == 2 && *c == 0xe0 && c[1] < 0xa0) || (extra == 2 && *c == 0xed && c[1] >= 0xa0) ||
            (extra == 3 && *c == 0xf0 && c[1] < 0x90) || (extra == 3 && *c > 0xf4) ||
            (extra == 3 && *c == 0xf4 && c[1] >= 0x90))
            return 0;
        c += extra + 1;
    }
    for (const char *segment = name; segment;) {
        const char *slash = strchr(segment, '/');
        size_t length = slash ? (size_t)(slash - segment) : strlen(segment);
        if ((length == 0 && slash && slash[1]) || (length == 1 && segment[0] == '.') ||
            (length == 2 && segment[0] == '.' && segment[1] == '.'))
            return 0;
        segment = slash ? slash + 1 : NULL;
    }
    return 1;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const struct s3_list_entry *)a)->key, ((const struct s3_list_entry *)b)->key);
}

struct listing {
    struct s3_plugin *plugin;
    const char *bucket, *prefix;
    unsigned flags;
    stor_object_fn on_object;
    void *context;
    char *last;      /* the last key reported (or skipped), for the order check */
};

static enum stor_status report_entry(struct listing *listing, const struct s3_list_entry *entry,
                                     struct stor_error *err)
{
    struct stor_object object = {.key = entry->key, .is_prefix = entry->is_prefix,
                                 .size = entry->is_prefix ? -1 : entry->size,
                                 .mtime_ms = entry->modified_ms, .upload_ms = entry->modified_ms,
                                 .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    char md5[33] = "";
    if (!entry->is_prefix && entry->etag && strlen(entry->etag) == 32 &&
        strspn(entry->etag, "0123456789abcdef") == 32) {
        memcpy(md5, entry->etag, sizeof md5);
        object.md5 = md5;
    }
    struct s3_http_response response;
    struct s3_object_view view;
    int headed = 0;
    if (!entry->is_prefix && listing->plugin->config.list_metadata) {
        enum stor_status status = s3_head_object(listing->plugin, listing->bucket, entry->key,
                                                 &response, err);
        if (status == STOR_ENOTFOUND)
            return STOR_OK; /* deleted since the page was made */
        if (status != STOR_OK)
            return status;
        headed = 1;
        s3_meta_read(&response, entry->key, &view);
        object.mtime_ms = view.object.mtime_ms;
        object.sha1 = view.object.sha1;
        object.md5 = view.object.md5;
        object.content_type = view.object.content_type;
    }
    int stop = listing->on_object && listing->on_object(listing->context, &object) != 0;
    if (headed)
        s3_http_response_free(&response);
    return stop ? stor_fail(err, STOR_ECANCELLED, "listing stopped") : STOR_OK;
}

static enum stor_status take_page(struct listing *listing, struct s3_list_page *page,
                                  struct stor_error *err)
{
    size_t prefix_length = strlen(listing->prefix);
    int one_level = !(listing->flags & STOR_LIST_RECURSIVE);
    for (size_t i = 0; i < page->count; i++) {
        const struct s3_list_entry *entry = &page->entries[i];
        if (strncmp(entry->key, listing->prefix, prefix_length) != 0)
            return stor_fail(err, STOR_EINTERNAL, "S3 ListObjectsV2 %s: the server listed %s, "
                             "outside the prefix '%s' asked for: not believed", listing->bucket,
                             entry->key, listing->prefix);
        const char *rest = entry->key + prefix_length;
        const char *slash = strchr(rest, '/');
        if (entry->is_prefix ? !one_level || !slash || slash[1] : one_level && slash)
            return stor_fail(err, STOR_EINTERNAL, "S3 ListObjectsV2 %s: the server listed %s%s "
                             "where a %s listing has none: not believed", listing->bucket,
                             entry->is_prefix ? "the prefix " : "", entry->key,
                             one_level ? "one-level" : "recursive");
    }
    if (page->count > 1) /* entries is NULL on an empty page, and qsort may not take NULL */
        qsort(page->entries, page->count, sizeof *page->entries, compare_entries);
    for (size_t i = 0; i < page->count; i++) {
        const struct s3_list_entry *entry = &page->entries[i];
        if (listing->last && strcmp(entry->key, listing->last) <= 0)
            return stor_fail(err, STOR_EINTERNAL, "S3 ListObjectsV2 %s: the server listed %s "
                             "after %s, out of order or twice: not believed", listing->bucket,
                             entry->key, listing->last);
        free(listing->last);
        if (!(listing->last = strdup(entry->key)))
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        if (!name_acceptable(entry->key)) {
            s3_log(listing->plugin, STOR_LOG_WARN, "%s: skipping a listed name no stor key can "
                   "be (control characters, not UTF-8, or a '.'/'..' or empty segment)",
                   listing->bucket);
            continue;
        }
        enum stor_status status = report_entry(listing, entry, err);
        if (status != STOR_OK)
            return status;
    }
    return STOR_OK;
}

enum stor_status s3_list(void *instance, const char *bucket, const char *prefix, unsigned flags,
                         stor_object_fn on_object, void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    if (flags & STOR_LIST_VERSIONS)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend s3 does not list versions");
    struct listing listing = {plugin, bucket, prefix ? prefix : "", flags, on_object, context, NULL};
    char *token = NULL;
    enum stor_status status = STOR_OK;
    int empty_pages = 0;
    do {
        struct s3_sigv4_param params[6] = {{"list-type", "2"}, {"encoding-type", "url"},
                                           {"max-keys", "1000"}};
        size_t count = 3;
        if (*listing.prefix)
            params[count++] = (struct s3_sigv4_param){"prefix", listing.prefix};
        if (!(flags & STOR_LIST_RECURSIVE))
            params[count++] = (struct s3_sigv4_param){"delimiter", "/"};
        if (token)
            params[count++] = (struct s3_sigv4_param){"continuation-token", token};
        struct s3_call call = {.operation = "ListObjectsV2", .method = "GET", .bucket = bucket,
                               .params = params, .param_count = count, .body_fd = -1};
        struct s3_http_response response;
        status = s3_request(plugin, &call, &response, NULL, err);
        if (status != STOR_OK)
            break;
        struct s3_list_page page;
        char why[S3_WHY_MAX];
        if (s3_wire_list_page(response.body, response.body_length, 1, &page, why) != 0) {
            s3_http_response_free(&response);
            status = stor_fail(err, STOR_EINTERNAL, "S3 ListObjectsV2 %s: the answer is "
                               "malformed: %s", bucket, why);
            break;
        }
        s3_http_response_free(&response);
        status = take_page(&listing, &page, err);
        if (status == STOR_OK && page.truncated) {
            empty_pages = page.count ? 0 : empty_pages + 1;
            if (!page.next_token || strpbrk(page.next_token, "\r\n"))
                status = stor_fail(err, STOR_EINTERNAL, "S3 ListObjectsV2 %s: a truncated page "
                                   "without a usable NextContinuationToken", bucket);
            else if ((token && strcmp(token, page.next_token) == 0) ||
                     empty_pages > S3_LIST_EMPTY_PAGES_MAX)
                status = stor_fail(err, STOR_EINTERNAL, "S3 ListObjectsV2 %s: the continuation "
                                   "token does not advance: not believed", bucket);
        }
        free(token);
        token = NULL;
        if (status == STOR_OK && page.truncated && !(token = strdup(page.next_token)))
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
        s3_list_page_free(&page);
        if (status == STOR_OK && s3_cancelled(plugin))
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
    } while (status == STOR_OK && token);
    free(token);
    free(listing.last);
    return status;
}
