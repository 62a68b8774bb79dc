/* plugins/b2/cache.h — the on-disk cache of one endpoint + key id: account token, bucket ids, idle
 * upload targets, as one JSON file. Readers and writers serialise on flock; writes are atomic. */
#ifndef B2_CACHE_H
#define B2_CACHE_H

#include <json-c/json.h>
#include <stddef.h>

struct b2_cache;

/* Open (creating the directory 0700) the cache for this endpoint and key id; what it holds is
 * bound to a hash of key, so another key with the same id reads it as empty. dir is the
 * directory to use, or NULL for $STOR_CACHE_DIR, $XDG_CACHE_HOME/stor, ~/.cache/stor. NULL when
 * there is no usable cache (why says which problem; the plugin then works from memory). */
struct b2_cache *b2_cache_open(const char *dir, const char *endpoint, const char *key_id,
                               const char *key, char *why, size_t why_size);
void b2_cache_close(struct b2_cache *cache);
const char *b2_cache_path(const struct b2_cache *cache);
/* Who hears, in one line naming the file and the reason, that an existing cache file was refused
 * (another owner, writable by others, not a regular file) and so read as empty. */
typedef void (*b2_cache_warn_fn)(void *context, const char *line);
void b2_cache_on_warning(struct b2_cache *cache, b2_cache_warn_fn warn, void *context);

/* Lock exclusively, remove temporary files a killed writer left, read the file (an unreadable, corrupt, foreign or unsafe file reads as an
 * empty cache), call update with the root object, and when update returns > 0 write the root
 * back atomically (temporary file + rename) before unlocking. Returns update's result, or -1 if
 * the lock cannot be taken. Other processes wait on the lock, so work done inside update (such
 * as authorizing) happens once. */
typedef int (*b2_cache_update_fn)(json_object *root, void *context);
int b2_cache_update(struct b2_cache *cache, b2_cache_update_fn update, void *context);

#endif
