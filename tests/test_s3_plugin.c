/* test_s3_plugin.c — the S3 plugin's rooms over a scripted HTTP seam (s3_fake.c): XML answers
 * and hostile ones, error mapping and retries, region errors, part sizing, credentials lookup
 * order, options, list guards, resume of a multipart upload; version listings (markers, their
 * guards), remove_ex, remove_many's DeleteObjects batches, copies in UploadPartCopy parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "credentials.h"
#include "digest.h"
#include "multipart.h"
#include "operations.h"
#include "s3_fake.h"
#include "wire.h"
#include "xml.h"

static int collect(void *context, const struct stor_object *object)
{
    char *text = context;
    size_t length = strlen(text);
    snprintf(text + length, 4096 - length, "%s%s", length ? "," : "", object->key);
    return 0;
}

static const char *const no_heads[] = {"endpoint=http://127.0.0.1:9", "list_metadata=no", NULL};

static void test_list_merges_pages_in_byte_order(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    s3_fake_answer(fake, 200, NULL,
                   "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t1"
                   "</NextContinuationToken><Contents><Key>p/a-</Key><Size>1</Size></Contents>"
                   "<Contents><Key>p/b</Key><Size>2</Size></Contents><CommonPrefixes><Prefix>p/a/"
                   "</Prefix></CommonPrefixes></ListBucketResult>");
    s3_fake_answer(fake, 200, NULL,
                   "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/c%20d</Key>"
                   "<Size>3</Size></Contents></ListBucketResult>");
    char text[4096] = "";
    struct stor_error err = {""};
    assert_int_equal(s3_list(plugin, "bkt", "p/", 0, collect, text, &err), STOR_OK);
    assert_string_equal(text, "p/a-,p/a/,p/b,p/c d");
    assert_non_null(strstr(fake->seen[1].url, "continuation-token=t1"));
    assert_non_null(strstr(fake->seen[0].url, "delimiter=%2F"));
    s3_fake_free(plugin, fake);
}

static void hostile_listing(const char *body, const char *second, const char *expect)
{
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    s3_fake_answer(fake, 200, NULL, body);
    for (int i = 0; second && i < 20; i++)
        s3_fake_answer(fake, 200, NULL, second);
    char text[4096] = "";
    struct stor_error err = {""};
    assert_int_equal(s3_list(plugin, "bkt", "p/", STOR_LIST_RECURSIVE, collect, text, &err),
                     STOR_EINTERNAL);
    if (!strstr(err.message, expect))
        fail_msg("message '%s' lacks '%s'", err.message, expect);
    s3_fake_free(plugin, fake);
}

static void test_list_refuses_a_lying_server(void **state)
{
    (void)state;
    hostile_listing("<ListBucketResult><Contents><Key>q/outside</Key><Size>1</Size></Contents>"
                    "</ListBucketResult>", NULL, "outside the prefix");
    hostile_listing("<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t"
                    "</NextContinuationToken><Contents><Key>p/b</Key><Size>1</Size></Contents>"
                    "</ListBucketResult>",
                    "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/a</Key>"
                    "<Size>1</Size></Contents></ListBucketResult>", "out of order");
    hostile_listing("<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t"
                    "</NextContinuationToken></ListBucketResult>",
                    "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t"
                    "</NextContinuationToken></ListBucketResult>", "does not advance");
    hostile_listing("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", NULL,
                    "NextContinuationToken");
    hostile_listing("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>",
                    NULL, "malformed");
}

static void test_list_skips_names_no_key_can_be(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    s3_fake_answer(fake, 200, NULL,
                   "<ListBucketResult><Contents><Key>p/%2E%2E/x</Key><Size>1</Size></Contents>"
                   "<Contents><Key>p/ok</Key><Size>1</Size></Contents><Contents><Key>p/%01</Key>"
                   "<Size>1</Size></Contents><Contents><Key>p/%FF</Key><Size>1</Size></Contents>"
                   "</ListBucketResult>");
    char text[4096] = "";
    struct stor_error err = {""};
    assert_int_equal(s3_list(plugin, "bkt", "p/", STOR_LIST_RECURSIVE, collect, text, &err), STOR_OK);
    assert_string_equal(text, "p/ok");
    s3_fake_free(plugin, fake);
}

static void test_xml_limits(void **state)
{
    (void)state;
    char why[200];
    size_t size = 40 * 1024;
    char *deep = malloc(size);
    size_t length = 0;
    for (int i = 0; i < 20; i++)
        length += (size_t)snprintf(deep + length, size - length, "<a>");
    assert_null(s3_xml_parse(deep, length, why, sizeof why));
    assert_non_null(strstr(why, "deep"));
    length = (size_t)snprintf(deep, size, "<a>");
    memset(deep + length, 'x', 20000);
    length += 20000;
    length += (size_t)snprintf(deep + length, size - length, "</a>");
    assert_null(s3_xml_parse(deep, length, why, sizeof why));
    const char *external = "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a>x</a>";
    assert_null(s3_xml_parse(external, strlen(external), why, sizeof why));
    free(deep);
}

static void test_error_document_and_mapping(void **state)
{
    (void)state;
    struct s3_wire_error error;
    const char *body = "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>";
    assert_int_equal(s3_wire_error(body, strlen(body), &error), 0);
    assert_string_equal(error.code, "NoSuchKey");
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    struct stor_error err = {""};
    s3_fake_answer(fake, 403, NULL, "<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>");
    assert_int_equal(s3_stat(plugin, "bkt", "k", NULL, NULL, NULL, &err), STOR_EAUTH);
    s3_fake_answer(fake, 404, NULL, NULL);
    assert_int_equal(s3_stat(plugin, "bkt", "k", NULL, NULL, NULL, &err), STOR_ENOTFOUND);
    s3_fake_answer(fake, 400, NULL, "<Error><Code>AuthorizationHeaderMalformed</Code><Message>x"
                                    "</Message><Region>eu-west-3</Region></Error>");
    assert_int_equal(s3_list(plugin, "bkt", "", 0, NULL, NULL, &err), STOR_EINVAL);
    assert_string_equal(err.message, "bucket bkt is in region eu-west-3: use -o region=eu-west-3");
    s3_fake_answer(fake, 301, "x-amz-bucket-region: ap-south-1\n", NULL);
    assert_int_equal(s3_stat(plugin, "bkt", "k", NULL, NULL, NULL, &err), STOR_EINVAL);
    assert_string_equal(err.message, "bucket bkt is in region ap-south-1: use -o region=ap-south-1");
    s3_fake_free(plugin, fake);
}

static void test_retries_with_backoff(void **state)
{
    (void)state;
    struct s3_fake *fake;
    const char *const options[] = {"endpoint=http://127.0.0.1:9", "retries=3", NULL};
    struct s3_plugin *plugin = s3_fake_plugin(&fake, options);
    struct stor_error err = {""};
    s3_fake_answer(fake, 503, NULL, "<Error><Code>SlowDown</Code></Error>");
    s3_fake_fail(fake, SP_HTTP_BROKEN);
    s3_fake_answer(fake, 200, "Content-Length: 5\nx-amz-meta-mtime: 1500000000.123\n", NULL);
    assert_int_equal(s3_stat(plugin, "bkt", "k", NULL, NULL, NULL, &err), STOR_OK);
    assert_int_equal(fake->seen_count, 3);
    assert_true(fake->slept_ms > 0);
    s3_fake_answer(fake, 500, NULL, NULL);
    s3_fake_answer(fake, 500, NULL, NULL);
    s3_fake_answer(fake, 500, NULL, NULL);
    assert_int_equal(s3_stat(plugin, "bkt", "k", NULL, NULL, NULL, &err), STOR_ETRANSIENT);
    assert_non_null(strstr(err.message, "after 3 tries"));
    s3_fake_free(plugin, fake);
}

static void test_part_sizing(void **state)
{
    (void)state;
    int64_t part;
    struct stor_error err = {""};
    assert_int_equal(s3_multipart_part_size(0, 100LL << 20, &part, &err), STOR_OK);
    assert_int_equal(part, 16LL << 20);
    assert_int_equal(s3_multipart_part_size(0, 1LL << 40, &part, &err), STOR_OK);
    assert_true((1LL << 40) / part <= 10000 && part % (1 << 20) == 0);
    assert_int_equal(s3_multipart_part_size(5LL << 20, 1LL << 40, &part, &err), STOR_EINVAL);
    assert_int_equal(s3_multipart_part_size(0, 60LL << 40, &part, &err), STOR_EINVAL);
}

static void test_credentials_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/stor-s3-creds.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char credentials[300], config[300], key_file[300];
    snprintf(credentials, sizeof credentials, "%s/credentials", dir);
    snprintf(config, sizeof config, "%s/config", dir);
    snprintf(key_file, sizeof key_file, "%s/key", dir);
    FILE *f = fopen(credentials, "w");
    fprintf(f, "[default]\naws_access_key_id = FILEDEFAULT\naws_secret_access_key = s1\n"
               "[work]\naws_access_key_id=FILEWORK\naws_secret_access_key=s2\n");
    fclose(f);
    f = fopen(config, "w");
    fprintf(f, "[profile cfg]\naws_access_key_id = CONFIGKEY\naws_secret_access_key = s3\n"
               "region = eu-north-1\n");
    fclose(f);
    f = fopen(key_file, "w");
    fprintf(f, "KEYFILE\nsecret\n");
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", credentials, 1);
    setenv("AWS_CONFIG_FILE", config, 1);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    struct s3_found found;
    struct stor_error err = {""};
    assert_int_equal(s3_credentials_find(NULL, NULL, &found, &err), STOR_OK);
    assert_string_equal(found.access_key, "ENVKEY");
    s3_found_free(&found);
    assert_int_equal(s3_credentials_find(NULL, key_file, &found, &err), STOR_OK);
    assert_string_equal(found.access_key, "KEYFILE");
    s3_found_free(&found);
    assert_int_equal(s3_credentials_find("work", NULL, &found, &err), STOR_OK);
    assert_string_equal(found.access_key, "FILEWORK");
    s3_found_free(&found);
    unsetenv("AWS_ACCESS_KEY_ID");
    assert_int_equal(s3_credentials_find(NULL, NULL, &found, &err), STOR_OK);
    assert_string_equal(found.access_key, "FILEDEFAULT");
    s3_found_free(&found);
    setenv("AWS_PROFILE", "cfg", 1);
    assert_int_equal(s3_credentials_find(NULL, NULL, &found, &err), STOR_OK);
    assert_string_equal(found.access_key, "CONFIGKEY");
    assert_string_equal(s3_credentials_region(&found), "eu-north-1");
    s3_found_free(&found);
    setenv("AWS_PROFILE", "none", 1);
    assert_int_equal(s3_credentials_find(NULL, NULL, &found, &err), STOR_EAUTH);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
    unlink(credentials);
    unlink(config);
    unlink(key_file);
    rmdir(dir);
}

static void test_options(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake/secret", 1);
    struct s3_plugin *plugin = NULL;
    struct stor_error err = {""};
    struct sp_clock clock = sp_clock_system();
    struct stor_option secret[] = {{"secret_key", "x"}};
    assert_int_equal(s3_plugin_create(NULL, secret, 1, clock, &plugin, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "refused"));
    struct stor_option unknown[] = {{"colour", "x"}};
    assert_int_equal(s3_plugin_create(NULL, unknown, 1, clock, &plugin, &err), STOR_EINVAL);
    struct stor_option userinfo[] = {{"endpoint", "https://u:p@example.com"}};
    assert_int_equal(s3_plugin_create(NULL, userinfo, 1, clock, &plugin, &err), STOR_EINVAL);
    struct stor_option aws[] = {{"region", "eu-west-1"}};
    unsetenv("AWS_ENDPOINT_URL");
    assert_int_equal(s3_plugin_create(NULL, aws, 1, clock, &plugin, &err), STOR_OK);
    assert_string_equal(plugin->config.endpoint, "https://s3.eu-west-1.amazonaws.com");
    assert_int_equal(plugin->config.path_style, 0);
    s3_plugin_destroy(plugin);
    struct stor_option local[] = {{"endpoint", "http://127.0.0.1:9000/"}, {"part_size", "8M"}};
    assert_int_equal(s3_plugin_create(NULL, local, 2, clock, &plugin, &err), STOR_OK);
    assert_int_equal(plugin->config.path_style, 1);
    assert_int_equal(plugin->config.part_size, 8LL << 20);
    s3_plugin_destroy(plugin);
}

static void test_resume_sends_only_missing_parts(void **state)
{
    (void)state;
    struct s3_fake *fake;
    const char *const options[] = {"endpoint=http://127.0.0.1:9", "upload_cutoff=2K",
                                   "part_size=1K", "transfers=1", NULL};
    struct s3_plugin *plugin = s3_fake_plugin(&fake, options);
    char path[] = "/tmp/stor-s3-resume.XXXXXX";
    int fd = mkstemp(path);
    char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7);
    assert_int_equal(write(fd, data, sizeof data), (ssize_t)sizeof data);
    lseek(fd, 0, SEEK_SET);
    unsigned char md5[16];
    char first[33], second_wrong[] = "00000000000000000000000000000000";
    s3_digest_of(S3_MD5, data, 1024, md5);
    s3_hex(md5, 16, first);
    s3_fake_answer(fake, 200, NULL, "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>U1"
                                    "</UploadId><Initiated>2026-01-01T00:00:00.000Z</Initiated>"
                                    "</Upload></ListMultipartUploadsResult>");
    char parts[512];
    snprintf(parts, sizeof parts, "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>\"%s\""
             "</ETag><Size>1024</Size></Part><Part><PartNumber>2</PartNumber><ETag>\"%s\"</ETag>"
             "<Size>1024</Size></Part></ListPartsResult>", first, second_wrong);
    s3_fake_answer(fake, 200, NULL, parts);
    s3_fake_answer(fake, 200, "ETag: \"e2\"\n", NULL); /* part 2, different: sent again */
    s3_fake_answer(fake, 200, "ETag: \"e3\"\n", NULL); /* part 3, missing */
    s3_fake_answer(fake, 200, NULL, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                                    "</CompleteMultipartUploadResult>");
    s3_fake_answer(fake, 200, "x-amz-meta-sha1: wrong\n", NULL); /* HEAD: another file's */
    s3_fake_answer(fake, 200, NULL, "<CopyObjectResult><ETag>\"x-3\"</ETag></CopyObjectResult>");
    struct stor_error err = {""};
    assert_int_equal(s3_put(plugin, "bkt", "k", fd, NULL, NULL, &err), STOR_OK);
    assert_int_equal(fake->seen_count, 7);
    assert_non_null(strstr(fake->seen[2].url, "partNumber=2"));
    assert_non_null(strstr(fake->seen[3].url, "partNumber=3"));
    assert_non_null(strstr(fake->seen[4].body, "<PartNumber>1</PartNumber><ETag>\""));
    assert_non_null(strstr(fake->seen[6].headers, "x-amz-metadata-directive: REPLACE"));
    close(fd);
    unlink(path);
    s3_fake_free(plugin, fake);
}

