// rt_server: the RPC server every civicgrid service runs. One rep0 socket
// with many contexts, each with its own aio, so many calls are in flight at
// once without a thread per client. A call's envelope is checked (deadline,
// metadata, identity), its method found by full name in the protoc-c service
// descriptors, its payload unpacked into a per-call arena with a budget, and
// its handler run: a read right in the aio callback, in a short read-only
// transaction; a write on the store's writer, in a child transaction of the
// batch, with the reply sent only after the batch commits.
//
// A service supplies only a table of handlers (rt_method) per protobuf
// service; the runtime owns the envelope, routing, identity, idempotency,
// Health, Reflection and shutdown.
#ifndef RT_SERVER_H
#define RT_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "civic_sign.h"
#include "rt_store.h"
#include "rt_strbuf.h"

struct Civic__Rpc__V1__Request;

// Roles, as the gateway names them in x-civic-role. RT_ROLE_NONE is an
// anonymous caller (no identity, or one without a valid signature).
typedef enum rt_role {
    RT_ROLE_NONE = 0,
    RT_ROLE_ADMIN,
    RT_ROLE_INSPECTOR,
    RT_ROLE_UNIT,
    RT_ROLE_VOLUNTEER,
    RT_ROLE_VIEWER,
    RT_ROLE_COUNT
} rt_role;

#define RT_ROLE_BIT(r) (1u << (r))
#define RT_ROLES_SIGNED_IN                                                                         \
    (RT_ROLE_BIT(RT_ROLE_ADMIN) | RT_ROLE_BIT(RT_ROLE_INSPECTOR) | RT_ROLE_BIT(RT_ROLE_UNIT) |     \
     RT_ROLE_BIT(RT_ROLE_VOLUNTEER) | RT_ROLE_BIT(RT_ROLE_VIEWER))
#define RT_ROLES_ANYONE (RT_ROLES_SIGNED_IN | RT_ROLE_BIT(RT_ROLE_NONE))

// rt_role_name returns "admin", …, or "" for RT_ROLE_NONE; rt_role_parse the
// reverse (RT_ROLE_NONE for an unknown name).
const char *rt_role_name(rt_role r);
rt_role rt_role_parse(const char *s);

typedef struct rt_server rt_server;

// rt_call is what a handler knows of its call besides the request message.
// Everything it points to lives until the call ends.
typedef struct rt_call {
    const char *method;          // "/civic.points.v1.PointsService/GetPoint"
    const char *principal;       // "" when anonymous
    rt_role role;
    const char *request_id;      // "" when none was sent
    const char *idempotency_key; // NULL when none was sent
    int64_t now_ms;              // wall-clock time the call arrived (Unix ms)
    int64_t deadline_ms;         // monotonic deadline
    void *service;               // the service's own state (rt_app.init)
    rt_server *server;
    const struct Civic__Rpc__V1__Request *envelope;
    const char *peer;            // the caller's address ("127.0.0.1:50412"),
                                 // "" when nng cannot tell; set at the gateway only
} rt_call;

// rt_call_metadata returns the value of a metadata key, or NULL.
const char *rt_call_metadata(const rt_call *call, const char *key);

typedef enum rt_kind {
    RT_READ,      // runs at once in the aio callback, in a read transaction
    RT_WRITE,     // runs on the writer in a child of the batch transaction
    RT_SLOW_READ, // a read that may take long: runs on a worker thread
    // A write whose reply must never be stored (it carries a secret, such as
    // a new token): a retry with the same idempotency-key is answered
    // ALREADY_EXISTS (done, the secret shown once) and changes nothing.
    RT_WRITE_NO_REPLAY,
    // A method the service carries out itself through its forward hook (the
    // gateway's flows, which call other services): the runtime checks the
    // role, then hands the call over as an rt_forward; fn is not used. It
    // may be a read or a write in the .proto.
    RT_FLOW,
} rt_kind;

// A handler fills out (already initialised, in the call's arena) from in.
// It returns rt_txn_status(txn): 0, or the first error recorded on txn.
typedef int (*rt_handler)(rt_txn *txn, const void *in, void *out, const rt_call *call);

typedef struct rt_method {
    const char *name; // the method's short name, as in the .proto ("GetPoint")
    rt_kind kind;
    rt_handler fn;
    unsigned roles;   // RT_ROLE_BIT()s allowed; deny by default
    // Optional: unpack and pack with these wire-compatible descriptors
    // instead of the method's own (the runtime's ListEvents does).
    const ProtobufCMessageDescriptor *in_desc, *out_desc;
} rt_method;

typedef struct rt_service_def {
    const ProtobufCServiceDescriptor *desc;
    const rt_method *methods;
    size_t n_methods;
} rt_service_def;

// rt_forward is a call the server hands to its forward hook (the gateway's
// routing): the hook owns it until it calls rt_forward_reply or
// rt_forward_fail, exactly once, from any thread.
typedef struct rt_ctx rt_forward;

// rt_forward_call and rt_forward_request give the call and its decoded
// envelope (valid until the reply); rt_forward_arena its memory.
const rt_call *rt_forward_call(rt_forward *fw);
const struct Civic__Rpc__V1__Request *rt_forward_request(rt_forward *fw);
rt_arena *rt_forward_arena(rt_forward *fw);

