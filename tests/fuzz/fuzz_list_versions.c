/* tests/fuzz/fuzz_list_versions.c — b2_list_file_versions pages through versions.c: the listing
 * (prefix, delimiter, paging by nextFileName + nextFileId) and remove of every version of a name.
 * Input: a mode byte, then up to 8 pages separated by NUL bytes; an empty last page ends it. */
#include "fuzz_calls.h"

#define PAGES 8

static const char last_page[] = "{\"files\": [], \"nextFileName\": null, \"nextFileId\": null}";

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
        fuzz_answer("b2_list_file_versions", 200, pages[i], lengths[i], 1);
    fuzz_answer("b2_list_file_versions", 200, last_page, sizeof last_page - 1, -1);
    fuzz_answer("b2_delete_file_version", 200, "{}", 2, -1);
    struct stor_error err = {""};
    enum stor_status status;
    if (mode & 1) {
        struct stor_remove_options options = {.struct_size = sizeof options,
                                              .flags = STOR_REMOVE_ALL_VERSIONS};
        status = b2_remove_ex(plugin, FUZZ_BUCKET, "a/b.txt", &options, &err);
    } else {
        status = b2_list_versions(plugin, FUZZ_BUCKET, mode & 2 ? "a/" : "", NULL,
                                  mode & 4 ? STOR_LIST_RECURSIVE : 0, fuzz_check_object, NULL, &err);
    }
    fuzz_finish(plugin, status, &err);
    return 0;
}