/* Under SSE-KMS or SSE-C an ETag is not the MD5 of the bytes (S3 says so in
 * x-amz-server-side-encryption...): a part's opaque ETag is then no reason to fail, and a get
 * does not hold the bytes to it. Without those headers a part whose ETag is not its MD5 was
 * stored wrongly: refused. */
static void test_encrypted_etags_are_opaque(void **state)
{
    (void)state;
    struct s3_fake *fake;
    const char *const options[] = {"endpoint=http://127.0.0.1:9", "upload_cutoff=2K",
                                   "part_size=1K", "transfers=1", "retries=1", NULL};
    struct s3_plugin *plugin = s3_fake_plugin(&fake, options);
    char path[] = "/tmp/stor-s3-kms.XXXXXX";
    int fd = mkstemp(path);
    char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 13);
    assert_int_equal(write(fd, data, sizeof data), (ssize_t)sizeof data);
    const char *opaque = "ETag: \"0123456789abcdef0123456789abcdef\"\n"
                         "x-amz-server-side-encryption: aws:kms\n";
    const char *kinds[] = {opaque, "ETag: \"0123456789abcdef0123456789abcdef\"\n"
                                   "x-amz-server-side-encryption-customer-algorithm: AES256\n"};
    for (size_t k = 0; k < 2; k++) {
        lseek(fd, 0, SEEK_SET);
        s3_fake_answer(fake, 200, NULL, "<ListMultipartUploadsResult></ListMultipartUploadsResult>");
        s3_fake_answer(fake, 200, NULL, "<InitiateMultipartUploadResult><UploadId>U</UploadId>"
                                        "</InitiateMultipartUploadResult>");
        for (int part = 0; part < 3; part++)
            s3_fake_answer(fake, 200, kinds[k], NULL);
        s3_fake_answer(fake, 200, NULL, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                                        "</CompleteMultipartUploadResult>");
        struct stor_error err = {""};
        assert_int_equal(s3_put(plugin, "bkt", "k", fd, NULL, NULL, &err), STOR_OK);
    }
    lseek(fd, 0, SEEK_SET);
    size_t before = fake->seen_count;
    s3_fake_answer(fake, 200, NULL, "<ListMultipartUploadsResult></ListMultipartUploadsResult>");
    s3_fake_answer(fake, 200, NULL, "<InitiateMultipartUploadResult><UploadId>V</UploadId>"
                                    "</InitiateMultipartUploadResult>");
    s3_fake_answer(fake, 200, "ETag: \"0123456789abcdef0123456789abcdef\"\n", NULL);
    struct stor_error err = {""};
    assert_int_equal(s3_put(plugin, "bkt", "k", fd, NULL, NULL, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "is not the part's"));
    assert_int_equal(fake->seen_count, before + 3); /* no part after the one refused */
    /* A get of an encrypted object without a SHA-1: its ETag proves nothing, is not held to. */
    char *headers = NULL;
    assert_true(asprintf(&headers, "Content-Length: 15\n%s", opaque) > 0);
    s3_fake_answer(fake, 200, headers, "encrypted bytes");
    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    assert_int_equal(s3_get(plugin, "bkt", "k", pipes[1], NULL, NULL, &err), STOR_OK);
    char back[16] = "";
    assert_int_equal(read(pipes[0], back, 15), 15);
    assert_string_equal(back, "encrypted bytes");
    free(headers);
    close(pipes[0]);
    close(pipes[1]);
    close(fd);
    unlink(path);
    s3_fake_free(plugin, fake);
}

