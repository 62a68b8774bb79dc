/* fault_proxy.h — a loopback TCP proxy in front of a test server, for the faults a server cannot
 * inject into its own answers: late, cut short, one byte changed. A fault hits the first answer on
 * each of the next `count` connections (a fresh stor process's first request opens the first);
 * later answers and other connections pass unchanged. */
#ifndef FAULT_PROXY_H
#define FAULT_PROXY_H

#include <stdint.h>

enum fault_proxy_kind {
    FAULT_PROXY_NONE,
    FAULT_PROXY_DELAY,    /* arg ms before the answer's first byte */
    FAULT_PROXY_TRUNCATE, /* the connection closed after the headers and arg bytes of body */
    FAULT_PROXY_CORRUPT,  /* body byte arg inverted */
};

struct fault_proxy;

/* Listens on an ephemeral 127.0.0.1 port and forwards to 127.0.0.1:upstream_port; asserts. */
struct fault_proxy *fault_proxy_start(uint16_t upstream_port);
uint16_t fault_proxy_port(const struct fault_proxy *proxy);
/* The fault for the next count connections (-1: every one until set again); NONE clears. */
void fault_proxy_set(struct fault_proxy *proxy, enum fault_proxy_kind kind, long arg, int count);
/* Faulted connections since the last fault_proxy_set. */
int fault_proxy_hits(struct fault_proxy *proxy);
/* Closes every connection and the listener, waits for its threads, frees. */
void fault_proxy_stop(struct fault_proxy *proxy);

#endif
