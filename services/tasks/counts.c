// Per-day counters of problems: the daily report (日报), the dashboard
// summary and the notices (通报) read these, never the problems, so their
// cost grows with the number of (area, unit, category) cells and days
// asked about, not with the number of problems.
//
//   counts   kind(u8), day(u32 YYYYMMDD), area(u64), unit(u64), category(u8)
//            → i64 (rt_counter_add: absent is 0)
//            marker 'M', day(u32) → ""   a snapshot exists for day
//
// A problem's cell is (area, unit, category) as it stands; the day of a
// change is its local day ("now_d", see below). Kinds:
//
//   'r' 's' 'c' 'j'  reported, submitted, closed, rejected on day: +1 on the
//                    transition (fixed-on-the-spot reports count as reported
//                    and submitted).
//   'o'  open delta: +1 on day when a problem becomes open in a cell, −1
//        when it leaves (closes out, or moves to another cell).
//   'd'  overdue delta. A running problem (ASSIGNED, IN_PROGRESS) with
//        deadline day x that starts running on day a and stops on day b is
//        overdue at the end of each day D with max(a, x) ≤ D < b (running at
//        the end of D, deadline before D's end). Written as a difference
//        array: +1 at max(x, a) when it starts running (or gets this deadline
//        or cell), −1 at max(x, b) when it stops. Both are "now or the
//        deadline day, whichever is later": a deadline falling due is a
//        delta written in advance on its day, so no write happens when it
//        passes.
//   'R'  running problems by deadline day (not time-indexed: the state now).
//   'W'  (day 0) open problems reworked at least once: the notices.
//   'O' 'D'  snapshots: open and overdue at the end of day, per cell.
//
//   open(D)    = O[S] + Σ o[d] for S < d ≤ D
//   overdue(D) = D[S] + Σ d[d] for S < d ≤ D
//
// where S is the latest snapshot day ≤ D (0: none, everything from day 1).
// A write on day now_d touches deltas only on days ≥ now_d, so a day before
// today never changes again: a past day answers the same as it did at its
// end. The writer's periodic job (tasks_rollover) snapshots each past day
// that has deltas (O[d] = O[S] + o[d]), so a report reads one snapshot and
// at most the deltas since, whatever the day. A write's now_d is never
// earlier than the day after the latest snapshot (a call that arrived
// before midnight and ran after the rollover counts on the next day), which
// keeps snapshots true.
//
// Now, for the dashboard and notices: Σ d up to today counts problems
// running now with a deadline day ≤ today; less R[today] that is those whose
// deadline fell before today began: "overdue" there is by the day, and those
// due later today are "due today".
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks.h"

#define CELL_KEY 22

static void
ckey(rt_key *k, char kind, int32_t day, uint64_t area, uint64_t unit, int cat)
{
    rt_key_init(k);
    rt_key_bytes(k, &kind, 1);
    rt_key_u32(k, (uint32_t) day);
    rt_key_u64(k, area);
    rt_key_u64(k, unit);
    unsigned char c = (unsigned char) cat;
    rt_key_bytes(k, &c, 1);
}

static int32_t
dmax(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

// --- the clock ---

int64_t
tasks_now(const rt_call *call)
{
    tasks_svc *s = call->service;
    int64_t now = call->now_ms;
    if (s->test_clock) {
        const char *v = rt_call_metadata(call, TASKS_TEST_NOW_MD);
        if (v != NULL && *v)
            now = strtoll(v, NULL, 10);
        int64_t seen = atomic_load(&s->clock_max_ms);
        while (now > seen && !atomic_compare_exchange_weak(&s->clock_max_ms, &seen, now))
            ;
    }
    return now;
}

int32_t
tasks_today(tasks_svc *s)
{
    int64_t now = s->test_clock ? atomic_load(&s->clock_max_ms) : civic_wall_ms();
    return now > 0 ? rt_local_day(now, s->tz_offset_min) : 0;
}

// last_marker returns the latest snapshot day ≤ upto, or 0.
static int32_t
last_marker(rt_txn *t, const tasks_svc *s, int32_t upto)
{
    MDB_cursor *c;
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, s->counts, &c), "cursor"))
        return 0;
    unsigned char kb[5] = {'M'};
    rt_be32_put(kb + 1, (uint32_t) upto + 1);
    MDB_val k = {5, kb}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    rc = rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : mdb_cursor_get(c, &k, &v, MDB_LAST);
    int32_t day = 0;
    if (rc == 0 && k.mv_size == 5 && ((unsigned char *) k.mv_data)[0] == 'M')
        day = (int32_t) rt_be32_get((unsigned char *) k.mv_data + 1);
    mdb_cursor_close(c);
    return day;
}

