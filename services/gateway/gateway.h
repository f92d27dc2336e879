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
} gw_svc;

extern const char *const gw_dbs[];
extern const rt_service_def gw_service_def;

// The gateway's own configuration (beside rt_config).
typedef struct gw_config {
    const char *points, *tasks, *volunteers;
    const char *admin_token_file;
    long long probe_ms;
} gw_config;
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
int gw_authenticate(void *state, rt_call *call, rt_arena *arena, char *msg, size_t msglen);

// --- handlers.c ---
int handle_create_token(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_tokens(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_revoke_token(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_who_am_i(rt_txn *t, const void *in, void *out, const rt_call *call);

#endif
