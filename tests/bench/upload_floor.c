/* upload_floor.c — the physical limit of "many small uploads" against a B2 server: authorize,
 * pre-fetch one upload URL per thread, pre-hash every file, then time only the b2_upload_file calls.
 *
 * usage: upload_floor ENDPOINT BUCKET PREFIX THREADS FILE...      (parallel: files/s)
 *        upload_floor --sequential ENDPOINT BUCKET PREFIX FILE... (one thread, a new connection
 *                                                                  per upload: median latency)
 * Credentials come from B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY. Output: one line of
 * key=value pairs (seconds, files, files_per_s, median_upload_ms). Exit 1 on any failure. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

struct source_file {
    const char *path;
    char name[512];             /* the B2 file name: PREFIX/basename */
    unsigned char *bytes;
    size_t length;
    char sha1_hex[2 * SHA_DIGEST_LENGTH + 1];
};

struct upload_target {
    char url[1024];
    char authorization[1024]; /* "Authorization: <upload token>" */
};

struct worker {
    struct upload_target target;
    struct source_file *files;
    size_t first, step, count; /* files first, first+step, ... below count */
    int failures;
};

struct buffer {
    char *data;
    size_t length;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t keep_body(char *data, size_t size, size_t count, void *context)
{
    struct buffer *buffer = context;
    char *grown = realloc(buffer->data, buffer->length + size * count + 1);
    if (!grown)
        return 0;
    memcpy(grown + buffer->length, data, size * count);
    buffer->length += size * count;
    grown[buffer->length] = '\0';
    buffer->data = grown;
    return size * count;
}

static size_t discard_body(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

/* POST (or GET when body is NULL) url with the given headers; the parsed JSON answer or NULL. */
static json_object *call_json(const char *url, struct curl_slist *headers, const char *body)
{
    CURL *curl = curl_easy_init();
    struct buffer answer = {0};
    long status = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    json_object *parsed = NULL;
    if (code == CURLE_OK && status == 200 && answer.data)
        parsed = json_tokener_parse(answer.data);
    else
        fprintf(stderr, "upload_floor: %s: %s (HTTP %ld) %s\n", url, curl_easy_strerror(code),
                status, answer.data ? answer.data : "");
    free(answer.data);
    return parsed;
}

static const char *string_field(json_object *object, const char *key)
{
    json_object *value;
    return json_object_object_get_ex(object, key, &value) ? json_object_get_string(value) : NULL;
}

/* b2_authorize_account (v2), then the bucket's id through b2_list_buckets. */
static int authorize(const char *endpoint, const char *bucket, char *api_url, size_t api_url_size,
                     char *account_auth, size_t account_auth_size, char *bucket_id,
                     size_t bucket_id_size)
{
    const char *key_id = getenv("B2_APPLICATION_KEY_ID"), *key = getenv("B2_APPLICATION_KEY");
    if (!key_id || !key) {
        fprintf(stderr, "upload_floor: set B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY\n");
        return -1;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/b2api/v2/b2_authorize_account", endpoint);
    char credentials[512];
    snprintf(credentials, sizeof credentials, "%s:%s", key_id, key);
    unsigned char basic[1024];
    EVP_EncodeBlock(basic, (const unsigned char *)credentials, (int)strlen(credentials));
    char header[1100];
    snprintf(header, sizeof header, "Authorization: Basic %s", basic);
    struct curl_slist *headers = curl_slist_append(NULL, header);
    json_object *account = call_json(url, headers, NULL);
    curl_slist_free_all(headers);
    if (!account)
        return -1;
    snprintf(api_url, api_url_size, "%s", string_field(account, "apiUrl"));
    snprintf(account_auth, account_auth_size, "Authorization: %s",
             string_field(account, "authorizationToken"));
    char body[512];
    snprintf(body, sizeof body, "{\"accountId\":\"%s\",\"bucketName\":\"%s\"}",
             string_field(account, "accountId"), bucket);
    json_object_put(account);

    snprintf(url, sizeof url, "%s/b2api/v2/b2_list_buckets", api_url);
    headers = curl_slist_append(NULL, account_auth);
    json_object *listing = call_json(url, headers, body);
    curl_slist_free_all(headers);
    json_object *buckets;
    int found = -1;
    if (listing && json_object_object_get_ex(listing, "buckets", &buckets) &&
        json_object_array_length(buckets) == 1) {
        snprintf(bucket_id, bucket_id_size, "%s",
                 string_field(json_object_array_get_idx(buckets, 0), "bucketId"));
        found = 0;
    }
    json_object_put(listing);
    if (found != 0)
        fprintf(stderr, "upload_floor: no bucket named %s\n", bucket);
    return found;
}

static int get_upload_url(const char *api_url, const char *account_auth, const char *bucket_id,
                          struct upload_target *target)
{
    char url[1024], body[256];
    snprintf(url, sizeof url, "%s/b2api/v2/b2_get_upload_url", api_url);
    snprintf(body, sizeof body, "{\"bucketId\":\"%s\"}", bucket_id);
    struct curl_slist *headers = curl_slist_append(NULL, account_auth);
    json_object *answer = call_json(url, headers, body);
    curl_slist_free_all(headers);
    if (!answer)
        return -1;
    snprintf(target->url, sizeof target->url, "%s", string_field(answer, "uploadUrl"));
    snprintf(target->authorization, sizeof target->authorization, "Authorization: %s",
             string_field(answer, "authorizationToken"));
    json_object_put(answer);
    return 0;
}

/* Read a whole file and its SHA-1 (done before the clock starts). */
static int load_file(struct source_file *file, const char *prefix)
{
    FILE *stream = fopen(file->path, "rb");
    if (!stream) {
        perror(file->path);
        return -1;
    }
    fseek(stream, 0, SEEK_END);
    file->length = (size_t)ftell(stream);
    rewind(stream);
    file->bytes = malloc(file->length ? file->length : 1);
    if (!file->bytes || fread(file->bytes, 1, file->length, stream) != file->length) {
        fclose(stream);
        return -1;
    }
    fclose(stream);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(file->bytes, file->length, digest);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        sprintf(file->sha1_hex + 2 * i, "%02x", digest[i]);
    const char *base = strrchr(file->path, '/');
    snprintf(file->name, sizeof file->name, "%s/%s", prefix, base ? base + 1 : file->path);
    return 0;
}

/* One b2_upload_file on curl (whose connection is reused between calls). 0 on HTTP 200. */
static int upload_one(CURL *curl, const struct upload_target *target, const struct source_file *file)
{
    char name_header[600], sha1_header[80];
    char *escaped = curl_easy_escape(curl, file->name, 0);
    snprintf(name_header, sizeof name_header, "X-Bz-File-Name: %s", escaped);
    curl_free(escaped);
    snprintf(sha1_header, sizeof sha1_header, "X-Bz-Content-Sha1: %s", file->sha1_hex);
    struct curl_slist *headers = curl_slist_append(NULL, target->authorization);
    headers = curl_slist_append(headers, name_header);
    headers = curl_slist_append(headers, sha1_header);
    headers = curl_slist_append(headers, "Content-Type: b2/x-auto");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, target->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, file->bytes);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)file->length);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    long status = 0;
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (code != CURLE_OK || status != 200) {
        fprintf(stderr, "upload_floor: %s: %s (HTTP %ld)\n", file->name, curl_easy_strerror(code),
                status);
        return -1;
    }
    return 0;
}

