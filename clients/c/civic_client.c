// The client library: calls as small state machines on nng aio (send, then
// receive on the same context, then perhaps sleep and send again). Call slots
// (a context and an aio each) are pooled per channel and never freed inside
// their own callback, which nng forbids; they are freed when the channel
// closes.
#include "civic_client.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_tls.h"
#include "civic_util.h"

enum { S_SEND, S_RECV, S_SLEEP };

// Metadata entries on the wire: the caller's (at most 8), idempotency-key,
// request-id, authorization and the three identity keys.
#define MD_MAX 16

typedef struct slot slot;
struct slot {
    slot *next;     // free list, or all-slots list via all_next
    slot *all_next;
    civic_channel *ch;
    nng_ctx ctx;
    nng_aio *aio;
    int lane; // the socket the context belongs to
    int state;
    // The call being made.
    char *method;
    uint8_t *payload;
    size_t len;
    char **md; // owned key, value pairs
    size_t n_md;
    uint32_t wire_timeout_ms;
    uint64_t call_id;
    int64_t deadline;
    int attempt;
    int retryable;
    civic_status last;
    civic_done_fn done;
    void *arg;
    // A forwarded call: the envelope is prebuilt and the raw reply goes to fwd.
    nng_msg *env;
    civic_forward_fn fwd;
};

#define LANES_MAX 8

struct civic_channel {
    nng_socket socks[LANES_MAX];
    nng_dialer dialers[LANES_MAX];
    atomic_int lane_up[LANES_MAX]; // connections per socket
    int n_lanes;
    int n_slots; // slots made, for spreading them over the lanes
    civic_channel_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *free;
    slot *all;
    int closing;
    int in_cb; // slot callbacks running now (close waits for none)
    atomic_int connected;
    nng_pipe pipes[2 * LANES_MAX]; // current connections, for civic_channel_reset
    int n_pipes;
    atomic_uint_fast64_t next_call_id;
    // Copies of what opts pointed to, so the caller's may go.
    char *token, *principal, *role;
    civic_key key;
};

int64_t
civic_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
civic_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
civic_status_set(civic_status *st, int code, const char *fmt, ...)
{
    st->code = code;
    st->n_violations = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
    return code;
}

int
civic_status_from_nng(int rv)
{
    switch (rv) {
    case 0:
        return CIVIC_OK;
    case NNG_ETIMEDOUT:
        return CIVIC_DEADLINE_EXCEEDED;
    case NNG_ENOMEM:
        return CIVIC_RESOURCE_EXHAUSTED;
    case NNG_ECANCELED:
        return CIVIC_CANCELLED;
    case NNG_EINVAL:
    case NNG_EADDRINVAL:
        return CIVIC_INVALID_ARGUMENT;
    default:
        // Refused, reset, closed, unreachable: the back end is not there now.
        return CIVIC_UNAVAILABLE;
    }
}

static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    civic_channel *ch = arg;
    int lane = 0;
    for (int i = 0; i < ch->n_lanes; i++)
        if (nng_socket_id(nng_pipe_socket(p)) == nng_socket_id(ch->socks[i]))
            lane = i;
    pthread_mutex_lock(&ch->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        atomic_fetch_add(&ch->connected, 1);
        atomic_fetch_add(&ch->lane_up[lane], 1);
        if (ch->n_pipes < 2 * LANES_MAX)
            ch->pipes[ch->n_pipes++] = p;
        pthread_cond_broadcast(&ch->cv);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        atomic_fetch_sub(&ch->connected, 1);
        atomic_fetch_sub(&ch->lane_up[lane], 1);
        for (int i = 0; i < ch->n_pipes; i++)
            if (nng_pipe_id(ch->pipes[i]) == nng_pipe_id(p))
                ch->pipes[i] = ch->pipes[--ch->n_pipes];
    }
    pthread_mutex_unlock(&ch->mu);
}

int
civic_channel_connected(civic_channel *ch)
{
    return atomic_load(&ch->connected);
}

