/* local.c — the local backend: a bucket is a directory under a root, a key a file path below it.
 * Writes are atomic (temporary file, fsync, rename), so no reader ever sees half an object; every
 * path below the root is walked without following links (beneath.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrs.h"
#include "beneath.h"
#include "stor/plugin.h"

#define TEMP_PREFIX LOCAL_TEMP_PREFIX
#define COPY_BUFFER (256 * 1024)
#define MAX_KEY LOCAL_MAX_KEY

struct local {
    const struct stor_host *host;
    char root[PATH_MAX];
    mode_t file_mode; /* 0666 less the umask, as a plain file creation would give */
};

static enum stor_status errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return STOR_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return STOR_EAUTH;
    default:
        return STOR_EIO;
    }
}

static int has_control_char(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 32 || *s == 127)
            return 1;
    return 0;
}

static enum stor_status check_bucket(const char *bucket, struct stor_error *err)
{
    if (!bucket[0] || strlen(bucket) > 255 || strchr(bucket, '/') || strcmp(bucket, ".") == 0 ||
        strcmp(bucket, "..") == 0 || has_control_char(bucket))
        return stor_fail(err, STOR_EINVAL,
                         "invalid bucket name '%s': no '/', control characters, '.' or '..'",
                         bucket);
    return STOR_OK;
}

/* A key is a relative path that stays inside its bucket: no empty, "." or ".." segments, no
 * leading or trailing '/', no control characters, and never one of our temporary names. */
static enum stor_status check_key_path(const char *key, int allow_trailing_slash,
                                       struct stor_error *err)
{
    size_t len = strlen(key);
    if (len > MAX_KEY)
        return stor_fail(err, STOR_EINVAL, "invalid key: longer than %d bytes", MAX_KEY);
    if (has_control_char(key))
        return stor_fail(err, STOR_EINVAL, "invalid key '%s': control characters", key);
    if (key[0] == '/')
        return stor_fail(err, STOR_EINVAL, "invalid key '%s': absolute paths are refused", key);
    const char *segment = key;
    while (*segment) {
        const char *end = strchr(segment, '/');
        size_t n = end ? (size_t)(end - segment) : strlen(segment);
        if (n == 0)
            return stor_fail(err, STOR_EINVAL, "invalid key '%s': empty path segment", key);
        if ((n == 1 && segment[0] == '.') || (n == 2 && segment[0] == '.' && segment[1] == '.'))
            return stor_fail(err, STOR_EINVAL, "invalid key '%s': '.' and '..' would escape the bucket", key);
        if (strncmp(segment, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0)
            return stor_fail(err, STOR_EINVAL, "invalid key '%s': names starting with %s are reserved", key, TEMP_PREFIX);
        if (!end)
            break;
        segment = end + 1;
        if (!*segment && !allow_trailing_slash)
            return stor_fail(err, STOR_EINVAL, "invalid key '%s': ends with '/'", key);
    }
    return STOR_OK;
}

static enum stor_status check_key(const char *key, struct stor_error *err)
{
    if (!key[0])
        return stor_fail(err, STOR_EINVAL, "invalid key: empty");
    return check_key_path(key, 0, err);
}

static enum stor_status check_names(const char *bucket, const char *key, struct stor_error *err)
{
    enum stor_status status = check_bucket(bucket, err);
    return status == STOR_OK && key ? check_key(key, err) : status;
}

static size_t dirs_length(const char *key) /* "a/b/c" -> 4, the length of "a/b/" */
{
    const char *slash = strrchr(key, '/');
    return slash ? (size_t)(slash - key) + 1 : 0;
}

/* Why a walk to bucket/key's directory failed, as one error; `doing` is "store", "read"... */
static enum stor_status walk_failed(const struct local *self, const struct local_chain *chain,
                                    const char *bucket, const char *key, const char *doing,
                                    struct stor_error *err)
{
    int e = errno;
    if (chain->link)
        return stor_fail(err, strcmp(doing, "store") == 0 ? STOR_EINVAL : STOR_ENOTFOUND,
                         "cannot %s %s/%s: a symbolic link below %s stands in its path, and "
                         "links below the root are never followed",
                         doing, bucket, key ? key : "", self->root);
    if (chain->depth <= 1 && (e == ENOENT || e == ENOTDIR))
        return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s' under %s", bucket, self->root);
    if (e == ENOTDIR && strcmp(doing, "store") == 0)
        return stor_fail(err, STOR_EINVAL, "cannot store %s/%s: a parent of it is an object",
                         bucket, key);
    if (e == ENOENT || e == ENOTDIR)
        return stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key ? key : "");
    return stor_fail(err, errno_status(e), "cannot %s %s/%s: %s", doing, bucket, key ? key : "",
                     strerror(e));
}

