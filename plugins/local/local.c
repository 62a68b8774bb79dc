/* local.c — the local backend: a bucket is a directory under a root, a key a file path below it.
 * Writes are atomic (temporary file, fsync, rename), so no reader ever sees half an object. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stor/plugin.h"

#define TEMP_PREFIX ".stor-tmp-"
#define COPY_BUFFER (256 * 1024)
#define MAX_KEY 1024

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

static enum stor_status object_path(const struct local *self, const char *bucket, const char *key,
                                    char *path, size_t size, struct stor_error *err)
{
    enum stor_status status = check_bucket(bucket, err);
    if (status == STOR_OK && key)
        status = check_key(key, err);
    if (status != STOR_OK)
        return status;
    int n = key ? snprintf(path, size, "%s/%s/%s", self->root, bucket, key)
                : snprintf(path, size, "%s/%s", self->root, bucket);
    if (n < 0 || (size_t)n >= size)
        return stor_fail(err, STOR_EINVAL, "path for %s/%s is too long", bucket, key ? key : "");
    return STOR_OK;
}

/* mkdir -p for the parents of path (the last component is left alone). */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        struct stat st;
        int rc = mkdir(path, 0777);
        int e = errno;
        if (rc != 0 && e == EEXIST && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
            e = ENOTDIR; /* an object stands where a prefix is needed */
        *p = '/';
        if (rc != 0 && e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    return 0;
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

/* Copies in to out until EOF, hashing as it goes; reports progress and honours cancellation.
 * Returns STOR_OK or a status with err filled; `what` names the object in messages. */
static enum stor_status copy_stream(const struct local *self, int in, int out, const char *what,
                                    uint64_t total, char sha1[41], uint64_t *copied,
                                    struct stor_error *err)
{
    char *buf = malloc(COPY_BUFFER);
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    if (!buf || !sha || !EVP_DigestInit_ex(sha, EVP_sha1(), NULL)) {
        free(buf);
        EVP_MD_CTX_free(sha);
        return stor_fail(err, STOR_EINTERNAL, "out of memory");
    }
    enum stor_status status = STOR_OK;
    uint64_t done = 0;
    for (;;) {
        if (self->host->cancelled(self->host)) {
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", what);
            break;
        }
        ssize_t n = read(in, buf, COPY_BUFFER);
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
    unsigned char digest[EVP_MAX_MD_SIZE];
    EVP_DigestFinal_ex(sha, digest, NULL);
    EVP_MD_CTX_free(sha);
    sha1_hex(digest, sha1);
    *copied = done;
    return status;
}

static void report(const char *key, const struct stat *st, const char *sha1, stor_object_fn fn,
                   void *context)
{
    struct stor_object object = {
        .key = key,
        .size = st->st_size,
        .mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000,
        .sha1 = sha1,
    };
    if (fn)
        fn(context, &object);
}

static enum stor_status local_put(void *instance, const char *bucket, const char *key, int fd,
                                  stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct local *self = instance;
    char path[PATH_MAX], temp[PATH_MAX + 32];
    enum stor_status status = object_path(self, bucket, key, path, sizeof path, err);
    if (status != STOR_OK)
        return status;

    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return stor_fail(err, STOR_EINVAL, "cannot store %s/%s: it is a prefix of other keys",
                         bucket, key);
    if (make_parents(path) != 0)
        return errno == ENOTDIR
                   ? stor_fail(err, STOR_EINVAL, "cannot store %s/%s: a parent of it is an object",
                               bucket, key)
                   : stor_fail(err, errno_status(errno), "cannot store %s/%s: %s", bucket, key,
                               strerror(errno));

    const char *slash = strrchr(path, '/');
    snprintf(temp, sizeof temp, "%.*s/" TEMP_PREFIX "XXXXXX", (int)(slash - path), path);
    int out = mkostemp(temp, O_CLOEXEC);
    if (out < 0)
        return stor_fail(err, errno_status(errno), "cannot store %s/%s: %s", bucket, key,
                         strerror(errno));

    uint64_t total = 0, copied = 0;
    struct stat in_st = {0};
    if (fstat(fd, &in_st) == 0 && S_ISREG(in_st.st_mode)) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        total = (uint64_t)(in_st.st_size - (pos > 0 ? pos : 0));
    }
    char sha1[41];
    status = copy_stream(self, fd, out, key, total, sha1, &copied, err);
    if (status == STOR_OK && S_ISREG(in_st.st_mode)) {
        /* Keep the source's modification time, as B2's src_last_modified_millis does: ls shows
         * when the data changed, and --skip-existing can compare without hashing. */
        struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, in_st.st_mtim};
        futimens(out, times);
    }
    if (status == STOR_OK && (fchmod(out, self->file_mode) != 0 || fsync(out) != 0))
        status = stor_fail(err, STOR_EIO, "cannot store %s/%s: %s", bucket, key, strerror(errno));
    if (close(out) != 0 && status == STOR_OK)
        status = stor_fail(err, STOR_EIO, "cannot store %s/%s: %s", bucket, key, strerror(errno));
    if (status == STOR_OK && rename(temp, path) != 0)
        status = stor_fail(err, errno_status(errno), "cannot store %s/%s: %s", bucket, key,
                           strerror(errno));
    if (status != STOR_OK) {
        unlink(temp);
        return status;
    }
    /* The rename is durable only once the directory entry is on disk. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
    }
    if (stat(path, &st) != 0)
        return stor_fail(err, STOR_EIO, "stored %s/%s but cannot stat it: %s", bucket, key,
                         strerror(errno));
    report(key, &st, sha1, on_result, context);
    return STOR_OK;
}

static enum stor_status no_bucket(const struct local *self, const char *bucket,
                                  struct stor_error *err)
{
    return stor_fail(err, STOR_ENOTFOUND, "no bucket '%s' under %s", bucket, self->root);
}

static int bucket_exists(const struct local *self, const char *bucket)
{
    char path[PATH_MAX];
    struct stat st;
    return snprintf(path, sizeof path, "%s/%s", self->root, bucket) < (int)sizeof path &&
           stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* object_path for something that must already exist: the bucket is checked too. */
static enum stor_status existing_path(const struct local *self, const char *bucket, const char *key,
                                      char *path, size_t size, struct stor_error *err)
{
    enum stor_status status = object_path(self, bucket, key, path, size, err);
    if (status == STOR_OK && !bucket_exists(self, bucket))
        status = no_bucket(self, bucket, err);
    return status;
}

static enum stor_status local_get(void *instance, const char *bucket, const char *key, int fd,
                                  stor_object_fn on_result, void *context, struct stor_error *err)
{
    struct local *self = instance;
    char path[PATH_MAX];
    enum stor_status status = existing_path(self, bucket, key, path, sizeof path, err);
    if (status != STOR_OK)
        return status;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = in < 0 ? errno : ENOENT;
        if (in >= 0)
            close(in);
        if (e == ENOENT || e == ENOTDIR || e == EISDIR)
            return stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
        return stor_fail(err, errno_status(e), "cannot read %s/%s: %s", bucket, key, strerror(e));
    }
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

/* One directory entry of a listing; directories sort as "name/" so that the walk below emits
 * keys in ascending byte order, as B2 does. */
struct entry {
    char *sort_name;
    int is_dir;
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
};

static enum stor_status walk_dir(struct walk *w, const char *dir, const char *key_prefix,
                                 const char *leaf_prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR
                   ? STOR_OK
                   : stor_fail(w->err, errno_status(errno), "cannot list %s: %s", dir, strerror(errno));
    struct entry *entries = NULL;
    size_t count = 0, capacity = 0;
    enum stor_status status = STOR_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0 ||
            strncmp(name, leaf_prefix, strlen(leaf_prefix)) != 0)
            continue;
        struct stat st;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
            stat(path, &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            struct entry *grown = realloc(entries, capacity * sizeof *entries);
            if (!grown) {
                status = stor_fail(w->err, STOR_EINTERNAL, "out of memory");
                break;
            }
            entries = grown;
        }
        int is_dir = S_ISDIR(st.st_mode);
        if (asprintf(&entries[count].sort_name, "%s%s", name, is_dir ? "/" : "") < 0) {
            status = stor_fail(w->err, STOR_EINTERNAL, "out of memory");
            break;
        }
        entries[count++].is_dir = is_dir;
    }
    closedir(d);
    qsort(entries, count, sizeof *entries, compare_entries);

    for (size_t i = 0; i < count && status == STOR_OK; i++) {
        char key[PATH_MAX], path[PATH_MAX];
        snprintf(key, sizeof key, "%s%s", key_prefix, entries[i].sort_name);
        snprintf(path, sizeof path, "%s/%s", dir, entries[i].sort_name);
        struct stat st;
        if (entries[i].is_dir && w->recursive) {
            status = walk_dir(w, path, key, "");
        } else if (entries[i].is_dir) {
            struct stor_object object = {.key = key, .is_prefix = 1, .size = -1, .mtime_ms = -1};
            if (w->on_object(w->context, &object) != 0)
                status = stor_fail(w->err, STOR_ECANCELLED, "listing stopped");
        } else if (stat(path, &st) == 0) {
            struct stor_object object = {
                .key = key,
                .size = st.st_size,
                .mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000,
            };
            if (w->on_object(w->context, &object) != 0)
                status = stor_fail(w->err, STOR_ECANCELLED, "listing stopped");
        }
        if (status == STOR_OK && w->self->host->cancelled(w->self->host))
            status = stor_fail(w->err, STOR_ECANCELLED, "listing cancelled");
    }
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
    char dir[PATH_MAX];
    enum stor_status status = existing_path(self, bucket, NULL, dir, sizeof dir, err);
    if (status != STOR_OK)
        return status;

    /* "a/b/c" lists entries of directory a/b whose names start with "c". */
    const char *slash = strrchr(prefix, '/');
    size_t dir_len = slash ? (size_t)(slash - prefix) + 1 : 0;
    char key_prefix[PATH_MAX];
    snprintf(key_prefix, sizeof key_prefix, "%.*s", (int)dir_len, prefix);
    if (dir_len && (status = check_key_path(key_prefix, 1, err)) != STOR_OK)
        return status;
    size_t n = strlen(dir);
    if (snprintf(dir + n, sizeof dir - n, "/%s", key_prefix) >= (int)(sizeof dir - n))
        return stor_fail(err, STOR_EINVAL, "prefix too long");
    struct walk w = {self, on_object, context, (flags & STOR_LIST_RECURSIVE) != 0, err};
    return walk_dir(&w, dir, key_prefix, prefix + dir_len);
}

