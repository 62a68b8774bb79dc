/* plugins/b2/b2.h — every room's header at once, for the unit tests, the fuzzers and the bench,
 * which reach into any room. No room includes it: each includes the headers of the rooms below
 * it (the order is the layer table of README.md, checked by tests/test_b2_layers.sh). */
#ifndef B2_B2_H
#define B2_B2_H

#include "plugin.h"
#include "operations.h"
#include "large_file.h"
#include "versions.h"
#include "stat.h"
#include "cleanup.h"
#include "objects.h"
#include "pool.h"
#include "upload_loop.h"
#include "file_info.h"
#include "bucket.h"
#include "protection.h"
#include "authorized.h"
#include "auth.h"
#include "call.h"
#include "sp_host.h"
#include "cache.h"
#include "sp_clock.h"
#include "sp_http.h"
#include "instance.h"
#include "names.h"
#include "sha1.h"
#include "wire.h"

#endif