static void sha1_hex(const unsigned char digest[20], char hex[41])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[40] = '\0';
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies up to limit bytes of in to out (until EOF), hashing into sha as it goes; reports
 * progress and honours cancellation. Returns STOR_OK or a status with err filled; `what` names
 * the object in messages. */
static enum stor_status copy_some(const struct local *self, int in, int out, const char *what,
                                  uint64_t limit, uint64_t total, EVP_MD_CTX *sha,
                                  uint64_t *copied, struct stor_error *err)
{
    char *buf = malloc(COPY_BUFFER);
    if (!buf)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    enum stor_status status = STOR_OK;
    uint64_t done = 0;
    while (done < limit) {
        if (self->host->cancelled(self->host)) {
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", what);
            break;
        }
        ssize_t n = read(in, buf, limit - done < COPY_BUFFER ? (size_t)(limit - done) : COPY_BUFFER);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            status = stor_fail(err, STOR_EIO, "%s: read failed: %s", what, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (write_all(out, buf, (size_t)n) != 0) {
            status = stor_fail(err, errno == ENOSPC ? STOR_EIO : errno_status(errno),
                               "%s: write failed: %s", what, strerror(errno));
            break;
        }
        EVP_DigestUpdate(sha, buf, (size_t)n);
        done += (uint64_t)n;
        self->host->progress(self->host, what, done, total);
    }
    free(buf);
    *copied = done;
    return status;
}

static EVP_MD_CTX *sha1_start(void)
{
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    if (sha && !EVP_DigestInit_ex(sha, EVP_sha1(), NULL)) {
        EVP_MD_CTX_free(sha);
        sha = NULL;
    }
    return sha;
}

static void sha1_finish(EVP_MD_CTX *sha, char hex[41])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    EVP_DigestFinal_ex(sha, digest, NULL);
    EVP_MD_CTX_free(sha);
    sha1_hex(digest, hex);
}

/* Copies all of in to out, hashing it: put's and a whole get's copy. */
static enum stor_status copy_stream(const struct local *self, int in, int out, const char *what,
                                    uint64_t total, char sha1[41], uint64_t *copied,
                                    struct stor_error *err)
{
    EVP_MD_CTX *sha = sha1_start();
    if (!sha)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    enum stor_status status = copy_some(self, in, out, what, UINT64_MAX, total, sha, copied, err);
    sha1_finish(sha, sha1);
    return status;
}

/* What tells one content of a file from the next, without reading it: inode, modification time
 * and size. A resumed get compares it (expected_id) before writing a byte. */
