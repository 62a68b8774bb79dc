/* plugins/s3/credentials.c — the AWS credential chain (environment, ~/.aws/credentials,
 * ~/.aws/config, profiles) and stor's key_file, as credentials.h orders them. The bottom. */
#include "credentials.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define S3_INI_MAX (1 << 20) /* an AWS file larger than this is not one */

static char *duplicate(const char *text)
{
    return text ? strdup(text) : NULL;
}

static void wipe_free(char *text)
{
    if (text)
        explicit_bzero(text, strlen(text));
    free(text);
}

static const char *env(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

/* The whole of a small file, NUL-terminated (malloc'd), or NULL with errno. */
static char *read_small_file(const char *path, int *loose)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size > S3_INI_MAX) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    if (loose)
        *loose = (info.st_mode & (S_IRWXG | S_IRWXO)) != 0;
    char *text = malloc((size_t)info.st_size + 1);
    ssize_t length = text ? read(fd, text, (size_t)info.st_size) : -1;
    close(fd);
    if (length < 0) {
        free(text);
        return NULL;
    }
    text[length] = '\0';
    return text;
}

static char *trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    char *end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return text;
}

/* The value of key in section of an INI text (AWS's files), malloc'd, or NULL. */
static char *ini_value(const char *text, const char *section, const char *key)
{
    char *copy = duplicate(text), *save = NULL, *result = NULL;
    int in_section = 0;
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line && !result;
         line = strtok_r(NULL, "\n", &save)) {
        line = trim(line);
        if (*line == '#' || *line == ';' || !*line)
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (close) {
                *close = '\0';
                in_section = strcmp(trim(line + 1), section) == 0;
            }
            continue;
        }
        char *equals = strchr(line, '=');
        if (!in_section || !equals)
            continue;
        *equals = '\0';
        if (strcasecmp(trim(line), key) == 0)
            result = duplicate(trim(equals + 1));
    }
    if (copy)
        explicit_bzero(copy, strlen(copy));
    free(copy);
    return result;
}

static char *home_file(const char *variable, const char *name)
{
    const char *path = env(variable), *home = env("HOME");
    if (path)
        return strdup(path);
    if (!home)
        return NULL;
    char *whole = NULL;
    return asprintf(&whole, "%s/.aws/%s", home, name) < 0 ? NULL : whole;
}

static enum stor_status from_key_file(const char *path, struct s3_found *found,
                                      struct stor_error *err)
{
    char *text = read_small_file(path, &found->loose_file);
    if (!text)
        return stor_fail(err, STOR_EINVAL, "key_file %s: %s", path, strerror(errno));
    char *save = NULL, *id = strtok_r(text, "\r\n", &save);
    char *secret = id ? strtok_r(NULL, "\r\n", &save) : NULL;
    id = id ? trim(id) : NULL;
    secret = secret ? trim(secret) : NULL;
    enum stor_status status = STOR_OK;
    if (!id || !secret || !*id || !*secret)
        status = stor_fail(err, STOR_EINVAL, "key_file %s must hold two lines: the access key "
                           "id, then the secret access key", path);
    else if (asprintf(&found->source, "key_file %s", path) < 0 ||
             !(found->access_key = strdup(id)) || !(found->secret_key = strdup(secret)))
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    explicit_bzero(text, strlen(text));
    free(text);
    return status;
}

/* Keys of profile from the credentials file, else the config file; 0 when found. */
static int from_profile(const char *profile, const char *credentials_text, const char *config_text,
                        const char *config_section, struct s3_found *found)
{
    const char *texts[] = {credentials_text, config_text};
    const char *sections[] = {profile, config_section};
    for (int i = 0; i < 2; i++) {
        if (!texts[i])
            continue;
        char *id = ini_value(texts[i], sections[i], "aws_access_key_id");
        char *secret = id ? ini_value(texts[i], sections[i], "aws_secret_access_key") : NULL;
        if (id && secret && *id && *secret) {
            found->access_key = id;
            found->secret_key = secret;
            found->session_token = ini_value(texts[i], sections[i], "aws_session_token");
            if (asprintf(&found->source, "profile %s", profile) < 0)
                found->source = NULL;
            return 0;
        }
        free(id);
        wipe_free(secret);
    }
    return -1;
}

