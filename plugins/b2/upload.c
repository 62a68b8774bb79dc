/* plugins/b2/upload.c — put (b2_upload_file) and get_upload_target: stream a file descriptor to
 * an upload target from the pool, with SHA-1, through the attempt loop (upload_loop.c). */
#include "operations.h"

#include "auth.h"
#include "file_info.h"
#include "instance.h"
#include "large_file.h"
#include "names.h"
#include "objects.h"
#include "pool.h"
#include "sha1.h"
#include "sp_host.h"
#include "sp_http.h"
#include "upload_loop.h"
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A pipe's bytes are kept in memory up to this much, then spooled to an unlinked temp file. */
#define B2_PIPE_MEMORY_MAX (8u << 20)
/* A regular file up to this size is read once into memory, then hashed and sent from there. */
#define B2_SMALL_FILE_MEMORY (64u << 10)

static void source_free(struct b2_upload_source *source)
{
    free(source->memory);
    if (source->spool_fd >= 0)
        close(source->spool_fd);
}

static int write_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t wrote = write(fd, data, size);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            return -1;
        data += wrote;
        size -= (size_t)wrote;
    }
    return 0;
}

static int open_spool(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char *path;
    if (asprintf(&path, "%s/stor-b2-spool-XXXXXX", dir) < 0)
        return -1;
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    free(path);
    return fd;
}

/* Read a pipe to its end: into memory while short, else into an unlinked spool file. Above the
 * cutoff stop: what was read is the start of a large file whose rest comes from fd. A pipe whose
 * size the caller stated beyond what memory holds (a copy between two places) never spools: it
 * becomes a large file in parts as soon as memory is full. */