static void file_identity(const struct stat *st, char out[80])
{
    snprintf(out, 80, "%llx-%llx.%09ld-%llx", (unsigned long long)st->st_ino,
             (unsigned long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec,
             (unsigned long long)st->st_size);
}

static struct stor_object describe(const char *key, const struct stat *st, const char *sha1,
                                   const char *id)
{
    return (struct stor_object){
        .key = key,
        .size = st->st_size,
        .mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000,
        .sha1 = sha1,
        .id = id,
        .upload_ms = -1,
        .protection = {.retain_until_ms = -1, .legal_hold = -1},
    };
}

static void report(const char *key, const struct stat *st, const char *sha1, stor_object_fn fn,
                   void *context)
{
    char id[80];
    file_identity(st, id);
    struct stor_object object = describe(key, st, sha1, id);
    if (fn)
        fn(context, &object);
}

/* The same with what the file's attribute keeps (its SHA-1 while still true, and metadata). */
static void report_kept(int fd, const char *key, const struct stat *st, stor_object_fn fn,
                        void *context)
{
    struct local_attrs a;
    local_attrs_read(fd, -1, NULL, st, &a);
    char id[80];
    file_identity(st, id);
    struct stor_object object = describe(key, st, NULL, id);
    local_attrs_fill(&a, &object);
    if (fn)
        fn(context, &object);
    local_attrs_free(&a);
}

/* put and put_ex: mtime_ms (-1: the source file's own, if it is one) becomes the file's
 * modification time; a given sha1 must match what was read, or nothing is stored. The SHA-1 and
 * what options keep go into the file's attribute before it is renamed into place. */
static enum stor_status store(struct local *self, const char *bucket, const char *key, int fd,
                              const struct stor_put_options *options, stor_object_fn on_result,
                              void *context, struct stor_error *err)
{
    int64_t mtime_ms = options ? options->mtime_ms : -1;
    const char *expected_sha1 = options ? options->sha1 : NULL;
    enum stor_status status = check_names(bucket, key, err);
    if (status != STOR_OK)
        return status;
    struct local_chain chain;
    if (local_chain_open(&chain, self->root, bucket, key, dirs_length(key), 1) != 0) {
        status = walk_failed(self, &chain, bucket, key, "store", err);
        local_chain_close(&chain);
        return status;
    }
    int dir = local_chain_last(&chain);
    const char *leaf = key + dirs_length(key);
    struct stat st;
    struct local_temp temp = {.fd = -1};
    if (fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        status = stor_fail(err, STOR_EINVAL, "cannot store %s/%s: it is a prefix of other keys",
                           bucket, key);
    else if (local_temp_create(&temp, dir) != 0)
        status = stor_fail(err, errno_status(errno), "cannot store %s/%s: %s", bucket, key,
                           strerror(errno));
    if (status != STOR_OK) {
        local_chain_close(&chain);
        return status;
    }

    uint64_t total = 0, copied = 0;
    struct stat in_st = {0};
    if (fstat(fd, &in_st) == 0 && S_ISREG(in_st.st_mode)) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        total = (uint64_t)(in_st.st_size - (pos > 0 ? pos : 0));
    }
    char sha1[41];
    status = copy_stream(self, fd, temp.fd, key, total, sha1, &copied, err);
    if (status == STOR_OK && expected_sha1 && strcasecmp(expected_sha1, sha1) != 0)
        status = stor_fail(err, STOR_EIO, "cannot store %s/%s: the source's SHA-1 is %s, not the "
                           "%.40s it was said to have", bucket, key, sha1, expected_sha1);
    if (status == STOR_OK && (mtime_ms >= 0 || S_ISREG(in_st.st_mode))) {
        /* Keep the source's modification time, as B2's src_last_modified_millis does: ls shows
         * when the data changed, and sync can compare without hashing. */
        struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, in_st.st_mtim};
        if (mtime_ms >= 0)
            times[1] = (struct timespec){.tv_sec = mtime_ms / 1000,
                                         .tv_nsec = (mtime_ms % 1000) * 1000000};
        futimens(temp.fd, times);
    }
    char why[256];
    if (status == STOR_OK && (fstat(temp.fd, &st) != 0 ||
                              local_attrs_write(temp.fd, options, sha1, &st, why, sizeof why) != 0) &&
        local_attrs_wanted(options)) /* the SHA-1 alone is kept where it can be */
        status = stor_fail(err, errno == EINVAL ? STOR_EINVAL : STOR_EUNSUPPORTED,
                           "cannot store %s/%s with its metadata: %s", bucket, key, why);
    if (status == STOR_OK && (fchmod(temp.fd, self->file_mode) != 0 || fsync(temp.fd) != 0))
        status = stor_fail(err, STOR_EIO, "cannot store %s/%s: %s", bucket, key, strerror(errno));
    if (status == STOR_OK && local_temp_commit(&temp, dir, leaf) != 0)
        status = stor_fail(err, errno == EISDIR ? STOR_EINVAL : errno_status(errno),
                           "cannot store %s/%s: %s", bucket, key, strerror(errno));
    if (status == STOR_OK) {
        fsync(dir); /* the rename is durable only once the directory entry is on disk */
        if (fstat(temp.fd, &st) != 0)
            status = stor_fail(err, STOR_EIO, "stored %s/%s but cannot stat it: %s", bucket, key,
                               strerror(errno));
    }
    if (status == STOR_OK)
        report_kept(temp.fd, key, &st, on_result, context);
    local_temp_discard(&temp, dir);
    local_chain_close(&chain);
    return status;
}

static enum stor_status local_put(void *instance, const char *bucket, const char *key, int fd,
                                  stor_object_fn on_result, void *context, struct stor_error *err)
{
    return store(instance, bucket, key, fd, NULL, on_result, context, err);
}

/* The first put_ex field the local backend cannot keep, or NULL. */
static const char *unkept_field(const struct stor_put_options *o)
{
    return o->protection.encryption ? "encryption"
           : o->protection.retention_mode || o->protection.retain_until_ms >= 0 ? "retention"
           : o->protection.legal_hold >= 0 ? "legal-hold"
                                           : NULL;
}

