/* plugins/b2/protection.c — encryption at rest on the wire: the SSE-C key from -o sse_c_key_file
 * (never logged, masked in messages and traces), SSE headers and JSON, and B2's refusals of it. */
#include "protection.h"

#include "instance.h"

#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define B2_SSE_C_KEY_BYTES 32 /* AES-256 */

void b2_sse_c_forget(struct b2_config *config)
{
    for (char **secret = (char *[]){config->sse_c_key_b64, config->sse_c_key_md5, NULL}; *secret;
         secret++)
        explicit_bzero(*secret, strlen(*secret));
    free(config->sse_c_key_b64);
    free(config->sse_c_key_md5);
    config->sse_c_key_b64 = config->sse_c_key_md5 = NULL;
}

enum stor_status b2_sse_c_load(const char *path, struct b2_config *config, struct stor_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return stor_fail(err, STOR_EINVAL, "sse_c_key_file %s: %s", path, strerror(errno));
    struct stat info;
    unsigned char key[B2_SSE_C_KEY_BYTES + 1];
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return stor_fail(err, STOR_EINVAL, "sse_c_key_file %s is not a regular file", path);
    }
    /* The key decrypts the data: a file others may read or replace is no key to trust. */
    if (info.st_uid != geteuid() || (info.st_mode & (S_IRWXG | S_IRWXO))) {
        close(fd);
        return stor_fail(err, STOR_EINVAL, "sse_c_key_file %s must be yours and readable by you "
                         "only (chmod 600 it): the key decrypts every SSE-C file", path);
    }
    ssize_t length = read(fd, key, sizeof key);
    close(fd);
    if (length != B2_SSE_C_KEY_BYTES || info.st_size != B2_SSE_C_KEY_BYTES) {
        explicit_bzero(key, sizeof key);
        return stor_fail(err, STOR_EINVAL, "sse_c_key_file %s holds %lld bytes: an SSE-C key is "
                         "exactly %d bytes (e.g. head -c 32 /dev/urandom)", path,
                         (long long)info.st_size, B2_SSE_C_KEY_BYTES);
    }
    unsigned char digest[16];
    unsigned int digest_length = 0;
    b2_sse_c_forget(config);
    config->sse_c_key_b64 = malloc(4 * ((B2_SSE_C_KEY_BYTES + 2) / 3) + 1);
    config->sse_c_key_md5 = malloc(4 * ((sizeof digest + 2) / 3) + 1);
    int ok = config->sse_c_key_b64 && config->sse_c_key_md5 &&
             EVP_Digest(key, B2_SSE_C_KEY_BYTES, digest, &digest_length, EVP_md5(), NULL) == 1;
    if (ok) {
        EVP_EncodeBlock((unsigned char *)config->sse_c_key_b64, key, B2_SSE_C_KEY_BYTES);
        EVP_EncodeBlock((unsigned char *)config->sse_c_key_md5, digest, sizeof digest);
    }
    explicit_bzero(key, sizeof key);
    explicit_bzero(digest, sizeof digest);
    if (!ok) {
        free(config->sse_c_key_b64);
        free(config->sse_c_key_md5);
        config->sse_c_key_b64 = config->sse_c_key_md5 = NULL;
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    return STOR_OK;
}

static int add(char **lines, size_t *count, size_t max_lines, const char *name, const char *value)
{
    if (*count >= max_lines || asprintf(&lines[*count], "%s: %s", name, value) < 0)
        return -1;
    (*count)++;
    return 0;
}

const char *const b2_sse_c_secret_headers[] = {"X-Bz-Server-Side-Encryption-Customer-Key", NULL};

int b2_sse_c_headers(const struct b2_config *config, char **lines, size_t *count, size_t max_lines)
{
    if (!config->sse_c_key_b64)
        return 0;
    return add(lines, count, max_lines, "X-Bz-Server-Side-Encryption-Customer-Algorithm",
               "AES256") ||
           add(lines, count, max_lines, "X-Bz-Server-Side-Encryption-Customer-Key",
               config->sse_c_key_b64) ||
           add(lines, count, max_lines, "X-Bz-Server-Side-Encryption-Customer-Key-Md5",
               config->sse_c_key_md5)
               ? -1
               : 0;
}

json_object *b2_sse_json(const struct b2_config *config, enum b2_sse mode)
{
    if (mode == B2_SSE_NONE || (mode == B2_SSE_C && !config->sse_c_key_b64))
        return NULL;
    json_object *sse = json_object_new_object();
    if (!sse)
        return NULL;
    json_object_object_add(sse, "mode", json_object_new_string(mode == B2_SSE_B2 ? "SSE-B2"
                                                                                 : "SSE-C"));
    json_object_object_add(sse, "algorithm", json_object_new_string("AES256"));
    if (mode == B2_SSE_C) {
        json_object_object_add(sse, "customerKey", json_object_new_string(config->sse_c_key_b64));
        json_object_object_add(sse, "customerKeyMd5",
                               json_object_new_string(config->sse_c_key_md5));
    }
    return sse;
}

int b2_sse_c_refused(const struct b2_plugin *plugin, const struct b2_failure *failure,
                     const char *what, enum stor_status *status, struct stor_error *err)
{
    /* B2 answers a missing or wrong SSE-C key with 403 access_denied (b2sdk maps exactly that
     * to its SSECKeyError); a read has no other 403 access_denied. */
    if (failure->outcome != SP_HTTP_COMPLETE || failure->http_status != 403 ||
        strcmp(failure->code, "access_denied") != 0)
        return 0;
    *status = plugin->config.sse_c_key_b64
                  ? stor_fail(err, STOR_EAUTH, "%s: the SSE-C key does not match: this file is "
                              "encrypted with another key than -o sse_c_key_file holds", what)
                  : stor_fail(err, STOR_EAUTH, "%s: this file is encrypted with SSE-C: give its "
                              "key with -o sse_c_key_file=PATH", what);
    return 1;
}
