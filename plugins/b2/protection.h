/* plugins/b2/protection.h — encryption at rest on the wire (protection.c): the SSE-C key, SSE
 * headers and JSON, and B2's 403 on a missing or wrong key said in one line. */
#ifndef B2_PROTECTION_H
#define B2_PROTECTION_H

#include <json-c/json.h>

#include "call.h"

enum b2_sse { B2_SSE_NONE = 0, B2_SSE_B2, B2_SSE_C };
/* -o sse_c_key_file: exactly 32 bytes, in a file of ours that nobody else may read. */
enum stor_status b2_sse_c_load(const char *path, struct b2_config *config, struct stor_error *err);
void b2_sse_c_forget(struct b2_config *config);
/* The three SSE-C header lines of config's key (none without one). 0, or -1 when full. */
int b2_sse_c_headers(const struct b2_config *config, char **lines, size_t *count, size_t max_lines);
/* Header names the transport's trace must blank (sp_http_options.secret_headers, NULL-ended):
 * the SSE-C key and, by the same prefix, its MD5 (-Key-Md5), secrets like the token. */
extern const char *const b2_sse_c_secret_headers[];
/* {"mode": "SSE-B2", "algorithm": "AES256"}, or SSE-C with config's customerKey and
 * customerKeyMd5; NULL for B2_SSE_NONE. */
json_object *b2_sse_json(const struct b2_config *config, enum b2_sse mode);
/* A read of an SSE-C file B2 refused (403 access_denied): the one line saying why. 0 when the
 * failure is something else. */
int b2_sse_c_refused(const struct b2_plugin *plugin, const struct b2_failure *failure,
                     const char *what, enum stor_status *status, struct stor_error *err);

#endif
