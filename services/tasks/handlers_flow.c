// Handlers for every move after the report: assign, reassign, extend, start,
// submit, verify, reject, mark duplicate, mark invalid, cancel. Each checks
// its fields, then asks tasks_begin for the problem (role, assigned unit and
// state checked there), changes what the move changes and hands it to
// tasks_commit (history, indexes, event). Bad fields are INVALID_ARGUMENT
// before anything is read.
#include <string.h>

#include "tasks.h"

// A deadline is at most a year out: further is more likely a typo.
#define DEADLINE_MAX_MS (366LL * 24 * 3600 * 1000)
// A demo problem (flagged demo when reported) may be assigned a deadline up
// to a week in the past, so that the demo campaign shows overdue problems
// from its first day; every other deadline must be in the future.
#define DEMO_PAST_MS (7LL * 24 * 3600 * 1000)

// check_deadline checks ts against now_ms; past_ok_ms lets it be that far
// in the past (0: it must be in the future).
static void
check_deadline(rt_txn *t, const Google__Protobuf__Timestamp *ts, int64_t now_ms, int64_t past_ok_ms)
{
    if (ts == NULL) {
        rt_txn_violation(t, "deadline", "is required");
        return;
    }
    if (!rt_check_ts(t, "deadline", ts))
        return;
    int64_t ms = rt_ts_ms(ts, 0);
    if (ms <= now_ms - past_ok_ms)
        rt_txn_violation(t, "deadline", "must be in the future");
    else if (ms > now_ms + DEADLINE_MAX_MS)
        rt_txn_violation(t, "deadline", "must be at most 366 days ahead");
}

static void
check_unit(rt_txn *t, uint64_t unit_id)
{
    if (unit_id == 0)
        rt_txn_violation(t, "unit_id", "is required");
}

static tasks_entry *
entry_new(rt_txn *t, const char *note)
{
    tasks_entry *e = rt_alloc(t, sizeof *e);
    if (e == NULL)
        return NULL;
    civic__tasks__v1__history_entry__init(e);
    e->note = (char *) (uintptr_t) (note ? note : "");
    return e;
}

// finish commits move a on n with note and returns n, or NULL on error.
static tasks_problem *
finish(rt_txn *t, const rt_call *call, tasks_problem *n, const tasks_problem *old, tasks_action a,
       int to, const char *note)
{
    tasks_entry *e = entry_new(t, note);
    if (e == NULL || rt_txn_status(t))
        return NULL;
    tasks_commit(t, call, n, old, a, to, e);
    return rt_txn_status(t) ? NULL : n;
}

int
handle_assign_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__AssignProblemRequest *in = vin;
    Civic__Tasks__V1__AssignProblemResponse *out = vout;
    int64_t now = tasks_now(call);
    check_unit(t, in->unit_id);
    rt_check_str(t, "note", in->note, TASKS_TEXT_MAX, 0);
    // A deadline in the past is a bad field unless the problem is a demo
    // one: known once the problem is read — or now, when the request is
    // refused for its other fields anyway (every bad field is named).
    check_deadline(t, in->deadline, now, rt_txn_status(t) ? 0 : DEMO_PAST_MS);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(ASSIGN), &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (!old->demo)
        check_deadline(t, in->deadline, now, 0);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    n->unit_id = in->unit_id;
    n->deadline = in->deadline;
    out->problem = finish(t, call, n, old, TASKS_ACTION(ASSIGN), 0, in->note);
    return rt_txn_status(t);
}

int
handle_reassign_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ReassignProblemRequest *in = vin;
    Civic__Tasks__V1__ReassignProblemResponse *out = vout;
    check_unit(t, in->unit_id);
    check_deadline(t, in->deadline, tasks_now(call), 0);
    rt_check_str(t, "reason", in->reason, TASKS_TEXT_MAX, 1);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(REASSIGN), &old);
    if (n == NULL)
        return rt_txn_status(t);
    n->unit_id = in->unit_id;
    n->deadline = in->deadline;
    out->problem = finish(t, call, n, old, TASKS_ACTION(REASSIGN), 0, in->reason);
    return rt_txn_status(t);
}

int
handle_extend_problem_deadline(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ExtendProblemDeadlineRequest *in = vin;
    Civic__Tasks__V1__ExtendProblemDeadlineResponse *out = vout;
    check_deadline(t, in->deadline, tasks_now(call), 0);
    rt_check_str(t, "reason", in->reason, TASKS_TEXT_MAX, 1);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(EXTEND), &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (rt_ts_ms(in->deadline, 0) <= tasks_deadline_ms(old))
        return rt_txn_violation(t, "deadline", "must be later than the current deadline");
    n->deadline = in->deadline;
    out->problem = finish(t, call, n, old, TASKS_ACTION(EXTEND), 0, in->reason);
    return rt_txn_status(t);
}