static enum stor_status local_put_ex(void *instance, const char *bucket, const char *key,
                                     const struct stor_put_options *options, int fd,
                                     stor_object_fn on_result, void *context,
                                     struct stor_error *err)
{
    struct stor_put_options o = {.size = -1, .mtime_ms = -1,
                                 .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    if (options)
        memcpy(&o, options, options->struct_size < sizeof o ? options->struct_size : sizeof o);
    const char *field = unkept_field(&o);
    if (field)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend local does not keep %s (it keeps the "
                         "bytes, the modification time, the content type, headers and metadata)",
                         field);
    if (o.sha1 && strlen(o.sha1) != 40)
        return stor_fail(err, STOR_EINVAL, "put_ex: sha1 must be 40 hex digits");
    return store(instance, bucket, key, fd, &o, on_result, context, err);
}


/* Opens the directory holding bucket/key (the bucket itself when key is NULL) without creating
 * anything; on failure err says why and the chain is closed. */
static enum stor_status open_existing(const struct local *self, const char *bucket,
                                      const char *key, const char *doing,
                                      struct local_chain *chain, struct stor_error *err)
{
    enum stor_status status = check_names(bucket, key, err);
    if (status == STOR_OK &&
        local_chain_open(chain, self->root, bucket, key, key ? dirs_length(key) : 0, 0) != 0) {
        status = walk_failed(self, chain, bucket, key, doing, err);
        local_chain_close(chain);
    }
    return status;
}

/* Opens bucket/key for reading: a regular file below the root, never through a link. */
static enum stor_status open_object(const struct local *self, const char *bucket, const char *key,
                                    int *in, struct stat *st, struct stor_error *err)
{
    struct local_chain chain;
    enum stor_status status = open_existing(self, bucket, key, "read", &chain, err);
    if (status != STOR_OK)
        return status;
    /* O_NONBLOCK: a FIFO planted as an object must not hang the open; it is refused below. */
    *in = openat(local_chain_last(&chain), key + dirs_length(key),
                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    local_chain_close(&chain);
    if (*in < 0 || fstat(*in, st) != 0 || !S_ISREG(st->st_mode)) {
        int e = *in < 0 ? errno : ENOENT;
        if (*in >= 0)
            close(*in);
        if (e == ENOENT || e == ENOTDIR || e == EISDIR || e == ELOOP)
            return stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
        return stor_fail(err, errno_status(e), "cannot read %s/%s: %s", bucket, key, strerror(e));
    }
    fcntl(*in, F_SETFL, fcntl(*in, F_GETFL) & ~O_NONBLOCK);
    return STOR_OK;
}

static enum stor_status local_get(void *instance, const char *bucket, const char *key, int fd,
                                  stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct local *self = instance;
    int in;
    struct stat st;
    enum stor_status status = open_object(self, bucket, key, &in, &st, err);
    if (status != STOR_OK)
        return status;
    char sha1[41];
    uint64_t copied;
    status = copy_stream(self, in, fd, key, (uint64_t)st.st_size, sha1, &copied, err);
    close(in);
    if (status == STOR_OK && copied != (uint64_t)st.st_size)
        status = stor_fail(err, STOR_EIO, "%s/%s changed while it was read", bucket, key);
    if (status == STOR_OK)
        report(key, &st, sha1, on_result, context);
    return status;
}

/* Whether fd's first length bytes are the object's (in), hashing the object's into sha. */
static int same_start(int fd, int in, uint64_t length, EVP_MD_CTX *sha)
{
    char ours[65536], theirs[65536];
    for (uint64_t at = 0; at < length;) {
        size_t want = length - at < sizeof ours ? (size_t)(length - at) : sizeof ours;
        ssize_t a = pread(fd, ours, want, (off_t)at), b = pread(in, theirs, want, (off_t)at);
        if (a <= 0 || a != b || memcmp(ours, theirs, (size_t)a) != 0)
            return 0;
        EVP_DigestUpdate(sha, theirs, (size_t)b);
        at += (uint64_t)a;
    }
    return 1;
}

/* ABI 2: a byte range, or the rest of a partial file (no versions: rm deletes for good). */
static enum stor_status local_get_ex(void *instance, const char *bucket, const char *key,
                                     const struct stor_get_options *options, int fd,
                                     stor_object_fn on_result, void *context,
                                     struct stor_error *err)
{
    struct local *self = instance;
    if (options->version_id)
        return stor_fail(err, STOR_EUNSUPPORTED, "the local backend keeps no versions: %s/%s has "
                         "only its current content", bucket, key);
    int in;
    struct stat st;
    enum stor_status status = open_object(self, bucket, key, &in, &st, err);
    if (status != STOR_OK)
        return status;
    struct stor_get_options o = {.length = -1};
    memcpy(&o, options, options->struct_size < sizeof o ? options->struct_size : sizeof o);
    char id[80];
    file_identity(&st, id);
    if (o.expected_id && strcmp(o.expected_id, id) != 0) {
        close(in);
        return stor_fail(err, STOR_ESTALE, "%s/%s changed since the partial download began",
                         bucket, key);
    }
    if (o.on_start) {
        struct stor_object start = describe(key, &st, NULL, id);
        if (o.on_start(o.start_context, &start) != 0) {
            close(in);
            return stor_fail(err, STOR_ECANCELLED, "%s/%s: cancelled", bucket, key);
        }
    }
    uint64_t size = (uint64_t)st.st_size, offset = (uint64_t)options->offset;
    if (options->offset < 0 || (offset > 0 && offset >= size && !options->resume) ||
        (options->resume && offset > size)) {
        close(in);
        return stor_fail(err, STOR_EINVAL, "%s/%s: the range starting at byte %lld is outside "
                         "the object (%llu bytes)", bucket, key, (long long)options->offset,
                         (unsigned long long)size);
    }
    EVP_MD_CTX *sha = sha1_start();
    if (!sha) {
        close(in);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    /* A resumed file must hold the object's own first bytes; they are hashed with the rest. */
    if (options->resume && !same_start(fd, in, offset, sha))
        status = stor_fail(err, STOR_EIO, "%s/%s: the partial file does not hold this object's "
                           "first %llu bytes: cannot resume", bucket, key,
                           (unsigned long long)offset);
    uint64_t rest = size - offset, limit = rest, copied = 0;
    if (!options->resume && options->length >= 0 && (uint64_t)options->length < rest)
        limit = (uint64_t)options->length;
    if (status == STOR_OK && (lseek(in, (off_t)offset, SEEK_SET) < 0 ||
                              (options->resume && lseek(fd, (off_t)offset, SEEK_SET) < 0)))
        status = stor_fail(err, STOR_EIO, "%s/%s: cannot seek: %s", bucket, key, strerror(errno));
    if (status == STOR_OK)
        status = copy_some(self, in, fd, key, limit, limit, sha, &copied, err);
    close(in);
    if (status == STOR_OK && copied != limit)
        status = stor_fail(err, STOR_EIO, "%s/%s changed while it was read", bucket, key);
    char sha1[41];
    sha1_finish(sha, sha1);
    int whole = options->resume || (offset == 0 && limit == size); /* only then is it its SHA-1 */
    if (status == STOR_OK && whole && o.expected_sha1 && strcasecmp(o.expected_sha1, sha1) != 0)
        status = stor_fail(err, STOR_ESTALE, "%s/%s changed since the partial download began",
                           bucket, key);
    if (status == STOR_OK)
        report(key, &st, whole ? sha1 : NULL, on_result, context);
    return status;
}

static enum stor_status local_stat(void *instance, const char *bucket, const char *key,
                                   const char *version_id, stor_object_fn on_result,
                                   void *context, struct stor_error *err)
{
    if (version_id)
        return stor_fail(err, STOR_EUNSUPPORTED, "the local backend keeps no versions: %s/%s has "
                         "only its current content", bucket, key);
    int in;
    struct stat st;
    enum stor_status status = open_object(instance, bucket, key, &in, &st, err);
    if (status != STOR_OK)
        return status;
    report_kept(in, key, &st, on_result, context);
    close(in);
    return STOR_OK;
}

/* One directory entry of a listing; directories sort as "name/" so that the walk below emits
 * keys in ascending byte order, as B2 does. Links and special files are not objects. */
struct entry {
    char *sort_name;
    int is_dir;
    struct stat st;
};

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->sort_name, ((const struct entry *)b)->sort_name);
}

struct walk {
    struct local *self;
    stor_object_fn on_object;
    void *context;
    int recursive;
    struct stor_error *err;
    char key[MAX_KEY + 2]; /* the key prefix of the directory being read, then each name */
};

/* Reads directory dir's entries that start with leaf_prefix, sorted; *count of them. */
static enum stor_status read_entries(struct walk *w, int dir, const char *leaf_prefix,
                                     struct entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    int copy = dup(dir);
    DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
    if (!d) {
        if (copy >= 0)
            close(copy);
        return stor_fail(w->err, errno_status(errno), "cannot list %s: %s", w->key, strerror(errno));
    }
    struct entry *entries = NULL;
    size_t n = 0, capacity = 0, key_len = strlen(w->key);
    enum stor_status status = STOR_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        struct stat st;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0 ||
            strncmp(name, leaf_prefix, strlen(leaf_prefix)) != 0 ||
            key_len + strlen(name) + 1 > MAX_KEY || /* no key could name it */
            fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
            continue;
        if (n == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            struct entry *grown = realloc(entries, capacity * sizeof *entries);
            if (!grown) {
                status = stor_fail(w->err, STOR_EINTERNAL, "out of memory");
                break;
            }
            entries = grown;
        }
        struct entry *e = &entries[n];
        e->is_dir = S_ISDIR(st.st_mode);
        e->st = st;
        if (asprintf(&e->sort_name, "%s%s", name, e->is_dir ? "/" : "") < 0) {
            status = stor_fail(w->err, STOR_EINTERNAL, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1) /* entries is NULL when there are none, and qsort's pointer may not be */
        qsort(entries, n, sizeof *entries, compare_entries);
    *out = entries;
    *count = n;
    return status;
}

static enum stor_status walk_dir(struct walk *w, int dir, const char *leaf_prefix)
{
    struct entry *entries;
    size_t count, key_len = strlen(w->key);
    enum stor_status status = read_entries(w, dir, leaf_prefix, &entries, &count);
    for (size_t i = 0; i < count && status == STOR_OK; i++) {
        struct entry *e = &entries[i];
        snprintf(w->key + key_len, sizeof w->key - key_len, "%s", e->sort_name);
        if (e->is_dir && w->recursive) {
            size_t name_len = strlen(e->sort_name) - 1;
            e->sort_name[name_len] = '\0'; /* the directory's own name, without "/" */
            int child = openat(dir, e->sort_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child >= 0) { /* gone or swapped for a link since it was read: skipped */
                status = walk_dir(w, child, "");
                close(child);
            }
        } else if (e->is_dir) {
            struct stor_object object = {.key = w->key, .is_prefix = 1, .size = -1,
                                         .mtime_ms = -1, .upload_ms = -1,
                                         .protection = {.retain_until_ms = -1, .legal_hold = -1}};
            if (w->on_object(w->context, &object) != 0)
                status = stor_fail(w->err, STOR_ECANCELLED, "listing stopped");
        } else {
            /* A listing reports the SHA-1 kept with each file (sync --checksum reads no bytes). */
            struct local_attrs a;
            local_attrs_read(-1, dir, e->sort_name, &e->st, &a);
            struct stor_object object = describe(w->key, &e->st, NULL, NULL);
            local_attrs_fill(&a, &object);
            if (w->on_object(w->context, &object) != 0)
                status = stor_fail(w->err, STOR_ECANCELLED, "listing stopped");
            local_attrs_free(&a);
        }
        if (status == STOR_OK && w->self->host->cancelled(w->self->host))
            status = stor_fail(w->err, STOR_ECANCELLED, "listing cancelled");
    }
    w->key[key_len] = '\0';
    for (size_t i = 0; i < count; i++)
        free(entries[i].sort_name);
    free(entries);
    return status;
}

static enum stor_status local_list(void *instance, const char *bucket, const char *prefix,
                                   unsigned flags, stor_object_fn on_object, void *context,
                                   struct stor_error *err)
{
    struct local *self = instance;
    if (flags & STOR_LIST_VERSIONS)
        return stor_fail(err, STOR_EUNSUPPORTED, "the local backend keeps no versions: a file "
                         "has only its current content");
    /* "a/b/c" lists entries of directory a/b whose names start with "c". */
    size_t dir_len = dirs_length(prefix);
    struct walk *w = calloc(1, sizeof *w);
    if (!w)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    *w = (struct walk){self, on_object, context, (flags & STOR_LIST_RECURSIVE) != 0, err, ""};
    enum stor_status status = STOR_OK;
    if (dir_len > MAX_KEY)
        status = stor_fail(err, STOR_EINVAL, "prefix too long");
    else if (dir_len)
        status = check_key_path(memcpy(w->key, prefix, dir_len), 1, err);
    if (status == STOR_OK && (status = check_names(bucket, NULL, err)) == STOR_OK) {
        struct local_chain chain;
        if (local_chain_open(&chain, self->root, bucket, prefix, dir_len, 0) == 0)
            status = walk_dir(w, local_chain_last(&chain), prefix + dir_len);
        else if (chain.link || chain.depth <= 1 || (errno != ENOENT && errno != ENOTDIR))
            status = walk_failed(self, &chain, bucket, w->key, "list", err);
        local_chain_close(&chain); /* else a prefix with no directory: it lists nothing */
    }
    free(w);
    return status;
}

static enum stor_status local_remove(void *instance, const char *bucket, const char *key,
                                     struct stor_error *err)
{
    struct local *self = instance;
    struct local_chain chain;
    enum stor_status status = open_existing(self, bucket, key, "remove", &chain, err);
    if (status != STOR_OK)
        return status;
    int dir = local_chain_last(&chain);
    const char *leaf = key + dirs_length(key);
    struct stat st;
    int e = fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0 ? errno
            : !S_ISREG(st.st_mode)                         ? ENOENT /* links are not objects */
            : unlinkat(dir, leaf, 0) != 0                  ? errno
                                                           : 0;
    if (e)
        status = e == ENOENT ? stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key)
                             : stor_fail(err, errno_status(e), "cannot remove %s/%s: %s", bucket,
                                         key, strerror(e));
    /* Prune the directories the object alone kept alive, deepest first, up to the bucket:
     * directory j of the key is removed from fd[j], its parent in the chain. */
    for (size_t j = chain.depth - 2; status == STOR_OK && j >= 1; j--) {
        const char *name = key;
        for (size_t k = 1; k < j; k++)
            name = strchr(name, '/') + 1;
        char segment[MAX_KEY + 1];
        snprintf(segment, sizeof segment, "%.*s", (int)strcspn(name, "/"), name);
        if (unlinkat(chain.fd[j], segment, AT_REMOVEDIR) != 0)
            break;
    }
    local_chain_close(&chain);
    return status;
}

/* ---- buckets: the directories right below the root ---- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum stor_status local_list_buckets(void *instance, stor_bucket_fn on_bucket,
                                           void *context, struct stor_error *err)
{
    struct local *self = instance;
    DIR *dir = opendir(self->root);
    if (!dir)
        return errno == ENOENT ? STOR_OK /* no root yet: no buckets */
                               : stor_fail(err, errno_status(errno), "cannot list %s: %s",
                                           self->root, strerror(errno));
    char **names = NULL;
    size_t count = 0, capacity = 0;
    enum stor_status status = STOR_OK;
    struct dirent *e;
    while (status == STOR_OK && (e = readdir(dir))) {
        struct stat st;
        if (e->d_name[0] == '.' || check_bucket(e->d_name, NULL) != STOR_OK ||
            fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
            continue; /* links and files at the root are not buckets */
        if (count == capacity) {
            char **grown = realloc(names, (capacity = capacity ? 2 * capacity : 16) * sizeof *names);
            if (!grown) {
                status = stor_fail(err, STOR_EINTERNAL, "out of memory");
                break;
            }
            names = grown;
        }
        if (!(names[count] = strdup(e->d_name)))
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
        else
            count++;
    }
    closedir(dir);
    if (count)
        qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        struct stor_bucket bucket = {.name = names[i], .is_public = 0, .created_ms = -1};
        if (status == STOR_OK && on_bucket(context, &bucket) != 0)
            status = stor_fail(err, STOR_ECANCELLED, "listing cancelled");
        free(names[i]);
    }
    free(names);
    return status;
}

