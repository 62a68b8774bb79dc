/* main.c — the stor command line: global options, the plugin search path, backend options from
 * -o and STOR_<BACKEND>_<KEY>, and dispatch to one command. Knows no backend by its options. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "host.h"
#include "loader.h"
#include "options.h"
#include "paths.h"
#include "places.h"
#include "values.h"

#ifndef STOR_PKGLIBDIR
#error "STOR_PKGLIBDIR must name the installed plugin directory"
#endif


/* Command options: each sets one bit, and each command lists the bits it accepts. */
enum {
    FLAG_LONG = 1 << 0,       /* -l */
    FLAG_RECURSIVE = 1 << 1,  /* -r */
    FLAG_TRANSFERS = 1 << 2,  /* --transfers */
    FLAG_TREE = 1 << 3,       /* --skip-existing, --include, --exclude: with -r only */
    FLAG_DRY_RUN = 1 << 4,    /* --dry-run */
    FLAG_VERSIONS = 1 << 5,   /* --versions */
    FLAG_HARD = 1 << 6,       /* --hard */
    FLAG_VERSION = 1 << 7,    /* --version=ID */
    FLAG_YES = 1 << 8,        /* --yes */
    FLAG_RANGE = 1 << 9,      /* --range */
    FLAG_OLDER = 1 << 10,     /* --older-than */
    FLAG_NO_RESUME = 1 << 11, /* --no-resume */
    FLAG_FOLLOW = 1 << 12,    /* -L, --follow-links */
    FLAG_KEEP = 1 << 13,      /* --content-type, --meta, the HTTP headers */
    FLAG_EXPIRES = 1 << 14,   /* --expires (put: a header; share: a duration) */
    FLAG_PUBLIC = 1 << 15,    /* --public */
    FLAG_FORCE = 1 << 16,     /* --force */
    FLAG_PROTECT = 1 << 17,   /* --sse, --retention, --legal-hold */
    FLAG_SETTINGS = 1 << 18,  /* mb: --default-sse, --object-lock, --keep-old-versions, --hide-after */
    FLAG_DELETE = 1 << 19,      /* sync --delete */
    FLAG_MAX_DELETE = 1 << 20,  /* sync --max-delete=N */
    FLAG_CHECKSUM = 1 << 21,    /* sync/check --checksum */
    FLAG_SIZE_ONLY = 1 << 22,   /* sync/check --size-only */
    FLAG_ALLOW_EMPTY = 1 << 23, /* sync --allow-empty-source */
    FLAG_BYPASS = 1 << 24,      /* rm, retention: --bypass-governance */
    FLAG_PRIVATE = 1 << 25,     /* bucket --private */
};

static const char *const flag_names[] = {
    "-l", "-r", "--transfers", "--skip-existing/--include/--exclude", "--dry-run", "--versions",
    "--hard", "--version", "--yes", "--range", "--older-than", "--no-resume", "-L",
    "--content-type/--meta/--cache-control/--content-*", "--expires", "--public", "--force",
    "--sse/--retention/--legal-hold", "--default-sse/--object-lock/--keep-old-versions/--hide-after",
    "--delete", "--max-delete", "--checksum", "--size-only", "--allow-empty-source",
    "--bypass-governance", "--private",
};

#define KEEP_HELP \
    "\nmetadata options, where the backend keeps metadata (stor backends: metadata):\n" \
    "  --content-type=TYPE   else the type of the name's extension in /etc/mime.types, else\n" \
    "                        the backend's default\n" \
    "  --meta=KEY=VALUE      user metadata (repeatable)\n" \
    "  --cache-control=V, --content-disposition=V, --content-encoding=V,\n" \
    "  --content-language=V, --expires=V   served as those HTTP headers on download\n" \
    "  --sse=b2|c            encryption at rest: the service's keys, or yours (SSE-C; the key\n" \
    "                        is a backend option, e.g. -o sse_c_key_file=PATH)\n" \
    "  --retention=governance:30d|compliance:2027-01-31   Object Lock until then\n" \
    "  --legal-hold=on|off   Object Lock legal hold\n"

#define TRANSFER_HELP \
    "\ndirectory transfers (with -r):\n" \
    "  --transfers=N       files moved in parallel (default 8); without -r, parallel parts of\n" \
    "                      one large file where the backend splits files (B2: -o transfers)\n" \
    "  --skip-existing     skip files already there with the same size and modification\n" \
    "                      time, or the same size and SHA-1\n" \
    "  --include=GLOB      take only matching paths; --exclude=GLOB leaves them out. The\n" \
    "                      first matching rule decides; a GLOB without '/' matches a name at\n" \
    "                      any depth, with '/' the path from the top; a trailing '/' matches\n" \
    "                      directories only (never entered); '*' and '?' stay within a name,\n" \
    "                      '**' crosses '/'\n" \
    "  --dry-run           say what would be done, do nothing\n" \
    "  -L, --follow-links  put -r: follow symbolic links (each directory is entered once);\n" \
    "                      without it links, FIFOs and devices are left out and counted\n" \
    "Each file is reported with -v (every file, and a summary object, with --json); one failed\n" \
    "file does not stop the others: the run ends with a summary and exit code 7."

struct command {
    const char *name;
    const char *args;     /* usage after the name */
    int arg_count;
    unsigned flags;       /* command options it accepts */
    const char *help;
    enum stor_intent intent; /* STOR_INTENT_READ: the backend may create nothing */
};

