/* plugins/b2/plugin.h — the top room's own: an instance made and freed (open and close do it
 * for the host; the unit tests with a scripted transport). */
#ifndef B2_PLUGIN_H
#define B2_PLUGIN_H

#include "instance.h"

#define B2_DEFAULT_ENDPOINT "https://api.backblazeb2.com"

/* Build an instance from the options and a clock; the caller then installs plugin->http (the
 * libcurl transport in open, a scripted one in tests), which destroy frees. */
enum stor_status b2_plugin_create(const struct stor_host *host, const struct stor_option *options,
                                  size_t option_count, struct sp_clock clock,
                                  struct b2_plugin **plugin, struct stor_error *err);
void b2_plugin_destroy(struct b2_plugin *plugin);

#endif
