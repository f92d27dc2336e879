// Handlers for hours records (志愿服务时长), totals, rankings and the
// dashboard's per-area summary.
//
// An hours record is made once per attendance, at check-out; an admin
// corrects it (a new value and a reason) or declines it (a reason), and its
// history keeps every step: records are never deleted. Totals, rankings and
// the summary read counters that vol_hours_put keeps in the same
// transaction (store.c): a ranking reads one counter per (day, volunteer),
// (day, area) or (day, kind) in its range, never the records.
#include <stdlib.h>
#include <string.h>

#include "volunteers.h"

static vol_hours *
visible_hours(rt_txn *t, const rt_call *call, uint64_t id)
{
    if (id == 0) {
        rt_txn_violation(t, "id", "is required");
        return NULL;
    }
    vol_hours *h = vol_hours_get(t, call->service, id, "id");
    if (h != NULL && !vol_may_see(call, h->volunteer_id)) {
        rt_txn_fail(t, CIVIC_NOT_FOUND, "id: no hours record %llu", (unsigned long long) id);
        return NULL;
    }
    return h;
}

int
handle_get_hours(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__GetHoursRequest *in = vin;
    Civic__Volunteers__V1__GetHoursResponse *out = vout;
    out->hours = visible_hours(t, call, in->id);
    return rt_txn_status(t);
}

typedef struct hours_list {
    const rt_call *call;
    uint64_t volunteer_id; // filter, or 0
    Civic__Volunteers__V1__ListHoursResponse *out;
} hours_list;

static int
visit_hours(rt_txn *t, uint64_t id, void *arg)
{
    hours_list *l = arg;
    vol_hours *h = vol_hours_get(t, l->call->service, id, NULL);
    if (h == NULL || (l->volunteer_id && h->volunteer_id != l->volunteer_id))
        return 0;
    l->out->hours[l->out->n_hours++] = h;
    return 1;
}

int
handle_list_hours(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__ListHoursRequest *in = vin;
    Civic__Volunteers__V1__ListHoursResponse *out = vout;
    const vol_svc *s = call->service;
    uint64_t vid = in->volunteer_id;
    if (call->role == RT_ROLE_VOLUNTEER) {
        if (vid == 0)
            vid = vol_caller_volunteer(call);
        if (!vol_may_see(call, vid))
            return rt_txn_fail(t, CIVIC_NOT_FOUND, "volunteer_id: no volunteer %llu",
                               (unsigned long long) vid);
    }
    if (vid == 0 && in->activity_id == 0)
        return rt_txn_violation(t, "volunteer_id", "volunteer_id or activity_id is required");
    rt_key prefix;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, in->activity_id ? in->activity_id : vid);
    rt_page pg;
    if (rt_page_init(t, &pg, in->activity_id ? s->hours_by_act : s->hours_by_vol,
                     in->activity_id ? VOL_PAGE_HOURS_BY_ACT : VOL_PAGE_HOURS_BY_VOL, &prefix,
                     in->page_size, in->page_token))
        return rt_txn_status(t);
    out->hours = rt_alloc(t, pg.limit * sizeof *out->hours);
    hours_list l = {call, in->activity_id ? vid : 0, out};
    if (out->hours != NULL)
        rt_page_walk(t, &pg, visit_hours, &l, &out->next_page_token);
    return rt_txn_status(t);
}

