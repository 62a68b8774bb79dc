/* http.h — the S3 test server's HTTP daemon on 127.0.0.1 (libmicrohttpd). */
#ifndef S3_HTTP_H
#define S3_HTTP_H

#include <microhttpd.h>
#include <stdint.h>

/* port 0: an ephemeral one; *bound_port gets the port listened on. NULL when it cannot listen. */
struct MHD_Daemon *http_start(uint16_t port, unsigned threads, uint16_t *bound_port);

#endif
