// The server: a call's life on its context — the envelope, identity, the
// role check, reads, writes through the store's writer, forwarding (the
// gateway) and local calls (its HTTP front), and the reply. The method table
// is rt_routes.c; start and stop are rt_server_life.c.
#include "rt_server_impl.h"

#include <arpa/inet.h>
#include <mbedtls/sha256.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_util.h"
#include "rt_callstats.h"
#include "rt_envelope.h"
#include "rt_log.h"

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

void
rt_ctx_recv(rt_ctx *c)
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
        rt_ctx_recv(c);
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

void *
rt_worker_main(void *arg)
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
    c->route = rt_route_find(srv, req->method);
    if (c->route == NULL && srv->opts.forward == NULL) {
        char msg[300];
        snprintf(msg, sizeof msg, "unknown method \"%.200s\"", req->method);
        reply_error(c, CIVIC_UNIMPLEMENTED, msg, NULL);
        return;
    }
    if ((atomic_load(&srv->stopping) || !atomic_load(&srv->serving)) &&
        (c->route == NULL || !rt_route_is_builtin(c->route))) {
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

void
rt_ctx_cb(void *arg)
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
            rt_ctx_recv(c);
    } else if (rv != 0) {
        if (rv != NNG_ECLOSED)
            rt_ctx_recv(c);
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
