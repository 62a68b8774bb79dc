/* test_local.c — the local backend through its vtable: round trips, atomic replacement (a failed
 * or cancelled write leaves the old object and no temporary file), key checks, listing order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stor/plugin.h"
#include "test_util.h"

extern const struct stor_backend stor_local_backend;
static const struct stor_backend *const local = &stor_local_backend;

/* A host whose cancellation flag trips after a given number of progress reports. */
static int progress_calls, cancel_after_progress = -1;

static void fake_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
{
}

static void fake_progress(const struct stor_host *host, const char *key, uint64_t done,
                          uint64_t total)
{
    progress_calls++;
}

static int fake_cancelled(const struct stor_host *host)
{
    return cancel_after_progress >= 0 && progress_calls >= cancel_after_progress;
}

static const struct stor_host fake_host = {
    STOR_ABI_VERSION, sizeof(struct stor_host), STOR_LOG_TRACE, fake_log, fake_progress, fake_cancelled,
    NULL,
};

struct fixture {
    char *root;
    void *instance;
    char scratch[4096]; /* a local file to upload from */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->root = test_mkdtemp();
    struct stor_option option = {"root", f->root};
    struct stor_error err = {""};
    assert_int_equal(local->open(&fake_host, &option, 1, &f->instance, &err), STOR_OK);
    snprintf(f->scratch, sizeof f->scratch, "%s/.scratch", f->root);
    progress_calls = 0;
    cancel_after_progress = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    local->close(f->instance);
    test_rmtree(f->root);
    free(f->root);
    free(f);
    return 0;
}

struct seen {
    char sha1[41];
    int64_t size;
    int calls;
};

static int remember(void *context, const struct stor_object *object)
{
    struct seen *s = context;
    snprintf(s->sha1, sizeof s->sha1, "%s", object->sha1 ? object->sha1 : "");
    s->size = object->size;
    s->calls++;
    return 0;
}

static enum stor_status put_bytes(struct fixture *f, const char *bucket, const char *key,
                                  const char *data, struct seen *seen, struct stor_error *err)
{
    test_write_file(f->scratch, data, strlen(data));
    int fd = open(f->scratch, O_RDONLY);
    assert_true(fd >= 0);
    enum stor_status status = local->put(f->instance, bucket, key, fd, remember, seen, err);
    close(fd);
    return status;
}

/* Fetches bucket/key into a heap string (NULL when get fails). */
static char *get_bytes(struct fixture *f, const char *bucket, const char *key, enum stor_status *status)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.fetched", f->root);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    struct stor_error err = {""};
    struct seen seen = {"", 0, 0};
    *status = local->get(f->instance, bucket, key, fd, remember, &seen, &err);
    close(fd);
    char *data = *status == STOR_OK ? test_read_file(path, NULL) : NULL;
    unlink(path);
    return data;
}

static void put_then_get_round_trips_with_sha1(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "dir/sub/abc", "abc", &seen, &err), STOR_OK);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.size, 3);
    assert_string_equal(seen.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");

    enum stor_status status;
    char *data = get_bytes(f, "demo", "dir/sub/abc", &status);
    assert_int_equal(status, STOR_OK);
    assert_string_equal(data, "abc");
    free(data);
}

static void empty_object_round_trips(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "empty", "", &seen, &err), STOR_OK);
    assert_int_equal(seen.size, 0);
    assert_string_equal(seen.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    enum stor_status status;
    char *data = get_bytes(f, "demo", "empty", &status);
    assert_int_equal(status, STOR_OK);
    assert_string_equal(data, "");
    free(data);
}

static void put_replaces_the_previous_object(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "k", "first version", &seen, &err), STOR_OK);
    assert_int_equal(put_bytes(f, "demo", "k", "second", &seen, &err), STOR_OK);
    enum stor_status status;
    char *data = get_bytes(f, "demo", "k", &status);
    assert_string_equal(data, "second");
    free(data);
    assert_int_equal(test_count_names(f->root, ".stor-tmp-"), 0);
}

