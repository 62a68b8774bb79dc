/* files_floor.c — the local file system's limit for "many small downloads": the files get -r
 * writes, written with no network at all, each as durable as stor makes it (an unnamed file in
 * its directory, written, fsynced, linked under its name; the directory fsynced once per thread).
 *
 * usage: files_floor DIRECTORY THREADS FILES SIZE
 * DIRECTORY must exist and be empty. Output: one line of key=value pairs (seconds, files,
 * files_per_s). Exit 1 on any failure. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
    int dir;
    long first, step, count;
    const char *bytes;
    size_t size;
    int failed;
};

static int write_durably(int dir, const char *name, const char *bytes, size_t size)
{
    int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int ok = write(fd, bytes, size) == (ssize_t)size && fsync(fd) == 0 &&
             linkat(AT_FDCWD, proc, dir, name, AT_SYMLINK_FOLLOW) == 0;
    close(fd);
    return ok ? 0 : -1;
}

static void *work(void *context)
{
    struct worker *w = context;
    for (long i = w->first; i < w->count && !w->failed; i += w->step) {
        char name[32];
        snprintf(name, sizeof name, "file%06ld", i);
        w->failed = write_durably(w->dir, name, w->bytes, w->size) != 0;
    }
    w->failed |= fsync(w->dir) != 0;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: files_floor DIRECTORY THREADS FILES SIZE\n");
        return 2;
    }
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long threads = atol(argv[2]), files = atol(argv[3]);
    size_t size = (size_t)atol(argv[4]);
    char *bytes = malloc(size ? size : 1);
    if (dir < 0 || threads < 1 || threads > 256 || files < 1 || !bytes) {
        fprintf(stderr, "files_floor: bad arguments or %s cannot be opened\n", argv[1]);
        return 1;
    }
    for (size_t i = 0; i < size; i++)
        bytes[i] = (char)(i * 31 + 7);
    struct worker workers[256];
    pthread_t ids[256];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long t = 0; t < threads; t++) {
        workers[t] = (struct worker){dir, t, threads, files, bytes, size, 0};
        if (pthread_create(&ids[t], NULL, work, &workers[t]) != 0)
            return 1;
    }
    int failed = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        failed |= workers[t].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    if (failed) {
        perror("files_floor");
        return 1;
    }
    printf("seconds=%.6f files=%ld files_per_s=%.1f\n", seconds, files, (double)files / seconds);
    free(bytes);
    close(dir);
    return 0;
}
