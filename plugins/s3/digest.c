/* plugins/s3/digest.c — MD5, SHA-1, SHA-256 and Base64 on libcrypto's EVP interface, and hashing
 * a range of a file with pread (see digest.h). The bottom: it calls no room. */
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

struct s3_digest {
    EVP_MD_CTX *context;
};

static const EVP_MD *algorithm(enum s3_digest_kind kind)
{
    return kind == S3_MD5 ? EVP_md5() : kind == S3_SHA1 ? EVP_sha1() : EVP_sha256();
}

struct s3_digest *s3_digest_new(enum s3_digest_kind kind)
{
    struct s3_digest *digest = malloc(sizeof *digest);
    if (!digest)
        return NULL;
    digest->context = EVP_MD_CTX_new();
    if (!digest->context || EVP_DigestInit_ex(digest->context, algorithm(kind), NULL) != 1) {
        EVP_MD_CTX_free(digest->context);
        free(digest);
        return NULL;
    }
    return digest;
}

void s3_digest_update(struct s3_digest *digest, const void *data, size_t size)
{
    if (digest && size)
        EVP_DigestUpdate(digest->context, data, size);
}

size_t s3_digest_finish(struct s3_digest *digest, unsigned char *out)
{
    if (!digest)
        return 0;
    unsigned int length = 0;
    EVP_DigestFinal_ex(digest->context, out, &length);
    s3_digest_free(digest);
    return length;
}

void s3_digest_free(struct s3_digest *digest)
{
    if (!digest)
        return;
    EVP_MD_CTX_free(digest->context);
    free(digest);
}

size_t s3_digest_of(enum s3_digest_kind kind, const void *data, size_t size, unsigned char *out)
{
    unsigned int length = 0;
    EVP_Digest(data, size, out, &length, algorithm(kind), NULL);
    return length;
}

void s3_hex(const unsigned char *raw, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * size] = '\0';
}

void s3_base64(const unsigned char *raw, size_t size, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, raw, (int)size);
}

int s3_digest_fd(int fd, int64_t offset, int64_t length, struct s3_digest *const *digests,
                 size_t digest_count)
{
    enum { CHUNK = 1 << 20 };
    char *buffer = malloc(CHUNK);
    if (!buffer)
        return -1;
    while (length > 0) {
        ssize_t got = pread(fd, buffer, length < CHUNK ? (size_t)length : CHUNK, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO; /* the file shrank */
            free(buffer);
            return -1;
        }
        for (size_t i = 0; i < digest_count; i++)
            s3_digest_update(digests[i], buffer, (size_t)got);
        offset += got;
        length -= got;
    }
    free(buffer);
    return 0;
}
