// The tasks service's key layout. Every index entry is written in the same
// transaction as its problem, by tasks_problem_put, which machine.c alone
// calls, so no handler touches an index and no list scans everything.
//
//   problems      id                                     → Problem
//   history       problem_id, seq                        → HistoryEntry
//   by_deadline   deadline, id                           → ""  every problem
//   by_state      state(u8), deadline, id                → ""  every problem
//   by_area       area_id, deadline, id                  → ""  every problem
//   by_grid       grid_id, deadline, id                  → ""  every problem
//   by_point      point_id, deadline, id                 → ""  every problem
//   by_unit       unit_id, deadline, id                  → ""  problems with a unit
//   by_category   category(u8), deadline, id             → ""  every problem
//   running       tag(u8), dim_id, deadline, id          → ""  ASSIGNED and
//                 IN_PROGRESS problems, six entries each: ('*', 0), ('A', area),
//                 ('G', grid), ('P', point), ('U', unit), ('C', category)
//   open_at       point_id, category(u8), id             → ""  open problems
//                 (REPORTED … SUBMITTED): the duplicate check
//   reworked      unit_id, deadline, id                  → ""  open problems
//                 sent back for rework at least once: the notices
//   counts        per-day counters: counts.c has their layout and math
//   works, work_log  campaign works: works.c
//
// Ids are u64 big-endian; a deadline is its Unix ms as rt_key_i64, and a
// problem without one (not yet assigned) is keyed INT64_MAX, so lists read
// in deadline order with those last. Every index key ends with the
// problem's id, as rt_page requires; history keys end with the entry's seq.
//
// Overdue (ASSIGNED or IN_PROGRESS with deadline < as_of) is a range read of
// running under one dimension, stopped at (tag, dim_id, as_of): its cost is
// the page, never the store.
#include <string.h>

#include "tasks.h"

const char *const tasks_dbs[] = {
    "problems", "history",  "by_deadline", "by_state", "by_area", "by_grid",
    "by_point", "by_unit",  "by_category", "running",  "open_at", "reworked",
    "counts",   "works",    "work_log", NULL,
};

const char *const tasks_index_names[TASKS_IX_COUNT] = {
    "by_deadline", "by_state", "by_area", "by_grid", "by_point",
    "by_unit",     "by_category", "running", "open_at", "reworked",
};

int64_t
tasks_deadline_ms(const tasks_problem *p)
{
    return p->deadline ? rt_ts_ms(p->deadline, 0) : INT64_MAX;
}

void
tasks_key_id(rt_key *k, uint64_t id)
{
    rt_key_init(k);
    rt_key_u64(k, id);
}

void
tasks_key_history(rt_key *k, uint64_t problem_id, uint64_t seq)
{
    rt_key_init(k);
    rt_key_u64(k, problem_id);
    rt_key_u64(k, seq);
}

static void
key_by(rt_key *k, uint64_t head, int head_u8, const tasks_problem *p)
{
    rt_key_init(k);
    if (head_u8) {
        unsigned char b = (unsigned char) head;
        rt_key_bytes(k, &b, 1);
    } else {
        rt_key_u64(k, head);
    }
    rt_key_i64(k, tasks_deadline_ms(p));
    rt_key_u64(k, p->id);
}

static void
key_running(rt_key *k, char tag, uint64_t dim, const tasks_problem *p)
{
    rt_key_init(k);
    rt_key_bytes(k, &tag, 1);
    rt_key_u64(k, dim);
    rt_key_i64(k, tasks_deadline_ms(p));
    rt_key_u64(k, p->id);
}