static void failed_write_keeps_the_old_object(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "k", "precious", &seen, &err), STOR_OK);

    /* Reading a directory fails with EISDIR: the source breaks after the temporary file exists. */
    int fd = open(f->root, O_RDONLY | O_DIRECTORY);
    assert_int_equal(local->put(f->instance, "demo", "k", fd, remember, &seen, &err), STOR_EIO);
    close(fd);
    assert_non_null(strstr(err.message, "read failed"));

    enum stor_status status;
    char *data = get_bytes(f, "demo", "k", &status);
    assert_string_equal(data, "precious");
    free(data);
    assert_int_equal(test_count_names(f->root, ".stor-tmp-"), 0);
}

static void cancelled_write_keeps_the_old_object(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "k", "precious", &seen, &err), STOR_OK);

    size_t big = 3 * 1024 * 1024; /* several copy buffers, so cancellation lands mid-stream */
    char *data = malloc(big + 1);
    memset(data, 'x', big);
    data[big] = '\0';
    progress_calls = 0;
    cancel_after_progress = 1;
    assert_int_equal(put_bytes(f, "demo", "k", data, &seen, &err), STOR_ECANCELLED);
    free(data);
    cancel_after_progress = -1;

    enum stor_status status;
    char *kept = get_bytes(f, "demo", "k", &status);
    assert_string_equal(kept, "precious");
    free(kept);
    assert_int_equal(test_count_names(f->root, ".stor-tmp-"), 0);
}

static void *feed_pipe(void *arg)
{
    int fd = *(int *)arg;
    char block[65536];
    memset(block, 'p', sizeof block);
    for (int i = 0; i < 64; i++)
        assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
    close(fd);
    return NULL;
}

static void put_streams_from_a_pipe(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pthread_t writer;
    pthread_create(&writer, NULL, feed_pipe, &fds[1]);
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(local->put(f->instance, "demo", "piped", fds[0], remember, &seen, &err), STOR_OK);
    pthread_join(writer, NULL);
    close(fds[0]);
    assert_int_equal(seen.size, 64 * 65536);
}

static void keys_that_escape_are_refused(void **state)
{
    struct fixture *f = *state;
    const char *bad_keys[] = {"../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "a/", "",
                              "..", "a\nb", "dir/.stor-tmp-123456"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        struct seen seen = {"", 0, 0};
        struct stor_error err = {""};
        assert_int_equal(put_bytes(f, "demo", bad_keys[i], "x", &seen, &err), STOR_EINVAL);
        assert_non_null(strstr(err.message, "invalid key"));
    }
    const char *bad_buckets[] = {"..", ".", "a/b", ""};
    for (size_t i = 0; i < sizeof bad_buckets / sizeof bad_buckets[0]; i++) {
        struct seen seen = {"", 0, 0};
        struct stor_error err = {""};
        assert_int_equal(put_bytes(f, bad_buckets[i], "k", "x", &seen, &err), STOR_EINVAL);
        assert_non_null(strstr(err.message, "invalid bucket"));
    }
    /* Nothing was written: no object, no bucket directory, no temporary file. */
    assert_int_equal(test_count_names(f->root, "x"), 0);
    assert_int_equal(test_count_names(f->root, "demo"), 0);
}

static void object_and_prefix_cannot_collide(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "a/b", "x", &seen, &err), STOR_OK);
    assert_int_equal(put_bytes(f, "demo", "a", "x", &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "prefix of other keys"));
    assert_int_equal(put_bytes(f, "demo", "a/b/c", "x", &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "parent of it is an object"));
}

struct collected {
    char keys[1024];
};

static int collect(void *context, const struct stor_object *object)
{
    struct collected *c = context;
    strcat(c->keys, object->key);
    strcat(c->keys, object->is_prefix ? "(dir) " : " ");
    if (!object->is_prefix)
        assert_true(object->size >= 0 && object->mtime_ms > 0);
    return 0;
}