static enum stor_status local_create_bucket(void *instance, const char *bucket,
                                            const struct stor_bucket_options *options,
                                            stor_bucket_fn on_result, void *context,
                                            struct stor_error *err)
{
    struct local *self = instance;
    enum stor_status status = check_bucket(bucket, err);
    if (status != STOR_OK)
        return status;
    if (options && options->setting_count > 0)
        return stor_fail(err, STOR_EINVAL, "unknown bucket setting '%s' for backend local (it "
                         "has none)", options->settings[0].key);
    if (options && options->is_public)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend local has no public buckets");
    struct local_chain chain;
    if (local_chain_open(&chain, self->root, NULL, NULL, 0, 1) != 0) {
        status = walk_failed(self, &chain, bucket, NULL, "create", err);
    } else if (mkdirat(chain.fd[0], bucket, 0777) != 0) {
        status = errno == EEXIST ? stor_fail(err, STOR_EINVAL, "bucket '%s' already exists", bucket)
                                 : stor_fail(err, errno_status(errno), "cannot create bucket "
                                             "'%s': %s", bucket, strerror(errno));
    } else {
        fsync(chain.fd[0]);
    }
    local_chain_close(&chain);
    struct stor_bucket made = {.name = bucket, .is_public = 0, .created_ms = -1};
    if (status == STOR_OK && on_result)
        on_result(context, &made);
    return status;
}

