/* tests/fuzz/fuzz_glob.c — the --include/--exclude matcher (filter.c): PATTERN\0PATH, matched by
 * stor_glob_match and as the rules of stor_filter_allows; must answer quickly for any pattern. */
#include "fuzz.h"
#include "filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    const char *pattern = text, *path = text + strlen(text);
    if (path < text + size)
        path++; /* the part after the first NUL */
    (void)stor_glob_match(pattern, path);
    struct stor_filter filter = {.count = 0};
    stor_filter_add(&filter, 0, pattern);
    stor_filter_add(&filter, 1, path);
    (void)stor_filter_allows(&filter, path, 0);
    (void)stor_filter_allows(&filter, path, 1);
    free(text);
    return 0;
}
