// The points service's state and the pieces its files share. Domain:
// ../../../shared/design/domain.md, "Places".
//
//   store.c            key layouts; records with their indexes and counters
//   view.c             what callers see: pages of an index, masked phones
//   handlers_areas.c   areas (the grid hierarchy) and responsible units
//   handlers_points.c  points
//   handlers_patrols.c patrols and coverage
//   check.c            an index and counter audit for tests
//   service.c          the handler table and the service's state
#ifndef POINTS_H
#define POINTS_H

#include <lmdb.h>
#include <stddef.h>

#include "civic/points/v1/points.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "rt_check.h"
#include "rt_key.h"
#include "rt_main.h"
#include "rt_page.h"

typedef Civic__Points__V1__Area points_area;
typedef Civic__Points__V1__Unit points_unit;
typedef Civic__Points__V1__Point points_point;
typedef Civic__Points__V1__Patrol points_patrol;

#define POINTS_LEVEL_AREA CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA
#define POINTS_LEVEL_GRID CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_GRID
#define POINTS_ACTIVE CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ACTIVE
#define POINTS_ARCHIVED CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ARCHIVED

typedef struct points_svc {
    rt_store *store;
    int tz_offset_min;
    // Databases (store.c lists every key layout).
    MDB_dbi areas, areas_by_parent;
    MDB_dbi units, units_by_area;
    MDB_dbi points, pts_by_grid, pts_by_area, pts_by_name;
    MDB_dbi patrols, patrols_by_point, patrols_by_day;
    MDB_dbi counts, cov_point, cov_area, cov_grid;
} points_svc;

extern const rt_service_def points_service_def;

// points_init and points_fini are the service's rt_app hooks.
int points_init(void **state, rt_store *store, const rt_config *cfg);
void points_fini(void *state);

// The databases, for the store's options.
extern const char *const points_dbs[];

// points_mask_has tells whether a write sets path: a create (mask NULL) sets
// every field, an update only those its mask names.
static inline int
points_mask_has(const Google__Protobuf__FieldMask *mask, const char *path)
{
    return mask == NULL || rt_mask_has(mask, path);
}

// --- store.c: records, their indexes and counters ---

// points_*_get read a record into the call's arena. When it does not exist
// they record NOT_FOUND naming field ("unit.area_id") and return NULL; with
// field NULL the id came from an index, so a missing record is INTERNAL.
points_area *points_area_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field);
points_unit *points_unit_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field);
points_point *points_point_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field);
points_patrol *points_patrol_get(rt_txn *t, const points_svc *s, uint64_t id, const char *field);

// points_*_put store a record with its index entries and counters; old is
// the stored record it replaces (NULL when new), so that entries and counts
// move with changed fields. Neither record is changed.
void points_area_put(rt_txn *t, const points_svc *s, const points_area *a, const points_area *old);
void points_unit_put(rt_txn *t, const points_svc *s, const points_unit *u, const points_unit *old);
void points_point_put(rt_txn *t, const points_svc *s, const points_point *p,
                      const points_point *old);
// points_patrol_put stores a new patrol: patrols are never changed.
void points_patrol_put(rt_txn *t, const points_svc *s, const points_patrol *p);

// Counters. points_active_count: ACTIVE points of an area ('A') or grid ('G').
// points_patrols_on: a point's patrols on a day (cov_point).
// points_cov_count: the cov_area or cov_grid counter of (day, id).
uint32_t points_active_count(rt_txn *t, const points_svc *s, char tag, uint64_t id);
uint32_t points_patrols_on(rt_txn *t, const points_svc *s, uint64_t point_id, int32_t day);
uint32_t points_cov_count(rt_txn *t, MDB_dbi db, int32_t day, uint64_t id);

// Key builders, one per index or counter; check.c rebuilds keys with them.
void points_key_id(rt_key *k, uint64_t id);
void points_key_area_parent(rt_key *k, const points_area *a);
void points_key_unit_area(rt_key *k, const points_unit *u);
void points_key_point_grid(rt_key *k, const points_point *p);
void points_key_point_area(rt_key *k, const points_point *p);
void points_key_point_name(rt_key *k, const points_point *p);
void points_key_patrol_point(rt_key *k, const points_patrol *p);
void points_key_patrol_day(rt_key *k, const points_patrol *p);
void points_key_count(rt_key *k, char tag, uint64_t id);
void points_key_point_day(rt_key *k, uint64_t point_id, int32_t day);
void points_key_day(rt_key *k, int32_t day, uint64_t id);

// --- view.c: what callers see ---

// Which index a page token belongs to: a token is only good for the list
// (and index) that wrote it.
enum {
    POINTS_PAGE_AREAS = 1,
    POINTS_PAGE_AREAS_BY_PARENT,
    POINTS_PAGE_UNITS,
    POINTS_PAGE_UNITS_BY_AREA,
    POINTS_PAGE_POINTS,
    POINTS_PAGE_POINTS_BY_GRID,
    POINTS_PAGE_POINTS_BY_AREA,
    POINTS_PAGE_POINTS_BY_NAME,
    POINTS_PAGE_PATROLS_BY_POINT,
    POINTS_PAGE_PATROLS_BY_DAY,
    POINTS_PAGE_COVERAGE_BY_AREA,
    POINTS_PAGE_COVERAGE_BY_GRID,
};

// points_*_view make a record fit for the caller's eyes, in place: phone
// numbers are masked for every role but admin, and a patrol's location
// (a movement track: sensitive personal data) is shown only to admins and
// the patroller. Call them after the record is stored and its event
// written; they never change what pointed-to objects hold, so a record that
// shares them with another is safe.
void points_unit_view(rt_txn *t, const rt_call *call, points_unit *u);
void points_point_view(rt_txn *t, const rt_call *call, points_point *p);
void points_patrol_view(rt_txn *t, const rt_call *call, points_patrol *p);

// --- check.c ---

// points_check_indexes audits the store in t: every index entry names an
// existing record whose fields give that very key, every record has its
// entries, and every counter equals a brute-force count from the records.
// Returns 0 when all agree; -1 with the first disagreement described in
// err; or the transaction's civic code if it failed (message on t).
int points_check_indexes(rt_txn *t, const points_svc *s, char *err, size_t n);

// --- handlers ---
int handle_create_area(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_area(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_update_area(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_areas(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_create_unit(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_unit(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_update_unit(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_units(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_create_point(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_point(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_update_point(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_archive_point(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_points(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_record_patrol(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_patrols(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_coverage(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_coverage_summary(rt_txn *t, const void *in, void *out, const rt_call *call);

// --- demo.c ---

// points_demo_load loads the demo campaign through the public API at url
// when the store is empty (signing as admin with key, if given). Returns 0,
// or -1 if any call failed (logged).
int points_demo_load(const char *url, const civic_key *key, int tz_offset_min);

// points_ready is the rt_app hook that loads the demo when --demo is set.
int points_ready(void *state, const rt_config *cfg);

#endif
