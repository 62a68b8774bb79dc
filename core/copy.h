/* copy.h — one object from one place to another (cp, mv, sync between two remotes): inside the
 * service where one backend holds both and can copy, else streamed through stor in bounded memory. */
#ifndef STOR_COPY_H
#define STOR_COPY_H

#include "commands.h"

/* What is known of the source object before its bytes move: a listing's entry or stat's answer,
 * copied out of the callback (its pointers die with it). */
struct stor_copy_source {
    int64_t size, mtime_ms; /* -1 when unknown */
    char sha1[41];          /* "" when unknown */
    char id[256];           /* the version or identity the listing saw, "" when unknown */
    char *content_type, *headers[5]; /* cache-control, disposition, encoding, language, expires */
    struct stor_option metadata[STOR_META_MAX];
    size_t metadata_count;
};

/* Copies what o says into k (zeroed by the caller); abi is the reporting plugin's, which says
 * which fields o has. -1 when out of memory. Free with stor_copy_source_free. */
int stor_copy_source_keep(struct stor_copy_source *k, unsigned abi, const struct stor_object *o);
void stor_copy_source_free(struct stor_copy_source *k);

/* Whether a listing's entry o of from says all a copy to `to` keeps (size, mtime, and metadata
 * where both keep it), so the copy needs no stat of the source. */
int stor_copy_listing_suffices(const struct stor_session *from, const struct stor_session *to,
                               const struct stor_object *o);

/* One object from from's backend to to's (or the same): server-side where one backend holds both
 * and can copy, else streamed through stor, held to the size and SHA-1 the source states; the
 * modification time and metadata go along where the destination keeps them. known is what a
 * listing said of the source (NULL: stat it). ranges is how many ranged gets of a large source
 * may run at once (1: one get); memory stays ranges x 8 MiB, whatever the object's size. */
enum stor_status stor_copy_object(struct stor_session *from, struct stor_session *to,
                                  const char *src_bucket, const char *src_key,
                                  const struct stor_copy_source *known, int ranges,
                                  const char *bucket, const char *key, struct stor_result *result,
                                  struct stor_error *err);

#endif
