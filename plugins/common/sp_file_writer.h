/* plugins/common/sp_file_writer.h — a download's bytes into the caller's file descriptor. Into a
 * regular file each byte goes to its own position (pwrite from start), so a retry can write the
 * same bytes again and parallel ranges can share one fd; curl's small pieces are gathered into
 * writes of SP_WRITE_CHUNK. Into a pipe they are written in order as they come. */
#ifndef SP_FILE_WRITER_H
#define SP_FILE_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* Writes this large cost one system call per 256 KiB instead of one per 16 KiB piece. */
#define SP_WRITE_CHUNK (256 * 1024)
/* The receive buffer (sp_http_request.receive_buffer) of a download into a writer: curl's
 * default 16 KiB would be a write_body call, and a hash update, per 16 KiB. Per pooled handle. */
#define SP_DOWNLOAD_BUFFER (256L * 1024)

struct sp_file_writer {
    int fd;
    int seekable;         /* pwrite at start + written; else write(2) in order */
    int64_t start;        /* file position of the first byte */
    int64_t written;      /* bytes taken (the last pending_length of them not yet in fd) */
    /* Gathering, seekable only: pending is allocated when a second piece arrives (a small file
     * needs none). */
    char *pending;
    size_t pending_length;
    int error;            /* errno of the failed write */
};

/* A writer for fd from file position start (ignored when not seekable). */
struct sp_file_writer sp_file_writer_at(int fd, int seekable, int64_t start);

/* Takes size bytes: 0, or -1 with error set (written counts what was taken before it). */
int sp_file_writer_put(struct sp_file_writer *writer, const char *data, size_t size);
/* Writes what is gathered: after the last byte of an answer, before anyone reads the file. */
int sp_file_writer_flush(struct sp_file_writer *writer);
/* Before a retry from the first byte: drops what is gathered; written is 0 again. */
void sp_file_writer_restart(struct sp_file_writer *writer);
/* Frees the gathering buffer; the writer may not be used again. */
void sp_file_writer_release(struct sp_file_writer *writer);

#endif
