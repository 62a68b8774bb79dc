/* plugins/b2/wire.h — B2's JSON on the wire: the C structs of responses and their strict parsers.
 * Kept apart from behaviour (as rclone's api/types.go): nothing here does I/O or retries. */
#ifndef B2_WIRE_H
#define B2_WIRE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stor/plugin.h>

/* A parser's explanation of what was wrong with a response, one line. */
#define B2_WHY_MAX 200

struct b2_bucket_ref {
    char *id;
    char *name; /* NULL when B2 does not say (deleted bucket, restricted key) */
};

/* What b2_authorize_account tells us, flattened from the v2 and v4 shapes. */
struct b2_account {
    char *account_id;
    char *token;       /* secret */
    char *api_url;
    char *download_url;
    int64_t recommended_part_size;
    int64_t absolute_minimum_part_size;
    char **capabilities;
    size_t capability_count;
    struct b2_bucket_ref *buckets; /* the key's allowed buckets; none = every bucket */
    size_t bucket_count;
    char *name_prefix;             /* NULL when the key is not restricted to a prefix */
    int64_t authorized_at_ms;      /* our clock, not B2's */
    int from_cache;                /* taken from the disk cache, not authorized by this process */
};

/* One upload URL and its token (b2_get_upload_url), valid 24 h from issued_at_ms. */
struct b2_target {
    char *bucket_id;
    char *url;
    char *token; /* secret */
    int64_t issued_at_ms;
};

/* fileInfo entries kept per file; a file holding more (B2 documents 10) reports the first ones
 * and says so with info_truncated. */
#define B2_FILE_INFO_MAX 64

/* A file object (upload, hide, list results, b2_get_file_info). Strings point into the parsed
 * JSON. The one parser of file objects: listings, stat and put results all read this. */
struct b2_file {
    const char *action;       /* "upload", "hide", "folder", "start", ... */
    const char *file_id;      /* NULL for folders */
    const char *file_name;
    const char *bucket_id;    /* NULL if absent */
    const char *content_sha1; /* NULL, "none", hex, or "unverified:hex" */
    const char *content_type;
    int64_t content_length;
    int64_t upload_timestamp; /* -1 if absent */
    int64_t src_last_modified_millis; /* from fileInfo, -1 if absent */
    const char *large_file_sha1;      /* from fileInfo, NULL if absent */
    const char *content_md5;          /* 32 lowercase hex digits, else NULL */
    /* fileInfo's b2-* keys: the headers a download is served with (NULL if absent). */
    const char *cache_control, *content_disposition, *content_encoding, *content_language,
        *expires;
    /* Every other string entry of fileInfo (src_last_modified_millis and large_file_sha1 are
     * the plugin's own and left out), in the answer's order. */
    struct stor_option metadata[B2_FILE_INFO_MAX];
    size_t metadata_count;
    int info_truncated;               /* fileInfo held more entries than B2_FILE_INFO_MAX */
    /* serverSideEncryption.mode ("SSE-B2", "SSE-C"), fileRetention and legalHold where readable;
     * NULL / -1 otherwise (see struct stor_protection). */
    struct stor_protection protection;
};

/* Parse a whole body as one JSON object (depth-limited, no trailing bytes). NULL + why if not. */
json_object *b2_wire_parse(const char *body, size_t length, char why[B2_WHY_MAX]);
/* B2's error body {status, code, message}: fills what is there, leaves the rest empty. */
void b2_wire_error(const char *body, size_t length, char *code, size_t code_size, char *message,
                   size_t message_size);

int b2_wire_account(json_object *root, struct b2_account *account, char why[B2_WHY_MAX]);
/* The cache's form of an account: the v4 'allowed' shape, fields at the top. */
json_object *b2_wire_account_to_json(const struct b2_account *account);
void b2_account_free(struct b2_account *account);

/* A b2_get_upload_url response; fails if bucketId differs from the one asked for. */
int b2_wire_upload_url(json_object *root, const char *bucket_id, struct b2_target *target,
                       char why[B2_WHY_MAX]);
json_object *b2_wire_target_to_json(const struct b2_target *target);
int b2_wire_target_from_json(json_object *object, struct b2_target *target);
void b2_target_free(struct b2_target *target);

/* b2_list_buckets: the id of the bucket named name. 1 found, 0 absent, -1 malformed. */
int b2_wire_bucket_id(json_object *root, const char *name, char **id, char why[B2_WHY_MAX]);

int b2_wire_file(json_object *object, struct b2_file *file, char why[B2_WHY_MAX]);

/* One bucket of b2_list_buckets / b2_create_bucket / b2_delete_bucket. Strings point into the
 * JSON (lifecycle_rules into its serialisation, valid as long as the object). */
struct b2_bucket {
    const char *name;
    const char *id;
    const char *type;             /* "allPublic", "allPrivate", "snapshot", ..., or NULL */
    const char *lifecycle_rules;  /* lifecycleRules as JSON text, NULL if absent */
    const char *default_encryption; /* defaultServerSideEncryption's mode ("none" if readable
                                     * and unset), NULL if not readable or absent */
    int file_lock;                /* fileLockConfiguration's isFileLockEnabled: 1, 0, -1 unknown */
    /* The first lifecycle rule: its day counts (-1 when absent) and fileNamePrefix */
    int64_t keep_old_days, hide_after_days;
    const char *lifecycle_prefix;
    size_t lifecycle_rule_count;
};
int b2_wire_bucket(json_object *object, struct b2_bucket *bucket, char why[B2_WHY_MAX]);

/* b2_get_download_authorization: the token (checked fit for a URL's query), which must be for
 * bucket_id and prefix where the answer names them. Points into root. */
int b2_wire_download_authorization(json_object *root, const char *bucket_id, const char *prefix,
                                   const char **token, char why[B2_WHY_MAX]);

/* ---- large files (large_file.c, cleanup.c) ---- */

/* One uploaded part (b2_upload_part, b2_list_parts). content_sha1 points into the JSON. */
struct b2_part {
    int part_number;
    int64_t content_length;
    const char *content_sha1;
};

/* A b2_get_upload_part_url response: target->bucket_id holds the file id. Fails if fileId differs
 * from the one asked for. */
int b2_wire_upload_part_url(json_object *root, const char *file_id, struct b2_target *target,
                            char why[B2_WHY_MAX]);
int b2_wire_part(json_object *object, struct b2_part *part, char why[B2_WHY_MAX]);

/* A URL B2 handed out (field names it: uploadUrl, apiUrl, ...) checked against the endpoint we
 * were configured with: under an https endpoint a plain http:// URL is refused, since the tokens
 * and data sent to it would travel in clear. 0 if fine, -1 with why (never the URL's token). */
int b2_wire_url_keeps_tls(const char *endpoint, const char *field, const char *url,
                          char why[B2_WHY_MAX]);
/* The string value of fileInfo[key] in a file object, or NULL. */
const char *b2_wire_file_info(json_object *file, const char *key);

#endif
