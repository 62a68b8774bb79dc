/* plugins/b2/auth.h — the account (auth.c): b2_authorize_account, the token in memory and in
 * the disk cache, a single-flight refresh, and what the key may do (capabilities, restrictions). */
#ifndef B2_AUTH_H
#define B2_AUTH_H

#include "instance.h"

struct b2_credentials {
    char *token;        /* secret */
    char *api_url;
    char *download_url;
    char *account_id;
    uint64_t generation;
    int from_cache;     /* the account came from the disk cache (its apiUrl may be stale) */
};
/* Copy the current account token (authorizing, or loading the disk cache, first if needed). */
enum stor_status b2_auth_get(struct b2_plugin *plugin, struct b2_credentials *credentials,
                             struct stor_error *err);
/* Authorizes (or loads the disk cache) if needed, so the account's fields are known. */
enum stor_status b2_auth_ensure(struct b2_plugin *plugin, struct stor_error *err);
/* The token of generation stale was refused: get a new one unless another thread already did. */
enum stor_status b2_auth_refresh(struct b2_plugin *plugin, uint64_t stale,
                                 struct stor_error *err);
/* B2 refused credentials' token as expired: swap in a fresh copy (one refresh among all threads).
 * On failure credentials is left empty, so there is nothing to free. */
enum stor_status b2_auth_reauthorize(struct b2_plugin *plugin, struct b2_credentials *credentials,
                                     struct stor_error *err);
void b2_credentials_free(struct b2_credentials *credentials);
/* 1 if the key has capability, 0 if it lacks it, -1 if not known yet. */
int b2_auth_has_capability(struct b2_plugin *plugin, const char *capability);
/* The key's name prefix restriction (malloc'd), or NULL when it has none or is not known. */
char *b2_auth_name_prefix(struct b2_plugin *plugin);
/* The prefix a listing of `asked` sends under the key (B2 answers 401 to one wider than the
 * key's name prefix): asked itself when it lies inside the key's prefix, the key's prefix when
 * asked is wider ("" or "all" for "allowed/"). *narrowed is malloc'd, or NULL to send asked as
 * is; STOR_EAUTH when the two do not meet. Authorizes first if needed. */
enum stor_status b2_auth_listing_prefix(struct b2_plugin *plugin, const char *asked,
                                        char **narrowed, struct stor_error *err);
/* Before anything is sent: the key may write bucket/key (its bucket and name-prefix restrictions
 * allow it), else STOR_EAUTH naming what the key is restricted to. */
enum stor_status b2_auth_check_name(struct b2_plugin *plugin, const char *bucket, const char *key,
                                    struct stor_error *err);
/* Whether the key is restricted to other buckets than name; if so err says which it may use, so
 * nothing is sent to a bucket the key cannot reach. */
int b2_auth_refuses_bucket(struct b2_plugin *plugin, const char *name, struct stor_error *err);
/* The allowed bucket id for name from the key's restrictions (malloc'd), or NULL. */
char *b2_auth_allowed_bucket(struct b2_plugin *plugin, const char *name);
/* Copies of every bucket the key is restricted to (names NULL where B2 does not say); none
 * (*count 0) when it may use every bucket. Authorizes first if needed. */
enum stor_status b2_auth_allowed_buckets(struct b2_plugin *plugin, struct b2_bucket_ref **buckets,
                                         size_t *count, struct stor_error *err);
void b2_bucket_refs_free(struct b2_bucket_ref *buckets, size_t count);

#endif
