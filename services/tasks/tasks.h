// The tasks service's state and the pieces its files share. Domain:
// ../../../shared/design/domain.md, "Problems and their rectification".
//
//   store.c            key layouts; problems with their index entries; history
//   machine.c          the transition table and the one place every move is
//                      checked and recorded (history, indexes, event)
//   handlers_report.c  ReportProblem, GetProblem
//   handlers_flow.c    every other move: assign … cancel
//   handlers_list.c    ListProblems, ListProblemHistory
//   check.c            an index and history audit for tests
//   demo.c             demo problems through the public API
//   bulk.c             `civic-tasks bulk-load`: synthetic problems for benchmarks
//   service.c          the handler table and the service's state
#ifndef TASKS_H
#define TASKS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "civic/tasks/v1/tasks.pb-c.h"
#include "rt_check.h"
#include "rt_key.h"
#include "rt_main.h"
#include "rt_page.h"

typedef Civic__Tasks__V1__Problem tasks_problem;
typedef Civic__Tasks__V1__HistoryEntry tasks_entry;
typedef Civic__Tasks__V1__ProblemAction tasks_action;

#define TASKS_STATE(s) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##s
#define TASKS_ACTION(a) CIVIC__TASKS__V1__PROBLEM_ACTION__PROBLEM_ACTION_##a
#define TASKS_N_STATES 9 // UNSPECIFIED … CANCELLED

// Open: not yet closed out or set aside. Running: the deadline is running
// (overdue is judged only for these).
static inline int
tasks_state_open(int s)
{
    return s >= TASKS_STATE(REPORTED) && s <= TASKS_STATE(SUBMITTED);
}

static inline int
tasks_state_running(int s)
{
    return s == TASKS_STATE(ASSIGNED) || s == TASKS_STATE(IN_PROGRESS);
}

// tasks_state_name returns "REPORTED", … ("UNSPECIFIED" for 0, "?" if unknown).
const char *tasks_state_name(int state);

// The limits on free text and evidence.
#define TASKS_TEXT_MAX 2000
#define TASKS_PHOTOS_MAX 5


// The secondary indexes of problems, in the order of tasks_dbs after
// "problems" and "history".
typedef enum tasks_index {
    TASKS_IX_DEADLINE,
    TASKS_IX_STATE,
    TASKS_IX_AREA,
    TASKS_IX_GRID,
    TASKS_IX_POINT,
    TASKS_IX_UNIT,
    TASKS_IX_CATEGORY,
    TASKS_IX_RUNNING,
    TASKS_IX_OPEN,
    TASKS_IX_REWORKED,
    TASKS_IX_COUNT
} tasks_index;

extern const char *const tasks_index_names[TASKS_IX_COUNT];

typedef struct tasks_svc {
    rt_store *store;
    int tz_offset_min;
    // TEST ONLY (--test-clock): a call's time is its x-civic-test-now-ms
    // metadata when given; clock_max_ms is the latest time seen, the
    // rollover job's clock.
    int test_clock;
    _Atomic int64_t clock_max_ms;
    // Databases (store.c lists every key layout; counts.c and works.c theirs).
    MDB_dbi problems, history, counts, works, work_log;
    MDB_dbi ix[TASKS_IX_COUNT]; // by tasks_index
} tasks_svc;

extern const rt_service_def tasks_service_def;

// The databases, for the store's options.
extern const char *const tasks_dbs[];

// tasks_init and tasks_fini are the service's rt_app hooks; tasks_open_svc
// fills s for a store opened some other way (tests).
int tasks_init(void **state, rt_store *store, const rt_config *cfg);
void tasks_fini(void *state);
void tasks_open_svc(tasks_svc *s, rt_store *store, int tz_offset_min);

// tasks_test_clock is set by civic-tasks --test-clock (main.c): test only.
extern int tasks_test_clock;
#define TASKS_TEST_NOW_MD "x-civic-test-now-ms"

