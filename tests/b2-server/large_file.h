/* large_file.h — what the upload path needs from the large-file store: the part upload target's
 * check and the storing of one received part. */
#ifndef B2_LARGE_FILE_H
#define B2_LARGE_FILE_H

#include "store.h"

/* The large file exists, is unfinished and the key may write it: else 400 bad_request / 401. */
bool store_check_large_file(const struct key *key, const char *file_id, struct b2_error *error);
/* Stores (or replaces) part part_number; takes a reference on blob. Returns the part object. */
/* key_md5: the SSE-C key's MD5 the part came with ("" none); an SSE-C file needs its own. */
json_object *store_put_part(const char *file_id, int part_number, struct blob *blob,
			    const char *sha1, const char *md5, const char *key_md5,
			    struct b2_error *error);

#endif
