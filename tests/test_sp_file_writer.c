/* test_sp_file_writer.c — plugins/common's download writer: bytes at their own positions in a
 * regular file (a range written from the middle, a retry writing the same place again), pieces
 * gathered until a chunk is full or the answer ends, a pipe written in order, and failures that
 * are reported, never lost in the gathered tail. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sp_file_writer.h"

static int temp_file(void)
{
    char path[] = "/tmp/stor-sp-writer.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static int64_t file_size(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_size;
}

static char *pattern(size_t size)
{
    char *data = malloc(size);
    assert_non_null(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)(i * 31 + 7);
    return data;
}

/* Puts data in pieces of piece bytes. */
static void put_in_pieces(struct sp_file_writer *writer, const char *data, size_t size,
                          size_t piece)
{
    for (size_t done = 0; done < size; done += piece) {
        size_t length = size - done < piece ? size - done : piece;
        assert_int_equal(sp_file_writer_put(writer, data + done, length), 0);
    }
}

static void test_a_single_piece_is_written_at_once(void **state)
{
    (void)state;
    int fd = temp_file();
    struct sp_file_writer writer = sp_file_writer_at(fd, 1, 10);
    assert_int_equal(sp_file_writer_put(&writer, "hello", 5), 0);
    assert_null(writer.pending); /* a small file needs no gathering buffer */
    assert_int_equal(file_size(fd), 15);
    char back[5];
    assert_int_equal(pread(fd, back, 5, 10), 5);
    assert_memory_equal(back, "hello", 5);
    assert_int_equal(sp_file_writer_flush(&writer), 0);
    sp_file_writer_release(&writer);
    close(fd);
}

static void test_pieces_are_gathered_until_flushed(void **state)
{
    (void)state;
    int fd = temp_file();
    size_t size = SP_WRITE_CHUNK + 3 * 16384 + 5;
    char *data = pattern(size);
    struct sp_file_writer writer = sp_file_writer_at(fd, 1, 4096); /* a range from the middle */
    put_in_pieces(&writer, data, size, 16384);
    assert_int_equal(writer.written, (int64_t)size);
    /* The first piece went straight; one full chunk after it; the tail waits for the flush. */
    assert_int_equal(file_size(fd), 4096 + 16384 + SP_WRITE_CHUNK);
    assert_int_equal(sp_file_writer_flush(&writer), 0);
    assert_int_equal(file_size(fd), 4096 + (int64_t)size);
    char *back = malloc(size);
    assert_int_equal(pread(fd, back, size, 4096), (ssize_t)size);
    assert_memory_equal(back, data, size);
    char head[4096], zeros[4096] = {0};
    assert_int_equal(pread(fd, head, sizeof head, 0), (ssize_t)sizeof head);
    assert_memory_equal(head, zeros, sizeof head); /* nothing before start was touched */
    free(back);
    free(data);
    sp_file_writer_release(&writer);
    close(fd);
}

static void test_a_restart_drops_the_gathered_tail(void **state)
{
    (void)state;
    int fd = temp_file();
    struct sp_file_writer writer = sp_file_writer_at(fd, 1, 0);
    put_in_pieces(&writer, "abcdefgh", 8, 2);
    sp_file_writer_restart(&writer); /* the answer broke off: its bytes come again */
    assert_int_equal(writer.written, 0);
    put_in_pieces(&writer, "ABCDEFGH", 8, 3);
    assert_int_equal(sp_file_writer_flush(&writer), 0);
    char back[9] = "";
    assert_int_equal(pread(fd, back, 8, 0), 8);
    assert_string_equal(back, "ABCDEFGH");
    assert_int_equal(file_size(fd), 8);
    sp_file_writer_release(&writer);
    close(fd);
}

static void test_a_pipe_is_written_in_order(void **state)
{
    (void)state;
    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    struct sp_file_writer writer = sp_file_writer_at(pipes[1], 0, 12345);
    put_in_pieces(&writer, "streamed in order", 17, 4);
    assert_null(writer.pending); /* nothing waits: a pipe's reader sees each piece */
    assert_int_equal(sp_file_writer_flush(&writer), 0);
    char back[18] = "";
    assert_int_equal(read(pipes[0], back, 17), 17);
    assert_string_equal(back, "streamed in order");
    sp_file_writer_release(&writer);
    close(pipes[0]);
    close(pipes[1]);
}

/* The gathered tail fails only when it is flushed: the flush says so, with errno. */
static void test_a_failed_flush_is_reported(void **state)
{
    (void)state;
    char path[] = "/tmp/stor-sp-writer.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    fd = open(path, O_RDONLY); /* pwrite fails with EBADF */
    unlink(path);
    struct sp_file_writer writer = sp_file_writer_at(fd, 1, 0);
    writer.pending = malloc(SP_WRITE_CHUNK);
    put_in_pieces(&writer, "gathered", 8, 8);
    assert_int_equal(sp_file_writer_flush(&writer), -1);
    assert_int_equal(writer.error, EBADF);
    sp_file_writer_release(&writer);
    /* and a direct write fails at once */
    struct sp_file_writer direct = sp_file_writer_at(fd, 1, 0);
    assert_int_equal(sp_file_writer_put(&direct, "x", 1), -1);
    assert_int_equal(direct.error, EBADF);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_single_piece_is_written_at_once),
        cmocka_unit_test(test_pieces_are_gathered_until_flushed),
        cmocka_unit_test(test_a_restart_drops_the_gathered_tail),
        cmocka_unit_test(test_a_pipe_is_written_in_order),
        cmocka_unit_test(test_a_failed_flush_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