static void list(struct fixture *f, const char *prefix, unsigned flags, const char *expected)
{
    struct collected c = {""};
    struct stor_error err = {""};
    assert_int_equal(local->list(f->instance, "demo", prefix, flags, collect, &c, &err), STOR_OK);
    assert_string_equal(c.keys, expected);
}

static void listing_is_sorted_by_bytes_one_level_or_all(void **state)
{
    struct fixture *f = *state;
    const char *keys[] = {"a/b", "a.txt", "b", "a/c/d", "dir/sub1", "dir/sub2", "dir/other"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct seen seen = {"", 0, 0};
        struct stor_error err = {""};
        assert_int_equal(put_bytes(f, "demo", keys[i], "x", &seen, &err), STOR_OK);
    }
    list(f, "", 0, "a.txt a/(dir) b dir/(dir) ");
    list(f, "", STOR_LIST_RECURSIVE, "a.txt a/b a/c/d b dir/other dir/sub1 dir/sub2 ");
    list(f, "dir/su", 0, "dir/sub1 dir/sub2 ");
    list(f, "a/", 0, "a/b a/c/(dir) ");
    list(f, "nothing/here", 0, "");
}

static void missing_bucket_and_object_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct collected c = {""};
    struct stor_error err = {""};
    assert_int_equal(local->list(f->instance, "nobucket", "", 0, collect, &c, &err), STOR_ENOTFOUND);
    assert_non_null(strstr(err.message, "no bucket 'nobucket'"));
    enum stor_status status;
    assert_null(get_bytes(f, "nobucket", "k", &status));
    assert_int_equal(status, STOR_ENOTFOUND);

    struct seen seen = {"", 0, 0};
    assert_int_equal(put_bytes(f, "demo", "dir/k", "x", &seen, &err), STOR_OK);
    assert_null(get_bytes(f, "demo", "missing", &status));
    assert_int_equal(status, STOR_ENOTFOUND);
    assert_null(get_bytes(f, "demo", "dir", &status)); /* a prefix is not an object */
    assert_int_equal(status, STOR_ENOTFOUND);
}

static void remove_deletes_and_prunes_empty_prefixes(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "x/y/z", "x", &seen, &err), STOR_OK);
    assert_int_equal(put_bytes(f, "demo", "keep", "x", &seen, &err), STOR_OK);
    assert_int_equal(local->remove(f->instance, "demo", "x/y/z", &err), STOR_OK);
    list(f, "", STOR_LIST_RECURSIVE, "keep ");
    list(f, "", 0, "keep ");
    assert_int_equal(local->remove(f->instance, "demo", "x/y/z", &err), STOR_ENOTFOUND);
    assert_int_equal(put_bytes(f, "demo", "p/q", "x", &seen, &err), STOR_OK);
    assert_int_equal(local->remove(f->instance, "demo", "p", &err), STOR_ENOTFOUND);
    assert_int_equal(local->remove(f->instance, "demo", "../keep", &err), STOR_EINVAL);
}

static void new_objects_follow_the_umask(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "mode", "x", &seen, &err), STOR_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/demo/mode", f->root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
}

static void target(void *context, const struct stor_upload_target *t)
{
    snprintf(context, 4096, "%s|%s", t->url, t->token ? t->token : "(none)");
}

static void upload_target_is_the_bucket_directory(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    char got[4096] = "", expected[4096];
    assert_int_equal(local->get_upload_target(f->instance, "demo", target, got, &err), STOR_ENOTFOUND);
    assert_int_equal(put_bytes(f, "demo", "k", "x", &seen, &err), STOR_OK);
    assert_int_equal(local->get_upload_target(f->instance, "demo", target, got, &err), STOR_OK);
    snprintf(expected, sizeof expected, "file://%s/demo/|(none)", f->root);
    assert_string_equal(got, expected);
}

