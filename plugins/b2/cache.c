/* plugins/b2/cache.c — the on-disk cache file: location, permission checks, flock, atomic write.
 * What goes into the JSON is decided by auth.c, bucket.c and pool.c; this file only keeps it safe. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define B2_CACHE_FORMAT 1
#define B2_CACHE_MAX_BYTES (4 << 20)

struct b2_cache {
    char *path;      /* the JSON file */
    char *lock_path; /* a sibling never replaced, so flock holders all lock the same inode */
    char *directory;
    char *endpoint;
    char *key_id;
    char key_check[65]; /* hex SHA-256 of the key: a wrong key never reads another's cache */
    char *stem;         /* the file name without ".json" */
    b2_cache_warn_fn warn; /* or NULL */
    void *warn_context;
};

/* mkdir -p with mode 0700 for what we create. */
static int make_directories(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    for (char *slash = copy + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *slash = '/';
    }
    int result = mkdir(copy, 0700) == 0 || errno == EEXIST ? 0 : -1;
    free(copy);
    return result;
}

/* A file or directory we trust: ours, and nobody else may write it. */
static const char *unsafe_reason(const struct stat *info)
{
    if (info->st_uid != geteuid())
        return "is owned by another user";
    if (info->st_mode & (S_IWGRP | S_IWOTH))
        return "is writable by group or others";
    return NULL;
}

static char *join(const char *a, const char *b)
{
    char *joined;
    return asprintf(&joined, "%s%s", a, b) < 0 ? NULL : joined;
}