// change_hours makes a copy of record old with one more history step.
static vol_hours *
change_hours(rt_txn *t, const rt_call *call, const vol_hours *old, int state, int32_t minutes,
             const char *reason)
{
    vol_hours *n = rt_alloc(t, sizeof *n);
    Civic__Volunteers__V1__HoursChange *c = rt_alloc(t, sizeof *c);
    Civic__Volunteers__V1__HoursChange **hist = rt_alloc(t, (old->n_history + 1) * sizeof *hist);
    if (n == NULL || c == NULL || hist == NULL)
        return NULL;
    *n = *old;
    if (old->n_history > 0)
        memcpy(hist, old->history, old->n_history * sizeof *hist);
    civic__volunteers__v1__hours_change__init(c);
    c->time = rt_ts_new(t, call->now_ms);
    c->by = rt_strdup(t, call->principal);
    c->state = state;
    c->minutes = minutes;
    c->reason = (char *) (uintptr_t) reason;
    hist[old->n_history] = c;
    n->history = hist;
    n->n_history = old->n_history + 1;
    n->state = state;
    n->minutes = minutes;
    n->update_time = c->time;
    return n;
}

int
handle_correct_hours(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__CorrectHoursRequest *in = vin;
    Civic__Volunteers__V1__CorrectHoursResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_str(t, "reason", in->reason, 500, 1);
    if (in->minutes < 0)
        rt_txn_violation(t, "minutes", "must be 0 or more, not %d", in->minutes);
    if (in->id == 0)
        rt_txn_violation(t, "id", "is required");
    if (rt_txn_status(t))
        return rt_txn_status(t);
    vol_hours *old = vol_hours_get(t, s, in->id, "id");
    vol_activity *a = old ? vol_activity_get(t, s, old->activity_id, NULL) : NULL;
    if (a == NULL)
        return rt_txn_status(t);
    int64_t len = (rt_ts_ms(a->end_time, 0) - rt_ts_ms(a->start_time, 0)) / 60000;
    if (in->minutes > len)
        return rt_txn_violation(t, "minutes", "must be at most the activity's length, %lld minutes",
                                (long long) len);
    vol_hours *n = change_hours(t, call, old, HOURS_CORRECTED, in->minutes, in->reason);
    if (n == NULL)
        return rt_txn_status(t);
    vol_hours_put(t, s, n, old);
    rt_event(t, "hours.corrected", n->id, &n->base);
    out->hours = n;
    return rt_txn_status(t);
}

int
handle_decline_hours(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__DeclineHoursRequest *in = vin;
    Civic__Volunteers__V1__DeclineHoursResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_str(t, "reason", in->reason, 500, 1);
    if (in->id == 0)
        rt_txn_violation(t, "id", "is required");
    if (rt_txn_status(t))
        return rt_txn_status(t);
    vol_hours *old = vol_hours_get(t, s, in->id, "id");
    if (old == NULL)
        return rt_txn_status(t);
    if (old->state == HOURS_DECLINED)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "hours record %llu is DECLINED already (CorrectHours reinstates it)",
                           (unsigned long long) old->id);
    vol_hours *n = change_hours(t, call, old, HOURS_DECLINED, 0, in->reason);
    if (n == NULL)
        return rt_txn_status(t);
    vol_hours_put(t, s, n, old);
    rt_event(t, "hours.declined", n->id, &n->base);
    out->hours = n;
    return rt_txn_status(t);
}

int
handle_get_volunteer_totals(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__GetVolunteerTotalsRequest *in = vin;
    Civic__Volunteers__V1__GetVolunteerTotalsResponse *out = vout;
    const vol_svc *s = call->service;
    uint64_t vid = in->volunteer_id ? in->volunteer_id : vol_caller_volunteer(call);
    if (vid == 0)
        return rt_txn_violation(t, "volunteer_id", "is required");
    if (!vol_may_see(call, vid))
        return rt_txn_fail(t, CIVIC_NOT_FOUND, "volunteer_id: no volunteer %llu",
                           (unsigned long long) vid);
    if (vol_volunteer_get(t, s, vid, "volunteer_id") == NULL)
        return rt_txn_status(t);
    out->volunteer_id = vid;
    out->minutes = vol_count_get(t, s, 'T', vid);
    out->records = (uint32_t) vol_count_get(t, s, 'N', vid);
    return rt_txn_status(t);
}

// --- rankings ---

typedef struct tally {
    uint64_t id;
    int64_t minutes;
} tally;

