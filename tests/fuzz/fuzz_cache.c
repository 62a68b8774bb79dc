/* tests/fuzz/fuzz_cache.c — the on-disk cache reader: any bytes as the cache file (0600, ours) in
 * a temporary directory, read through b2_cache_update and handed to the readers auth.c/pool.c use. */
#include "fuzz.h"
#include "cache.h"
#include "wire.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

static struct b2_cache *cache;

static void remove_directory(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", b2_cache_path(cache));
    unlink(path);
    *strrchr(path, '/') = '\0';
    char lock[600];
    snprintf(lock, sizeof lock, "%s", b2_cache_path(cache));
    strcpy(strrchr(lock, '.'), ".lock");
    unlink(lock);
    rmdir(path);
    b2_cache_close(cache);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char directory[] = "/tmp/stor-fuzz-cache.XXXXXX", why[256];
    if (!mkdtemp(directory) || !(cache = b2_cache_open(directory, "https://api.example.com",
                                                      "000fuzzkey", "fuzz-application-key", why,
                                                      sizeof why)))
        abort();
    atexit(remove_directory);
    return 0;
}

/* What the cache's users do with the root: the account, the bucket ids, the pooled targets. */
static int read_everything(json_object *root, void *context)
{
    char why[B2_WHY_MAX];
    json_object *member, *list;
    struct b2_account account;
    if (json_object_object_get_ex(root, "account", &member) &&
        b2_wire_account(member, &account, why) == 0)
        b2_account_free(&account);
    if (json_object_object_get_ex(root, "uploadTargets", &member) &&
        json_object_is_type(member, json_type_object)) {
        json_object_object_foreach(member, bucket, targets) {
            (void)bucket;
            list = targets;
            if (!json_object_is_type(list, json_type_array))
                continue;
            for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct b2_target target;
                if (b2_wire_target_from_json(json_object_array_get_idx(list, i), &target) == 0)
                    b2_target_free(&target);
            }
        }
    }
    return *(const int *)context;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = b2_cache_path(cache);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0)
        abort();
    /* Every other input is written back, so the writer meets what the reader let through. */
    int write_back = size > 0 && data[size - 1] & 1;
    if (b2_cache_update(cache, read_everything, &write_back) < 0)
        abort();
    return 0;
}
