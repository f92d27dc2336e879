// An audit of the tasks store for tests: every index entry and history
// entry is checked against the problems, brute force, as store.c's header
// describes them. It reads everything, so it is for tests and offline
// checks, never for a live call. Records are unpacked on the heap and freed
// one by one, so a large store does not exhaust the call's arena.
//
// The index check is by counting: every key a problem should have is looked
// up, and each index holds exactly as many entries as all problems should
// give it, so there is no stray entry either (every key ends with its
// problem's id and differs from the problem's other keys).
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tasks.h"

typedef struct audit {
    rt_audit r;    // the transaction, and the first disagreement found
    const tasks_svc *s;
    size_t expect[TASKS_IX_COUNT];
    size_t history;
} audit;

static void
check_entries(audit *a, const tasks_problem *p)
{
    for (int ix = 0; ix < TASKS_IX_COUNT && !rt_audit_failed(&a->r); ix++) {
        rt_key keys[TASKS_KEYS_MAX];
        size_t n = tasks_index_keys((tasks_index) ix, p, keys);
        a->expect[ix] += n;
        for (size_t i = 0; i < n; i++) {
            MDB_val k = {keys[i].len, keys[i].b}, v;
            int rc = mdb_get(a->r.t->txn, a->s->ix[ix], &k, &v);
            if (rc == MDB_NOTFOUND)
                rt_audit_bad(&a->r, "problem %llu (%s) has no entry %zu in %s", (unsigned long long) p->id,
                    tasks_state_name(p->state), i, tasks_index_names[ix]);
            else if (rc != 0)
                rt_txn_mdb(a->r.t, rc, "audit");
        }
    }
}

// check_fields: what the state machine promises of every problem.
static void
check_fields(audit *a, const tasks_problem *p)
{
    unsigned long long id = (unsigned long long) p->id;
    if (p->state <= TASKS_STATE(UNSPECIFIED) || p->state > TASKS_STATE(CANCELLED))
        rt_audit_bad(&a->r, "problem %llu has state %d", id, (int) p->state);
    else if (tasks_state_running(p->state) && (p->unit_id == 0 || p->deadline == NULL))
        rt_audit_bad(&a->r, "problem %llu is %s without a unit or deadline", id, tasks_state_name(p->state));
    else if (p->state == TASKS_STATE(DUPLICATE) && p->duplicate_of == 0)
        rt_audit_bad(&a->r, "problem %llu is DUPLICATE of nothing", id);
    else if (p->history_count == 0)
        rt_audit_bad(&a->r, "problem %llu has no history", id);
    else if (tasks_state_open(p->state) == (p->close_time != NULL))
        rt_audit_bad(&a->r, "problem %llu is %s with%s a close time", id, tasks_state_name(p->state),
            p->close_time ? "" : "out");
}

// check_history: entries 1..history_count, each chained to the last, the
// last ending where the problem stands.
static void
check_history(audit *a, const tasks_problem *p)
{
    int state = TASKS_STATE(UNSPECIFIED);
    a->history += p->history_count;
    for (uint64_t seq = 1; seq <= p->history_count && !rt_audit_failed(&a->r); seq++) {
        rt_key k;
        tasks_key_history(&k, p->id, seq);
        MDB_val kv = {k.len, k.b}, v;
        int rc = mdb_get(a->r.t->txn, a->s->history, &kv, &v);
        if (rc != 0) {
            if (rc == MDB_NOTFOUND)
                rt_audit_bad(&a->r, "problem %llu lacks history entry %llu", (unsigned long long) p->id,
                    (unsigned long long) seq);
            else
                rt_txn_mdb(a->r.t, rc, "audit");
            return;
        }
        tasks_entry *e = civic__tasks__v1__history_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (e == NULL) {
            rt_audit_bad(&a->r, "history entry %llu of problem %llu does not decode", (unsigned long long) seq,
                (unsigned long long) p->id);
            return;
        }
        if (e->problem_id != p->id || e->seq != seq)
            rt_audit_bad(&a->r, "history entry (%llu, %llu) says (%llu, %llu)", (unsigned long long) p->id,
                (unsigned long long) seq, (unsigned long long) e->problem_id,
                (unsigned long long) e->seq);
        else if ((int) e->from_state != state)
            rt_audit_bad(&a->r, "history entry %llu of problem %llu starts from %s, not %s",
                (unsigned long long) seq, (unsigned long long) p->id,
                tasks_state_name(e->from_state), tasks_state_name(state));
        else if (e->actor == NULL || e->actor[0] == '\0' || e->time == NULL)
            rt_audit_bad(&a->r, "history entry %llu of problem %llu has no actor or time",
                (unsigned long long) seq, (unsigned long long) p->id);
        state = e->to_state;
        civic__tasks__v1__history_entry__free_unpacked(e, NULL);
    }
    if (!rt_audit_failed(&a->r) && state != (int) p->state)
        rt_audit_bad(&a->r, "problem %llu is %s but its history ends in %s", (unsigned long long) p->id,
            tasks_state_name(p->state), tasks_state_name(state));
}

static size_t
entries(audit *a, MDB_dbi db)
{
    MDB_stat st;
    int rc = mdb_stat(a->r.t->txn, db, &st);
    if (rc != 0)
        rt_txn_mdb(a->r.t, rc, "audit");
    return rc == 0 ? st.ms_entries : 0;
}

int
tasks_check_indexes(rt_txn *t, const tasks_svc *s, char *err, size_t n)
{
    audit a = {.r = {.t = t, .err = err, .n = n}, .s = s};
    MDB_cursor *c;
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, s->problems, &c), "audit"))
        return rt_txn_status(t);
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && !rt_audit_failed(&a.r); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        tasks_problem *p = civic__tasks__v1__problem__unpack(NULL, v.mv_size, v.mv_data);
        if (p == NULL) {
            rt_audit_bad(&a.r, "a problem record does not decode");
            break;
        }
        if (k.mv_size != 8 || rt_be64_get(k.mv_data) != p->id)
            rt_audit_bad(&a.r, "problem %llu is stored under another key", (unsigned long long) p->id);
        check_fields(&a, p);
        check_entries(&a, p);
        check_history(&a, p);
        civic__tasks__v1__problem__free_unpacked(p, NULL);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(t, rc, "audit");
    mdb_cursor_close(c);
    for (int ix = 0; ix < TASKS_IX_COUNT && !rt_audit_failed(&a.r); ix++) {
        size_t have = entries(&a, s->ix[ix]);
        if (have != a.expect[ix])
            rt_audit_bad(&a.r, "%s holds %zu entries; the problems give %zu", tasks_index_names[ix], have,
                a.expect[ix]);
    }
    if (!rt_audit_failed(&a.r) && entries(&a, s->history) != a.history)
        rt_audit_bad(&a.r, "history holds %zu entries; the problems count %zu", entries(&a, s->history),
            a.history);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    return a.r.bad ? -1 : 0;
}
