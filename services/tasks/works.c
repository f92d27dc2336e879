// Campaign works (重点工作): a target quantity to reach by a deadline, with an
// append-only progress log whose sum is the work's total.
//
//   works      id              → Work (done and progress_count kept with
//                                 each entry, in the entry's transaction)
//   work_log   work_id, seq    → WorkProgress (never changed)
//
// percent_done and behind_schedule depend on the clock: they are filled in
// on every read, never stored. A retried ReportWorkProgress with the same
// idempotency-key returns the first reply and adds nothing (the runtime's
// idempotency records); concurrent entries are serialized by the writer.
#include <string.h>

#include "tasks.h"

#define DEADLINE_MAX_MS (366LL * 24 * 3600 * 1000)
#define WORK_LATEST 20

static void
key_log(rt_key *k, uint64_t id, uint64_t seq)
{
    rt_key_init(k);
    rt_key_u64(k, id);
    rt_key_u64(k, seq);
}

void
tasks_work_derive(Civic__Tasks__V1__Work *w, int64_t now)
{
    w->percent_done = w->target > 0 ? (double) w->done * 100.0 / (double) w->target : 0;
    int64_t c = rt_ts_ms(w->create_time, now), dl = rt_ts_ms(w->deadline, now);
    if (w->done >= w->target)
        w->behind_schedule = 0;
    else if (now >= dl || dl <= c)
        w->behind_schedule = 1;
    else if (now <= c)
        w->behind_schedule = 0;
    else {
        // expected share of the target: linear from creation to deadline
        long double expected = (long double) w->target * (long double) (now - c) / (long double) (dl - c);
        w->behind_schedule = (long double) w->done < expected - 1e-9L && w->done < (int64_t) expected;
    }
}

static Civic__Tasks__V1__Work *
work_get(rt_txn *t, const tasks_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->works, &civic__tasks__v1__work__descriptor, "work", id, field);
}

int
handle_create_work(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__CreateWorkRequest *in = vin;
    Civic__Tasks__V1__CreateWorkResponse *out = vout;
    const tasks_svc *s = call->service;
    int64_t now = tasks_now(call);
    rt_check_str(t, "name", in->name, 200, 1);
    if (in->area_id == 0)
        rt_txn_violation(t, "area_id", "is required");
    if (in->unit_id == 0)
        rt_txn_violation(t, "unit_id", "is required");
    rt_check_str(t, "standard", in->standard, TASKS_TEXT_MAX, 0);
    if (in->target <= 0)
        rt_txn_violation(t, "target", "must be above 0");
    rt_check_str(t, "measure", in->measure, 40, 1);
    if (in->deadline == NULL)
        rt_txn_violation(t, "deadline", "is required");
    else if (rt_check_ts(t, "deadline", in->deadline)) {
        int64_t ms = rt_ts_ms(in->deadline, 0);
        if (ms <= now)
            rt_txn_violation(t, "deadline", "must be in the future");
        else if (ms > now + DEADLINE_MAX_MS)
            rt_txn_violation(t, "deadline", "is more than 366 days ahead");
    }
    if (rt_txn_status(t))
        return rt_txn_status(t);
    Civic__Tasks__V1__Work *w = rt_alloc(t, sizeof *w);
    if (w == NULL)
        return rt_txn_status(t);
    civic__tasks__v1__work__init(w);
    w->id = rt_seq_next(t, "work");
    w->name = in->name;
    w->area_id = in->area_id;
    w->unit_id = in->unit_id;
    w->standard = in->standard;
    w->target = in->target;
    w->measure = in->measure;
    w->deadline = in->deadline;
    w->create_time = rt_ts_new(t, now);
    w->demo = in->demo;
    rt_key k;
    tasks_key_id(&k, w->id);
    rt_put_msg(t, s->works, k.b, k.len, &w->base);
    rt_event(t, "work.created", w->id, &w->base);
    tasks_work_derive(w, now);
    out->work = w;
    return rt_txn_status(t);
}