// --- writing: tasks_problem_put calls this ---

static size_t
contribs(const tasks_svc *s, const tasks_problem *p, int32_t now_d, rt_key *out)
{
    size_t n = 0;
    if (p == NULL)
        return 0;
    uint64_t a = p->area_id, u = p->unit_id;
    int cat = (int) p->category;
    if (tasks_state_open(p->state))
        ckey(&out[n++], 'o', now_d, a, u, cat);
    if (tasks_state_running(p->state) && p->deadline != NULL) {
        int32_t x = rt_local_day(tasks_deadline_ms(p), s->tz_offset_min);
        ckey(&out[n++], 'd', dmax(x, now_d), a, u, cat);
        ckey(&out[n++], 'R', x, a, u, cat);
    }
    if (tasks_state_open(p->state) && p->rework_count > 0)
        ckey(&out[n++], 'W', 0, a, u, cat);
    return n;
}

static int
has_key(const rt_key *k, const rt_key *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i].len == k->len && memcmp(set[i].b, k->b, k->len) == 0)
            return 1;
    return 0;
}

void
tasks_counts_move(rt_txn *t, const tasks_svc *s, const tasks_problem *p, const tasks_problem *old)
{
    int64_t now = rt_ts_ms(p->update_time, t->now_ms);
    int32_t now_d = dmax(rt_local_day(now, s->tz_offset_min), rt_day_add(last_marker(t, s, INT32_MAX - 1), 1));
    rt_key was[4], is[4], k;
    size_t nw = contribs(s, old, now_d, was), ni = contribs(s, p, now_d, is);
    for (size_t i = 0; i < nw; i++)
        if (!has_key(&was[i], is, ni))
            rt_counter_add(t, s->counts, was[i].b, was[i].len, -1);
    for (size_t i = 0; i < ni; i++)
        if (!has_key(&is[i], was, nw))
            rt_counter_add(t, s->counts, is[i].b, is[i].len, 1);
    uint64_t a = p->area_id, u = p->unit_id;
    int cat = (int) p->category, from = old ? (int) old->state : 0, to = (int) p->state;
    if (old == NULL) {
        ckey(&k, 'r', now_d, a, u, cat);
        rt_counter_add(t, s->counts, k.b, k.len, 1);
    }
    char ev = 0;
    if (to == TASKS_STATE(SUBMITTED) && from != to)
        ev = 's';
    else if (to == TASKS_STATE(CLOSED) && from != to)
        ev = 'c';
    else if (from == TASKS_STATE(SUBMITTED) && (to == TASKS_STATE(IN_PROGRESS) || to == TASKS_STATE(REPORTED)))
        ev = 'j';
    if (ev) {
        ckey(&k, ev, now_d, a, u, cat);
        rt_counter_add(t, s->counts, k.b, k.len, 1);
    }
}

// --- reading: scans of one kind over days, into an aggregate ---

enum { F_REPORTED, F_SUBMITTED, F_CLOSED, F_REJECTED, F_OPEN, F_OVERDUE, F_DUE, F_REWORKED, F_WORKS, F_PCT, F_N };

typedef struct agg_row {
    uint64_t area, unit;
    int cat;
    int64_t v[F_N];
} agg_row;

typedef struct agg {
    agg_row *rows;
    size_t n, cap;
    int fail;
    int by; // which fields of the cell to keep: 'c' all, 'a' area, 'u' unit, 'k' category
} agg;

static void
agg_add(agg *g, uint64_t area, uint64_t unit, int cat, int field, int64_t v)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        agg_row *r = realloc(g->rows, cap * sizeof *r);
        if (r == NULL) {
            g->fail = 1;
            return;
        }
        g->rows = r, g->cap = cap;
    }
    agg_row *r = &g->rows[g->n++];
    memset(r, 0, sizeof *r);
    r->area = g->by == 'c' || g->by == 'a' ? area : 0;
    r->unit = g->by == 'c' || g->by == 'u' ? unit : 0;
    r->cat = g->by == 'c' || g->by == 'k' ? cat : 0;
    r->v[field] = v;
}

static int
row_cmp(const void *x, const void *y)
{
    const agg_row *a = x, *b = y;
    if (a->area != b->area)
        return a->area < b->area ? -1 : 1;
    if (a->unit != b->unit)
        return a->unit < b->unit ? -1 : 1;
    return (a->cat > b->cat) - (a->cat < b->cat);
}

