// Raw frames to a server and what its process looks like from outside.
#include "hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_util.h"

void
hb_put(hb *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL)
            abort();
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void
hb_varint(hb *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t) (v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    hb_put(b, t, n);
}

void
hb_tag(hb *b, unsigned field, unsigned wire)
{
    hb_varint(b, (uint64_t) field << 3 | wire);
}

void
hb_bytes(hb *b, unsigned field, const void *data, size_t n)
{
    hb_tag(b, field, 2);
    hb_varint(b, n);
    hb_put(b, data, n);
}

void
hb_free(hb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void
md(hb *out, const char *k, const char *v, size_t vlen)
{
    hb e = {0};
    hb_bytes(&e, 1, k, strlen(k));
    hb_bytes(&e, 2, v, vlen);
    hb_bytes(out, 4, e.p, e.len);
    hb_free(&e);
}

void
hs_envelope(hb *out, const char *method, uint64_t call_id, const void *payload, size_t n,
            size_t n_junk_md, size_t big_md, const civic_key *key, const char *token)
{
    hb_bytes(out, 1, method, strlen(method));
    hb_tag(out, 2, 0);
    hb_varint(out, call_id);
    hb_tag(out, 3, 0);
    hb_varint(out, 5000);
    if (key != NULL) {
        char sig[CIVIC_SIG_HEX];
        civic_sign(key, method, call_id, "admin", "admin", payload, n, sig);
        md(out, "x-civic-principal", "admin", 5);
        md(out, "x-civic-role", "admin", 5);
        md(out, "x-civic-signature", sig, strlen(sig));
    }
    if (token != NULL) {
        char bearer[256];
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        md(out, "authorization", bearer, strlen(bearer));
    }
    for (size_t i = 0; i < n_junk_md; i++) {
        char k[32];
        snprintf(k, sizeof k, "junk-%zu", i);
        md(out, k, "v", 1);
    }
    if (big_md > 0) {
        char *v = malloc(big_md);
        memset(v, 'x', big_md);
        md(out, "big", v, big_md);
        free(v);
    }
    hb_bytes(out, 5, payload, n);
}

int
hs_send(const char *url, const void *msg, size_t len, int ms)
{
    nng_socket s;
    if (nng_req0_open(&s) != 0)
        return -1;
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, ms);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0);
    int rc = -1;
    if (nng_dial(s, url, NULL, 0) == 0 && nng_send(s, civic_unconst((const char *) msg), len, 0) == 0) {
        void *buf = NULL;
        size_t n = 0;
        if (nng_recv(s, &buf, &n, NNG_FLAG_ALLOC) == 0) {
            Civic__Rpc__V1__Response *r = civic__rpc__v1__response__unpack(NULL, n, buf);
            rc = r == NULL ? -2 : r->status ? r->status->code : 0;
            if (r != NULL)
                civic__rpc__v1__response__free_unpacked(r, NULL);
            if (buf != NULL)
                nng_free(buf, n);
        }
    }
    nng_close(s);
    return rc;
}

int
hs_raw_tcp(int port, const void *data, size_t n, int ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int closed = 0;
    if (send(fd, data, n, MSG_NOSIGNAL) < 0)
        closed = 1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!closed) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int) left) <= 0)
            continue;
        char buf[256];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            closed = 1; // EOF or reset; what the server sent first (its handshake) is read and ignored
    }
    close(fd);
    return closed;
}

long
hs_rss_anon(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long) pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long anon = -1, rss = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "RssAnon:", 8) == 0)
            anon = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "VmRSS:", 6) == 0)
            rss = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return anon >= 0 ? anon : rss;
}

int
hs_alive(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return 0;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long) pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int alive = 1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "State:", 6) == 0 && strchr(line, 'Z') != NULL)
            alive = 0;
    fclose(f);
    return alive;
}
