/* blob.c — storage of object bytes. In memory a blob grows by doubling (realloc of large blocks
 * remaps rather than copies); with a data directory it is written to one file per blob. */
#include "blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct blob {
	int references;
	uint64_t length;
	char *memory;            /* in-memory blob */
	size_t capacity;
	char *path;              /* file-backed blob */
	int write_fd;
};

static const char *blob_directory;
static unsigned long blob_serial;

void blob_set_directory(const char *directory)
{
	blob_directory = directory;
}

struct blob *blob_create(uint64_t expected_length)
{
	struct blob *blob = calloc(1, sizeof *blob);
	if (!blob)
		return NULL;
	blob->references = 1;
	blob->write_fd = -1;
	if (blob_directory) {
		char path[4096];
		unsigned long serial = __atomic_add_fetch(&blob_serial, 1, __ATOMIC_RELAXED);
		snprintf(path, sizeof path, "%s/blob-%d-%lu", blob_directory, (int)getpid(), serial);
		blob->write_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (blob->write_fd < 0 || !(blob->path = strdup(path))) {
			if (blob->write_fd >= 0) {
				close(blob->write_fd);
				unlink(path);
			}
			free(blob);
			return NULL;
		}
		return blob;
	}
	/* Small first allocation: a hostile Content-Length must not reserve gigabytes up front. */
	blob->capacity = expected_length < (1u << 20) ? (size_t)expected_length : (1u << 20);
	if (blob->capacity == 0)
		blob->capacity = 1;
	blob->memory = malloc(blob->capacity);
	if (!blob->memory) {
		free(blob);
		return NULL;
	}
	return blob;
}

bool blob_append(struct blob *blob, const void *data, size_t size)
{
	if (blob->path) {
		const char *p = data;
		while (size > 0) {
			ssize_t written = write(blob->write_fd, p, size);
			if (written < 0 && errno == EINTR)
				continue;
			if (written <= 0)
				return false;
			p += written;
			size -= (size_t)written;
			blob->length += (uint64_t)written;
		}
		return true;
	}
	if (blob->length + size > blob->capacity) {
		size_t capacity = blob->capacity;
		while (capacity < blob->length + size)
			capacity *= 2;
		char *grown = realloc(blob->memory, capacity);
		if (!grown)
			return false;
		blob->memory = grown;
		blob->capacity = capacity;
	}
	memcpy(blob->memory + blob->length, data, size);
	blob->length += size;
	return true;
}

void blob_seal(struct blob *blob)
{
	if (blob->write_fd >= 0) {
		close(blob->write_fd);
		blob->write_fd = -1;
	}
	/* Give back the slack of the doubling growth (remapped, not copied, for large blocks). */
	if (blob->memory && blob->length > 0 && blob->capacity > blob->length) {
		char *fitted = realloc(blob->memory, (size_t)blob->length);
		if (fitted) {
			blob->memory = fitted;
			blob->capacity = (size_t)blob->length;
		}
	}
}

uint64_t blob_length(const struct blob *blob)
{
	return blob->length;
}

void blob_ref(struct blob *blob)
{
	__atomic_add_fetch(&blob->references, 1, __ATOMIC_RELAXED);
}

void blob_unref(struct blob *blob)
{
	if (!blob || __atomic_sub_fetch(&blob->references, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	blob_seal(blob);
	if (blob->path) {
		unlink(blob->path);
		free(blob->path);
	}
	free(blob->memory);
	free(blob);
}

long blob_read(struct blob *blob, uint64_t offset, void *buffer, size_t size, int *fd)
{
	if (offset >= blob->length)
		return 0;
	if (size > blob->length - offset)
		size = (size_t)(blob->length - offset);
	if (!blob->path) {
		memcpy(buffer, blob->memory + offset, size);
		return (long)size;
	}
	if (*fd < 0)
		*fd = open(blob->path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -1;
	ssize_t got;
	do
		got = pread(*fd, buffer, size, (off_t)offset);
	while (got < 0 && errno == EINTR);
	return got;
}

void blob_reader_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
