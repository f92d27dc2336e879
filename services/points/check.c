// An audit of the points store for tests: every index entry and counter is
// checked against the records, brute force, as store.c's header describes
// them. It reads everything, so it is for tests and offline checks, never
// for a live call. Records are unpacked on the heap and freed one by one,
// not in the call's arena, so a large store does not exhaust the arena.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "points.h"

// A counter key (a tag and an id, or a local day and an id), zero-padded.
typedef struct ckey {
    unsigned char b[12];
} ckey;

typedef struct klist {
    ckey *v;
    size_t n, cap;
} klist;

// A point patrolled on a day counts once that day in cov_area and cov_grid,
// where it is now, if it is ACTIVE now: one tuple per patrol finds them.
typedef struct visit {
    int32_t day;
    uint64_t point_id, area_id, grid_id; // the point's area and grid now
    int active;                          // the point is ACTIVE now
} visit;

// How a counter key reads, for messages.
typedef enum key_shape { TAG_ID, DAY_ID, ID_DAY } key_shape;

typedef struct audit {
    rt_audit r;    // the transaction, and the first disagreement found
    const points_svc *s;
    klist counts;  // one key per ACTIVE point in its area and grid
    klist cov_point;
    visit *visits;
    size_t n_visits, cap_visits;
} audit;

static void
klist_push(audit *a, klist *l, const rt_key *k)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        ckey *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            rt_txn_fail(a->r.t, CIVIC_RESOURCE_EXHAUSTED, "audit: out of memory");
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    memcpy(l->v[l->n].b, k->b, k->len);
    l->n++;
}

static size_t
key_len(key_shape shape)
{
    return shape == TAG_ID ? 9 : 12;
}

static void
key_text(char *buf, size_t n, const void *key, key_shape shape)
{
    const unsigned char *p = key;
    if (shape == TAG_ID)
        snprintf(buf, n, "(%c, %llu)", p[0], (unsigned long long) rt_be64_get(p + 1));
    else if (shape == DAY_ID)
        snprintf(buf, n, "(day %u, %llu)", (unsigned) rt_be32_get(p),
                 (unsigned long long) rt_be64_get(p + 4));
    else
        snprintf(buf, n, "(%llu, day %u)", (unsigned long long) rt_be64_get(p),
                 (unsigned) rt_be32_get(p + 8));
}

// load reads record id from db onto the heap; NULL if absent. Free with
// protobuf_c_message_free_unpacked(msg, NULL).
static void *
load(audit *a, MDB_dbi db, uint64_t id, const ProtobufCMessageDescriptor *desc)
{
    rt_key k;
    MDB_val v;
    points_key_id(&k, id);
    MDB_val kv = {k.len, k.b};
    int rc = mdb_get(a->r.t->txn, db, &kv, &v);
    if (rc != 0) {
        rt_txn_mdb(a->r.t, rc, "audit");
        return NULL;
    }
    void *rec = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    if (rec == NULL)
        rt_audit_bad(&a->r, "%s %llu does not decode", desc->short_name, (unsigned long long) id);
    return rec;
}

static void
unload(void *rec)
{
    if (rec != NULL)
        protobuf_c_message_free_unpacked(rec, NULL);
}

// area_is tells whether area id exists and has the level (0: any); it gives
// the node's top-level area in *area_id.
static int
area_is(audit *a, uint64_t id, int level, uint64_t *area_id)
{
    points_area *n = load(a, a->s->areas, id, &civic__points__v1__area__descriptor);
    int ok = n != NULL && (level == 0 || (int) n->level == level);
    if (ok && area_id != NULL)
        *area_id = n->area_id;
    unload(n);
    return ok;
}

// --- per-record checks: derived fields, and the tallies for counters ---

static void
check_area(audit *a, const void *rec)
{
    const points_area *x = rec;
    uint64_t top = 0;
    if (x->level == POINTS_LEVEL_AREA) {
        if (x->parent_id != 0 || x->area_id != x->id)
            rt_audit_bad(&a->r, "area %llu: an area's parent must be 0 and area_id its own id",
                (unsigned long long) x->id);
    } else if (x->level < POINTS_LEVEL_AREA || x->level > POINTS_LEVEL_GRID ||
               !area_is(a, x->parent_id, (int) x->level - 1, &top) || top != x->area_id) {
        rt_audit_bad(&a->r, "area %llu: parent %llu is missing, of the wrong level, or of another area",
            (unsigned long long) x->id, (unsigned long long) x->parent_id);
    }
}

