/* tests/fuzz/fuzz_wire_account.c — b2_authorize_account answers (v2 flat, v3/v4 apiInfo, the
 * cache's form) through b2_wire_parse + b2_wire_account, as auth.c does; then the cache round trip. */
#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[B2_WHY_MAX];
    json_object *root = b2_wire_parse((const char *)data, size, why);
    if (!root)
        return 0;
    struct b2_account account;
    if (b2_wire_account(root, &account, why) == 0) {
        /* What auth.c saves must read back as the same account. */
        json_object *saved = b2_wire_account_to_json(&account);
        struct b2_account again;
        if (!saved || b2_wire_account(saved, &again, why) != 0)
            abort();
        if (strcmp(again.token, account.token) != 0 || again.bucket_count != account.bucket_count ||
            again.capability_count != account.capability_count)
            abort();
        b2_account_free(&again);
        json_object_put(saved);
        b2_account_free(&account);
    }
    json_object_put(root);
    return 0;
}
