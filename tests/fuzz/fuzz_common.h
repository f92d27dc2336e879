// What the fuzz targets share: every message descriptor of the generated
// code, in-process servers of the three back ends on real stores in a
// temporary directory, and one call to them.
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_arena.h"

// Every message descriptor protoc-c generated (fuzz_descriptors.c).
extern const ProtobufCMessageDescriptor *const fuzz_descriptors[];
extern const size_t fuzz_n_descriptors;

// The back ends, each a real rt_server (open mode: identity from
// x-civic-role metadata) with its real handlers on an rt_store in a
// temporary directory, listening on inproc://.
enum { FZ_POINTS, FZ_TASKS, FZ_VOLUNTEERS, FZ_N_SERVICES };

// fz_service_desc gives a back end's protobuf service.
const ProtobufCServiceDescriptor *fz_service_desc(int svc);

// fz_start starts all three back ends (each on a fresh store); fz_stop stops
// them and removes their stores. fz_reset is fz_stop then fz_start.
void fz_start(void);
void fz_stop(void);
void fz_reset(void);

// fz_call sends one whole request message (an envelope's bytes, or any
// bytes) to a back end and waits for its reply. Returns the reply's length
// with *reply (malloc'd, the caller frees) set, or -1 when no reply came
// within 20 s: the server dropped the call or hung, a finding.
long fz_call(int svc, const void *msg, size_t len, uint8_t **reply);

// fz_envelope packs a Request for method midx (modulo the count) of a back
// end's service, with the identity of role (open mode: x-civic-principal and
// x-civic-role; RT_ROLE_NONE sends an empty role), a request-id, an
// idempotency-key when flags & 1, a 1 ms timeout when flags & 2, and payload.
// Returns its length with *out malloc'd; *out_desc gets the method's output.
size_t fz_envelope(int svc, unsigned midx, int role, unsigned flags, const uint8_t *payload,
                   size_t n, uint8_t **out, const ProtobufCMessageDescriptor **out_desc);

// fz_check_reply aborts unless reply is a Response whose status, if OK,
// carries a payload that decodes as out (out may be NULL: not checked).
void fz_check_reply(const uint8_t *reply, size_t len, const ProtobufCMessageDescriptor *out);

// fz_fill sets every field of m (initialised, of desc) to a plausible value,
// nested messages down to depth, in the arena: a real message for seeds.
void fz_fill(const ProtobufCMessageDescriptor *desc, void *m, rt_arena *a, int depth, unsigned salt);

// fz_die prints why and aborts (a finding libFuzzer records).
void fz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