/* A directory has nothing to change: private it stays, and there are no settings. */
static enum stor_status local_update_bucket(void *instance, const char *bucket,
                                            const struct stor_bucket_options *options,
                                            stor_bucket_fn on_result, void *context,
                                            struct stor_error *err)
{
    struct local *self = instance;
    if (options && options->setting_count > 0)
        return stor_fail(err, STOR_EINVAL, "unknown bucket setting '%s' for backend local (it "
                         "has none)", options->settings[0].key);
    if (options && options->is_public > 0)
        return stor_fail(err, STOR_EUNSUPPORTED, "backend local has no public buckets");
    struct local_chain chain;
    enum stor_status status = open_existing(self, bucket, NULL, "update", &chain, err);
    if (status != STOR_OK)
        return status;
    local_chain_close(&chain);
    struct stor_bucket kept = {.name = bucket, .is_public = 0, .created_ms = -1};
    if (on_result)
        on_result(context, &kept);
    return STOR_OK;
}

static enum stor_status local_delete_bucket(void *instance, const char *bucket,
                                            struct stor_error *err)
{
    struct local *self = instance;
    struct local_chain chain;
    enum stor_status status = open_existing(self, bucket, NULL, "delete", &chain, err);
    if (status != STOR_OK)
        return status;
    if (unlinkat(chain.fd[0], bucket, AT_REMOVEDIR) != 0)
        status = errno == ENOTEMPTY || errno == EEXIST
                     ? stor_fail(err, STOR_EINVAL, "bucket '%s' is not empty", bucket)
                     : stor_fail(err, errno_status(errno), "cannot delete bucket '%s': %s",
                                 bucket, strerror(errno));
    local_chain_close(&chain);
    return status;
}

