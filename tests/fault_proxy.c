/* fault_proxy.c — the proxy of fault_proxy.h: a listener thread, a thread per connection pumping
 * both ways with poll(), the fault applied to the first answer of the connection. */
#include "fault_proxy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNECTIONS = 64 };

struct fault_proxy {
    int listener, stop_pipe[2];
    uint16_t port, upstream;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    enum fault_proxy_kind kind;
    long arg;
    int count, hits, active;
    int fds[MAX_CONNECTIONS][2]; /* of the connections alive, for stop to shut down */
};

struct connection {
    struct fault_proxy *proxy;
    int client, server, slot;
    enum fault_proxy_kind kind;
    long arg;
};

static int write_all(int fd, const char *data, size_t length)
{
    while (length) {
        ssize_t put = send(fd, data, length, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        data += put;
        length -= (size_t)put;
    }
    return 0;
}

/* Forwards one chunk of the answer, applying the fault to the first answer. Returns -1 to end
 * the connection. header_end: bytes of the first answer's headers (0 until found); seen: bytes of
 * the answer forwarded so far; tail: the last bytes, to find the header end across chunks. */
static int answer_chunk(struct connection *c, char *data, size_t length, size_t *seen,
                        size_t *header_end, unsigned *tail)
{
    if (c->kind == FAULT_PROXY_NONE)
        return write_all(c->client, data, length);
    if (c->kind == FAULT_PROXY_DELAY) {
        nanosleep(&(struct timespec){c->arg / 1000, (c->arg % 1000) * 1000000}, NULL);
        c->kind = FAULT_PROXY_NONE;
        return write_all(c->client, data, length);
    }
    for (size_t i = 0; i < length; i++) {
        size_t at = *seen + i;
        if (!*header_end) {
            *tail = (*tail << 8) | (unsigned char)data[i];
            if (*tail == 0x0d0a0d0a)
                *header_end = at + 1;
            continue;
        }
        long body = (long)(at - *header_end);
        if (c->kind == FAULT_PROXY_TRUNCATE && body == c->arg) {
            write_all(c->client, data, i);
            return -1;
        }
        if (c->kind == FAULT_PROXY_CORRUPT && body == c->arg) {
            data[i] = (char)~data[i];
            c->kind = FAULT_PROXY_NONE; /* once: the rest of the connection passes unchanged */
            *seen += length;
            return write_all(c->client, data, length);
        }
    }
    *seen += length;
    return write_all(c->client, data, length);
}

static void *pump(void *cls)
{
    struct connection *c = cls;
    char buffer[65536];
    size_t seen = 0, header_end = 0;
    unsigned tail = 0;
    struct pollfd fds[2] = {{.fd = c->client, .events = POLLIN}, {.fd = c->server, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents) {
            ssize_t got = recv(c->client, buffer, sizeof buffer, 0);
            if (got <= 0 || write_all(c->server, buffer, (size_t)got) != 0)
                break;
        }
        if (fds[1].revents) {
            ssize_t got = recv(c->server, buffer, sizeof buffer, 0);
            if (got <= 0 || answer_chunk(c, buffer, (size_t)got, &seen, &header_end, &tail) != 0)
                break;
        }
    }
    struct fault_proxy *proxy = c->proxy;
    pthread_mutex_lock(&proxy->lock);
    proxy->fds[c->slot][0] = proxy->fds[c->slot][1] = -1;
    close(c->client);
    close(c->server);
    if (--proxy->active == 0)
        pthread_cond_broadcast(&proxy->idle);
    pthread_mutex_unlock(&proxy->lock);
    free(c);
    return NULL;
}

static int connect_upstream(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void *listen_loop(void *cls)
{
    struct fault_proxy *proxy = cls;
    struct pollfd fds[2] = {{.fd = proxy->listener, .events = POLLIN}, {.fd = proxy->stop_pipe[0], .events = POLLIN}};
    while (poll(fds, 2, -1) >= 0 || errno == EINTR) {
        if (fds[1].revents)
            break;
        if (!fds[0].revents)
            continue;
        int client = accept(proxy->listener, NULL, NULL);
        if (client < 0)
            continue;
        int server = connect_upstream(proxy->upstream);
        struct connection *c = server >= 0 ? calloc(1, sizeof *c) : NULL;
        pthread_mutex_lock(&proxy->lock);
        int slot = -1;
        for (int i = 0; c && i < MAX_CONNECTIONS && slot < 0; i++)
            if (proxy->fds[i][0] < 0)
                slot = i;
        if (slot < 0) {
            pthread_mutex_unlock(&proxy->lock);
            close(client);
            if (server >= 0)
                close(server);
            free(c);
            continue;
        }
        *c = (struct connection){proxy, client, server, slot, FAULT_PROXY_NONE, 0};
        if (proxy->kind != FAULT_PROXY_NONE && proxy->count != 0) {
            c->kind = proxy->kind;
            c->arg = proxy->arg;
            proxy->hits++;
            if (proxy->count > 0)
                proxy->count--;
        }
        proxy->fds[slot][0] = client;
        proxy->fds[slot][1] = server;
        proxy->active++;
        pthread_mutex_unlock(&proxy->lock);
        pthread_t thread;
        pthread_attr_t detached;
        pthread_attr_init(&detached);
        pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &detached, pump, c) != 0) {
            pthread_mutex_lock(&proxy->lock);
            proxy->fds[slot][0] = proxy->fds[slot][1] = -1;
            proxy->active--;
            pthread_mutex_unlock(&proxy->lock);
            close(client);
            close(server);
            free(c);
        }
        pthread_attr_destroy(&detached);
    }
    return NULL;
}

