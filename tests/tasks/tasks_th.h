// Helpers the tasks tests share: calls as a given identity (open mode:
// x-civic-principal / x-civic-role metadata), the common moves, and the
// store audit run on a stopped server's data directory.
#ifndef TASKS_TH_H
#define TASKS_TH_H

#include "civic/tasks/v1/tasks.pb-c.h"
#include "harness.h"

#define TT "/civic.tasks.v1.TasksService/"
#define TT_DAY_MS (24LL * 3600 * 1000)

typedef Civic__Tasks__V1__Problem tt_problem;

// tt_call makes a call as principal:role (role NULL: no identity, so admin
// in open mode). On OK *resp holds the reply (free it), else NULL. Returns
// the status code; st may be NULL.
int tt_call(civic_channel *ch, const char *principal, const char *role, const char *method,
            const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
            ProtobufCMessage **resp, civic_status *st);

// tt_report reports a problem as an inspector (allow_duplicate set) and
// returns its id; fails the test if the call fails.
uint64_t tt_report(civic_channel *ch, uint64_t point, uint64_t area, uint64_t grid, int category);

// tt_get reads a problem (free with protobuf_c_message_free_unpacked);
// fails the test if it cannot.
tt_problem *tt_get(civic_channel *ch, uint64_t id);

// Moves as a staff or unit caller; each returns the status code.
int tt_assign(civic_channel *ch, uint64_t id, uint64_t unit, int64_t deadline_ms);
int tt_start(civic_channel *ch, uint64_t id, uint64_t unit);
int tt_submit(civic_channel *ch, uint64_t id, uint64_t unit);
int tt_verify(civic_channel *ch, uint64_t id, const char *inspector, civic_status *st);

// tt_now_ms is the wall clock in Unix ms.
int64_t tt_now_ms(void);

// tt_ts sets ts to ms and returns it.
Google__Protobuf__Timestamp *tt_ts(Google__Protobuf__Timestamp *ts, int64_t ms);

// tt_audit opens the store in dir (the server must be stopped) and runs
// tasks_check_indexes on it; fails the test on any disagreement.
void tt_audit(const char *dir);

#endif
