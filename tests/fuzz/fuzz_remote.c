/* tests/fuzz/fuzz_remote.c — BUCKET/KEY splitting (commands.c: stor_split_remote) into a small
 * buffer: never overflows, and bucket + '/' + key give back the input. Usage errors go to stderr. */
#include "fuzz.h"
#include "commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *remote = fuzz_string(data, size), bucket[64];
    const char *key = NULL;
    int key_required = size > 0 && data[0] & 1;
    if (stor_split_remote(remote, bucket, sizeof bucket, &key, key_required, "BUCKET/KEY") == 0) {
        size_t length = strlen(bucket);
        if (length == 0 || strncmp(remote, bucket, length) != 0 ||
            (remote[length] == '/' ? key != remote + length + 1 : *key != '\0'))
            abort();
    }
    free(remote);
    return 0;
}
