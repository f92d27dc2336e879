// The back ends: one channel each, probed; and forwarding a call to one as a
// chain of aio (no thread waits for a back end). A back end with no
// connection answers UNAVAILABLE at once; one that stops answering probes
// has its connection closed so the dialer makes a new one; a slow one runs
// into the caller's deadline, which the gateway answers just before the
// caller would give up.
#include <nng/nng.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "civic_desc.h"
#include "civic_util.h"
#include "gateway.h"
#include "rt_log.h"

// --- authentication: bearer tokens ---

static int limit_client(gw_svc *s, const rt_call *call, char *msg, size_t msglen);

int
gw_authenticate(void *state, rt_call *call, rt_txn *txn, char *msg, size_t msglen)
{
    gw_svc *s = state;
    call->principal = "";
    call->role = RT_ROLE_NONE;
    if (!limit_client(s, call, msg, msglen))
        return CIVIC_RESOURCE_EXHAUSTED;
    const char *auth = rt_call_metadata(call, "authorization");
    if (auth == NULL)
        return 0; // anonymous: only public methods will let it through
    if (strncmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
        snprintf(msg, msglen, "authorization must be \"Bearer <token>\"");
        return CIVIC_UNAUTHENTICATED;
    }
    // The token is unpacked into the call's arena, so its principal lives as
    // long as the call, after the read transaction ends.
    Civic__Gateway__V1__Token *tok = gw_token_lookup(txn, s, auth + 7);
    if (rt_txn_status(txn) != 0) {
        snprintf(msg, msglen, "token store unavailable");
        return CIVIC_UNAVAILABLE;
    }
    if (tok == NULL) {
        snprintf(msg, msglen, "unknown token");
        return CIVIC_UNAUTHENTICATED;
    }
    if (tok->revoked) {
        snprintf(msg, msglen, "token %llu was revoked", (unsigned long long) tok->id);
        return CIVIC_UNAUTHENTICATED;
    }
    if (tok->expire_time != NULL && tok->expire_time->seconds * 1000 <= call->now_ms) {
        snprintf(msg, msglen, "token %llu expired", (unsigned long long) tok->id);
        return CIVIC_UNAUTHENTICATED;
    }
    call->principal = tok->principal;
    call->role = (rt_role) tok->role; // Role and rt_role share their numbers
    char key[64];
    snprintf(key, sizeof key, "token %llu", (unsigned long long) tok->id);
    if (!gw_limit_take(&s->limiter, &s->rate_per_token, key, civic_now_ms())) {
        snprintf(msg, msglen, "token %llu is over its rate limit", (unsigned long long) tok->id);
        return CIVIC_RESOURCE_EXHAUSTED;
    }
    return 0;
}

void
gw_peer_key(const rt_call *call, const char *prefix, char *out, size_t n)
{
    const char *peer = call->peer ? call->peer : "";
    size_t len = strlen(peer);
    const char *colon = strrchr(peer, ':');
    if (colon != NULL && strncmp(peer, "ipc:", 4) != 0 && (peer[0] != '[' || colon[-1] == ']'))
        len = (size_t) (colon - peer);
    snprintf(out, n, "%s%.*s", prefix, (int) len, peer);
}

// limit_client takes a call from the caller's address's bucket (health
// checks aside); 0 when over, with msg set.
static int
limit_client(gw_svc *s, const rt_call *call, char *msg, size_t msglen)
{
    if (strncmp(call->method, "/civic.rpc.v1.HealthService/", 28) == 0)
        return 1;
    char key[96];
    gw_peer_key(call, "client ", key, sizeof key);
    if (gw_limit_take(&s->limiter, &s->rate_per_client, key, civic_now_ms()))
        return 1;
    snprintf(msg, msglen, "this client address is over its rate limit");
    return 0;
}

// --- forwarding ---

static gw_backend *
backend_for(gw_svc *s, const char *method)
{
    for (int i = 0; i < GW_BACKENDS; i++)
        if (s->backends[i].url != NULL &&
            strncmp(method, s->backends[i].prefix, strlen(s->backends[i].prefix)) == 0)
            return &s->backends[i];
    return NULL;
}

static void
forwarded(void *reply, int code, const char *why, void *arg)
{
    rt_forward *fw = arg;
    if (reply != NULL) {
        nng_msg *m = reply;
        rt_forward_reply(fw, m, civic_response_code(nng_msg_body(m), nng_msg_len(m)));
        return;
    }
    if (code == CIVIC_DEADLINE_EXCEEDED)
        rt_forward_fail(fw, code, "deadline exceeded waiting for the back end");
    else
        rt_forward_fail(fw, code, why && why[0] ? why : "the back end went away");
}

// is_identity tells the metadata a caller may not pass on: its credentials
// and anything that claims an identity.
static int
is_identity(const char *key)
{
    return strcmp(key, "authorization") == 0 || strncmp(key, "x-civic-", 8) == 0;
}