static void unknown_options_are_refused_by_name(void **state)
{
    struct stor_option options[] = {{"root", "/tmp"}, {"colour", "blue"}};
    void *instance = NULL;
    struct stor_error err = {""};
    assert_int_equal(local->open(&fake_host, options, 2, &instance, &err), STOR_EINVAL);
    assert_null(instance);
    assert_non_null(strstr(err.message, "unknown option 'colour'"));
}

/* Links planted below the root — as a bucket, a key's directory or an object — are never
 * followed: nothing outside the root is read, written or removed through them. */
static void links_below_the_root_are_never_followed(void **state)
{
    struct fixture *f = *state;
    char *outside = test_mkdtemp(), path[4096], link[4096];
    snprintf(path, sizeof path, "%s/secret", outside);
    test_write_file(path, "outside", 7);
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "real", "x", &seen, &err), STOR_OK);

    snprintf(link, sizeof link, "%s/linked", f->root); /* a bucket that is a link */
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(put_bytes(f, "linked", "new", "x", &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "symbolic link"));
    enum stor_status status;
    assert_null(get_bytes(f, "linked", "secret", &status));
    assert_int_equal(status, STOR_ENOTFOUND);
    struct collected c = {""};
    assert_int_not_equal(local->list(f->instance, "linked", "", 0, collect, &c, &err), STOR_OK);
    assert_string_equal(c.keys, "");
    assert_int_equal(local->remove(f->instance, "linked", "secret", &err), STOR_ENOTFOUND);

    snprintf(link, sizeof link, "%s/demo/dir", f->root); /* a key's directory that is a link */
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(put_bytes(f, "demo", "dir/new", "x", &seen, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "symbolic link"));
    assert_null(get_bytes(f, "demo", "dir/secret", &status));
    assert_int_equal(status, STOR_ENOTFOUND);
    assert_int_equal(local->remove(f->instance, "demo", "dir/secret", &err), STOR_ENOTFOUND);
    assert_int_not_equal(local->list(f->instance, "demo", "dir/", 0, collect, &c, &err), STOR_OK);
    list(f, "", STOR_LIST_RECURSIVE, "real "); /* the link is not a prefix, nor walked */

    snprintf(link, sizeof link, "%s/demo/leaf", f->root); /* an object that is a link */
    assert_int_equal(symlink(path, link), 0);
    assert_null(get_bytes(f, "demo", "leaf", &status));
    assert_int_equal(status, STOR_ENOTFOUND);
    assert_int_equal(local->remove(f->instance, "demo", "leaf", &err), STOR_ENOTFOUND);
    assert_int_equal(put_bytes(f, "demo", "leaf", "stored", &seen, &err), STOR_OK);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode)); /* the link itself was replaced */

    char *kept = test_read_file(path, NULL);
    assert_string_equal(kept, "outside");
    free(kept);
    assert_int_equal(test_count_names(outside, "new"), 0);
    test_rmtree(outside);
    free(outside);
}

/* A FIFO planted as an object is not one: get says so at once instead of hanging in open. */
static void special_files_are_not_objects(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "real", "x", &seen, &err), STOR_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/demo/fifo", f->root);
    assert_int_equal(mkfifo(path, 0600), 0);
    enum stor_status status;
    assert_null(get_bytes(f, "demo", "fifo", &status));
    assert_int_equal(status, STOR_ENOTFOUND);
    assert_int_equal(local->remove(f->instance, "demo", "fifo", &err), STOR_ENOTFOUND);
    list(f, "", 0, "real ");
}

/* A put killed mid-write leaves no temporary file behind (it had no name yet). */
static void a_killed_put_leaves_nothing_behind(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[1]);
        struct stor_error err = {""};
        local->put(f->instance, "demo", "k", fds[0], NULL, NULL, &err);
        _exit(0);
    }
    close(fds[0]);
    char block[65536] = {0};
    assert_int_equal(write(fds[1], block, sizeof block), (ssize_t)sizeof block);
    for (int i = 0; i < 1000 && test_count_names(f->root, "demo") == 0; i++)
        usleep(2000); /* until the child has made the bucket and is writing */
    usleep(20000);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fds[1]);
    assert_int_equal(test_count_names(f->root, "demo"), 1);
    assert_int_equal(test_count_names(f->root, ".stor-tmp-"), 0);
    list(f, "", STOR_LIST_RECURSIVE, "");
}