static enum stor_status spool_pipe(struct b2_plugin *plugin, const char *key, int fd,
                                   int stated_large, struct b2_upload_source *source,
                                   struct stor_error *err)
{
    size_t capacity = 64 << 10;
    source->memory = malloc(capacity);
    if (!source->memory)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    char *chunk = source->memory;
    for (;;) {
        if (sp_cancelled(plugin->host))
            return stor_fail(err, STOR_ECANCELLED, "%s: cancelled", key);
        if (source->spool_fd < 0 && (size_t)source->length == capacity) {
            if (capacity >= B2_PIPE_MEMORY_MAX && stated_large) {
                source->rest_fd = fd; /* the rest streams into parts (large_file.c) */
                break;
            }
            if (capacity < B2_PIPE_MEMORY_MAX) {
                char *grown = realloc(source->memory, capacity * 2);
                if (!grown)
                    return stor_fail(err, STOR_EINTERNAL, "out of memory");
                source->memory = grown;
                capacity *= 2;
            } else {
                source->spool_fd = open_spool();
                if (source->spool_fd < 0 ||
                    write_all(source->spool_fd, source->memory, (size_t)source->length) != 0)
                    return stor_fail(err, STOR_EIO, "%s: cannot spool standard input to a "
                                     "temporary file: %s", key, strerror(errno));
            }
        }
        size_t room = source->spool_fd >= 0 ? capacity : capacity - (size_t)source->length;
        chunk = source->spool_fd >= 0 ? source->memory : source->memory + source->length;
        ssize_t got = read(fd, chunk, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return stor_fail(err, STOR_EIO, "%s: reading the input failed: %s", key, strerror(errno));
        if (got == 0)
            break;
        if (source->spool_fd >= 0 && write_all(source->spool_fd, chunk, (size_t)got) != 0)
            return stor_fail(err, STOR_EIO, "%s: writing the spool file failed: %s", key,
                             strerror(errno));
        source->length += got;
        if (b2_wants_large(plugin, source->length)) {
            source->rest_fd = fd; /* the rest streams into parts (large_file.c) */
            break;
        }
    }
    if (source->spool_fd >= 0) {
        free(source->memory);
        source->memory = NULL;
        source->fd = source->spool_fd;
        source->offset = 0;
    }
    return STOR_OK;
}

/* Read a small file's content into memory and hash it: one pread instead of one to hash and one
 * to send, and the bytes sent are the bytes hashed. */
static enum stor_status read_small_file(const char *key, struct b2_upload_source *source,
                                        const char *trusted_sha1, struct stor_error *err)
{
    source->memory = malloc(source->length > 0 ? (size_t)source->length : 1);
    if (!source->memory)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    for (int64_t done = 0; done < source->length;) {
        ssize_t got = pread(source->fd, source->memory + done, (size_t)(source->length - done),
                            source->offset + done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return stor_fail(err, STOR_EIO, "%s: reading the input failed: %s", key,
                             got == 0 ? "the file shrank" : strerror(errno));
        done += got;
    }
    source->fd = -1; /* the content is in memory now */
    if (trusted_sha1[0])
        return STOR_OK; /* the caller's SHA-1 goes out: B2 checks it against these bytes */
    struct b2_sha1 sha1;
    if (b2_sha1_init(&sha1) != 0)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    b2_sha1_update(&sha1, source->memory, (size_t)source->length);
    b2_sha1_final(&sha1, source->sha1);
    return STOR_OK;
}

/* The bytes of fd as an upload source, hashed unless trusted_sha1 (the caller's, or "") is
 * given: then that SHA-1 is sent, and B2, which hashes what it receives, refuses a wrong one. */
static enum stor_status prepare_source(struct b2_plugin *plugin, const char *key, int fd,
                                       const char *trusted_sha1, int stated_large,
                                       struct b2_upload_source *source, struct stor_error *err)
{
    struct stat info;
    memset(source, 0, sizeof *source);
    source->fd = -1;
    source->spool_fd = -1;
    source->rest_fd = -1;
    source->mtime_ms = -1;
    if (fstat(fd, &info) != 0)
        return stor_fail(err, STOR_EIO, "%s: cannot stat the input: %s", key, strerror(errno));
    if (!S_ISREG(info.st_mode)) {
        enum stor_status status = spool_pipe(plugin, key, fd, stated_large, source, err);
        if (status == STOR_OK && trusted_sha1[0] && source->rest_fd < 0) {
            snprintf(source->sha1, sizeof source->sha1, "%s", trusted_sha1);
            source->sha1_trusted = 1;
        }
        return status;
    }
    off_t position = lseek(fd, 0, SEEK_CUR);
    if (position < 0)
        position = 0;
    source->fd = fd;
    source->offset = position;
    source->length = info.st_size > position ? info.st_size - position : 0;
    source->mtime_ms = (int64_t)info.st_mtim.tv_sec * 1000 + info.st_mtim.tv_nsec / 1000000;
    if (b2_wants_large(plugin, source->length))
        return STOR_OK; /* hashed part by part by large_file.c */
    if (trusted_sha1[0]) {
        snprintf(source->sha1, sizeof source->sha1, "%s", trusted_sha1);
        source->sha1_trusted = 1;
    }
    if (source->length <= B2_SMALL_FILE_MEMORY)
        return read_small_file(key, source, trusted_sha1, err);
    if (source->sha1_trusted)
        return STOR_OK;
    if (b2_sha1_of_fd(fd, source->offset, source->length, source->sha1) != 0)
        return stor_fail(err, STOR_EIO, "%s: reading the input failed: %s", key, strerror(errno));
    return STOR_OK;
}

/* ---- a whole file through the bucket's pool (b2_upload_file) ---- */

struct file_upload {
    const char *bucket;
    char bucket_id[128]; /* of the target last leased: the answer must name it */
    const char *key;
    char *encoded_name;
    int64_t length;
    int64_t mtime_ms;           /* stored as src_last_modified_millis, -1 for none */
    const struct b2_put_meta *meta;
    stor_object_fn on_result;
    void *context;
};

static enum stor_status lease_from_bucket(struct b2_plugin *plugin, void *context, int fresh,
                                          struct b2_target *target, struct stor_error *err)
{
    struct file_upload *file = context;
    enum stor_status status = b2_lease_for_bucket(plugin, file->bucket, fresh, target, err);
    if (status == STOR_OK)
        snprintf(file->bucket_id, sizeof file->bucket_id, "%s", target->bucket_id);
    return status;
}

static void return_to_bucket_pool(struct b2_plugin *plugin, void *context, struct b2_target *target)
{
    (void)context;
    b2_pool_return(plugin, target);
}

static int file_headers(struct b2_plugin *plugin, void *context, char **lines, size_t max_lines)
{
    (void)plugin;
    const struct file_upload *file = context;
    size_t count = 0;
    int failed = sp_http_add_header_line(lines, &count, max_lines, "X-Bz-File-Name: %s", file->encoded_name) ||
                 b2_put_meta_headers(file->meta, lines, &count, max_lines);
    if (failed) {
        sp_http_free_header_lines(lines, count);
        return -1;
    }
    return (int)count;
}

static const char *stored_sha1(const struct b2_file *file)
{
    const char *stored = file->content_sha1 ? file->content_sha1 : "";
    return strncmp(stored, "unverified:", 11) == 0 ? stored + 11 : stored;
}

static void report_stored(const struct file_upload *upload, const struct b2_file *file,
                          const char *sent_sha1)
{
    struct stor_object object = b2_file_object(file, sent_sha1);
    if (upload->on_result)
        upload->on_result(upload->context, &object);
}

/* The stored file as B2 reported it, checked against what we sent. */
static enum stor_status accept_file(struct b2_plugin *plugin, void *context,
                                    const struct sp_http_response *response,
                                    const char *sent_sha1, struct stor_error *err)
{
    (void)plugin;
    const struct file_upload *upload = context;
    char why[B2_WHY_MAX] = "";
    struct b2_file file;
    json_object *root = b2_wire_parse(response->body, response->body_length, why);
    enum stor_status status = STOR_OK;
    if (!root || b2_wire_file(root, &file, why) != 0 || !file.file_id) {
        if (root && !why[0])
            snprintf(why, sizeof why, "field fileId is missing");
        status = stor_fail(err, STOR_EINTERNAL, "b2_upload_file: B2's answer is malformed: %s", why);
    } else if (strcmp(file.file_name, upload->key) != 0 ||
               (file.bucket_id && strcmp(file.bucket_id, upload->bucket_id) != 0)) {
        char name[160]; /* a server's text, printed escaped by the host */
        snprintf(name, sizeof name, "%s", file.file_name);
        status = stor_fail(err, STOR_EIO, "%s: B2's answer names another file than was uploaded "
                           "(%s '%s'): not taken as stored", upload->key,
                           strcmp(file.file_name, upload->key) != 0 ? "name" : "bucket id",
                           strcmp(file.file_name, upload->key) != 0 ? name : file.bucket_id);
    } else if (strcmp(stored_sha1(&file), sent_sha1) != 0 || file.content_length != upload->length) {
        status = stor_fail(err, STOR_EIO,
                           "%s: B2 stored %lld bytes with SHA-1 %.40s, but %lld bytes with SHA-1 "
                           "%s were sent", upload->key, (long long)file.content_length,
                           stored_sha1(&file), (long long)upload->length, sent_sha1);
    } else {
        report_stored(upload, &file, sent_sha1);
    }
    json_object_put(root);
    return status;
}

/* Stored after all if the name's current version holds what we sent, with our mtime. An
 * identical version stored earlier is taken for ours too: either way the name now holds exactly
 * these bytes. */
static int find_stored_file(struct b2_plugin *plugin, void *context, const char *sent_sha1)
{
    const struct file_upload *upload = context;
    json_object *answer, *entry;
    struct stor_error ignored;
    if (b2_current_version(plugin, upload->bucket, upload->key, &answer, &entry, &ignored) != STOR_OK)
        return 0;
    struct b2_file file;
    char why[B2_WHY_MAX];
    int found = b2_wire_file(entry, &file, why) == 0 && strcmp(stored_sha1(&file), sent_sha1) == 0 &&
                file.content_length == upload->length &&
                file.src_last_modified_millis == upload->mtime_ms;
    if (found) {
        sp_log(plugin->host, STOR_LOG_INFO, "%s: the answer was lost, but B2 has stored it; not "
               "uploading it again", upload->key);
        report_stored(upload, &file, sent_sha1);
    }
    json_object_put(answer);
    return found;
}

static enum stor_status file_refused(void *context, const struct b2_failure *failure,
                                     enum stor_status status, struct stor_error *err)
{
    const struct file_upload *upload = context;
    return b2_lock_refused(upload->meta, upload->bucket, upload->key, failure, status, err);
}

/* The size and mtime fstat gives a regular file from its current position (-1: not one). */
static void measure(int fd, int64_t *length, int64_t *mtime_ms)
{
    struct stat info;
    *length = *mtime_ms = -1;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))
        return;
    off_t position = lseek(fd, 0, SEEK_CUR);
    if (position < 0)
        position = 0;
    *length = info.st_size > position ? info.st_size - position : 0;
    *mtime_ms = (int64_t)info.st_mtim.tv_sec * 1000 + info.st_mtim.tv_nsec / 1000000;
}

