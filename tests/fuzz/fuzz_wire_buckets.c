/* tests/fuzz/fuzz_wire_buckets.c — b2_list_buckets answers through b2_wire_parse +
 * b2_wire_bucket_id (bucket.c) and b2_wire_bucket (bucket_admin.c), and download authorizations. */
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
    /* Each entry as list_buckets reads it (bucket_admin.c). */
    json_object *buckets;
    if (json_object_object_get_ex(root, "buckets", &buckets) &&
        json_object_is_type(buckets, json_type_array))
        for (size_t i = 0; i < json_object_array_length(buckets); i++) {
            struct b2_bucket bucket;
            if (b2_wire_bucket(json_object_array_get_idx(buckets, i), &bucket, why) == 0 &&
                (!*bucket.name || !*bucket.id ||
                 (bucket.lifecycle_rules && strlen(bucket.lifecycle_rules) == 0)))
                abort();
        }
    const char *token;
    if (b2_wire_download_authorization(root, "bucket-id", "prefix/", &token, why) == 0 &&
        strpbrk(token, " \r\n\t"))
        abort();
    json_object_put(root);
    return 0;
}
