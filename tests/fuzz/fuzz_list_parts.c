/* tests/fuzz/fuzz_list_parts.c — b2_list_parts pages through large_file.c's resume: our unfinished
 * file is found, its parts listed (nextPartNumber paging), their sizes and SHA-1s checked against
 * the file. Input: up to 8 pages separated by NUL bytes; an empty last page ends the listing. */
#include "fuzz_calls.h"

#define PAGES 8

static const char last_page[] = "{\"parts\": [], \"nextPartNumber\": null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *pages[PAGES];
    size_t lengths[PAGES];
    size_t count = fuzz_pieces(data, size, pages, lengths, PAGES);
    struct b2_plugin *plugin = fuzz_plugin(data, size);
    fuzz_answer("b2_list_unfinished_large_files", 200, fuzz_our_unfinished,
                sizeof fuzz_our_unfinished - 1, -1);
    for (size_t i = 0; i < count; i++)
        fuzz_answer("b2_list_parts", 200, pages[i], lengths[i], 1);
    fuzz_answer("b2_list_parts", 200, last_page, sizeof last_page - 1, -1);
    fuzz_answer("b2_cancel_large_file", 200, "{}", 2, -1);
    struct stor_error err = {""};
    enum stor_status status = fuzz_put_large(plugin, &err);
    fuzz_finish(plugin, status, &err);
    return 0;
}
