/* tests/fuzz/fuzz_wire_file.c — file objects: an upload result (upload.c parses the whole body
 * with b2_wire_file) and list pages ({files: [...], nextFileName}, walked as list.c does); every
 * field stat reports (fileInfo's headers and metadata, protection) included. */
#include "fuzz.h"
#include "wire.h"

static void check(const struct b2_file *file)
{
    /* Every string the parser hands out is readable to its end. */
    const char *strings[] = {file->action, file->file_id, file->file_name, file->content_sha1,
                             file->content_type};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if (strings[i])
            (void)strlen(strings[i]);
    const char *more[] = {file->large_file_sha1, file->content_md5, file->cache_control,
                          file->content_disposition, file->content_encoding,
                          file->content_language, file->expires, file->protection.encryption,
                          file->protection.retention_mode};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        if (more[i])
            (void)strlen(more[i]);
    if (file->metadata_count > B2_FILE_INFO_MAX)
        abort();
    for (size_t i = 0; i < file->metadata_count; i++)
        if (strlen(file->metadata[i].key) + strlen(file->metadata[i].value) == (size_t)-1)
            abort();
    if (file->content_md5 && strlen(file->content_md5) != 32)
        abort();
    if (!file->file_name)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[B2_WHY_MAX];
    json_object *root = b2_wire_parse((const char *)data, size, why);
    if (!root)
        return 0;
    struct b2_file file;
    if (b2_wire_file(root, &file, why) == 0)
        check(&file);
    json_object *files, *next;
    if (json_object_object_get_ex(root, "files", &files) &&
        json_object_is_type(files, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(files); i++)
            if (b2_wire_file(json_object_array_get_idx(files, i), &file, why) == 0)
                check(&file);
        if (json_object_object_get_ex(root, "nextFileName", &next) &&
            json_object_is_type(next, json_type_string))
            (void)strlen(json_object_get_string(next));
    }
    json_object_put(root);
    return 0;
}
