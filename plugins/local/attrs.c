/* attrs.c — the user.stor.object extended attribute: written once per put, read by stat and
 * list, never trusted beyond what it can prove (types, sizes, and the SHA-1 only while the file
 * is unchanged). */
#include "attrs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

static const char *const header_names[] = {"contentType", "cacheControl", "contentDisposition",
                                           "contentEncoding", "contentLanguage", "expires"};

static void headers_of(const struct stor_put_options *o, const char *out[6])
{
    const char *values[6] = {o->content_type, o->cache_control, o->content_disposition,
                             o->content_encoding, o->content_language, o->expires};
    memcpy(out, values, sizeof values);
}

int local_attrs_wanted(const struct stor_put_options *o)
{
    if (!o)
        return 0;
    const char *headers[6];
    headers_of(o, headers);
    for (int i = 0; i < 6; i++)
        if (headers[i])
            return 1;
    return o->metadata_count > 0;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* "seconds.nanoseconds" of the modification time: what proves the SHA-1 still holds. */
static void mtime_text(const struct stat *st, char out[48])
{
    snprintf(out, 48, "%lld.%09ld", (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
}

__attribute__((format(printf, 4, 5))) static int fail(char *why, size_t size, int e,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

int local_attrs_write(int fd, const struct stor_put_options *o, const char *sha1,
                      const struct stat *st, char *why, size_t why_size)
{
    struct json_object *j = json_object_new_object();
    char when[48];
    mtime_text(st, when);
    json_object_object_add(j, "sha1", json_object_new_string(sha1));
    json_object_object_add(j, "size", json_object_new_int64(st->st_size));
    json_object_object_add(j, "mtime", json_object_new_string(when));
    const char *headers[6] = {NULL};
    if (o)
        headers_of(o, headers);
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++) {
        if (!headers[i])
            continue;
        if (has_control(headers[i]))
            rc = fail(why, why_size, EINVAL, "%s has a control character", header_names[i]);
        else
            json_object_object_add(j, header_names[i], json_object_new_string(headers[i]));
    }
    if (o && o->metadata_count > LOCAL_META_MAX && rc == 0)
        rc = fail(why, why_size, EINVAL, "more than %d metadata keys", LOCAL_META_MAX);
    struct json_object *meta = json_object_new_object();
    for (size_t i = 0; o && rc == 0 && i < o->metadata_count; i++) {
        const struct stor_option *m = &o->metadata[i];
        if (!m->key || !m->key[0] || has_control(m->key) || !m->value || has_control(m->value))
            rc = fail(why, why_size, EINVAL, "metadata %s: keys and values are text without "
                      "control characters", m->key ? m->key : "(no key)");
        else
            json_object_object_add(meta, m->key, json_object_new_string(m->value));
    }
    json_object_object_add(j, "metadata", meta);
    const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    size_t length = strlen(text);
    if (rc == 0 && length > LOCAL_ATTR_MAX)
        rc = fail(why, why_size, EINVAL, "the metadata takes %zu bytes; the local backend keeps "
                  "at most %d", length, LOCAL_ATTR_MAX);
    if (rc == 0 && fsetxattr(fd, LOCAL_ATTR_NAME, text, length, 0) != 0) {
        int e = errno;
        rc = fail(why, why_size, e, "%s", e == ENOTSUP || e == EOPNOTSUPP
                                               ? "the root's file system keeps no user extended "
                                                 "attributes"
                                               : strerror(e));
    }
    json_object_put(j);
    return rc;
}

static const char *string_field(struct json_object *j, const char *name)
{
    struct json_object *v;
    return json_object_object_get_ex(j, name, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static int is_sha1(const char *s)
{
    return s && strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

void local_attrs_read(int fd, int dir, const char *name, const struct stat *st,
                      struct local_attrs *a)
{
    memset(a, 0, sizeof *a);
    char text[LOCAL_ATTR_MAX + 1];
    ssize_t n;
    if (fd >= 0) {
        n = fgetxattr(fd, LOCAL_ATTR_NAME, text, LOCAL_ATTR_MAX);
    } else {
        /* No getxattrat: the directory's descriptor as a path, the name not followed if a link. */
        char path[64 + 4096];
        if (snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dir, name) >= (int)sizeof path)
            return;
        n = lgetxattr(path, LOCAL_ATTR_NAME, text, LOCAL_ATTR_MAX);
    }
    if (n <= 0)
        return; /* none, too large (ERANGE), or unreadable: nothing kept */
    text[n] = '\0';
    struct json_tokener *tok = json_tokener_new_ex(8);
    struct json_object *j = tok ? json_tokener_parse_ex(tok, text, (int)n) : NULL;
    int complete = tok && json_tokener_get_error(tok) == json_tokener_success &&
                   json_tokener_get_parse_end(tok) == (size_t)n;
    if (tok)
        json_tokener_free(tok);
    if (!j || !complete || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return;
    }
    a->json = j;
    struct json_object *size;
    char when[48];
    mtime_text(st, when);
    const char *sha1 = string_field(j, "sha1"), *recorded = string_field(j, "mtime");
    if (is_sha1(sha1) && recorded && strcmp(recorded, when) == 0 &&
        json_object_object_get_ex(j, "size", &size) && json_object_is_type(size, json_type_int) &&
        json_object_get_int64(size) == st->st_size)
        a->sha1 = sha1;
    const char **headers[6] = {&a->content_type, &a->cache_control, &a->content_disposition,
                               &a->content_encoding, &a->content_language, &a->expires};
    for (int i = 0; i < 6; i++)
        *headers[i] = string_field(j, header_names[i]);
    struct json_object *meta;
    if (json_object_object_get_ex(j, "metadata", &meta) && json_object_is_type(meta, json_type_object)) {
        json_object_object_foreach(meta, key, value) {
            if (a->metadata_count == LOCAL_META_MAX)
                break;
            if (json_object_is_type(value, json_type_string))
                a->metadata[a->metadata_count++] =
                    (struct stor_option){key, json_object_get_string(value)};
        }
    }
}

void local_attrs_fill(const struct local_attrs *a, struct stor_object *o)
{
    o->sha1 = a->sha1;
    o->content_type = a->content_type;
    o->cache_control = a->cache_control;
    o->content_disposition = a->content_disposition;
    o->content_encoding = a->content_encoding;
    o->content_language = a->content_language;
    o->expires = a->expires;
    o->metadata = a->metadata;
    o->metadata_count = a->metadata_count;
}

void local_attrs_free(struct local_attrs *a)
{
    json_object_put(a->json);
    memset(a, 0, sizeof *a);
}
