/* mime.c — a content type from a name's extension, looked up in the system's MIME table
 * (/etc/mime.types, Debian's media-types), read once per process and shared by every thread. */
#include "mime.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIME_TYPES_FILE "/etc/mime.types"

struct mapping {
    char *extension; /* lower case, without the dot */
    char *type;
};

static struct mapping *table;
static size_t table_count;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static int by_extension(const void *a, const void *b)
{
    return strcmp(((const struct mapping *)a)->extension, ((const struct mapping *)b)->extension);
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* "type/subtype ext ext ..." per line, '#' comments. A table that cannot be read, or memory
 * that runs out, leaves fewer types known: the backend's default applies to the rest. */
static void load_table(void)
{
    FILE *f = fopen(MIME_TYPES_FILE, "re");
    if (!f)
        return;
    size_t capacity = 0;
    char buffer[1024];
    while (fgets(buffer, sizeof buffer, f)) {
        char *save, *type = strtok_r(buffer, " \t\r\n", &save);
        if (!type || type[0] == '#' || !strchr(type, '/'))
            continue;
        for (char *ext; (ext = strtok_r(NULL, " \t\r\n", &save));) {
            if (table_count == capacity) {
                size_t bigger = capacity ? capacity * 2 : 512;
                struct mapping *grown = realloc(table, bigger * sizeof *grown);
                if (!grown)
                    goto done;
                table = grown;
                capacity = bigger;
            }
            struct mapping m = {strdup(ext), strdup(type)};
            if (!m.extension || !m.type) {
                free(m.extension);
                free(m.type);
                goto done;
            }
            lower(m.extension);
            table[table_count++] = m;
        }
    }
done:
    fclose(f);
    /* Stable for equal extensions is not needed: the file lists each extension once. */
    if (table_count)
        qsort(table, table_count, sizeof *table, by_extension);
}

const char *stor_mime_type(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    char extension[64];
    if (!dot || dot == base || !dot[1] || strlen(dot + 1) >= sizeof extension)
        return NULL; /* no extension, or a dot file such as ".profile" */
    snprintf(extension, sizeof extension, "%s", dot + 1);
    lower(extension);
    pthread_once(&table_once, load_table);
    struct mapping key = {extension, NULL};
    const struct mapping *found =
        table_count ? bsearch(&key, table, table_count, sizeof *table, by_extension) : NULL;
    return found ? found->type : NULL;
}
