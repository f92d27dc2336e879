// Handlers for patrol check-ins (日巡查 / 打卡) and the coverage figures built
// on them: which active points were patrolled on a local day.
//
// Coverage is read from counters that RecordPatrol keeps in its own
// transaction (store.c): a report costs one read per area, and a coverage
// page one read per point listed. Nothing here scans patrols.
#include <string.h>

#include "points.h"

// A patrol's own clock may lag (offline sync) by up to a week and run ahead
// by a few minutes; outside that window the time is more likely wrong than
// late.
#define PATROL_PAST_MS (7LL * 24 * 3600 * 1000)
#define PATROL_FUTURE_MS (5LL * 60 * 1000)

int
handle_record_patrol(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__RecordPatrolRequest *in = vin;
    Civic__Points__V1__RecordPatrolResponse *out = vout;
    const points_svc *s = call->service;
    if (in->point_id == 0)
        rt_txn_violation(t, "point_id", "is required");
    rt_check_enum(t, "result", &civic__points__v1__patrol_result__descriptor, in->result, 1);
    rt_check_str(t, "note", in->note, 2000, 0);
    int64_t when = call->now_ms;
    if (in->patrol_time != NULL && rt_check_ts(t, "patrol_time", in->patrol_time)) {
        when = rt_ts_ms(in->patrol_time, call->now_ms);
        if (when < call->now_ms - PATROL_PAST_MS || when > call->now_ms + PATROL_FUTURE_MS)
            rt_txn_violation(t, "patrol_time",
                             "must be at most 7 days before and 5 minutes after the server's time");
    }
    if (in->location != NULL)
        rt_check_latlng(t, "location", in->location->lat, in->location->lng);
    if (rt_txn_status(t))
        return rt_txn_status(t);

    points_point *pt = points_point_get(t, s, in->point_id, "point_id");
    if (pt == NULL)
        return rt_txn_status(t);
    if (pt->state != POINTS_ACTIVE)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "point %llu is ARCHIVED: archived points are not patrolled",
                           (unsigned long long) pt->id);
    points_patrol *p = rt_alloc(t, sizeof *p);
    if (p == NULL)
        return rt_txn_status(t);
    civic__points__v1__patrol__init(p);
    p->id = rt_seq_next(t, "patrol");
    p->point_id = pt->id;
    p->patroller = rt_strdup(t, call->principal);
    p->patrol_time = rt_ts_new(t, when);
    p->receive_time = rt_ts_new(t, call->now_ms);
    p->result = in->result;
    p->note = in->note;
    p->location = in->location;
    if (in->location != NULL && pt->location != NULL)
        p->distance_m = rt_distance_m(in->location->lat, in->location->lng, pt->location->lat,
                                      pt->location->lng);
    p->local_day = rt_local_day(when, s->tz_offset_min);
    p->area_id = pt->area_id;
    p->grid_id = pt->grid_id;
    points_patrol_put(t, s, p);
    rt_event(t, "patrol.recorded", p->id, &p->base);
    out->patrol = p;
    return rt_txn_status(t);
}

typedef struct patrol_list {
    const points_svc *s;
    const rt_call *call;
    Civic__Points__V1__ListPatrolsResponse *out;
} patrol_list;

static int
visit_patrol(rt_txn *t, uint64_t id, void *arg)
{
    patrol_list *l = arg;
    points_patrol *p = points_patrol_get(t, l->s, id, NULL);
    if (p == NULL)
        return 0;
    points_patrol_view(t, l->call, p);
    l->out->patrols[l->out->n_patrols++] = p;
    return 1;
}

