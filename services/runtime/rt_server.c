// The server: contexts, the envelope, routing, identity, and the reply.
#include "rt_server.h"

#include <arpa/inet.h>
#include <mbedtls/sha256.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_desc.h"
#include "civic_tls.h"
#include "civic_util.h"
#include "rt_callstats.h"
#include "rt_envelope.h"
#include "rt_log.h"


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

static const char *const role_names[RT_ROLE_COUNT] = {"", "admin", "inspector", "unit",
                                                      "volunteer", "viewer"};

const char *
rt_role_name(rt_role r)
{
    return r < RT_ROLE_COUNT ? role_names[r] : "";
}

rt_role
rt_role_parse(const char *s)
{
    for (int i = 1; i < RT_ROLE_COUNT; i++)
        if (strcmp(s, role_names[i]) == 0)
            return (rt_role) i;
    return RT_ROLE_NONE;
}

const char *
rt_call_metadata(const rt_call *call, const char *key)
{
    const Civic__Rpc__V1__Request *r = call->envelope;
    for (size_t i = 0; r != NULL && i < r->n_metadata; i++)
        if (strcmp(r->metadata[i]->key, key) == 0)
            return r->metadata[i]->value;
    return NULL;
}

size_t
rt_page_size(rt_txn *txn, int32_t requested, const char *field)
{
    if (requested < 0) {
        rt_txn_violation(txn, field, "must not be negative");
        return 0;
    }
    if (requested == 0)
        return 50;
    return requested > 1000 ? 1000 : (size_t) requested;
}

// --- built-in services ---

static int
handle_check(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Rpc__V1__CheckRequest *in = vin;
    Civic__Rpc__V1__CheckResponse *out = vout;
    rt_server *srv = call->server;
    int found = in->service[0] == '\0';
    for (size_t i = 0; !found && i < srv->n_services; i++)
        found = strcmp(in->service, srv->service_names[i]) == 0;
    int up = atomic_load(&srv->serving) && !atomic_load(&srv->stopping);
    if (!found && srv->opts.health != NULL) {
        int st = srv->opts.health(srv->state, in->service);
        if (st >= 0) {
            out->status = up ? st : CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING;
            return 0;
        }
    }
    if (!found)
        return rt_txn_fail(txn, CIVIC_NOT_FOUND, "service %s is not hosted here", in->service);
    out->status = up ? CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING
                     : CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING;
    return 0;
}

static int
handle_list_services(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    Civic__Rpc__V1__ListServicesResponse *out = vout;
    rt_server *srv = call->server;
    (void) vin;
    size_t extra = 0;
    while (srv->opts.extra_services && srv->opts.extra_services[extra])
        extra++;
    out->services = rt_alloc(txn, (srv->n_services + extra) * sizeof *out->services + 1);
    if (out->services == NULL)
        return rt_txn_status(txn);
    for (size_t i = 0; i < srv->n_services; i++)
        out->services[out->n_services++] = civic_unconst(srv->service_names[i]);
    for (size_t i = 0; i < extra; i++)
        out->services[out->n_services++] = civic_unconst(srv->opts.extra_services[i]);
    return rt_txn_status(txn);
}

static int
handle_get_fds(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    Civic__Rpc__V1__GetFileDescriptorSetResponse *out = vout;
    (void) vin;
    (void) call;
    out->file_descriptor_set.data = (uint8_t *) (uintptr_t) civic_descriptor_set;
    out->file_descriptor_set.len = civic_descriptor_set_len;
    return rt_txn_status(txn);
}

int
rt_handle_list_events(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Rpc__V1__EventPage *in = vin;
    (void) call;
    size_t n = rt_page_size(txn, in->page_size, "page_size");
    rt_events_list(txn, in->after_seq, n, vout);
    return rt_txn_status(txn);
}

// handle_backup copies the environment on the slow-read worker, so neither
// the nng callbacks nor the writer wait for it; writes go on meanwhile.
static int
handle_backup(rt_txn *txn, const void *vin, void *vout, const rt_call *call)
{
    Civic__Rpc__V1__BackupResponse *out = vout;
    (void) vin;
    char path[4200];
    int rc = rt_store_backup(txn->store, path, sizeof path);
    if (rc != 0)
        return rt_txn_fail(txn, rc, "backup failed (the server's log says why)");
    char file[4300];
    struct stat sb;
    snprintf(file, sizeof file, "%s/data.mdb", path);
    out->path = rt_strdup(txn, path);
    out->size_bytes = stat(file, &sb) == 0 ? (uint64_t) sb.st_size : 0;
    rt_log(RT_LOG_INFO, "store.backup", "path=%s bytes=%llu principal=%s", path,
           (unsigned long long) out->size_bytes, call->principal[0] ? call->principal : "-");
    return rt_txn_status(txn);
}

static const rt_method health_methods[] = {
    {"Check", RT_READ, handle_check, RT_ROLES_ANYONE, NULL, NULL},
};
static const rt_method reflection_methods[] = {
    {"ListServices", RT_READ, handle_list_services, RT_ROLES_ANYONE, NULL, NULL},
    {"GetFileDescriptorSet", RT_READ, handle_get_fds, RT_ROLES_ANYONE, NULL, NULL},
};
static const rt_service_def health_def = {&civic__rpc__v1__health_service__descriptor,
                                          health_methods, 1};