enum stor_status s3_credentials_find(const char *profile, const char *key_file,
                                     struct s3_found *found, struct stor_error *err)
{
    memset(found, 0, sizeof *found);
    int named = profile && *profile;
    if (!named)
        profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
    char *credentials_path = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *config_path = home_file("AWS_CONFIG_FILE", "config");
    char *credentials_text = credentials_path ? read_small_file(credentials_path, NULL) : NULL;
    char *config_text = config_path ? read_small_file(config_path, NULL) : NULL;
    char *config_section = NULL;
    enum stor_status status = STOR_OK;
    if (strcmp(profile, "default") == 0)
        config_section = strdup("default");
    else if (asprintf(&config_section, "profile %s", profile) < 0)
        config_section = NULL;
    if (!config_section) {
        status = stor_fail(err, STOR_EINTERNAL, "out of memory");
        goto done;
    }
    if (config_text) {
        found->region = ini_value(config_text, config_section, "region");
        found->endpoint = ini_value(config_text, config_section, "endpoint_url");
    }
    const char *endpoint = env("AWS_ENDPOINT_URL_S3") ? env("AWS_ENDPOINT_URL_S3")
                                                      : env("AWS_ENDPOINT_URL");
    if (endpoint) {
        free(found->endpoint);
        found->endpoint = strdup(endpoint);
    }
    if (key_file) {
        status = from_key_file(key_file, found, err);
    } else if (!named && env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        found->access_key = strdup(env("AWS_ACCESS_KEY_ID"));
        found->secret_key = strdup(env("AWS_SECRET_ACCESS_KEY"));
        found->session_token = duplicate(env("AWS_SESSION_TOKEN"));
        found->source = strdup("environment");
        if (!found->access_key || !found->secret_key || !found->source)
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
    } else if (from_profile(profile, credentials_text, config_text, config_section, found) != 0) {
        if (named && !credentials_text && !config_text)
            status = stor_fail(err, STOR_EAUTH, "no S3 credentials: profile %s asked for, but "
                               "neither %s nor %s can be read", profile,
                               credentials_path ? credentials_path : "~/.aws/credentials",
                               config_path ? config_path : "~/.aws/config");
        else if (named)
            status = stor_fail(err, STOR_EAUTH, "no S3 credentials: profile %s has no "
                               "aws_access_key_id and aws_secret_access_key in %s or %s", profile,
                               credentials_path ? credentials_path : "~/.aws/credentials",
                               config_path ? config_path : "~/.aws/config");
        else
            status = stor_fail(err, STOR_EAUTH, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY, or give profile %s keys in %s, or use -o "
                               "key_file=PATH", profile,
                               credentials_path ? credentials_path : "~/.aws/credentials");
    }
done:
    if (credentials_text)
        explicit_bzero(credentials_text, strlen(credentials_text));
    if (config_text)
        explicit_bzero(config_text, strlen(config_text));
    free(credentials_text);
    free(config_text);
    free(credentials_path);
    free(config_path);
    free(config_section);
    if (status != STOR_OK)
        s3_found_free(found);
    return status;
}

void s3_found_free(struct s3_found *found)
{
    free(found->access_key);
    wipe_free(found->secret_key);
    wipe_free(found->session_token);
    free(found->source);
    free(found->region);
    free(found->endpoint);
    memset(found, 0, sizeof *found);
}

const char *s3_credentials_region(const struct s3_found *found)
{
    if (env("AWS_REGION"))
        return env("AWS_REGION");
    if (env("AWS_DEFAULT_REGION"))
        return env("AWS_DEFAULT_REGION");
    if (found && found->region && *found->region)
        return found->region;
    return "us-east-1";
}