static int collect_versions(void *context, const struct stor_object *object)
{
    char *text = context;
    size_t length = strlen(text);
    snprintf(text + length, 4096 - length, "%s%s %s%s", length ? "," : "", object->key,
             object->id ? object->id : "-", object->is_hidden ? " hidden" : "");
    return 0;
}

static void test_list_versions_pages(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    s3_fake_answer(fake, 200, NULL,
                   "<ListVersionsResult><IsTruncated>true</IsTruncated><NextKeyMarker>p%2Fa"
                   "</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker><Version><Key>"
                   "p%2Fa</Key><VersionId>v3</VersionId><Size>1</Size></Version><DeleteMarker>"
                   "<Key>p%2Fa</Key><VersionId>v2</VersionId></DeleteMarker></ListVersionsResult>");
    s3_fake_answer(fake, 200, NULL,
                   "<ListVersionsResult><IsTruncated>false</IsTruncated><Version><Key>p%2Fb</Key>"
                   "<VersionId>w1</VersionId><Size>2</Size></Version><Version><Key>p%2Fa</Key>"
                   "<VersionId>v1</VersionId><Size>3</Size></Version></ListVersionsResult>");
    char text[4096] = "";
    struct stor_error err = {""};
    assert_int_equal(s3_list(plugin, "bkt", "p/", STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS,
                             collect_versions, text, &err), STOR_OK);
    assert_string_equal(text, "p/a v3,p/a v2 hidden,p/a v1,p/b w1");
    assert_non_null(strstr(fake->seen[0].url, "versions"));
    assert_non_null(strstr(fake->seen[1].url, "key-marker=p%2Fa"));
    assert_non_null(strstr(fake->seen[1].url, "version-id-marker=v2"));
    s3_fake_free(plugin, fake);
}