static enum stor_status local_remove(void *instance, const char *bucket, const char *key,
                                     struct stor_error *err)
{
    struct local *self = instance;
    char path[PATH_MAX];
    enum stor_status status = existing_path(self, bucket, key, path, sizeof path, err);
    if (status != STOR_OK)
        return status;
    if (unlink(path) != 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR || errno == EPERM)
            return stor_fail(err, STOR_ENOTFOUND, "no object %s/%s", bucket, key);
        return stor_fail(err, errno_status(errno), "cannot remove %s/%s: %s", bucket, key,
                         strerror(errno));
    }
    /* Prune directories the object alone kept alive, up to (not including) the bucket. */
    size_t bucket_len = strlen(self->root) + 1 + strlen(bucket);
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > bucket_len;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) != 0)
            break;
    }
    return STOR_OK;
}

/* Upload targets for the local backend are the bucket directory as a file:// URL; no token. */
static enum stor_status local_get_upload_target(void *instance, const char *bucket,
                                                stor_upload_target_fn on_target, void *context,
                                                struct stor_error *err)
{
    struct local *self = instance;
    char path[PATH_MAX];
    enum stor_status status = existing_path(self, bucket, NULL, path, sizeof path, err);
    if (status != STOR_OK)
        return status;
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
    .notes = "A bucket is a directory under the root, created by the first put. Writes are atomic:\n"
             "a temporary file is written, flushed to disk and renamed into place. There are no\n"
             "versions: rm deletes the file for good. upload-target prints the bucket directory\n"
             "as a file:// URL with no token.",
    .open = local_open,                               /* open */
    .close = local_close,                             /* close */
    .put = local_put,                                 /* put */
    .get = local_get,                                 /* get */
    .list = local_list,                               /* list */
    .remove = local_remove,                           /* remove */
    .get_upload_target = local_get_upload_target,     /* get_upload_target */
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void)
{
    return &stor_local_backend;
}
