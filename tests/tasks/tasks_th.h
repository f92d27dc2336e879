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
int tt_cancel(civic_channel *ch, uint64_t id); // as an admin

// tt_now_ms is the wall clock in Unix ms.
int64_t tt_now_ms(void);

// tt_ts sets ts to ms and returns it.
Google__Protobuf__Timestamp *tt_ts(Google__Protobuf__Timestamp *ts, int64_t ms);

// tt_audit opens the store in dir (the server must be stopped) and runs
// tasks_check_indexes on it; fails the test on any disagreement.
void tt_audit(const char *dir);

// tt_server_start starts a real civic-tasks in open mode (durable: 0 adds
// --unsafe-no-sync). tt_server_finish stops it with SIGTERM (exit 0
// required), audits its store and removes its directory.
void tt_server_start(th_server *s, int durable);
void tt_server_finish(th_server *s);

// --- the domain's table ("Problems and their rectification"), restated
// here independently of the service's machine.c ---

// The roles the tests act as: an admin, an inspector, the unit a problem is
// assigned to (TT_OWN_UNIT), another unit, a volunteer, a viewer.
enum { TT_R_ADMIN, TT_R_INSPECTOR, TT_R_UNIT_OWN, TT_R_UNIT_OTHER, TT_R_VOLUNTEER, TT_R_VIEWER, TT_N_ROLES };
extern const char *const tt_role_principal[TT_N_ROLES];
extern const char *const tt_role_name[TT_N_ROLES];
#define TT_OWN_UNIT 7

// One problem in each state (and SUBMITTED without a unit: fixed on the spot).
enum { TT_F_REPORTED, TT_F_ASSIGNED, TT_F_IN_PROGRESS, TT_F_SUBMITTED, TT_F_SUBMITTED_NO_UNIT, TT_F_CLOSED,
       TT_F_DUPLICATE, TT_F_INVALID, TT_F_CANCELLED, TT_N_FIXTURES };
extern const char *const tt_fixture_name[TT_N_FIXTURES];

// The moves after the report, as the CLI names them.
enum { TT_A_ASSIGN, TT_A_REASSIGN, TT_A_EXTEND, TT_A_START, TT_A_SUBMIT, TT_A_VERIFY, TT_A_REJECT,
       TT_A_DUPLICATE, TT_A_INVALID, TT_A_CANCEL, TT_N_ACTIONS };
typedef struct tt_move {
    const char *name; // the CLI's verb: `civic problems NAME`
    int action;       // the history entry's ProblemAction
    unsigned roles;   // bits (1 << TT_R_…) that may make it
    unsigned from;    // bits (1 << state) it starts from
    int to;           // the state after; 0: unchanged; -1: REJECT's choice
    int assigned_unit; // only the unit the problem is assigned to
} tt_move;
extern const tt_move tt_moves[TT_N_ACTIONS];

// tt_want is the code move a by role meets on problem p: PERMISSION_DENIED
// (role, or not the assigned unit), FAILED_PRECONDITION (state) or OK.
int tt_want(int a, int role, const tt_problem *p);

// tt_want_state is the state an allowed move a leaves p in.
int tt_want_state(int a, const tt_problem *p);

// tt_report_fixed reports a problem fixed on the spot at point as
// principal:role; *code gets the status, the id is returned (0 on error).
uint64_t tt_report_fixed(civic_channel *ch, uint64_t point, const char *principal, const char *role,
                         int *code);

// tt_fixture makes a problem at point (area 1, grid 4) in fixture f's
// state, marking duplicates against anchor; fails the test if it cannot.
uint64_t tt_fixture(civic_channel *ch, int f, uint64_t point, uint64_t anchor);

// --- lists against brute force ---

// A problem as a list selects and orders it.
typedef struct tt_row {
    uint64_t id, area, grid, point, unit;
    int state, category;
    int64_t deadline; // ms; INT64_MAX: none (sorts last)
} tt_row;

// tt_row_of fills r from p and returns r.
tt_row *tt_row_of(const tt_problem *p, tt_row *r);

// tt_row_cmp orders rows as lists do: by deadline, then id (for qsort).
int tt_row_cmp(const void *x, const void *y);

// A ListProblems request's filters; 0 selects everything.
typedef struct tt_filter {
    int state, category, overdue;
    uint64_t area, grid, point, unit;
    int64_t as_of; // for overdue: running with a deadline before it
} tt_filter;

// tt_brute puts the rows of all[0..n) that f selects into out, in list
// order, and returns how many.
size_t tt_brute(const tt_row *all, size_t n, const tt_filter *f, tt_row *out);

// --- the real CLI ---

// A CLI run against a server: tt_cli runs `civic --addr URL ARGS…` and
// leaves its stdout and stderr in out and err. Returns the exit status.
typedef struct tt_cli {
    const th_server *srv;
    char out[1 << 18], err[8192];
} tt_cli;
int tt_cli_run(tt_cli *c, const char *const *args);
#define TT_CLI(c, ...) tt_cli_run((c), (const char *const[]){__VA_ARGS__, NULL})

// tt_cli_argv fills argv (room for max) with `--addr URL ARGS…` for s, for
// th_cli_start; returns argv.
const char **tt_cli_argv(const th_server *s, const char **argv, size_t max, const char *const *args);

// tt_json_u64 reads the first "field": "N" of c's output; fails if none.
uint64_t tt_json_u64(const tt_cli *c, const char *field);

// tt_expect_state fails unless `civic problems get ID` says state
// ("ASSIGNED", …).
void tt_expect_state(tt_cli *c, uint64_t id, const char *state);

// tt_csv_ids reads the id column (the first) of c's CSV output into ids;
// returns how many rows there were (at most max are kept).
size_t tt_csv_ids(const tt_cli *c, uint64_t *ids, size_t max);

// tt_time formats ms as RFC 3339 UTC ("2026-05-01T10:00:00Z") into buf.
const char *tt_time(char *buf, size_t n, int64_t ms);

#endif