static const struct command commands[] = {
    {"put", "[-r [-L]] [--no-resume] [TRANSFER/METADATA OPTIONS] LOCAL BUCKET/KEY", 2,
     FLAG_RECURSIVE | FLAG_TRANSFERS | FLAG_TREE | FLAG_DRY_RUN | FLAG_NO_RESUME | FLAG_FOLLOW |
         FLAG_KEEP | FLAG_EXPIRES | FLAG_PROTECT,
     "Store the file LOCAL (- for standard input) as BUCKET/KEY, replacing any previous object;\n"
     "to BUCKET/PREFIX/ (or BUCKET alone) the file keeps its own name, as cp does.\n"
     "With -r, LOCAL is a directory and every file below it is stored under BUCKET/KEY/.\n"
     "A large upload that failed or was killed is resumed by the next put of the same file to\n"
     "the same name, where the backend supports it; --no-resume starts afresh, and cancels\n"
     "what a failed upload started instead of keeping it.\n"
     KEEP_HELP TRANSFER_HELP, STOR_INTENT_WRITE},
    {"get", "[-r [TRANSFER OPTIONS]] [--version=ID] [--range=A-B] BUCKET/KEY LOCAL", 2,
     FLAG_RECURSIVE | FLAG_TRANSFERS | FLAG_TREE | FLAG_DRY_RUN | FLAG_VERSION | FLAG_RANGE,
     "Fetch BUCKET/KEY into LOCAL (- for standard output; a directory keeps the key's last\n"
     "segment as the name). The file appears only once complete and verified, with the\n"
     "object's modification time; an interrupted download is continued by the next get.\n"
     "  --version=ID      that version (ids: ls --versions)\n"
     "  --range=A-B       bytes A to B inclusive (A- for the rest); nothing to verify then\n"
     "With -r, every object under BUCKET/KEY/ goes below the directory LOCAL; a name that\n"
     "would escape it is refused and reported.\n"
     TRANSFER_HELP, STOR_INTENT_READ},
    {"ls", "[-l] [-r] [--versions] [BUCKET[/PREFIX]]", 1, FLAG_LONG | FLAG_RECURSIVE | FLAG_VERSIONS,
     "List one level of keys under PREFIX with size and modification time (UTC); JSON Lines\n"
     "with --json. Without BUCKET, list the buckets (as stor buckets).\n"
     "  -l, --long        also SHA-1, content type and id where the backend knows them\n"
     "  -r, --recursive   every key under PREFIX, not one level\n"
     "  --versions        every version with its id, hidden ones marked", STOR_INTENT_READ},
    {"stat", "[--version=ID] BUCKET/KEY", 1, FLAG_VERSION,
     "Print every field the backend knows of BUCKET/KEY (or of version ID): size, SHA-1, id,\n"
     "content type, modification and upload times, HTTP headers, user metadata, encryption,\n"
     "retention and legal hold; one JSON object with --json.", STOR_INTENT_READ},
    {"rm", "[--hard | --version=ID] [--bypass-governance] [-r [--yes] [--dry-run]] BUCKET/KEY", 1,
     FLAG_RECURSIVE | FLAG_HARD | FLAG_VERSION | FLAG_YES | FLAG_DRY_RUN | FLAG_BYPASS,
     "Remove BUCKET/KEY. What that means is the backend's (see stor --backend=NAME --help):\n"
     "on B2 the file is hidden and its versions stay; the local backend deletes.\n"
     "  --hard            delete every version for good\n"
     "  --version=ID      delete that one version for good\n"
     "  -r                everything under BUCKET/KEY/; asks on a terminal, needs --yes elsewhere\n"
     "  --dry-run         list what would go\n"
     "  --bypass-governance   also versions under governance retention (Object Lock), where\n"
     "                    the credentials allow it", STOR_INTENT_WRITE},
    {"retention", "[--version=ID] [--bypass-governance] BUCKET/KEY MODE:WHEN|none", 2, FLAG_VERSION | FLAG_BYPASS,
     "Set the Object Lock retention of BUCKET/KEY (or of version ID): governance:30d,\n"
     "compliance:2027-01-31 (or a date and time, UTC), or none. Compliance can only be extended;\n"
     "governance is shortened or removed only with --bypass-governance.", STOR_INTENT_WRITE},
    {"legal-hold", "[--version=ID] BUCKET/KEY on|off", 2, FLAG_VERSION,
     "Put the Object Lock legal hold of BUCKET/KEY (or of version ID) on or off: while it is on,\n"
     "the version cannot be deleted.", STOR_INTENT_WRITE},
    {"cp", "[--transfers=N] BUCKET/KEY BUCKET/KEY2", 2, FLAG_TRANSFERS,
     "Copy an object inside the service: the bytes never pass through this machine where the\n"
     "backend can copy. Otherwise, and between two places (cp b2:a/k local:b/k), the bytes\n"
     "stream through stor with bounded memory, never through a temporary file: a large object\n"
     "comes in N ranges at once (default 8, 8 MiB each) where the source serves ranges. The\n"
     "copy is held to the size and SHA-1 the source states, so that a broken or lying download\n"
     "stores nothing and leaves the previous object as it was; the modification time, content\n"
     "type, headers and metadata go along where the destination keeps them.", STOR_INTENT_WRITE},
    {"mv", "[--hard] [--transfers=N] BUCKET/KEY BUCKET/KEY2", 2, FLAG_HARD | FLAG_TRANSFERS,
     "Copy as cp does, then remove the source (--hard: every version of it, for good).",
     STOR_INTENT_WRITE},
    {"cleanup", "[--older-than=DURATION] [--dry-run] BUCKET[/PREFIX]", 1, FLAG_OLDER | FLAG_DRY_RUN,
     "Cancel unfinished large uploads under PREFIX, listing each.\n"
     "  --older-than=DURATION   only those started longer ago: 90s, 30m, 12h, 7d\n"
     "  --dry-run               list only", STOR_INTENT_WRITE},
    {"buckets", "[-l]", 0, FLAG_LONG,
     "List the buckets the credentials may use: private or public, and the name; -l adds the\n"
     "id, the creation time and the backend's settings.", STOR_INTENT_READ},
    {"bucket", "[--public | --private] [BUCKET OPTIONS] BUCKET", 1,
     FLAG_PUBLIC | FLAG_PRIVATE | FLAG_SETTINGS,
     "Show a bucket (visibility, id, settings); with options, change it first: --public,\n"
     "--private, and mb's --default-sse, --keep-old-versions, --hide-after (or -o\n"
     "bucket.KEY=VALUE). Settings not given stay as they are; --lifecycle gives every rule\n"
     "there is to be (--lifecycle=none: none).", STOR_INTENT_READ},
    {"mb", "[--public] [BUCKET OPTIONS] BUCKET", 1, FLAG_PUBLIC | FLAG_SETTINGS,
     "Make a bucket, private unless --public (anyone may then read its objects).\n"
     "  --default-sse=b2          encrypt every object at rest by default\n"
     "  --object-lock             allow Object Lock (retention, legal hold) on its objects\n"
     "  --keep-old-versions=30d   delete versions that many days after they were hidden\n"
     "  --hide-after=90d          hide objects that many days after their upload\n"
     "  --lifecycle=RULE          one rule per prefix (repeat for more), instead of the two\n"
     "                            above: hide-after=90d,keep-old-versions=30d,\n"
     "                            cancel-unfinished=7d (any of them), then prefix=logs/ last\n"
     "What a backend cannot set it refuses by name (stor buckets -l shows what a bucket has).",
     STOR_INTENT_WRITE},
    {"rb", "[--force [--yes]] BUCKET", 1, FLAG_FORCE | FLAG_YES,
     "Remove an empty bucket. --force first deletes everything in it, every version, for good\n"
     "(asking on a terminal; --yes elsewhere).", STOR_INTENT_WRITE},
    {"share", "[--expires=DURATION] BUCKET/KEY|BUCKET/PREFIX/", 1, FLAG_EXPIRES,
     "Print a URL anyone can download KEY from (or, for PREFIX/, any key below it: append the\n"
     "rest of the name) until it expires; the expiry time goes to standard error.\n"
     "  --expires=DURATION   90s, 30m, 12h, 7d (default 1h); the backend sets the range", STOR_INTENT_READ},
    {"upload-target", "BUCKET", 1, 0,
     "Print an upload target for BUCKET as JSON {bucketId, uploadUrl, authorizationToken,\n"
     "expiresAt}. The target is handed over: stor will not use it itself. This is the only\n"
     "command that prints a credential.", STOR_INTENT_WRITE},
    {"sync", "[--delete [--max-delete=N] [--hard]] [COMPARE/TRANSFER/METADATA OPTIONS] SRC DST", 2,
     FLAG_TRANSFERS | FLAG_TREE | FLAG_DRY_RUN | FLAG_HARD | FLAG_KEEP | FLAG_EXPIRES | FLAG_PROTECT | FLAG_DELETE |
         FLAG_MAX_DELETE | FLAG_CHECKSUM | FLAG_SIZE_ONLY | FLAG_ALLOW_EMPTY,
     "Make DST hold what SRC holds: files missing or different there are copied. SRC and DST\n"
     "are each a local directory or a remote [NAME:]BUCKET[/PREFIX] (NAME a profile or a\n"
     "backend, else --profile or --backend); an argument is local when it names no place and\n"
     "starts with /, ./ or ../ or names an existing directory (a target to be made is written\n"
     "./DIR). Two local directories are refused (exit 2). Between two remotes the copy is\n"
     "server-side where both are one place that can copy, else streamed through stor; the\n"
     "two must not overlap.\n"
     "  (default)            same size and modification time means unchanged\n"
     "  --checksum           same size and SHA-1 (the local file is hashed; objects without a\n"
     "                       SHA-1 are compared by modification time, said once)\n"
     "  --size-only          same size means unchanged\n"
     "  --delete             then delete what DST has and SRC lacks: only after every transfer\n"
     "                       succeeded (else nothing is deleted). Remote objects are hidden\n"
     "                       where the backend keeps versions; --hard deletes every version\n"
     "  --max-delete=N       more than N to delete: delete nothing (exit 7)\n"
     "  --allow-empty-source a missing or empty SRC (no file after --include/--exclude) is\n"
     "                       refused (exit 2) unless this is given\n"
     "  --dry-run            print each action (would copy, would update, would delete)\n"
     "  --transfers, --include, --exclude as for put -r (no -r needed); links, FIFOs and\n"
     "devices are neither sent nor written through. Ends with a summary (copied, updated,\n"
     "deleted, unchanged, failed, bytes, seconds); exit 0, 7 when a file failed or deleting\n"
     "was refused, 130 when interrupted.\n"
     KEEP_HELP, STOR_INTENT_WRITE},
    {"check", "[--checksum | --size-only] [--include/--exclude=GLOB] SRC DST", 2,
     FLAG_TRANSFERS | FLAG_TREE | FLAG_CHECKSUM | FLAG_SIZE_ONLY,
     "Compare as sync would, changing nothing: prints each file missing from DST, extra in\n"
     "DST and differing, then a summary. Exit 0 when identical, 1 when they differ, 7 when\n"
     "the comparison could not finish (a listing failed or was refused, a file unreadable;\n"
     "3, 4, 5 where the listing failed for those reasons).", STOR_INTENT_READ},
    {"du", "[--versions] BUCKET[/PREFIX]", 1, FLAG_VERSIONS,
     "Count the objects under PREFIX and the bytes they hold. --versions (where the backend\n"
     "keeps versions) adds what else is stored: old versions, names that are hidden, and\n"
     "unfinished large uploads, with the total stored.", STOR_INTENT_READ},
    {"backends", "", 0, 0, "List the backends found, with their plugin ABI version and description.", STOR_INTENT_READ},
    {"config", "", 0, 0,
     "Show where the configuration comes from: the config file ($STOR_CONFIG, else\n"
     "$XDG_CONFIG_HOME/stor/config, else ~/.config/stor/config) and why, each profile with its\n"
     "backend, plugin file and options (secrets masked), the STOR_<BACKEND>_<KEY> variables set\n"
     "for it, and the plugin search path. The file holds INI sections:\n"
     "  [work]\n"
     "  backend = b2\n"
     "  key_file = /home/me/.b2-work      (or key_command = pass show b2/work, whose output is\n"
     "                                    the key file's two lines; or key_id = ... and key = ...)\n"
     "  endpoint = https://...            (any option of the backend)\n"
     "Then work:BUCKET/KEY, or --profile=work with bare BUCKET/KEY, uses that backend with\n"
     "those options (-o wins over the profile, the profile over the environment). The file\n"
     "must be a regular file of yours that no one else may read or write (chmod 600).",
     STOR_INTENT_READ},
};