// rt_forward_reply sends m, a whole serialized Response whose status code is
// code (for the log), to the caller; the server owns m from then on.
// rt_forward_fail answers with an error instead.
void rt_forward_reply(rt_forward *fw, void *nng_msg_reply, int code);
void rt_forward_fail(rt_forward *fw, int code, const char *message);

typedef struct rt_server_opts {
    const char *listen;     // "tcp://127.0.0.1:7001"
    int contexts;           // calls served at once; default 256
    size_t max_msg;         // NNG_OPT_RECVMAXSZ; default 4 MiB
    size_t unpack_budget;   // per-call arena budget; default 16 MiB
    const civic_key *key;   // internal key; NULL runs in open mode
    int test_stall_ms;      // test hook: stall each call this long first
    // A tls+tcp:// listener: its certificate and key (PEM, one file), the CA
    // callers' certificates are checked against, and whether callers must
    // show one (an NNG_TLS_AUTH_MODE_* value; see civic_tls.h).
    const char *tls_cert_key_file;
    const char *tls_ca_file;
    int tls_client_auth;

    // The gateway's hooks; back ends leave them NULL.
    //
    // authenticate replaces x-civic-* identity: it sets call->principal (in
    // txn's arena, the call's) and call->role from the caller's credentials
    // (RT_ROLE_NONE for none) and returns 0, or a status code with a message
    // to refuse the call. txn is a read transaction on the server's store,
    // begun from the context's cached handle (no reader-table lock per call).
    int (*authenticate)(void *state, rt_call *call, rt_txn *txn, char *msg, size_t msglen);
    // forward takes over every call for a method not hosted here.
    void (*forward)(void *state, rt_forward *fw);
    // health answers Check for a service not hosted here: a CheckResponse
    // serving status, or -1 if the name is unknown.
    int (*health)(void *state, const char *service);
    // More services ListServices names (those reachable through forward).
    const char *const *extra_services;
    // metrics appends the service's own metrics (Prometheus text format,
    // each with its # HELP and # TYPE lines) to /metrics. May be NULL. It
    // runs on the admin server's thread while calls go on.
    void (*metrics)(void *state, rt_strbuf *out);
} rt_server_opts;

// rt_server_start listens and begins serving the given services (plus Health
// and Reflection), answering NOT_SERVING until rt_server_set_serving(1).
// Returns 0, or a civic code with the reason in err.
int rt_server_start(rt_server **out, const rt_server_opts *opts, rt_store *store,
                    const rt_service_def *const *services, size_t n_services, void *service_state,
                    char *err, size_t errlen);

// rt_server_set_serving switches Health between SERVING and NOT_SERVING;
// while not serving, every other method answers UNAVAILABLE.
void rt_server_set_serving(rt_server *srv, int serving);

// rt_server_ready returns 1 while the server is serving and not stopping.
int rt_server_ready(rt_server *srv);

// rt_server_metrics appends the server's metrics in Prometheus text format:
// calls by method and code, a latency histogram per method, calls in
// flight, the socket's nng statistics, then the service's own
// (opts.metrics). Safe while calls go on.
void rt_server_metrics(rt_server *srv, rt_strbuf *out);

// rt_server_call runs one serialized civic.rpc.v1.Request (req, len bytes)
// through exactly the path a request arriving on the socket takes (envelope
// checks, authentication, roles, routing, forwarding, flows), as if sent by
// peer ("1.2.3.4:5678", for per-client limits). done is called exactly once
// with the serialized Response — or NULL and 0 when none could be made (out
// of memory, or the server closing) — from any thread, possibly before
// rt_server_call returns; resp is valid only during the call to done. The
// caller must stop calling before rt_server_stop. Returns 0 (done will be
// called), or CIVIC_RESOURCE_EXHAUSTED (over the message size or out of
// memory; done will not be called).
int rt_server_call(rt_server *srv, const void *req, size_t len, const char *peer,
                   void (*done)(void *arg, const void *resp, size_t len), void *arg);

// rt_server_drain stops accepting, answers calls that arrive from now on with
// UNAVAILABLE (rt_server_ready is 0 from here on) and waits (up to 30 s) for
// calls in flight to be answered. The server stays allocated: its state may
// still be read (/readyz, /metrics) until rt_server_stop.
void rt_server_drain(rt_server *srv);

// rt_server_stop drains the server if rt_server_drain has not, then closes
// the socket and frees the server.
void rt_server_stop(rt_server *srv);

// rt_server_check_table verifies every rt_method against the embedded
// descriptor set: the method exists, and it is a read exactly when the
// .proto marks it NO_SIDE_EFFECTS. Returns 0, or -1 with the first mismatch
// in err.
int rt_server_check_table(const rt_service_def *def, char *err, size_t errlen);

// rt_handle_list_events serves every service's ListEvents (whose messages
// have the wire shape of civic.rpc.v1.EventPage and EventList).
int rt_handle_list_events(rt_txn *txn, const void *in, void *out, const rt_call *call);
#define RT_LIST_EVENTS_METHOD(roles)                                                               \
    {"ListEvents", RT_READ, rt_handle_list_events, (roles), &civic__rpc__v1__event_page__descriptor, \
     &civic__rpc__v1__event_list__descriptor}

// rt_page_size turns a request's page_size into a count: 0 gives 50, more
// than 1000 gives 1000, negative is a violation of field.
size_t rt_page_size(rt_txn *txn, int32_t requested, const char *field);

#endif
