/* plugins/b2/upload_loop.c — one body sent through leased upload targets, attempt after attempt,
 * with the upload column of reference §2.3 on failure: shared by whole files (upload.c) and
 * large-file parts (large_file.c), which say where targets come from and what an answer means. */
#include "upload_loop.h"

#include "authorized.h"
#include "call.h"
#include "instance.h"
#include "sha1.h"
#include "sp_host.h"
#include "sp_http.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct body_reader {
    const struct b2_upload_source *source;
    int64_t position;
    struct b2_sha1 sha1;    /* running hash, when the digits go at the end */
    char trailer[B2_SHA1_HEX_LENGTH + 1];
    size_t trailer_sent;
    int hashing;
};

struct progress_context {
    struct b2_plugin *plugin;
    const char *key;
    uint64_t total;
};

ssize_t b2_source_read(const struct b2_upload_source *source, int64_t position, char *buffer,
                       size_t size)
{
    int64_t left = source->length - position;
    if (left <= 0)
        return 0;
    size_t want = left < (int64_t)size ? (size_t)left : size;
    if (source->fd < 0) {
        memcpy(buffer, source->memory + position, want);
        return (ssize_t)want;
    }
    ssize_t got;
    do
        got = pread(source->fd, buffer, want, source->offset + position);
    while (got < 0 && errno == EINTR);
    return got > 0 ? got : -1; /* an error, or the file shrank since we measured it */
}

static int is_callers_file(const struct b2_upload_source *source)
{
    return source->fd >= 0 && source->fd != source->spool_fd;
}

int b2_source_changed(const struct b2_upload_source *source)
{
    struct stat info;
    if (!is_callers_file(source))
        return 0;
    if (fstat(source->fd, &info) != 0 || info.st_size < source->offset + source->length)
        return 1;
    int64_t mtime_ms = (int64_t)info.st_mtim.tv_sec * 1000 + info.st_mtim.tv_nsec / 1000000;
    return source->mtime_ms >= 0 && mtime_ms != source->mtime_ms;
}

static ssize_t read_body(void *context, char *buffer, size_t size)
{
    struct body_reader *reader = context;
    const struct b2_upload_source *source = reader->source;
    if (reader->position < source->length) {
        ssize_t got = b2_source_read(source, reader->position, buffer, size);
        if (got < 0)
            return -1;
        if (reader->hashing)
            b2_sha1_update(&reader->sha1, buffer, (size_t)got);
        reader->position += got;
        return got;
    }
    if (!reader->hashing)
        return 0;
    /* hex_digits_at_end: the 40 hex digits of what was sent follow the content. */
    if (reader->sha1.context)
        b2_sha1_final(&reader->sha1, reader->trailer);
    size_t left_digits = B2_SHA1_HEX_LENGTH - reader->trailer_sent;
    size_t count = left_digits < size ? left_digits : size;
    memcpy(buffer, reader->trailer + reader->trailer_sent, count);
    reader->trailer_sent += count;
    return (ssize_t)count;
}

/* Whether every byte (and the trailing digits) was handed to the transport. */
static int body_went_out(const struct body_reader *reader)
{
    return reader->position == reader->source->length &&
           (!reader->hashing || reader->trailer_sent == B2_SHA1_HEX_LENGTH);
}

static int on_progress(void *context, uint64_t sent, uint64_t received)
{
    (void)received;
    struct progress_context *progress = context;
    sp_progress(progress->plugin->host, progress->key,
                sent < progress->total ? sent : progress->total, progress->total);
    return sp_cancelled(progress->plugin->host);
}


static int is_token_limit(const struct b2_failure *failure)
{
    return strcmp(failure->code, "auth_token_limit") == 0 ||
           strstr(failure->message, "more than one upload using auth token") != NULL;
}