static int
by_id(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
by_minutes(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    if (x->minutes != y->minutes)
        return x->minutes > y->minutes ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

// sum_days reads the h_day counters of tag for days from..to into a list of
// (id, minutes), one per id (heap; the caller frees *out). The ranking
// runs on a worker thread (RT_SLOW_READ), and a year of per-volunteer
// counters is too much for the call's arena.
static size_t
sum_days(rt_txn *t, const vol_svc *s, char tag, int32_t from, int32_t to, tally **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    rt_key k0;
    vol_key_day(&k0, tag, from, 0);
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, s->h_day, &c), "cursor"))
        return 0;
    MDB_val k = {k0.len, k0.b}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *kb = k.mv_data;
        if (k.mv_size != 13 || kb[0] != (unsigned char) tag || (int32_t) rt_be32_get(kb + 1) > to)
            break;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            tally *grown = realloc(*out, cap * sizeof *grown);
            if (grown == NULL) {
                rt_txn_fail(t, CIVIC_RESOURCE_EXHAUSTED, "ranking: out of memory");
                break;
            }
            *out = grown;
        }
        (*out)[n].id = rt_be64_get(kb + 5);
        (*out)[n].minutes = (int64_t) rt_be64_get(v.mv_data);
        n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    if (n == 0)
        return 0;
    qsort(*out, n, sizeof **out, by_id);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && (*out)[m - 1].id == (*out)[i].id)
            (*out)[m - 1].minutes += (*out)[i].minutes;
        else
            (*out)[m++] = (*out)[i];
    }
    qsort(*out, m, sizeof **out, by_minutes);
    return m;
}

int
handle_rank_hours(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__RankHoursRequest *in = vin;
    Civic__Volunteers__V1__RankHoursResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_enum(t, "by", &civic__volunteers__v1__ranking_by__descriptor, in->by, 1);
    rt_check_enum(t, "kind", &civic__volunteers__v1__volunteer_kind__descriptor, in->kind, 0);
    int days_ok = rt_check_day(t, "from_day", in->from_day) & rt_check_day(t, "to_day", in->to_day);
    if (days_ok && in->to_day < in->from_day)
        rt_txn_violation(t, "to_day", "must not be before from_day");
    else if (days_ok && rt_day_add(in->from_day, 366) < in->to_day)
        rt_txn_violation(t, "to_day", "must be at most 366 days after from_day");
    if (in->limit < 0)
        rt_txn_violation(t, "limit", "must not be negative");
    if (rt_txn_status(t))
        return rt_txn_status(t);
    size_t limit = in->limit == 0 ? 20 : in->limit > 1000 ? 1000 : (size_t) in->limit;
    char tag = in->by == CIVIC__VOLUNTEERS__V1__RANKING_BY__RANKING_BY_AREA   ? 'A'
               : in->by == CIVIC__VOLUNTEERS__V1__RANKING_BY__RANKING_BY_KIND ? 'K'
                                                                              : 'V';
    tally *list;
    size_t n = sum_days(t, s, tag, in->from_day, in->to_day, &list);
    out->entries = rt_alloc(t, limit * sizeof *out->entries);
    for (size_t i = 0; i < n && out->entries != NULL && out->n_entries < limit &&
                       rt_txn_status(t) == 0;
         i++) {
        Civic__Volunteers__V1__RankingEntry *e = rt_alloc(t, sizeof *e);
        if (e == NULL)
            break;
        civic__volunteers__v1__ranking_entry__init(e);
        e->minutes = list[i].minutes;
        if (tag == 'V') {
            vol_volunteer *v = vol_volunteer_get(t, s, list[i].id, NULL);
            if (v == NULL || (in->area_id && v->area_id != in->area_id) ||
                (in->kind && v->kind != in->kind))
                continue;
            e->volunteer_id = v->id;
            e->name = v->name;
            e->area_id = v->area_id;
            e->kind = v->kind;
        } else if (tag == 'A') {
            e->area_id = list[i].id;
        } else {
            e->kind = (Civic__Volunteers__V1__VolunteerKind) list[i].id;
        }
        e->rank = (uint32_t) out->n_entries + 1;
        out->entries[out->n_entries++] = e;
    }
    free(list);
    return rt_txn_status(t);
}

