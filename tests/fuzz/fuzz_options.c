/* tests/fuzz/fuzz_options.c — the host's -o KEY=VALUE arguments (options.c: stor_options_add_arg):
 * NUL-separated arguments, each split in place; keys are non-empty and hold no '='. */
#include "fuzz.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size), why[256];
    struct stor_option_list list = {.count = 0};
    for (char *arg = text; arg <= text + size; arg += strlen(arg) + 1) {
        size_t before = list.count;
        int result = stor_options_add_arg(&list, arg, why, sizeof why);
        if ((result == 0) != (list.count == before + 1))
            abort();
        if (result == 0 && (!*list.items[before].key || strchr(list.items[before].key, '=')))
            abort();
    }
    free(text);
    return 0;
}
