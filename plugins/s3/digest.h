/* plugins/s3/digest.h — the hashes S3 and stor compare on: MD5 (Content-MD5, ETags), SHA-1 (the
 * whole object, as B2 keeps it), SHA-256 (SigV4 payloads), Base64. libcrypto; no I/O but pread. */
#ifndef S3_DIGEST_H
#define S3_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct s3_digest; /* an incremental MD5, SHA-1 or SHA-256 */

enum s3_digest_kind { S3_MD5, S3_SHA1, S3_SHA256 };

struct s3_digest *s3_digest_new(enum s3_digest_kind kind);
void s3_digest_update(struct s3_digest *digest, const void *data, size_t size);
/* Raw bytes (16, 20 or 32) into out; the digest is freed. NULL is accepted (frees nothing). */
size_t s3_digest_finish(struct s3_digest *digest, unsigned char *out);
void s3_digest_free(struct s3_digest *digest);

/* One shot over memory: raw bytes into out, returns their count. */
size_t s3_digest_of(enum s3_digest_kind kind, const void *data, size_t size, unsigned char *out);
/* Lowercase hex of size raw bytes into out (2 * size + 1). */
void s3_hex(const unsigned char *raw, size_t size, char *out);
/* Base64 of size raw bytes into out (4 * ceil(size / 3) + 1). */
void s3_base64(const unsigned char *raw, size_t size, char *out);

/* Reads length bytes of fd from offset with pread and feeds them to each digest not NULL; -1 with
 * errno on a read error or a file shorter than that. */
int s3_digest_fd(int fd, int64_t offset, int64_t length, struct s3_digest *const *digests,
                 size_t digest_count);

#endif
