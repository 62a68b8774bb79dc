/* plugins/s3/pages.c — a listing page by page (pages.h): ListObjectsV2 or ListObjectVersions,
 * delimiter '/' for one level, encoding-type=url so any key survives XML, each page merged in
 * byte order of key. A server that lies is refused: a key outside the prefix, out of order or
 * twice, a cursor that does not advance; a name no object can have (control bytes, bad UTF-8,
 * "." or ".." segments) is skipped with a warning. */
#include "pages.h"

#include "request.h"
#include "sp_host.h"

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

/* By key; a key's versions stay in the order S3 gave them (newest first). */
static int compare_entries(const void *a, const void *b)
{
    const struct s3_list_entry *x = a, *y = b;
    int order = strcmp(x->key, y->key);
    return order ? order : x->position < y->position ? -1 : x->position > y->position;
}

struct listing {
    struct s3_plugin *plugin;
    const char *bucket, *prefix;
    unsigned flags;
    const char *operation; /* "ListObjectsV2" or "ListObjectVersions", for messages */
    s3_entry_fn on_entry;
    void *context;
    char *last;      /* the last key reported (or skipped), for the order check */
    char *last_version; /* and its version id (versions: a key repeats, a version never) */
};

static enum stor_status take_page(struct listing *listing, struct s3_list_page *page,
                                  struct stor_error *err)
{
    size_t prefix_length = strlen(listing->prefix);
    int one_level = !(listing->flags & STOR_LIST_RECURSIVE);
    for (size_t i = 0; i < page->count; i++) {
        const struct s3_list_entry *entry = &page->entries[i];
        if (strncmp(entry->key, listing->prefix, prefix_length) != 0)
            return stor_fail(err, STOR_EINTERNAL, "S3 %s %s: the server listed %s, "
                             "outside the prefix '%s' asked for: not believed", listing->operation,
                             listing->bucket,
                             entry->key, listing->prefix);
        const char *rest = entry->key + prefix_length;
        const char *slash = strchr(rest, '/');
        if (entry->is_prefix ? !one_level || !slash || slash[1] : one_level && slash)
            return stor_fail(err, STOR_EINTERNAL, "S3 %s %s: the server listed %s%s "
                             "where a %s listing has none: not believed", listing->operation,
                             listing->bucket,
                             entry->is_prefix ? "the prefix " : "", entry->key,
                             one_level ? "one-level" : "recursive");
    }
    if (page->count > 1) /* entries is NULL on an empty page, and qsort may not take NULL */
        qsort(page->entries, page->count, sizeof *page->entries, compare_entries);
    for (size_t i = 0; i < page->count; i++) {
        const struct s3_list_entry *entry = &page->entries[i];
        /* A key comes once, after the one before; in a version listing a key comes again only
         * for another version, never a version twice in a row. */
        int order = listing->last ? strcmp(entry->key, listing->last) : 1;
        int again = order == 0 && entry->version_id && listing->last_version &&
                    strcmp(entry->version_id, listing->last_version) != 0;
        if (order < 0 || (order == 0 && !again))
            return stor_fail(err, STOR_EINTERNAL, "S3 %s %s: the server listed %s after %s, out "
                             "of order or twice: not believed", listing->operation,
                             listing->bucket, entry->key, listing->last);
        free(listing->last);
        free(listing->last_version);
        listing->last_version = entry->version_id ? strdup(entry->version_id) : NULL;
        if (!(listing->last = strdup(entry->key)) || (entry->version_id && !listing->last_version))
            return stor_fail(err, STOR_EINTERNAL, "out of memory");
        if (!name_acceptable(entry->key)) {
            sp_log(listing->plugin->host, STOR_LOG_WARN,
                   "%s: skipping a listed name no stor key can "
                   "be (control characters, not UTF-8, or a '.'/'..' or empty segment)",
                   listing->bucket);
            continue;
        }
        enum stor_status status = listing->on_entry(listing->context, entry, err);
        if (status != STOR_OK)
            return status;
    }
    return STOR_OK;
}

/* One page's request: ListObjectsV2 from the continuation token, or ListObjectVersions from the
 * key and version-id markers. */