int
handle_start_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__StartProblemRequest *in = vin;
    Civic__Tasks__V1__StartProblemResponse *out = vout;
    rt_check_str(t, "note", in->note, TASKS_TEXT_MAX, 0);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(START), &old);
    if (n != NULL)
        out->problem = finish(t, call, n, old, TASKS_ACTION(START), 0, in->note);
    return rt_txn_status(t);
}

int
handle_submit_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__SubmitProblemRequest *in = vin;
    Civic__Tasks__V1__SubmitProblemResponse *out = vout;
    rt_check_str(t, "note", in->note, TASKS_TEXT_MAX, 1);
    tasks_check_photos(t, "after_photos", in->after_photos, in->n_after_photos, 1, TASKS_PHOTOS_MAX);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(SUBMIT), &old);
    if (n == NULL)
        return rt_txn_status(t);
    n->after_photos = in->after_photos;
    n->n_after_photos = in->n_after_photos;
    tasks_entry *e = entry_new(t, in->note);
    if (e == NULL)
        return rt_txn_status(t);
    e->photos = in->after_photos;
    e->n_photos = in->n_after_photos;
    tasks_commit(t, call, n, old, TASKS_ACTION(SUBMIT), 0, e);
    out->problem = rt_txn_status(t) ? NULL : n;
    return rt_txn_status(t);
}

int
handle_verify_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__VerifyProblemRequest *in = vin;
    Civic__Tasks__V1__VerifyProblemResponse *out = vout;
    rt_check_str(t, "note", in->note, TASKS_TEXT_MAX, 0);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(VERIFY), &old);
    if (n != NULL)
        out->problem = finish(t, call, n, old, TASKS_ACTION(VERIFY), 0, in->note);
    return rt_txn_status(t);
}

int
handle_reject_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__RejectProblemRequest *in = vin;
    Civic__Tasks__V1__RejectProblemResponse *out = vout;
    rt_check_str(t, "reason", in->reason, TASKS_TEXT_MAX, 1);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(REJECT), &old);
    if (n == NULL)
        return rt_txn_status(t);
    // Rework (返工): back to the unit, or to REPORTED when no unit ever had
    // it (a report fixed on the spot), to be assigned.
    n->rework_count = old->rework_count + 1;
    int to = old->unit_id ? TASKS_STATE(IN_PROGRESS) : TASKS_STATE(REPORTED);
    out->problem = finish(t, call, n, old, TASKS_ACTION(REJECT), to, in->reason);
    return rt_txn_status(t);
}

int
handle_mark_problem_duplicate(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__MarkProblemDuplicateRequest *in = vin;
    Civic__Tasks__V1__MarkProblemDuplicateResponse *out = vout;
    if (in->duplicate_of == 0)
        rt_txn_violation(t, "duplicate_of", "is required");
    else if (in->duplicate_of == in->id)
        rt_txn_violation(t, "duplicate_of", "names the problem itself");
    rt_check_str(t, "note", in->note, TASKS_TEXT_MAX, 0);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(MARK_DUPLICATE), &old);
    if (n == NULL)
        return rt_txn_status(t);
    // Link to the original: a duplicate of a duplicate points past it, so
    // links never chain.
    tasks_problem *orig = tasks_problem_get(t, call->service, in->duplicate_of, "duplicate_of");
    if (orig != NULL && orig->state == TASKS_STATE(DUPLICATE))
        orig = tasks_problem_get(t, call->service, orig->duplicate_of, NULL);
    if (orig == NULL)
        return rt_txn_status(t);
    if (orig->id == n->id)
        return rt_txn_violation(t, "duplicate_of", "is a duplicate of the problem itself");
    n->duplicate_of = orig->id;
    out->problem = finish(t, call, n, old, TASKS_ACTION(MARK_DUPLICATE), 0, in->note);
    return rt_txn_status(t);
}

int
handle_mark_problem_invalid(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__MarkProblemInvalidRequest *in = vin;
    Civic__Tasks__V1__MarkProblemInvalidResponse *out = vout;
    rt_check_str(t, "reason", in->reason, TASKS_TEXT_MAX, 1);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(MARK_INVALID), &old);
    if (n != NULL)
        out->problem = finish(t, call, n, old, TASKS_ACTION(MARK_INVALID), 0, in->reason);
    return rt_txn_status(t);
}

int
handle_cancel_problem(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__CancelProblemRequest *in = vin;
    Civic__Tasks__V1__CancelProblemResponse *out = vout;
    rt_check_str(t, "reason", in->reason, TASKS_TEXT_MAX, 1);
    tasks_problem *old, *n = tasks_begin(t, call, in->id, "id", TASKS_ACTION(CANCEL), &old);
    if (n != NULL)
        out->problem = finish(t, call, n, old, TASKS_ACTION(CANCEL), 0, in->reason);
    return rt_txn_status(t);
}
