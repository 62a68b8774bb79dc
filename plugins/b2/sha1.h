/* plugins/b2/sha1.h — streaming SHA-1 (OpenSSL libcrypto EVP) as B2 wants it: 40 lowercase hex.
 * Used to hash a file before upload, a body while it streams, and a download as it arrives. */
#ifndef B2_SHA1_H
#define B2_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define B2_SHA1_HEX_LENGTH 40

struct b2_sha1 {
    void *context; /* EVP_MD_CTX */
};

int b2_sha1_init(struct b2_sha1 *sha1);  /* 0, or -1 when libcrypto fails */
void b2_sha1_update(struct b2_sha1 *sha1, const void *data, size_t size);
/* Write 40 hex digits and a NUL into hex, and release the context. */
void b2_sha1_final(struct b2_sha1 *sha1, char hex[B2_SHA1_HEX_LENGTH + 1]);
void b2_sha1_abandon(struct b2_sha1 *sha1);
/* Hash length bytes of fd from offset with pread. 0, or -1 with errno set. */
int b2_sha1_of_fd(int fd, int64_t offset, int64_t length, char hex[B2_SHA1_HEX_LENGTH + 1]);

#endif
