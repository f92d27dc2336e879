// Handlers for lists: problems by filter, ordered by deadline, and a
// problem's history. Each list reads exactly one index (store.c) in key
// order and filters what it yields by every other field of the request.
#include <string.h>

#include "tasks.h"

typedef struct problem_list {
    const tasks_svc *s;
    const Civic__Tasks__V1__ListProblemsRequest *in;
    Civic__Tasks__V1__ListProblemsResponse *out;
    int64_t as_of;
} problem_list;

static int
visit_problem(rt_txn *t, uint64_t id, void *arg)
{
    problem_list *l = arg;
    const Civic__Tasks__V1__ListProblemsRequest *in = l->in;
    tasks_problem *p = tasks_problem_get(t, l->s, id, NULL);
    if (p == NULL || (in->state != 0 && (int) p->state != (int) in->state) ||
        (in->area_id != 0 && p->area_id != in->area_id) ||
        (in->grid_id != 0 && p->grid_id != in->grid_id) ||
        (in->point_id != 0 && p->point_id != in->point_id) ||
        (in->unit_id != 0 && p->unit_id != in->unit_id) ||
        (in->category != 0 && (int) p->category != (int) in->category) ||
        (in->overdue && !(tasks_state_running(p->state) && tasks_deadline_ms(p) < l->as_of)))
        return 0;
    l->out->problems[l->out->n_problems++] = p;
    return 1;
}

// narrowest picks the running index's dimension for a request: the most
// selective field it sets.
static void
narrowest(const Civic__Tasks__V1__ListProblemsRequest *in, char *tag, uint64_t *id)
{
    if (in->point_id) {
        *tag = TASKS_DIM_POINT, *id = in->point_id;
    } else if (in->grid_id) {
        *tag = TASKS_DIM_GRID, *id = in->grid_id;
    } else if (in->unit_id) {
        *tag = TASKS_DIM_UNIT, *id = in->unit_id;
    } else if (in->area_id) {
        *tag = TASKS_DIM_AREA, *id = in->area_id;
    } else if (in->category) {
        *tag = TASKS_DIM_CATEGORY, *id = (uint64_t) in->category;
    } else {
        *tag = TASKS_DIM_ALL, *id = 0;
    }
}

int
handle_list_problems(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ListProblemsRequest *in = vin;
    Civic__Tasks__V1__ListProblemsResponse *out = vout;
    const tasks_svc *s = call->service;
    rt_check_enum(t, "state", &civic__tasks__v1__problem_state__descriptor, in->state, 0);
    rt_check_enum(t, "category", &civic__tasks__v1__problem_category__descriptor, in->category, 0);
    if (in->as_of != NULL && !in->overdue)
        rt_txn_violation(t, "as_of", "is only for overdue lists: set overdue too");
    rt_check_ts(t, "as_of", in->as_of);
    if (in->overdue && in->state != 0 && !tasks_state_running(in->state))
        rt_txn_violation(t, "state", "overdue problems are ASSIGNED or IN_PROGRESS; %s never is",
                         tasks_state_name(in->state));

    // Exactly one index read. Overdue, or a running state with a narrowing
    // field: the running index under the narrowest field (overdue stops at
    // as_of). Otherwise point's, grid's, unit's, area's, state's or
    // category's index, else every problem by deadline.
    rt_key prefix;
    rt_key_init(&prefix);
    MDB_dbi db = s->ix[TASKS_IX_DEADLINE];
    unsigned tag = TASKS_PAGE_DEADLINE;
    char dim;
    uint64_t dim_id;
    narrowest(in, &dim, &dim_id);
    int running = in->overdue || (tasks_state_running(in->state) && dim != TASKS_DIM_ALL);
    if (running) {
        rt_key_bytes(&prefix, &dim, 1);
        rt_key_u64(&prefix, dim_id);
        db = s->ix[TASKS_IX_RUNNING];
        tag = TASKS_PAGE_RUNNING;
    } else if (in->point_id) {
        rt_key_u64(&prefix, in->point_id);
        db = s->ix[TASKS_IX_POINT];
        tag = TASKS_PAGE_POINT;
    } else if (in->grid_id) {
        rt_key_u64(&prefix, in->grid_id);
        db = s->ix[TASKS_IX_GRID];
        tag = TASKS_PAGE_GRID;
    } else if (in->unit_id) {
        rt_key_u64(&prefix, in->unit_id);
        db = s->ix[TASKS_IX_UNIT];
        tag = TASKS_PAGE_UNIT;
    } else if (in->area_id) {
        rt_key_u64(&prefix, in->area_id);
        db = s->ix[TASKS_IX_AREA];
        tag = TASKS_PAGE_AREA;
    } else if (in->state) {
        rt_key_bytes(&prefix, &(unsigned char){(unsigned char) in->state}, 1);
        db = s->ix[TASKS_IX_STATE];
        tag = TASKS_PAGE_STATE;
    } else if (in->category) {
        rt_key_bytes(&prefix, &(unsigned char){(unsigned char) in->category}, 1);
        db = s->ix[TASKS_IX_CATEGORY];
        tag = TASKS_PAGE_CATEGORY;
    }
    rt_page pg;
    if (rt_page_init(t, &pg, db, tag, &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    problem_list l = {s, in, out, rt_ts_ms(in->as_of, tasks_now(call))};
    if (in->overdue) {
        // Keys sort by deadline under the prefix: stop at the first one due
        // at or after as_of.
        pg.end = prefix;
        rt_key_i64(&pg.end, l.as_of);
    }
    out->problems = rt_alloc(t, pg.limit * sizeof *out->problems);
    if (out->problems != NULL)
        rt_page_walk(t, &pg, visit_problem, &l, &out->next_page_token);
    return rt_txn_status(t);
}

typedef struct history_list {
    const tasks_svc *s;
    uint64_t id;
    Civic__Tasks__V1__ListProblemHistoryResponse *out;
} history_list;

static int
visit_entry(rt_txn *t, uint64_t seq, void *arg)
{
    history_list *l = arg;
    tasks_entry *e = tasks_history_get(t, l->s, l->id, seq);
    if (e == NULL)
        return 0;
    l->out->entries[l->out->n_entries++] = e;
    return 1;
}

int
handle_list_problem_history(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ListProblemHistoryRequest *in = vin;
    Civic__Tasks__V1__ListProblemHistoryResponse *out = vout;
    const tasks_svc *s = call->service;
    rt_key prefix;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, in->id);
    rt_page pg;
    if (rt_page_init(t, &pg, s->history, TASKS_PAGE_HISTORY, &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    if (tasks_problem_get(t, s, in->id, "id") == NULL)
        return rt_txn_status(t);
    out->entries = rt_alloc(t, pg.limit * sizeof *out->entries);
    history_list l = {s, in->id, out};
    if (out->entries != NULL)
        rt_page_walk(t, &pg, visit_entry, &l, &out->next_page_token);
    return rt_txn_status(t);
}