static void usage_summary(FILE *out)
{
    fputs("usage: stor [--backend=NAME | --profile=NAME] [--plugin-dir=DIR] [-o KEY=VALUE]... [-v|-q] [--json]\n"
          "            COMMAND [ARGS]\n\ncommands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].args);
}

static void print_help(void)
{
    usage_summary(stdout);
    fputs("\noptions:\n"
          "  -b, --backend=NAME    storage backend (default: local); see `stor backends`\n"
          "      --profile=NAME    the profile NAME of the config file (see stor config --help)\n"
          "      --plugin-dir=DIR  look for backend plugins in DIR first\n"
          "  -o, --option=KEY=VALUE  backend option (also STOR_<BACKEND>_<KEY> in the environment;\n"
          "                        -o wins); `stor --backend=NAME --help` lists them\n"
          "  -v, --verbose         more messages on stderr (repeat for more)\n"
          "  -q, --quiet           errors only\n"
          "      --json            machine-readable output (JSON Lines for listings and transfers)\n"
          "      --progress=WHEN   auto (on a terminal), always, never, or lines (a timestamped\n"
          "                        line every few seconds, for logs)\n"
          "  -h, --help            this help, or a command's: stor COMMAND --help\n"
          "  -V, --version         version and plugin ABI\n"
          "\nA remote BUCKET/KEY may name its place: b2:photos/2026 is --backend=b2 photos/2026,\n"
          "work:photos/2026 the profile work (a profile shadows a backend of its name).\n"
          "\nplugins are searched in --plugin-dir, then $STOR_PLUGIN_PATH (colon-separated), then\n"
          STOR_PKGLIBDIR " (never the current directory).\n"
          "\nexit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 authentication or permission,\n"
          "5 temporary failure after every retry, 6 unsupported by the backend, 7 some files of a\n"
          "transfer failed, 130 interrupted.\n",
          stdout);
}

static void print_command_help(const struct command *c)
{
    printf("usage: stor [GLOBAL OPTIONS] %s %s\n\n%s\n", c->name, c->args, c->help);
}

/* The terminal's width for help text: $COLUMNS, else the terminal's, else 80. */
static int help_width(void)
{
    const char *columns = getenv("COLUMNS");
    int width = columns ? atoi(columns) : 0;
    struct winsize size;
    if (width <= 0 && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0)
        width = size.ws_col;
    return width >= 40 ? width : 80;
}

/* text wrapped at word boundaries to width, continued lines indented by indent columns; the
 * cursor starts at column. As <stor/plugin.h> says of help text, a newline is a space and a blank
 * line separates paragraphs. */
static void print_wrapped(const char *text, int column, int indent, int width)
{
    int line_empty = 1; /* no word yet on this line */
    for (;;) {
        size_t newlines = 0;
        for (; *text == ' ' || *text == '\n'; text++)
            newlines += *text == '\n';
        if (!*text)
            break;
        int paragraph = newlines >= 2 && !line_empty;
        if (paragraph || (!line_empty && column + 1 + (int)strcspn(text, " \n") > width)) {
            printf(paragraph ? "\n\n%*s" : "\n%*s", indent, "");
            column = indent;
            line_empty = 1;
        }
        size_t word = strcspn(text, " \n");
        column += printf("%s%.*s", line_empty ? "" : " ", (int)word, text);
        text += word;
        line_empty = 0;
    }
    putchar('\n');
}

static void print_backend_help(const struct stor_plugin *plugin)
{
    const struct stor_backend *b = &plugin->table;
    int width = help_width();
    print_wrapped(b->description ? b->description : "", printf("backend %s: ", b->name), 2, width);
    char origin[4200]; /* the path may be long: wrapped like the rest */
    snprintf(origin, sizeof origin, "plugin: %s (ABI %u)", plugin->path, b->abi_version);
    print_wrapped(origin, 0, 2, width);
    char caps[512];
    stor_capabilities_text(plugin->capabilities, caps, sizeof caps);
    snprintf(origin, sizeof origin, "can: %s", caps);
    print_wrapped(origin, 0, 2, width);
    if (b->options && b->options[0].key) {
        char prefix[80], header[160];
        stor_env_name(b->name, "", prefix, sizeof prefix);
        snprintf(header, sizeof header, "options (-o KEY=VALUE, or %s<KEY> in the environment):", prefix);
        putchar('\n');
        print_wrapped(header, 0, 2, width);
        for (const struct stor_option_doc *o = b->options; o->key; o++) {
            int at = printf("  %-18s ", o->key);
            print_wrapped(o->help ? o->help : "", at, 21, width);
        }
    }
    if (b->notes) {
        putchar('\n');
        print_wrapped(b->notes, 0, 0, width);
    }
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    stor_error_line("%s (see stor --help)", message);
    return STOR_EXIT_USAGE;
}

/* --- the plugin search path ------------------------------------------------------------------- */

static char path_storage[8192];
static size_t path_used;

static const char *keep_string(const char *s, size_t len)
{
    if (path_used + len + 1 > sizeof path_storage)
        return NULL;
    char *copy = path_storage + path_used;
    memcpy(copy, s, len);
    copy[len] = '\0';
    path_used += len + 1;
    return copy;
}

/* Straight after `make`, ./stor finds the plugins it was built with: when this executable lives
 * in the build tree it was compiled for, search that tree's plugins/<name>/.libs too. */
static void add_build_tree(struct stor_search_path *path)
{
#ifdef STOR_BUILDDIR
    char exe[PATH_MAX], build[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !realpath(STOR_BUILDDIR, build))
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash || (*slash = '\0', strcmp(exe, build) != 0))
        return;
    char plugins[PATH_MAX + 16];
    snprintf(plugins, sizeof plugins, "%s/plugins", build);
    struct dirent **entries;
    int count = scandir(plugins, &entries, NULL, alphasort);
    for (int i = 0; i < count; i++) {
        char dir[2 * PATH_MAX];
        int len = snprintf(dir, sizeof dir, "%s/%s/.libs", plugins, entries[i]->d_name);
        if (entries[i]->d_name[0] != '.' && len > 0 && (size_t)len < sizeof dir &&
            access(dir, F_OK) == 0)
            stor_search_path_add(path, keep_string(dir, (size_t)len));
        free(entries[i]);
    }
    if (count >= 0)
        free(entries);
#endif
}