static void
check_unit(audit *a, const void *rec)
{
    const points_unit *u = rec;
    if (!area_is(a, u->area_id, POINTS_LEVEL_AREA, NULL))
        rt_audit_bad(&a->r, "unit %llu: area %llu is missing or not an area", (unsigned long long) u->id,
            (unsigned long long) u->area_id);
}

static void
check_point(audit *a, const void *rec)
{
    const points_point *p = rec;
    uint64_t top = 0;
    if (!area_is(a, p->grid_id, POINTS_LEVEL_GRID, &top) || top != p->area_id)
        rt_audit_bad(&a->r, "point %llu: grid %llu is missing, not a grid, or not in area %llu",
            (unsigned long long) p->id, (unsigned long long) p->grid_id,
            (unsigned long long) p->area_id);
    if (p->state != POINTS_ACTIVE && p->state != POINTS_ARCHIVED)
        rt_audit_bad(&a->r, "point %llu: state %d", (unsigned long long) p->id, (int) p->state);
    if (p->state != POINTS_ACTIVE)
        return;
    rt_key k;
    points_key_count(&k, 'A', p->area_id);
    klist_push(a, &a->counts, &k);
    points_key_count(&k, 'G', p->grid_id);
    klist_push(a, &a->counts, &k);
}

static void
check_patrol(audit *a, const void *rec)
{
    const points_patrol *p = rec;
    points_point *pt = load(a, a->s->points, p->point_id, &civic__points__v1__point__descriptor);
    if (pt == NULL) {
        rt_audit_bad(&a->r, "patrol %llu: point %llu is missing", (unsigned long long) p->id,
            (unsigned long long) p->point_id);
        return;
    }
    visit vt = {p->local_day, p->point_id, pt->area_id, pt->grid_id, pt->state == POINTS_ACTIVE};
    unload(pt);
    if (p->patrol_time == NULL ||
        p->local_day != rt_local_day(rt_ts_ms(p->patrol_time, 0), a->s->tz_offset_min))
        rt_audit_bad(&a->r, "patrol %llu: local_day %d is not the day of its patrol_time",
            (unsigned long long) p->id, (int) p->local_day);
    rt_key k;
    points_key_point_day(&k, p->point_id, p->local_day);
    klist_push(a, &a->cov_point, &k);
    if (a->n_visits == a->cap_visits) {
        size_t cap = a->cap_visits ? 2 * a->cap_visits : 256;
        visit *v = realloc(a->visits, cap * sizeof *v);
        if (v == NULL) {
            rt_txn_fail(a->r.t, CIVIC_RESOURCE_EXHAUSTED, "audit: out of memory");
            return;
        }
        a->visits = v;
        a->cap_visits = cap;
    }
    a->visits[a->n_visits++] = vt;
}

// --- records and their indexes ---

typedef void (*key_fn)(rt_key *k, const void *rec);

static void
ix_area_parent(rt_key *k, const void *r)
{
    points_key_area_parent(k, r);
}
static void
ix_unit_area(rt_key *k, const void *r)
{
    points_key_unit_area(k, r);
}
static void
ix_point_grid(rt_key *k, const void *r)
{
    points_key_point_grid(k, r);
}
static void
ix_point_area(rt_key *k, const void *r)
{
    points_key_point_area(k, r);
}
static void
ix_point_name(rt_key *k, const void *r)
{
    points_key_point_name(k, r);
}
static void
ix_patrol_point(rt_key *k, const void *r)
{
    points_key_patrol_point(k, r);
}
static void
ix_patrol_day(rt_key *k, const void *r)
{
    points_key_patrol_day(k, r);
}

typedef struct index_def {
    const char *name;
    MDB_dbi db;
    key_fn key;
} index_def;

typedef struct table_def {
    const char *name;
    MDB_dbi db;
    const ProtobufCMessageDescriptor *desc;
    void (*check)(audit *a, const void *rec);
    index_def ix[3];
} table_def;

static uint64_t
record_id(const table_def *td, const void *rec)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(td->desc, "id");
    uint64_t id;
    memcpy(&id, (const char *) rec + f->offset, sizeof id);
    return id;
}