static const rt_service_def reflection_def = {&civic__rpc__v1__reflection_service__descriptor,
                                              reflection_methods, 2};
static const rt_method admin_methods[] = {
    {"Backup", RT_SLOW_READ, handle_backup, RT_ROLE_BIT(RT_ROLE_ADMIN), NULL, NULL},
};
static const rt_service_def admin_def = {&civic__rpc__v1__admin_service__descriptor, admin_methods,
                                         1};

// --- routing ---

static int
route_cmp(const void *a, const void *b)
{
    return strcmp(((const route *) a)->name, ((const route *) b)->name);
}

static const route *
route_find(rt_server *srv, const char *name)
{
    route key = {.name = name};
    return bsearch(&key, srv->routes, srv->n_routes, sizeof key, route_cmp);
}

int
rt_server_check_table(const rt_service_def *def, char *err, size_t errlen)
{
    for (size_t i = 0; i < def->n_methods; i++) {
        char name[256];
        snprintf(name, sizeof name, "/%s/%s", def->desc->name, def->methods[i].name);
        int read = civic_desc_method_is_read(name);
        if (read < 0 || protobuf_c_service_descriptor_get_method_by_name(def->desc, def->methods[i].name) == NULL) {
            snprintf(err, errlen, "%s is not declared in the .proto files", name);
            return -1;
        }
        int write = def->methods[i].kind == RT_WRITE || def->methods[i].kind == RT_WRITE_NO_REPLAY;
        if (read == write && def->methods[i].kind != RT_FLOW) {
            snprintf(err, errlen, "%s is a %s in the handler table but %s in the .proto", name,
                     write ? "write" : "read",
                     read ? "NO_SIDE_EFFECTS" : "not NO_SIDE_EFFECTS");
            return -1;
        }
    }
    for (unsigned i = 0; i < def->desc->n_methods; i++) {
        int found = 0;
        for (size_t j = 0; j < def->n_methods; j++)
            found |= strcmp(def->desc->methods[i].name, def->methods[j].name) == 0;
        if (!found) {
            snprintf(err, errlen, "/%s/%s has no handler", def->desc->name,
                     def->desc->methods[i].name);
            return -1;
        }
    }
    return 0;
}

static int
build_routes(rt_server *srv, const rt_service_def *const *defs, size_t n, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += defs[i]->n_methods;
    srv->routes = calloc(total, sizeof *srv->routes);
    srv->service_names = calloc(n, sizeof *srv->service_names);
    for (size_t i = 0; i < n; i++) {
        const rt_service_def *d = defs[i];
        if (rt_server_check_table(d, err, errlen) != 0)
            return -1;
        srv->service_names[srv->n_services++] = d->desc->name;
        for (size_t j = 0; j < d->n_methods; j++) {
            const ProtobufCMethodDescriptor *md =
                protobuf_c_service_descriptor_get_method_by_name(d->desc, d->methods[j].name);
            route *r = &srv->routes[srv->n_routes++];
            size_t len = strlen(d->desc->name) + strlen(md->name) + 3;
            char *name = malloc(len);
            snprintf(name, len, "/%s/%s", d->desc->name, md->name);
            r->name = name;
            r->m = &d->methods[j];
            r->in = d->methods[j].in_desc ? d->methods[j].in_desc : md->input;
            r->out = d->methods[j].out_desc ? d->methods[j].out_desc : md->output;
        }
    }
    qsort(srv->routes, srv->n_routes, sizeof *srv->routes, route_cmp);
    // Room for every hosted method and every other one the descriptors
    // declare (the gateway's forwarded calls).
    srv->calls = rt_calltable_new(srv->n_routes + 512);
    if (srv->calls == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < srv->n_routes; i++)
        srv->routes[i].stats = rt_calltable_get(srv->calls, srv->routes[i].name);
    return 0;
}

// --- replies ---

static void ctx_send(rt_ctx *c, nng_msg *m);

// log_call is where every call ends, answered by the server or forwarded:
// it counts the call for /metrics and logs it.
static void
log_call(rt_ctx *c, int code, const char *message)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ns = (int64_t) (t1.tv_sec - c->t0.tv_sec) * 1000000000 + (t1.tv_nsec - c->t0.tv_nsec);
    rt_callstats_record(c->route ? c->route->stats : rt_calltable_get(c->srv->calls, c->call.method),
                        code, ns);
    int level = code == CIVIC_OK ? RT_LOG_DEBUG
                : code == CIVIC_INTERNAL || code == CIVIC_DATA_LOSS || code == CIVIC_UNKNOWN
                    ? RT_LOG_ERROR
                    : RT_LOG_INFO;
    if (!rt_log_enabled(level))
        return;
    double ms = (double) ns / 1e6;
    rt_log(level, code == CIVIC_OK ? "call.ok" : "call.failed",
           "method=%s code=%s ms=%.3f principal=%s request-id=%s%s%s%s",
           c->call.method ? c->call.method : "-", civic_code_name(code), ms,
           c->call.principal && c->call.principal[0] ? c->call.principal : "-",
           c->call.request_id && c->call.request_id[0] ? c->call.request_id : "-",
           message && message[0] ? " message=\"" : "", message ? message : "",
           message && message[0] ? "\"" : "");
}