// agg_merge sorts and sums rows of the same cell; drops all-zero rows.
static void
agg_merge(agg *g)
{
    if (g->n == 0)
        return;
    qsort(g->rows, g->n, sizeof *g->rows, row_cmp);
    size_t w = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (w > 0 && row_cmp(&g->rows[w - 1], &g->rows[i]) == 0) {
            for (int f = 0; f < F_N; f++)
                g->rows[w - 1].v[f] += g->rows[i].v[f];
        } else {
            g->rows[w++] = g->rows[i];
        }
    }
    size_t z = 0;
    for (size_t i = 0; i < w; i++) {
        int any = 0;
        for (int f = 0; f < F_N; f++)
            any |= g->rows[i].v[f] != 0;
        if (any)
            g->rows[z++] = g->rows[i];
    }
    g->n = z;
}

// scan adds sign × every counter of kind on days from..to (of area, unless
// 0) to field of g.
static void
scan(rt_txn *t, const tasks_svc *s, char kind, int32_t from, int32_t to, uint64_t area, agg *g,
     int field, int sign)
{
    if (from > to || rt_txn_status(t))
        return;
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, s->counts, &c), "cursor"))
        return;
    rt_key sk;
    ckey(&sk, kind, from, area, 0, 0);
    MDB_val k = {sk.len, sk.b}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && !g->fail) {
        const unsigned char *kb = k.mv_data;
        if (k.mv_size != CELL_KEY || kb[0] != (unsigned char) kind)
            break;
        int32_t day = (int32_t) rt_be32_get(kb + 1);
        if (day > to)
            break;
        uint64_t a = rt_be64_get(kb + 5);
        if (area != 0 && a != area) {
            ckey(&sk, kind, a < area ? day : day + 1, area, 0, 0);
            if (a > area && day + 1 > to) // day + 1 need not be a date: keys only
                break;
            k.mv_size = sk.len, k.mv_data = sk.b;
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            continue;
        }
        int64_t n = v.mv_size == 8 ? (int64_t) rt_be64_get(v.mv_data) : 0;
        agg_add(g, a, rt_be64_get(kb + 13), kb[21], field, sign * n);
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    if (g->fail)
        rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "out of memory aggregating counters");
}

// cumulative adds open (snapshot kind 'O', deltas 'o') or overdue ('D', 'd')
// at the end of day to field.
static void
cumulative(rt_txn *t, const tasks_svc *s, char snap, char delta, int32_t day, uint64_t area, agg *g,
           int field, int sign)
{
    int32_t S = last_marker(t, s, day);
    if (S > 0)
        scan(t, s, snap, S, S, area, g, field, sign);
    scan(t, s, delta, S + 1, day, area, g, field, sign);
}

static Civic__Tasks__V1__DailyCounts *
counts_of(rt_txn *t, const int64_t *v)
{
    Civic__Tasks__V1__DailyCounts *c = rt_alloc(t, sizeof *c);
    if (c == NULL)
        return NULL;
    civic__tasks__v1__daily_counts__init(c);
    c->reported = v[F_REPORTED], c->submitted = v[F_SUBMITTED], c->closed = v[F_CLOSED];
    c->rejected = v[F_REJECTED], c->open = v[F_OPEN], c->overdue = v[F_OVERDUE];
    return c;
}

static Civic__Tasks__V1__ReportRow **
rows_of(rt_txn *t, const agg *g, size_t *n)
{
    Civic__Tasks__V1__ReportRow **out = rt_alloc(t, (g->n + 1) * sizeof *out);
    *n = 0;
    for (size_t i = 0; out != NULL && i < g->n; i++) {
        Civic__Tasks__V1__ReportRow *r = rt_alloc(t, sizeof *r);
        if (r == NULL)
            return out;
        civic__tasks__v1__report_row__init(r);
        r->area_id = g->rows[i].area, r->unit_id = g->rows[i].unit;
        r->category = (Civic__Tasks__V1__ProblemCategory) g->rows[i].cat;
        r->counts = counts_of(t, g->rows[i].v);
        out[(*n)++] = r;
    }
    return out;
}

static void
rollup(const agg *cells, agg *g, int by)
{
    g->by = by;
    for (size_t i = 0; i < cells->n; i++)
        for (int f = 0; f < F_N; f++)
            if (cells->rows[i].v[f])
                agg_add(g, cells->rows[i].area, cells->rows[i].unit, cells->rows[i].cat, f,
                        cells->rows[i].v[f]);
    agg_merge(g);
}