// check_records walks a record table: each record is checked, and its key
// in each index must be there (with an empty value).
static void
check_records(audit *a, const table_def *td)
{
    MDB_cursor *c;
    MDB_val k, v;
    if (rt_txn_mdb(a->r.t, mdb_cursor_open(a->r.t->txn, td->db, &c), "audit"))
        return;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && !rt_audit_failed(&a->r); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        void *rec = protobuf_c_message_unpack(td->desc, NULL, v.mv_size, v.mv_data);
        if (k.mv_size != 8 || rec == NULL) {
            rt_audit_bad(&a->r, "%s: a %zu-byte key, or a record that does not decode", td->name, k.mv_size);
            unload(rec);
            break;
        }
        uint64_t id = record_id(td, rec);
        if (id != rt_be64_get(k.mv_data))
            rt_audit_bad(&a->r, "%s: record %llu is stored under id %llu", td->name, (unsigned long long) id,
                (unsigned long long) rt_be64_get(k.mv_data));
        td->check(a, rec);
        for (size_t i = 0; i < 3 && td->ix[i].name != NULL && !rt_audit_failed(&a->r); i++) {
            rt_key ik;
            MDB_val e;
            td->ix[i].key(&ik, rec);
            MDB_val ikv = {ik.len, ik.b};
            int r = mdb_get(a->r.t->txn, td->ix[i].db, &ikv, &e);
            if (r == MDB_NOTFOUND || (r == 0 && e.mv_size != 0))
                rt_audit_bad(&a->r, "%s: %s record %llu has no entry", td->ix[i].name, td->name,
                    (unsigned long long) id);
            else
                rt_txn_mdb(a->r.t, r, "audit");
        }
        unload(rec);
    }
    if (rc != 0)
        rt_txn_mdb(a->r.t, rc, "audit");
    mdb_cursor_close(c);
}

// check_entries walks an index: each entry must name an existing record whose
// fields give that very key.
static void
check_entries(audit *a, const table_def *td, const index_def *ix)
{
    MDB_cursor *c;
    MDB_val k, v;
    if (rt_txn_mdb(a->r.t, mdb_cursor_open(a->r.t->txn, ix->db, &c), "audit"))
        return;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && !rt_audit_failed(&a->r); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8) {
            rt_audit_bad(&a->r, "%s: a %zu-byte key", ix->name, k.mv_size);
            break;
        }
        uint64_t id = rt_be64_get((const unsigned char *) k.mv_data + k.mv_size - 8);
        void *rec = load(a, td->db, id, td->desc);
        if (rec == NULL) {
            rt_audit_bad(&a->r, "%s: an entry names %s record %llu, which does not exist", ix->name, td->name,
                (unsigned long long) id);
            break;
        }
        rt_key want;
        ix->key(&want, rec);
        if (want.len != k.mv_size || memcmp(want.b, k.mv_data, want.len) != 0)
            rt_audit_bad(&a->r, "%s: the entry for %s record %llu does not match the record", ix->name,
                td->name, (unsigned long long) id);
        unload(rec);
    }
    if (rc != 0)
        rt_txn_mdb(a->r.t, rc, "audit");
    mdb_cursor_close(c);
}

// --- counters ---

static int
ckey_cmp(const void *x, const void *y)
{
    return memcmp(x, y, sizeof(ckey));
}

