/* profiles.c — the config file: found, checked as a secret's home must be (the user's own, no
 * one else may read or change it), parsed strictly, and turned into backend options. */
#include "profiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONFIG_MAX (1 << 20)
#define KEY_TEXT_MAX 65536

static int fail(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return -1;
}

static int locate(struct stor_profiles *p)
{
    const char *explicit = getenv("STOR_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"),
               *home = getenv("HOME");
    if (explicit && *explicit) {
        p->chosen_by = "STOR_CONFIG";
        return snprintf(p->path, sizeof p->path, "%s", explicit) < (int)sizeof p->path ? 0 : -1;
    }
    if (xdg && xdg[0] == '/') { /* the XDG rule: a relative value is to be ignored */
        p->chosen_by = "XDG_CONFIG_HOME";
        return snprintf(p->path, sizeof p->path, "%s/stor/config", xdg) < (int)sizeof p->path ? 0 : -1;
    }
    if (!home || home[0] != '/')
        return 1; /* nowhere to look: no profiles */
    p->chosen_by = "HOME";
    return snprintf(p->path, sizeof p->path, "%s/.config/stor/config", home) < (int)sizeof p->path ? 0 : -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* Profile names are what a NAME: prefix may be (the host's rule for backend names too). */
static int valid_name(const char *s, size_t max)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    return n > 0 && n <= max && s[n] == '\0';
}

static int valid_key(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
    return n > 0 && n <= 64 && s[n] == '\0';
}

static int add_entry(struct stor_profile *pr, const char *key, const char *value, int line,
                     char *why, size_t size)
{
    for (size_t i = 0; i < pr->option_count; i++)
        if (strcmp(pr->options[i].key, key) == 0)
            return fail(why, size, "line %d: %s is set twice in [%s]", line, key, pr->name);
    const char **host_key = strcmp(key, "backend") == 0       ? &pr->backend
                            : strcmp(key, "key_command") == 0 ? &pr->key_command
                            : strcmp(key, "key_id") == 0      ? &pr->key_id
                            : strcmp(key, "key") == 0         ? &pr->key
                                                              : NULL;
    if (host_key) {
        if (*host_key)
            return fail(why, size, "line %d: %s is set twice in [%s]", line, key, pr->name);
        if (!*value)
            return fail(why, size, "line %d: %s has no value", line, key);
        *host_key = value;
        return 0;
    }
    if (pr->option_count == STOR_PROFILE_OPTIONS_MAX)
        return fail(why, size, "line %d: [%s] has more than %d options", line, pr->name,
                    STOR_PROFILE_OPTIONS_MAX);
    pr->options[pr->option_count++] = (struct stor_option){key, value};
    return 0;
}

static int check_profile(const struct stor_profile *pr, char *why, size_t size)
{
    if (!pr->backend)
        return fail(why, size, "line %d: [%s] names no backend (backend = NAME)", pr->line, pr->name);
    if (!valid_name(pr->backend, 64))
        return fail(why, size, "line %d: [%s]: backend '%.64s%s' is not a backend name", pr->line,
                    pr->name, pr->backend, strlen(pr->backend) > 64 ? "..." : "");
    int key_file = 0;
    for (size_t i = 0; i < pr->option_count; i++)
        key_file |= strcmp(pr->options[i].key, "key_file") == 0;
    int ways = key_file + (pr->key_command != NULL) + (pr->key_id || pr->key);
    if (ways > 1)
        return fail(why, size, "line %d: [%s] gives its key more than one way (key_file, "
                    "key_command, key_id + key): choose one", pr->line, pr->name);
    if (!pr->key_id != !pr->key)
        return fail(why, size, "line %d: [%s] has %s without %s", pr->line, pr->name,
                    pr->key ? "key" : "key_id", pr->key ? "key_id" : "key");
    return 0;
}

static int parse(struct stor_profiles *p, char *why, size_t size)
{
    struct stor_profile *current = NULL;
    int line = 0;
    for (char *next = p->text, *text; next && *next;) {
        text = next;
        next = strchr(text, '\n');
        if (next)
            *next++ = '\0';
        line++;
        char *s = trim(text);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || *trim(close + 1))
                return fail(why, size, "line %d: a section is [NAME] alone on its line", line);
            *close = '\0';
            char *name = trim(s + 1);
            if (!valid_name(name, 64))
                return fail(why, size, "line %d: profile name '%.64s' must be 1 to 64 of a-z 0-9 _ -",
                            line, name);
            if (stor_profiles_find(p, name))
                return fail(why, size, "line %d: profile [%s] is defined twice", line, name);
            if (current && check_profile(current, why, size) != 0)
                return -1;
            if (p->count == STOR_PROFILES_MAX)
                return fail(why, size, "line %d: more than %d profiles", line, STOR_PROFILES_MAX);
            current = &p->items[p->count++];
            memset(current, 0, sizeof *current);
            current->name = name;
            current->line = line;
            continue;
        }
        char *equals = strchr(s, '=');
        if (!equals)
            return fail(why, size, "line %d: expected KEY = VALUE or [NAME]", line);
        *equals = '\0';
        char *key = trim(s), *value = trim(equals + 1);
        if (!current)
            return fail(why, size, "line %d: %s is outside any [profile]", line, key);
        if (!valid_key(key))
            return fail(why, size, "line %d: '%.64s' is not an option name (a-z 0-9 _ . -)", line, key);
        if (add_entry(current, key, value, line, why, size) != 0)
            return -1;
    }
    return current ? check_profile(current, why, size) : 0;
}