int
handle_list_patrols(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__ListPatrolsRequest *in = vin;
    Civic__Points__V1__ListPatrolsResponse *out = vout;
    const points_svc *s = call->service;
    if (in->point_id == 0 && in->local_day == 0)
        rt_txn_violation(t, "point_id", "point_id or local_day is required");
    if (in->local_day != 0)
        rt_check_day(t, "local_day", in->local_day);

    // By day (and point): patrols_by_day; by point alone: patrols_by_point.
    // Either way in patrol id order, which is the order they arrived.
    rt_key prefix;
    rt_key_init(&prefix);
    if (in->local_day != 0)
        rt_key_u32(&prefix, (uint32_t) in->local_day);
    if (in->point_id != 0)
        rt_key_u64(&prefix, in->point_id);
    rt_page pg;
    if (rt_page_init(t, &pg, in->local_day ? s->patrols_by_day : s->patrols_by_point,
                         in->local_day ? POINTS_PAGE_PATROLS_BY_DAY : POINTS_PAGE_PATROLS_BY_POINT,
                         &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    out->patrols = rt_alloc(t, pg.limit * sizeof *out->patrols);
    patrol_list l = {s, call, out};
    if (out->patrols != NULL)
        rt_page_walk(t, &pg, visit_patrol, &l, &out->next_page_token);
    return rt_txn_status(t);
}

// coverage_day is the request's day, or today in the campaign's time zone.
static int32_t
coverage_day(rt_txn *t, const points_svc *s, const rt_call *call, int32_t day)
{
    if (day == 0)
        return rt_local_day(call->now_ms, s->tz_offset_min);
    rt_check_day(t, "local_day", day);
    return day;
}

typedef struct coverage_list {
    const points_svc *s;
    const Civic__Points__V1__GetCoverageRequest *in;
    Civic__Points__V1__GetCoverageResponse *out;
} coverage_list;

static int
visit_coverage(rt_txn *t, uint64_t id, void *arg)
{
    coverage_list *l = arg;
    points_point *p = points_point_get(t, l->s, id, NULL);
    if (p == NULL || p->state != POINTS_ACTIVE)
        return 0;
    uint32_t n = points_patrols_on(t, l->s, p->id, l->out->local_day);
    if ((l->in->filter == CIVIC__POINTS__V1__COVERAGE_FILTER__COVERAGE_FILTER_PATROLLED && n == 0) ||
        (l->in->filter == CIVIC__POINTS__V1__COVERAGE_FILTER__COVERAGE_FILTER_UNPATROLLED && n > 0))
        return 0;
    Civic__Points__V1__PointCoverage *c = rt_alloc(t, sizeof *c);
    if (c == NULL)
        return 0;
    civic__points__v1__point_coverage__init(c);
    c->point_id = p->id;
    c->name = p->name;
    c->patrols = n;
    l->out->items[l->out->n_items++] = c;
    return 1;
}

int
handle_get_coverage(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__GetCoverageRequest *in = vin;
    Civic__Points__V1__GetCoverageResponse *out = vout;
    const points_svc *s = call->service;
    int32_t day = coverage_day(t, s, call, in->local_day);
    rt_check_enum(t, "filter", &civic__points__v1__coverage_filter__descriptor, in->filter, 0);
    if ((in->area_id == 0) == (in->grid_id == 0))
        rt_txn_violation(t, "area_id", "exactly one of area_id and grid_id is required");
    int by_area = in->area_id != 0;
    uint64_t id = by_area ? in->area_id : in->grid_id;
    rt_key prefix;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, id);
    rt_page pg;
    if (rt_page_init(t, &pg, by_area ? s->pts_by_area : s->pts_by_grid,
                         by_area ? POINTS_PAGE_COVERAGE_BY_AREA : POINTS_PAGE_COVERAGE_BY_GRID,
                         &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);

    const char *field = by_area ? "area_id" : "grid_id";
    points_area *node = points_area_get(t, s, id, field);
    if (node == NULL)
        return rt_txn_status(t);
    if (node->level != (by_area ? POINTS_LEVEL_AREA : POINTS_LEVEL_GRID))
        return rt_txn_violation(t, field, "names a node that is not %s",
                                by_area ? "an area (区 / 平台)" : "a grid (网格)");
    out->local_day = day;
    out->points = points_active_count(t, s, by_area ? 'A' : 'G', id);
    out->patrolled = points_cov_count(t, by_area ? s->cov_area : s->cov_grid, day, id);
    out->items = rt_alloc(t, pg.limit * sizeof *out->items);
    coverage_list l = {s, in, out};
    if (out->items != NULL)
        rt_page_walk(t, &pg, visit_coverage, &l, &out->next_page_token);
    return rt_txn_status(t);
}

int
handle_get_coverage_summary(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__GetCoverageSummaryRequest *in = vin;
    Civic__Points__V1__GetCoverageSummaryResponse *out = vout;
    const points_svc *s = call->service;
    out->local_day = coverage_day(t, s, call, in->local_day);
    MDB_cursor *c;
    if (rt_txn_status(t) ||
        rt_txn_mdb(t, mdb_cursor_open(t->txn, s->areas_by_parent, &c), "cursor"))
        return rt_txn_status(t);

    // The areas are the children of parent 0, in id order. The list grows
    // by doubling in the arena (there are a handful: eight in Huai'an).
    size_t cap = 0;
    unsigned char zero[8] = {0};
    MDB_val k = {sizeof zero, zero}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && rt_txn_status(t) == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || memcmp(k.mv_data, zero, 8) != 0)
            break;
        points_area *a = points_area_get(t, s, rt_be64_get((unsigned char *) k.mv_data + 8), NULL);
        if (out->n_areas == cap) {
            cap = cap ? 2 * cap : 16;
            Civic__Points__V1__AreaCoverage **grown = rt_alloc(t, cap * sizeof *grown);
            if (grown != NULL && out->n_areas > 0)
                memcpy(grown, out->areas, out->n_areas * sizeof *grown);
            out->areas = grown;
        }
        Civic__Points__V1__AreaCoverage *ac = rt_alloc(t, sizeof *ac);
        if (a == NULL || out->areas == NULL || ac == NULL)
            break;
        civic__points__v1__area_coverage__init(ac);
        ac->area_id = a->id;
        ac->name = a->name;
        ac->points = points_active_count(t, s, 'A', a->id);
        ac->patrolled = points_cov_count(t, s->cov_area, out->local_day, a->id);
        ac->share = ac->points ? (double) ac->patrolled / ac->points : 0;
        out->areas[out->n_areas++] = ac;
    }
    if (rc != 0)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    return rt_txn_status(t);
}
