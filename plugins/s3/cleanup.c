/* plugins/s3/cleanup.c — cleanup: unfinished multipart uploads below a prefix
 * (ListMultipartUploads, paged by key and upload-id markers), those started more than
 * older_than ago aborted (AbortMultipartUpload) unless a dry run, each reported. */
#include "operations.h"

#include "instance.h"
#include "multipart.h"
#include "sp_host.h"

#include <stdlib.h>
#include <string.h>

enum stor_status s3_cleanup(void *instance, const char *bucket, const char *prefix,
                            int64_t older_than_ms, int dry_run, stor_object_fn on_object,
                            void *context, struct stor_error *err)
{
    struct s3_plugin *plugin = instance;
    int64_t limit = sp_clock_now(&plugin->clock) - (older_than_ms > 0 ? older_than_ms : 0);
    char *key_marker = NULL, *id_marker = NULL;
    enum stor_status status = STOR_OK;
    size_t prefix_length = prefix ? strlen(prefix) : 0;
    for (;;) {
        struct s3_uploads_page page;
        status = s3_multipart_list(plugin, bucket, prefix, key_marker, id_marker, &page, err);
        if (status != STOR_OK)
            break;
        for (size_t i = 0; i < page.count && status == STOR_OK; i++) {
            struct s3_upload_entry *entry = &page.entries[i];
            if (prefix_length && strncmp(entry->key, prefix, prefix_length) != 0) {
                status = stor_fail(err, STOR_EINTERNAL, "S3 ListMultipartUploads %s: the server "
                                   "listed %s, outside the prefix '%s': not believed", bucket,
                                   entry->key, prefix);
                break;
            }
            if (older_than_ms > 0 && (entry->initiated_ms < 0 || entry->initiated_ms > limit))
                continue;
            if (!dry_run) {
                status = s3_multipart_abort(plugin, bucket, entry->key, entry->upload_id, err);
                if (status == STOR_ENOTFOUND) /* finished or aborted meanwhile */
                    status = STOR_OK;
                if (status != STOR_OK)
                    break;
            }
            struct stor_object object = {.key = entry->key, .size = -1,
                                         .mtime_ms = entry->initiated_ms, .id = entry->upload_id,
                                         .upload_ms = entry->initiated_ms,
                                         .protection = {.retain_until_ms = -1, .legal_hold = -1}};
            if (on_object && on_object(context, &object) != 0)
                status = stor_fail(err, STOR_ECANCELLED, "stopped");
        }
        int more = status == STOR_OK && page.truncated && page.next_key_marker &&
                   *page.next_key_marker;
        if (more && key_marker && strcmp(page.next_key_marker, key_marker) == 0 &&
            (!page.next_upload_id_marker || !id_marker ||
             strcmp(page.next_upload_id_marker, id_marker) == 0))
            status = stor_fail(err, STOR_EINTERNAL, "S3 ListMultipartUploads %s: the markers do "
                               "not advance: not believed", bucket);
        free(key_marker);
        free(id_marker);
        key_marker = more && status == STOR_OK ? strdup(page.next_key_marker) : NULL;
        id_marker = key_marker && page.next_upload_id_marker ? strdup(page.next_upload_id_marker)
                                                              : NULL;
        s3_uploads_page_free(&page);
        if (!key_marker || status != STOR_OK)
            break;
        if (sp_cancelled(plugin->host)) {
            status = stor_fail(err, STOR_ECANCELLED, "cancelled");
            break;
        }
    }
    free(key_marker);
    free(id_marker);
    return status;
}