enum stor_status b2_put_ex(void *instance, const char *bucket, const char *key,
                           const struct stor_put_options *options, int fd,
                           stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    const char *problem = b2_file_name_problem(key);
    if (problem)
        return stor_fail(err, STOR_EINVAL, "%s: %s", key, problem);
    /* Everything B2 would refuse is refused here, before a request: a regular file above the
     * cutoff gets a large_file_sha1 entry besides (a pipe's large stream never does). */
    int64_t length, mtime_ms;
    measure(fd, &length, &mtime_ms);
    /* A pipe of a stated size beyond memory (a copy between two places) goes up in parts: never
     * through a spool file of its size. */
    int64_t stated = options && options->struct_size >= offsetof(struct stor_put_options, size) +
                                                            sizeof options->size
                         ? options->size
                         : -1;
    int stated_large = length < 0 && stated > (int64_t)B2_PIPE_MEMORY_MAX;
    struct b2_put_meta meta;
    enum stor_status status = b2_put_meta_build(
        plugin, key, options, mtime_ms,
        (length >= 0 && b2_wants_large(plugin, length)) || stated_large, &meta, err);
    if (status != STOR_OK)
        return status;
    status = b2_auth_check_name(plugin, bucket, key, err);
    if (status != STOR_OK) {
        b2_put_meta_free(&meta);
        return status;
    }
    struct b2_upload_source source;
    status = prepare_source(plugin, key, fd, meta.sha1, stated_large, &source, err);
    struct file_upload file = {.bucket = bucket, .key = key, .length = source.length,
                               .mtime_ms = meta.mtime_ms, .meta = &meta, .on_result = on_result,
                               .context = context};
    if (status == STOR_OK && (source.rest_fd >= 0 || b2_wants_large(plugin, source.length))) {
        status = source.rest_fd >= 0
                     ? b2_put_large_stream(plugin, bucket, key, &source, &meta,
                                           stated_large ? stated : -1, on_result, context, err)
                     : b2_put_large(plugin, bucket, key, &source, &meta, on_result, context, err);
        source_free(&source);
        b2_put_meta_free(&meta);
        return status;
    }
    if (status == STOR_OK && !(file.encoded_name = b2_percent_encode(key)))
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    if (status == STOR_OK) {
        struct b2_upload_job job = {.label = key, .source = &source, .lease = lease_from_bucket,
                                 .give_back = return_to_bucket_pool, .headers = file_headers,
                                 .accept = accept_file, .find_stored = find_stored_file,
                                 .refused = file_refused, .context = &file};
        status = b2_upload_through_targets(plugin, &job, err);
    }
    free(file.encoded_name);
    source_free(&source);
    b2_put_meta_free(&meta);
    return status;
}

enum stor_status b2_put(void *instance, const char *bucket, const char *key, int fd,
                        stor_object_fn on_result, void *context, struct stor_error *err)
{
    return b2_put_ex(instance, bucket, key, NULL, fd, on_result, context, err);
}

enum stor_status b2_get_upload_target(void *instance, const char *bucket,
                                      stor_upload_target_fn on_target, void *context,
                                      struct stor_error *err)
{
    struct b2_plugin *plugin = instance;
    struct b2_target target;
    enum stor_status status = b2_lease_for_bucket(plugin, bucket, 0, &target, err);
    if (status != STOR_OK)
        return status;
    /* Handed over for good: never returned to the pool, so stor never uses it concurrently. */
    struct stor_upload_target handed = {
        .bucket_id = target.bucket_id,
        .url = target.url,
        .token = target.token,
        .expires_at_ms = target.issued_at_ms + B2_TOKEN_LIFE_MS,
    };
    if (on_target)
        on_target(context, &handed);
    b2_target_free(&target);
    return STOR_OK;
}
