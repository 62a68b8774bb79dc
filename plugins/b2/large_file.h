/* plugins/b2/large_file.h — puts above the cutoff, as B2 large files: a regular file's parts in
 * parallel with resume, or a pipe's as they fill (large_file.c). */
#ifndef B2_LARGE_FILE_H
#define B2_LARGE_FILE_H

#include "file_info.h"
#include "upload_loop.h"

#define B2_DEFAULT_UPLOAD_CUTOFF (200LL << 20)
#define B2_DEFAULT_TRANSFERS 4
#define B2_MAX_TRANSFERS 64
#define B2_PART_SIZE_RECOMMENDED 100000000LL

/* "5000000", "5M" (powers of 1000: K M G T, optional B), "5MiB" (powers of 1024). 0 or -1. */
int b2_parse_size(const char *text, int64_t *bytes);
/* The part size of a size-byte file: configured (0 = choose), else max(recommended capped at the
 * cutoff, ceil(size / 10,000)), within [minimum, 5 GB]. -1 with why when nothing fits. */
int64_t b2_part_size_for(int64_t size, int64_t configured, int64_t cutoff, int64_t recommended,
                         int64_t minimum, char *why, size_t why_size);

/* put of a regular file (or a spooled pipe) above the cutoff: parts, resume, finish. meta: the
 * content type and file info to start it with (its sha1, when given, is the large_file_sha1). */
enum stor_status b2_put_large(struct b2_plugin *plugin, const char *bucket, const char *key,
                              const struct b2_upload_source *source,
                              const struct b2_put_meta *meta, stor_object_fn on_result,
                              void *context, struct stor_error *err);
/* put of a pipe that went past the cutoff, or of a stated size (stated, else -1) beyond memory:
 * source holds what was read so far, source->rest_fd the rest; parts are sent as they fill,
 * transfers buffers of part_size at most. A stated size is held to (a stream that ends sooner
 * or later stores nothing), and below the cutoff it takes parts of the least size B2 allows.
 * meta's sha1, when given, is the large_file_sha1 and the stream must have it. */
enum stor_status b2_put_large_stream(struct b2_plugin *plugin, const char *bucket, const char *key,
                                     const struct b2_upload_source *source,
                                     const struct b2_put_meta *meta, int64_t stated,
                                     stor_object_fn on_result, void *context,
                                     struct stor_error *err);
/* Whether a body of length bytes goes up as a large file. */
int b2_wants_large(const struct b2_plugin *plugin, int64_t length);

#endif
