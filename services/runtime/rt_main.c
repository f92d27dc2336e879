// The life of a service: parse, open, serve, wait for a signal, stop.
#include "rt_main.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "civic_tls.h"
#include "rt_admin.h"
#include "rt_log.h"

#define N_COMMON 17

int
rt_main(const rt_app *app, int argc, char **argv)
{
    rt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const rt_cfg_key common[N_COMMON] = {
        {"listen", "CIVIC_LISTEN", RT_CFG_STR, app->default_listen, 0, 0, &cfg.listen,
         "address to serve on: tcp://HOST:PORT, ipc:///PATH or tls+tcp://HOST:PORT"},
        {"data", "CIVIC_DATA", RT_CFG_STR, app->default_data, 0, 0, &cfg.data,
         "data directory (the LMDB environment lives here)"},
        {"map-size", "CIVIC_MAP_SIZE", RT_CFG_SIZE, "8G", 1 << 20, (long long) 1 << 42,
         &cfg.map_size, "LMDB map size: the most the data may grow to (address space, not disk)"},
        {"admin-listen", "CIVIC_ADMIN_LISTEN", RT_CFG_STR, app->default_admin, 0, 0,
         &cfg.admin_listen, "HOST:PORT for HTTP health and metrics; empty turns it off"},
        {"internal-key-file", "CIVIC_INTERNAL_KEY_FILE", RT_CFG_STR, NULL, 0, 0,
         &cfg.internal_key_file,
         "file with the key that signs callers' identity; without it the service runs in open mode"},
        {"log-level", "CIVIC_LOG_LEVEL", RT_CFG_STR, "info", 0, 0, &cfg.log_level,
         "lowest level logged: debug, info, warn or error"},
        {"contexts", "CIVIC_CONTEXTS", RT_CFG_INT, "256", 1, 65536, &cfg.contexts,
         "calls served at once"},
        {"batch-max", "CIVIC_BATCH_MAX", RT_CFG_INT, "1024", 1, 65536, &cfg.batch_max,
         "most writes in one commit; 1 commits each write alone (the benchmarks' baseline)"},
        {"idempotency-ttl", "CIVIC_IDEMPOTENCY_TTL", RT_CFG_INT, "604800", 60, 90 * 86400,
         &cfg.idempotency_ttl_s,
         "seconds a write's idempotency key is remembered: a retry within it gets the first answer"},
        {"tz-offset-minutes", "CIVIC_TZ_OFFSET_MINUTES", RT_CFG_INT, "480", -720, 840,
         &cfg.tz_offset_min, "the campaign's local time, minutes east of UTC (480 = China Standard Time)"},
        {"unsafe-no-sync", "CIVIC_UNSAFE_NO_SYNC", RT_CFG_BOOL, "false", 0, 0, &cfg.unsafe_no_sync,
         "commit without fsync: a crash may lose acknowledged writes; tests and benchmarks only"},
        {"test-stall-ms", "CIVIC_TEST_STALL_MS", RT_CFG_INT, "0", 0, 60000, &cfg.test_stall_ms,
         "test hook: stall every call this long before it is checked"},
        {"test-start-delay-ms", "CIVIC_TEST_START_DELAY_MS", RT_CFG_INT, "0", 0, 60000,
         &cfg.test_start_delay_ms, "test hook: listen this long before serving (Health NOT_SERVING)"},
        {"demo", "CIVIC_DEMO", RT_CFG_BOOL, "false", 0, 0, &cfg.demo,
         "load the demo campaign into an empty store at start"},
        {"tls-cert-key-file", "CIVIC_TLS_CERT_KEY_FILE", RT_CFG_STR, NULL, 0, 0, &cfg.tls_cert_key_file,
         "PEM file with this process's certificate (chain) then its private key: a tls+tcp:// "
         "listener serves it; the gateway also shows it to back ends"},
        {"tls-ca-file", "CIVIC_TLS_CA_FILE", RT_CFG_STR, NULL, 0, 0, &cfg.tls_ca_file,
         "PEM file with the CA that peers' certificates must chain to (callers' on a tls+tcp:// "
         "listener; the back ends' for the gateway's tls+tcp:// back-end addresses)"},
        {"tls-client-auth", "CIVIC_TLS_CLIENT_AUTH", RT_CFG_STR, "required", 0, 0, &cfg.tls_client_auth,
         "on a tls+tcp:// listener: required (callers must show a certificate from --tls-ca-file), "
         "optional, or none"},
    };
    size_t n = N_COMMON + app->n_extra;
    rt_cfg_key *keys = calloc(n, sizeof *keys);
    memcpy(keys, common, sizeof common);
    if (app->n_extra)
        memcpy(keys + N_COMMON, app->extra, app->n_extra * sizeof *keys);
    int rc = rt_config_parse(keys, n, argc, argv, app->name, app->about);
    free(keys);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    int level = rt_log_level_parse(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "%s: log-level must be debug, info, warn or error\n", app->name);
        return 2;
    }
    rt_log_init(app->name, level);

    // glibc raises its mmap threshold to the largest block freed, so after
    // one huge message (up to 4 MiB, unpacked into several times that) every
    // later block of that size comes from a heap that keeps it: memory grows
    // with each thread that ever handled one. A fixed threshold sends larger
    // blocks to mmap and back to the system when freed; a few arenas keep
    // nng's many threads from each holding their own free memory. Not lower
    // than 4 MiB: LMDB allocates 2 MiB for every nested transaction (each
    // write in a batch), and an mmap per write costs three times the writes;
    // what stays in the heaps below that is trimmed while idle (below).
    mallopt(M_MMAP_THRESHOLD, 2304 * 1024);
    mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    mallopt(M_ARENA_MAX, 2);

    // Signals are taken by sigwait on this thread; every other thread (nng's,
    // the writer) inherits the mask and never sees them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    civic_key key;
    const civic_key *keyp = NULL;
    if (cfg.internal_key_file != NULL && cfg.internal_key_file[0] != '\0') {
        const char *why;
        if (civic_key_load(&key, cfg.internal_key_file, &why) != 0) {
            rt_log(RT_LOG_ERROR, "config.bad_key", "internal-key-file=%s error=\"%s\"",
                   cfg.internal_key_file, why);
            return 2;
        }
        keyp = &key;
        cfg.key = keyp;
    } else {
        rt_log(RT_LOG_WARN, "security.open_mode",
               "message=\"no --internal-key-file: callers' identity is taken unsigned, and a call "
               "naming none acts as admin; development and single-service tests only\"");
    }

    char err[512];
    // The admin server first: while the store opens (migrations may take a
    // while) and the server starts, /healthz answers and /readyz says 503.
    rt_admin *admin = NULL;
    if (cfg.admin_listen != NULL && cfg.admin_listen[0] != '\0' &&
        rt_admin_start(&admin, cfg.admin_listen, NULL, NULL, err, sizeof err) != 0) {
        rt_log(RT_LOG_ERROR, "admin.start_failed", "error=\"%s\"", err);
        return 1;
    }
    rt_store_opts so = {
        .map_size = cfg.map_size,
        .max_readers = (unsigned) cfg.contexts + 64,
        .unsafe_no_sync = cfg.unsafe_no_sync,
        .batch_max = (int) cfg.batch_max,
        .idempotency_ttl_s = (uint32_t) cfg.idempotency_ttl_s,
        .dbs = app->dbs,
        .schema_version = app->schema_version,
        .migrate = app->migrate,
    };
    if (cfg.unsafe_no_sync)
        rt_log(RT_LOG_WARN, "store.unsafe_no_sync", "message=\"commits are not synced to disk\"");
    rt_store *store = NULL;
    void *state = NULL;
    rt_server *srv = NULL;
    if (rt_store_open(&store, cfg.data, &so, err, sizeof err) != 0) {
        rt_log(RT_LOG_ERROR, "store.open_failed", "data=%s error=\"%s\"", cfg.data, err);
        goto fail_admin;
    }
    if (app->init != NULL && app->init(&state, store, &cfg) != 0) {
        rt_log(RT_LOG_ERROR, "service.init_failed", "data=%s", cfg.data);
        goto fail_store;
    }
    int client_auth = civic_tls_auth_parse(cfg.tls_client_auth);
    if (client_auth < 0) {
        fprintf(stderr, "%s: tls-client-auth must be none, optional or required, not \"%s\"\n", app->name,
                cfg.tls_client_auth);
        rc = 2;
        goto fail_init;
    }
    rt_server_opts sv = {
        .listen = cfg.listen,
        .tls_cert_key_file = cfg.tls_cert_key_file,
        .tls_ca_file = cfg.tls_ca_file,
        .tls_client_auth = client_auth,
        .contexts = (int) cfg.contexts,
        .key = keyp,
        .test_stall_ms = (int) cfg.test_stall_ms,
    };
    if (app->server_opts != NULL)
        app->server_opts(state, &sv);
    if (rt_server_start(&srv, &sv, store, app->services, app->n_services, state, err, sizeof err) != 0) {
        rt_log(RT_LOG_ERROR, "server.start_failed", "error=\"%s\"", err);
        goto fail_init;
    }
    rt_admin_attach(admin, srv, store);
    if (app->attach != NULL && app->attach(state, srv) != 0)
        goto fail_server;
    if (cfg.test_start_delay_ms > 0) {
        struct timespec d = {cfg.test_start_delay_ms / 1000, (cfg.test_start_delay_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
    }
    rt_server_set_serving(srv, 1);
    rt_log(RT_LOG_INFO, "server.serving", "listen=%s data=%s pid=%ld", cfg.listen, cfg.data,
           (long) getpid());
    if (app->ready != NULL && app->ready(state, &cfg) != 0)
        rt_log(RT_LOG_WARN, "service.ready_failed", "message=\"serving anyway\"");
    // After the ready hook (the demo, with --demo): scripts wait for this.
    rt_log(RT_LOG_INFO, "service.ready", "demo=%s", cfg.demo ? "true" : "false");

    // While waiting for a signal, hand the heap's free memory back to the
    // system once a second (what a burst of big calls left behind).
    int sig;
    struct timespec second = {1, 0};
    while ((sig = sigtimedwait(&set, NULL, &second)) < 0)
        malloc_trim(0);
    rt_log(RT_LOG_INFO, "server.stopping", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
    // Not ready from here on (/readyz 503, new calls UNAVAILABLE) while the
    // calls in flight are answered; then the fronts that call into the
    // server; the admin server reads the server's state: it goes before the
    // server is freed.
    rt_server_drain(srv);
    if (app->detach != NULL)
        app->detach(state);
    rt_admin_stop(admin);
    rt_server_stop(srv);
    rt_store_stats ss;
    rt_store_stats_get(store, &ss);
    rt_log(RT_LOG_WARN, "store.stats", "batches=%llu writes=%llu mean_batch=%.2f",
           (unsigned long long) ss.batches, (unsigned long long) ss.writes,
           ss.batches ? (double) ss.writes / (double) ss.batches : 0.0);
    if (app->fini)
        app->fini(state);
    rt_store_close(store);
    rt_log(RT_LOG_INFO, "server.stopped", "data=%s", cfg.data);
    return 0;

fail_server:
    rt_admin_stop(admin); // it reads srv
    admin = NULL;
    rt_server_stop(srv);
fail_init:
    if (app->fini)
        app->fini(state);
fail_store:
    rt_store_close(store);
fail_admin:
    rt_admin_stop(admin);
    return rc != 0 ? rc : 1;
}