static enum stor_status fetch_page(struct listing *listing, const char *token,
                                   const char *version_marker, struct s3_list_page *page,
                                   struct stor_error *err)
{
    int versions = (listing->flags & STOR_LIST_VERSIONS) != 0;
    struct s3_sigv4_param params[7] = {{"encoding-type", "url"}, {"max-keys", "1000"}};
    size_t count = 2;
    if (versions)
        params[count++] = (struct s3_sigv4_param){"versions", NULL};
    else
        params[count++] = (struct s3_sigv4_param){"list-type", "2"};
    if (*listing->prefix)
        params[count++] = (struct s3_sigv4_param){"prefix", listing->prefix};
    if (!(listing->flags & STOR_LIST_RECURSIVE))
        params[count++] = (struct s3_sigv4_param){"delimiter", "/"};
    if (token)
        params[count++] = (struct s3_sigv4_param){versions ? "key-marker" : "continuation-token",
                                                  token};
    if (token && version_marker)
        params[count++] = (struct s3_sigv4_param){"version-id-marker", version_marker};
    struct s3_call call = {.operation = listing->operation, .method = "GET",
                           .bucket = listing->bucket, .params = params, .param_count = count,
                           .body_fd = -1};
    struct sp_http_response response;
    enum stor_status status = s3_request(listing->plugin, &call, &response, NULL, err);
    if (status != STOR_OK)
        return status;
    char why[S3_WHY_MAX];
    int parsed = versions ? s3_wire_versions_page(response.body, response.body_length, 1, page, why)
                          : s3_wire_list_page(response.body, response.body_length, 1, page, why);
    sp_http_response_free(&response);
    if (parsed != 0)
        return stor_fail(err, STOR_EINTERNAL, "S3 %s %s: the answer is malformed: %s",
                         listing->operation, listing->bucket, why);
    return STOR_OK;
}

/* Where the next page starts, from a truncated one: a token, or key and version-id markers,
 * which must move forward (a server repeating itself would loop forever). */
static enum stor_status advance(struct listing *listing, const struct s3_list_page *page,
                                char **token, char **version_marker, int *empty_pages,
                                struct stor_error *err)
{
    int versions = (listing->flags & STOR_LIST_VERSIONS) != 0;
    const char *next = versions ? page->next_key_marker : page->next_token;
    const char *next_version = versions ? page->next_version_marker : NULL;
    *empty_pages = page->count ? 0 : *empty_pages + 1;
    if (!next || strpbrk(next, "\r\n") || (next_version && strpbrk(next_version, "\r\n")))
        return stor_fail(err, STOR_EINTERNAL, "S3 %s %s: a truncated page without a usable %s",
                         listing->operation, listing->bucket,
                         versions ? "NextKeyMarker" : "NextContinuationToken");
    int same = *token && strcmp(*token, next) == 0 &&
               (!versions || (!*version_marker && !next_version) ||
                (*version_marker && next_version && strcmp(*version_marker, next_version) == 0));
    int backwards = versions && *token && strcmp(next, *token) < 0;
    if (same || backwards || *empty_pages > S3_LIST_EMPTY_PAGES_MAX)
        return stor_fail(err, STOR_EINTERNAL, "S3 %s %s: the %s does not advance: not believed",
                         listing->operation, listing->bucket,
                         versions ? "key marker" : "continuation token");
    free(*token);
    free(*version_marker);
    *token = strdup(next);
    *version_marker = next_version ? strdup(next_version) : NULL;
    if (!*token || (next_version && !*version_marker))
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    return STOR_OK;
}

enum stor_status s3_pages_list(struct s3_plugin *plugin, const char *bucket, const char *prefix,
                               unsigned flags, s3_entry_fn on_entry, void *context,
                               struct stor_error *err)
{
    struct listing listing = {plugin, bucket, prefix ? prefix : "", flags,
                              flags & STOR_LIST_VERSIONS ? "ListObjectVersions" : "ListObjectsV2",
                              on_entry, context, NULL, NULL};
    char *token = NULL, *version_marker = NULL;
    enum stor_status status = STOR_OK;
    int empty_pages = 0;
    do {
        struct s3_list_page page;
        status = fetch_page(&listing, token, version_marker, &page, err);
        if (status != STOR_OK)
            break;
        status = take_page(&listing, &page, err);
        if (status == STOR_OK && page.truncated)
            status = advance(&listing, &page, &token, &version_marker, &empty_pages, err);
        else {
            free(token);
            token = NULL;
        }
        s3_list_page_free(&page);
        if (status == STOR_OK && sp_cancelled(plugin->host))
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
    } while (status == STOR_OK && token);
    free(token);
    free(version_marker);
    free(listing.last);
    free(listing.last_version);
    return status;
}
