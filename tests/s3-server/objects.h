/* objects.h — what multipart.c shares with objects.c: metadata from request headers, ETags,
 * digest checks of a body, Range parsing and x-amz-copy-source. */
#ifndef S3_OBJECTS_H
#define S3_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"
#include "store.h"

/* false after answering */
bool object_meta_from_request(struct request *req, struct meta **meta, size_t *count);
void object_etag(const unsigned char md5[16], char out[48]);
/* Content-MD5, x-amz-checksum-sha1/-sha256 against the body; md5 gets the body's MD5. false
 * after answering BadDigest / InvalidDigest. */
bool object_check_digests(struct request *req, unsigned char md5[16]);
/* 1 satisfiable, 0 not (416), -1 not one byte range */
int object_parse_range(const char *range, size_t size, size_t *first, size_t *last);
/* x-amz-copy-source decoded into bucket and key (malloc'd); false after answering. */
bool object_copy_source(struct request *req, char **bucket, char **key);

#endif