size_t
tasks_index_keys(tasks_index ix, const tasks_problem *p, rt_key *out)
{
    switch (ix) {
    case TASKS_IX_DEADLINE:
        rt_key_init(&out[0]);
        rt_key_i64(&out[0], tasks_deadline_ms(p));
        rt_key_u64(&out[0], p->id);
        return 1;
    case TASKS_IX_STATE:
        key_by(out, (uint64_t) p->state, 1, p);
        return 1;
    case TASKS_IX_AREA:
        key_by(out, p->area_id, 0, p);
        return 1;
    case TASKS_IX_GRID:
        key_by(out, p->grid_id, 0, p);
        return 1;
    case TASKS_IX_POINT:
        key_by(out, p->point_id, 0, p);
        return 1;
    case TASKS_IX_UNIT:
        if (p->unit_id == 0)
            return 0;
        key_by(out, p->unit_id, 0, p);
        return 1;
    case TASKS_IX_CATEGORY:
        key_by(out, (uint64_t) p->category, 1, p);
        return 1;
    case TASKS_IX_RUNNING:
        if (!tasks_state_running(p->state))
            return 0;
        key_running(&out[0], TASKS_DIM_ALL, 0, p);
        key_running(&out[1], TASKS_DIM_AREA, p->area_id, p);
        key_running(&out[2], TASKS_DIM_GRID, p->grid_id, p);
        key_running(&out[3], TASKS_DIM_POINT, p->point_id, p);
        key_running(&out[4], TASKS_DIM_UNIT, p->unit_id, p);
        key_running(&out[5], TASKS_DIM_CATEGORY, (uint64_t) p->category, p);
        return 6;
    case TASKS_IX_OPEN:
        if (!tasks_state_open(p->state))
            return 0;
        rt_key_init(out);
        rt_key_u64(out, p->point_id);
        rt_key_bytes(out, &(unsigned char){(unsigned char) p->category}, 1);
        rt_key_u64(out, p->id);
        return 1;
    case TASKS_IX_REWORKED:
        if (!tasks_state_open(p->state) || p->rework_count == 0)
            return 0;
        key_by(out, p->unit_id, 0, p);
        return 1;
    case TASKS_IX_COUNT:
        break;
    }
    return 0;
}

tasks_problem *
tasks_problem_get(rt_txn *t, const tasks_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->problems, &civic__tasks__v1__problem__descriptor, "problem", id,
                         field);
}

static int
key_in(const rt_key *k, const rt_key *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i].len == k->len && memcmp(set[i].b, k->b, k->len) == 0)
            return 1;
    return 0;
}

void
tasks_problem_put(rt_txn *t, const tasks_svc *s, const tasks_problem *p, const tasks_problem *old)
{
    rt_key k;
    tasks_key_id(&k, p->id);
    rt_put_msg(t, s->problems, k.b, k.len, &p->base);

    // Each index: remove the old record's entries the new one does not have,
    // add the new one's the old did not have; unchanged entries stay.
    for (int ix = 0; ix < TASKS_IX_COUNT; ix++) {
        rt_key was[TASKS_KEYS_MAX], is[TASKS_KEYS_MAX];
        size_t nw = old ? tasks_index_keys((tasks_index) ix, old, was) : 0;
        size_t ni = tasks_index_keys((tasks_index) ix, p, is);
        for (size_t i = 0; i < nw; i++)
            if (!key_in(&was[i], is, ni))
                rt_del(t, s->ix[ix], was[i].b, was[i].len);
        for (size_t i = 0; i < ni; i++) {
            if (is[i].overflow) {
                rt_txn_fail(t, CIVIC_INTERNAL, "index key over %d bytes", RT_KEY_MAX);
                return;
            }
            if (!key_in(&is[i], was, nw))
                rt_put(t, s->ix[ix], is[i].b, is[i].len, "", 0);
        }
    }
    // The per-(day, area, unit, category) counters move from old to p in
    // this same transaction (counts.c).
    tasks_counts_move(t, s, p, old);
}

void
tasks_history_put(rt_txn *t, const tasks_svc *s, const tasks_entry *e)
{
    rt_key k;
    tasks_key_history(&k, e->problem_id, e->seq);
    rt_put_msg(t, s->history, k.b, k.len, &e->base);
}

tasks_entry *
tasks_history_get(rt_txn *t, const tasks_svc *s, uint64_t problem_id, uint64_t seq)
{
    rt_key k;
    void *rec = NULL;
    tasks_key_history(&k, problem_id, seq);
    int rc = rt_get_msg(t, s->history, k.b, k.len, &civic__tasks__v1__history_entry__descriptor, &rec);
    if (rc == MDB_NOTFOUND)
        rt_txn_fail(t, CIVIC_INTERNAL, "history entry %llu of problem %llu is missing",
                    (unsigned long long) seq, (unsigned long long) problem_id);
    return rc == 0 ? rec : NULL;
}

uint64_t
tasks_open_find(rt_txn *t, const tasks_svc *s, uint64_t point_id, int category)
{
    rt_key prefix;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, point_id);
    rt_key_bytes(&prefix, &(unsigned char){(unsigned char) category}, 1);
    return rt_index_first(t, s->ix[TASKS_IX_OPEN], &prefix);
}
