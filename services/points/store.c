// The points service's key layout. Every index entry and counter is written
// in the same transaction as its record, by the *_put functions here, so no
// handler touches an index itself and no list or report scans everything.
//
//   areas             id                              → Area
//   areas_by_parent   parent_id, id                   → ""  (parent 0: the areas)
//   units             id                              → Unit
//   units_by_area     area_id, id                     → ""
//   points            id                              → Point (archived ones too)
//   pts_by_grid       grid_id, id                     → ""  (archived points too)
//   pts_by_area       area_id, id                     → ""  (archived points too)
//   pts_by_name       name bytes, NUL, id             → ""  (archived points too)
//   patrols           id                              → Patrol
//   patrols_by_point  point_id, patrol id             → ""
//   patrols_by_day    local_day, point_id, patrol id  → ""
//   counts            'A', area_id                    → ACTIVE points in the area
//                     'G', grid_id                    → ACTIVE points in the grid
//   cov_point         point_id, local_day             → patrols of the point that day
//   cov_area          local_day, area_id              → ACTIVE points of the area
//                                                       patrolled that day
//   cov_grid          local_day, grid_id              → the same per grid
//
// Ids are u64 and local days (YYYYMMDD) u32, big-endian, so keys sort the
// way lists read them; every index key ends with its record's id. Counters
// are rt_counter_add's signed 64-bit values, deleted at zero (absent is 0).
//
// Caveats:
// - cov_area and cov_grid answer "of the points active there now, how many
//   were patrolled that day", so that "patrolled" never exceeds "points".
//   Archiving a point, or moving it to another grid, therefore moves its
//   coverage on every day it was patrolled: a walk over its cov_point
//   entries (keyed by point first for this), one per day patrolled.
// - Index entries stay when a point is archived: lists filter them out.
// - "points" is today's count of ACTIVE points: a past day's coverage is
//   measured against the points as they are now, not as they were then.
#include <string.h>

#include "points.h"

const char *const points_dbs[] = {
    "areas",       "areas_by_parent",
    "units",       "units_by_area",
    "points",      "pts_by_grid",      "pts_by_area", "pts_by_name",
    "patrols",     "patrols_by_point", "patrols_by_day",
    "counts",      "cov_point",        "cov_area",    "cov_grid",
    NULL,
};

// --- keys ---

void
points_key_id(rt_key *k, uint64_t id)
{
    rt_key_init(k);
    rt_key_u64(k, id);
}

void
points_key_area_parent(rt_key *k, const points_area *a)
{
    rt_key_init(k);
    rt_key_u64(k, a->parent_id);
    rt_key_u64(k, a->id);
}

void
points_key_unit_area(rt_key *k, const points_unit *u)
{
    rt_key_init(k);
    rt_key_u64(k, u->area_id);
    rt_key_u64(k, u->id);
}

void
points_key_point_grid(rt_key *k, const points_point *p)
{
    rt_key_init(k);
    rt_key_u64(k, p->grid_id);
    rt_key_u64(k, p->id);
}

void
points_key_point_area(rt_key *k, const points_point *p)
{
    rt_key_init(k);
    rt_key_u64(k, p->area_id);
    rt_key_u64(k, p->id);
}

void
points_key_point_name(rt_key *k, const points_point *p)
{
    rt_key_init(k);
    rt_key_str(k, p->name);
    rt_key_u64(k, p->id);
}

void
points_key_patrol_point(rt_key *k, const points_patrol *p)
{
    rt_key_init(k);
    rt_key_u64(k, p->point_id);
    rt_key_u64(k, p->id);
}

void
points_key_patrol_day(rt_key *k, const points_patrol *p)
{
    rt_key_init(k);
    rt_key_u32(k, (uint32_t) p->local_day);
    rt_key_u64(k, p->point_id);
    rt_key_u64(k, p->id);
}

void
points_key_count(rt_key *k, char tag, uint64_t id)
{
    rt_key_init(k);
    rt_key_bytes(k, &tag, 1);
    rt_key_u64(k, id);
}

void
points_key_point_day(rt_key *k, uint64_t point_id, int32_t day)
{
    rt_key_init(k);
    rt_key_u64(k, point_id);
    rt_key_u32(k, (uint32_t) day);
}

void
points_key_day(rt_key *k, int32_t day, uint64_t id)
{
    rt_key_init(k);
    rt_key_u32(k, (uint32_t) day);
    rt_key_u64(k, id);
}

// --- records ---

// counter_move moves one unit from the counter under from to the one under
// to; NULL on either side means "not counted".
static void
counter_move(rt_txn *t, MDB_dbi db, const rt_key *from, const rt_key *to)
{
    if (from != NULL && to != NULL && from->len == to->len && memcmp(from->b, to->b, to->len) == 0)
        return;
    if (from != NULL)
        rt_counter_add(t, db, from->b, from->len, -1);
    if (to != NULL)
        rt_counter_add(t, db, to->b, to->len, 1);
}

// count_move moves a point's unit of the ACTIVE-point counter (tag, id)
// from one id to another; id 0 means "not counted".
static void
count_move(rt_txn *t, const points_svc *s, char tag, uint64_t from, uint64_t to)
{
    rt_key f, k;
    points_key_count(&f, tag, from);
    points_key_count(&k, tag, to);
    counter_move(t, s->counts, from ? &f : NULL, to ? &k : NULL);
}

// day_move does the same for a (day, id) coverage counter.
static void
day_move(rt_txn *t, MDB_dbi db, int32_t day, uint64_t from, uint64_t to)
{
    rt_key f, k;
    points_key_day(&f, day, from);
    points_key_day(&k, day, to);
    counter_move(t, db, from ? &f : NULL, to ? &k : NULL);
}