int
handle_report_work_progress(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ReportWorkProgressRequest *in = vin;
    Civic__Tasks__V1__ReportWorkProgressResponse *out = vout;
    const tasks_svc *s = call->service;
    int64_t now = tasks_now(call);
    if (in->delta == 0)
        rt_txn_violation(t, "delta", "must not be 0");
    rt_check_str(t, "note", in->note, TASKS_TEXT_MAX, 1);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    Civic__Tasks__V1__Work *w = work_get(t, s, in->id, "id");
    if (w == NULL)
        return rt_txn_status(t);
    if (call->role == RT_ROLE_UNIT && tasks_unit_principal(call->principal) != w->unit_id)
        return rt_txn_fail(t, CIVIC_PERMISSION_DENIED, "work %llu is not unit %s's",
                           (unsigned long long) w->id, call->principal);
    if (call->role != RT_ROLE_UNIT && call->role != RT_ROLE_ADMIN)
        return rt_txn_fail(t, CIVIC_PERMISSION_DENIED, "role %s may not report progress",
                           rt_role_name(call->role));
    if (w->done + in->delta < 0)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "work %llu has %lld done: a delta of %lld would take it below 0",
                           (unsigned long long) w->id, (long long) w->done, (long long) in->delta);
    Civic__Tasks__V1__WorkProgress *e = rt_alloc(t, sizeof *e);
    if (e == NULL)
        return rt_txn_status(t);
    civic__tasks__v1__work_progress__init(e);
    w->done += in->delta;
    w->progress_count++;
    e->work_id = w->id;
    e->seq = w->progress_count;
    e->delta = in->delta;
    e->note = in->note;
    e->actor = rt_strdup(t, call->principal);
    e->time = rt_ts_new(t, now);
    e->total_after = w->done;
    rt_key k;
    key_log(&k, w->id, e->seq);
    rt_put_msg(t, s->work_log, k.b, k.len, &e->base);
    tasks_key_id(&k, w->id);
    rt_put_msg(t, s->works, k.b, k.len, &w->base);
    rt_event(t, "work.progress_reported", w->id, &e->base);
    tasks_work_derive(w, now);
    out->work = w;
    out->progress = e;
    return rt_txn_status(t);
}

int
handle_get_work(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__GetWorkRequest *in = vin;
    Civic__Tasks__V1__GetWorkResponse *out = vout;
    const tasks_svc *s = call->service;
    Civic__Tasks__V1__Work *w = work_get(t, s, in->id, "id");
    if (w == NULL)
        return rt_txn_status(t);
    tasks_work_derive(w, tasks_now(call));
    out->work = w;
    out->progress = rt_alloc(t, WORK_LATEST * sizeof *out->progress);
    for (uint64_t seq = w->progress_count; out->progress && seq >= 1 && out->n_progress < WORK_LATEST; seq--) {
        rt_key k;
        void *rec = NULL;
        key_log(&k, w->id, seq);
        if (rt_get_msg(t, s->work_log, k.b, k.len, &civic__tasks__v1__work_progress__descriptor, &rec) != 0) {
            rt_txn_fail(t, CIVIC_INTERNAL, "progress entry %llu of work %llu is missing",
                        (unsigned long long) seq, (unsigned long long) w->id);
            break;
        }
        out->progress[out->n_progress++] = rec;
    }
    return rt_txn_status(t);
}

typedef struct work_list {
    const tasks_svc *s;
    const Civic__Tasks__V1__ListWorksRequest *in;
    Civic__Tasks__V1__ListWorksResponse *out;
    int64_t now;
} work_list;

static int
visit_work(rt_txn *t, uint64_t id, void *arg)
{
    work_list *l = arg;
    Civic__Tasks__V1__Work *w = work_get(t, l->s, id, "works");
    if (w == NULL || (l->in->area_id && w->area_id != l->in->area_id) ||
        (l->in->unit_id && w->unit_id != l->in->unit_id))
        return 0;
    tasks_work_derive(w, l->now);
    l->out->works[l->out->n_works++] = w;
    return 1;
}

int
handle_list_works(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ListWorksRequest *in = vin;
    Civic__Tasks__V1__ListWorksResponse *out = vout;
    const tasks_svc *s = call->service;
    rt_key prefix;
    rt_key_init(&prefix);
    rt_page pg;
    if (rt_page_init(t, &pg, s->works, TASKS_PAGE_WORKS, &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    work_list l = {s, in, out, tasks_now(call)};
    out->works = rt_alloc(t, pg.limit * sizeof *out->works);
    if (out->works != NULL)
        rt_page_walk(t, &pg, visit_work, &l, &out->next_page_token);
    return rt_txn_status(t);
}

void
tasks_works_visit(rt_txn *t, const tasks_svc *s, int64_t now, tasks_work_fn fn, void *arg)
{
    MDB_cursor *c;
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, s->works, &c), "cursor"))
        return;
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0) {
        Civic__Tasks__V1__Work *w = civic__tasks__v1__work__unpack(NULL, v.mv_size, v.mv_data);
        if (w == NULL) {
            rt_txn_fail(t, CIVIC_INTERNAL, "a work record does not decode");
            break;
        }
        tasks_work_derive(w, now);
        fn(arg, w);
        civic__tasks__v1__work__free_unpacked(w, NULL);
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
}
