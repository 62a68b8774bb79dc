/* plugins/s3/plugin.h — the S3 plugin's instance made and destroyed apart from the vtable, so
 * unit tests can open one with their own HTTP seam and clock. */
#ifndef S3_PLUGIN_H
#define S3_PLUGIN_H

#include <stor/plugin.h>

#include "instance.h"
#include "sp_clock.h"

/* Options and credentials as open takes them; plugin->http stays NULL for the caller to set. */
enum stor_status s3_plugin_create(const struct stor_host *host, const struct stor_option *options,
                                  size_t option_count, struct sp_clock clock,
                                  struct s3_plugin **result, struct stor_error *err);
void s3_plugin_destroy(struct s3_plugin *plugin);

/* "64M", "5MiB", "100MB", "1024": bytes (K/M/G and KiB/MiB/GiB powers of 1024, KB/MB/GB of 1000). */
int s3_parse_size(const char *text, int64_t *size);

#endif
