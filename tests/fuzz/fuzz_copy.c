/* tests/fuzz/fuzz_copy.c — copy answers through copy.c. Mode byte bit 0 clear: a small source, the
 * rest of the input is the b2_copy_file answer. Set: a source above 5 GB, the rest is up to three
 * NUL-separated answers: b2_start_large_file, b2_copy_part (for every part), b2_finish_large_file.
 * Bit 1 set: a first NUL-separated piece answers the source lookup (b2_list_file_names) instead. */
#include "fuzz_calls.h"

static const char small_source[] =
    "{\"files\": [{\"action\": \"upload\", \"fileName\": \"src.txt\", \"fileId\": \"4_zsource\", "
    "\"contentLength\": 10, \"contentSha1\": \"da39a3ee5e6b4b0d3255bfef95601890afd80709\", "
    "\"contentType\": \"text/plain\", \"fileInfo\": {}, \"uploadTimestamp\": 1600000000000}], "
    "\"nextFileName\": null}";
static const char large_source[] =
    "{\"files\": [{\"action\": \"upload\", \"fileName\": \"src.txt\", \"fileId\": \"4_zsource\", "
    "\"contentLength\": 5000000001, \"contentSha1\": \"none\", \"contentType\": \"text/plain\", "
    "\"fileInfo\": {\"large_file_sha1\": \"da39a3ee5e6b4b0d3255bfef95601890afd80709\"}, "
    "\"uploadTimestamp\": 1600000000000}], \"nextFileName\": null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int large = data[0] & 1, lookup = data[0] & 2;
    const char *pieces[4];
    size_t piece_lengths[4];
    size_t count = fuzz_pieces(data + 1, size - 1, pieces, piece_lengths, (large ? 3 : 1) + !!lookup);
    struct b2_plugin *plugin = fuzz_plugin(data, size);
    if (lookup && count > 1)
        fuzz_answer("b2_list_file_names", 200, pieces[0], piece_lengths[0], 1);
    const char **answers = lookup && count > 1 ? pieces + 1 : pieces;
    size_t *lengths = lookup && count > 1 ? piece_lengths + 1 : piece_lengths;
    count -= lookup && count > 1;
    if (large) {
        fuzz_answer("b2_list_file_names", 200, large_source, sizeof large_source - 1, -1);
        static const char *const calls[] = {"b2_start_large_file", "b2_copy_part",
                                            "b2_finish_large_file"};
        for (size_t i = 0; i < count; i++)
            fuzz_answer(calls[i], 200, answers[i], lengths[i], i == 1 ? -1 : 1);
        fuzz_answer("b2_cancel_large_file", 200, "{}", 2, -1);
    } else {
        fuzz_answer("b2_list_file_names", 200, small_source, sizeof small_source - 1, -1);
        fuzz_answer("b2_copy_file", 200, answers[0], lengths[0], 1);
    }
    struct stor_error err = {""};
    enum stor_status status = b2_copy(plugin, FUZZ_BUCKET, "src.txt", FUZZ_BUCKET, "dst.txt",
                                      fuzz_check_object, NULL, &err);
    fuzz_finish(plugin, status, &err);
    return 0;
}