static void hostile_versions(const char *body, const char *second, const char *expect)
{
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    s3_fake_answer(fake, 200, NULL, body);
    for (int i = 0; second && i < 20; i++)
        s3_fake_answer(fake, 200, NULL, second);
    char text[4096] = "";
    struct stor_error err = {""};
    assert_int_equal(s3_list(plugin, "bkt", "p/", STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS,
                             collect_versions, text, &err), STOR_EINTERNAL);
    if (!strstr(err.message, expect))
        fail_msg("message '%s' lacks '%s'", err.message, expect);
    s3_fake_free(plugin, fake);
}

#define PAGE(truncated, markers, entries) \
    "<ListVersionsResult><IsTruncated>" truncated "</IsTruncated>" markers entries \
    "</ListVersionsResult>"
#define VERSION(key, id) "<Version><Key>" key "</Key><VersionId>" id "</VersionId><Size>1</Size></Version>"

static void test_list_versions_refuses_a_lying_server(void **state)
{
    (void)state;
    hostile_versions(PAGE("false", "", VERSION("q/x", "v1")), NULL, "outside the prefix");
    hostile_versions(PAGE("false", "", VERSION("p/a", "v1") VERSION("p/a", "v1")), NULL,
                     "out of order or twice");
    hostile_versions(PAGE("false", "", "<Version><Key>p/a</Key><Size>1</Size></Version>"), NULL,
                     "without a usable VersionId");
    hostile_versions(PAGE("false", "", "<Version><Key>p/a</Key><VersionId>a/../b</VersionId>"
                                       "<Size>1</Size></Version>"), NULL, "usable VersionId");
    /* the same markers again: a loop */
    const char *looping = PAGE("true", "<NextKeyMarker>p/a</NextKeyMarker><NextVersionIdMarker>v1"
                                       "</NextVersionIdMarker>", VERSION("p/a", "v1"));
    hostile_versions(looping, PAGE("true", "<NextKeyMarker>p/a</NextKeyMarker><NextVersionIdMarker>"
                                           "v1</NextVersionIdMarker>", ""), "does not advance");
    /* markers that go back */
    hostile_versions(PAGE("true", "<NextKeyMarker>p/b</NextKeyMarker>", VERSION("p/b", "v1")),
                     PAGE("true", "<NextKeyMarker>p/a</NextKeyMarker>", ""), "does not advance");
    /* truncated without a marker */
    hostile_versions(PAGE("true", "", VERSION("p/a", "v1")), NULL, "NextKeyMarker");
    /* an earlier key on the next page */
    hostile_versions(PAGE("true", "<NextKeyMarker>p/b</NextKeyMarker>", VERSION("p/b", "v1")),
                     PAGE("false", "", VERSION("p/a", "v1")), "out of order");
}