/* Upload targets for the local backend are the bucket directory as a file:// URL; no token. */
static enum stor_status local_get_upload_target(void *instance, const char *bucket,
                                                stor_upload_target_fn on_target, void *context,
                                                struct stor_error *err)
{
    struct local *self = instance;
    struct local_chain chain;
    enum stor_status status = open_existing(self, bucket, NULL, "use", &chain, err);
    if (status != STOR_OK)
        return status;
    local_chain_close(&chain);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", self->root, bucket) >= (int)sizeof path)
        return stor_fail(err, STOR_EINVAL, "path for bucket %s is too long", bucket);
    char url[3 * PATH_MAX + 16] = "file://";
    size_t len = strlen(url);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/-._~", *p);
        len += (size_t)snprintf(url + len, sizeof url - len, plain ? "%c" : "%%%02X", *p);
    }
    snprintf(url + len, sizeof url - len, "/");
    struct stor_upload_target target = {
        .bucket_id = bucket, .url = url, .token = NULL, .expires_at_ms = -1};
    on_target(context, &target);
    return STOR_OK;
}

static enum stor_status default_root(char *root, size_t size, struct stor_error *err)
{
    const char *data = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (data && data[0] == '/')
        n = snprintf(root, size, "%s/stor", data);
    else if (home && home[0] == '/')
        n = snprintf(root, size, "%s/.local/share/stor", home);
    else
        return stor_fail(err, STOR_EINVAL, "no root directory: set -o root=DIR or STOR_LOCAL_ROOT");
    return n > 0 && (size_t)n < size ? STOR_OK : stor_fail(err, STOR_EINVAL, "root path too long");
}