// --- the dashboard's summary ---

// add_area appends id to the sorted set ids (arena) unless it is there.
static void
add_area(rt_txn *t, uint64_t **ids, size_t *n, size_t *cap, uint64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*ids)[i] == id)
            return;
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        uint64_t *grown = rt_alloc(t, *cap * sizeof *grown);
        if (grown == NULL)
            return;
        if (*n > 0)
            memcpy(grown, *ids, *n * sizeof *grown);
        *ids = grown;
    }
    (*ids)[(*n)++] = id;
}

// scan_areas adds the id ending every key of db under prefix.
static void
scan_areas(rt_txn *t, MDB_dbi db, const rt_key *prefix, uint64_t **ids, size_t *n, size_t *cap)
{
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, db, &c), "cursor"))
        return;
    MDB_val k = {prefix->len, (void *) (uintptr_t) prefix->b}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && rt_txn_status(t) == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != prefix->len + 8 || memcmp(k.mv_data, prefix->b, prefix->len) != 0)
            break;
        add_area(t, ids, n, cap, rt_be64_get((const unsigned char *) k.mv_data + prefix->len));
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

int
handle_get_area_summary(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__GetAreaSummaryRequest *in = vin;
    Civic__Volunteers__V1__GetAreaSummaryResponse *out = vout;
    const vol_svc *s = call->service;
    int32_t day = in->local_day ? in->local_day : rt_local_day(call->now_ms, s->tz_offset_min);
    if (in->local_day)
        rt_check_day(t, "local_day", in->local_day);
    if (in->n_area_ids > 1000)
        rt_txn_violation(t, "area_ids", "names more than 1000 areas");
    if (rt_txn_status(t))
        return rt_txn_status(t);
    int32_t monday = vol_monday(day);
    out->week_start_day = monday;

    // The areas asked for, or every area with ACTIVE volunteers or with
    // hours this week: one counter of each kind per area.
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    if (in->n_area_ids > 0) {
        for (size_t i = 0; i < in->n_area_ids; i++)
            add_area(t, &ids, &n, &cap, in->area_ids[i]);
    } else {
        rt_key p;
        char a = 'A';
        rt_key_init(&p);
        rt_key_bytes(&p, &a, 1);
        scan_areas(t, s->counts, &p, &ids, &n, &cap);
        rt_key_init(&p);
        rt_key_bytes(&p, &a, 1);
        rt_key_u32(&p, (uint32_t) monday);
        scan_areas(t, s->h_week, &p, &ids, &n, &cap);
    }
    if (rt_txn_status(t) || n == 0)
        return rt_txn_status(t);
    qsort(ids, n, sizeof *ids, u64_cmp);
    out->areas = rt_alloc(t, n * sizeof *out->areas);
    for (size_t i = 0; out->areas != NULL && i < n; i++) {
        Civic__Volunteers__V1__AreaVolunteerSummary *a = rt_alloc(t, sizeof *a);
        if (a == NULL)
            break;
        civic__volunteers__v1__area_volunteer_summary__init(a);
        a->area_id = ids[i];
        for (int d = 0; d < 7; d++)
            a->minutes_this_week += vol_day_get(t, s, 'A', rt_day_add(monday, d), ids[i]);
        a->hours_this_week = (double) a->minutes_this_week / 60.0;
        a->volunteers_active = (uint32_t) vol_week_get(t, s, monday, ids[i]);
        a->volunteers_registered = (uint32_t) vol_count_get(t, s, 'A', ids[i]);
        out->areas[out->n_areas++] = a;
    }
    return rt_txn_status(t);
}