static void test_remove_ex_versions(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    struct stor_error err = {""};
    struct stor_remove_options one = {.struct_size = sizeof one, .version_id = "v2"};
    s3_fake_answer(fake, 404, NULL, NULL); /* HEAD ?versionId=v2: not there */
    assert_int_equal(s3_remove_ex(plugin, "bkt", "p/a", &one, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "version v2"));
    assert_int_equal(fake->seen_count, 1);
    s3_fake_answer(fake, 405, "x-amz-delete-marker: true\n", NULL); /* a delete marker */
    s3_fake_answer(fake, 204, NULL, NULL);
    assert_int_equal(s3_remove_ex(plugin, "bkt", "p/a", &one, &err), STOR_OK);
    assert_string_equal(fake->seen[2].method, "DELETE");
    assert_non_null(strstr(fake->seen[2].url, "/bkt/p/a?versionId=v2"));
    /* every version: those of exactly that name, not of p/ab */
    struct stor_remove_options all = {.struct_size = sizeof all, .flags = STOR_REMOVE_ALL_VERSIONS};
    s3_fake_answer(fake, 200, NULL, PAGE("false", "", VERSION("p/a", "v3")
                                         "<DeleteMarker><Key>p/a</Key><VersionId>v2</VersionId>"
                                         "</DeleteMarker>" VERSION("p/ab", "x1")));
    s3_fake_answer(fake, 204, NULL, NULL);
    s3_fake_answer(fake, 204, NULL, NULL);
    size_t before = fake->seen_count;
    assert_int_equal(s3_remove_ex(plugin, "bkt", "p/a", &all, &err), STOR_OK);
    assert_int_equal(fake->seen_count, before + 3);
    assert_non_null(strstr(fake->seen[before].url, "prefix=p%2Fa"));
    assert_non_null(strstr(fake->seen[before + 1].url, "versionId=v3"));
    assert_non_null(strstr(fake->seen[before + 2].url, "versionId=v2"));
    s3_fake_answer(fake, 200, NULL, PAGE("false", "", VERSION("p/ab", "x1")));
    assert_int_equal(s3_remove_ex(plugin, "bkt", "p/a", &all, &err), STOR_ENOTFOUND);
    s3_fake_free(plugin, fake);
}

