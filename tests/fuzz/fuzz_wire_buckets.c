/* tests/fuzz/fuzz_wire_buckets.c — b2_list_buckets answers through b2_wire_parse +
 * b2_wire_bucket_id, as bucket.c resolves a bucket name to its id. */
#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[B2_WHY_MAX];
    json_object *root = b2_wire_parse((const char *)data, size, why);
    if (!root)
        return 0;
    char *id = NULL;
    int found = b2_wire_bucket_id(root, "my-bucket", &id, why);
    if ((found == 1) != (id != NULL) || (id && !*id))
        abort();
    free(id);
    json_object_put(root);
    return 0;
}
