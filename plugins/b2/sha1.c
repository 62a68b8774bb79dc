/* plugins/b2/sha1.c — SHA-1 through libcrypto's EVP interface (the SHA1_* calls are deprecated).
 * Reads files with pread so the caller's file position never moves. */
#include "sha1.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* SHA-1 fetched from the provider once: EVP_sha1() makes every init look it up again, which
 * cost about as much as hashing a 4 KiB file. */
static EVP_MD *fetched_sha1;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_sha1(void)
{
    fetched_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int b2_sha1_init(struct b2_sha1 *sha1)
{
    pthread_once(&fetch_once, fetch_sha1);
    const EVP_MD *md = fetched_sha1 ? fetched_sha1 : EVP_sha1();
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (!context || EVP_DigestInit_ex(context, md, NULL) != 1) {
        EVP_MD_CTX_free(context);
        sha1->context = NULL;
        return -1;
    }
    sha1->context = context;
    return 0;
}

void b2_sha1_update(struct b2_sha1 *sha1, const void *data, size_t size)
{
    EVP_DigestUpdate(sha1->context, data, size);
}

void b2_sha1_final(struct b2_sha1 *sha1, char hex[B2_SHA1_HEX_LENGTH + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    static const char digits[] = "0123456789abcdef";
    EVP_DigestFinal_ex(sha1->context, digest, &length);
    for (unsigned int i = 0; i < length && i < 20; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[B2_SHA1_HEX_LENGTH] = '\0';
    b2_sha1_abandon(sha1);
}

void b2_sha1_abandon(struct b2_sha1 *sha1)
{
    EVP_MD_CTX_free(sha1->context);
    sha1->context = NULL;
}

int b2_sha1_of_fd(int fd, int64_t offset, int64_t length, char hex[B2_SHA1_HEX_LENGTH + 1])
{
    struct b2_sha1 sha1;
    if (b2_sha1_init(&sha1) != 0) {
        errno = ENOMEM;
        return -1;
    }
    size_t buffer_size = 1 << 20;
    char *buffer = malloc(buffer_size);
    if (!buffer) {
        b2_sha1_abandon(&sha1);
        errno = ENOMEM;
        return -1;
    }
    while (length > 0) {
        size_t want = length < (int64_t)buffer_size ? (size_t)length : buffer_size;
        ssize_t got = pread(fd, buffer, want, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO; /* the file shrank under us */
            free(buffer);
            b2_sha1_abandon(&sha1);
            return -1;
        }
        b2_sha1_update(&sha1, buffer, (size_t)got);
        offset += got;
        length -= got;
    }
    free(buffer);
    b2_sha1_final(&sha1, hex);
    return 0;
}