/* Hex SHA-256 of a and b (with a NUL between), cut to hex_length digits. */
static int sha256_hex(const char *a, const char *b, char *hex, size_t hex_length)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = context && EVP_DigestInit_ex(context, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(context, a, strlen(a) + 1) == 1 &&
             EVP_DigestUpdate(context, b, strlen(b)) == 1 &&
             EVP_DigestFinal_ex(context, digest, &length) == 1;
    EVP_MD_CTX_free(context);
    for (unsigned int i = 0; ok && i < length && 2 * i < hex_length; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return ok ? 0 : -1;
}

/* The file name: a hash of endpoint and key id, so neither appears in a directory listing. */
static int cache_file_stem(const char *endpoint, const char *key_id, char stem[64])
{
    strcpy(stem, "b2-");
    return sha256_hex(endpoint, key_id, stem + 3, 32);
}

struct b2_cache *b2_cache_open(const char *dir, const char *endpoint, const char *key_id,
                               const char *key, char *why, size_t why_size)
{
    char *directory = NULL;
    const char *env;
    if (dir && *dir)
        directory = strdup(dir);
    else if ((env = getenv("STOR_CACHE_DIR")) && *env)
        directory = strdup(env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
        directory = join(env, "/stor");
    else if ((env = getenv("HOME")) && *env == '/')
        directory = join(env, "/.cache/stor");
    else {
        snprintf(why, why_size, "no cache directory: set STOR_CACHE_DIR or HOME");
        return NULL;
    }
    if (!directory) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    struct stat info;
    const char *unsafe;
    if (make_directories(directory) != 0 || stat(directory, &info) != 0) {
        snprintf(why, why_size, "cannot create cache directory %s: %s", directory, strerror(errno));
        free(directory);
        return NULL;
    }
    if (!S_ISDIR(info.st_mode) || (unsafe = unsafe_reason(&info))) {
        snprintf(why, why_size, "cache directory %s refused: it %s", directory,
                 S_ISDIR(info.st_mode) ? unsafe : "is not a directory");
        free(directory);
        return NULL;
    }
    char stem[64];
    struct b2_cache *cache = calloc(1, sizeof *cache);
    if (!cache || cache_file_stem(endpoint, key_id, stem) != 0 ||
        sha256_hex("stor b2 cache key check", key, cache->key_check, 64) != 0) {
        free(cache);
        free(directory);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    cache->directory = directory;
    if (asprintf(&cache->path, "%s/%s.json", directory, stem) < 0)
        cache->path = NULL;
    if (asprintf(&cache->lock_path, "%s/%s.lock", directory, stem) < 0)
        cache->lock_path = NULL;
    cache->endpoint = strdup(endpoint);
    cache->key_id = strdup(key_id);
    cache->stem = strdup(stem);
    if (!cache->path || !cache->lock_path || !cache->endpoint || !cache->key_id || !cache->stem) {
        b2_cache_close(cache);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    return cache;
}

void b2_cache_close(struct b2_cache *cache)
{
    if (!cache)
        return;
    free(cache->path);
    free(cache->lock_path);
    free(cache->directory);
    free(cache->endpoint);
    free(cache->key_id);
    free(cache->stem);
    free(cache);
}

const char *b2_cache_path(const struct b2_cache *cache)
{
    return cache->path;
}

void b2_cache_on_warning(struct b2_cache *cache, b2_cache_warn_fn warn, void *context)
{
    cache->warn = warn;
    cache->warn_context = context;
}

static void warn_refused(const struct b2_cache *cache, const char *reason)
{
    char line[600];
    snprintf(line, sizeof line, "cache file %s ignored: it %s", cache->path, reason);
    if (cache->warn)
        cache->warn(cache->warn_context, line);
}

static json_object *empty_root(const struct b2_cache *cache)
{
    json_object *root = json_object_new_object();
    if (root) {
        json_object_object_add(root, "format", json_object_new_int(B2_CACHE_FORMAT));
        json_object_object_add(root, "endpoint", json_object_new_string(cache->endpoint));
        json_object_object_add(root, "keyId", json_object_new_string(cache->key_id));
        json_object_object_add(root, "keyCheck", json_object_new_string(cache->key_check));
    }
    return root;
}

static int string_member_is(json_object *root, const char *name, const char *expected)
{
    json_object *member;
    return json_object_object_get_ex(root, name, &member) &&
           json_object_is_type(member, json_type_string) && /* null: no string */
           strcmp(json_object_get_string(member), expected) == 0;
}

/* The cached root if the file is ours, safe, well formed and for this endpoint, key id and key. */
static json_object *read_root(const struct b2_cache *cache)
{
    /* O_NONBLOCK: a FIFO put in its place must not hang us; it is refused below. */
    int fd = open(cache->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            warn_refused(cache, "is a symbolic link");
        return NULL;
    }
    struct stat info;
    json_object *root = NULL;
    if (fstat(fd, &info) != 0) {
        close(fd);
        return NULL;
    }
    const char *refused = S_ISREG(info.st_mode) ? unsafe_reason(&info) : "is not a regular file";
    if (refused)
        warn_refused(cache, refused);
    if (refused || info.st_size <= 0 || info.st_size > B2_CACHE_MAX_BYTES) {
        close(fd);
        return NULL;
    }
    char *text = malloc((size_t)info.st_size + 1);
    size_t have = 0;
    while (text && have < (size_t)info.st_size) {
        ssize_t got = read(fd, text + have, (size_t)info.st_size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    close(fd);
    if (text && have > 0) {
        text[have] = '\0';
        root = json_tokener_parse(text);
    }
    free(text);
    json_object *member;
    if (root && (!json_object_is_type(root, json_type_object) ||
                 !json_object_object_get_ex(root, "format", &member) ||
                 json_object_get_int(member) != B2_CACHE_FORMAT ||
                 !string_member_is(root, "endpoint", cache->endpoint) ||
                 !string_member_is(root, "keyId", cache->key_id) ||
                 !string_member_is(root, "keyCheck", cache->key_check))) {
        json_object_put(root);
        root = NULL;
    }
    return root;
}

static int write_root(const struct b2_cache *cache, json_object *root)
{
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    char *temporary = join(cache->path, ".XXXXXX");
    if (!text || !temporary) {
        free(temporary);
        return -1;
    }
    int fd = mkstemp(temporary); /* mode 0600 whatever the umask */
    if (fd < 0) {
        free(temporary);
        return -1;
    }
    size_t length = strlen(text), done = 0;
    int ok = fchmod(fd, 0600) == 0;
    while (ok && done < length) {
        ssize_t wrote = write(fd, text + done, length - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        ok = wrote > 0;
        done += ok ? (size_t)wrote : 0;
    }
    ok = close(fd) == 0 && ok;
    ok = ok && rename(temporary, cache->path) == 0;
    if (!ok)
        unlink(temporary);
    free(temporary);
    return ok ? 0 : -1;
}

/* Temporary files of this cache left by a writer that was killed: only a lock holder writes
 * one, so while we hold the lock every one there is stale. Removes ours, never through links. */
static void remove_stale_temporaries(const struct b2_cache *cache)
{
    DIR *directory = opendir(cache->directory);
    if (!directory)
        return;
    char prefix[80];
    size_t prefix_length = (size_t)snprintf(prefix, sizeof prefix, "%s.json.", cache->stem);
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        struct stat info;
        if (strncmp(entry->d_name, prefix, prefix_length) == 0 &&
            strlen(entry->d_name) == prefix_length + 6 &&
            fstatat(dirfd(directory), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(info.st_mode) && info.st_uid == geteuid())
            unlinkat(dirfd(directory), entry->d_name, 0);
    }
    closedir(directory);
}

int b2_cache_update(struct b2_cache *cache, b2_cache_update_fn update, void *context)
{
    int lock_fd = open(cache->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        return -1;
    while (flock(lock_fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(lock_fd);
            return -1;
        }
    }
    remove_stale_temporaries(cache);
    json_object *root = read_root(cache);
    if (!root)
        root = empty_root(cache);
    int result = root ? update(root, context) : -1;
    if (result > 0 && write_root(cache, root) != 0)
        result = -1;
    json_object_put(root);
    flock(lock_fd, LOCK_UN);
    close(lock_fd);
    return result;
}
