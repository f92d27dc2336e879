// civic_client: the C client library. A channel is one nng req0 socket dialed
// to one address; any number of calls may be in flight on it at once, each on
// its own nng context. Calls carry a deadline and metadata, and are retried by
// the design's policy: only UNAVAILABLE, at most max_attempts attempts with
// jittered exponential backoff (100 ms doubling to 1 s), reads freely, writes
// only with an idempotency key. nng's own re-send is off, so a write is never
// sent twice behind the caller's back.
#ifndef CIVIC_CLIENT_H
#define CIVIC_CLIENT_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "civic_sign.h"
#include "civic_status.h"

#define CIVIC_MAX_MSG_DEFAULT (4u << 20)
#define CIVIC_VIOLATIONS_MAX 16

// civic_status is the outcome of a call as the caller sees it.
typedef struct civic_status {
    int code; // civic_code
    char message[512];
    size_t n_violations;
    struct {
        char field[128];
        char description[256];
    } violations[CIVIC_VIOLATIONS_MAX];
} civic_status;

// civic_status_set sets code and a formatted message, clearing violations.
// Returns code.
int civic_status_set(civic_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct civic_channel civic_channel;

typedef struct civic_channel_opts {
    size_t max_msg;          // largest message sent or received; default 4 MiB
    int max_attempts;        // attempts for a retryable call; default 5, 1 = none
    const char *token;       // bearer token sent as "authorization", or NULL
    const civic_key *key;    // sign identity with this key (direct calls to a
                             // back end by operators), or NULL
    const char *principal;   // identity to sign, with key
    const char *role;        // role to sign, with key
    int wait_connect_ms;     // how long open waits for a first connection;
                             // default 2000; the dialer keeps trying after
    int lazy;                // do not wait at all: open succeeds unconnected
                             // and calls fail UNAVAILABLE until connected
    int lanes;               // sockets (connections) to spread calls over, so
                             // many calls in flight do not queue on one
                             // socket's lock; default 1, at most 8
    // For a tls+tcp:// address: the CA the server's certificate must chain
    // to (required), this client's certificate and key (PEM, one file) when
    // the server asks for one, and the name to check the server's
    // certificate for when it is not the address's host.
    const char *tls_ca_file;
    const char *tls_cert_key_file;
    const char *tls_server_name;
} civic_channel_opts;

// civic_channel_open dials url ("tcp://127.0.0.1:7001", "ipc:///…"). It
// waits up to wait_connect_ms for a first connection and fails with
// UNAVAILABLE if none came; later calls find the dialer reconnecting on its
// own. opts may be NULL; the channel keeps copies of the strings and the
// key it points to. On success *out owns the channel; close it with
// civic_channel_close.
int civic_channel_open(civic_channel **out, const char *url, const civic_channel_opts *opts,
                       civic_status *st);

// civic_channel_close ends every call still in flight (their callbacks run
// with CANCELLED) and frees the channel. NULL does nothing. Never from a
// call's done function on the same channel: it waits for those to return.
void civic_channel_close(civic_channel *ch);

// civic_channel_connected returns how many connections the channel has now.
int civic_channel_connected(civic_channel *ch);

typedef struct civic_call_opts {
    uint32_t timeout_ms;         // deadline from now; 0 means 10 s
    int read;                    // the method has no side effects: retry freely
    const char *idempotency_key; // makes a write retryable; NULL for none
    const char *request_id;      // for logs and tracing; NULL for none
    const char *const *metadata; // extra key, value pairs; n_metadata pairs
    size_t n_metadata;
    uint32_t wire_timeout_ms;    // test hook: timeout_ms to put on the wire
                                 // instead of the real one, when nonzero
} civic_call_opts;

// civic_reply is what a finished call hands back: the status and, when OK,
// the response payload (owned by the library; valid only during the
// callback, or until civic_reply_fini for a synchronous call).
typedef struct civic_reply {
    civic_status status;
    const uint8_t *payload;
    size_t len;
    int attempts;
    void *msg_; // internal
} civic_reply;

typedef void (*civic_done_fn)(const civic_reply *reply, void *arg);

// civic_call_start begins a call with a serialized request. done runs once,
// on an nng thread (never inside this function), when the call ends; it must
// not block. Returns 0, or a code (with st set) if the call could not start,
// in which case done never runs.
int civic_call_start(civic_channel *ch, const char *method, const void *payload, size_t len,
                     const civic_call_opts *opts, civic_done_fn done, void *arg,
                     civic_status *st);

// civic_call_raw makes a call and waits for it. On return reply holds the
// outcome; release it with civic_reply_fini. Returns reply->status.code.
int civic_call_raw(civic_channel *ch, const char *method, const void *payload, size_t len,
                   const civic_call_opts *opts, civic_reply *reply);

// civic_reply_fini releases a synchronous call's reply.
void civic_reply_fini(civic_reply *reply);

// civic_call makes a call with protobuf-c messages: req is packed, and on OK
// *resp is unpacked with resp_desc (free it with
// protobuf_c_message_free_unpacked). Returns the status code; st gets the
// message and violations.
int civic_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
               const civic_call_opts *opts, civic_status *st);

// civic_status_from_nng maps an nng error to a status code: timeouts to
// DEADLINE_EXCEEDED, lost or refused connections to UNAVAILABLE.
int civic_status_from_nng(int rv);

// civic_response_code reads the status code of a serialized Response
// without decoding it (0 when it has no status), or -1 if it is malformed.
int civic_response_code(const void *buf, size_t len);

// civic_call_forward sends env, an already serialized Request (the gateway
// forwarding a call), and hands the raw reply to done: done gets the reply
// message (an nng_msg *, owned by done) or NULL with a status code. No
// retries. deadline_ms is on civic_now_ms's clock. Returns 0, or a code if
// the call could not start (env is then still the caller's).
typedef void (*civic_forward_fn)(void *reply_msg, int code, const char *why, void *arg);
int civic_call_forward(civic_channel *ch, void *env, int64_t deadline_ms, civic_forward_fn done,
                       void *arg);

// civic_channel_reset closes the channel's connections, so its dialer makes
// new ones: for a connection that no longer answers.
void civic_channel_reset(civic_channel *ch);

// civic_nng_close_bounded closes sock, waiting at most ms. nng 1.5.2's
// nng_close can deadlock in its reaper (nanomsg/nng#1543, fixed in later
// releases), so the close runs on a thread of its own. Returns 0 once
// closed, or -1 when it timed out: the socket is then abandoned to that
// thread, and whatever its contexts and aios use must be left allocated.
int civic_nng_close_bounded(nng_socket sock, int ms);

// civic_now_ms returns a monotonic clock in milliseconds.
int64_t civic_now_ms(void);

// civic_wall_ms returns the time of day: Unix milliseconds.
int64_t civic_wall_ms(void);

#endif
