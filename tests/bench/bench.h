// What a civic-bench mode is: a method, whether it writes, fixtures made
// through the public API before the run, and the request for call number n.
// Each service's modes are a table in bench_<service>.c; bench_modes.c lists
// the tables.
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "civic_client.h"

typedef struct bench_mode {
    const char *name;   // the --mode value
    const char *method; // full method name
    int write;          // sent with an idempotency key, not retried without one
    // setup makes fixtures on ch and returns them in *ctx (may be NULL).
    int (*setup)(civic_channel *ch, void **ctx);
    // payload writes the serialized request for call number n into buf
    // (cap bytes) and returns its length. Called from many threads; ctx is
    // NULL when only the size is wanted (use placeholder ids then).
    size_t (*payload)(void *ctx, uint64_t n, uint8_t *buf, size_t cap);
} bench_mode;

// Each table ends with an entry whose name is NULL.
extern const bench_mode bench_points_modes[];
extern const bench_mode bench_tasks_modes[];
extern const bench_mode bench_volunteers_modes[];
extern const bench_mode *const bench_mode_tables[];

// bench_call makes one synchronous call for fixtures; returns the status
// code and prints the status on failure. *resp is freed by the caller.
int bench_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp);

#endif