static enum stor_status local_open(const struct stor_host *host, const struct stor_option *options,
                                   size_t option_count, void **instance, struct stor_error *err)
{
    const char *root = NULL;
    for (size_t i = 0; i < option_count; i++) {
        if (strcmp(options[i].key, "root") == 0)
            root = options[i].value;
        else
            return stor_fail(err, STOR_EINVAL, "unknown option '%s' for backend local (it knows: root)",
                             options[i].key);
    }
    struct local *self = calloc(1, sizeof *self);
    if (!self)
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    self->host = host;
    enum stor_status status = STOR_OK;
    if (!root)
        status = default_root(self->root, sizeof self->root, err);
    else if (!root[0])
        status = stor_fail(err, STOR_EINVAL, "option root is empty");
    else if (!realpath(root, self->root) &&
             snprintf(self->root, sizeof self->root, "%s", root) >= (int)sizeof self->root)
        status = stor_fail(err, STOR_EINVAL, "root path too long");
    if (status != STOR_OK) {
        free(self);
        return status;
    }
    mode_t mask = umask(0); /* open runs before any worker thread, so reading it is safe */
    umask(mask);
    self->file_mode = 0666 & ~mask;
    *instance = self;
    return STOR_OK;
}

static void local_close(void *instance)
{
    free(instance);
}

static const struct stor_option_doc local_options[] = {
    {"root", "directory holding the buckets (default $XDG_DATA_HOME/stor, else ~/.local/share/stor)"},
    {NULL, NULL},
};

const struct stor_backend stor_local_backend = {
    .abi_version = STOR_ABI_VERSION,
    .struct_size = sizeof(struct stor_backend),
    .name = "local",
    .description = "buckets as directories on this machine (no account, no network)",
    .options = local_options,
    .notes = "A bucket is a directory under the root, created by the first put. Writes are atomic: "
             "a temporary file is written, flushed to disk and renamed into place. There are no "
             "versions: rm deletes the file for good. get --range works, and an interrupted get "
             "resumes. The SHA-1 of what was stored, the content type, headers and metadata are "
             "kept in the file's extended attribute user.stor.object (the SHA-1 counts only while "
             "the file's size and modification time are unchanged). upload-target prints the "
             "bucket directory as a file:// URL with no token.",
    .open = local_open,                               /* open */
    .close = local_close,                             /* close */
    .put = local_put,                                 /* put */
    .get = local_get,                                 /* get */
    .list = local_list,                               /* list */
    .remove = local_remove,                           /* remove */
    .get_upload_target = local_get_upload_target,     /* get_upload_target */
    .get_ex = local_get_ex,                           /* get_ex */
    .capabilities = STOR_CAP_RANGED_GET | STOR_CAP_RESUME_GET | STOR_CAP_DELIMITER |
                    STOR_CAP_UPLOAD_TARGET | STOR_CAP_MTIME | STOR_CAP_BUCKETS |
                    STOR_CAP_METADATA | STOR_CAP_SHA1,
    .put_ex = local_put_ex,                           /* put_ex: the mtime and metadata */
    .stat = local_stat,                               /* stat */
    .list_buckets = local_list_buckets,               /* list_buckets: directories */
    .create_bucket = local_create_bucket,             /* create_bucket */
    .delete_bucket = local_delete_bucket,             /* delete_bucket: empty ones only */
    .update_bucket = local_update_bucket,             /* update_bucket: nothing to change */
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void)
{
    return &stor_local_backend;
}
