/* tests/fuzz/fuzz_wire_error.c — B2's error bodies {status, code, message} (or HTML, or nothing)
 * through b2_wire_error, as call.c classifies every non-2xx answer. */
#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[64], message[256];
    b2_wire_error((const char *)data, size, code, sizeof code, message, sizeof message);
    if (strnlen(code, sizeof code) == sizeof code || strnlen(message, sizeof message) == sizeof message)
        abort();
    return 0;
}