static int build_search_path(struct stor_search_path *path, const char *plugin_dir)
{
    path->count = 0;
    if (plugin_dir) {
        char absolute[PATH_MAX];
        if (!realpath(plugin_dir, absolute))
            return usage_error("--plugin-dir %s: no such directory", plugin_dir);
        stor_search_path_add(path, keep_string(absolute, strlen(absolute)));
    }
    const char *env = getenv("STOR_PLUGIN_PATH");
    while (env && *env) {
        const char *end = strchr(env, ':');
        size_t len = end ? (size_t)(end - env) : strlen(env);
        if (len && env[0] == '/')
            stor_search_path_add(path, keep_string(env, len));
        else if (len) /* an empty entry is harmless; a relative one would search the cwd */
            stor_error_line("ignoring STOR_PLUGIN_PATH entry '%.*s': not an absolute path",
                            (int)len, env);
        env += len + (end ? 1 : 0);
    }
    add_build_tree(path);
    stor_search_path_add(path, STOR_PKGLIBDIR);
    return STOR_EXIT_OK;
}

/* --- backends ------------------------------------------------------------------------------- */

struct backends_listing {
    int json;
    struct json_object *array;
};

static void show_backend(void *context, const char *name, const struct stor_plugin *plugin,
                         const char *error)
{
    struct backends_listing *l = context;
    if (!plugin) {
        stor_error_line("skipping %s", error);
        return;
    }
    if (l->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(name));
        json_object_object_add(j, "abiVersion", json_object_new_int((int)plugin->table.abi_version));
        struct json_object *caps = json_object_new_array();
        for (uint64_t bit = 1; bit; bit <<= 1)
            if ((plugin->capabilities & bit) && stor_capability_name(bit))
                json_object_array_add(caps, json_object_new_string(stor_capability_name(bit)));
        json_object_object_add(j, "capabilities", caps);
        json_object_object_add(j, "description",
                               json_object_new_string(plugin->table.description ? plugin->table.description : ""));
        json_object_object_add(j, "path", json_object_new_string(plugin->path));
        json_object_array_add(l->array, j);
    } else {
        char caps[512];
        stor_capabilities_text(plugin->capabilities, caps, sizeof caps);
        printf("%-10s ABI %-3u %s  (%s)\n           can: %s\n", name, plugin->table.abi_version,
               plugin->table.description ? plugin->table.description : "", plugin->path, caps);
    }
}

