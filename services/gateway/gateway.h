// The gateway's state and the pieces its files share: tokens (store.c), the
// authorization table (authz.c), back ends and forwarding (backends.c), its
// own RPCs (handlers.c) and wiring (service.c).
#ifndef GATEWAY_H
#define GATEWAY_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "civic_client.h"
#include "rt_main.h"
#include "rt_page.h"

#define GW_BACKENDS 3
#define GW_FLOW_THREADS_MAX 32
#define GW_BUCKETS 4096

// gw_rate is a limit: rate calls per second, up to burst at once; rate 0 is
// no limit.
typedef struct gw_rate {
    double rate, burst;
} gw_rate;

typedef struct gw_bucket {
    int used;
    uint64_t hash;
    char key[96];
    double tokens;
    int64_t last_ms;
} gw_bucket;

typedef struct gw_limiter {
    pthread_mutex_t mu;
    gw_bucket slots[GW_BUCKETS];
} gw_limiter;

struct flow_item;
typedef struct gw_web gw_web;

typedef struct gw_backend {
    const char *name;    // "points"
    const char *prefix;  // "/civic.points.v1." — the methods it hosts
    const char *service; // "civic.points.v1.PointsService"
    const char *url;     // NULL when not configured
    civic_channel *ch;
    atomic_int healthy;  // the last probe answered SERVING
    int failures;        // probes failed in a row (prober thread only)
} gw_backend;

typedef struct gw_svc {
    rt_store *store;
    MDB_dbi tokens, token_ids;
    const civic_key *key;
    gw_backend backends[GW_BACKENDS];
    const char *extra_services[GW_BACKENDS + 1];
    pthread_t prober;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int probe_ms;
    // tls+tcp:// back ends: the CA their certificates chain to, the
    // gateway's own certificate and key to show them, the name to check.
    const char *tls_ca_file, *tls_cert_key_file, *backend_tls_server_name;
    int tz_offset_min; // the campaign's local day
    // Rate limits (limit.c).
    gw_limiter limiter;
    gw_rate rate_per_token, rate_per_client, rate_self_register;
    // The flow threads and their queue (flows.c).
    pthread_t flow_threads[GW_FLOW_THREADS_MAX];
    int n_flow_threads, flow_stop;
    pthread_mutex_t flow_mu;
    pthread_cond_t flow_cv;
    struct flow_item *flow_head, *flow_tail;
    gw_web *web; // the web port (web.c), NULL when off
} gw_svc;

extern const char *const gw_dbs[];
extern const rt_service_def gw_service_def;

// The gateway's own configuration (beside rt_config).
typedef struct gw_config {
    const char *points, *tasks, *volunteers;
    const char *admin_token_file;
    const char *backend_tls_server_name;
    long long probe_ms;
    const char *rate_per_token, *rate_per_client, *rate_self_register;
    long long volunteer_token_ttl;
    long long flow_threads;
    const char *web_listen, *web_root;
    size_t web_max_body;
} gw_config;
// gw_peer_key writes prefix and the caller's host without its port (one
// rate-limit bucket per address) into out.
void gw_peer_key(const rt_call *call, const char *prefix, char *out, size_t n);

extern gw_config gw_cfg;
extern const rt_cfg_key gw_cfg_keys[];
extern const size_t gw_n_cfg_keys;

// --- store.c: tokens, kept as SHA-256 hashes only ---

// gw_token_new makes a new random token's text into out (at least 64 bytes).
void gw_token_new(char *out, size_t n);
// gw_token_put stores a token (by the hash of secret) and its id index.
void gw_token_put(rt_txn *t, const gw_svc *s, const char *secret, const Civic__Gateway__V1__Token *tok);
// gw_token_lookup finds the token for secret; NULL (no error) when none.
Civic__Gateway__V1__Token *gw_token_lookup(rt_txn *t, const gw_svc *s, const char *secret);
// gw_token_by_id reads a token by id, recording NOT_FOUND naming "id".
Civic__Gateway__V1__Token *gw_token_by_id(rt_txn *t, const gw_svc *s, uint64_t id, unsigned char hash[32]);
// gw_bootstrap_admin makes the first admin token when there is none: from
// file if given (a mounted secret), else a new one written to
// <data>/admin.token (mode 0600). Never logs the token.
int gw_bootstrap_admin(gw_svc *s, const char *data_dir, const char *file, int reset);

// --- authz.c: the hand-kept table of method → roles, deny by default ---
unsigned gw_authz_roles(const char *method);
// gw_authz_foreach calls fn for every entry of the table.
void gw_authz_foreach(void (*fn)(const char *method, unsigned roles, void *arg), void *arg);

// --- backends.c ---
int gw_backends_open(gw_svc *s);
void gw_backends_close(gw_svc *s);
void gw_forward(void *state, rt_forward *fw);
int gw_health(void *state, const char *service);
// gw_metrics appends civic_backend_up and civic_backend_connections.
void gw_metrics(void *state, rt_strbuf *out);
int gw_authenticate(void *state, rt_call *call, rt_txn *txn, char *msg, size_t msglen);

// --- limit.c: token buckets ---
// gw_rate_parse reads "RATE/BURST" ("5/10"), "RATE" (burst = RATE) or ""
// or "0" (no limit). Returns 0, or -1 if malformed.
int gw_rate_parse(const char *text, gw_rate *r);
// gw_limit_take takes one call from key's bucket: 1 if allowed, 0 if over.
int gw_limit_take(gw_limiter *l, const gw_rate *r, const char *key, int64_t now_ms);

// --- flows.c: the methods that call the back ends ---
int gw_is_flow(const char *method);
void gw_flow_submit(gw_svc *s, rt_forward *fw);
int gw_flows_start(gw_svc *s, int n);
void gw_flows_stop(gw_svc *s);
// gw_audit_personal_read appends a personal_data.read event for the call,
// without waiting for the commit.
void gw_audit_personal_read(gw_svc *s, const rt_call *call);

// --- web.c: JSON over HTTP and the pages ---
// gw_web_start serves HTTP on listen ("HOST:PORT"; port 0 picks one, logged
// as web.listening): POST /v1/PACKAGE.SERVICE/METHOD runs through srv with
// rt_server_call, GET serves files under root. srv must outlive it. Returns
// 0 with *out owning the server (release with gw_web_stop), or -1 (logged).
int gw_web_start(gw_web **out, const char *listen, const char *root, size_t max_body,
                 rt_server *srv);
// gw_web_stop stops serving, waiting for calls in hand; NULL does nothing.
void gw_web_stop(gw_web *w);
// gw_web_http_status maps a status code to grpc-gateway's HTTP status.
unsigned gw_web_http_status(int code);

// --- handlers.c ---
int handle_create_token(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_tokens(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_revoke_token(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_who_am_i(rt_txn *t, const void *in, void *out, const rt_call *call);

#endif