/* An error about a long key keeps its reason: the middle of the message is elided instead of
 * its end cut off, and the cut never splits a UTF-8 character. */
static void a_long_key_does_not_hide_the_reason(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    char key[1024] = "a";
    assert_int_equal(put_bytes(f, "demo", key, "x", &seen, &err), STOR_OK);
    strcat(key, "/");
    while (strlen(key) < 900)
        strcat(key, "\xc3\xa9"); /* é */
    assert_int_equal(put_bytes(f, "demo", key, "x", &seen, &err), STOR_EINVAL);
    assert_true(strlen(err.message) < STOR_ERROR_MAX);
    assert_non_null(strstr(err.message, "..."));
    size_t length = strlen(err.message), suffix = strlen("a parent of it is an object");
    assert_string_equal(err.message + length - suffix, "a parent of it is an object");
    for (const unsigned char *c = (const unsigned char *)err.message; *c; c++)
        if (*c == 0xc3)
            assert_int_equal(c[1], 0xa9);
        else if (*c == 0xa9)
            assert_int_equal(c[-1], 0xc3);
}

/* get_ex: ranges, and resuming a partial file only when it holds the object's own first bytes. */
static void get_ex_serves_ranges_and_resumes(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {"", 0, 0};
    struct stor_error err = {""};
    assert_int_equal(put_bytes(f, "demo", "k", "0123456789", &seen, &err), STOR_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/.partial", f->root);
    test_write_file(path, "0123", 4);
    int fd = open(path, O_RDWR);
    struct stor_get_options resume = {.struct_size = sizeof resume, .offset = 4, .length = -1, .resume = 1};
    assert_int_equal(local->get_ex(f->instance, "demo", "k", &resume, fd, remember, &seen, &err), STOR_OK);
    close(fd);
    char *whole = test_read_file(path, NULL);
    assert_string_equal(whole, "0123456789");
    free(whole);
    assert_string_equal(seen.sha1, "87acec17cd9dcd20a716cc2cf67417b71c8a7016"); /* the whole one */
    test_write_file(path, "abcd", 4); /* another object's start */
    fd = open(path, O_RDWR);
    assert_int_equal(local->get_ex(f->instance, "demo", "k", &resume, fd, remember, &seen, &err), STOR_EIO);
    close(fd);
    assert_non_null(strstr(err.message, "cannot resume"));
    struct stor_get_options versioned = {.struct_size = sizeof versioned, .version_id = "v1", .length = -1};
    assert_int_equal(local->get_ex(f->instance, "demo", "k", &versioned, fd, remember, &seen, &err),
                     STOR_EUNSUPPORTED);
    unlink(path);
}

/* ---- ABI 3 ---- */

static enum stor_status put_ex_bytes(struct fixture *f, const char *key, const char *data,
                                     const struct stor_put_options *options, struct stor_error *err)
{
    test_write_file(f->scratch, data, strlen(data));
    int fd = open(f->scratch, O_RDONLY);
    assert_true(fd >= 0);
    struct seen seen = {"", 0, 0};
    enum stor_status status = local->put_ex(f->instance, "demo", key, options, fd, remember, &seen, err);
    close(fd);
    assert_int_equal(seen.calls, status == STOR_OK ? 1 : 0);
    return status;
}

struct stat_seen {
    int64_t mtime_ms, size;
    char id[80], sha1[41], content_type[64];
};

static int remember_stat(void *context, const struct stor_object *object)
{
    struct stat_seen *s = context;
    s->mtime_ms = object->mtime_ms;
    s->size = object->size;
    snprintf(s->id, sizeof s->id, "%s", object->id ? object->id : "");
    snprintf(s->sha1, sizeof s->sha1, "%s", object->sha1 ? object->sha1 : "");
    snprintf(s->content_type, sizeof s->content_type, "%s", object->content_type ? object->content_type : "");
    return 0;
}

/* put_ex keeps the source mtime it is given, the content type, headers and metadata; what local
 * cannot keep is refused by name, with the old object untouched; a SHA-1 that does not match the
 * bytes stores nothing. */
static void put_ex_keeps_mtime_and_refuses_the_rest_by_name(void **state)
{
    struct fixture *f = *state;
    struct stor_error err = {""};
    struct stor_put_options o = {.struct_size = sizeof o, .size = 3, .mtime_ms = 1500000000123,
                                 .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    assert_int_equal(put_ex_bytes(f, "k", "old", &o, &err), STOR_OK);
    struct stat_seen seen = {0};
    assert_int_equal(local->stat(f->instance, "demo", "k", NULL, remember_stat, &seen, &err), STOR_OK);
    assert_int_equal(seen.mtime_ms, 1500000000123);
    assert_int_equal(seen.size, 3);

    struct stor_option meta = {"colour", "blue"};
    struct stor_put_options typed = o;
    typed.content_type = "text/plain";
    typed.metadata = &meta;
    typed.metadata_count = 1;
    assert_int_equal(put_ex_bytes(f, "typed", "new", &typed, &err), STOR_OK);
    assert_int_equal(local->stat(f->instance, "demo", "typed", NULL, remember_stat, &seen, &err), STOR_OK);
    assert_string_equal(seen.content_type, "text/plain");
    assert_string_equal(seen.sha1, "c2a6b03f190dfb2b4aa91f8af8d477a9bc3401dc");
    struct stor_option bad = {"colour", "blue\r\nInjected: yes"};
    struct stor_put_options injected = o;
    injected.metadata = &bad;
    injected.metadata_count = 1;
    assert_int_equal(put_ex_bytes(f, "k", "new", &injected, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "control characters"));
    struct stor_put_options locked = o;
    locked.protection.retention_mode = "governance";
    assert_int_equal(put_ex_bytes(f, "k", "new", &locked, &err), STOR_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "retention"));
    struct stor_put_options hashed = o;
    hashed.sha1 = "0000000000000000000000000000000000000000";
    assert_int_equal(put_ex_bytes(f, "k", "new", &hashed, &err), STOR_EIO);
    assert_non_null(strstr(err.message, "SHA-1"));

    enum stor_status status;
    char *data = get_bytes(f, "demo", "k", &status);
    assert_string_equal(data, "old");
    free(data);
    assert_int_equal(test_count_names(f->root, ".stor-tmp"), 0);
    assert_int_equal(local->stat(f->instance, "demo", "nope", NULL, remember_stat, &seen, &err),
                     STOR_ENOTFOUND);
    assert_int_equal(local->stat(f->instance, "demo", "k", "v1", remember_stat, &seen, &err),
                     STOR_EUNSUPPORTED);
}

static int expect_start(void *context, const struct stor_object *object)
{
    snprintf(context, 80, "%s", object->id ? object->id : "");
    return 0;
}

/* A resumed get of a file replaced since the partial began is STOR_ESTALE, before a byte is
 * written; the same file resumes. */
static void a_resume_of_a_changed_object_is_stale(void **state)
{
    struct fixture *f = *state;
    struct stor_error err = {""};
    struct seen seen = {"", 0, 0};
    assert_int_equal(put_bytes(f, "demo", "r", "first content", &seen, &err), STOR_OK);
    char path[4200], started[80] = "";
    snprintf(path, sizeof path, "%s/.partial", f->root);
    test_write_file(path, "first", 5);
    int fd = open(path, O_RDWR);
    struct stor_get_options o = {.struct_size = sizeof o, .offset = 5, .length = -1, .resume = 1,
                                 .expected_id = "not-this-one", .on_start = expect_start,
                                 .start_context = started};
    assert_int_equal(local->get_ex(f->instance, "demo", "r", &o, fd, remember, &seen, &err),
                     STOR_ESTALE);
    assert_string_equal(started, ""); /* nothing began */
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 5);
    /* The id on_start reports is the one that resumes. */
    o = (struct stor_get_options){.struct_size = sizeof o, .length = -1, .on_start = expect_start,
                                  .start_context = started};
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(local->get_ex(f->instance, "demo", "r", &o, fd, remember, &seen, &err), STOR_OK);
    assert_true(started[0] != '\0');
    assert_int_equal(ftruncate(fd, 5), 0);
    o = (struct stor_get_options){.struct_size = sizeof o, .offset = 5, .length = -1, .resume = 1,
                                  .expected_id = started};
    assert_int_equal(local->get_ex(f->instance, "demo", "r", &o, fd, remember, &seen, &err), STOR_OK);
    close(fd);
    char *data = test_read_file(path, NULL);
    assert_string_equal(data, "first content");
    free(data);
}