// returns_phones tells the methods whose answers hold full phone numbers
// for an admin (volunteers; units' and points' responsible persons): an
// admin's call to one is audited.
static int
returns_phones(const char *method)
{
    static const char *const m[] = {
        "/civic.volunteers.v1.VolunteersService/GetVolunteer",
        "/civic.volunteers.v1.VolunteersService/ListVolunteers",
        "/civic.points.v1.PointsService/GetPoint",
        "/civic.points.v1.PointsService/ListPoints",
        "/civic.points.v1.PointsService/GetUnit",
        "/civic.points.v1.PointsService/ListUnits",
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcmp(method, m[i]) == 0)
            return 1;
    return 0;
}

void
gw_forward(void *state, rt_forward *fw)
{
    gw_svc *s = state;
    const rt_call *call = rt_forward_call(fw);
    const Civic__Rpc__V1__Request *in = rt_forward_request(fw);
    char msg[300];
    if (gw_is_flow(in->method)) {
        gw_flow_submit(s, fw); // the role was checked by the runtime
        return;
    }
    if (civic_desc_method_is_read(in->method) < 0) {
        snprintf(msg, sizeof msg, "unknown method \"%.200s\"", in->method);
        rt_forward_fail(fw, CIVIC_UNIMPLEMENTED, msg);
        return;
    }
    if (!(gw_authz_roles(in->method) & RT_ROLE_BIT(call->role))) {
        if (call->role == RT_ROLE_NONE) {
            snprintf(msg, sizeof msg, "%.200s needs a token", in->method);
            rt_forward_fail(fw, CIVIC_UNAUTHENTICATED, msg);
        } else {
            snprintf(msg, sizeof msg, "role %s may not call %.200s", rt_role_name(call->role), in->method);
            rt_forward_fail(fw, CIVIC_PERMISSION_DENIED, msg);
        }
        return;
    }
    if (call->role == RT_ROLE_ADMIN && returns_phones(in->method))
        gw_audit_personal_read(s, call);
    gw_backend *b = backend_for(s, in->method);
    if (b == NULL || b->ch == NULL || civic_channel_connected(b->ch) == 0) {
        snprintf(msg, sizeof msg, "the %s service is not connected", b ? b->name : "hosting");
        rt_forward_fail(fw, CIVIC_UNAVAILABLE, msg);
        return;
    }
    // The back end gets the caller's deadline less a margin, so that the
    // gateway's DEADLINE_EXCEEDED reaches the caller before it gives up.
    int64_t now = civic_now_ms(), left = call->deadline_ms - now;
    int64_t margin = left / 10 < 50 ? left / 10 : 50;
    int64_t deadline = call->deadline_ms - margin;
    if (deadline - now < 1) {
        rt_forward_fail(fw, CIVIC_DEADLINE_EXCEEDED, "deadline exceeded at the gateway");
        return;
    }

    // The envelope again: the caller's method, call id and payload, its
    // metadata less credentials and claimed identity, plus the identity the
    // token proved, signed when the gateway has the internal key.
    rt_arena *a = rt_forward_arena(fw);
    Civic__Rpc__V1__Request out = CIVIC__RPC__V1__REQUEST__INIT;
    out.method = in->method;
    out.call_id = in->call_id;
    out.timeout_ms = (uint32_t) (deadline - now);
    out.payload = in->payload;
    out.metadata = rt_arena_alloc(a, (in->n_metadata + 3) * sizeof *out.metadata);
    Civic__Rpc__V1__Request__MetadataEntry *ents = rt_arena_alloc(a, 3 * sizeof *ents);
    char *sig = rt_arena_alloc(a, CIVIC_SIG_HEX);
    if (out.metadata == NULL || ents == NULL || sig == NULL) {
        rt_forward_fail(fw, CIVIC_RESOURCE_EXHAUSTED, "call memory budget exhausted");
        return;
    }
    for (size_t i = 0; i < in->n_metadata; i++)
        if (!is_identity(in->metadata[i]->key))
            out.metadata[out.n_metadata++] = in->metadata[i];
    // An anonymous caller of a public method reaches the back end as a
    // viewer named "public": reads only, as the authz table allows.
    const char *role = call->role == RT_ROLE_NONE ? "viewer" : rt_role_name(call->role);
    const char *principal = call->role == RT_ROLE_NONE ? "public" : call->principal;
    const char *keys[3] = {"x-civic-principal", "x-civic-role", "x-civic-signature"};
    const char *vals[3] = {principal, role, sig};
    if (s->key != NULL)
        civic_sign(s->key, in->method, in->call_id, principal, role, in->payload.data,
                   in->payload.len, sig);
    for (int i = 0; i < (s->key ? 3 : 2); i++) {
        civic__rpc__v1__request__metadata_entry__init(&ents[i]);
        ents[i].key = civic_unconst(keys[i]);
        ents[i].value = civic_unconst(vals[i]);
        out.metadata[out.n_metadata++] = &ents[i];
    }
    nng_msg *m;
    if (nng_msg_alloc(&m, civic__rpc__v1__request__get_packed_size(&out)) != 0) {
        rt_forward_fail(fw, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    civic__rpc__v1__request__pack(&out, nng_msg_body(m));
    int rc = civic_call_forward(b->ch, m, deadline, forwarded, fw);
    if (rc != 0) {
        nng_msg_free(m);
        snprintf(msg, sizeof msg, "the %s service is not connected", b->name);
        rt_forward_fail(fw, rc, rc == CIVIC_UNAVAILABLE ? msg : "cannot forward the call");
    }
}

// --- health and probes ---

int
gw_health(void *state, const char *service)
{
    gw_svc *s = state;
    for (int i = 0; i < GW_BACKENDS; i++) {
        gw_backend *b = &s->backends[i];
        if (b->url != NULL && strcmp(service, b->service) == 0)
            return atomic_load(&b->healthy) && civic_channel_connected(b->ch) > 0
                       ? CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING
                       : CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_NOT_SERVING;
    }
    return -1;
}

// gw_metrics is the gateway's part of /metrics: each back end's state as
// the prober last saw it, and its connections now.
void
gw_metrics(void *state, rt_strbuf *out)
{
    gw_svc *s = state;
    rt_strbuf_printf(out, "# HELP civic_backend_up Whether the back end answered its last probe "
                          "SERVING over a live connection (1) or not (0).\n"
                          "# TYPE civic_backend_up gauge\n");
    for (int i = 0; i < GW_BACKENDS; i++) {
        gw_backend *b = &s->backends[i];
        if (b->url != NULL)
            rt_strbuf_printf(out, "civic_backend_up{backend=\"%s\"} %d\n", b->name,
                             gw_health(s, b->service) ==
                                 CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING);
    }
    rt_strbuf_printf(out, "# HELP civic_backend_connections Connections (nng pipes) open to the "
                          "back end.\n"
                          "# TYPE civic_backend_connections gauge\n");
    for (int i = 0; i < GW_BACKENDS; i++) {
        gw_backend *b = &s->backends[i];
        if (b->url != NULL)
            rt_strbuf_printf(out, "civic_backend_connections{backend=\"%s\"} %d\n", b->name,
                             civic_channel_connected(b->ch));
    }
}

static void
probe(gw_svc *s, gw_backend *b)
{
    Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    civic_call_opts o = {.timeout_ms = (uint32_t) s->probe_ms, .read = 1};
    int ok = 0;
    if (civic_channel_connected(b->ch) > 0 &&
        civic_call(b->ch, "/civic.rpc.v1.HealthService/Check", &req.base,
                   &civic__rpc__v1__check_response__descriptor, &resp, &o, &st) == 0) {
        ok = ((Civic__Rpc__V1__CheckResponse *) resp)->status ==
             CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    int was = atomic_exchange(&b->healthy, ok);
    if (ok != was)
        rt_log(ok ? RT_LOG_INFO : RT_LOG_WARN, ok ? "backend.up" : "backend.down", "backend=%s url=%s",
               b->name, b->url);
    b->failures = ok ? 0 : b->failures + 1;
    // Connected but not answering (a stopped process keeps its sockets):
    // close the connection so that the dialer makes a new one, and calls
    // fail fast with UNAVAILABLE until it does.
    if (b->failures >= 2 && civic_channel_connected(b->ch) > 0) {
        rt_log(RT_LOG_WARN, "backend.reset", "backend=%s url=%s", b->name, b->url);
        civic_channel_reset(b->ch);
        b->failures = 0;
    }
}

static void *
prober_main(void *arg)
{
    gw_svc *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->mu);
        for (int i = 0; i < GW_BACKENDS; i++)
            if (s->backends[i].ch != NULL)
                probe(s, &s->backends[i]);
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long) (s->probe_ms % 1000) * 1000000L;
        until.tv_sec += s->probe_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        if (!s->stopping)
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int
gw_backends_open(gw_svc *s)
{
    int n = 0;
    for (int i = 0; i < GW_BACKENDS; i++) {
        gw_backend *b = &s->backends[i];
        if (b->url == NULL || b->url[0] == '\0') {
            b->url = NULL;
            continue;
        }
        // No retries here (the caller's client retries end to end), and no
        // waiting for a first connection: a back end may start later.
        civic_channel_opts o = {.max_attempts = 1, .lazy = 1, .lanes = 4,
                                .tls_ca_file = s->tls_ca_file,
                                .tls_cert_key_file = s->tls_cert_key_file,
                                .tls_server_name = s->backend_tls_server_name};
        civic_status st;
        if (civic_channel_open(&b->ch, b->url, &o, &st) != 0) {
            rt_log(RT_LOG_ERROR, "backend.bad_url", "backend=%s url=%s error=\"%s\"", b->name, b->url, st.message);
            return -1;
        }
        s->extra_services[n++] = b->service;
    }
    s->extra_services[n] = NULL;
    return pthread_create(&s->prober, NULL, prober_main, s) == 0 ? 0 : -1;
}

void
gw_backends_close(gw_svc *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->prober, NULL);
    for (int i = 0; i < GW_BACKENDS; i++)
        civic_channel_close(s->backends[i].ch);
}