// coverage_move moves point id's coverage, on every day it was patrolled,
// from the area and grid where it counted (from; NULL: nowhere) to where it
// counts now (to; NULL: nowhere).
static void
coverage_move(rt_txn *t, const points_svc *s, uint64_t id, const points_point *from,
              const points_point *to)
{
    rt_key prefix;
    MDB_cursor *c;
    points_key_id(&prefix, id);
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, s->cov_point, &c), "cursor"))
        return;
    MDB_val k = {prefix.len, prefix.b}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && rt_txn_status(t) == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 12 || memcmp(k.mv_data, prefix.b, 8) != 0)
            break;
        int32_t day = (int32_t) rt_be32_get((const unsigned char *) k.mv_data + 8);
        day_move(t, s->cov_area, day, from ? from->area_id : 0, to ? to->area_id : 0);
        day_move(t, s->cov_grid, day, from ? from->grid_id : 0, to ? to->grid_id : 0);
    }
    if (rc != 0)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
}

points_area *
points_area_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->areas, &civic__points__v1__area__descriptor, "area", id, field);
}

points_unit *
points_unit_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->units, &civic__points__v1__unit__descriptor, "unit", id, field);
}

points_point *
points_point_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->points, &civic__points__v1__point__descriptor, "point", id, field);
}

points_patrol *
points_patrol_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->patrols, &civic__points__v1__patrol__descriptor, "patrol", id, field);
}

void
points_area_put(rt_txn *t, const points_svc *s, const points_area *a, const points_area *old)
{
    rt_key k, ok;
    rt_record_put(t, s->areas, a->id, &a->base);
    points_key_area_parent(&k, a);
    if (old != NULL)
        points_key_area_parent(&ok, old);
    rt_index_move(t, s->areas_by_parent, old ? &ok : NULL, &k, "", 0, 1);
}

void
points_unit_put(rt_txn *t, const points_svc *s, const points_unit *u, const points_unit *old)
{
    rt_key k, ok;
    rt_record_put(t, s->units, u->id, &u->base);
    points_key_unit_area(&k, u);
    if (old != NULL)
        points_key_unit_area(&ok, old);
    rt_index_move(t, s->units_by_area, old ? &ok : NULL, &k, "", 0, 1);
}

void
points_point_put(rt_txn *t, const points_svc *s, const points_point *p, const points_point *old)
{
    rt_key k, ok;
    rt_record_put(t, s->points, p->id, &p->base);
    points_key_point_grid(&k, p);
    if (old != NULL)
        points_key_point_grid(&ok, old);
    rt_index_move(t, s->pts_by_grid, old ? &ok : NULL, &k, "", 0, 1);
    points_key_point_area(&k, p);
    if (old != NULL)
        points_key_point_area(&ok, old);
    rt_index_move(t, s->pts_by_area, old ? &ok : NULL, &k, "", 0, 1);
    points_key_point_name(&k, p);
    if (old != NULL)
        points_key_point_name(&ok, old);
    rt_index_move(t, s->pts_by_name, old ? &ok : NULL, &k, "", 0, 1);

    // Only ACTIVE points count: creating, archiving and moving between grids
    // all come down to moving the point's one unit, and its coverage on the
    // days it was patrolled, from where it counted to where it counts now.
    const points_point *was = old != NULL && old->state == POINTS_ACTIVE ? old : NULL;
    const points_point *is = p->state == POINTS_ACTIVE ? p : NULL;
    if (was == is || (was != NULL && is != NULL && was->grid_id == is->grid_id))
        return; // was == is: both NULL, an archived point changing

    count_move(t, s, 'G', was ? was->grid_id : 0, is ? is->grid_id : 0);
    count_move(t, s, 'A', was ? was->area_id : 0, is ? is->area_id : 0);
    if (old != NULL)
        coverage_move(t, s, p->id, was, is);
}

void
points_patrol_put(rt_txn *t, const points_svc *s, const points_patrol *p)
{
    rt_key k;
    rt_record_put(t, s->patrols, p->id, &p->base);
    points_key_patrol_point(&k, p);
    rt_index_move(t, s->patrols_by_point, NULL, &k, "", 0, 1);
    points_key_patrol_day(&k, p);
    rt_index_move(t, s->patrols_by_day, NULL, &k, "", 0, 1);

    // The point's first patrol of the day makes it a patrolled point of its
    // area and grid that day; later ones only add to its own count. (Only
    // ACTIVE points are patrolled, and a patrol's area and grid are its
    // point's.)
    points_key_point_day(&k, p->point_id, p->local_day);
    if (rt_counter_add(t, s->cov_point, k.b, k.len, 1) == 1) {
        points_key_day(&k, p->local_day, p->area_id);
        rt_counter_add(t, s->cov_area, k.b, k.len, 1);
        points_key_day(&k, p->local_day, p->grid_id);
        rt_counter_add(t, s->cov_grid, k.b, k.len, 1);
    }
}

// --- counters ---

static uint32_t
clamp_u32(int64_t n)
{
    return n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (uint32_t) n;
}

uint32_t
points_active_count(rt_txn *t, const points_svc *s, char tag, uint64_t id)
{
    rt_key k;
    points_key_count(&k, tag, id);
    return clamp_u32(rt_counter_get(t, s->counts, k.b, k.len));
}

uint32_t
points_patrols_on(rt_txn *t, const points_svc *s, uint64_t point_id, int32_t day)
{
    rt_key k;
    points_key_point_day(&k, point_id, day);
    return clamp_u32(rt_counter_get(t, s->cov_point, k.b, k.len));
}

uint32_t
points_cov_count(rt_txn *t, MDB_dbi db, int32_t day, uint64_t id)
{
    rt_key k;
    points_key_day(&k, day, id);
    return clamp_u32(rt_counter_get(t, db, k.b, k.len));
}
