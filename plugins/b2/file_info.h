/* plugins/b2/file_info.h — what a put keeps with the file: its content type and its file info
 * (put_ex's headers and metadata over the info.* options, the mtime), checked against B2's limits. */
#ifndef B2_FILE_INFO_H
#define B2_FILE_INFO_H

#include <json-c/json.h>

#include "call.h"
#include "instance.h"
#include "protection.h"
#include "sha1.h"

#define B2_INFO_ENTRIES_MAX 10       /* file-info entries B2 keeps, the plugin's own included */
#define B2_NAME_AND_INFO_BYTES 7000  /* file name + every X-Bz-Info-* header line, CRLF included */
#define B2_NAME_AND_INFO_BYTES_PROTECTED 2048 /* the same with SSE or Object Lock */

struct b2_put_meta {
    char *content_type;
    struct b2_info *info;   /* b2-* headers and user metadata, without the plugin's own keys */
    size_t info_count;
    int64_t mtime_ms;       /* src_last_modified_millis to store, -1 for none */
    char sha1[B2_SHA1_HEX_LENGTH + 1]; /* the caller's SHA-1 (lower case), "" when not given */
    /* protection.* as checked: encryption, and Object Lock (a bucket with it enabled only) */
    enum b2_sse sse;
    const struct b2_config *config; /* where an SSE-C key lives (never copied) */
    const char *retention_mode;     /* "governance", "compliance" or NULL */
    int64_t retain_until_ms;        /* with retention_mode */
    int legal_hold;                 /* -1 not asked, 0 off, 1 on */
};

/* From put_ex's options (NULL: none) and the plugin's: content type, info.* options overridden
 * by the b2-* headers and metadata of the same key, mtime (options' if >= 0, else
 * source_mtime_ms), the caller's SHA-1. Checks everything B2 would refuse before anything is
 * sent: field and key syntax, Object Lock and encryption (STOR_EUNSUPPORTED: a later change), and
 * with large (a large_file_sha1 entry will be added) the 10 entries and the 7,000 bytes. */
enum stor_status b2_put_meta_build(const struct b2_plugin *plugin, const char *key,
                                   const struct stor_put_options *options, int64_t source_mtime_ms,
                                   int large, struct b2_put_meta *meta, struct stor_error *err);
void b2_put_meta_free(struct b2_put_meta *meta);

/* b2_upload_file's lines: Content-Type, X-Bz-Info-src_last_modified_millis and every entry,
 * values percent-encoded. 0, or -1 (out of memory or room); lines added are counted in *count. */
int b2_put_meta_headers(const struct b2_put_meta *meta, char **lines, size_t *count,
                        size_t max_lines);
/* b2_start_large_file's fileInfo: every entry, the mtime and large_file_sha1 (if not ""). */
json_object *b2_put_meta_file_info(const struct b2_put_meta *meta, const char *large_file_sha1);
/* b2_start_large_file's serverSideEncryption, fileRetention and legalHold, added to request. */
void b2_put_meta_start_fields(const struct b2_put_meta *meta, json_object *request);
/* b2_upload_part's lines: the SSE-C key of an SSE-C file. 0 or -1. */
int b2_put_meta_part_headers(const struct b2_put_meta *meta, char **lines, size_t *count,
                             size_t max_lines);
/* Whether the put asks for retention or a legal hold (B2 refuses that outside a lock bucket). */
int b2_put_meta_locks(const struct b2_put_meta *meta);
/* A put with retention or a legal hold that B2 refused (400 bad_request / 403 access_denied):
 * the bucket has no Object Lock, said in one line. Else status as it was. */
enum stor_status b2_lock_refused(const struct b2_put_meta *meta, const char *bucket,
                                 const char *key, const struct b2_failure *failure,
                                 enum stor_status status, struct stor_error *err);

#endif