// --- counts.c: per-day counters, reports, summary, notices ---

// tasks_now is the call's time: call->now_ms, or under --test-clock its
// x-civic-test-now-ms metadata.
int64_t tasks_now(const rt_call *call);
// tasks_today is the rollover job's local day (0 before any call in test mode).
int32_t tasks_today(tasks_svc *s);
// tasks_counts_move moves the per-day counters from old (NULL: new) to p, in
// the write's transaction; tasks_problem_put calls it.
void tasks_counts_move(rt_txn *t, const tasks_svc *s, const tasks_problem *p, const tasks_problem *old);
// tasks_rollover is the writer's periodic job: snapshots past days.
int tasks_rollover(rt_txn *t, void *arg);

// --- works.c ---
typedef void (*tasks_work_fn)(void *arg, const Civic__Tasks__V1__Work *w);
// tasks_works_visit calls fn for every work, derived fields filled as of now.
void tasks_works_visit(rt_txn *t, const tasks_svc *s, int64_t now, tasks_work_fn fn, void *arg);
void tasks_work_derive(Civic__Tasks__V1__Work *w, int64_t now);

// --- store.c: problems, their index entries, history ---

// tasks_deadline_ms is the problem's deadline in Unix ms, or INT64_MAX when
// it has none (so problems without one sort last).
int64_t tasks_deadline_ms(const tasks_problem *p);

// The running index holds each running problem under several dimensions,
// each a tag and an id: every one ('*', 0), its area, grid, point, unit and
// category.
#define TASKS_DIM_ALL '*'
#define TASKS_DIM_AREA 'A'
#define TASKS_DIM_GRID 'G'
#define TASKS_DIM_POINT 'P'
#define TASKS_DIM_UNIT 'U'
#define TASKS_DIM_CATEGORY 'C'
#define TASKS_KEYS_MAX 6

// tasks_index_keys writes the keys problem p has in index ix into out (room
// for TASKS_KEYS_MAX) and returns how many: store.c keeps them, check.c
// audits them.
size_t tasks_index_keys(tasks_index ix, const tasks_problem *p, rt_key *out);

// tasks_key_id and tasks_key_history build record keys.
void tasks_key_id(rt_key *k, uint64_t id);
void tasks_key_history(rt_key *k, uint64_t problem_id, uint64_t seq);

// tasks_problem_get reads a problem into the call's arena. When it does not
// exist it records NOT_FOUND naming field ("id") and returns NULL; with field
// NULL the id came from an index, so a missing record is INTERNAL.
tasks_problem *tasks_problem_get(rt_txn *t, const tasks_svc *s, uint64_t id, const char *field);

// tasks_problem_put stores p with its index entries; old is the stored
// record it replaces (NULL when new), so that entries move with changed
// fields. Only machine.c calls it: every change is a transition.
void tasks_problem_put(rt_txn *t, const tasks_svc *s, const tasks_problem *p,
                       const tasks_problem *old);

// tasks_history_put stores an entry at (problem_id, seq). Entries are never
// changed or removed.
void tasks_history_put(rt_txn *t, const tasks_svc *s, const tasks_entry *e);
tasks_entry *tasks_history_get(rt_txn *t, const tasks_svc *s, uint64_t problem_id, uint64_t seq);

// tasks_open_find returns the oldest open problem of category at point, or 0.
uint64_t tasks_open_find(rt_txn *t, const tasks_svc *s, uint64_t point_id, int category);

// --- machine.c: the transition table ---

// tasks_move is one row of the domain's transition table.
typedef struct tasks_move {
    tasks_action action;
    const char *event;   // the event type it writes: "problem.assigned"
    unsigned from;       // TASKS_FROM() bits of the states it starts from
                         // (bit 0: none — a new problem)
    int to;              // the state after; 0: unchanged
    unsigned roles;      // RT_ROLE_BIT()s that may make it
    int assigned_unit;   // only the unit the problem is assigned to
} tasks_move;