struct removals {
    size_t count, failed;
    enum stor_status status[3000];
    char message[3000][96];
    int times[3000];
};

static void on_removed(void *context, size_t index, enum stor_status status, const char *message)
{
    struct removals *r = context;
    r->count++;
    r->times[index]++;
    r->status[index] = status;
    snprintf(r->message[index], sizeof r->message[index], "%s", message ? message : "");
    r->failed += status != STOR_OK;
}

static void test_remove_many_in_batches(void **state)
{
    (void)state;
    struct s3_fake *fake;
    struct s3_plugin *plugin = s3_fake_plugin(&fake, no_heads);
    static char names[2500][32];
    static const char *keys[2500];
    for (int i = 0; i < 2500; i++) {
        snprintf(names[i], sizeof names[i], i == 7 ? "d/a&b<c>'\"%04d" : "d/%04d", i);
        keys[i] = names[i];
    }
    char error[256];
    snprintf(error, sizeof error, "<DeleteResult><Error><Key>d/0003</Key><Code>AccessDenied</Code>"
             "<Message>no</Message></Error><Error><Key>elsewhere</Key><Code>AccessDenied</Code>"
             "</Error></DeleteResult>");
    s3_fake_answer(fake, 200, NULL, error);
    s3_fake_answer(fake, 503, NULL, "<Error><Code>SlowDown</Code></Error>"); /* retried */
    s3_fake_answer(fake, 200, NULL, "<DeleteResult></DeleteResult>");
    s3_fake_answer(fake, 200, NULL, "<DeleteResult><Deleted><Key>d/2001</Key></Deleted></DeleteResult>");
    static struct removals r;
    memset(&r, 0, sizeof r);
    struct stor_error err = {""};
    assert_int_equal(s3_remove_many(plugin, "bkt", keys, 2500, on_removed, &r, &err), STOR_EAUTH);
    assert_int_equal(r.count, 2500);
    for (int i = 0; i < 2500; i++)
        assert_int_equal(r.times[i], 1);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.status[3], STOR_EAUTH);
    assert_non_null(strstr(r.message[3], "AccessDenied: no"));
    assert_non_null(strstr(err.message, "d/0003"));
    assert_int_equal(fake->seen_count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(fake->seen[i].method, "POST");
        assert_non_null(strstr(fake->seen[i].url, "/bkt?delete"));
        /* Content-MD5 is the body's */
        unsigned char md5[16];
        char base64[25], line[64];
        s3_base64(md5, s3_digest_of(S3_MD5, fake->seen[i].body, fake->seen[i].body_length, md5),
                  base64);
        snprintf(line, sizeof line, "Content-MD5: %s\n", base64);
        assert_non_null(strstr(fake->seen[i].headers, line));
    }
    assert_non_null(strstr(fake->seen[0].body, "<Quiet>true</Quiet>"));
    assert_non_null(strstr(fake->seen[0].body, "<Key>d/a&amp;b&lt;c&gt;&apos;&quot;0007</Key>"));
    assert_non_null(strstr(fake->seen[0].body, "<Key>d/0999</Key></Object></Delete>"));
    assert_null(strstr(fake->seen[0].body, "d/1000"));
    assert_non_null(strstr(fake->seen[3].body, "<Object><Key>d/2000</Key>"));
    /* An answer that is not a DeleteResult: every key of the batch stays, none believed gone. */
    memset(&r, 0, sizeof r);
    s3_fake_answer(fake, 200, NULL, "<Error><Code>InternalError</Code></Error>");
    assert_int_equal(s3_remove_many(plugin, "bkt", keys, 3, on_removed, &r, &err), STOR_EINTERNAL);
    assert_int_equal(r.failed, 3);
    assert_non_null(strstr(r.message[1], "not a DeleteResult"));
    s3_fake_free(plugin, fake);
}

