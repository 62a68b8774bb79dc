/* plugins/common/sp_file_writer.c — a download's positioned, gathered writes. */
#include "sp_file_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sp_file_writer sp_file_writer_at(int fd, int seekable, int64_t start)
{
    return (struct sp_file_writer){.fd = fd, .seekable = seekable, .start = seekable ? start : 0};
}

/* Writes all of size bytes at file position at (at < 0: in order); 0, or -1 with error set. */
static int write_all(struct sp_file_writer *writer, const char *data, size_t size, int64_t at)
{
    while (size > 0) {
        ssize_t wrote = at >= 0 ? pwrite(writer->fd, data, size, at)
                                : write(writer->fd, data, size);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            writer->error = wrote < 0 ? errno : EIO;
            return -1;
        }
        data += wrote;
        size -= (size_t)wrote;
        if (at >= 0)
            at += wrote;
    }
    return 0;
}

int sp_file_writer_flush(struct sp_file_writer *writer)
{
    if (writer->pending_length == 0)
        return 0;
    int64_t at = writer->start + writer->written - (int64_t)writer->pending_length;
    size_t length = writer->pending_length;
    writer->pending_length = 0;
    return write_all(writer, writer->pending, length, at);
}

int sp_file_writer_put(struct sp_file_writer *writer, const char *data, size_t size)
{
    if (!writer->seekable) {
        if (write_all(writer, data, size, -1) != 0)
            return -1;
        writer->written += (int64_t)size;
        return 0;
    }
    /* A first piece that is the whole answer (a small file) goes straight to the file. */
    if (!writer->pending && writer->written > 0)
        writer->pending = malloc(SP_WRITE_CHUNK);
    if (!writer->pending) {
        if (write_all(writer, data, size, writer->start + writer->written) != 0)
            return -1;
        writer->written += (int64_t)size;
        return 0;
    }
    while (size > 0) {
        size_t room = SP_WRITE_CHUNK - writer->pending_length, take = size < room ? size : room;
        memcpy(writer->pending + writer->pending_length, data, take);
        writer->pending_length += take;
        writer->written += (int64_t)take;
        data += take;
        size -= take;
        if (writer->pending_length == SP_WRITE_CHUNK && sp_file_writer_flush(writer) != 0)
            return -1;
    }
    return 0;
}

void sp_file_writer_restart(struct sp_file_writer *writer)
{
    writer->pending_length = 0;
    writer->written = 0;
    writer->error = 0;
}

void sp_file_writer_release(struct sp_file_writer *writer)
{
    free(writer->pending);
    writer->pending = NULL;
    writer->pending_length = 0;
}