// reply_error sends an error with the violations recorded on t (may be NULL).
static void
reply_error(rt_ctx *c, int code, const char *message, const rt_txn *t)
{
    size_t len = 0;
    uint8_t *b = rt_body_status(code, message, t, &len);
    log_call(c, code, message);
    ctx_send(c, b ? rt_reply_msg(c->call_id, b, len) : NULL);
    free(b);
}

// --- the call's life ---

static void
ctx_recv(rt_ctx *c)
{
    c->state = C_RECV;
    nng_ctx_recv(c->ctx, c->aio);
}

static void
call_end(rt_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    if (--srv->inflight == 0)
        pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static void local_finish(rt_ctx *c, nng_msg *m, int counted);

static void
ctx_send(rt_ctx *c, nng_msg *m)
{
    if (c->local_done != NULL) {
        local_finish(c, m, 1);
        return;
    }
    if (m == NULL) {
        // No memory for a reply: the caller's deadline will tell them. The
        // receive is armed before the call stops counting, so a stop cannot
        // close the socket in between.
        rt_arena_reset(&c->arena);
        ctx_recv(c);
        call_end(c->srv);
        return;
    }
    c->state = C_SEND;
    nng_aio_set_msg(c->aio, m);
    nng_ctx_send(c->ctx, c->aio);
}

// set_error_body records a write's error reply in the call's arena.
static void
set_error_body(rt_ctx *c, const rt_txn *t)
{
    size_t len = 0;
    uint8_t *b = rt_body_status(t->code, t->message, t, &len);
    c->code = t->code;
    snprintf(c->message, sizeof c->message, "%s", t->message);
    c->body = b ? rt_arena_alloc(&c->arena, len) : NULL;
    if (c->body != NULL)
        memcpy(c->body, b, len);
    c->body_len = c->body ? len : 0;
    free(b);
}

// write_run executes one write on the writer, in t (a child of the batch).
// With an idempotency key the handler runs one level deeper, so that when it
// fails its changes go but the record of its failure can stay.
static int
write_run(rt_txn *t, rt_write *w)
{
    rt_ctx *c = (rt_ctx *) (void *) ((char *) w - offsetof(rt_ctx, w));
    const char *key = c->call.idempotency_key;
    c->code = 0;
    c->body = NULL;
    c->body_len = 0;
    c->message[0] = '\0';
    if (key == NULL) {
        c->route->m->fn(t, c->in, c->out, &c->call);
        if (t->code == 0)
            c->body = rt_body_ok(&c->arena, c->out, &c->body_len);
        if (t->code == 0 && c->body == NULL)
            rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
        if (t->code != 0) {
            set_error_body(c, t);
            return 0;
        }
        return 1;
    }

    void *body;
    size_t len;
    int rc = rt_idem_find(t, c->call.principal, c->call.method, key, c->hash, &body, &len);
    if (rc == 0) {
        // A retry: answer what the first attempt answered; change nothing.
        c->body = body;
        c->body_len = len;
        snprintf(c->message, sizeof c->message, "replayed");
        return 0;
    }
    if (rc != MDB_NOTFOUND) {
        set_error_body(c, t);
        return 0;
    }
    rt_txn h = *t;
    if (rt_txn_mdb(t, mdb_txn_begin(mdb_txn_env(t->txn), t->txn, 0, &h.txn), "begin") != 0) {
        set_error_body(c, t);
        return 0;
    }
    c->route->m->fn(&h, c->in, c->out, &c->call);
    if (h.code == 0) {
        c->body = rt_body_ok(&c->arena, c->out, &c->body_len);
        if (c->body == NULL)
            rt_txn_fail(&h, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
    }
    if (h.code == 0) {
        if (rt_txn_mdb(t, mdb_txn_commit(h.txn), "commit") == 0 && c->route->m->kind == RT_WRITE_NO_REPLAY) {
            // The reply holds a secret that must not be kept: a retry is
            // told the write was done, not given the reply again.
            static const char done[] = "done by an earlier attempt with this idempotency-key; its "
                                       "reply held a secret, shown only once";
            size_t n = 0;
            uint8_t *b = rt_body_status(CIVIC_ALREADY_EXISTS, done, t, &n); // t has no violations
            if (b == NULL)
                rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
            else
                rt_idem_put(t, c->call.principal, c->call.method, key, c->hash, b, n);
            free(b);
        } else if (t->code == 0) {
            rt_idem_put(t, c->call.principal, c->call.method, key, c->hash, c->body, c->body_len);
        }
        if (t->code != 0) {
            set_error_body(c, t);
            return 0;
        }
        return 1;
    }
    mdb_txn_abort(h.txn);
    set_error_body(c, &h);
    if (!rt_code_deterministic(h.code))
        return 0;
    rt_idem_put(t, c->call.principal, c->call.method, key, c->hash, c->body, c->body_len);
    return t->code == 0;
}

static void
write_done(rt_write *w, int rc, const char *why)
{
    rt_ctx *c = (rt_ctx *) (void *) ((char *) w - offsetof(rt_ctx, w));
    if (rc != 0) {
        reply_error(c, rc, why ? why : civic_code_name(rc), NULL);
        return;
    }
    if (c->body == NULL) {
        reply_error(c, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted", NULL);
        return;
    }
    log_call(c, c->code, c->message);
    ctx_send(c, rt_reply_msg(c->call_id, c->body, c->body_len));
}

static void
run_read(rt_ctx *c, MDB_txn **cache)
{
    rt_txn t;
    if (rt_read_begin(c->srv->store, &t, &c->arena, cache) != 0) {
        reply_error(c, t.code, t.message, NULL);
        return;
    }
    t.principal = c->call.principal;
    t.now_ms = c->call.now_ms;
    c->route->m->fn(&t, c->in, c->out, &c->call);
    // Pack before the transaction ends (out may borrow from the map), and
    // straight into the reply: a read's reply is never stored, so it needs
    // no copy in the arena first.
    nng_msg *m = t.code == 0 ? rt_reply_ok_msg(c->call_id, c->out) : NULL;
    rt_read_end(&t, cache);
    if (t.code != 0) {
        reply_error(c, t.code, t.message, &t);
    } else if (m == NULL) {
        reply_error(c, CIVIC_RESOURCE_EXHAUSTED, "out of memory for the reply", NULL);
    } else {
        log_call(c, CIVIC_OK, NULL);
        ctx_send(c, m);
    }
}

static void *
worker_main(void *arg)
{
    rt_server *srv = arg;
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        while (srv->work_head == NULL && !srv->worker_stop)
            pthread_cond_wait(&srv->cv, &srv->mu);
        if (srv->work_head == NULL)
            break;
        rt_ctx *c = srv->work_head;
        srv->work_head = c->work_next;
        if (srv->work_head == NULL)
            srv->work_tail = NULL;
        pthread_mutex_unlock(&srv->mu);
        if (civic_now_ms() >= c->call.deadline_ms)
            reply_error(c, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded before the read ran", NULL);
        else
            run_read(c, &srv->worker_rtxn);
        pthread_mutex_lock(&srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
    rt_read_release(&srv->worker_rtxn);
    return NULL;
}

// identify sets the caller's principal and role from x-civic-* metadata: with
// a key, only under a valid signature; in open mode as given, or admin.
static void
identify(rt_ctx *c, const Civic__Rpc__V1__Request *req)
{
    rt_server *srv = c->srv;
    const char *p = rt_call_metadata(&c->call, "x-civic-principal");
    const char *r = rt_call_metadata(&c->call, "x-civic-role");
    const char *s = rt_call_metadata(&c->call, "x-civic-signature");
    c->call.principal = "";
    c->call.role = RT_ROLE_NONE;
    if (srv->opts.key != NULL) {
        if (p && r && s &&
            civic_sign_check(srv->opts.key, req->method, req->call_id, p, r, req->payload.data,
                             req->payload.len, s)) {
            c->call.principal = p;
            c->call.role = rt_role_parse(r);
        } else if (p || r || s) {
            rt_log(RT_LOG_WARN, "identity.unsigned", "method=%s request-id=%s", req->method,
                   c->call.request_id[0] ? c->call.request_id : "-");
        }
        return;
    }
    if (p || r) {
        c->call.principal = p ? p : "";
        c->call.role = rt_role_parse(r ? r : "");
    } else {
        c->call.principal = "admin";
        c->call.role = RT_ROLE_ADMIN;
    }
}

static int
is_builtin(const route *r)
{
    return r->m >= health_methods && r->m < health_methods + 1 ? 1
           : r->m >= reflection_methods && r->m < reflection_methods + 2;
}

// peer_addr writes the address of the pipe m came on ("1.2.3.4:5678",
// "[::1]:5678", "ipc:path") into buf, or "" when nng cannot tell.
static void
peer_addr(nng_msg *m, char *buf, size_t n)
{
    buf[0] = '\0';
    nng_sockaddr sa;
    if (nng_pipe_get_addr(nng_msg_get_pipe(m), NNG_OPT_REMADDR, &sa) != 0)
        return;
    switch (sa.s_family) {
    case NNG_AF_INET: {
        char ip[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof ip) != NULL)
            snprintf(buf, n, "%s:%u", ip, (unsigned) ntohs(sa.s_in.sa_port));
        break;
    }
    case NNG_AF_INET6: {
        char ip[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof ip) != NULL)
            snprintf(buf, n, "[%s]:%u", ip, (unsigned) ntohs(sa.s_in6.sa_port));
        break;
    }
    case NNG_AF_IPC:
        snprintf(buf, n, "ipc:%.50s", sa.s_ipc.sa_path);
        break;
    default:
        break;
    }
}

static void
on_request(rt_ctx *c, nng_msg *m)
{
    rt_server *srv = c->srv;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    rt_arena_reset(&c->arena);
    memset(&c->call, 0, sizeof c->call);
    c->call_id = 0;
    c->route = NULL;
    c->call.server = srv;
    c->call.service = srv->state;
    c->call.request_id = "";
    // A call counts as in flight from here until its reply is sent. Once the
    // stop has seen none in flight the socket is closing: a request that
    // slips in after that is dropped unanswered, never half-sent.
    pthread_mutex_lock(&srv->mu);
    int closing = atomic_load(&srv->closing);
    if (!closing) {
        srv->inflight++;
        srv->arrivals++;
    }
    pthread_mutex_unlock(&srv->mu);
    if (closing) {
        nng_msg_free(m);
        if (c->local_done != NULL)
            local_finish(c, NULL, 0);
        return;
    }

    // The caller's address is for the gateway's per-client limits; asking
    // nng for it costs a getpeername(2), so back ends do not. A local call
    // brings its own.
    if (c->local_done == NULL) {
        c->peer[0] = '\0';
        if (srv->opts.authenticate != NULL)
            peer_addr(m, c->peer, sizeof c->peer);
    }
    c->call.peer = c->peer;
    Civic__Rpc__V1__Request *req =
        civic__rpc__v1__request__unpack(&c->arena.pb, nng_msg_len(m), nng_msg_body(m));
    nng_msg_free(m);
    if (req == NULL) {
        if (c->arena.exhausted)
            reply_error(c, CIVIC_RESOURCE_EXHAUSTED, "request envelope over the unpack budget", NULL);
        else
            reply_error(c, CIVIC_INVALID_ARGUMENT, "malformed request envelope", NULL);
        return;
    }
    c->call_id = req->call_id;
    c->call.method = req->method;
    c->call.envelope = req;
    const char *rid = rt_call_metadata(&c->call, "request-id");
    c->call.request_id = rid ? rid : "";
    c->call.idempotency_key = rt_call_metadata(&c->call, "idempotency-key");
    c->call.now_ms = civic_wall_ms();
    c->call.deadline_ms =
        rt_deadline_ms((int64_t) c->t0.tv_sec * 1000 + c->t0.tv_nsec / 1000000, req->timeout_ms);

    rt_txn t = {.arena = &c->arena};
    if (rt_check_metadata(&t, req) != 0) {
        reply_error(c, t.code, t.message, &t);
        return;
    }
    c->route = route_find(srv, req->method);
    if (c->route == NULL && srv->opts.forward == NULL) {
        char msg[300];
        snprintf(msg, sizeof msg, "unknown method \"%.200s\"", req->method);
        reply_error(c, CIVIC_UNIMPLEMENTED, msg, NULL);
        return;
    }
    if ((atomic_load(&srv->stopping) || !atomic_load(&srv->serving)) &&
        (c->route == NULL || !is_builtin(c->route))) {
        reply_error(c, CIVIC_UNAVAILABLE,
                    atomic_load(&srv->stopping) ? "server stopping" : "server starting", NULL);
        return;
    }
    // Test hook: the call takes this long before its checks, so a short
    // deadline is surely spent and a stop surely finds calls in flight.
    if (srv->opts.test_stall_ms > 0) {
        struct timespec d = {srv->opts.test_stall_ms / 1000, (srv->opts.test_stall_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
    }
    if (srv->opts.authenticate != NULL) {
        char msg[300] = "";
        rt_txn at;
        int rc = rt_read_begin(srv->store, &at, &c->arena, &c->rtxn);
        if (rc == 0) {
            rc = srv->opts.authenticate(srv->state, &c->call, &at, msg, sizeof msg);
            rt_read_end(&at, &c->rtxn);
        } else {
            snprintf(msg, sizeof msg, "%s", at.message);
        }
        if (rc != 0) {
            reply_error(c, rc, msg, NULL);
            return;
        }
    } else {
        identify(c, req);
    }
    if (c->route == NULL) {
        if (civic_now_ms() >= c->call.deadline_ms) {
            reply_error(c, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded before the call started", NULL);
            return;
        }
        c->state = C_WORK;
        srv->opts.forward(srv->state, c);
        return;
    }
    if (!(c->route->m->roles & RT_ROLE_BIT(c->call.role))) {
        char msg[300];
        if (c->call.role == RT_ROLE_NONE) {
            snprintf(msg, sizeof msg, "%s needs a signed-in caller", req->method);
            reply_error(c, CIVIC_UNAUTHENTICATED, msg, NULL);
        } else {
            snprintf(msg, sizeof msg, "role %s may not call %s", rt_role_name(c->call.role), req->method);
            reply_error(c, CIVIC_PERMISSION_DENIED, msg, NULL);
        }
        return;
    }
    if (civic_now_ms() >= c->call.deadline_ms) {
        reply_error(c, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded before the call started", NULL);
        return;
    }
    if (c->route->m->kind == RT_FLOW) {
        c->state = C_WORK;
        if (srv->opts.forward == NULL)
            reply_error(c, CIVIC_UNIMPLEMENTED, "no flow hook", NULL);
        else
            srv->opts.forward(srv->state, c);
        return;
    }
    c->in = protobuf_c_message_unpack(c->route->in, &c->arena.pb, req->payload.len, req->payload.data);
    if (c->in == NULL) {
        if (c->arena.exhausted) {
            reply_error(c, CIVIC_RESOURCE_EXHAUSTED, "request over the unpack budget", NULL);
        } else {
            rt_txn_violation(&t, "payload", "does not decode as %s", c->route->in->name);
            reply_error(c, t.code, t.message, &t);
        }
        return;
    }
    c->out = rt_arena_alloc(&c->arena, c->route->out->sizeof_message);
    if (c->out == NULL) {
        reply_error(c, CIVIC_RESOURCE_EXHAUSTED, "request over the unpack budget", NULL);
        return;
    }
    protobuf_c_message_init(c->route->out, c->out);

    switch (c->route->m->kind) {
    case RT_FLOW: // handed over above
        return;
    case RT_READ:
        run_read(c, &c->rtxn);
        return;
    case RT_SLOW_READ:
        c->state = C_WORK;
        pthread_mutex_lock(&srv->mu);
        c->work_next = NULL;
        if (srv->work_tail)
            srv->work_tail->work_next = c;
        else
            srv->work_head = c;
        srv->work_tail = c;
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
        return;
    case RT_WRITE_NO_REPLAY:
    case RT_WRITE: {
        if (c->call.idempotency_key != NULL) {
            mbedtls_sha256_context h;
            mbedtls_sha256_init(&h);
            mbedtls_sha256_starts_ret(&h, 0);
            mbedtls_sha256_update_ret(&h, (const unsigned char *) req->method, strlen(req->method) + 1);
            mbedtls_sha256_update_ret(&h, req->payload.data, req->payload.len);
            mbedtls_sha256_finish_ret(&h, c->hash);
            mbedtls_sha256_free(&h);
        }
        c->state = C_WRITE;
        c->w.deadline_ms = c->call.deadline_ms;
        c->w.run = write_run;
        c->w.done = write_done;
        c->w.arena = &c->arena;
        c->w.principal = c->call.principal;
        c->w.now_ms = c->call.now_ms;
        int rc = rt_store_submit(srv->store, &c->w);
        if (rc != 0)
            reply_error(c, rc, rc == CIVIC_RESOURCE_EXHAUSTED ? "write queue full" : "server stopping",
                        NULL);
        return;
    }
    }
}

static void
ctx_cb(void *arg)
{
    rt_ctx *c = arg;
    rt_server *srv = c->srv;
    int rv = nng_aio_result(c->aio);
    // While a callback runs it counts as in flight, so the stop, which closes
    // the socket once nothing is in flight, never races a callback that is
    // about to arm another receive (that receive would outlive its context).
    pthread_mutex_lock(&srv->mu);
    int closing = atomic_load(&srv->closing);
    if (!closing)
        srv->inflight++;
    pthread_mutex_unlock(&srv->mu);
    if (closing) {
        // Only a message nng handed us is ours to free; nothing is re-armed.
        if ((c->state == C_RECV && rv == 0) || (c->state == C_SEND && rv != 0)) {
            nng_msg_free(nng_aio_get_msg(c->aio));
            nng_aio_set_msg(c->aio, NULL);
        }
        return;
    }
    if (c->state == C_SEND) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(c->aio));
            nng_aio_set_msg(c->aio, NULL);
        }
        rt_arena_reset(&c->arena);
        call_end(srv); // the call
        if (rv != NNG_ECLOSED)
            ctx_recv(c);
    } else if (rv != 0) {
        if (rv != NNG_ECLOSED)
            ctx_recv(c);
    } else {
        nng_msg *m = nng_aio_get_msg(c->aio);
        nng_aio_set_msg(c->aio, NULL);
        on_request(c, m);
    }
    call_end(srv); // this callback
}

// --- forwarding (the gateway) ---

const rt_call *
rt_forward_call(rt_forward *fw)
{
    return &fw->call;
}

const Civic__Rpc__V1__Request *
rt_forward_request(rt_forward *fw)
{
    return fw->call.envelope;
}

rt_arena *
rt_forward_arena(rt_forward *fw)
{
    return &fw->arena;
}

void
rt_forward_reply(rt_forward *fw, void *m, int code)
{
    log_call(fw, code, code ? "from the back end" : NULL);
    ctx_send(fw, m);
}

void
rt_forward_fail(rt_forward *fw, int code, const char *message)
{
    reply_error(fw, code, message, NULL);
}

// --- local calls (the gateway's HTTP front) ---

// local_finish hands a local call's reply (NULL for none) to its caller and
// frees the context; counted says whether the call was counted in flight.
static void
local_finish(rt_ctx *c, nng_msg *m, int counted)
{
    rt_server *srv = c->srv;
    c->local_done(c->local_arg, m ? nng_msg_body(m) : NULL, m ? nng_msg_len(m) : 0);
    nng_msg_free(m);
    rt_read_release(&c->rtxn);
    rt_arena_fini(&c->arena);
    free(c);
    if (counted)
        call_end(srv);
}

int
rt_server_call(rt_server *srv, const void *req, size_t len, const char *peer,
               void (*done)(void *arg, const void *resp, size_t len), void *arg)
{
    if (len > srv->opts.max_msg)
        return CIVIC_RESOURCE_EXHAUSTED;
    rt_ctx *c = calloc(1, sizeof *c);
    nng_msg *m = NULL;
    if (c == NULL || nng_msg_alloc(&m, len) != 0) {
        free(c);
        return CIVIC_RESOURCE_EXHAUSTED;
    }
    if (len)
        memcpy(nng_msg_body(m), req, len);
    c->srv = srv;
    c->local_done = done;
    c->local_arg = arg;
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
    rt_arena_init(&c->arena, srv->opts.unpack_budget);
    on_request(c, m); // frees m; the reply, now or later, goes to done
    return 0;
}

// --- start and stop ---

int
rt_server_start(rt_server **out, const rt_server_opts *opts, rt_store *store,
                const rt_service_def *const *services, size_t n_services, void *state, char *err,
                size_t errlen)
{
    rt_server *srv = calloc(1, sizeof *srv);
    int rv;
    srv->opts = *opts;
    if (srv->opts.contexts <= 0)
        srv->opts.contexts = 256;
    if (srv->opts.max_msg == 0)
        srv->opts.max_msg = CIVIC_MAX_MSG_DEFAULT;
    if (srv->opts.unpack_budget == 0)
        srv->opts.unpack_budget = 16u << 20;
    srv->store = store;
    srv->state = state;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);

    const rt_service_def *defs[16];
    size_t n = 0;
    defs[n++] = &health_def;
    defs[n++] = &reflection_def;
    defs[n++] = &admin_def;
    for (size_t i = 0; i < n_services && n < 16; i++)
        defs[n++] = services[i];
    if (build_routes(srv, defs, n, err, errlen) != 0)
        goto fail;

    if ((rv = nng_rep0_open(&srv->sock)) != 0 ||
        (rv = nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, srv->opts.max_msg)) != 0) {
        snprintf(err, errlen, "cannot open socket: %s", nng_strerror(rv));
        goto fail;
    }
    srv->n_ctxs = srv->opts.contexts;
    srv->ctxs = calloc((size_t) srv->n_ctxs, sizeof *srv->ctxs);
    for (int i = 0; i < srv->n_ctxs; i++) {
        rt_ctx *c = &srv->ctxs[i];
        c->srv = srv;
        rt_arena_init(&c->arena, srv->opts.unpack_budget);
        if ((rv = nng_aio_alloc(&c->aio, ctx_cb, c)) != 0 || (rv = nng_ctx_open(&c->ctx, srv->sock)) != 0) {
            snprintf(err, errlen, "cannot open context: %s", nng_strerror(rv));
            goto fail_sock;
        }
    }
    if ((rv = nng_listener_create(&srv->listener, srv->sock, opts->listen)) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", opts->listen, nng_strerror(rv));
        goto fail_sock;
    }
    if (civic_tls_url(opts->listen)) {
        char why[256];
        if (civic_tls_listener(srv->listener, opts->tls_cert_key_file, opts->tls_ca_file,
                               opts->tls_client_auth, why, sizeof why) != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", opts->listen, why);
            goto fail_sock;
        }
    }
    if ((rv = nng_listener_start(srv->listener, 0)) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", opts->listen, nng_strerror(rv));
        goto fail_sock;
    }
    if (pthread_create(&srv->worker, NULL, worker_main, srv) != 0) {
        snprintf(err, errlen, "cannot start the worker thread");
        goto fail_sock;
    }
    for (int i = 0; i < srv->n_ctxs; i++)
        ctx_recv(&srv->ctxs[i]);
    *out = srv;
    return 0;

fail_sock:
    nng_close(srv->sock);
    for (int i = 0; i < srv->n_ctxs; i++) {
        if (srv->ctxs[i].aio)
            nng_aio_free(srv->ctxs[i].aio);
        rt_arena_fini(&srv->ctxs[i].arena);
    }
    free(srv->ctxs);
fail:
    for (size_t i = 0; i < srv->n_routes; i++)
        free(civic_unconst(srv->routes[i].name));
    free(srv->routes);
    rt_calltable_free(srv->calls);
    free(srv->service_names);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
    return CIVIC_UNAVAILABLE;
}

void
rt_server_set_serving(rt_server *srv, int serving)
{
    atomic_store(&srv->serving, serving);
}

int
rt_server_ready(rt_server *srv)
{
    return srv != NULL && atomic_load(&srv->serving) && !atomic_load(&srv->stopping);
}

// The socket's nng statistics worth watching, as Prometheus names them.
// nng 1.5.2 also lists rx_msgs, tx_msgs, rx_bytes and tx_bytes per socket,
// but only its pair1 protocol counts them (nni_sock_bump_rx/tx): for rep0
// they stay 0 however many calls pass, so they are not shown (the calls are
// counted by civic_calls_total).
static const struct {
    const char *nng, *name, *type, *help;
} nng_metrics[] = {
    {"pipes", "civic_nng_pipes", "gauge", "Connections (pipes) open on the server's socket."},
    {"reject", "civic_nng_rejected_pipes_total", "counter", "Connections the socket refused."},
};

static void
nng_socket_metrics(rt_server *srv, rt_strbuf *out)
{
    nng_stat *all = NULL;
    if (nng_stats_get(&all) != 0)
        return; // nng built without statistics
    nng_stat *sock = nng_stat_find_socket(all, srv->sock);
    for (size_t i = 0; sock != NULL && i < sizeof nng_metrics / sizeof nng_metrics[0]; i++)
        for (nng_stat *st = nng_stat_child(sock); st != NULL; st = nng_stat_next(st))
            if (strcmp(nng_stat_name(st), nng_metrics[i].nng) == 0 &&
                (nng_stat_type(st) == NNG_STAT_COUNTER || nng_stat_type(st) == NNG_STAT_LEVEL)) {
                rt_strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", nng_metrics[i].name,
                                 nng_metrics[i].help, nng_metrics[i].name, nng_metrics[i].type,
                                 nng_metrics[i].name, (unsigned long long) nng_stat_value(st));
                break;
            }
    nng_stats_free(all);
}

void
rt_server_metrics(rt_server *srv, rt_strbuf *out)
{
    rt_calltable_print(srv->calls, out);
    pthread_mutex_lock(&srv->mu);
    int inflight = srv->inflight;
    pthread_mutex_unlock(&srv->mu);
    rt_strbuf_printf(out,
                     "# HELP civic_calls_in_flight Calls received and not yet answered.\n"
                     "# TYPE civic_calls_in_flight gauge\n"
                     "civic_calls_in_flight %d\n"
                     "# HELP civic_serving Whether the server is serving (1) or starting or stopping (0).\n"
                     "# TYPE civic_serving gauge\n"
                     "civic_serving %d\n",
                     inflight, rt_server_ready(srv));
    nng_socket_metrics(srv, out);
    if (srv->opts.metrics != NULL)
        srv->opts.metrics(srv->state, out);
}

// A server whose socket would not close, kept reachable until exit.
static rt_server *abandoned;

// wait_inflight waits up to seconds for no call in flight, then for a quiet
// 100 ms with none arriving, so that a request already on its way is
// answered too rather than cut off by a close. Returns the calls still in
// flight (0 when quiet).
static int
wait_inflight(rt_server *srv, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        while (srv->inflight > 0)
            if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until) != 0)
                break;
        unsigned long seen = srv->arrivals;
        struct timespec now, quiet;
        clock_gettime(CLOCK_REALTIME, &now);
        quiet = now;
        quiet.tv_nsec += 100 * 1000000L;
        if (quiet.tv_nsec >= 1000000000L) {
            quiet.tv_sec++;
            quiet.tv_nsec -= 1000000000L;
        }
        if (srv->inflight > 0 || now.tv_sec > until.tv_sec ||
            (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
            break;
        while (srv->arrivals == seen && pthread_cond_timedwait(&srv->cv, &srv->mu, &quiet) == 0)
            ;
        if (srv->arrivals == seen && srv->inflight == 0)
            break;
    }
    int left = srv->inflight;
    pthread_mutex_unlock(&srv->mu);
    return left;
}

