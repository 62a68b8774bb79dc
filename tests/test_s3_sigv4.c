/* tests/test_s3_sigv4.c — the SigV4 signer against AWS's published S3 examples ("Signature
 * Calculations for the Authorization Header" and "Authenticating Requests: Using Query
 * Parameters"), and the verifier's refusals. botocore's signatures: tests/test_s3_sigv4_botocore.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sigv4.h"

#define ACCESS_KEY "AKIAIOSFODNN7EXAMPLE"
#define SECRET_KEY "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_DATE "20130524T000000Z"
#define EXAMPLE_HOST "examplebucket.s3.amazonaws.com"
#define CREDENTIAL ACCESS_KEY "/20130524/us-east-1/s3/aws4_request"

static const struct s3_sigv4_credentials example_credentials = {ACCESS_KEY, SECRET_KEY, NULL};
static const struct s3_sigv4_scope example_scope = {EXAMPLE_DATE, "us-east-1", "s3"};

static const char *lookup_example(void *context, const char *access_key)
{
    (void)context;
    return strcmp(access_key, ACCESS_KEY) == 0 ? SECRET_KEY : NULL;
}

static void expect_authorization(const struct s3_sigv4_request *request, const char *expected)
{
    struct s3_sigv4_signed out;
    char error[256] = "";
    assert_int_equal(s3_sigv4_sign(request, &example_credentials, &example_scope, &out, error,
                                   sizeof error), S3_SIGV4_OK);
    assert_string_equal(out.authorization, expected);
    assert_string_equal(out.amz_date, EXAMPLE_DATE);
    s3_sigv4_signed_free(&out);
}

/* GET /test.txt with Range: bytes=0-9 (the first example of the S3 SigV4 header page). */
static void aws_example_get_object_with_range(void **state)
{
    (void)state;
    const struct s3_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}, {"Range", "bytes=0-9"}};
    const struct s3_sigv4_request request = {"GET", "/test.txt", NULL, 0, headers, 2,
                                             S3_SIGV4_EMPTY_SHA256};
    expect_authorization(&request,
        "AWS4-HMAC-SHA256 Credential=" CREDENTIAL ",SignedHeaders=host;range;x-amz-content-sha256;"
        "x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* PUT /test$file.text: '$' escaped once, a Date header and x-amz-storage-class signed. */
static void aws_example_put_object(void **state)
{
    (void)state;
    const char body[] = "Welcome to Amazon S3.";
    char hash[65];
    s3_sigv4_sha256_hex(body, strlen(body), hash);
    assert_string_equal(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const struct s3_sigv4_header headers[] = {
        {"Host", EXAMPLE_HOST},
        {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
    };
    const struct s3_sigv4_request request = {"PUT", "/test$file.text", NULL, 0, headers, 3, hash};
    expect_authorization(&request,
        "AWS4-HMAC-SHA256 Credential=" CREDENTIAL ",SignedHeaders=date;host;x-amz-content-sha256;"
        "x-amz-date;x-amz-storage-class,"
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* GET /?lifecycle: a parameter without a value is signed as "lifecycle=". */
static void aws_example_get_bucket_lifecycle(void **state)
{
    (void)state;
    const struct s3_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}};
    const struct s3_sigv4_param params[] = {{"lifecycle", NULL}};
    const struct s3_sigv4_request request = {"GET", "/", params, 1, headers, 1, NULL};
    expect_authorization(&request,
        "AWS4-HMAC-SHA256 Credential=" CREDENTIAL ",SignedHeaders=host;x-amz-content-sha256;"
        "x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

/* GET /?max-keys=2&prefix=J, parameters given out of order: sorted by name. */
static void aws_example_list_objects(void **state)
{
    (void)state;
    const struct s3_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}};
    const struct s3_sigv4_param params[] = {{"prefix", "J"}, {"max-keys", "2"}};
    const struct s3_sigv4_request request = {"GET", "/", params, 2, headers, 1,
                                             S3_SIGV4_EMPTY_SHA256};
    expect_authorization(&request,
        "AWS4-HMAC-SHA256 Credential=" CREDENTIAL ",SignedHeaders=host;x-amz-content-sha256;"
        "x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* The presigned GET /test.txt valid for 86400 seconds. */
static void aws_example_presigned_url(void **state)
{
    (void)state;
    const struct s3_sigv4_header headers[] = {{"Host", EXAMPLE_HOST}};
    const struct s3_sigv4_request request = {"GET", "/test.txt", NULL, 0, headers, 1, NULL};
    char *query = NULL, error[256] = "";
    assert_int_equal(s3_sigv4_presign(&request, &example_credentials, &example_scope, 86400, &query,
                                      error, sizeof error), S3_SIGV4_OK);
    assert_string_equal(query,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
        "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
        "X-Amz-SignedHeaders=host&"
        "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    free(query);
}

static void escaping_keeps_unreserved_only(void **state)
{
    (void)state;
    char *escaped = s3_sigv4_escape("a b/c~d+e=f$é", strlen("a b/c~d+e=f$é"), true);
    assert_string_equal(escaped, "a%20b/c~d%2Be%3Df%24%C3%A9");
    free(escaped);
    escaped = s3_sigv4_escape("a/b", 3, false);
    assert_string_equal(escaped, "a%2Fb");
    free(escaped);
}

static void header_values_are_trimmed_and_collapsed(void **state)
{
    (void)state;
    /* The same request with messy spacing and case signs the same as the clean one. */
    const struct s3_sigv4_header clean[] = {{"host", "h"}, {"x-amz-meta-a", "one two"}};
    const struct s3_sigv4_header messy[] = {{"X-Amz-Meta-A", "  one    two  "}, {"HOST", "h"}};
    const struct s3_sigv4_request a = {"GET", "/b/k", NULL, 0, clean, 2, NULL};
    const struct s3_sigv4_request b = {"GET", "/b/k", NULL, 0, messy, 2, NULL};
    struct s3_sigv4_signed x, y;
    assert_int_equal(s3_sigv4_sign(&a, &example_credentials, &example_scope, &x, NULL, 0), S3_SIGV4_OK);
    assert_int_equal(s3_sigv4_sign(&b, &example_credentials, &example_scope, &y, NULL, 0), S3_SIGV4_OK);
    assert_string_equal(x.authorization, y.authorization);
    s3_sigv4_signed_free(&x);
    s3_sigv4_signed_free(&y);
}

static void bad_input_is_refused_with_a_message(void **state)
{
    (void)state;
    const struct s3_sigv4_header no_host[] = {{"x-amz-meta-a", "1"}};
    const struct s3_sigv4_header host[] = {{"host", "h"}};
    const struct s3_sigv4_header own[] = {{"host", "h"}, {"X-Amz-Date", EXAMPLE_DATE}};
    const struct s3_sigv4_request without_host = {"GET", "/b", NULL, 0, no_host, 1, NULL};
    const struct s3_sigv4_request relative = {"GET", "b", NULL, 0, host, 1, NULL};
    const struct s3_sigv4_request bad_hash = {"GET", "/b", NULL, 0, host, 1, "ABC"};
    const struct s3_sigv4_request signer_header = {"GET", "/b", NULL, 0, own, 2, NULL};
    const struct s3_sigv4_request good = {"GET", "/b", NULL, 0, host, 1, NULL};
    const struct s3_sigv4_scope bad_date = {"2013-05-24", "us-east-1", "s3"};
    struct s3_sigv4_signed out;
    char error[256];
    char *query;
    assert_int_equal(s3_sigv4_sign(&without_host, &example_credentials, &example_scope, &out, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_non_null(strstr(error, "host"));
    assert_int_equal(s3_sigv4_sign(&relative, &example_credentials, &example_scope, &out, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_int_equal(s3_sigv4_sign(&bad_hash, &example_credentials, &example_scope, &out, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_int_equal(s3_sigv4_sign(&signer_header, &example_credentials, &example_scope, &out, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_int_equal(s3_sigv4_sign(&good, &example_credentials, &bad_date, &out, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_non_null(strstr(error, "YYYYMMDD"));
    assert_null(strstr(error, SECRET_KEY));
    assert_int_equal(s3_sigv4_presign(&good, &example_credentials, &example_scope, 0, &query, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_int_equal(s3_sigv4_presign(&good, &example_credentials, &example_scope, 604801, &query, error, sizeof error), S3_SIGV4_INVALID_ARGUMENT);
    assert_null(query);
}

/* ---- verification: sign with our signer, then verify a "received" copy ---- */

struct wire {
    struct s3_sigv4_header headers[16];
    size_t header_count;
    struct s3_sigv4_param params[16];
    size_t param_count;
    char *authorization;
    char *query;
    char storage[2048];
};

static const char *lookup(void *context, const char *access_key)
{
    (void)context;
    return strcmp(access_key, "test-key") == 0 ? "test-secret" : NULL;
}

static time_t at(const char *amz_date)
{
    time_t when;
    assert_true(s3_sigv4_parse_date(amz_date, &when));
    return when;
}

/* Signs PUT /bucket/my key?partNumber=1&uploadId=u with secret, into a received request. */
static void sign_put(struct wire *wire, const char *secret, const char *date, const char *body)
{
    char hash[65];
    s3_sigv4_sha256_hex(body, strlen(body), hash);
    const struct s3_sigv4_header headers[] = {{"host", "127.0.0.1:9000"}, {"x-amz-meta-color", "blue"}};
    const struct s3_sigv4_param params[] = {{"uploadId", "u"}, {"partNumber", "1"}};
    const struct s3_sigv4_request request = {"PUT", "/bucket/my key", params, 2, headers, 2, hash};
    const struct s3_sigv4_credentials credentials = {"test-key", secret, NULL};
    const struct s3_sigv4_scope scope = {date, "us-east-1", "s3"};
    struct s3_sigv4_signed out;
    assert_int_equal(s3_sigv4_sign(&request, &credentials, &scope, &out, NULL, 0), S3_SIGV4_OK);
    memset(wire, 0, sizeof *wire);
    wire->authorization = out.authorization;
    snprintf(wire->storage, sizeof wire->storage, "%s", out.amz_date);
    snprintf(wire->storage + 32, sizeof wire->storage - 32, "%s", out.content_sha256);
    wire->headers[0] = (struct s3_sigv4_header){"Host", "127.0.0.1:9000"};
    wire->headers[1] = (struct s3_sigv4_header){"X-Amz-Meta-Color", "blue"};
    wire->headers[2] = (struct s3_sigv4_header){"X-Amz-Date", wire->storage};
    wire->headers[3] = (struct s3_sigv4_header){"X-Amz-Content-SHA256", wire->storage + 32};
    wire->headers[4] = (struct s3_sigv4_header){"Authorization", wire->authorization};
    wire->headers[5] = (struct s3_sigv4_header){"User-Agent", "unsigned/1.0"};
    wire->header_count = 6;
    wire->params[0] = (struct s3_sigv4_param){"partNumber", "1"};
    wire->params[1] = (struct s3_sigv4_param){"uploadId", "u"};
    wire->param_count = 2;
}

static enum s3_sigv4_status verify(struct wire *wire, const char *method, const char *path,
                                   time_t now, struct s3_sigv4_verified *out, char *message)
{
    const struct s3_sigv4_received received = {method, path, wire->params, wire->param_count,
                                               wire->headers, wire->header_count, now,
                                               "us-east-1", lookup, NULL};
    return s3_sigv4_verify(&received, out, message, 256);
}

static void verifier_accepts_a_good_request_and_checks_the_body(void **state)
{
    (void)state;
    struct wire wire;
    struct s3_sigv4_verified verified;
    char message[256];
    unsigned char digest[32];
    unsigned int length = 32;
    sign_put(&wire, "test-secret", "20260101T120000Z", "part one");
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T120500Z"), &verified, message), S3_SIGV4_OK);
    assert_string_equal(verified.access_key, "test-key");
    EVP_Digest("part one", 8, digest, &length, EVP_sha256(), NULL);
    assert_int_equal(s3_sigv4_check_payload(&verified, digest), S3_SIGV4_OK);
    /* a tampered payload: the body's hash is not the one declared */
    EVP_Digest("part two", 8, digest, &length, EVP_sha256(), NULL);
    assert_int_equal(s3_sigv4_check_payload(&verified, digest), S3_SIGV4_CONTENT_SHA256_MISMATCH);
    assert_string_equal(s3_sigv4_error_code(S3_SIGV4_CONTENT_SHA256_MISMATCH), "XAmzContentSHA256Mismatch");
    free(wire.authorization);
}

static void verifier_refuses_wrong_secret_and_tampering(void **state)
{
    (void)state;
    struct wire wire;
    struct s3_sigv4_verified verified;
    char message[256];
    time_t now = at("20260101T120000Z");

    sign_put(&wire, "wrong-secret", "20260101T120000Z", "x");
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", now, &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    assert_string_equal(s3_sigv4_error_code(S3_SIGV4_SIGNATURE_MISMATCH), "SignatureDoesNotMatch");
    assert_null(strstr(message, "secret"));
    free(wire.authorization);

    sign_put(&wire, "test-secret", "20260101T120000Z", "x");
    wire.headers[3].value = S3_SIGV4_EMPTY_SHA256; /* the declared payload hash changed */
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", now, &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    wire.headers[3].value = wire.storage + 32;
    wire.headers[1].value = "red"; /* a signed header changed */
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", now, &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    wire.headers[1].value = "blue";
    assert_int_equal(verify(&wire, "PUT", "/bucket/other", now, &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    wire.params[0].value = "2"; /* the query changed */
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", now, &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    wire.params[0].value = "1";
    wire.headers[5] = (struct s3_sigv4_header){"x-amz-acl", "public-read"}; /* an x-amz header not signed */
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", now, &verified, message), S3_SIGV4_UNSIGNED_HEADERS);
    assert_non_null(strstr(message, "not signed: x-amz-acl"));
    assert_string_equal(s3_sigv4_error_code(S3_SIGV4_UNSIGNED_HEADERS), "AccessDenied");
    assert_int_equal(s3_sigv4_http_status(S3_SIGV4_UNSIGNED_HEADERS), 403);
    wire.headers[5] = (struct s3_sigv4_header){"User-Agent", "changed/2.0"}; /* unsigned: allowed */
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", now, &verified, message), S3_SIGV4_OK);
    assert_int_equal(verify(&wire, "GET", "/bucket/my key", now, &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    free(wire.authorization);
}

static void verifier_refuses_stale_dates_unknown_keys_and_malformed_headers(void **state)
{
    (void)state;
    struct wire wire;
    struct s3_sigv4_verified verified;
    char message[256];
    sign_put(&wire, "test-secret", "20260101T120000Z", "x");
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T121600Z"), &verified, message), S3_SIGV4_TIME_SKEWED);
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T114400Z"), &verified, message), S3_SIGV4_TIME_SKEWED);
    assert_string_equal(s3_sigv4_error_code(S3_SIGV4_TIME_SKEWED), "RequestTimeTooSkewed");
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T121400Z"), &verified, message), S3_SIGV4_OK);

    char forged[512];
    snprintf(forged, sizeof forged, "%s", wire.authorization);
    memcpy(strstr(forged, "test-key"), "tost-key", 8);
    wire.headers[4].value = forged;
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T120000Z"), &verified, message), S3_SIGV4_INVALID_ACCESS_KEY);
    static const char *const malformed[] = {
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/us-east-1/s3/aws4_request,SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=test-key/2026/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=test-key/20260102/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/eu-west-1/s3/aws4_request,SignedHeaders=host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/us-east-1/s3/aws4_request,SignedHeaders=Host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/us-east-1/s3/aws4_request,SignedHeaders=x-amz-date,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        /* names repeated or out of order: not what a canonical request lists */
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/us-east-1/s3/aws4_request,SignedHeaders=host;host;x-amz-date,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/us-east-1/s3/aws4_request,SignedHeaders=x-amz-date;host,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=test-key/20260101/us-east-1/s3/aws4_request,SignedHeaders=host;hos,Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS test-key:c2lnbmF0dXJl",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        wire.headers[4].value = malformed[i];
        assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T120000Z"), &verified, message), S3_SIGV4_HEADER_MALFORMED);
        assert_true(strlen(message) > 0);
    }
    wire.header_count = 4; /* no Authorization at all */
    assert_int_equal(verify(&wire, "PUT", "/bucket/my key", at("20260101T120000Z"), &verified, message), S3_SIGV4_NO_AUTH);
    free(wire.authorization);
}

/* Presigned GET: accepted while valid, AccessDenied "Request has expired" after. */
static void verifier_checks_presigned_urls(void **state)
{
    (void)state;
    const struct s3_sigv4_header headers[] = {{"host", "127.0.0.1:9000"}};
    const struct s3_sigv4_param params[] = {{"response-content-type", "text/plain"}};
    const struct s3_sigv4_request request = {"GET", "/bucket/a+b", params, 1, headers, 1, NULL};
    const struct s3_sigv4_credentials credentials = {"test-key", "test-secret", "token/with+chars"};
    const struct s3_sigv4_scope scope = {"20260101T120000Z", "us-east-1", "s3"};
    char *query;
    assert_int_equal(s3_sigv4_presign(&request, &credentials, &scope, 60, &query, NULL, 0), S3_SIGV4_OK);
    assert_non_null(strstr(query, "X-Amz-Security-Token=token%2Fwith%2Bchars"));

    /* Split the query back into decoded parameters, as the server does. */
    struct wire wire = {0};
    char *save = NULL;
    for (char *pair = strtok_r(query, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *equals = strchr(pair, '=');
        *equals = '\0';
        char *out = equals + 1;
        for (char *in = equals + 1; *in; in++) {
            if (*in == '%') {
                unsigned value;
                sscanf(in + 1, "%2x", &value);
                *out++ = (char)value;
                in += 2;
            } else {
                *out++ = *in;
            }
        }
        *out = '\0';
        wire.params[wire.param_count++] = (struct s3_sigv4_param){pair, equals + 1};
    }
    wire.headers[0] = (struct s3_sigv4_header){"Host", "127.0.0.1:9000"};
    wire.header_count = 1;
    struct s3_sigv4_verified verified;
    char message[256];
    assert_int_equal(verify(&wire, "GET", "/bucket/a+b", at("20260101T120100Z"), &verified, message), S3_SIGV4_OK);
    assert_true(verified.presigned);
    assert_int_equal(verify(&wire, "GET", "/bucket/a+b", at("20260101T120101Z"), &verified, message), S3_SIGV4_EXPIRED);
    assert_string_equal(message, "Request has expired");
    assert_string_equal(s3_sigv4_error_code(S3_SIGV4_EXPIRED), "AccessDenied");
    assert_int_equal(verify(&wire, "GET", "/bucket/a b", at("20260101T120000Z"), &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    assert_int_equal(verify(&wire, "PUT", "/bucket/a+b", at("20260101T120000Z"), &verified, message), S3_SIGV4_SIGNATURE_MISMATCH);
    /* an x-amz header the URL did not sign: refused as with header auth */
    wire.headers[1] = (struct s3_sigv4_header){"X-Amz-Acl", "public-read"};
    wire.header_count = 2;
    assert_int_equal(verify(&wire, "GET", "/bucket/a+b", at("20260101T120000Z"), &verified, message), S3_SIGV4_UNSIGNED_HEADERS);
    free(query);
}

/* The chunked upload example of "Transferring Payload in Multiple Chunks": 66560 bytes of 'a' in
 * chunks of 65536 and 1024 bytes, then the empty chunk; the seed signature and every chunk's. */
static void aws_example_chunked_upload(void **state)
{
    (void)state;
    const struct s3_sigv4_header headers[] = {
        {"Host", "s3.amazonaws.com"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"Content-Encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "66560"},
        {"Content-Length", "66824"},
    };
    const struct s3_sigv4_request request = {"PUT", "/examplebucket/chunkObject.txt", NULL, 0, headers, 5,
                                             S3_SIGV4_STREAMING_PAYLOAD};
    struct s3_sigv4_signed out;
    assert_int_equal(s3_sigv4_sign(&request, &example_credentials, &example_scope, &out, NULL, 0), S3_SIGV4_OK);
    assert_string_equal(out.signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");

    /* The server's side: verify the seed request, then chain the chunks from its signature. */
    struct s3_sigv4_header received[8];
    memcpy(received, headers, sizeof headers);
    received[5] = (struct s3_sigv4_header){"x-amz-date", EXAMPLE_DATE};
    received[6] = (struct s3_sigv4_header){"x-amz-content-sha256", S3_SIGV4_STREAMING_PAYLOAD};
    received[7] = (struct s3_sigv4_header){"Authorization", out.authorization};
    time_t now;
    assert_true(s3_sigv4_parse_date(EXAMPLE_DATE, &now));
    const struct s3_sigv4_received wire = {"PUT", "/examplebucket/chunkObject.txt", NULL, 0, received, 8,
                                           now, "us-east-1", lookup_example, NULL};
    struct s3_sigv4_verified verified;
    char message[256];
    assert_int_equal(s3_sigv4_verify(&wire, &verified, message, sizeof message), S3_SIGV4_OK);
    assert_string_equal(verified.seed_signature, out.signature);
    s3_sigv4_signed_free(&out);

    static const struct { size_t size; const char *signature; } chunks[] = {
        {65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
        {1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
        {0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
    };
    char *data = malloc(65536);
    memset(data, 'a', 65536);
    char previous[65], signature[65];
    snprintf(previous, sizeof previous, "%s", verified.seed_signature);
    for (size_t i = 0; i < 3; i++) {
        unsigned char digest[32];
        unsigned int length = 32;
        EVP_Digest(data, chunks[i].size, digest, &length, EVP_sha256(), NULL);
        s3_sigv4_chunk_signature(&verified, previous, digest, signature);
        assert_string_equal(signature, chunks[i].signature);
        snprintf(previous, sizeof previous, "%s", signature);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aws_example_get_object_with_range),
        cmocka_unit_test(aws_example_put_object),
        cmocka_unit_test(aws_example_get_bucket_lifecycle),
        cmocka_unit_test(aws_example_list_objects),
        cmocka_unit_test(aws_example_presigned_url),
        cmocka_unit_test(aws_example_chunked_upload),
        cmocka_unit_test(escaping_keeps_unreserved_only),
        cmocka_unit_test(header_values_are_trimmed_and_collapsed),
        cmocka_unit_test(bad_input_is_refused_with_a_message),
        cmocka_unit_test(verifier_accepts_a_good_request_and_checks_the_body),
        cmocka_unit_test(verifier_refuses_wrong_secret_and_tampering),
        cmocka_unit_test(verifier_refuses_stale_dates_unknown_keys_and_malformed_headers),
        cmocka_unit_test(verifier_checks_presigned_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
