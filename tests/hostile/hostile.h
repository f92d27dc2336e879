// Shared by the hostile-input tests: raw frames to a server, over nng or raw
// TCP, and what a server's process looks like from outside.
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "civic_sign.h"

// hb is a growable byte buffer.
typedef struct hb {
    uint8_t *p;
    size_t len, cap;
} hb;
void hb_put(hb *b, const void *data, size_t n);
void hb_varint(hb *b, uint64_t v);
void hb_tag(hb *b, unsigned field, unsigned wire);
void hb_bytes(hb *b, unsigned field, const void *data, size_t n);
void hb_free(hb *b);

// hs_envelope builds a Request for method with payload, n_junk_md extra
// metadata entries, and identity: signed with key as admin when key is not
// NULL, or "authorization: Bearer token" when token is not NULL.
void hs_envelope(hb *out, const char *method, uint64_t call_id, const void *payload, size_t n,
                 size_t n_junk_md, size_t big_md, const civic_key *key, const char *token);

// hs_send sends bytes as one nng message to url and waits up to ms for the
// reply. Returns the reply's status code (0 OK), -1 when no reply came (the
// call or the connection was dropped), -2 when the reply is not a Response.
int hs_send(const char *url, const void *msg, size_t len, int ms);

// hs_raw_tcp connects to 127.0.0.1:port, writes bytes, and waits up to ms
// for the peer to close. Returns 1 if it closed (or reset), 0 if it still
// held the connection open, -1 if the connection failed.
int hs_raw_tcp(int port, const void *data, size_t n, int ms);

// hs_rss_anon returns a process's RssAnon in kB (VmRSS when the kernel has no
// RssAnon), or -1.
long hs_rss_anon(pid_t pid);

// hs_alive tells whether pid is still running (not exited, not a zombie).
int hs_alive(pid_t pid);

#endif