struct names {
    char text[512];
};

static int remember_bucket(void *context, const struct stor_bucket *bucket)
{
    struct names *n = context;
    strcat(n->text, bucket->name);
    strcat(n->text, " ");
    return 0;
}

/* Buckets are the directories below the root: links and files there are not buckets; an
 * existing bucket is not made twice; a non-empty one is not deleted. */
static void buckets_are_directories_and_only_empty_ones_go(void **state)
{
    struct fixture *f = *state;
    struct stor_error err = {""};
    struct stor_bucket_options o = {.struct_size = sizeof o};
    assert_int_equal(local->create_bucket(f->instance, "b", &o, NULL, NULL, &err), STOR_OK);
    assert_int_equal(local->create_bucket(f->instance, "a", &o, NULL, NULL, &err), STOR_OK);
    assert_int_equal(local->create_bucket(f->instance, "a", &o, NULL, NULL, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "already exists"));
    assert_int_equal(local->create_bucket(f->instance, "..", &o, NULL, NULL, &err), STOR_EINVAL);
    struct stor_option setting = {"lifecycle", "7d"};
    struct stor_bucket_options set = {.struct_size = sizeof set, .settings = &setting, .setting_count = 1};
    assert_int_equal(local->create_bucket(f->instance, "c", &set, NULL, NULL, &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "'lifecycle'"));
    char link[4200], file[4200];
    snprintf(link, sizeof link, "%s/linked", f->root);
    assert_int_equal(symlink("/etc", link), 0);
    snprintf(file, sizeof file, "%s/file", f->root);
    test_write_file(file, "x", 1);
    struct names n = {""};
    assert_int_equal(local->list_buckets(f->instance, remember_bucket, &n, &err), STOR_OK);
    assert_string_equal(n.text, "a b ");

    struct seen seen = {"", 0, 0};
    assert_int_equal(put_bytes(f, "b", "k", "x", &seen, &err), STOR_OK);
    assert_int_equal(local->delete_bucket(f->instance, "b", &err), STOR_EINVAL);
    assert_non_null(strstr(err.message, "not empty"));
    assert_int_equal(local->delete_bucket(f->instance, "linked", &err), STOR_ENOTFOUND);
    assert_int_equal(access("/etc", F_OK), 0);
    assert_int_equal(local->delete_bucket(f->instance, "a", &err), STOR_OK);
    assert_int_equal(local->delete_bucket(f->instance, "a", &err), STOR_ENOTFOUND);
}

