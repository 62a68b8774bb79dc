/* tests/fuzz/fuzz_list_unfinished.c — b2_list_unfinished_large_files pages through cleanup.c's
 * walk (nextFileId paging) and both of its readers: cleanup (mode byte bit 0 clear; bits 1-3:
 * prefix, age limit, dry run) and a large upload looking for its unfinished file to resume (set).
 * Input: the mode byte, then up to 8 pages separated by NUL bytes. */
#include "fuzz_calls.h"

#define PAGES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *pages[PAGES];
    size_t lengths[PAGES];
    size_t count = fuzz_pieces(data + 1, size - 1, pages, lengths, PAGES);
    struct b2_plugin *plugin = fuzz_plugin(data, size);
    for (size_t i = 0; i < count; i++)
        fuzz_answer("b2_list_unfinished_large_files", 200, pages[i], lengths[i], 1);
    fuzz_answer("b2_list_unfinished_large_files", 200, fuzz_no_unfinished,
                sizeof fuzz_no_unfinished - 1, -1);
    fuzz_answer("b2_cancel_large_file", 200, "{}", 2, -1);
    struct stor_error err = {""};
    enum stor_status status;
    if (mode & 1)
        status = fuzz_put_large(plugin, &err);
    else
        status = b2_cleanup(plugin, FUZZ_BUCKET, mode & 2 ? "big/" : "",
                            mode & 4 ? 86400000LL : 0, mode & 8 ? 1 : 0, fuzz_check_object, NULL,
                            &err);
    fuzz_finish(plugin, status, &err);
    return 0;
}
