/* blob.h — the bytes of one upload (a file or a large-file part), held once: in memory, or in a
 * file under --data-dir. Reference-counted so downloads keep reading after a delete. */
#ifndef B2_BLOB_H
#define B2_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blob;

/* NULL: in memory. Set once before the daemon starts. */
void blob_set_directory(const char *directory);

/* An empty blob ready for blob_append(); expected_length sizes the first allocation. */
struct blob *blob_create(uint64_t expected_length);
bool blob_append(struct blob *blob, const void *data, size_t size);
/* Ends writing (closes the file descriptor of a file-backed blob). */
void blob_seal(struct blob *blob);
uint64_t blob_length(const struct blob *blob);

void blob_ref(struct blob *blob);
void blob_unref(struct blob *blob);

/* Reads up to size bytes at offset; -1 on I/O error. *fd caches an open descriptor between calls
 * for file-backed blobs (start with -1, close with blob_reader_close). */
long blob_read(struct blob *blob, uint64_t offset, void *buffer, size_t size, int *fd);
void blob_reader_close(int *fd);

#endif
