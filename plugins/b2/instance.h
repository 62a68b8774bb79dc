/* plugins/b2/instance.h — the B2 plugin's instance (struct b2_plugin: options, seams, the
 * account, learned bucket ids, idle upload targets) and B2's limits. Not a room: a type every
 * room reads, needing only the bottom's types (clock, wire). */
#ifndef B2_INSTANCE_H
#define B2_INSTANCE_H

#include <pthread.h>
#include <stdint.h>
#include <stor/plugin.h>

#include "sp_clock.h"
#include "wire.h"

struct b2_cache;
struct sp_http;

/* B2's limits (reference: the native API). Account tokens and upload targets live 24 h; we stop
 * using them an hour early, so an upload that starts just before the limit still finishes
 * inside it. */
#define B2_TOKEN_LIFE_MS (24LL * 3600 * 1000)
#define B2_TOKEN_MARGIN_MS (3600LL * 1000)
#define B2_SINGLE_UPLOAD_MAX 5000000000LL
#define B2_PART_SIZE_MIN 5000000LL    /* B2's absoluteMinimumPartSize (the account may say more) */
#define B2_PART_SIZE_MAX 5000000000LL
#define B2_PARTS_MAX 10000

struct b2_info {
    char *name;
    char *value;
};

struct b2_config {
    char *endpoint;         /* no trailing '/' */
    char *key_id;
    char *key;              /* secret */
    char *key_basic;        /* secret: Base64 of "key_id:key", as Basic auth sends it */
    int retries;            /* tries of one API call */
    int64_t retry_time_ms;  /* and the time they may take */
    char *content_type;
    struct b2_info *info;   /* -o info.NAME=VALUE */
    size_t info_count;
    int64_t upload_cutoff;
    int disk_cache;
    char *cache_dir;        /* NULL: the environment's default */
    long connect_timeout_s;
    long idle_timeout_s;
    /* large files (large_file.c) */
    int transfers;          /* parts of one file in flight at once */
    int64_t part_size;      /* 0: sized per file */
    int resume;             /* continue a matching unfinished large file */
    /* ---- downloads and copies (download.c, copy.c) ---- */
    char *download_url;         /* -o download_url: by-name downloads go there (a CDN), or NULL */
    int64_t download_part_size; /* bytes per parallel range; 0: the account's recommended size */
    /* ---- server-side encryption (protection.c) ---- */
    char *sse_c_key_b64;        /* secret: -o sse_c_key_file's 32 bytes, base64, or NULL */
    char *sse_c_key_md5;        /* secret too: base64 of the key's MD5, as B2 checks it */
};

struct b2_plugin {
    const struct stor_host *host;
    struct sp_http *http;
    struct sp_clock clock;
    struct b2_config config;
    struct b2_cache *cache; /* NULL: memory only */

    /* Held through a whole authorization, so a refresh is single-flight. */
    pthread_mutex_t auth_lock;
    struct b2_account account; /* account.token == NULL until authorized */
    uint64_t auth_generation;  /* bumped on every new token */
    int said_unreachable;      /* the one warning that B2 cannot be reached was given */

    pthread_mutex_t bucket_lock;
    pthread_mutex_t bucket_lookup_lock; /* one b2_list_buckets at a time: threads share it */
    struct b2_bucket_ref *bucket_ids; /* name -> id learned this run */
    size_t bucket_id_count;

    pthread_mutex_t pool_lock;
    struct b2_target *idle_targets; /* upload targets ready for a lease, every bucket */
    size_t idle_count, idle_capacity;
};

#endif
