/* tests/fuzz/fuzz_large_finish.c — the b2_finish_large_file answer through large_file.c: a resumed
 * upload whose one part is already on B2 goes straight to the finish. Mode byte bit 0 clear: the
 * rest of the input is the finish answer; set: the finish fails (400) and the rest is the answer
 * to the b2_get_file_info that checks whether it finished after all (a lost answer). */
#include "fuzz_calls.h"

static const char our_part[] =
    "{\"parts\": [{\"fileId\": \"4_zlarge\", \"partNumber\": 1, \"contentLength\": 200, "
    "\"contentSha1\": \"" FUZZ_SOURCE_SHA1 "\", \"uploadTimestamp\": 1600000000000}], "
    "\"nextPartNumber\": null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct b2_plugin *plugin = fuzz_plugin(data, size);
    fuzz_answer("b2_list_unfinished_large_files", 200, fuzz_our_unfinished,
                sizeof fuzz_our_unfinished - 1, -1);
    fuzz_answer("b2_list_parts", 200, our_part, sizeof our_part - 1, -1);
    const char *answer = (const char *)data + 1;
    if (data[0] & 1)
        fuzz_answer("b2_get_file_info", 200, answer, size - 1, 1);
    else
        fuzz_answer("b2_finish_large_file", 200, answer, size - 1, 1);
    struct stor_error err = {""};
    enum stor_status status = fuzz_put_large(plugin, &err);
    fuzz_finish(plugin, status, &err);
    return 0;
}
