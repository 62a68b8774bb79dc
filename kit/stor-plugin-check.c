/* stor-plugin-check — the conformance suite of the plugin ABI: loads one backend plugin and checks
 * every promise of <stor/plugin.h> a backend can break, one line per check, then a summary:
 *
 *     stor-plugin-check PATH/TO/NAME.so [--bucket=NAME] [-o KEY=VALUE]...
 *
 * It works in BUCKET (default "stor-check") under a fresh prefix, and removes what it stored.
 * Exit 0 when every check passed, 1 when one failed, 2 for a usage error or a plugin that does
 * not load. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"

#define LARGE_SIZE (3 * 1024 * 1024 + 17) /* more than any host or plugin buffer */
#define MAX_OPTIONS 64

/* ---- the host this program plays ---------------------------------------------------------- */

static atomic_int cancel_flag;

static void check_log(const struct stor_host *host, enum stor_log_level level, const char *fmt, ...)
{
    if (level > STOR_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("# plugin says: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static void check_progress(const struct stor_host *host, const char *key, uint64_t done,
                           uint64_t total)
{
}

static int check_cancelled(const struct stor_host *host)
{
    return atomic_load(&cancel_flag);
}

static void check_count(const struct stor_host *host, const char *counter, uint64_t n)
{
}

static struct stor_host hosts[2]; /* [STOR_INTENT_WRITE], [STOR_INTENT_READ] */

/* ---- the run: plugin, instance, results ---------------------------------------------------- */

struct run {
    struct stor_plugin plugin;
    const struct stor_backend *b;
    void *instance;
    struct stor_option options[MAX_OPTIONS];
    size_t option_count;
    const char *bucket;
    char prefix[64];   /* "stor-check-XXXXXXXX/" */
    char tmpdir[PATH_MAX];
    int passed, failed;
};

/* One line per check. What a description ends with in parentheses (what the plugin said, what
 * came back) is shown only when the check fails. */
__attribute__((format(printf, 3, 4))) static int check(struct run *r, int ok, const char *what, ...)
{
    char line[16384];
    va_list ap;
    va_start(ap, what);
    vsnprintf(line, sizeof line, what, ap);
    va_end(ap);
    char *detail = strrchr(line, '(');
    size_t length = strlen(line);
    if (ok && detail && detail > line && detail[-1] == ' ' && line[length - 1] == ')')
        detail[-1] = '\0';
    printf("%s - %s\n", ok ? "ok" : "not ok", line);
    fflush(stdout);
    ok ? r->passed++ : r->failed++;
    return ok;
}

static int declared(const struct run *r, uint64_t capability)
{
    return (r->b->capabilities & capability) != 0;
}

static const char *key(struct run *r, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s%s", r->prefix, name);
    return out;
}

/* ---- capturing what a plugin reports ------------------------------------------------------- */

/* The plugin's ABI: the fields of struct stor_object it may be read for. */
static unsigned plugin_abi;

/* The first ABI-3 field of o holding 0 where the contract says -1 for "unknown" (a struct
 * zero-initialised instead), or NULL. No real upload or retention time is in 1970. */
static const char *zero_for_unknown(const struct stor_object *o)
{
    if (plugin_abi < 3 || o->is_prefix)
        return NULL;
    return o->upload_ms == 0                     ? "upload_ms"
           : o->protection.retain_until_ms == 0 ? "protection.retain_until_ms"
           : o->protection.legal_hold < -1 || o->protection.legal_hold > 1 ? "protection.legal_hold"
                                                                          : NULL;
}

struct captured {
    int calls;
    const char *zeroed; /* zero_for_unknown of a report */
    char key[1100], id[300], sha1[48], content_type[256], meta_key[64], meta_value[256];
    char encryption[32];
    int64_t size, mtime_ms;
    int is_prefix;
};

static int capture(void *context, const struct stor_object *o)
{
    struct captured *c = context;
    c->calls++;
    snprintf(c->key, sizeof c->key, "%s", o->key ? o->key : "");
    snprintf(c->id, sizeof c->id, "%s", o->id ? o->id : "");
    snprintf(c->sha1, sizeof c->sha1, "%s", o->sha1 ? o->sha1 : "");
    snprintf(c->content_type, sizeof c->content_type, "%s", o->content_type ? o->content_type : "");
    c->size = o->size;
    c->mtime_ms = o->mtime_ms;
    c->is_prefix = o->is_prefix;
    c->meta_key[0] = c->meta_value[0] = c->encryption[0] = '\0';
    if (plugin_abi >= 3 && o->protection.encryption)
        snprintf(c->encryption, sizeof c->encryption, "%s", o->protection.encryption);
    if (!c->zeroed)
        c->zeroed = zero_for_unknown(o);
    if (plugin_abi >= 3 && o->metadata_count > 0 && o->metadata) {
        snprintf(c->meta_key, sizeof c->meta_key, "%s", o->metadata[0].key);
        snprintf(c->meta_value, sizeof c->meta_value, "%s", o->metadata[0].value);
    }
    return 0;
}

/* A listing as text: "key,key/,..." (prefix entries end in '/'), capped. */
struct listing {
    char text[8192];
    int count, unsorted;
    const char *zeroed; /* zero_for_unknown of an entry */
    char last[1100];
};

static int collect(void *context, const struct stor_object *o)
{
    struct listing *l = context;
    if (l->count && strcmp(l->last, o->key) >= 0)
        l->unsorted = 1;
    if (!l->zeroed)
        l->zeroed = zero_for_unknown(o);
    snprintf(l->last, sizeof l->last, "%s", o->key);
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s%s", l->count ? "," : "", o->key);
    l->count++;
    return 0;
}

/* ---- moving bytes through files ------------------------------------------------------------ */

static int temp_file(struct run *r)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/data.XXXXXX", r->tmpdir);
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static void pattern(char *data, size_t size, unsigned seed)
{
    for (size_t i = 0; i < size; i++)
        data[i] = (char)((i * 31 + seed * 7 + i / 4096) & 0xff);
}

static int write_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

struct feeder {
    int fd;
    const char *data;
    size_t size;
};

static void *feed(void *context)
{
    struct feeder *f = context;
    write_all(f->fd, f->data, f->size);
    close(f->fd);
    return NULL;
}

/* put (or put_ex with options) of data from a regular file, or from a pipe when piped. */
static enum stor_status put_data(struct run *r, const char *k, const char *data, size_t size,
                                 int piped, const struct stor_put_options *options,
                                 struct captured *c, struct stor_error *err)
{
    memset(c, 0, sizeof *c);
    enum stor_status status;
    if (piped) {
        int p[2];
        if (pipe(p) != 0)
            return stor_fail(err, STOR_EIO, "pipe: %s", strerror(errno));
        struct feeder f = {p[1], data, size};
        pthread_t thread;
        pthread_create(&thread, NULL, feed, &f);
        status = options ? r->b->put_ex(r->instance, r->bucket, k, options, p[0], capture, c, err)
                         : r->b->put(r->instance, r->bucket, k, p[0], capture, c, err);
        close(p[0]); /* a plugin that stopped reading unblocks the feeder */
        pthread_join(thread, NULL);
        return status;
    }
    int fd = temp_file(r);
    if (fd < 0 || write_all(fd, data, size) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        if (fd >= 0)
            close(fd);
        return stor_fail(err, STOR_EIO, "temporary file: %s", strerror(errno));
    }
    status = options ? r->b->put_ex(r->instance, r->bucket, k, options, fd, capture, c, err)
                     : r->b->put(r->instance, r->bucket, k, fd, capture, c, err);
    close(fd);
    return status;
}

/* get (or get_ex) into a temporary file; *out holds the bytes (malloc'd) on STOR_OK. */
static enum stor_status get_data(struct run *r, const char *bucket, const char *k,
                                 const struct stor_get_options *options, char **out, size_t *size,
                                 struct captured *c, struct stor_error *err)
{
    memset(c, 0, sizeof *c);
    *out = NULL;
    *size = 0;
    int fd = temp_file(r);
    if (fd < 0)
        return stor_fail(err, STOR_EIO, "temporary file: %s", strerror(errno));
    enum stor_status status =
        options ? r->b->get_ex(r->instance, bucket, k, options, fd, capture, c, err)
                : r->b->get(r->instance, bucket, k, fd, capture, c, err);
    struct stat st;
    if (status == STOR_OK && fstat(fd, &st) == 0 && (*out = malloc((size_t)st.st_size + 1))) {
        *size = (size_t)st.st_size;
        if (pread(fd, *out, *size, 0) != (ssize_t)*size)
            status = stor_fail(err, STOR_EIO, "reading back: %s", strerror(errno));
    }
    close(fd);
    return status;
}

static int same_bytes(const char *got, size_t got_size, const char *want, size_t want_size)
{
    return got && got_size == want_size && memcmp(got, want, want_size) == 0;
}

/* ---- the checks ---------------------------------------------------------------------------- */

static void check_table(struct run *r)
{
    const struct stor_backend *b = r->b;
    check(r, b->description && b->description[0] && !strchr(b->description, '\n'),
          "the table has a one-line description");
    uint64_t usable = stor_plugin_capabilities(b);
    for (uint64_t bit = 1; bit && bit <= b->capabilities; bit <<= 1)
        if ((b->capabilities & bit) && !(usable & bit))
            check(r, 0, "capability %s is declared, but its slot is NULL",
                  stor_capability_name(bit) ? stor_capability_name(bit) : "(unknown bit)");
    int known = 1;
    for (uint64_t bit = 1; bit; bit <<= 1)
        if ((b->capabilities & bit) && !stor_capability_name(bit))
            known = 0;
    check(r, known, "every declared capability bit is one <stor/plugin.h> defines");
}

static void check_unknown_option(struct run *r)
{
    struct stor_option options[MAX_OPTIONS + 1];
    memcpy(options, r->options, r->option_count * sizeof options[0]);
    options[r->option_count] = (struct stor_option){"stor-check-no-such-option", "1"};
    void *instance = NULL;
    struct stor_error err = {""};
    enum stor_status status =
        r->b->open(&hosts[STOR_INTENT_WRITE], options, r->option_count + 1, &instance, &err);
    if (status == STOR_OK)
        r->b->close(instance);
    check(r, status == STOR_EINVAL && strstr(err.message, "stor-check-no-such-option") &&
                 instance == NULL,
          "open refuses an unknown option, naming it (got status %d: %s)", status, err.message);
}

static void check_round_trips(struct run *r, char *large)
{
    static const struct {
        const char *name;
        size_t size;
        int piped;
    } cases[] = {{"empty", 0, 0}, {"one-byte", 1, 0}, {"large", LARGE_SIZE, 0},
                 {"large-from-a-pipe", LARGE_SIZE, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char k[256];
        key(r, cases[i].name, k, sizeof k);
        struct captured c;
        struct stor_error err = {""};
        enum stor_status status = put_data(r, k, large, cases[i].size, cases[i].piped, NULL, &c, &err);
        check(r, status == STOR_OK, "put of %zu bytes%s succeeds (%s)", cases[i].size,
              cases[i].piped ? " from a pipe" : "", err.message);
        check(r, status == STOR_OK && c.calls == 1 && c.size == (int64_t)cases[i].size && !c.zeroed,
              "put of %zu bytes reports the stored object once, with its size (%d reports, size "
              "%lld%s%s)", cases[i].size, c.calls, (long long)c.size,
              c.zeroed ? ", 0 for unknown " : "", c.zeroed ? c.zeroed : "");
        char *got;
        size_t got_size;
        status = get_data(r, r->bucket, k, NULL, &got, &got_size, &c, &err);
        check(r, status == STOR_OK && same_bytes(got, got_size, large, cases[i].size) && c.calls == 1,
              "get of %zu bytes returns the very bytes and reports once (%s)", cases[i].size,
              err.message);
        free(got);
    }
}

static void check_not_found(struct run *r)
{
    char k[256], missing_bucket[64];
    key(r, "never-stored", k, sizeof k);
    unsigned char random[4];
    getentropy(random, sizeof random);
    snprintf(missing_bucket, sizeof missing_bucket, "stor-check-missing-%02x%02x%02x%02x",
             random[0], random[1], random[2], random[3]);
    struct stor_error err = {""};
    char *got;
    size_t size;
    struct captured c;
    enum stor_status status = get_data(r, r->bucket, k, NULL, &got, &size, &c, &err);
    check(r, status == STOR_ENOTFOUND, "get of a missing object is STOR_ENOTFOUND (got %d: %s)",
          status, err.message);
    free(got);
    status = get_data(r, missing_bucket, "k", NULL, &got, &size, &c, &err);
    check(r, status == STOR_ENOTFOUND, "get in a missing bucket is STOR_ENOTFOUND (got %d: %s)",
          status, err.message);
    free(got);
    struct listing l = {.count = 0};
    status = r->b->list(r->instance, missing_bucket, "", STOR_LIST_RECURSIVE, collect, &l, &err);
    check(r, status == STOR_ENOTFOUND, "listing a missing bucket is STOR_ENOTFOUND (got %d: %s)",
          status, err.message);
    if (r->b->stat) {
        status = r->b->stat(r->instance, r->bucket, k, NULL, capture, &c, &err);
        check(r, status == STOR_ENOTFOUND, "stat of a missing object is STOR_ENOTFOUND (got %d: %s)",
              status, err.message);
    }
    if (r->b->remove) {
        status = r->b->remove(r->instance, r->bucket, k, &err);
        check(r, status == STOR_ENOTFOUND,
              "remove of a missing object is STOR_ENOTFOUND (got %d: %s)", status, err.message);
    }
}

static void check_listings(struct run *r)
{
    /* Stored out of order; 'a-' sorts before 'a/' in bytes, and the two-byte é last. */
    static const char *const names[] = {"list/b", "list/a/y", "list/\xc3\xa9", "list/a-", "list/a/x",
                                        "list/c/d/e"};
    struct stor_error err = {""};
    struct captured c;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char k[256];
        if (put_data(r, key(r, names[i], k, sizeof k), "x", 1, 0, NULL, &c, &err) != STOR_OK)
            check(r, 0, "put of %s for the listing checks (%s)", names[i], err.message);
    }
    char prefix[256], want[2048];
    key(r, "list/", prefix, sizeof prefix);
    struct listing l = {.count = 0};
    enum stor_status status =
        r->b->list(r->instance, r->bucket, prefix, STOR_LIST_RECURSIVE, collect, &l, &err);
    snprintf(want, sizeof want, "%sa-,%sa/x,%sa/y,%sb,%sc/d/e,%s\xc3\xa9", prefix, prefix, prefix,
             prefix, prefix, prefix);
    check(r, status == STOR_OK && !l.unsorted, "a recursive listing comes in ascending byte order");
    check(r, status == STOR_OK && strcmp(l.text, want) == 0,
          "a recursive listing holds exactly the keys under its prefix (got %s)", l.text);
    check(r, status == STOR_OK && !l.zeroed,
          "listed objects give -1 for what is unknown, not 0 (%s)", l.zeroed ? l.zeroed : "");
    if (declared(r, STOR_CAP_DELIMITER)) {
        memset(&l, 0, sizeof l);
        status = r->b->list(r->instance, r->bucket, prefix, 0, collect, &l, &err);
        snprintf(want, sizeof want, "%sa-,%sa/,%sb,%sc/,%s\xc3\xa9", prefix, prefix, prefix, prefix,
                 prefix);
        check(r, status == STOR_OK && strcmp(l.text, want) == 0 && !l.unsorted,
              "a one-level listing folds at '/' into prefix entries, in byte order (got %s)", l.text);
        char deeper[512];
        snprintf(deeper, sizeof deeper, "%sa/", prefix);
        memset(&l, 0, sizeof l);
        status = r->b->list(r->instance, r->bucket, deeper, 0, collect, &l, &err);
        snprintf(want, sizeof want, "%sx,%sy", deeper, deeper);
        check(r, status == STOR_OK && strcmp(l.text, want) == 0,
              "a one-level listing of a deeper prefix (got %s)", l.text);
    }
}

static void check_remove(struct run *r)
{
    if (!r->b->remove)
        return;
    char k[256];
    key(r, "removed", k, sizeof k);
    struct stor_error err = {""};
    struct captured c;
    put_data(r, k, "gone", 4, 0, NULL, &c, &err);
    enum stor_status status = r->b->remove(r->instance, r->bucket, k, &err);
    check(r, status == STOR_OK, "remove of a stored object succeeds (%s)", err.message);
    char *got;
    size_t size;
    status = get_data(r, r->bucket, k, NULL, &got, &size, &c, &err);
    free(got);
    struct listing l = {.count = 0};
    r->b->list(r->instance, r->bucket, k, STOR_LIST_RECURSIVE, collect, &l, &err);
    check(r, status == STOR_ENOTFOUND && l.count == 0,
          "a removed object is gone from get and from listings (get %d, %d listed)", status, l.count);
}

struct worker {
    struct run *r;
    int index, failures;
    char message[STOR_ERROR_MAX];
};

static void *work(void *context)
{
    struct worker *w = context;
    for (int i = 0; i < 6; i++) {
        char name[64], k[256], data[100];
        snprintf(name, sizeof name, "threads/%d-%d", w->index, i);
        key(w->r, name, k, sizeof k);
        int length = snprintf(data, sizeof data, "worker %d, round %d", w->index, i);
        struct stor_error err = {""};
        struct captured c;
        char *got = NULL;
        size_t size;
        struct listing l = {.count = 0};
        if (put_data(w->r, k, data, (size_t)length, 0, NULL, &c, &err) != STOR_OK ||
            get_data(w->r, w->r->bucket, k, NULL, &got, &size, &c, &err) != STOR_OK ||
            !same_bytes(got, size, data, (size_t)length) ||
            w->r->b->list(w->r->instance, w->r->bucket, k, STOR_LIST_RECURSIVE, collect, &l,
                          &err) != STOR_OK ||
            l.count != 1) {
            w->failures++;
            snprintf(w->message, sizeof w->message, "%s: %s", k, err.message);
        }
        free(got);
    }
    return NULL;
}

static void check_concurrency(struct run *r)
{
    struct worker workers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (struct worker){.r = r, .index = i};
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    int failures = 0;
    const char *message = "";
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        failures += workers[i].failures;
        if (workers[i].failures)
            message = workers[i].message;
    }
    check(r, failures == 0, "put, get and list from 4 threads at once on one instance (%d failed%s%s)",
          failures, failures ? ": " : "", message);
}

static void check_cancellation(struct run *r, char *large)
{
    char k[256];
    key(r, "cancelled", k, sizeof k);
    struct stor_error err = {""};
    struct captured c;
    put_data(r, k, "kept", 4, 0, NULL, &c, &err);
    atomic_store(&cancel_flag, 1);
    enum stor_status status = put_data(r, k, large, LARGE_SIZE, 1, NULL, &c, &err);
    atomic_store(&cancel_flag, 0);
    check(r, status == STOR_ECANCELLED,
          "a put with the host's cancellation flag raised returns STOR_ECANCELLED (got %d)", status);
    char *got;
    size_t size;
    status = get_data(r, r->bucket, k, NULL, &got, &size, &c, &err);
    check(r, status == STOR_OK && same_bytes(got, size, "kept", 4),
          "a cancelled put leaves the previous object as it was");
    free(got);
}

/* Each capability either works as declared, or its slot is NULL or answers STOR_EUNSUPPORTED. */
static void expect_unsupported(struct run *r, const char *capability, enum stor_status status,
                               const struct stor_error *err, const char *field)
{
    check(r, status == STOR_EUNSUPPORTED && (!field || strstr(err->message, field)),
          "%s is not declared: asking for it is STOR_EUNSUPPORTED%s%s (got %d: %s)", capability,
          field ? " naming " : "", field ? field : "", status, err->message);
}

static void check_versions(struct run *r)
{
    char k[256];
    key(r, "versions", k, sizeof k);
    struct stor_error err = {""};
    struct captured c;
    put_data(r, k, "one", 3, 0, NULL, &c, &err);
    put_data(r, k, "two", 3, 0, NULL, &c, &err);
    struct listing l = {.count = 0};
    enum stor_status status = r->b->list(r->instance, r->bucket, k,
                                         STOR_LIST_RECURSIVE | STOR_LIST_VERSIONS, collect, &l, &err);
    if (!declared(r, STOR_CAP_VERSIONS)) {
        expect_unsupported(r, "versions", status, &err, NULL);
        return;
    }
    check(r, status == STOR_OK && l.count >= 2, "a version listing shows both versions of a name "
          "put twice (%d listed: %s)", l.count, err.message);
}

static void check_ranges_and_resume(struct run *r)
{
    if (!r->b->get_ex)
        return;
    char k[256];
    key(r, "range", k, sizeof k);
    struct stor_error err = {""};
    struct captured c;
    put_data(r, k, "0123456789", 10, 0, NULL, &c, &err);
    struct stor_get_options o = {.struct_size = sizeof o, .offset = 2, .length = 3};
    char *got;
    size_t size;
    enum stor_status status = get_data(r, r->bucket, k, &o, &got, &size, &c, &err);
    if (declared(r, STOR_CAP_RANGED_GET))
        check(r, status == STOR_OK && same_bytes(got, size, "234", 3),
              "a ranged get returns exactly the bytes asked (%s)", err.message);
    else
        expect_unsupported(r, "ranged-get", status, &err, NULL);
    free(got);

    /* Resume: on_start names the version; the same version resumes, another is STOR_ESTALE. */
    struct captured started = {0};
    int fd = temp_file(r);
    o = (struct stor_get_options){.struct_size = sizeof o, .length = -1, .on_start = capture,
                                  .start_context = &started};
    status = r->b->get_ex(r->instance, r->bucket, k, &o, fd, capture, &c, &err);
    if (!declared(r, STOR_CAP_RESUME_GET)) {
        o = (struct stor_get_options){.struct_size = sizeof o, .offset = 4, .length = -1, .resume = 1};
        status = ftruncate(fd, 4) == 0 ? r->b->get_ex(r->instance, r->bucket, k, &o, fd, capture, &c, &err)
                                       : STOR_EIO;
        expect_unsupported(r, "resume-get", status, &err, NULL);
        close(fd);
        return;
    }
    check(r, status == STOR_OK && started.calls == 1 && started.id[0],
          "get_ex calls on_start once, with the version's id, before writing (%d calls, id '%s')",
          started.calls, started.id);
    o = (struct stor_get_options){.struct_size = sizeof o, .offset = 4, .length = -1, .resume = 1,
                                  .expected_id = "stor-check-another-version"};
    status = ftruncate(fd, 4) == 0 ? r->b->get_ex(r->instance, r->bucket, k, &o, fd, capture, &c, &err)
                                   : STOR_EIO;
    struct stat st;
    check(r, status == STOR_ESTALE && fstat(fd, &st) == 0 && st.st_size == 4,
          "a resume expecting another version is STOR_ESTALE and writes nothing (got %d: %s)",
          status, err.message);
    o.expected_id = started.id;
    status = r->b->get_ex(r->instance, r->bucket, k, &o, fd, capture, &c, &err);
    char whole[16] = "";
    check(r, status == STOR_OK && pread(fd, whole, sizeof whole, 0) == 10 &&
                 memcmp(whole, "0123456789", 10) == 0,
          "a resume of the expected version completes the file (%s)", err.message);
    close(fd);
}

static void check_put_ex(struct run *r)
{
    if (!r->b->put_ex) {
        if (declared(r, STOR_CAP_METADATA) || declared(r, STOR_CAP_MTIME))
            check(r, 0, "metadata or mtime is declared, but put_ex is NULL");
        return;
    }
    char k[256];
    key(r, "meta", k, sizeof k);
    struct stor_error err = {""};
    struct captured c;
    const struct stor_put_options plain = {.struct_size = sizeof plain, .size = 5, .mtime_ms = -1,
                                           .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    struct stor_put_options o = plain;
    o.mtime_ms = 1500000000123;
    enum stor_status status = put_data(r, k, "metad", 5, 0, &o, &c, &err);
    if (declared(r, STOR_CAP_MTIME)) {
        struct captured s = {0};
        enum stor_status seen = r->b->stat ? r->b->stat(r->instance, r->bucket, k, NULL, capture, &s, &err)
                                           : STOR_EUNSUPPORTED;
        check(r, status == STOR_OK && seen == STOR_OK && s.mtime_ms == 1500000000123,
              "put_ex keeps the source mtime and stat reads it back (%lld: %s)",
              (long long)s.mtime_ms, err.message);
    } else {
        expect_unsupported(r, "mtime", status, &err, "mtime");
    }
    struct stor_option meta = {"colour", "blue"};
    o = plain;
    o.content_type = "text/x-stor-check";
    o.metadata = &meta;
    o.metadata_count = 1;
    status = put_data(r, k, "metad", 5, 0, &o, &c, &err);
    if (declared(r, STOR_CAP_METADATA)) {
        struct captured s = {0};
        enum stor_status seen = r->b->stat ? r->b->stat(r->instance, r->bucket, k, NULL, capture, &s, &err)
                                           : STOR_EUNSUPPORTED;
        check(r, status == STOR_OK && seen == STOR_OK &&
                     strcmp(s.content_type, "text/x-stor-check") == 0 &&
                     strcmp(s.meta_key, "colour") == 0 && strcmp(s.meta_value, "blue") == 0,
              "put_ex keeps content type and user metadata, and stat reads them back (%s)",
              err.message);
    } else {
        expect_unsupported(r, "metadata", status, &err, "content-type");
    }
    if (!declared(r, STOR_CAP_ENCRYPTION)) {
        o = plain;
        o.protection.encryption = "SSE-B2";
        status = put_data(r, k, "metad", 5, 0, &o, &c, &err);
        expect_unsupported(r, "encryption", status, &err, "encryption");
    } else {
        /* The service-managed modes need no key option: one of them must work. */
        static const char *const modes[] = {"SSE-B2", "SSE-S3"};
        struct captured s = {0};
        const char *mode = NULL;
        for (size_t i = 0; !mode && i < sizeof modes / sizeof modes[0]; i++) {
            o = plain;
            o.protection.encryption = modes[i];
            if (put_data(r, k, "metad", 5, 0, &o, &c, &err) == STOR_OK)
                mode = modes[i];
        }
        enum stor_status seen = mode && r->b->stat
                                    ? r->b->stat(r->instance, r->bucket, k, NULL, capture, &s, &err)
                                    : STOR_EUNSUPPORTED;
        check(r, seen == STOR_OK && strcmp(s.encryption, mode) == 0,
              "encryption is declared: put_ex with SSE-B2 or SSE-S3 works and stat reports it (%s)",
              err.message);
    }
    if (!declared(r, STOR_CAP_RETENTION)) {
        o = plain;
        o.protection.retention_mode = "governance";
        o.protection.retain_until_ms = 4102444800000;
        status = put_data(r, k, "metad", 5, 0, &o, &c, &err);
        expect_unsupported(r, "retention", status, &err, "retention");
    }
}

static void check_sha1(struct run *r)
{
    if (!declared(r, STOR_CAP_SHA1))
        return;
    char k[256];
    key(r, "sha1", k, sizeof k);
    struct stor_error err = {""};
    struct captured c;
    put_data(r, k, "abc", 3, 0, NULL, &c, &err);
    check(r, strcmp(c.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0,
          "put reports the object's SHA-1 (got '%s')", c.sha1);
}

static void check_copy(struct run *r)
{
    if (!r->b->copy)
        return;
    char from[256], to[256];
    key(r, "copy-from", from, sizeof from);
    key(r, "copy-to", to, sizeof to);
    struct stor_error err = {""};
    struct captured c;
    put_data(r, from, "copied", 6, 0, NULL, &c, &err);
    memset(&c, 0, sizeof c);
    enum stor_status status = r->b->copy(r->instance, r->bucket, from, r->bucket, to, capture, &c, &err);
    if (!declared(r, STOR_CAP_SERVER_COPY)) {
        expect_unsupported(r, "server-copy", status, &err, NULL);
        return;
    }
    char *got;
    size_t size;
    int reported = c.calls;
    enum stor_status read = get_data(r, r->bucket, to, NULL, &got, &size, &c, &err);
    check(r, status == STOR_OK && reported == 1 && read == STOR_OK && same_bytes(got, size, "copied", 6),
          "copy makes the same bytes under the new name and reports it once (%s)", err.message);
    free(got);
}

static void got_url(void *context, const char *url, int64_t expires_at_ms)
{
    struct captured *c = context;
    c->calls++;
    snprintf(c->key, sizeof c->key, "%s", url ? url : "");
    c->mtime_ms = expires_at_ms;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void check_share(struct run *r)
{
    if (!r->b->share)
        return;
    char k[256];
    key(r, "one-byte", k, sizeof k);
    struct stor_error err = {""};
    struct captured c = {0};
    int64_t before = now_ms();
    enum stor_status status = r->b->share(r->instance, r->bucket, k, 3600 * 1000, got_url, &c, &err);
    if (!declared(r, STOR_CAP_SHARE)) {
        expect_unsupported(r, "share", status, &err, NULL);
        return;
    }
    check(r, status == STOR_OK && c.calls == 1 && c.key[0] && c.mtime_ms >= before + 3590 * 1000 &&
                 c.mtime_ms <= now_ms() + 3610 * 1000,
          "share reports one URL expiring when asked (%s)", err.message);
}

static int collect_bucket(void *context, const struct stor_bucket *bucket)
{
    struct listing *l = context;
    struct stor_object as_object = {.key = bucket->name};
    return collect(l, &as_object);
}

static void check_buckets(struct run *r)
{
    if (!r->b->list_buckets)
        return;
    struct stor_error err = {""};
    struct listing l = {.count = 0};
    enum stor_status status = r->b->list_buckets(r->instance, collect_bucket, &l, &err);
    if (!declared(r, STOR_CAP_BUCKETS)) {
        expect_unsupported(r, "buckets", status, &err, NULL);
        return;
    }
    check(r, status == STOR_OK && !l.unsorted, "list_buckets comes in ascending byte order (%s)",
          err.message);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strlen(r->prefix) - 1, r->prefix); /* no '/' */
    struct stor_bucket_options o = {.struct_size = sizeof o};
    status = r->b->create_bucket(r->instance, name, &o, NULL, NULL, &err);
    check(r, status == STOR_OK, "create_bucket makes a new bucket (%s)", err.message);
    enum stor_status again = r->b->create_bucket(r->instance, name, &o, NULL, NULL, &err);
    check(r, again == STOR_EINVAL, "create_bucket of an existing bucket is STOR_EINVAL (got %d)", again);
    memset(&l, 0, sizeof l);
    r->b->list_buckets(r->instance, collect_bucket, &l, &err);
    check(r, strstr(l.text, name) != NULL, "a new bucket is listed");
    if (r->b->update_bucket) {
        memset(&l, 0, sizeof l);
        struct stor_bucket_options unchanged = {.struct_size = sizeof unchanged, .is_public = -1};
        status = r->b->update_bucket(r->instance, name, &unchanged, collect_bucket, &l, &err);
        check(r, status == STOR_OK && l.count == 1 && strcmp(l.text, name) == 0,
              "update_bucket with nothing to change reports the bucket once (%s)", err.message);
        struct stor_option odd = {"stor-check-no-such-setting", "1"};
        struct stor_bucket_options unknown = unchanged;
        unknown.settings = &odd;
        unknown.setting_count = 1;
        status = r->b->update_bucket(r->instance, name, &unknown, NULL, NULL, &err);
        check(r, status == STOR_EINVAL && strstr(err.message, odd.key),
              "update_bucket refuses an unknown setting by name (got %d: %s)", status, err.message);
    }
    status = r->b->delete_bucket(r->instance, name, &err);
    again = r->b->delete_bucket(r->instance, name, &err);
    check(r, status == STOR_OK && again == STOR_ENOTFOUND,
          "delete_bucket removes an empty bucket; a second time it is STOR_ENOTFOUND (%d, %d)",
          status, again);
    if (r->b->update_bucket) {
        struct stor_bucket_options unchanged = {.struct_size = sizeof unchanged, .is_public = -1};
        status = r->b->update_bucket(r->instance, name, &unchanged, NULL, NULL, &err);
        check(r, status == STOR_ENOTFOUND, "update_bucket of a missing bucket is STOR_ENOTFOUND "
              "(got %d: %s)", status, err.message);
    }
}

/* protect needs a bucket with Object Lock, which no generic check can count on: only an
 * undeclared retention capability is checked. */
static void check_protect(struct run *r)
{
    if (!r->b->protect || declared(r, STOR_CAP_RETENTION))
        return;
    char k[256];
    key(r, "one-byte", k, sizeof k);
    struct stor_protection hold = {.retain_until_ms = -1, .legal_hold = 1};
    struct stor_error err = {""};
    enum stor_status status =
        r->b->protect(r->instance, r->bucket, k, NULL, &hold, 0, NULL, NULL, &err);
    expect_unsupported(r, "retention", status, &err, NULL);
}

/* Removes everything under the run's prefix (best effort: what remove cannot, stays). */
struct doomed {
    char **keys;
    size_t count, capacity;
};

static int doom(void *context, const struct stor_object *o)
{
    struct doomed *d = context;
    if (d->count == d->capacity) {
        char **grown = realloc(d->keys, (d->capacity = d->capacity ? 2 * d->capacity : 64) * sizeof *grown);
        if (!grown)
            return 1;
        d->keys = grown;
    }
    d->keys[d->count] = strdup(o->key);
    if (d->keys[d->count])
        d->count++;
    return 0;
}

static void clean_up(struct run *r)
{
    if (!r->b->remove)
        return;
    struct doomed d = {0};
    struct stor_error err = {""};
    r->b->list(r->instance, r->bucket, r->prefix, STOR_LIST_RECURSIVE, doom, &d, &err);
    for (size_t i = 0; i < d.count; i++) {
        struct stor_remove_options all = {.struct_size = sizeof all, .flags = STOR_REMOVE_ALL_VERSIONS};
        if (!r->b->remove_ex || !declared(r, STOR_CAP_VERSIONS) ||
            r->b->remove_ex(r->instance, r->bucket, d.keys[i], &all, &err) != STOR_OK)
            r->b->remove(r->instance, r->bucket, d.keys[i], &err);
        free(d.keys[i]);
    }
    free(d.keys);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int usage(void)
{
    fputs("usage: stor-plugin-check PATH/TO/NAME.so [--bucket=NAME] [-o KEY=VALUE]...\n"
          "Checks a stor backend plugin against the promises of <stor/plugin.h> (see\n"
          "stor-plugin(7)); works in BUCKET (default stor-check) under a fresh prefix.\n",
          stderr);
    return 2;
}

static int load(struct run *r, const char *file)
{
    char dir[PATH_MAX], name[256];
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    size_t length = strlen(base);
    if (length < 4 || strcmp(base + length - 3, ".so") != 0 || length - 3 >= sizeof name) {
        fprintf(stderr, "stor-plugin-check: %s: expected a plugin file NAME.so\n", file);
        return 2;
    }
    snprintf(name, sizeof name, "%.*s", (int)(length - 3), base);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
    if (!realpath(parent[0] ? parent : "/", dir)) {
        fprintf(stderr, "stor-plugin-check: %s: %s\n", parent, strerror(errno));
        return 2;
    }
    struct stor_search_path path = {.count = 0};
    stor_search_path_add(&path, dir);
    struct stor_error err = {""};
    if (stor_plugin_load(name, &path, NULL, &r->plugin, &err) != STOR_OK) {
        fprintf(stderr, "stor-plugin-check: %s\n", err.message);
        return 2;
    }
    r->b = &r->plugin.table;
    plugin_abi = r->b->abi_version;
    return 0;
}

int main(int argc, char **argv)
{
    struct run r = {.bucket = "stor-check"};
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            value = argv[++i];
        else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2])
            value = argv[i] + 2;
        else if (strncmp(argv[i], "--bucket=", 9) == 0 && argv[i][9])
            r.bucket = argv[i] + 9;
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return usage();
        if (value) {
            char *equals = strchr(value, '=');
            if (!equals || equals == value || r.option_count == MAX_OPTIONS)
                return usage();
            *equals = '\0';
            r.options[r.option_count++] = (struct stor_option){value, equals + 1};
        }
    }
    if (!file)
        return usage();
    signal(SIGPIPE, SIG_IGN); /* a plugin that stops reading a pipe early must not end the run */
    int code = load(&r, file);
    if (code != 0)
        return code;
    for (int intent = 0; intent < 2; intent++)
        hosts[intent] = (struct stor_host){
            .abi_version = STOR_ABI_VERSION, .struct_size = sizeof(struct stor_host),
            .log_level = STOR_LOG_WARN, .log = check_log, .progress = check_progress,
            .cancelled = check_cancelled, .count = check_count, .intent = (enum stor_intent)intent};
    unsigned char random[4];
    if (getentropy(random, sizeof random) != 0)
        return 2;
    snprintf(r.prefix, sizeof r.prefix, "stor-check-%02x%02x%02x%02x/", random[0], random[1],
             random[2], random[3]);
    const char *tmp = getenv("TMPDIR");
    snprintf(r.tmpdir, sizeof r.tmpdir, "%s", tmp && tmp[0] == '/' ? tmp : "/tmp");

    char caps[512];
    stor_capabilities_text(r.b->capabilities, caps, sizeof caps);
    printf("# %s: backend %s, ABI %u, declares: %s\n", r.plugin.path, r.b->name,
           r.b->abi_version, caps);
    check_table(&r);
    check_unknown_option(&r);
    struct stor_error err = {""};
    enum stor_status status =
        r.b->open(&hosts[STOR_INTENT_WRITE], r.options, r.option_count, &r.instance, &err);
    if (!check(&r, status == STOR_OK, "open with the options given (%s)", err.message)) {
        printf("%d passed, %d failed\n", r.passed, r.failed);
        stor_plugin_unload(&r.plugin);
        return 1;
    }
    char *large = malloc(LARGE_SIZE);
    if (!large)
        return 2;
    pattern(large, LARGE_SIZE, 1);
    check_round_trips(&r, large);
    check_not_found(&r);
    check_listings(&r);
    check_remove(&r);
    check_concurrency(&r);
    check_cancellation(&r, large);
    check_versions(&r);
    check_ranges_and_resume(&r);
    check_put_ex(&r);
    check_sha1(&r);
    check_copy(&r);
    check_share(&r);
    check_buckets(&r);
    check_protect(&r);
    if (declared(&r, STOR_CAP_RESUME_PUT))
        printf("# resume-put is declared: no generic check exists for it\n");
    clean_up(&r);
    r.b->close(r.instance);
    stor_plugin_unload(&r.plugin);
    free(large);
    printf("%d passed, %d failed\n", r.passed, r.failed);
    return r.failed ? 1 : 0;
}