struct fault_proxy *fault_proxy_start(uint16_t upstream_port)
{
    struct fault_proxy *proxy = calloc(1, sizeof *proxy);
    assert_non_null(proxy);
    proxy->upstream = upstream_port;
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        proxy->fds[i][0] = proxy->fds[i][1] = -1;
    pthread_mutex_init(&proxy->lock, NULL);
    pthread_cond_init(&proxy->idle, NULL);
    assert_int_equal(pipe(proxy->stop_pipe), 0);
    proxy->listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(proxy->listener >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(proxy->listener, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(proxy->listener, 64), 0);
    socklen_t length = sizeof address;
    assert_int_equal(getsockname(proxy->listener, (struct sockaddr *)&address, &length), 0);
    proxy->port = ntohs(address.sin_port);
    assert_int_equal(pthread_create(&proxy->thread, NULL, listen_loop, proxy), 0);
    return proxy;
}

uint16_t fault_proxy_port(const struct fault_proxy *proxy)
{
    return proxy->port;
}

void fault_proxy_set(struct fault_proxy *proxy, enum fault_proxy_kind kind, long arg, int count)
{
    pthread_mutex_lock(&proxy->lock);
    proxy->kind = kind;
    proxy->arg = arg;
    proxy->count = count;
    proxy->hits = 0;
    pthread_mutex_unlock(&proxy->lock);
}

int fault_proxy_hits(struct fault_proxy *proxy)
{
    pthread_mutex_lock(&proxy->lock);
    int hits = proxy->hits;
    pthread_mutex_unlock(&proxy->lock);
    return hits;
}

void fault_proxy_stop(struct fault_proxy *proxy)
{
    if (!proxy)
        return;
    assert_int_equal(write(proxy->stop_pipe[1], "x", 1), 1);
    pthread_join(proxy->thread, NULL);
    pthread_mutex_lock(&proxy->lock);
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (proxy->fds[i][0] >= 0) {
            shutdown(proxy->fds[i][0], SHUT_RDWR);
            shutdown(proxy->fds[i][1], SHUT_RDWR);
        }
    while (proxy->active > 0)
        pthread_cond_wait(&proxy->idle, &proxy->lock);
    pthread_mutex_unlock(&proxy->lock);
    close(proxy->listener);
    close(proxy->stop_pipe[0]);
    close(proxy->stop_pipe[1]);
    pthread_mutex_destroy(&proxy->lock);
    pthread_cond_destroy(&proxy->idle);
    free(proxy);
}