static void *run_worker(void *context)
{
    struct worker *worker = context;
    CURL *curl = curl_easy_init();
    for (size_t i = worker->first; i < worker->count; i += worker->step)
        worker->failures += upload_one(curl, &worker->target, &worker->files[i]) != 0;
    curl_easy_cleanup(curl);
    return NULL;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int sequential = argc > 1 && strcmp(argv[1], "--sequential") == 0;
    const int first_file = 5; /* both forms: four leading arguments */
    if (argc <= first_file) {
        fprintf(stderr, "usage: upload_floor ENDPOINT BUCKET PREFIX THREADS FILE...\n"
                        "       upload_floor --sequential ENDPOINT BUCKET PREFIX FILE...\n");
        return 2;
    }
    const char *endpoint = argv[1 + sequential], *bucket = argv[2 + sequential],
               *prefix = argv[3 + sequential];
    int threads = sequential ? 1 : atoi(argv[4]);
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "upload_floor: THREADS must be 1..64\n");
        return 2;
    }
    size_t count = (size_t)(argc - first_file);
    struct source_file *files = calloc(count, sizeof *files);
    for (size_t i = 0; i < count; i++) {
        files[i].path = argv[first_file + i];
        if (load_file(&files[i], prefix) != 0)
            return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char api_url[512], account_auth[1024], bucket_id[128];
    if (authorize(endpoint, bucket, api_url, sizeof api_url, account_auth, sizeof account_auth,
                  bucket_id, sizeof bucket_id) != 0)
        return 1;
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    for (int t = 0; t < threads; t++) {
        if (get_upload_url(api_url, account_auth, bucket_id, &workers[t].target) != 0)
            return 1;
        workers[t] = (struct worker){.target = workers[t].target, .files = files,
                                     .first = (size_t)t, .step = (size_t)threads, .count = count};
    }

    int failures = 0;
    double started = now_seconds(), median_ms = 0;
    if (sequential) {
        /* A new handle (so a new connection) per upload: what one stor process must do. */
        double *latencies = calloc(count, sizeof *latencies);
        for (size_t i = 0; i < count; i++) {
            double before = now_seconds();
            CURL *curl = curl_easy_init();
            failures += upload_one(curl, &workers[0].target, &files[i]) != 0;
            curl_easy_cleanup(curl);
            latencies[i] = (now_seconds() - before) * 1e3;
        }
        qsort(latencies, count, sizeof *latencies, compare_doubles);
        median_ms = latencies[count / 2];
        free(latencies);
    } else {
        pthread_t *ids = calloc((size_t)threads, sizeof *ids);
        for (int t = 0; t < threads; t++)
            pthread_create(&ids[t], NULL, run_worker, &workers[t]);
        for (int t = 0; t < threads; t++) {
            pthread_join(ids[t], NULL);
            failures += workers[t].failures;
        }
        free(ids);
    }
    double seconds = now_seconds() - started;
    printf("seconds=%.6f files=%zu files_per_s=%.1f median_upload_ms=%.3f failures=%d\n", seconds,
           count, count / seconds, median_ms, failures);
    for (size_t i = 0; i < count; i++)
        free(files[i].bytes);
    free(files);
    free(workers);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
