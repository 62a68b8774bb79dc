/* plugins/s3/instance.h — the S3 plugin's instance (struct s3_plugin: options, credentials, the
 * seams) and S3's limits. Not a room: a type every room reads, needing only the bottom's types. */
#ifndef S3_INSTANCE_H
#define S3_INSTANCE_H

#include <stdint.h>
#include <stor/plugin.h>

#include "sp_clock.h"

struct sp_http;

/* S3's limits (AWS: "Amazon S3 multipart upload limits"). */
#define S3_SINGLE_PUT_MAX (5LL << 30)  /* one PUT, one CopyObject */
#define S3_PART_SIZE_MAX (5LL << 30)
#define S3_PART_SIZE_AWS_MIN (5LL << 20) /* every part but the last, on AWS */
#define S3_PART_SIZE_MIN 1024LL        /* what the option takes (test servers go lower than AWS) */
#define S3_PARTS_MAX 10000
#define S3_OBJECT_MAX (S3_PARTS_MAX * S3_PART_SIZE_MAX)
#define S3_DEFAULT_PART_SIZE (16LL << 20)
#define S3_DEFAULT_UPLOAD_CUTOFF (200LL << 20) /* rclone's s3 default */
#define S3_DEFAULT_TRANSFERS 4
#define S3_MAX_TRANSFERS 64
#define S3_MAX_METADATA 64

struct s3_config {
    char *endpoint;    /* scheme://host[:port][/base], no trailing '/' */
    char *scheme_host; /* scheme:// + host[:port] (without the base path) */
    char *host;        /* host[:port] as signed */
    char *base_path;   /* "" or "/base" */
    char *region;
    int path_style;    /* 1 path style, 0 virtual-hosted */
    char *access_key, *secret_key, *session_token;
    char *credentials_source; /* where they came from, for messages ("env", "profile default") */
    char *content_type; /* default of uploads */
    int transfers;
    int64_t part_size;     /* 0: chosen per file */
    int64_t upload_cutoff;
    int64_t download_part_size; /* 0: S3_DEFAULT_PART_SIZE */
    int64_t copy_cutoff;        /* above it a copy goes in UploadPartCopy parts (S3: 5 GiB) */
    int resume;
    int list_metadata; /* HEAD each listed object for mtime and SHA-1 (as rclone does) */
    int retries;
    long idle_timeout_s, connect_timeout_s;
};

struct s3_plugin {
    const struct stor_host *host;
    struct s3_config config;
    struct sp_http *http;
    struct sp_clock clock;
};

#endif
