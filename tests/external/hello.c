/* hello.c — the smallest useful stor backend, built outside the tree against the installed
 * header:  cc -shared -fPIC $(pkg-config --cflags stor-plugin) -o hello.so hello.c */
#include <stor/plugin.h>
#include <string.h>
#include <unistd.h>

static int instance; /* this backend keeps no state */

static enum stor_status hello_open(const struct stor_host *host, const struct stor_option *options,
                                   size_t count, void **self, struct stor_error *err)
{
    if (count)
        return stor_fail(err, STOR_EINVAL, "backend hello takes no options (got '%s')",
                         options[0].key);
    *self = &instance;
    return STOR_OK;
}

static void hello_close(void *self) {}

static enum stor_status hello_put(void *self, const char *bucket, const char *key, int fd,
                                  stor_object_fn done, void *ctx, struct stor_error *err)
{
    return stor_fail(err, STOR_EUNSUPPORTED, "hello is read-only");
}

static enum stor_status hello_get(void *self, const char *bucket, const char *key, int fd,
                                  stor_object_fn done, void *ctx, struct stor_error *err)
{
    const char text[] = "hello, world\n";
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return stor_fail(err, STOR_EIO, "write failed");
    struct stor_object object = {.key = key, .size = (int64_t)strlen(text), .mtime_ms = -1};
    done(ctx, &object);
    return STOR_OK;
}

static enum stor_status hello_list(void *self, const char *bucket, const char *prefix,
                                   unsigned flags, stor_object_fn each, void *ctx,
                                   struct stor_error *err)
{
    struct stor_object object = {.key = "world", .size = 13, .mtime_ms = 0};
    return each(ctx, &object) ? STOR_ECANCELLED : STOR_OK;
}

static const struct stor_backend hello = {
    .abi_version = STOR_ABI_VERSION,
    .struct_size = sizeof(struct stor_backend),
    .name = "hello",
    .description = "says hello (an example plugin)",
    .open = hello_open,
    .close = hello_close,
    .put = hello_put,
    .get = hello_get,
    .list = hello_list,
};

STOR_PLUGIN_EXPORT const struct stor_backend *stor_plugin_entry(void)
{
    return &hello;
}