int
handle_get_daily_report(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__GetDailyReportRequest *in = vin;
    Civic__Tasks__V1__GetDailyReportResponse *out = vout;
    tasks_svc *s = call->service;
    int32_t today = rt_local_day(tasks_now(call), s->tz_offset_min);
    int32_t day = in->day ? in->day : today;
    if (in->day && rt_check_day(t, "day", in->day) && in->day > today)
        rt_txn_violation(t, "day", "%d is after today (%d)", (int) in->day, (int) today);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    agg g = {.by = 'c'};
    scan(t, s, 'r', day, day, in->area_id, &g, F_REPORTED, 1);
    scan(t, s, 's', day, day, in->area_id, &g, F_SUBMITTED, 1);
    scan(t, s, 'c', day, day, in->area_id, &g, F_CLOSED, 1);
    scan(t, s, 'j', day, day, in->area_id, &g, F_REJECTED, 1);
    cumulative(t, s, 'O', 'o', day, in->area_id, &g, F_OPEN, 1);
    cumulative(t, s, 'D', 'd', day, in->area_id, &g, F_OVERDUE, 1);
    agg_merge(&g);
    agg ga = {0}, gu = {0}, gc = {0};
    rollup(&g, &ga, 'a');
    rollup(&g, &gu, 'u');
    rollup(&g, &gc, 'k');
    int64_t total[F_N] = {0};
    for (size_t i = 0; i < g.n; i++)
        for (int f = 0; f < F_N; f++)
            total[f] += g.rows[i].v[f];
    out->day = day;
    if (!rt_txn_status(t) && !(g.fail | ga.fail | gu.fail | gc.fail)) {
        out->rows = rows_of(t, &g, &out->n_rows);
        out->areas = rows_of(t, &ga, &out->n_areas);
        out->units = rows_of(t, &gu, &out->n_units);
        out->categories = rows_of(t, &gc, &out->n_categories);
        out->total = counts_of(t, total);
    } else if (!rt_txn_status(t)) {
        rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(g.rows), free(ga.rows), free(gu.rows), free(gc.rows);
    return rt_txn_status(t);
}

// --- the summary ---

static void
summary_work(void *arg, const Civic__Tasks__V1__Work *w)
{
    agg *g = arg;
    double pct = w->percent_done > 100 ? 100 : w->percent_done < 0 ? 0 : w->percent_done;
    agg_add(g, w->area_id, 0, 0, F_WORKS, 1);
    agg_add(g, w->area_id, 0, 0, F_PCT, (int64_t) (pct * 1000.0 + 0.5));
}


// handle_get_summary answers for a local day (today by default). Today:
// open and overdue now, overdue by the day (less R[today]: those due later
// today are due_today). A past day: open and overdue at its end, as the
// daily report counts them; R is the state now, not kept by day, so a past
// day has no due_today. Works are as they stand now.
int
handle_get_summary(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__GetSummaryRequest *in = vin;
    Civic__Tasks__V1__GetSummaryResponse *out = vout;
    tasks_svc *s = call->service;
    int64_t now = tasks_now(call);
    int32_t today = rt_local_day(now, s->tz_offset_min);
    int32_t day = in->local_day ? in->local_day : today;
    if (in->local_day && rt_check_day(t, "local_day", in->local_day) && in->local_day > today)
        rt_txn_violation(t, "local_day", "%d is after today (%d)", (int) in->local_day, (int) today);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    agg g = {.by = 'a'};
    cumulative(t, s, 'O', 'o', day, 0, &g, F_OPEN, 1);
    cumulative(t, s, 'D', 'd', day, 0, &g, F_OVERDUE, 1);
    if (day == today) {
        scan(t, s, 'R', today, today, 0, &g, F_OVERDUE, -1);
        scan(t, s, 'R', today, today, 0, &g, F_DUE, 1);
    }
    scan(t, s, 'c', day, day, 0, &g, F_CLOSED, 1);
    tasks_works_visit(t, s, now, summary_work, &g);
    agg_merge(&g);
    out->day = day;
    out->areas = rt_alloc(t, (g.n + 1) * sizeof *out->areas);
    out->total = rt_alloc(t, sizeof *out->total);
    if (rt_txn_status(t) || g.fail) {
        free(g.rows);
        return rt_txn_status(t) ? rt_txn_status(t) : rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    }
    civic__tasks__v1__area_summary__init(out->total);
    int64_t tot[F_N] = {0};
    for (size_t i = 0; i < g.n; i++) {
        Civic__Tasks__V1__AreaSummary *a = rt_alloc(t, sizeof *a);
        if (a == NULL)
            break;
        civic__tasks__v1__area_summary__init(a);
        const int64_t *v = g.rows[i].v;
        a->area_id = g.rows[i].area;
        a->open = v[F_OPEN], a->overdue = v[F_OVERDUE], a->due_today = v[F_DUE];
        a->closed_today = v[F_CLOSED], a->works = (int32_t) v[F_WORKS];
        a->works_percent_done = v[F_WORKS] ? (double) v[F_PCT] / 1000.0 / (double) v[F_WORKS] : 0;
        for (int f = 0; f < F_N; f++)
            tot[f] += v[f];
        out->areas[out->n_areas++] = a;
    }
    out->total->open = tot[F_OPEN], out->total->overdue = tot[F_OVERDUE];
    out->total->due_today = tot[F_DUE], out->total->closed_today = tot[F_CLOSED];
    out->total->works = (int32_t) tot[F_WORKS];
    out->total->works_percent_done = tot[F_WORKS] ? (double) tot[F_PCT] / 1000.0 / (double) tot[F_WORKS] : 0;
    free(g.rows);
    return rt_txn_status(t);
}

// --- notices ---

typedef struct notice_unit {
    uint64_t unit;
    int64_t overdue, reworked;
} notice_unit;

static int
notice_cmp(const void *x, const void *y)
{
    const notice_unit *a = x, *b = y;
    int64_t sa = a->overdue + a->reworked, sb = b->overdue + b->reworked;
    if (sa != sb)
        return sa > sb ? -1 : 1;
    if (a->overdue != b->overdue)
        return a->overdue > b->overdue ? -1 : 1;
    return (a->unit > b->unit) - (a->unit < b->unit);
}

// notice_problems lists up to k of unit's problems: overdue (running, due
// before day_start) by deadline, then the other reworked open ones.
static void
notice_problems(rt_txn *t, const tasks_svc *s, Civic__Tasks__V1__Notice *nt, size_t k, int64_t day_start)
{
    nt->problems = rt_alloc(t, (k + 1) * sizeof *nt->problems);
    if (nt->problems == NULL)
        return;
    MDB_cursor *c;
    for (int pass = 0; pass < 2 && nt->n_problems < k; pass++) {
        rt_key pre;
        rt_key_init(&pre);
        if (pass == 0) {
            char tag = TASKS_DIM_UNIT;
            rt_key_bytes(&pre, &tag, 1);
        }
        rt_key_u64(&pre, nt->unit_id);
        if (rt_txn_status(t) ||
            rt_txn_mdb(t, mdb_cursor_open(t->txn, s->ix[pass ? TASKS_IX_REWORKED : TASKS_IX_RUNNING], &c), "cursor"))
            return;
        MDB_val kv = {pre.len, pre.b}, v;
        int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
        while (rc == 0 && nt->n_problems < k && kv.mv_size == pre.len + 16 &&
               memcmp(kv.mv_data, pre.b, pre.len) == 0) {
            const unsigned char *kb = kv.mv_data;
            int64_t dl = (int64_t) (rt_be64_get(kb + pre.len) ^ (1ULL << 63));
            uint64_t id = rt_be64_get(kb + pre.len + 8);
            if (pass == 0 && dl >= day_start)
                break;
            tasks_problem *p = tasks_problem_get(t, s, id, NULL);
            if (p == NULL)
                break;
            if (pass == 0 || !(tasks_state_running(p->state) && tasks_deadline_ms(p) < day_start))
                nt->problems[nt->n_problems++] = p;
            rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT);
        }
        mdb_cursor_close(c);
    }
}

