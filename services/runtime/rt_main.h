// rt_main: the whole life of a service binary — configuration, logging, the
// store, the server, signals and a clean stop — so that a service's main.c
// is one call. A service describes itself in an rt_app.
#ifndef RT_MAIN_H
#define RT_MAIN_H

#include <stddef.h>

#include "rt_config.h"
#include "rt_server.h"
#include "rt_store.h"

// rt_config is what every service is configured with.
typedef struct rt_config {
    const char *listen;
    const char *data;
    size_t map_size;
    const char *admin_listen;
    const char *internal_key_file;
    const char *log_level;
    long long contexts;
    long long batch_max;
    long long idempotency_ttl_s; // how long a write's idempotency key is remembered
    long long tz_offset_min;  // the campaign's local day: minutes east of UTC
    int unsafe_no_sync;
    long long test_stall_ms;
    long long test_start_delay_ms;
    int demo;                 // load demo data into an empty store
    const char *tls_cert_key_file; // PEM: this process's certificate, then its key
    const char *tls_ca_file;       // PEM: the CA peers' certificates must chain to
    const char *tls_client_auth;   // none, optional or required (a tls+tcp listener)
    const civic_key *key;     // the loaded internal key, or NULL (open mode)
} rt_config;

typedef struct rt_app {
    const char *name;            // "civic-points"
    const char *about;           // one line for --help
    const char *default_listen;  // "tcp://127.0.0.1:7001"
    const char *default_data;    // "./data/points"
    const char *default_admin;   // "127.0.0.1:9001"
    const rt_service_def *const *services;
    size_t n_services;
    const char *const *dbs;      // the service's named databases
    unsigned schema_version;
    rt_migrate_fn migrate;
    const rt_cfg_key *extra;     // the service's own configuration keys
    size_t n_extra;
    // init builds the service's state once the store is open; fini frees it.
    int (*init)(void **state, rt_store *store, const rt_config *cfg);
    void (*fini)(void *state);
    // server_opts lets the service set the server's hooks (the gateway's
    // authentication and forwarding) before it starts. May be NULL.
    void (*server_opts)(void *state, rt_server_opts *opts);
    // ready runs once the server is SERVING (demo data goes in here, through
    // the public API at cfg->listen). May be NULL.
    int (*ready)(void *state, const rt_config *cfg);
    // attach runs once the server has started, before it serves: the
    // service may start fronts of its own that call into srv (the gateway's
    // HTTP port, through rt_server_call). Non-zero stops the binary (exit
    // 1). detach runs first thing at the stop, while srv still answers; it
    // must end every such front. Both may be NULL.
    int (*attach)(void *state, rt_server *srv);
    void (*detach)(void *state);
} rt_app;

// rt_main runs the service until SIGTERM or SIGINT. Returns the exit status.
int rt_main(const rt_app *app, int argc, char **argv);

#endif
