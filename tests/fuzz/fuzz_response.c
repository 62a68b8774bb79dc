/* tests/fuzz/fuzz_response.c — a whole HTTP answer: header lines through sp_http_curl.c's on_header
 * (included, it is static), then call.c's classification (Retry-After, error JSON, secret masking). */
#include "fuzz.h"
#include "b2.h"
#include "sp_http_curl.c"

#define SECRET "secret-token-0123456789"
#define KEY "secret-application-key-0001"
#define KEY_BASIC "a2V5LWlkOnNlY3JldC1hcHBsaWNhdGlvbi1rZXktMDAwMQ==" /* "key-id:" KEY */

static const long statuses[] = {200, 206, 400, 401, 403, 404, 408, 416, 429, 500, 503};

/* Whether text holds secret, or ends in 8 or more of its first bytes (a field cut mid-secret). */
static int leaks_one(const char *text, const char *secret)
{
    if (strstr(text, secret))
        return 1;
    size_t length = strlen(text), secret_length = strlen(secret);
    for (size_t cut = 8; cut < secret_length && cut <= length; cut++)
        if (memcmp(text + length - cut, secret, cut) == 0)
            return 1;
    return 0;
}

/* The token sent, the key and its Basic-auth form: none may be echoed into a message. */
static int leaks(const char *text)
{
    return leaks_one(text, SECRET) || leaks_one(text, KEY) || leaks_one(text, KEY_BASIC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct sp_http_response response = {.outcome = SP_HTTP_COMPLETE};
    response.status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
    struct transfer transfer = {.response = &response};
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    /* Header lines go one per call, as libcurl hands them over; a blank line ends a header block,
     * and the body follows unless another status line (after "100 Continue") starts a new one. */
    while (p < end) {
        const char *newline = memchr(p, '\n', (size_t)(end - p));
        size_t length = newline ? (size_t)(newline - p) + 1 : (size_t)(end - p);
        int blank = length <= 2 && (p[0] == '\n' || p[0] == '\r');
        char *line = fuzz_string((const uint8_t *)p, length);
        if (on_header(line, 1, length, &transfer) != length)
            abort();
        free(line);
        p += length;
        if (blank && (end - p < 5 || strncmp(p, "HTTP/", 5) != 0))
            break;
    }
    response.body = fuzz_string((const uint8_t *)p, (size_t)(end - p));
    response.body_length = (size_t)(end - p);
    const char *value = sp_http_header(&response, "Content-Length");
    if (value)
        (void)strlen(value);
    struct b2_failure failure;
    struct b2_config config = {.key = KEY, .key_basic = KEY_BASIC};
    b2_failure_from_response(&response, &config, SECRET, &failure);
    if (failure.retry_after_ms < -1 || failure.retry_after_ms > 24 * 3600 * 1000LL ||
        leaks(failure.message) || leaks(failure.code))
        abort();
    sp_http_response_free(&response);
    return 0;
}