#define TASKS_FROM(s) (1u << (s))

// tasks_move_find returns the row of action, or NULL.
const tasks_move *tasks_move_find(tasks_action action);
extern const tasks_move tasks_moves[];
extern const size_t tasks_n_moves;

// tasks_unit_principal parses a unit caller's principal (the unit's id as
// decimal text). Returns the id, or 0 if it is not one.
uint64_t tasks_unit_principal(const char *principal);

// tasks_begin reads problem id (field names it in NOT_FOUND) for action and
// checks, in this order, that the caller's role may make the move, that a
// unit acts only on a problem assigned to it (PERMISSION_DENIED), and that
// the move starts from the current state (FAILED_PRECONDITION naming it).
// Returns a shallow copy to change (its fields are replaced, never edited in
// place), with *old set to the stored record; NULL on error (recorded).
tasks_problem *tasks_begin(rt_txn *t, const rt_call *call, uint64_t id, const char *field,
                           tasks_action action, tasks_problem **old);

// tasks_commit records move action on n (old: the stored record, or NULL for
// a report): sets the state the table names (unless to is nonzero, which
// overrides it: REJECT's choice), the update time, appends the history entry
// e (the handler fills note, photos; the rest is set here), stores the
// problem with its index entries and writes the event. This is the one
// place a problem changes: part 2's per-day counters hook in here.
void tasks_commit(rt_txn *t, const rt_call *call, tasks_problem *n, const tasks_problem *old,
                  tasks_action action, int to, tasks_entry *e);

// --- checks shared by handlers ---

// tasks_check_photos: between min and max URIs, each rt_check_uri'd, named
// field[i].
int tasks_check_photos(rt_txn *t, const char *field, char *const *uris, size_t n, size_t min,
                       size_t max);

// --- views ---

// Which index a page token belongs to: a token is only good for the list
// (and index) that wrote it.
enum {
    TASKS_PAGE_DEADLINE = 1,
    TASKS_PAGE_STATE,
    TASKS_PAGE_AREA,
    TASKS_PAGE_GRID,
    TASKS_PAGE_POINT,
    TASKS_PAGE_UNIT,
    TASKS_PAGE_CATEGORY,
    TASKS_PAGE_RUNNING,
    TASKS_PAGE_HISTORY,
    TASKS_PAGE_WORKS,
};

// --- check.c ---

// tasks_check_indexes audits the store in t: every index entry names an
// existing problem whose fields give that very key, every problem has all
// its entries, and every problem's history is 1..history_count, unbroken,
// chained from state to state and ending in its current state. Returns 0
// when all agree; -1 with the first disagreement in err; or the
// transaction's civic code if it failed.
int tasks_check_indexes(rt_txn *t, const tasks_svc *s, char *err, size_t n);

// --- handlers ---
int handle_report_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_problems(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_assign_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_reassign_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_extend_problem_deadline(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_start_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_submit_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_verify_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_reject_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_mark_problem_duplicate(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_mark_problem_invalid(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_cancel_problem(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_problem_history(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_daily_report(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_notices(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_summary(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_create_work(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_report_work_progress(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_work(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_works(rt_txn *t, const void *in, void *out, const rt_call *call);

// --- demo.c ---

// tasks_demo_load reports and moves demo problems through the public API at
// url when the store is empty (signing with key, if given). Returns 0, or
// -1 if any call failed (logged).
int tasks_demo_load(const char *url, const civic_key *key);

// tasks_ready is the rt_app hook that loads the demo when --demo is set.
int tasks_ready(void *state, const rt_config *cfg);

// --- bulk.c ---

// tasks_bulk_main is `civic-tasks bulk-load …` (argv[1] is "bulk-load"): the
// offline loader of synthetic problems for benchmarks. Returns the exit code.
int tasks_bulk_main(int argc, char **argv);

#endif
