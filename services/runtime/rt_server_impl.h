// The server's insides, shared by its three files: rt_server.c (a call's
// life: the envelope, identity, reads, writes, the reply), rt_routes.c (the
// built-in services and the method table) and rt_server_life.c (start,
// metrics, drain and stop). Nothing outside the server includes this.
#ifndef RT_SERVER_IMPL_H
#define RT_SERVER_IMPL_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "rt_callstats.h"
#include "rt_server.h"

// route: one method the server hosts.
typedef struct route {
    const char *name; // full method name, owned by the server
    const rt_method *m;
    const ProtobufCMessageDescriptor *in, *out;
    rt_callstats *stats; // counted at the reply (log_call)
} route;

enum { C_RECV, C_SEND, C_WRITE, C_WORK };

typedef struct rt_ctx rt_ctx;
struct rt_ctx {
    rt_server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    int state;
    rt_arena arena;
    MDB_txn *rtxn; // cached read transaction
    rt_write w;
    rt_ctx *work_next;
    // The call in hand.
    rt_call call;
    const route *route;
    void *in, *out;
    uint64_t call_id;
    unsigned char hash[32]; // of method and payload, for idempotency
    struct timespec t0;
    // A write's outcome, set on the writer before the batch commits.
    int code;
    uint8_t *body;
    size_t body_len;
    char message[256];
    char peer[64]; // the caller's address, for call.peer
    // A local call (rt_server_call): no nng context; the reply goes to done.
    void (*local_done)(void *arg, const void *resp, size_t len);
    void *local_arg;
};

struct rt_server {
    nng_socket sock;
    nng_listener listener;
    rt_server_opts opts;
    rt_store *store;
    void *state;
    route *routes;
    size_t n_routes;
    rt_calltable *calls; // per-method counters: routes and forwarded calls
    const char **service_names;
    size_t n_services;
    rt_ctx *ctxs;
    int n_ctxs;
    atomic_int serving;
    atomic_int stopping;
    atomic_int closing; // contexts must not re-arm: the socket is going
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    unsigned long arrivals; // requests taken, for the stop's quiet period
    // The slow-read worker.
    pthread_t worker;
    rt_ctx *work_head, *work_tail;
    int worker_stop;
    MDB_txn *worker_rtxn;
};

// --- rt_routes.c ---

// rt_routes_build makes srv's sorted method table from the built-in
// services (Health, Reflection, Admin) and the service's own, checking each
// against the .proto; 0, or -1 with the reason in err.
int rt_routes_build(rt_server *srv, const rt_service_def *const *defs, size_t n, char *err,
                    size_t errlen);
// rt_routes_free releases what rt_routes_build made.
void rt_routes_free(rt_server *srv);
// rt_route_find finds a full method name ("/pkg.Service/Method"), or NULL.
const route *rt_route_find(rt_server *srv, const char *name);
// rt_route_is_builtin tells Health and Reflection, which answer while the
// server starts and stops.
int rt_route_is_builtin(const route *r);

// --- rt_server.c ---

// rt_ctx_cb is every context's aio callback; rt_ctx_recv arms a receive.
void rt_ctx_cb(void *arg);
void rt_ctx_recv(rt_ctx *c);
// rt_worker_main runs the slow reads (backups) off nng's threads.
void *rt_worker_main(void *arg);

#endif