void
civic_channel_reset(civic_channel *ch)
{
    nng_pipe ps[2 * LANES_MAX];
    pthread_mutex_lock(&ch->mu);
    int n = ch->n_pipes;
    memcpy(ps, ch->pipes, sizeof ps);
    pthread_mutex_unlock(&ch->mu);
    for (int i = 0; i < n; i++)
        nng_pipe_close(ps[i]);
}

int
civic_channel_open(civic_channel **out, const char *url, const civic_channel_opts *opts,
                   civic_status *st)
{
    civic_channel *ch = calloc(1, sizeof *ch);
    int rv;
    char why[256] = "";
    if (ch == NULL)
        return civic_status_set(st, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    if (opts != NULL)
        ch->opts = *opts;
    ch->token = ch->opts.token ? strdup(ch->opts.token) : NULL;
    ch->principal = ch->opts.principal ? strdup(ch->opts.principal) : NULL;
    ch->role = ch->opts.role ? strdup(ch->opts.role) : NULL;
    ch->opts.token = ch->token;
    ch->opts.principal = ch->principal;
    ch->opts.role = ch->role;
    if (ch->opts.key != NULL) {
        ch->key = *ch->opts.key;
        ch->opts.key = &ch->key;
    }
    if (ch->opts.max_msg == 0)
        ch->opts.max_msg = CIVIC_MAX_MSG_DEFAULT;
    if (ch->opts.max_attempts <= 0)
        ch->opts.max_attempts = 5;
    if (ch->opts.wait_connect_ms <= 0)
        ch->opts.wait_connect_ms = 2000;
    pthread_mutex_init(&ch->mu, NULL);
    pthread_cond_init(&ch->cv, NULL);
    atomic_init(&ch->connected, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_init(&ch->next_call_id, ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec);

    ch->n_lanes = ch->opts.lanes < 1 ? 1 : ch->opts.lanes > LANES_MAX ? LANES_MAX : ch->opts.lanes;
    for (int i = 0; i < ch->n_lanes; i++) {
        if ((rv = nng_req0_open(&ch->socks[i])) != 0) {
            ch->n_lanes = i;
            goto fail;
        }
        atomic_init(&ch->lane_up[i], 0);
        // Set before any context exists: contexts copy the re-send time.
        if ((rv = nng_socket_set_ms(ch->socks[i], NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
            (rv = nng_socket_set_size(ch->socks[i], NNG_OPT_RECVMAXSZ, ch->opts.max_msg)) != 0 ||
            (rv = nng_pipe_notify(ch->socks[i], NNG_PIPE_EV_ADD_POST, pipe_cb, ch)) != 0 ||
            (rv = nng_pipe_notify(ch->socks[i], NNG_PIPE_EV_REM_POST, pipe_cb, ch)) != 0 ||
            (rv = nng_dialer_create(&ch->dialers[i], ch->socks[i], url)) != 0) {
            ch->n_lanes = i + 1;
            goto fail;
        }
        nng_dialer_set_ms(ch->dialers[i], NNG_OPT_RECONNMINT, 50);
        nng_dialer_set_ms(ch->dialers[i], NNG_OPT_RECONNMAXT, 1000);
        if (civic_tls_url(url) &&
            (rv = civic_tls_dialer(ch->dialers[i], ch->opts.tls_ca_file, ch->opts.tls_cert_key_file,
                                   ch->opts.tls_server_name, why, sizeof why)) != 0) {
            ch->n_lanes = i + 1;
            goto fail;
        }
        if ((rv = nng_dialer_start(ch->dialers[i], NNG_FLAG_NONBLOCK)) != 0) {
            ch->n_lanes = i + 1;
            goto fail;
        }
    }

    // nng has read the TLS files already; the caller's strings are not kept.
    ch->opts.tls_ca_file = ch->opts.tls_cert_key_file = ch->opts.tls_server_name = NULL;

    int64_t until = civic_now_ms() + (ch->opts.lazy ? 0 : ch->opts.wait_connect_ms);
    pthread_mutex_lock(&ch->mu);
    // Wait for every lane (a call on a lane not yet connected would fail),
    // but one connection is enough to go on with when time runs out.
    while (atomic_load(&ch->connected) < ch->n_lanes && civic_now_ms() < until) {
        struct timespec abs;
        clock_gettime(CLOCK_REALTIME, &abs);
        abs.tv_nsec += 20 * 1000000;
        if (abs.tv_nsec >= 1000000000) {
            abs.tv_sec++;
            abs.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&ch->cv, &ch->mu, &abs);
    }
    pthread_mutex_unlock(&ch->mu);
    if (atomic_load(&ch->connected) == 0 && !ch->opts.lazy) {
        civic_status_set(st, CIVIC_UNAVAILABLE, "cannot connect to %s", url);
        civic_channel_close(ch);
        return CIVIC_UNAVAILABLE;
    }
    *out = ch;
    return CIVIC_OK;

fail:
    for (int i = 0; i < ch->n_lanes; i++)
        nng_close(ch->socks[i]);
    civic_status_set(st, civic_status_from_nng(rv) == CIVIC_INVALID_ARGUMENT ? CIVIC_INVALID_ARGUMENT
                                                                              : CIVIC_UNAVAILABLE,
                     "%s: %s", url, why[0] ? why : nng_strerror(rv));
    pthread_mutex_destroy(&ch->mu);
    pthread_cond_destroy(&ch->cv);
    free(ch->token);
    free(ch->principal);
    free(ch->role);
    free(ch);
    return st->code;
}

static void slot_cb(void *arg);

static void
slot_clear(slot *s)
{
    free(s->method);
    free(s->payload);
    for (size_t i = 0; i < 2 * s->n_md; i++)
        free(s->md[i]);
    free(s->md);
    s->method = NULL;
    s->payload = NULL;
    s->md = NULL;
    s->n_md = 0;
}

// What a stuck nng_close still uses, kept reachable (not leaked) until exit.
static void *stuck[16];
static atomic_int n_stuck;

static void
keep_stuck(void *p)
{
    int i = atomic_fetch_add(&n_stuck, 1);
    if (i < 16)
        stuck[i] = p;
}

typedef struct closer {
    nng_socket sock;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} closer;

static void *
close_main(void *arg)
{
    closer *c = arg;
    nng_close(c->sock);
    pthread_mutex_lock(&c->mu);
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int
civic_nng_close_bounded(nng_socket sock, int ms)
{
    closer *c = calloc(1, sizeof *c);
    if (c == NULL) {
        nng_close(sock);
        return 0;
    }
    c->sock = sock;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, close_main, c) != 0) {
        nng_close(sock);
        free(c);
        return 0;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
        ;
    int done = c->done;
    pthread_mutex_unlock(&c->mu);
    if (!done) {
        keep_stuck(c); // still in use by the stuck thread
        pthread_detach(t);
        return -1;
    }
    pthread_join(t, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return 0;
}

void
civic_channel_close(civic_channel *ch)
{
    if (ch == NULL)
        return;
    // No callback may be re-arming an operation while the sockets close: nng
    // 1.5.2 panics on a receive armed on a context its close is freeing. A
    // callback that starts from here on sees closing and arms nothing.
    pthread_mutex_lock(&ch->mu);
    ch->closing = 1;
    while (ch->in_cb > 0)
        pthread_cond_wait(&ch->cv, &ch->mu);
    pthread_mutex_unlock(&ch->mu);
    // Closing the sockets ends every operation with NNG_ECLOSED; stopping
    // each aio then waits for its callback, outside of any callback. A close
    // that hangs (nng#1543) leaves the channel to nng: nothing is freed.
    int stuck_close = 0;
    for (int i = 0; i < ch->n_lanes; i++)
        stuck_close |= civic_nng_close_bounded(ch->socks[i], 5000) != 0;
    if (stuck_close) {
        keep_stuck(ch);
        return;
    }
    for (slot *s = ch->all; s != NULL; s = s->all_next)
        nng_aio_stop(s->aio);
    slot *s = ch->all;
    while (s != NULL) {
        slot *n = s->all_next;
        nng_aio_free(s->aio);
        slot_clear(s);
        free(s);
        s = n;
    }
    pthread_mutex_destroy(&ch->mu);
    pthread_cond_destroy(&ch->cv);
    free(ch->token);
    free(ch->principal);
    free(ch->role);
    memset(&ch->key, 0, sizeof ch->key);
    free(ch);
}

static slot *
slot_get(civic_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    slot *s = ch->free;
    if (s != NULL) {
        ch->free = s->next;
        pthread_mutex_unlock(&ch->mu);
        return s;
    }
    pthread_mutex_unlock(&ch->mu);
    if ((s = calloc(1, sizeof *s)) == NULL)
        return NULL;
    s->ch = ch;
    if (nng_aio_alloc(&s->aio, slot_cb, s) != 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&ch->mu);
    s->lane = ch->n_slots++ % ch->n_lanes;
    pthread_mutex_unlock(&ch->mu);
    if (nng_ctx_open(&s->ctx, ch->socks[s->lane]) != 0) {
        nng_aio_free(s->aio);
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&ch->mu);
    s->all_next = ch->all;
    ch->all = s;
    pthread_mutex_unlock(&ch->mu);
    return s;
}

static void
slot_put(slot *s)
{
    civic_channel *ch = s->ch;
    slot_clear(s);
    pthread_mutex_lock(&ch->mu);
    s->next = ch->free;
    ch->free = s;
    pthread_mutex_unlock(&ch->mu);
}

// finish hands the outcome to the caller and returns the slot to the pool.
static void
finish_forward(slot *s, nng_msg *reply)
{
    civic_forward_fn fwd = s->fwd;
    void *arg = s->arg;
    int code = s->last.code;
    char why[sizeof s->last.message];
    memcpy(why, s->last.message, sizeof why);
    if (s->env != NULL)
        nng_msg_free(s->env);
    s->env = NULL;
    s->fwd = NULL;
    slot_put(s);
    fwd(reply, reply ? 0 : code, why, arg);
}

static void
finish(slot *s, Civic__Rpc__V1__Response *resp)
{
    if (s->fwd != NULL) {
        finish_forward(s, NULL);
        return;
    }
    civic_reply r;
    memset(&r, 0, sizeof r);
    r.attempts = s->attempt;
    r.status = s->last;
    if (resp != NULL) {
        r.payload = resp->payload.data;
        r.len = resp->payload.len;
    }
    civic_done_fn done = s->done;
    void *arg = s->arg;
    slot_put(s);
    done(&r, arg);
    if (resp != NULL)
        civic__rpc__v1__response__free_unpacked(resp, NULL);
}

static int
send_attempt(slot *s)
{
    civic_channel *ch = s->ch;
    int64_t now = civic_now_ms();
    if (now >= s->deadline)
        return civic_status_set(&s->last, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded before sending");
    if (atomic_load(&ch->lane_up[s->lane]) == 0)
        return civic_status_set(&s->last, CIVIC_UNAVAILABLE, "not connected");
    s->attempt++;
    s->call_id = atomic_fetch_add(&ch->next_call_id, 1);

    Civic__Rpc__V1__Request req = CIVIC__RPC__V1__REQUEST__INIT;
    Civic__Rpc__V1__Request__MetadataEntry ents[MD_MAX];
    Civic__Rpc__V1__Request__MetadataEntry *eps[MD_MAX];
    char sig[CIVIC_SIG_HEX], bearer[600];
    size_t n = 0;
    req.method = s->method;
    req.call_id = s->call_id;
    req.timeout_ms = s->wire_timeout_ms ? s->wire_timeout_ms : (uint32_t) (s->deadline - now);
    req.payload.data = s->payload;
    req.payload.len = s->len;
#define ADD_MD(k, v)                                                                                \
    do {                                                                                            \
        civic__rpc__v1__request__metadata_entry__init(&ents[n]);                                    \
        ents[n].key = civic_unconst(k);                                                                 \
        ents[n].value = civic_unconst(v);                                                               \
        eps[n] = &ents[n];                                                                          \
        n++;                                                                                        \
    } while (0)
    for (size_t i = 0; i < s->n_md; i++)
        if (ch->opts.key == NULL || strncmp(s->md[2 * i], "x-civic-", 8) != 0)
            ADD_MD(s->md[2 * i], s->md[2 * i + 1]);
    if (ch->opts.token != NULL) {
        snprintf(bearer, sizeof bearer, "Bearer %s", ch->opts.token);
        ADD_MD("authorization", bearer);
    }
    if (ch->opts.key != NULL) {
        const char *p = ch->opts.principal ? ch->opts.principal : "";
        const char *r = ch->opts.role ? ch->opts.role : "";
        civic_sign(ch->opts.key, s->method, s->call_id, p, r, s->payload, s->len, sig);
        ADD_MD("x-civic-principal", p);
        ADD_MD("x-civic-role", r);
        ADD_MD("x-civic-signature", sig);
    }
#undef ADD_MD
    req.n_metadata = n;
    req.metadata = eps;

    size_t sz = civic__rpc__v1__request__get_packed_size(&req);
    if (sz > ch->opts.max_msg)
        return civic_status_set(&s->last, CIVIC_RESOURCE_EXHAUSTED,
                                "request of %zu bytes is over the %zu-byte message limit", sz,
                                ch->opts.max_msg);
    nng_msg *m;
    if (nng_msg_alloc(&m, sz) != 0)
        return civic_status_set(&s->last, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    civic__rpc__v1__request__pack(&req, nng_msg_body(m));
    s->state = S_SEND;
    nng_aio_set_msg(s->aio, m);
    nng_aio_set_timeout(s->aio, (nng_duration) (s->deadline - now));
    nng_ctx_send(s->ctx, s->aio);
    return CIVIC_OK;
}

// retry_or_finish decides, after an attempt ended in s->last, whether to
// back off and try again.
static void
retry_or_finish(slot *s)
{
    if (s->last.code == CIVIC_UNAVAILABLE && s->retryable &&
        s->attempt < s->ch->opts.max_attempts && !s->ch->closing) {
        int64_t base = 100;
        for (int i = 1; i < s->attempt && base < 1000; i++)
            base *= 2;
        if (base > 1000)
            base = 1000;
        int64_t delay = base / 2 + (int64_t) (random() % (base / 2 + 1));
        if (civic_now_ms() + delay < s->deadline) {
            s->state = S_SLEEP;
            nng_sleep_aio((nng_duration) delay, s->aio);
            return;
        }
    }
    finish(s, NULL);
}

static void
decode_status(civic_status *st, const Civic__Rpc__V1__Status *ps)
{
    civic_status_set(st, ps->code, "%s", ps->message ? ps->message : "");
    for (size_t i = 0; i < ps->n_violations && i < CIVIC_VIOLATIONS_MAX; i++) {
        snprintf(st->violations[i].field, sizeof st->violations[i].field, "%s",
                 ps->violations[i]->field);
        snprintf(st->violations[i].description, sizeof st->violations[i].description, "%s",
                 ps->violations[i]->description);
        st->n_violations++;
    }
}

static void slot_step(slot *s, int closing);

// slot_cb counts itself as running for civic_channel_close (a done function
// must therefore never close its own channel).
static void
slot_cb(void *arg)
{
    slot *s = arg;
    civic_channel *ch = s->ch;
    pthread_mutex_lock(&ch->mu);
    ch->in_cb++;
    int closing = ch->closing;
    pthread_mutex_unlock(&ch->mu);
    slot_step(s, closing);
    pthread_mutex_lock(&ch->mu);
    if (--ch->in_cb == 0 && ch->closing)
        pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

static void
slot_step(slot *s, int closing)
{
    int rv = nng_aio_result(s->aio);
    switch (s->state) {
    case S_SEND:
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(s->aio));
            nng_aio_set_msg(s->aio, NULL);
            civic_status_set(&s->last, civic_status_from_nng(rv), "send: %s", nng_strerror(rv));
            retry_or_finish(s);
            return;
        }
        if (closing) {
            civic_status_set(&s->last, CIVIC_CANCELLED, "the channel is closing");
            finish(s, NULL);
            return;
        }
        s->state = S_RECV;
        nng_aio_set_timeout(s->aio, (nng_duration) (s->deadline - civic_now_ms() > 0
                                                        ? s->deadline - civic_now_ms()
                                                        : 1));
        nng_ctx_recv(s->ctx, s->aio);
        return;
    case S_RECV: {
        if (rv != 0) {
            if (rv == NNG_ETIMEDOUT)
                civic_status_set(&s->last, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded");
            else
                civic_status_set(&s->last, civic_status_from_nng(rv), "%s", nng_strerror(rv));
            retry_or_finish(s);
            return;
        }
        nng_msg *m = nng_aio_get_msg(s->aio);
        nng_aio_set_msg(s->aio, NULL);
        if (s->fwd != NULL) {
            finish_forward(s, m);
            return;
        }
        Civic__Rpc__V1__Response *resp =
            civic__rpc__v1__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
        nng_msg_free(m);
        if (resp == NULL) {
            civic_status_set(&s->last, CIVIC_INTERNAL, "malformed response envelope");
            finish(s, NULL);
            return;
        }
        if (resp->call_id != s->call_id) {
            civic_status_set(&s->last, CIVIC_INTERNAL, "response for call %llu, expected %llu",
                             (unsigned long long) resp->call_id, (unsigned long long) s->call_id);
            civic__rpc__v1__response__free_unpacked(resp, NULL);
            finish(s, NULL);
            return;
        }
        if (resp->status != NULL && resp->status->code != 0) {
            decode_status(&s->last, resp->status);
            civic__rpc__v1__response__free_unpacked(resp, NULL);
            retry_or_finish(s);
            return;
        }
        civic_status_set(&s->last, CIVIC_OK, "%s", "");
        finish(s, resp);
        return;
    }
    case S_SLEEP:
        if (rv != 0 || closing) {
            finish(s, NULL);
            return;
        }
        if (send_attempt(s) != CIVIC_OK)
            retry_or_finish(s);
        return;
    }
}

static char *
dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

int
civic_call_forward(civic_channel *ch, void *env, int64_t deadline_ms, civic_forward_fn done, void *arg)
{
    if (atomic_load(&ch->connected) == 0)
        return CIVIC_UNAVAILABLE;
    int64_t now = civic_now_ms();
    if (now >= deadline_ms)
        return CIVIC_DEADLINE_EXCEEDED;
    slot *s = slot_get(ch);
    if (s == NULL)
        return CIVIC_RESOURCE_EXHAUSTED;
    if (atomic_load(&ch->lane_up[s->lane]) == 0) {
        slot_put(s);
        return CIVIC_UNAVAILABLE;
    }
    s->fwd = done;
    s->arg = arg;
    s->deadline = deadline_ms;
    s->attempt = 1;
    s->retryable = 0;
    civic_status_set(&s->last, CIVIC_OK, "%s", "");
    // The slot keeps a copy for a failed send to return the caller nothing
    // twice: nng gives the message back on failure and it is freed there.
    s->env = NULL;
    s->state = S_SEND;
    nng_aio_set_msg(s->aio, env);
    nng_aio_set_timeout(s->aio, (nng_duration) (deadline_ms - now));
    nng_ctx_send(s->ctx, s->aio);
    return 0;
}

int
civic_response_code(const void *buf, size_t len)
{
    const uint8_t *p = buf, *end = p + len;
    while (p < end) {
        uint64_t tag = 0, v = 0;
        for (int sh = 0; p < end && sh < 64; sh += 7) {
            tag |= (uint64_t) (*p & 0x7f) << sh;
            if (!(*p++ & 0x80))
                break;
        }
        unsigned wt = tag & 7, field = (unsigned) (tag >> 3);
        if (wt == 0) {
            for (int sh = 0; p < end && sh < 64; sh += 7)
                if (!(*p++ & 0x80))
                    break;
            continue;
        }
        if (wt != 2)
            return -1;
        for (int sh = 0; p < end && sh < 64; sh += 7) {
            v |= (uint64_t) (*p & 0x7f) << sh;
            if (!(*p++ & 0x80))
                break;
        }
        if (v > (uint64_t) (end - p))
            return -1;
        if (field == 2) {
            // Status: field 1 is the code (a varint; 0 when absent).
            const uint8_t *q = p, *qe = p + v;
            while (q < qe) {
                uint8_t t = *q++;
                if (t == 0x08) {
                    uint64_t code = 0;
                    for (int sh = 0; q < qe && sh < 64; sh += 7) {
                        code |= (uint64_t) (*q & 0x7f) << sh;
                        if (!(*q++ & 0x80))
                            break;
                    }
                    return (int) code;
                }
                break; // the code comes first when present
            }
            return 0;
        }
        p += v;
    }
    return 0;
}

int
civic_call_start(civic_channel *ch, const char *method, const void *payload, size_t len,
                 const civic_call_opts *opts, civic_done_fn done, void *arg, civic_status *st)
{
    static const civic_call_opts none;
    if (opts == NULL)
        opts = &none;
    if (opts->n_metadata > 8)
        return civic_status_set(st, CIVIC_INVALID_ARGUMENT, "at most 8 metadata pairs");
    slot *s = slot_get(ch);
    if (s == NULL)
        return civic_status_set(st, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    s->method = dupstr(method);
    s->payload = malloc(len ? len : 1);
    s->len = len;
    if (len)
        memcpy(s->payload, payload, len);
    size_t extra = (opts->idempotency_key ? 1 : 0) + (opts->request_id ? 1 : 0);
    s->md = calloc(2 * (opts->n_metadata + extra) + 1, sizeof(char *));
    for (size_t i = 0; i < 2 * opts->n_metadata; i++)
        s->md[i] = dupstr(opts->metadata[i]);
    s->n_md = opts->n_metadata;
    if (opts->idempotency_key) {
        s->md[2 * s->n_md] = strdup("idempotency-key");
        s->md[2 * s->n_md + 1] = strdup(opts->idempotency_key);
        s->n_md++;
    }
    if (opts->request_id) {
        s->md[2 * s->n_md] = strdup("request-id");
        s->md[2 * s->n_md + 1] = strdup(opts->request_id);
        s->n_md++;
    }
    s->wire_timeout_ms = opts->wire_timeout_ms;
    uint32_t t = opts->timeout_ms ? opts->timeout_ms : 10000;
    if (t > 300000)
        t = 300000;
    s->deadline = civic_now_ms() + t;
    s->attempt = 0;
    s->retryable = opts->read || opts->idempotency_key != NULL;
    s->done = done;
    s->arg = arg;
    memset(&s->last, 0, sizeof s->last);
    if (send_attempt(s) != CIVIC_OK) {
        // Not connected right now: the dialer is at work, so a retryable call
        // backs off and tries again rather than failing at once.
        if (s->last.code == CIVIC_UNAVAILABLE && s->retryable && ch->opts.max_attempts > 1) {
            s->attempt = 1;
            retry_or_finish(s);
            return CIVIC_OK;
        }
        *st = s->last;
        slot_put(s);
        return st->code;
    }
    return CIVIC_OK;
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    civic_reply *out;
} waiter;

static void
wait_done(const civic_reply *r, void *arg)
{
    waiter *w = arg;
    *w->out = *r;
    // The payload lives only during the callback: copy it for the waiter.
    if (r->len > 0) {
        void *p = malloc(r->len);
        memcpy(p, r->payload, r->len);
        w->out->payload = p;
        w->out->msg_ = p;
    } else {
        w->out->payload = NULL;
        w->out->msg_ = NULL;
    }
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int
civic_call_raw(civic_channel *ch, const char *method, const void *payload, size_t len,
               const civic_call_opts *opts, civic_reply *reply)
{
    waiter w = {.done = 0, .out = reply};
    memset(reply, 0, sizeof *reply);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    if (civic_call_start(ch, method, payload, len, opts, wait_done, &w, &reply->status) == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return reply->status.code;
}

void
civic_reply_fini(civic_reply *reply)
{
    free(reply->msg_);
    reply->msg_ = NULL;
    reply->payload = NULL;
}

int
civic_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
           const civic_call_opts *opts, civic_status *st)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return civic_status_set(st, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    protobuf_c_message_pack(req, buf);
    civic_reply r;
    civic_call_raw(ch, method, buf, n, opts, &r);
    free(buf);
    *st = r.status;
    if (st->code == CIVIC_OK && resp != NULL) {
        *resp = protobuf_c_message_unpack(resp_desc, NULL, r.len, r.payload);
        if (*resp == NULL)
            civic_status_set(st, CIVIC_INTERNAL, "cannot decode %s from the reply", resp_desc->name);
    }
    civic_reply_fini(&r);
    return st->code;
}
