/* tests/fuzz/fuzz_wire_upload_url.c — b2_get_upload_url answers through b2_wire_parse +
 * b2_wire_upload_url (pool.c's path), and the pool's cache entries through b2_wire_target_from_json. */
#include "fuzz.h"
#include "wire.h"

#define BUCKET_ID "000000b2b2b2000000000001"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[B2_WHY_MAX];
    json_object *root = b2_wire_parse((const char *)data, size, why);
    if (!root)
        return 0;
    struct b2_target target;
    if (b2_wire_upload_url(root, BUCKET_ID, &target, why) == 0) {
        target.issued_at_ms = 1;
        json_object *saved = b2_wire_target_to_json(&target);
        struct b2_target again;
        if (!saved || b2_wire_target_from_json(saved, &again) != 0 ||
            strcmp(again.url, target.url) != 0 || strcmp(again.token, target.token) != 0)
            abort();
        b2_target_free(&again);
        json_object_put(saved);
        b2_target_free(&target);
    }
    if (b2_wire_target_from_json(root, &target) == 0)
        b2_target_free(&target);
    json_object_put(root);
    return 0;
}
