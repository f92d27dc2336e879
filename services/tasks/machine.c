// The state machine of a problem: the domain's transition table as data,
// and the one place every move is checked (tasks_begin) and recorded
// (tasks_commit). Both run inside the write's own transaction, so a check
// and the change it allows are atomic: of two verifiers closing the same
// problem, the second finds it CLOSED.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"

#define ADMIN RT_ROLE_BIT(RT_ROLE_ADMIN)
#define INSPECTOR RT_ROLE_BIT(RT_ROLE_INSPECTOR)
#define UNIT RT_ROLE_BIT(RT_ROLE_UNIT)
#define VOLUNTEER RT_ROLE_BIT(RT_ROLE_VOLUNTEER)
#define F(s) TASKS_FROM(TASKS_STATE(s))
#define OPEN (F(REPORTED) | F(ASSIGNED) | F(IN_PROGRESS) | F(SUBMITTED))

// The domain's table ("Problems and their rectification"), row by row.
// REJECT's state after depends on the problem (IN_PROGRESS, or REPORTED if
// it never had a unit): its handler says which.
const tasks_move tasks_moves[] = {
    {TASKS_ACTION(REPORT), "problem.reported", 1u, TASKS_STATE(REPORTED),
     ADMIN | INSPECTOR | VOLUNTEER, 0},
    {TASKS_ACTION(REPORT_FIXED), "problem.reported", 1u, TASKS_STATE(SUBMITTED), ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(ASSIGN), "problem.assigned", F(REPORTED), TASKS_STATE(ASSIGNED), ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(REASSIGN), "problem.reassigned", F(ASSIGNED) | F(IN_PROGRESS), TASKS_STATE(ASSIGNED),
     ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(EXTEND), "problem.deadline_extended", F(ASSIGNED) | F(IN_PROGRESS), 0,
     ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(START), "problem.started", F(ASSIGNED), TASKS_STATE(IN_PROGRESS), UNIT, 1},
    {TASKS_ACTION(SUBMIT), "problem.submitted", F(IN_PROGRESS), TASKS_STATE(SUBMITTED), UNIT, 1},
    {TASKS_ACTION(VERIFY), "problem.closed", F(SUBMITTED), TASKS_STATE(CLOSED), ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(REJECT), "problem.rejected", F(SUBMITTED), TASKS_STATE(IN_PROGRESS),
     ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(MARK_DUPLICATE), "problem.marked_duplicate", F(REPORTED) | F(ASSIGNED),
     TASKS_STATE(DUPLICATE), ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(MARK_INVALID), "problem.marked_invalid", F(REPORTED) | F(ASSIGNED),
     TASKS_STATE(INVALID), ADMIN | INSPECTOR, 0},
    {TASKS_ACTION(CANCEL), "problem.cancelled", OPEN, TASKS_STATE(CANCELLED), ADMIN, 0},
};
const size_t tasks_n_moves = sizeof tasks_moves / sizeof tasks_moves[0];

const char *
tasks_state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&civic__tasks__v1__problem_state__descriptor, state);
    return v ? v->name + strlen("PROBLEM_STATE_") : "?";
}

const tasks_move *
tasks_move_find(tasks_action action)
{
    for (size_t i = 0; i < tasks_n_moves; i++)
        if (tasks_moves[i].action == action)
            return &tasks_moves[i];
    return NULL;
}

uint64_t
tasks_unit_principal(const char *principal)
{
    if (principal == NULL || principal[0] < '1' || principal[0] > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(principal, &end, 10);
    return errno == 0 && *end == '\0' ? (uint64_t) v : 0;
}

static const char *
action_name(tasks_action a)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&civic__tasks__v1__problem_action__descriptor, (int) a);
    return v ? v->name + strlen("PROBLEM_ACTION_") : "?";
}

tasks_problem *
tasks_begin(rt_txn *t, const rt_call *call, uint64_t id, const char *field, tasks_action action,
            tasks_problem **old)
{
    const tasks_move *m = tasks_move_find(action);
    *old = NULL;
    if (m == NULL) {
        rt_txn_fail(t, CIVIC_INTERNAL, "no transition %d", (int) action);
        return NULL;
    }
    if (rt_txn_status(t))
        return NULL;
    if (!(m->roles & RT_ROLE_BIT(call->role))) {
        rt_txn_fail(t, CIVIC_PERMISSION_DENIED, "role %s may not %s a problem",
                    rt_role_name(call->role), action_name(action));
        return NULL;
    }
    tasks_problem *p = tasks_problem_get(t, call->service, id, field);
    if (p == NULL)
        return NULL;
    // A unit may see every problem but acts only on its own: the check comes
    // before the state's, so it learns nothing more of another's problem.
    if (m->assigned_unit) {
        uint64_t unit = tasks_unit_principal(call->principal);
        if (unit == 0 || p->unit_id != unit) {
            rt_txn_fail(t, CIVIC_PERMISSION_DENIED, "problem %llu is not assigned to unit %s",
                        (unsigned long long) p->id, call->principal);
            return NULL;
        }
    }
    if (!(m->from & TASKS_FROM(p->state))) {
        rt_txn_fail(t, CIVIC_FAILED_PRECONDITION, "problem %llu is %s: %s is not possible",
                    (unsigned long long) p->id, tasks_state_name(p->state), action_name(action));
        return NULL;
    }
    tasks_problem *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return NULL;
    *n = *p;
    *old = p;
    return n;
}

void
tasks_commit(rt_txn *t, const rt_call *call, tasks_problem *n, const tasks_problem *old,
             tasks_action action, int to, tasks_entry *e)
{
    const tasks_move *m = tasks_move_find(action);
    if (rt_txn_status(t))
        return;
    if (m == NULL) {
        rt_txn_fail(t, CIVIC_INTERNAL, "no transition %d", (int) action);
        return;
    }
    const tasks_svc *s = call->service;
    int from = old ? old->state : TASKS_STATE(UNSPECIFIED);
    n->state = to ? to : m->to ? m->to : from;
    n->update_time = rt_ts_new(t, tasks_now(call));
    if (old == NULL)
        n->report_time = n->update_time;
    if (!tasks_state_open(n->state))
        n->close_time = n->update_time;
    n->history_count = (old ? old->history_count : 0) + 1;

    e->problem_id = n->id;
    e->seq = n->history_count;
    e->action = action;
    e->from_state = from;
    e->to_state = n->state;
    e->actor = rt_strdup(t, call->principal);
    e->actor_role = rt_strdup(t, rt_role_name(call->role));
    e->time = n->update_time;
    e->unit_id = n->unit_id;
    e->deadline = n->deadline;
    e->duplicate_of = n->duplicate_of;
    tasks_history_put(t, s, e);
    tasks_problem_put(t, s, n, old);
    rt_event(t, m->event, n->id, &n->base);
}
