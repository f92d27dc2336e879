// The envelope's rules, apart from the sockets: the reply's wire form, the
// deadline a request sets, its metadata limits, and which errors a retry of
// the same request would get again. See "Wire protocol" in
// ../shared/design/architecture.md.
#ifndef RT_ENVELOPE_H
#define RT_ENVELOPE_H

#include <nng/nng.h>
#include <stdint.h>

#include "civic/rpc/v1/rpc.pb-c.h"
#include "rt_arena.h"
#include "rt_store.h"

#define RT_METADATA_MAX 8192         // bytes of metadata keys and values
#define RT_TIMEOUT_DEFAULT_MS 10000  // a request's timeout_ms of 0
#define RT_TIMEOUT_MAX_MS 300000     // the longest a request may ask for

// rt_deadline_ms is the deadline of a request received at start_ms asking
// for timeout_ms: 0 is the default, longer than the cap is the cap.
int64_t rt_deadline_ms(int64_t start_ms, uint32_t timeout_ms);

// rt_check_metadata records a violation of "metadata" on t for an upper-case
// key or for keys and values over RT_METADATA_MAX bytes; returns t->code.
int rt_check_metadata(rt_txn *t, const Civic__Rpc__V1__Request *req);

// rt_code_deterministic tells the errors an idempotency record keeps: those
// a retry of the same request would get again. Transient ones are not.
int rt_code_deterministic(int code);

// A Response is call_id (field 1, left out when 0) then a body: the status
// (field 2) or the payload (field 3). The body stands apart so that an
// idempotent write can store it and replay it under a new call_id.

// rt_reply_msg makes a Response message from call_id and a packed body.
nng_msg *rt_reply_msg(uint64_t call_id, const void *body, size_t len);
// rt_reply_ok_msg makes an OK Response with out packed straight into it.
nng_msg *rt_reply_ok_msg(uint64_t call_id, const ProtobufCMessage *out);
// rt_body_ok packs out as the payload field into the arena; NULL when the
// arena is spent.
uint8_t *rt_body_ok(rt_arena *a, const ProtobufCMessage *out, size_t *len);
// rt_body_status packs a Status field with t's violations (t may be NULL).
// It uses the heap (free it), not the arena, so that it works when the
// arena is what ran out.
uint8_t *rt_body_status(int code, const char *message, const rt_txn *t, size_t *len);

#endif