int stor_profiles_load(struct stor_profiles *p, char *why, size_t why_size)
{
    memset(p, 0, sizeof *p);
    int located = locate(p);
    if (located != 0)
        return located > 0 ? 0 : fail(why, why_size, "the config file's path is too long");
    /* O_NONBLOCK: a FIFO planted at the path must not hang stor; it is refused below. */
    int fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT && strcmp(p->chosen_by, "STOR_CONFIG") != 0)
        return 0;
    if (fd < 0)
        return fail(why, why_size, "config %s (from %s): %s", p->path, p->chosen_by, strerror(errno));
    struct stat st;
    const char *refused = NULL;
    if (fstat(fd, &st) != 0)
        refused = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        refused = "not a regular file";
    else if (st.st_uid != geteuid())
        refused = "owned by another user: it could name any command as key_command";
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        refused = "group or others may read or change it: chmod 600 it";
    else if (st.st_size > CONFIG_MAX)
        refused = "larger than 1 MiB";
    if (refused) {
        close(fd);
        return fail(why, why_size, "config %s refused: %s", p->path, refused);
    }
    p->exists = 1;
    p->text = malloc((size_t)st.st_size + 1);
    ssize_t got = p->text ? read(fd, p->text, (size_t)st.st_size) : -1;
    int e = errno;
    close(fd);
    if (got < 0 || got != st.st_size) {
        stor_profiles_free(p);
        return fail(why, why_size, "config %s: %s", p->path, got < 0 ? strerror(e) : "changed while read");
    }
    p->text[got] = '\0';
    if (strlen(p->text) != (size_t)got) {
        stor_profiles_free(p);
        return fail(why, why_size, "config %s: holds a NUL byte: not a text file", p->path);
    }
    char reason[512];
    if (parse(p, reason, sizeof reason) != 0) {
        fail(why, why_size, "config %s: %s", p->path, reason);
        stor_profiles_free(p);
        return -1;
    }
    return 0;
}

