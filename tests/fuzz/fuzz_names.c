/* tests/fuzz/fuzz_names.c — the X-Bz-File-Name percent encoder and decoder (names.c): decoding any
 * text never breaks, decode(encode(x)) == x, and the encoding holds only B2's literal set and %XX. */
#include "fuzz.h"
#include "names.h"

static int allowed(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("._-/~!$'()*;=:@%", c) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    free(b2_percent_decode(text));
    (void)b2_file_name_problem(text);
    char *encoded = b2_percent_encode(text);
    if (!encoded)
        abort();
    for (const char *c = encoded; *c; c++)
        if (!allowed(*c) || (*c == '%' && !(c[1] && c[2])))
            abort();
    char *decoded = b2_percent_decode(encoded);
    if (!decoded || strcmp(decoded, text) != 0)
        abort();
    free(decoded);
    free(encoded);
    free(text);
    return 0;
}