/* The attribute is believed only as far as it can prove: a listing reports the SHA-1 kept with a
 * file until the file changes; attributes planted or spoiled by other hands (not JSON, wrong
 * types, a SHA-1 for other bytes, nested too deep, too large) are ignored, never trusted. */
static int remember_listed(void *context, const struct stor_object *object)
{
    return object->is_prefix ? 0 : remember_stat(context, object);
}

static void kept_attributes_are_proved_or_ignored(void **state)
{
    struct fixture *f = *state;
    struct stor_error err = {""};
    struct seen seen = {"", 0, 0};
    assert_int_equal(put_bytes(f, "demo", "k", "kept bytes", &seen, &err), STOR_OK);
    struct stat_seen listed = {0};
    assert_int_equal(local->list(f->instance, "demo", "", STOR_LIST_RECURSIVE, remember_listed, &listed, &err), STOR_OK);
    assert_string_equal(listed.sha1, seen.sha1);
    char path[4200];
    snprintf(path, sizeof path, "%s/demo/k", f->root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char mtime[64], json[512];
    snprintf(mtime, sizeof mtime, "%lld.%09ld", (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    const char *spoiled[] = {
        "not json at all",
        "{\"sha1\": 12, \"size\": \"ten\", \"contentType\": [1]}",
        "[\"an\", \"array\"]",
        "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{}}}}}}}}}}",
        json, /* a SHA-1 of other bytes, but with the right size and time: believed (xattrs are
               * the owner's to write), so this one is checked to come back exactly */
    };
    snprintf(json, sizeof json, "{\"sha1\": \"%s\", \"size\": 10, \"mtime\": \"%s\", "
             "\"contentType\": \"text/x-planted\"}", "0123456789012345678901234567890123456789", mtime);
    for (size_t i = 0; i < sizeof spoiled / sizeof spoiled[0]; i++) {
        assert_int_equal(setxattr(path, "user.stor.object", spoiled[i], strlen(spoiled[i]), 0), 0);
        struct stat_seen s = {0};
        assert_int_equal(local->stat(f->instance, "demo", "k", NULL, remember_stat, &s, &err), STOR_OK);
        assert_int_equal(s.size, 10);
        if (spoiled[i] == json) {
            assert_string_equal(s.sha1, "0123456789012345678901234567890123456789");
            assert_string_equal(s.content_type, "text/x-planted");
        } else {
            assert_string_equal(s.sha1, "");
            assert_string_equal(s.content_type, "");
        }
    }
    /* A SHA-1 recorded for another time: the file changed since, so no SHA-1. */
    snprintf(json, sizeof json, "{\"sha1\": \"%s\", \"size\": 10, \"mtime\": \"1.000000000\"}", seen.sha1);
    assert_int_equal(setxattr(path, "user.stor.object", json, strlen(json), 0), 0);
    struct stat_seen s = {0};
    assert_int_equal(local->stat(f->instance, "demo", "k", NULL, remember_stat, &s, &err), STOR_OK);
    assert_string_equal(s.sha1, "");
    /* Larger than the backend ever writes: not read at all. */
    char big[6000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"sha1\":1}", 10);
    if (setxattr(path, "user.stor.object", big, sizeof big, 0) == 0) {
        assert_int_equal(local->stat(f->instance, "demo", "k", NULL, remember_stat, &s, &err), STOR_OK);
        assert_string_equal(s.sha1, "");
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(put_then_get_round_trips_with_sha1),
        T(empty_object_round_trips),
        T(put_replaces_the_previous_object),
        T(failed_write_keeps_the_old_object),
        T(cancelled_write_keeps_the_old_object),
        T(put_streams_from_a_pipe),
        T(keys_that_escape_are_refused),
        T(object_and_prefix_cannot_collide),
        T(listing_is_sorted_by_bytes_one_level_or_all),
        T(missing_bucket_and_object_are_not_found),
        T(remove_deletes_and_prunes_empty_prefixes),
        T(new_objects_follow_the_umask),
        T(upload_target_is_the_bucket_directory),
        T(links_below_the_root_are_never_followed),
        T(special_files_are_not_objects),
        T(a_killed_put_leaves_nothing_behind),
        T(a_long_key_does_not_hide_the_reason),
        T(get_ex_serves_ranges_and_resumes),
        T(put_ex_keeps_mtime_and_refuses_the_rest_by_name),
        T(a_resume_of_a_changed_object_is_stale),
        T(buckets_are_directories_and_only_empty_ones_go),
        T(kept_attributes_are_proved_or_ignored),
        cmocka_unit_test(unknown_options_are_refused_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