int
handle_list_notices(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Tasks__V1__ListNoticesRequest *in = vin;
    Civic__Tasks__V1__ListNoticesResponse *out = vout;
    tasks_svc *s = call->service;
    size_t limit = rt_page_size(t, in->page_size, "page_size");
    if (in->problems_per_unit < 0 || in->problems_per_unit > 100)
        rt_txn_violation(t, "problems_per_unit", "must be 0 … 100");
    size_t k = in->problems_per_unit ? (size_t) in->problems_per_unit : 10;
    size_t offset = 0;
    if (in->page_token && *in->page_token) {
        char *end;
        unsigned long long o = strtoull(in->page_token, &end, 10);
        if (*end != '\0' || in->page_token[0] == '-')
            rt_txn_violation(t, "page_token", "is not a token this list wrote");
        offset = (size_t) o;
    }
    if (rt_txn_status(t))
        return rt_txn_status(t);
    int64_t now = tasks_now(call);
    int32_t today = rt_local_day(now, s->tz_offset_min);
    agg g = {.by = 'u'};
    cumulative(t, s, 'D', 'd', today, 0, &g, F_OVERDUE, 1);
    scan(t, s, 'R', today, today, 0, &g, F_OVERDUE, -1);
    scan(t, s, 'W', 0, 0, 0, &g, F_REWORKED, 1);
    agg_merge(&g);
    notice_unit *u = malloc((g.n + 1) * sizeof *u);
    size_t nu = 0;
    for (size_t i = 0; u != NULL && i < g.n; i++)
        if (g.rows[i].unit != 0 && (g.rows[i].v[F_OVERDUE] > 0 || g.rows[i].v[F_REWORKED] > 0))
            u[nu++] = (notice_unit){g.rows[i].unit, g.rows[i].v[F_OVERDUE], g.rows[i].v[F_REWORKED]};
    free(g.rows);
    if (u == NULL || g.fail) {
        free(u);
        return rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "out of memory");
    }
    qsort(u, nu, sizeof *u, notice_cmp);
    out->notices = rt_alloc(t, (limit + 1) * sizeof *out->notices);
    int64_t start = rt_day_start_ms(today, s->tz_offset_min);
    for (size_t i = offset; out->notices && i < nu && out->n_notices < limit && !rt_txn_status(t); i++) {
        Civic__Tasks__V1__Notice *nt = rt_alloc(t, sizeof *nt);
        if (nt == NULL)
            break;
        civic__tasks__v1__notice__init(nt);
        nt->unit_id = u[i].unit;
        nt->rank = (int32_t) i + 1;
        nt->overdue = u[i].overdue;
        nt->reworked = u[i].reworked;
        notice_problems(t, s, nt, k, start);
        out->notices[out->n_notices++] = nt;
    }
    if (offset + out->n_notices < nu) {
        char tok[32];
        snprintf(tok, sizeof tok, "%zu", offset + out->n_notices);
        out->next_page_token = rt_strdup(t, tok);
    }
    free(u);
    return rt_txn_status(t);
}