void
rt_server_drain(rt_server *srv)
{
    if (atomic_exchange(&srv->stopping, 1))
        return; // drained already
    // From here a new call is answered UNAVAILABLE "server stopping", and
    // Health NOT_SERVING. The listener stays open until the calls in flight
    // are answered: closing it closes the connections it accepted, and with
    // them the replies still to come.
    int left = wait_inflight(srv, 30);
    if (left > 0)
        rt_log(RT_LOG_WARN, "server.stop_timeout", "inflight=%d", left);
}

void
rt_server_stop(rt_server *srv)
{
    rt_server_drain(srv);
    // Until the listener closes the contexts stay armed, so a request that
    // arrives is answered UNAVAILABLE rather than left in a pipe, where nng
    // 1.5.2's close would lose (leak) it.
    nng_listener_close(srv->listener);
    wait_inflight(srv, 5);
    pthread_mutex_lock(&srv->mu);
    atomic_store(&srv->closing, 1);
    srv->worker_stop = 1;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    pthread_join(srv->worker, NULL);
    // No request is taken from here on; a reply nng has taken may still be
    // on its way to the wire: give it a moment to settle.
    struct timespec grace = {0, 100 * 1000000L};
    nanosleep(&grace, NULL);
    // Every call is answered. Closing the socket ends the contexts'
    // receives (their callbacks see closing and do not re-arm). nng 1.5.2's
    // nng_close can deadlock in its reaper (nanomsg/nng#1543, fixed later),
    // so it runs on a thread of its own with a bound: past it the process is
    // exiting anyway, and the server is left allocated rather than freed
    // under nng's feet.
    if (civic_nng_close_bounded(srv->sock, 5000) != 0) {
        abandoned = srv;
        rt_log(RT_LOG_WARN, "server.close_timeout",
               "message=\"nng_close did not finish (nng#1543); calls were all answered\"");
        return;
    }
    for (int i = 0; i < srv->n_ctxs; i++)
        nng_aio_stop(srv->ctxs[i].aio);
    for (int i = 0; i < srv->n_ctxs; i++) {
        nng_aio_free(srv->ctxs[i].aio);
        rt_read_release(&srv->ctxs[i].rtxn);
        rt_arena_fini(&srv->ctxs[i].arena);
    }
    free(srv->ctxs);
    for (size_t i = 0; i < srv->n_routes; i++)
        free(civic_unconst(srv->routes[i].name));
    free(srv->routes);
    rt_calltable_free(srv->calls);
    free(srv->service_names);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}
