/* tests/fuzz/fuzz_large_start.c — the b2_start_large_file answer through large_file.c: a large
 * upload with nothing to resume; the input is the answer (its fileId then leads the parts). */
#include "fuzz_calls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct b2_plugin *plugin = fuzz_plugin(data, size);
    fuzz_answer("b2_list_unfinished_large_files", 200, fuzz_no_unfinished,
                sizeof fuzz_no_unfinished - 1, -1);
    fuzz_answer("b2_start_large_file", 200, (const char *)data, size, 1);
    struct stor_error err = {""};
    enum stor_status status = fuzz_put_large(plugin, &err);
    fuzz_finish(plugin, status, &err);
    return 0;
}