// check_counter compares a counter database with the keys tallied from the
// records: each counter must equal how often its key was tallied, and no
// other counter may exist (rt_counter_add deletes those that reach 0).
static void
check_counter(audit *a, MDB_dbi db, const char *name, klist *l, key_shape shape)
{
    size_t keylen = key_len(shape);
    MDB_cursor *c;
    MDB_val k, v;
    char kt[64];
    if (rt_audit_failed(&a->r) || rt_txn_mdb(a->r.t, mdb_cursor_open(a->r.t->txn, db, &c), "audit"))
        return;
    if (l->n > 0)
        qsort(l->v, l->n, sizeof *l->v, ckey_cmp);
    size_t i = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while ((rc == 0 || i < l->n) && !rt_audit_failed(&a->r)) {
        if (rc == 0 && (k.mv_size != keylen || v.mv_size != 8)) {
            rt_audit_bad(&a->r, "%s: a %zu-byte key or %zu-byte value", name, k.mv_size, v.mv_size);
            break;
        }
        size_t j = i;
        while (j < l->n && memcmp(&l->v[j], &l->v[i], sizeof l->v[i]) == 0)
            j++;
        int cmp = i == l->n ? 1 : rc != 0 ? -1 : memcmp(l->v[i].b, k.mv_data, keylen);
        if (cmp < 0) {
            key_text(kt, sizeof kt, l->v[i].b, shape);
            rt_audit_bad(&a->r, "%s: no counter %s; the records give %zu", name, kt, j - i);
        } else if (cmp > 0) {
            key_text(kt, sizeof kt, k.mv_data, shape);
            rt_audit_bad(&a->r, "%s: counter %s is %lld; the records give 0", name, kt,
                (long long) rt_be64_get(v.mv_data));
        } else if ((int64_t) rt_be64_get(v.mv_data) != (int64_t) (j - i)) {
            key_text(kt, sizeof kt, k.mv_data, shape);
            rt_audit_bad(&a->r, "%s: counter %s is %lld; the records give %zu", name, kt,
                (long long) rt_be64_get(v.mv_data), j - i);
        } else {
            i = j;
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(a->r.t, rc, "audit");
    mdb_cursor_close(c);
}

static int
visit_cmp(const void *x, const void *y)
{
    const visit *a = x, *b = y;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return a->point_id < b->point_id ? -1 : a->point_id > b->point_id;
}

// check_coverage checks cov_area and cov_grid: an ACTIVE point counts once
// on each day it was patrolled, in the area and grid it is in now.
static void
check_coverage(audit *a)
{
    klist areas = {0}, grids = {0};
    if (a->n_visits > 0)
        qsort(a->visits, a->n_visits, sizeof *a->visits, visit_cmp);
    for (size_t i = 0; i < a->n_visits && !rt_audit_failed(&a->r); i++) {
        const visit *v = &a->visits[i];
        if (!v->active || (i > 0 && v->day == v[-1].day && v->point_id == v[-1].point_id))
            continue;
        rt_key k;
        points_key_day(&k, v->day, v->area_id);
        klist_push(a, &areas, &k);
        points_key_day(&k, v->day, v->grid_id);
        klist_push(a, &grids, &k);
    }
    check_counter(a, a->s->cov_area, "cov_area", &areas, DAY_ID);
    check_counter(a, a->s->cov_grid, "cov_grid", &grids, DAY_ID);
    free(areas.v);
    free(grids.v);
}

int
points_check_indexes(rt_txn *t, const points_svc *s, char *err, size_t n)
{
    audit a = {.r = {.t = t, .err = err, .n = n}, .s = s};
    const table_def tables[] = {
        {"areas", s->areas, &civic__points__v1__area__descriptor, check_area,
         {{"areas_by_parent", s->areas_by_parent, ix_area_parent}}},
        {"units", s->units, &civic__points__v1__unit__descriptor, check_unit,
         {{"units_by_area", s->units_by_area, ix_unit_area}}},
        {"points", s->points, &civic__points__v1__point__descriptor, check_point,
         {{"pts_by_grid", s->pts_by_grid, ix_point_grid},
          {"pts_by_area", s->pts_by_area, ix_point_area},
          {"pts_by_name", s->pts_by_name, ix_point_name}}},
        {"patrols", s->patrols, &civic__points__v1__patrol__descriptor, check_patrol,
         {{"patrols_by_point", s->patrols_by_point, ix_patrol_point},
          {"patrols_by_day", s->patrols_by_day, ix_patrol_day}}},
    };
    if (n > 0)
        err[0] = '\0';
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !rt_audit_failed(&a.r); i++) {
        check_records(&a, &tables[i]);
        for (size_t j = 0; j < 3 && tables[i].ix[j].name != NULL && !rt_audit_failed(&a.r); j++)
            check_entries(&a, &tables[i], &tables[i].ix[j]);
    }
    check_counter(&a, s->counts, "counts", &a.counts, TAG_ID);
    check_counter(&a, s->cov_point, "cov_point", &a.cov_point, ID_DAY);
    if (!rt_audit_failed(&a.r))
        check_coverage(&a);
    free(a.counts.v);
    free(a.cov_point.v);
    free(a.visits);
    if (rt_txn_status(t)) {
        if (n > 0)
            snprintf(err, n, "%s", t->message);
        return rt_txn_status(t);
    }
    return a.r.bad ? -1 : 0;
}
