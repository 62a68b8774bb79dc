/* tests/fuzz/fuzz.h — what every libFuzzer target here shares: its entry point and a helper that
 * turns the fuzzer's bytes into a NUL-terminated string (libFuzzer's data has no terminator). */
#ifndef STOR_FUZZ_H
#define STOR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy of data with a NUL after it (embedded NULs stay: C sees the first part). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#endif