static int list_backends(const struct stor_search_path *path, int json)
{
    struct backends_listing l = {json, json ? json_object_new_array() : NULL};
    stor_plugin_scan(path, stor_builtin_backends, show_backend, &l);
    if (json) {
        puts(json_object_to_json_string_ext(l.array, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(l.array);
    }
    return STOR_EXIT_OK;
}

/* --- NAME:BUCKET[/KEY]: the backend named in a remote argument ------------------------------- */

/* Whether argument index (after the command word) of c names a remote place. */
static int remote_position(const struct command *c, int index)
{
    if (strcmp(c->name, "config") == 0)
        return 0;
    if (strcmp(c->name, "put") == 0)
        return index == 1;
    if (strcmp(c->name, "get") == 0)
        return index == 0;
    if (strcmp(c->name, "cp") == 0 || strcmp(c->name, "mv") == 0 || strcmp(c->name, "sync") == 0 ||
        strcmp(c->name, "check") == 0)
        return 1;
    return index == 0 && c->arg_count > 0;
}

/* --- main ------------------------------------------------------------------------------------ */

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The command word, found before getopt runs: the first argument that is neither an option nor
 * the value of one. A command's own options win over global ones of the same name, so
 * `get --version ID` needs to know the command before --version is read. */
static const struct command *command_in(int argc, char **argv)
{
    static const char *const valued[] = {"-b", "--backend", "-o", "--option", "--plugin-dir",
                                         "--transfers", "--include", "--exclude", "--progress",
                                         "--range", "--older-than", "--content-type", "--meta",
                                         "--cache-control", "--content-disposition",
                                         "--content-encoding", "--content-language", "--expires",
                                         "--sse", "--retention", "--legal-hold", "--default-sse",
                                         "--keep-old-versions", "--hide-after", "--lifecycle", "--max-delete", "--profile",
                                         NULL};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? find_command(argv[i + 1]) : NULL;
        if (argv[i][0] != '-' || !argv[i][1])
            return find_command(argv[i]);
        for (const char *const *v = valued; *v; v++)
            if (strcmp(argv[i], *v) == 0)
                i++; /* its value follows */
    }
    return NULL;
}

static int run_command(const struct command *c, struct stor_session *s, char **args)
{
    if (strcmp(c->name, "put") == 0)
        return s->recursive ? stor_cmd_put_tree(s, args[0], args[1]) : stor_cmd_put(s, args[0], args[1]);
    if (strcmp(c->name, "get") == 0)
        return s->recursive ? stor_cmd_get_tree(s, args[0], args[1]) : stor_cmd_get(s, args[0], args[1]);
    if (strcmp(c->name, "buckets") == 0 || (strcmp(c->name, "ls") == 0 && !args[0]))
        return stor_cmd_buckets(s);
    if (strcmp(c->name, "ls") == 0)
        return stor_cmd_ls(s, args[0]);
    if (strcmp(c->name, "rm") == 0)
        return stor_cmd_rm(s, args[0]);
    if (strcmp(c->name, "cp") == 0)
        return stor_cmd_cp(s, args[0], args[1]);
    if (strcmp(c->name, "mv") == 0)
        return stor_cmd_mv(s, args[0], args[1]);
    if (strcmp(c->name, "cleanup") == 0)
        return stor_cmd_cleanup(s, args[0]);
    if (strcmp(c->name, "stat") == 0)
        return stor_cmd_stat(s, args[0]);
    if (strcmp(c->name, "mb") == 0)
        return stor_cmd_mb(s, args[0]);
    if (strcmp(c->name, "bucket") == 0)
        return stor_cmd_bucket(s, args[0]);
    if (strcmp(c->name, "retention") == 0)
        return stor_cmd_retention(s, args[0], args[1]);
    if (strcmp(c->name, "legal-hold") == 0)
        return stor_cmd_legal_hold(s, args[0], args[1]);
    if (strcmp(c->name, "rb") == 0)
        return stor_cmd_rb(s, args[0]);
    if (strcmp(c->name, "share") == 0)
        return stor_cmd_share(s, args[0]);
    if (strcmp(c->name, "sync") == 0)
        return stor_cmd_sync(s, args[0], args[1]);
    if (strcmp(c->name, "check") == 0)
        return stor_cmd_check(s, args[0], args[1]);
    if (strcmp(c->name, "du") == 0)
        return stor_cmd_du(s, args[0]);
    return stor_cmd_upload_target(s, args[0]);
}

static int run(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"backend", required_argument, NULL, 'b'}, {"plugin-dir", required_argument, NULL, 'P'},
        {"option", required_argument, NULL, 'o'},  {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},         {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},          {"version", optional_argument, NULL, 'i'},
        {"long", no_argument, NULL, 'l'},          {"recursive", no_argument, NULL, 'r'},
        {"transfers", required_argument, NULL, 'T'}, {"dry-run", no_argument, NULL, 'D'},
        {"skip-existing", no_argument, NULL, 'S'}, {"include", required_argument, NULL, 'I'},
        {"exclude", required_argument, NULL, 'X'}, {"progress", required_argument, NULL, 'p'},
        {"versions", no_argument, NULL, 'W'},      {"hard", no_argument, NULL, 'H'},
        {"version", required_argument, NULL, 'i'}, {"yes", no_argument, NULL, 'y'},
        {"range", required_argument, NULL, 'R'},   {"older-than", required_argument, NULL, 'O'},
        {"no-resume", no_argument, NULL, 'N'},    {"follow-links", no_argument, NULL, 'L'},
        {"content-type", required_argument, NULL, 'C'}, {"meta", required_argument, NULL, 'M'},
        {"cache-control", required_argument, NULL, 1000},
        {"content-disposition", required_argument, NULL, 1001},
        {"content-encoding", required_argument, NULL, 1002},
        {"content-language", required_argument, NULL, 1003},
        {"expires", required_argument, NULL, 'E'}, {"public", no_argument, NULL, 'U'},
        {"force", no_argument, NULL, 'F'},
        {"bypass-governance", no_argument, NULL, 1011}, {"private", no_argument, NULL, 1012},
        {"sse", required_argument, NULL, 1004}, {"retention", required_argument, NULL, 1005},
        {"legal-hold", required_argument, NULL, 1006},
        {"default-sse", required_argument, NULL, 1007}, {"object-lock", no_argument, NULL, 1008},
        {"keep-old-versions", required_argument, NULL, 1009},
        {"hide-after", required_argument, NULL, 1010},
        {"lifecycle", required_argument, NULL, 1013},
        {"delete", no_argument, NULL, 1100}, {"max-delete", required_argument, NULL, 1101},
        {"checksum", no_argument, NULL, 1102}, {"size-only", no_argument, NULL, 1103},
        {"allow-empty-source", no_argument, NULL, 1104},
        {"profile", required_argument, NULL, 1200},
        {NULL, 0, NULL, 0},
    };
    const char *version_id = NULL;
    int64_t range_start = -1, range_end = -1, older_than_ms = 0;
    static const char *const progress_modes[] = {"auto", "always", "never", "lines"};
    enum stor_progress_mode progress = STOR_PROGRESS_AUTO;
    static struct stor_filter filter;
    int transfers = 8, dry_run = 0, skip_existing = 0;
    int64_t max_delete = -1; /* sync --max-delete: -1 for no limit */
    char *end;
    const char *backend = "local", *plugin_dir = NULL, *profile = NULL;
    struct stor_option_list options = {.count = 0};
    char why[512];
    int verbosity = 0, json = 0, help = 0, backend_given = 0;
    static struct stor_option meta[STOR_META_MAX];
    struct stor_put_options keep = {.struct_size = sizeof keep, .size = -1, .mtime_ms = -1,
                                    .metadata = meta,
                                    .protection = {.retain_until_ms = -1, .legal_hold = -1}};
    const char *expires = NULL;
    static struct stor_option settings[112]; /* mb's bucket options (100 lifecycle rules) */
    size_t setting_count = 0;
    unsigned flags = 0;
    int opt;

    const struct command *early = command_in(argc, argv);
    int takes_version_id = early && (early->flags & FLAG_VERSION);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "b:o:vqhVlryL", long_options, NULL)) != -1) {
        switch (opt) {
        case 'b': backend = optarg; backend_given = 1; break;
        case 'P': plugin_dir = optarg; break;
        case 1200: profile = optarg; break;
        case 'o':
            if (stor_options_add_arg(&options, optarg, why, sizeof why) != 0)
                return usage_error("%s", why);
            break;
        case 'v': verbosity = verbosity < 0 ? 1 : verbosity + 1; break;
        case 'q': verbosity = -1; break;
        case 'J': json = 1; break;
        case 'h': help = 1; break;
        case 'V':
            printf("stor %s (plugin ABI %d)\n", PACKAGE_VERSION, STOR_ABI_VERSION);
            return STOR_EXIT_OK;
        case 'i': /* --version alone is stor's version; --version=ID picks an object version */
            if (!optarg && takes_version_id && optind < argc)
                optarg = argv[optind++]; /* get/rm --version ID: the command's option */
            if (!optarg) {
                printf("stor %s (plugin ABI %d)\n", PACKAGE_VERSION, STOR_ABI_VERSION);
                return STOR_EXIT_OK;
            }
            if (!optarg[0])
                return usage_error("--version expects a version id");
            version_id = optarg;
            flags |= FLAG_VERSION;
            break;
        case 'W': flags |= FLAG_VERSIONS; break;
        case 'H': flags |= FLAG_HARD; break;
        case 'y': flags |= FLAG_YES; break;
        case 'N': flags |= FLAG_NO_RESUME; break;
        case 'L': flags |= FLAG_FOLLOW; break;
        case 'R':
            if (stor_parse_range(optarg, &range_start, &range_end) != 0)
                return usage_error("--range expects A-B or A- (bytes, A <= B), got '%s'", optarg);
            flags |= FLAG_RANGE;
            break;
        case 'O':
            if (stor_parse_duration(optarg, &older_than_ms) != 0)
                return usage_error("--older-than expects a duration such as 90s, 30m, 12h or 7d, got '%s'", optarg);
            flags |= FLAG_OLDER;
            break;
        case 'C': keep.content_type = optarg; flags |= FLAG_KEEP; break;
        case 1000: keep.cache_control = optarg; flags |= FLAG_KEEP; break;
        case 1001: keep.content_disposition = optarg; flags |= FLAG_KEEP; break;
        case 1002: keep.content_encoding = optarg; flags |= FLAG_KEEP; break;
        case 1003: keep.content_language = optarg; flags |= FLAG_KEEP; break;
        case 'E': expires = optarg; flags |= FLAG_EXPIRES; break;
        case 'M': {
            char *equals = strchr(optarg, '=');
            if (!equals || equals == optarg)
                return usage_error("--meta expects KEY=VALUE, got '%s'", optarg);
            if (keep.metadata_count == STOR_META_MAX)
                return usage_error("--meta: at most %d keys", STOR_META_MAX);
            *equals = '\0';
            meta[keep.metadata_count++] = (struct stor_option){optarg, equals + 1};
            flags |= FLAG_KEEP;
            break;
        }
        case 'U': flags |= FLAG_PUBLIC; break;
        case 'F': flags |= FLAG_FORCE; break;
        case 1011: flags |= FLAG_BYPASS; break;
        case 1012: flags |= FLAG_PRIVATE; break;
        case 1100: flags |= FLAG_DELETE; break;
        case 1101:
            if (stor_parse_count(optarg, &end, &max_delete) != 0 || *end)
                return usage_error("--max-delete expects a number of files, got '%s'", optarg);
            flags |= FLAG_MAX_DELETE;
            break;
        case 1102: flags |= FLAG_CHECKSUM; break;
        case 1103: flags |= FLAG_SIZE_ONLY; break;
        case 1104: flags |= FLAG_ALLOW_EMPTY; break;
        case 1004:
            keep.protection.encryption = strcmp(optarg, "b2") == 0 ? "SSE-B2"
                                         : strcmp(optarg, "c") == 0 ? "SSE-C"
                                                                    : NULL;
            if (!keep.protection.encryption)
                return usage_error("--sse expects b2 (the service's keys) or c (yours), got '%s'", optarg);
            flags |= FLAG_PROTECT;
            break;
        case 1005:
            if (stor_parse_retention(optarg, &keep.protection) != 0)
                return usage_error("--retention expects governance:DURATION or compliance:DATE "
                                   "(30d, 2027-01-31, 2027-01-31T12:00:00Z) in the future, got '%s'", optarg);
            flags |= FLAG_PROTECT;
            break;
        case 1006:
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
                return usage_error("--legal-hold expects on or off, got '%s'", optarg);
            keep.protection.legal_hold = strcmp(optarg, "on") == 0;
            flags |= FLAG_PROTECT;
            break;
        case 1007: case 1008: case 1009: case 1010: case 1013: {
            static const char *const names[] = {"default_sse", "object_lock", "keep_old_versions",
                                                "hide_after"};
            const char *name = opt == 1013 ? "lifecycle" : names[opt - 1007];
            if (setting_count == sizeof settings / sizeof settings[0])
                return usage_error("at most %zu bucket options", sizeof settings / sizeof settings[0]);
            settings[setting_count++] = (struct stor_option){name, optarg ? optarg : "yes"};
            flags |= FLAG_SETTINGS;
            break;
        }
        case 'l': flags |= FLAG_LONG; break;
        case 'r': flags |= FLAG_RECURSIVE; break;
        case 'T':
            transfers = (int)strtol(optarg, &end, 10);
            if (*end || transfers < 1 || transfers > 256)
                return usage_error("--transfers expects a number from 1 to 256, got '%s'", optarg);
            flags |= FLAG_TRANSFERS;
            break;
        case 'D': dry_run = 1; flags |= FLAG_DRY_RUN; break;
        case 'S': skip_existing = 1; flags |= FLAG_TREE; break;
        case 'I':
        case 'X':
            if (!optarg[0] || stor_filter_add(&filter, opt == 'I', optarg) != 0)
                return usage_error("--include/--exclude: empty pattern or more than %d rules", STOR_FILTER_MAX);
            flags |= FLAG_TREE;
            break;
        case 'p':
            progress = STOR_PROGRESS_LINES + 1;
            for (int m = 0; m < 4; m++)
                if (strcmp(optarg, progress_modes[m]) == 0)
                    progress = (enum stor_progress_mode)m;
            if (progress > STOR_PROGRESS_LINES)
                return usage_error("--progress expects auto, always, never or lines, got '%s'", optarg);
            break;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    char **args = argv + optind;
    int arg_count = argc - optind;
    const struct command *command = arg_count ? find_command(args[0]) : NULL;

    struct stor_search_path path;
    if (build_search_path(&path, plugin_dir) != STOR_EXIT_OK)
        return STOR_EXIT_USAGE;

    if (arg_count && !command)
        return usage_error("unknown command '%s'", args[0]);
    if (help && command) {
        print_command_help(command);
        return STOR_EXIT_OK;
    }
    if (help && backend_given) {
        struct stor_error err = {""};
        struct stor_plugin loaded;
        enum stor_status status = stor_plugin_load(backend, &path, stor_builtin_backends, &loaded, &err);
        if (status != STOR_OK) {
            stor_error_line("%s", err.message);
            return stor_exit_code(status);
        }
        print_backend_help(&loaded);
        stor_plugin_unload(&loaded);
        return STOR_EXIT_OK;
    }
    if (help) {
        print_help();
        return STOR_EXIT_OK;
    }
    if (!command) {
        usage_summary(stderr);
        return STOR_EXIT_USAGE;
    }
    for (unsigned bit = 0; bit < sizeof flag_names / sizeof flag_names[0]; bit++)
        if (flags & ~command->flags & (1u << bit))
            return usage_error("%s does not apply to %s", flag_names[bit], command->name);
    int tree = (flags & FLAG_RECURSIVE) != 0;
    /* sync and check walk a tree without -r; they compare every file, so --skip-existing is moot. */
    int sync_command = strcmp(command->name, "sync") == 0 || strcmp(command->name, "check") == 0;
    if (sync_command && skip_existing)
        return usage_error("--skip-existing does not apply to %s: it compares every file", command->name);
    if ((flags & (FLAG_MAX_DELETE | FLAG_HARD)) && sync_command && !(flags & FLAG_DELETE))
        return usage_error("--max-delete and --hard apply to sync --delete only");
    if ((flags & FLAG_CHECKSUM) && (flags & FLAG_SIZE_ONLY))
        return usage_error("--checksum and --size-only are two ways to compare: choose one");
    if ((flags & FLAG_TREE) && !tree && !sync_command)
        return usage_error("%s apply to %s -r only", flag_names[3], command->name);
    int transfer_command = strcmp(command->name, "put") == 0 || strcmp(command->name, "get") == 0;
    if ((flags & FLAG_DRY_RUN) && transfer_command && !tree)
        return usage_error("--dry-run applies to %s -r only", command->name);
    if ((flags & (FLAG_RANGE | FLAG_VERSION)) && tree)
        return usage_error("--range and --version name one object: not with -r");
    if ((flags & FLAG_FOLLOW) && !tree)
        return usage_error("-L applies to put -r only");
    if ((flags & FLAG_HARD) && (flags & FLAG_VERSION))
        return usage_error("--hard deletes every version; --version one: choose one");
    int listing_buckets = strcmp(command->name, "ls") == 0 && arg_count == 1;
    if (listing_buckets && (flags & ~FLAG_LONG))
        return usage_error("ls without a bucket lists buckets: only -l applies");
    if (arg_count - 1 != command->arg_count && !listing_buckets) {
        return usage_error("%s expects %s", command->name, command->args);
    }
    if (strcmp(command->name, "backends") == 0)
        return list_backends(&path, json);
    if (strcmp(command->name, "config") == 0)
        return stor_cmd_config(&path, json);
    unsigned remote_positions = 0;
    for (int i = 0; i < arg_count - 1 && i < 2; i++)
        if (remote_position(command, i))
            remote_positions |= 1u << i;
    static struct stor_places places; /* static: two option lists are large for the stack */
    int code = stor_places_name(&places, args + 1, arg_count - 1, remote_positions,
                                sync_command, backend, profile, &path);
    if (code != STOR_EXIT_OK) {
        stor_places_close(&places);
        return code;
    }
    int64_t share_ms = 3600 * 1000;
    if ((flags & FLAG_EXPIRES) && strcmp(command->name, "share") != 0) {
        keep.expires = expires; /* put: the Expires header served on download */
        flags |= FLAG_KEEP;
    } else if ((flags & FLAG_EXPIRES) && (stor_parse_duration(expires, &share_ms) != 0 || share_ms == 0)) {
        stor_places_close(&places);
        return usage_error("--expires expects a duration such as 90s, 30m, 12h or 7d, got '%s'", expires);
    }
    /* -o bucket.KEY=VALUE is a setting of the bucket mb makes, not an option of the backend. */
    struct stor_option_list backend_options = {.count = 0};
    for (size_t i = 0; i < options.count; i++) {
        const char *key = options.items[i].key;
        if (strncmp(key, "bucket.", 7) != 0) {
            stor_options_add(&backend_options, key, options.items[i].value);
        } else if (strcmp(command->name, "mb") != 0 && strcmp(command->name, "bucket") != 0) {
            stor_places_close(&places);
            return usage_error("-o %s is a bucket setting: it applies to mb and bucket only", key);
        } else if (setting_count == sizeof settings / sizeof settings[0]) {
            stor_places_close(&places);
            return usage_error("at most %zu bucket settings", sizeof settings / sizeof settings[0]);
        } else {
            settings[setting_count++] = (struct stor_option){key + 7, options.items[i].value};
        }
    }
    code = stor_places_load(&places, &path, stor_builtin_backends, &backend_options);
    if (code != STOR_EXIT_OK) {
        stor_places_close(&places);
        return code;
    }
    /* The first place: the only one, or the source of a copy between two. */
    struct stor_place *first = &places.items[0];
    const struct stor_plugin *plugin = &first->plugin;
    struct stor_option_list *all = &first->options;
    char transfers_value[16];
    snprintf(transfers_value, sizeof transfers_value, "%d", transfers);
    /* --transfers is files with -r, parts of the one file without (never both: N x N). */
    if ((flags & FLAG_TRANSFERS) && !(flags & FLAG_RECURSIVE) &&
        stor_options_documented(&plugin->table, "transfers"))
        stor_options_add(all, "transfers", transfers_value);
    if (flags & FLAG_NO_RESUME) {
        if (!stor_options_documented(&plugin->table, "resume")) {
            stor_error_line("backend %s does not resume uploads: --no-resume does not apply", plugin->table.name);
            stor_places_close(&places);
            return STOR_EXIT_UNSUPPORTED;
        }
        stor_options_add(all, "resume", "no");
    }

    /* Metadata needs a backend that keeps it: refused before anything is stored, not file by
     * file. Without --content-type the host guesses one from each name, unless the backend's own
     * content_type option says otherwise. */
    if ((flags & FLAG_KEEP) && !(plugin->capabilities & STOR_CAP_METADATA)) {
        stor_error_line("backend %s does not keep metadata: %s does not apply", plugin->table.name,
                        flag_names[13]);
        stor_places_close(&places);
        return STOR_EXIT_UNSUPPORTED;
    }
    const char *unkept = keep.protection.encryption && !(plugin->capabilities & STOR_CAP_ENCRYPTION)
                             ? "--sse (encryption at rest)"
                         : (keep.protection.retention_mode || keep.protection.legal_hold >= 0) &&
                                 !(plugin->capabilities & STOR_CAP_RETENTION)
                             ? "--retention and --legal-hold (Object Lock)"
                             : NULL;
    if (unkept) {
        stor_error_line("backend %s does not support %s", plugin->table.name, unkept);
        stor_places_close(&places);
        return STOR_EXIT_UNSUPPORTED;
    }
    int guess_content_type = (plugin->capabilities & STOR_CAP_METADATA) && !keep.content_type &&
                             !stor_options_find(all, "content_type");

    signal(SIGPIPE, SIG_IGN); /* a closed pipe becomes EPIPE, reported like any write error */
    signal(SIGXFSZ, SIG_IGN); /* past the file size limit (ulimit -f): EFBIG, the same */
    stor_host_catch_signals();
    const struct stor_host *host = stor_host_init(plugin->table.name, verbosity, progress,
                                                  command->intent);
    code = stor_places_open(&places, host);
    if (code != STOR_EXIT_OK) {
        stor_places_close(&places);
        return code;
    }
    struct stor_session session = {
        .plugin = plugin,
        .instance = first->instance,
        .host = host,
        .json = json,
        .quiet = verbosity < 0,
        .verbose = verbosity > 0,
        .transfers = transfers,
        .dry_run = dry_run,
        .skip_existing = skip_existing,
        .follow_links = (flags & FLAG_FOLLOW) != 0,
        .filter = &filter,
        .long_list = (flags & FLAG_LONG) != 0,
        .recursive = (flags & FLAG_RECURSIVE) != 0,
        .versions = (flags & FLAG_VERSIONS) != 0,
        .hard = (flags & FLAG_HARD) != 0,
        .version_id = version_id,
        .yes = (flags & FLAG_YES) != 0,
        .range_start = range_start,
        .range_end = range_end,
        .older_than_ms = older_than_ms,
        .keep = (flags & (FLAG_KEEP | FLAG_PROTECT)) ? &keep : NULL,
        .bucket_settings = settings,
        .bucket_setting_count = setting_count,
        .guess_content_type = guess_content_type,
        .regular_files_only = (strcmp(command->name, "get") == 0 && (flags & FLAG_RECURSIVE)) ||
                              strcmp(command->name, "sync") == 0,
        .public_bucket = (flags & FLAG_PUBLIC) ? 1 : (flags & FLAG_PRIVATE) ? 0 : -1,
        .bypass_governance = (flags & FLAG_BYPASS) != 0,
        .local_args = places.local_args,
        .force = (flags & FLAG_FORCE) != 0,
        .share_ms = share_ms,
        .delete_extra = (flags & FLAG_DELETE) != 0,
        .max_delete = max_delete,
        .checksum = (flags & FLAG_CHECKSUM) != 0,
        .size_only = (flags & FLAG_SIZE_ONLY) != 0,
        .allow_empty_source = (flags & FLAG_ALLOW_EMPTY) != 0,
    };
    /* A copy or sync between two places: the destination's session. */
    struct stor_session target = session;
    if (places.count == 2) {
        target.plugin = &places.items[1].plugin;
        target.instance = places.items[1].instance;
        target.keep = NULL; /* metadata comes from the source object */
        target.guess_content_type = 0;
        session.target = &target;
    }
    code = run_command(command, &session, args + 1);
    stor_places_close(&places);
    return code;
}

int main(int argc, char **argv)
{
    int code = run(argc, argv);
    /* Whatever printed it (a listing, --help, --version): output that did not reach its
     * destination (a full disk, a closed pipe) is a failure. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == STOR_EXIT_OK) {
        stor_error_line("cannot write output: %m");
        code = STOR_EXIT_FAILURE;
    }
    return code;
}