const struct stor_profile *stor_profiles_find(const struct stor_profiles *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

int stor_profile_key_is_secret(const char *key)
{
    if (strcmp(key, "key_file") == 0 || strcmp(key, "key_command") == 0 ||
        strcmp(key, "key_id") == 0 || strcmp(key, "sse_c_key_file") == 0)
        return 0;
    size_t n = strlen(key);
    return strcmp(key, "key") == 0 || (n > 4 && strcmp(key + n - 4, "_key") == 0) ||
           strstr(key, "secret") || strstr(key, "password") || strstr(key, "token");
}

/* Runs the command with the shell, stdin from /dev/null; its stdout (bounded) is the key text. */
static int run_key_command(const struct stor_profile *pr, char *text, size_t size, size_t *length,
                           char *why, size_t why_size)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return fail(why, why_size, "profile %s: cannot make a pipe: %s", pr->name, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return fail(why, why_size, "profile %s: cannot run key_command: %s", pr->name, strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", pr->key_command, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    *length = 0;
    int too_long = 0;
    for (;;) {
        char *at = text + *length;
        size_t room = size - 1 - *length;
        ssize_t n = read(out[0], room ? at : (char[256]){0}, room ? room : 256);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (room)
            *length += (size_t)n;
        else
            too_long = 1; /* drained, so the command is not stuck on a full pipe */
    }
    close(out[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    text[*length] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(why, why_size, "profile %s: key_command %s %d", pr->name,
                    WIFEXITED(status) ? "exited with status" : "was killed by signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    if (too_long)
        return fail(why, why_size, "profile %s: key_command printed more than 64 KiB", pr->name);
    return 0;
}

/* The key text goes into an in-memory file, owner-only and sealed against change. */
static int key_memory_file(const struct stor_profile *pr, const char *text, size_t length,
                           char *why, size_t why_size)
{
    int fd = memfd_create("stor-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return fail(why, why_size, "profile %s: cannot hold the key in memory: %s", pr->name,
                    strerror(errno));
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n <= 0) {
            close(fd);
            return fail(why, why_size, "profile %s: cannot hold the key in memory", pr->name);
        }
        done += (size_t)n;
    }
    if (fchmod(fd, 0600) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        close(fd);
        return fail(why, why_size, "profile %s: cannot seal the key in memory: %s", pr->name,
                    strerror(errno));
    }
    return fd;
}

int stor_profile_add_options(const struct stor_profile *pr, struct stor_option_list *list,
                             char *key_path, size_t key_path_size, int *fd, char *why,
                             size_t why_size)
{
    *fd = -1;
    for (size_t i = 0; i < pr->option_count; i++)
        stor_options_add(list, pr->options[i].key, pr->options[i].value);
    if (!pr->key_command && !pr->key)
        return 0;
    static char output[KEY_TEXT_MAX + 1], text[KEY_TEXT_MAX + 3]; /* wiped after use */
    size_t length = 0;
    int rc = 0;
    if (pr->key_command) {
        rc = run_key_command(pr, output, sizeof output, &length, why, why_size);
        char *save = NULL, *first = rc == 0 ? strtok_r(output, "\r\n", &save) : NULL;
        char *second = first ? strtok_r(NULL, "\r\n", &save) : NULL;
        if (rc == 0 && !second)
            rc = fail(why, why_size, "profile %s: key_command printed %s: two lines expected "
                      "(the key id, then the key)", pr->name, first ? "one line" : "nothing");
        if (rc == 0)
            length = (size_t)snprintf(text, sizeof text, "%s\n%s\n", first, second);
    } else {
        length = (size_t)snprintf(text, sizeof text, "%s\n%s\n", pr->key_id, pr->key);
    }
    if (rc == 0)
        rc = *fd = key_memory_file(pr, text, length, why, why_size);
    explicit_bzero(output, sizeof output);
    explicit_bzero(text, sizeof text);
    if (rc < 0)
        return -1;
    snprintf(key_path, key_path_size, "/proc/self/fd/%d", *fd);
    stor_options_add(list, "key_file", key_path);
    return 0;
}

void stor_profiles_free(struct stor_profiles *p)
{
    free(p->text);
    p->text = NULL;
    p->count = 0;
}
