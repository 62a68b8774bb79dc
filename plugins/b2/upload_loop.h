/* plugins/b2/upload_loop.h — the upload attempt loop shared by whole files (upload.c) and
 * large-file parts (large_file.c): a body from a source, sent through leased targets per §2.3. */
#ifndef B2_UPLOAD_LOOP_H
#define B2_UPLOAD_LOOP_H

#include "call.h"
#include "instance.h"
#include "sha1.h"
#include "sp_http.h"

#define B2_UPLOAD_TARGET_TRIES 5 /* "try five different upload URLs" (Backblaze, Uploading) */

/* Where the bytes of one upload come from; every attempt re-reads them from the start. */
struct b2_upload_source {
    int fd;                 /* the caller's regular file, or our spool file, or -1 */
    int64_t offset;         /* where the content starts in fd */
    int64_t length;         /* content bytes */
    char *memory;           /* a short pipe's or a small file's content, when fd is -1 */
    int spool_fd;           /* ours to close, or -1 */
    char sha1[B2_SHA1_HEX_LENGTH + 1]; /* known up front, or "" to send hex_digits_at_end */
    int64_t mtime_ms;       /* -1 when meaningless (pipes) */
    int rest_fd;            /* a pipe whose rest follows this content (large stream), or -1 */
    int sha1_trusted;       /* sha1 is the caller's (put_ex), not computed here: a mismatch B2
                             * finds is the caller's claim failing, not bytes to send again */
};

/* One body sent through leased upload targets, with the upload column of reference §2.3 on
 * failure. A file upload fills it from the bucket's pool; a large file's part fills it from the
 * part URLs of its file id (X-Bz-Part-Number instead of X-Bz-File-Name), same loop. */
struct b2_upload_job {
    const char *label;                  /* names the upload in messages */
    const char *call;                   /* "b2_upload_file" (NULL) or "b2_upload_part" */
    const struct b2_upload_source *source;
    enum stor_status (*lease)(struct b2_plugin *plugin, void *context, int fresh,
                              struct b2_target *target, struct stor_error *err);
    void (*give_back)(struct b2_plugin *plugin, void *context, struct b2_target *target);
    /* Headers besides Authorization and X-Bz-Content-Sha1, malloc'd; count or -1. */
    int (*headers)(struct b2_plugin *plugin, void *context, char **lines, size_t max_lines);
    /* A 2xx answer: check it against sent_sha1 and report it. */
    enum stor_status (*accept)(struct b2_plugin *plugin, void *context,
                               const struct sp_http_response *response, const char *sent_sha1,
                               struct stor_error *err);
    /* A body whose answer was lost after it all went out may be stored already: look before
     * sending it again. 1: stored, and reported as accept would; 0: send again. NULL: sending
     * again is harmless (a part replaces itself). */
    int (*find_stored)(struct b2_plugin *plugin, void *context, const char *sent_sha1);
    /* B2 refused this body for good: may say why better than B2's words (status, err as made
     * from them). NULL: as they are. */
    enum stor_status (*refused)(void *context, const struct b2_failure *failure,
                                enum stor_status status, struct stor_error *err);
    void *context;
    /* Progress of this body (bytes sent so far), or NULL to report it under label. */
    sp_http_progress_fn progress;
    void *progress_context;
};

enum stor_status b2_upload_through_targets(struct b2_plugin *plugin,
                                           const struct b2_upload_job *job,
                                           struct stor_error *err);

/* Up to size bytes of source's content from position (memory, or pread of its fd): 0 at the
 * end, -1 on a read error or a file that shrank since it was measured. */
ssize_t b2_source_read(const struct b2_upload_source *source, int64_t position, char *buffer,
                       size_t size);

/* Whether source is the caller's own file and it is no longer what was measured (size or
 * modification time differ): then what was hashed and what was sent may not agree. */
int b2_source_changed(const struct b2_upload_source *source);

#endif