enum stor_status b2_upload_through_targets(struct b2_plugin *plugin,
                                           const struct b2_upload_job *job,
                                           struct stor_error *err)
{
    const struct b2_upload_source *source = job->source;
    int hex_at_end = source->sha1[0] == '\0';
    struct progress_context progress = {plugin, job->label, (uint64_t)source->length};
    struct b2_backoff backoff;
    b2_backoff_start(plugin, &backoff);
    struct b2_failure failure = {0};
    struct b2_target target = {0};
    int have_target = 0, want_fresh = 0, target_is_fresh = 0, targets_used = 0;
    char lost_sha1[B2_SHA1_HEX_LENGTH + 1] = ""; /* a body that went out, answer lost */
    enum stor_status status = STOR_ETRANSIENT;
    const char *label = job->label;
    while (targets_used < B2_UPLOAD_TARGET_TRIES) {
        if (sp_cancelled(plugin->host)) {
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", label);
            break;
        }
        /* B2 has no idempotent upload: sent again, a stored body would be stored twice. */
        if (lost_sha1[0] && job->find_stored && job->find_stored(plugin, job->context, lost_sha1)) {
            status = STOR_OK;
            break;
        }
        lost_sha1[0] = '\0';
        if (!have_target) {
            /* After a failure that condemned a target, the next comes from B2, not the pool,
             * which may be stale for the same reason. */
            status = job->lease(plugin, job->context, want_fresh, &target, err);
            if (status != STOR_OK)
                break;
            have_target = 1;
            target_is_fresh = want_fresh;
            targets_used++;
        }
        char *lines[32];
        size_t line_count = 0;
        int built = sp_http_add_header_line(lines, &line_count, 32, "Authorization: %s", target.token) == 0 &&
                    sp_http_add_header_line(lines, &line_count, 32, "X-Bz-Content-Sha1: %s",
                             hex_at_end ? "hex_digits_at_end" : source->sha1) == 0 &&
                    sp_http_add_header_line(lines, &line_count, 32, "%s", "Expect:") == 0;
        /* "Expect:" drops libcurl's Expect: 100-continue, which can stall a body for 1 s. */
        int more = built ? job->headers(plugin, job->context, lines + line_count, 32 - line_count) : -1;
        struct body_reader reader = {.source = source, .hashing = hex_at_end};
        if (more < 0 || (hex_at_end && b2_sha1_init(&reader.sha1) != 0)) {
            sp_http_free_header_lines(lines, line_count + (more > 0 ? (size_t)more : 0));
            status = stor_fail(err, STOR_EINTERNAL, "out of memory");
            break;
        }
        line_count += (size_t)more;
        struct sp_http_request request = {
            .method = "POST", .url = target.url,
            .headers = (const char *const *)lines, .header_count = line_count,
            .read_body = read_body, .read_context = &reader,
            .content_length = source->length + (hex_at_end ? B2_SHA1_HEX_LENGTH : 0),
            .progress = job->progress ? job->progress : on_progress,
            .progress_context = job->progress ? job->progress_context : (void *)&progress};
        struct sp_http_response response;
        sp_log(plugin->host, STOR_LOG_TRACE, "POST %s (%lld bytes)", target.url,
               (long long)request.content_length);
        b2_perform(plugin, "class_a", &request, &response);
        sp_http_free_header_lines(lines, line_count);
        if (reader.sha1.context)
            b2_sha1_abandon(&reader.sha1);
        b2_failure_from_response(&response, &plugin->config, target.token, &failure);
        if (failure.kind == B2_FAILURE_NONE) {
            const char *sent_sha1 = hex_at_end ? reader.trailer : source->sha1;
            status = job->accept(plugin, job->context, &response, sent_sha1, err);
            /* A 2xx with a broken body: B2 stored it, so look rather than fail (a rerun would
             * store it twice). */
            if (status == STOR_EINTERNAL && job->find_stored &&
                job->find_stored(plugin, job->context, sent_sha1))
                status = STOR_OK;
            sp_http_response_free(&response);
            job->give_back(plugin, job->context, &target); /* the pod answered: it is good */
            have_target = 0;
            break;
        }
        sp_http_response_free(&response);
        char detail[400];
        b2_failure_describe(&failure, detail, sizeof detail);
        if (failure.kind == B2_FAILURE_CANCELLED) {
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", label);
            break; /* the pod may still count the token as in use: dropped below */
        }
        if (failure.outcome == SP_HTTP_LOCAL) {
            status = stor_fail(err, STOR_EIO, "%s: reading the input failed during the upload%s",
                               label,
                               b2_source_changed(source) ? ": the file changed (it shrank)" : "");
            break;
        }
        if (failure.outcome == SP_HTTP_COMPLETE && failure.http_status == 429) {
            /* Rate limited: wait as told and try the same target again. */
            sp_log(plugin->host, STOR_LOG_INFO, "%s: upload rate limited", label);
            int waited = b2_backoff_wait(plugin, &backoff, failure.retry_after_ms);
            if (waited == 0)
                continue;
            status = waited == -2 ? stor_fail(err, STOR_ECANCELLED, "%s: cancelled", label)
                                  : stor_fail(err, STOR_ETRANSIENT, "%s: upload rate limited by B2 "
                                              "on every try; last error: %s", label, detail);
            break;
        }
        if (failure.http_status == 401 && strcmp(failure.code, "unauthorized") == 0 &&
            target_is_fresh) {
            /* A target B2 just issued refuses this body: the key may not write this name
             * (a name-prefix restriction), and more targets will say the same. */
            b2_target_free(&target);
            have_target = 0;
            status = stor_fail(err, STOR_EAUTH, "%s: the application key is not allowed to "
                               "write this name (B2 says: %s)", label,
                               failure.message[0] ? failure.message : "unauthorized");
            break;
        }
        /* B2 hashed other bytes than we did: from the caller's file, the file changed under us
         * (a usage error it is not); from our own copy, the bytes were damaged on the way. */
        int sha1_mismatch = failure.http_status == 400 &&
                            strstr(failure.message, "Sha1 did not match") != NULL;
        if (sha1_mismatch && source->sha1_trusted) {
            status = stor_fail(err, STOR_EIO, "%s: B2 hashed the bytes received to another SHA-1 "
                               "than the one given for them (%s): not stored", label, source->sha1);
            job->give_back(plugin, job->context, &target);
            have_target = 0;
            break;
        }
        if (sha1_mismatch && is_callers_file(source)) {
            status = stor_fail(err, STOR_EIO, "%s: the file changed while it was uploaded (B2 "
                               "received other bytes than were hashed); put it again once it is "
                               "no longer being written", label);
            job->give_back(plugin, job->context, &target);
            have_target = 0;
            break;
        }
        int condemned = failure.kind == B2_FAILURE_TRANSIENT || failure.kind == B2_FAILURE_EXPIRED ||
                        failure.http_status == 401 || is_token_limit(&failure) || sha1_mismatch;
        if (!condemned) {
            status = b2_fail(plugin, err, job->call ? job->call : "b2_upload_file", &failure,
                             "writeFiles");
            if (job->refused)
                status = job->refused(job->context, &failure, status, err);
            job->give_back(plugin, job->context, &target); /* a refusal of this body, not of the target */
            have_target = 0;
            break;
        }
        if (b2_answer_lost(&failure) && body_went_out(&reader))
            snprintf(lost_sha1, sizeof lost_sha1, "%s", hex_at_end ? reader.trailer : source->sha1);
        /* Drop the target for good: after a timeout B2 may still count its token as in use. */
        sp_log(plugin->host, is_token_limit(&failure) ? STOR_LOG_WARN : STOR_LOG_INFO,
               "%s: upload target rejected (%s); getting a new one", label, detail);
        b2_target_free(&target);
        have_target = 0;
        want_fresh = 1;
        status = stor_fail(err, STOR_ETRANSIENT, "%s: upload failed on %d upload targets; last "
                           "error: %s", label, targets_used, detail);
        if (targets_used >= B2_UPLOAD_TARGET_TRIES)
            break;
        if (failure.kind != B2_FAILURE_TRANSIENT) {
            sp_count(plugin->host, "retries", 1);
            continue;
        }
        int waited = b2_backoff_wait(plugin, &backoff, failure.retry_after_ms);
        if (waited == -2)
            status = stor_fail(err, STOR_ECANCELLED, "%s: cancelled", label);
        if (waited != 0)
            break;
    }
    if (have_target)
        b2_target_free(&target);
    return status;
}
