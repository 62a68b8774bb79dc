/* plugins/b2/pool.h — the upload-target pool (pool.c): exclusive leases of b2_get_upload_url
 * targets per bucket, returned after success, persisted for the next process. */
#ifndef B2_POOL_H
#define B2_POOL_H

#include "call.h"

/* An exclusive upload target for bucket_id: from the pool unless fresh, else b2_get_upload_url. */
enum stor_status b2_pool_lease(struct b2_plugin *plugin, const char *bucket_id, int fresh,
                               struct b2_target *target, struct b2_failure *failure,
                               struct stor_error *err);
/* Give a target that just worked back for the next lease (frees it if past its validity). */
void b2_pool_return(struct b2_plugin *plugin, struct b2_target *target);
/* Lease for a bucket by name, re-resolving the name once if B2 says bad_bucket_id. */
enum stor_status b2_lease_for_bucket(struct b2_plugin *plugin, const char *bucket, int fresh,
                                     struct b2_target *target, struct stor_error *err);
/* A bucket deleted: every idle upload target for it dropped, in memory and in the disk cache. */
void b2_pool_forget_bucket(struct b2_plugin *plugin, const char *bucket_id);
/* Hand idle targets to the disk cache for the next process (at close). */
void b2_pool_persist(struct b2_plugin *plugin);
int b2_target_usable(const struct b2_plugin *plugin, const struct b2_target *target);

#endif
