// rt_admin: a service's HTTP endpoint for operators (libmicrohttpd, on its
// own thread, a few connections at a time): GET /healthz (the process is
// alive), GET /readyz (the store is open and the server serving) and
// GET /metrics (Prometheus text exposition format 0.0.4). It starts before
// the store is opened, so /readyz answers 503 while the process is starting
// (opening, migrating) and, from the signal on, while it is stopping. Only GET and HEAD;
// nothing here changes state, and it binds to loopback by default — expose
// it to a scraper, never to the public.
#ifndef RT_ADMIN_H
#define RT_ADMIN_H

#include <stddef.h>
#include <sys/socket.h>

#include "rt_server.h"
#include "rt_store.h"
#include "rt_strbuf.h"

typedef struct rt_admin rt_admin;

// rt_admin_start serves on listen ("HOST:PORT", "[V6]:PORT"; port 0 picks a
// free one, logged as admin.listening) for srv and store, which must
// outlive it. Both may be NULL while the process is starting (/healthz 200,
// /readyz 503) until rt_admin_attach gives them. On success *out owns the
// server; release it with rt_admin_stop(). Returns 0, or -1 with the reason
// in err.
int rt_admin_start(rt_admin **out, const char *listen, rt_server *srv, rt_store *store, char *err,
                   size_t errlen);

// rt_admin_attach gives a started admin server the server and store to
// report on (they must outlive it). NULL a does nothing.
void rt_admin_attach(rt_admin *a, rt_server *srv, rt_store *store);

// rt_listen_parse splits listen, "HOST:PORT" or "[V6]:PORT", into a socket
// address for an HTTP server. Returns 0, or -1 with the reason, naming the
// configuration key, in err.
int rt_listen_parse(const char *key, const char *listen, struct sockaddr_storage *sa,
                    socklen_t *salen, char *err, size_t errlen);

struct MHD_Connection;

// rt_http_respond queues an answer on a libmicrohttpd connection: text (len
// bytes, malloc'd: taken, freed by MHD or here), its Content-Type and
// Cache-Control, and more headers as NULL-terminated name, value pairs (may
// be NULL). Returns an enum MHD_Result (MHD_NO when out of memory).
int rt_http_respond(struct MHD_Connection *conn, unsigned status, char *text, size_t len,
                    const char *type, const char *cache, const char *const *headers);

// rt_admin_port returns the TCP port it listens on.
int rt_admin_port(const rt_admin *a);

// rt_admin_stop stops serving and frees a. NULL does nothing.
void rt_admin_stop(rt_admin *a);

// rt_admin_metrics appends every metric of srv and store to out: the
// server's (calls, latency, in flight, nng), the store's (writer, LMDB) and
// the service's own (rt_server_opts.metrics).
void rt_admin_metrics(rt_strbuf *out, rt_server *srv, rt_store *store);

#endif
