/* tests/fuzz/fuzz_s3_wire.c — every XML answer parser of the S3 plugin (plugins/s3/wire.c, on the
 * bounded expat tree of xml.c): the first byte picks the parser, the rest is the body. Beyond no
 * crash, leak or UB: what a parser accepts is whole (keys and ids set and terminated, sizes not
 * below -1), and what it refuses says why in a terminated line. */
#include "fuzz.h"

#include "wire.h"

static void check_why(const char *why)
{
    if (strnlen(why, S3_WHY_MAX) >= S3_WHY_MAX || !why[0])
        abort();
}

static void check_page(const struct s3_list_page *page, int versions)
{
    for (size_t i = 0; i < page->count; i++) {
        const struct s3_list_entry *e = &page->entries[i];
        if (!e->key || !e->key[0] || e->size < -1 || e->position != i)
            abort();
        if (versions && !e->is_prefix && (!e->version_id || !e->version_id[0]))
            abort();
        if (!versions && e->version_id)
            abort();
        if (!e->is_prefix && !e->is_delete_marker && !e->etag)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t length = size - 1;
    char why[S3_WHY_MAX] = "";
    switch (data[0] % 9) {
    case 0: {
        struct s3_wire_error error;
        s3_wire_error(body, length, &error);
        if (strnlen(error.code, sizeof error.code) >= sizeof error.code ||
            strnlen(error.message, sizeof error.message) >= sizeof error.message ||
            strnlen(error.region, sizeof error.region) >= sizeof error.region)
            abort();
        break;
    }
    case 1:
    case 2: {
        struct s3_list_page page;
        int versions = data[0] % 9 == 2;
        int url = (data[0] / 9) % 2;
        int parsed = versions ? s3_wire_versions_page(body, length, url, &page, why)
                              : s3_wire_list_page(body, length, url, &page, why);
        if (parsed == 0) {
            check_page(&page, versions);
            s3_list_page_free(&page);
        } else {
            check_why(why);
        }
        break;
    }
    case 3: {
        struct s3_bucket_entry *buckets;
        size_t count;
        if (s3_wire_buckets(body, length, &buckets, &count, why) == 0) {
            for (size_t i = 0; i < count; i++)
                if (!buckets[i].name || !buckets[i].name[0])
                    abort();
            s3_buckets_free(buckets, count);
        } else {
            check_why(why);
        }
        break;
    }
    case 4: {
        char *id = NULL;
        if (s3_wire_upload_id(body, length, &id, why) == 0) {
            if (!id || !id[0])
                abort();
            free(id);
        } else {
            check_why(why);
        }
        break;
    }
    case 5: {
        struct s3_uploads_page page;
        if (s3_wire_uploads(body, length, &page, why) == 0) {
            for (size_t i = 0; i < page.count; i++)
                if (!page.entries[i].key || !page.entries[i].upload_id)
                    abort();
            s3_uploads_page_free(&page);
        } else {
            check_why(why);
        }
        break;
    }
    case 6: {
        struct s3_parts_page page;
        if (s3_wire_parts(body, length, &page, why) == 0) {
            for (size_t i = 0; i < page.count; i++)
                if (strnlen(page.entries[i].etag, sizeof page.entries[i].etag) >=
                    sizeof page.entries[i].etag)
                    abort();
            free(page.entries);
        } else {
            check_why(why);
        }
        break;
    }
    case 7: {
        char etag[80];
        struct s3_wire_error error;
        const char *root = (data[0] / 9) % 2 ? "CopyObjectResult" : "CompleteMultipartUploadResult";
        if (s3_wire_result_etag(body, length, root, etag, &error, why) == 0) {
            if (strnlen(etag, sizeof etag) >= sizeof etag)
                abort();
        } else {
            check_why(why);
        }
        break;
    }
    case 8: {
        struct s3_delete_error *errors;
        size_t count;
        if (s3_wire_delete_errors(body, length, &errors, &count, why) == 0) {
            for (size_t i = 0; i < count; i++)
                if (!errors[i].key || !errors[i].key[0] ||
                    strnlen(errors[i].code, sizeof errors[i].code) >= sizeof errors[i].code)
                    abort();
            s3_delete_errors_free(errors, count);
        } else {
            check_why(why);
        }
        break;
    }
    }
    return 0;
}