static void test_copy_in_parts(void **state)
{
    (void)state;
    struct s3_fake *fake;
    const char *const options[] = {"endpoint=http://127.0.0.1:9", "copy_cutoff=2K",
                                   "part_size=1K", "transfers=1", NULL};
    struct s3_plugin *plugin = s3_fake_plugin(&fake, options);
    const char *source = "Content-Length: 2500\nETag: \"src-3\"\nContent-Type: text/x-a\n"
                         "x-amz-meta-colour: blue\nx-amz-meta-sha1: "
                         "0123456789abcdef0123456789abcdef01234567\n"
                         "x-amz-meta-mtime: 1500000000.5\n";
    s3_fake_answer(fake, 200, source, NULL); /* HEAD of the source */
    s3_fake_answer(fake, 200, NULL, "<InitiateMultipartUploadResult><UploadId>U</UploadId>"
                                    "</InitiateMultipartUploadResult>");
    s3_fake_answer(fake, 200, NULL, "<CopyPartResult><ETag>\"p1\"</ETag></CopyPartResult>");
    s3_fake_answer(fake, 503, NULL, "<Error><Code>SlowDown</Code></Error>"); /* retried */
    s3_fake_answer(fake, 200, NULL, "<CopyPartResult><ETag>\"p2\"</ETag></CopyPartResult>");
    s3_fake_answer(fake, 200, NULL, "<CopyPartResult><ETag>\"p3\"</ETag></CopyPartResult>");
    s3_fake_answer(fake, 200, NULL, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
                                    "</CompleteMultipartUploadResult>");
    s3_fake_answer(fake, 200, source, NULL); /* HEAD of the copy */
    struct stor_error err = {""};
    assert_int_equal(s3_copy(plugin, "src", "a b", "bkt", "c", NULL, NULL, &err), STOR_OK);
    assert_int_equal(fake->seen_count, 8);
    const char *create = fake->seen[1].headers;
    assert_non_null(strstr(fake->seen[1].url, "/bkt/c?uploads"));
    assert_non_null(strstr(create, "x-amz-meta-colour: blue"));
    assert_non_null(strstr(create, "x-amz-meta-sha1: 0123456789abcdef0123456789abcdef01234567"));
    assert_non_null(strstr(create, "x-amz-meta-mtime: 1500000000.5"));
    assert_non_null(strstr(create, "Content-Type: text/x-a"));
    assert_non_null(strstr(fake->seen[2].url, "partNumber=1&uploadId=U"));
    assert_non_null(strstr(fake->seen[2].headers, "x-amz-copy-source: /src/a%20b\n"));
    assert_non_null(strstr(fake->seen[2].headers, "x-amz-copy-source-range: bytes=0-1023\n"));
    assert_non_null(strstr(fake->seen[2].headers, "x-amz-copy-source-if-match: \"src-3\"\n"));
    assert_non_null(strstr(fake->seen[5].headers, "x-amz-copy-source-range: bytes=2048-2499\n"));
    assert_non_null(strstr(fake->seen[6].body, "<PartNumber>3</PartNumber><ETag>\"p3\"</ETag>"));
    /* A 200 that carries an <Error>: the part was not copied, the upload is aborted. */
    s3_fake_answer(fake, 200, source, NULL);
    s3_fake_answer(fake, 200, NULL, "<InitiateMultipartUploadResult><UploadId>V</UploadId>"
                                    "</InitiateMultipartUploadResult>");
    s3_fake_answer(fake, 200, NULL, "<Error><Code>InternalError</Code><Message>half"
                                    "</Message></Error>");
    s3_fake_answer(fake, 204, NULL, NULL); /* AbortMultipartUpload */
    size_t before = fake->seen_count;
    assert_int_equal(s3_copy(plugin, "src", "a b", "bkt", "c", NULL, NULL, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "aborted"));
    assert_string_equal(fake->seen[before + 3].method, "DELETE");
    assert_non_null(strstr(fake->seen[before + 3].url, "uploadId=V"));
    s3_fake_free(plugin, fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_merges_pages_in_byte_order),
        cmocka_unit_test(test_list_refuses_a_lying_server),
        cmocka_unit_test(test_list_skips_names_no_key_can_be),
        cmocka_unit_test(test_xml_limits),
        cmocka_unit_test(test_error_document_and_mapping),
        cmocka_unit_test(test_retries_with_backoff),
        cmocka_unit_test(test_part_sizing),
        cmocka_unit_test(test_credentials_order),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_resume_sends_only_missing_parts),
        cmocka_unit_test(test_encrypted_etags_are_opaque),
        cmocka_unit_test(test_list_versions_pages),
        cmocka_unit_test(test_list_versions_refuses_a_lying_server),
        cmocka_unit_test(test_remove_ex_versions),
        cmocka_unit_test(test_remove_many_in_batches),
        cmocka_unit_test(test_copy_in_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
