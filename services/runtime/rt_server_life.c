// A server's life outside its calls: start (socket, contexts, listener, the
// slow-read worker), readiness, metrics, and the stop — drain the calls in
// flight, then close.
#include "rt_server_impl.h"

#include <nng/protocol/reqrep0/rep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic_tls.h"
#include "civic_util.h"
#include "rt_log.h"

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

    if (rt_routes_build(srv, services, n_services, err, errlen) != 0)
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
        if ((rv = nng_aio_alloc(&c->aio, rt_ctx_cb, c)) != 0 || (rv = nng_ctx_open(&c->ctx, srv->sock)) != 0) {
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
    if (pthread_create(&srv->worker, NULL, rt_worker_main, srv) != 0) {
        snprintf(err, errlen, "cannot start the worker thread");
        goto fail_sock;
    }
    for (int i = 0; i < srv->n_ctxs; i++)
        rt_ctx_recv(&srv->ctxs[i]);
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
    rt_routes_free(srv);
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
    rt_routes_free(srv);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}