// --- the rollover job ---

int
tasks_rollover(rt_txn *t, void *arg)
{
    tasks_svc *s = arg;
    int32_t today = tasks_today(s);
    if (today == 0)
        return 0;
    int32_t S = last_marker(t, s, INT32_MAX - 1);
    // the next day after S with any open or overdue delta
    int32_t next = INT32_MAX;
    const char kinds[2] = {'o', 'd'};
    for (int i = 0; i < 2; i++) {
        MDB_cursor *c;
        if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, s->counts, &c), "cursor"))
            return 0;
        rt_key sk;
        ckey(&sk, kinds[i], S + 1, 0, 0, 0);
        MDB_val k = {sk.len, sk.b}, v;
        if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == CELL_KEY &&
            ((unsigned char *) k.mv_data)[0] == (unsigned char) kinds[i]) {
            int32_t d = (int32_t) rt_be32_get((unsigned char *) k.mv_data + 1);
            next = d < next ? d : next;
        }
        mdb_cursor_close(c);
    }
    if (next >= today)
        return 0;
    for (int i = 0; i < 2; i++) {
        agg g = {.by = 'c'};
        char snap = i ? 'D' : 'O', delta = i ? 'd' : 'o';
        if (S > 0)
            scan(t, s, snap, S, S, 0, &g, 0, 1);
        scan(t, s, delta, next, next, 0, &g, 0, 1);
        agg_merge(&g);
        for (size_t j = 0; j < g.n && !rt_txn_status(t); j++) {
            rt_key k;
            unsigned char b[8];
            ckey(&k, snap, next, g.rows[j].area, g.rows[j].unit, g.rows[j].cat);
            rt_be64_put(b, (uint64_t) g.rows[j].v[0]);
            rt_put(t, s->counts, k.b, k.len, b, 8);
        }
        free(g.rows);
    }
    unsigned char mk[5] = {'M'};
    rt_be32_put(mk + 1, (uint32_t) next);
    rt_put(t, s->counts, mk, 5, "", 0);
    return rt_txn_status(t) ? 0 : 1;
}
