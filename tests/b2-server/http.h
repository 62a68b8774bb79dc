/* http.h — the libmicrohttpd daemon of the B2 test server: bound to 127.0.0.1 only, a pool of
 * threads, every request routed to its B2 call, the control API or a 404. */
#ifndef B2_HTTP_H
#define B2_HTTP_H

#include <stdint.h>

struct MHD_Daemon;

/* port 0 picks an ephemeral port; *bound_port tells which. threads 0 = a thread per connection,
 * else a pool of that many threads. NULL on failure. */
struct MHD_Daemon *http_start(uint16_t port, unsigned threads, uint16_t *bound_port);
void http_stop(struct MHD_Daemon *daemon);

#endif
