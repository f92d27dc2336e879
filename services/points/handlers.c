// One function per RPC of civic.points.v1.PointsService.
#include <string.h>

#include "points.h"
#include "rt_check.h"
#include "rt_key.h"

// The level a node's parent must have.
static Civic__Points__V1__AreaLevel
parent_level(Civic__Points__V1__AreaLevel l)
{
    return l == CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA ? 0 : l - 1;
}

int
handle_create_area(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__CreateAreaRequest *in = vin;
    Civic__Points__V1__CreateAreaResponse *out = vout;
    const points_svc *s = call->service;
    const Civic__Points__V1__Area *a = in->area;
    if (a == NULL)
        return rt_txn_violation(t, "area", "is required");
    rt_check_str(t, "area.name", a->name, 200, 1);
    rt_check_enum(t, "area.level", &civic__points__v1__area_level__descriptor, a->level, 1);
    rt_check_enum(t, "area.kind", &civic__points__v1__area_kind__descriptor, a->kind, 0);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    int is_area = a->level == CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
    if (is_area && a->parent_id != 0)
        return rt_txn_violation(t, "area.parent_id", "must be 0 for an area (区 / 平台)");
    if (!is_area && a->kind != 0)
        return rt_txn_violation(t, "area.kind", "is only for areas (区 / 平台)");
    if (!is_area && a->parent_id == 0)
        return rt_txn_violation(t, "area.parent_id", "is required below the area level");

    Civic__Points__V1__Area *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return rt_txn_status(t);
    civic__points__v1__area__init(n);
    if (!is_area) {
        Civic__Points__V1__Area *p = points_area_get(t, s, a->parent_id, "area.parent_id");
        if (p == NULL)
            return rt_txn_status(t);
        if (p->level != parent_level(a->level))
            return rt_txn_violation(t, "area.parent_id", "names a node of the wrong level");
        n->area_id = p->area_id;
    }
    n->id = rt_seq_next(t, "area");
    if (is_area)
        n->area_id = n->id;
    n->level = a->level;
    n->parent_id = a->parent_id;
    n->name = rt_strdup(t, a->name);
    n->kind = a->kind;
    n->demo = a->demo;
    n->create_time = rt_ts_new(t, call->now_ms);
    n->update_time = n->create_time;
    points_area_put(t, s, n, NULL);
    rt_event(t, "area.created", n->id, &n->base);
    out->area = n;
    return rt_txn_status(t);
}

int
handle_get_area(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__GetAreaRequest *in = vin;
    Civic__Points__V1__GetAreaResponse *out = vout;
    out->area = points_area_get(t, call->service, in->id, "id");
    return rt_txn_status(t);
}

int
handle_list_areas(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__ListAreasRequest *in = vin;
    Civic__Points__V1__ListAreasResponse *out = vout;
    const points_svc *s = call->service;
    size_t limit = rt_page_size(t, in->page_size, "page_size");
    rt_check_enum(t, "level", &civic__points__v1__area_level__descriptor, in->level, 0);
    rt_key start;
    rt_key_init(&start);
    if (in->page_token[0] != '\0' && rt_page_token_decode(in->page_token, &start) != 0)
        rt_txn_violation(t, "page_token", "is not a token this service wrote");
    if (rt_txn_status(t))
        return rt_txn_status(t);
    out->areas = rt_alloc(t, limit * sizeof *out->areas);
    if (out->areas == NULL)
        return rt_txn_status(t);

    // With a parent, read that parent's children in id order; otherwise every
    // node in id order. The level filters what the read yields.
    MDB_dbi db = in->parent_id ? s->areas_by_parent : s->areas;
    rt_key prefix;
    rt_key_init(&prefix);
    if (in->parent_id)
        rt_key_u64(&prefix, in->parent_id);
    if (start.len == 0)
        start = prefix;
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, db, &c), "cursor"))
        return rt_txn_status(t);
    MDB_val k = {start.len, start.b}, v;
    int rc = start.len ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < prefix.len || memcmp(k.mv_data, prefix.b, prefix.len) != 0)
            break;
        uint64_t id = rt_be64_get((const unsigned char *) k.mv_data + k.mv_size - 8);
        if (out->n_areas == limit) {
            char *tok = rt_alloc(t, 4 * ((k.mv_size + 2) / 3) + 1);
            if (tok)
                rt_page_token_encode(k.mv_data, k.mv_size, tok);
            out->next_page_token = tok;
            break;
        }
        Civic__Points__V1__Area *a = points_area_get(t, s, id, "id");
        if (a == NULL)
            break;
        if (in->level == 0 || a->level == in->level)
            out->areas[out->n_areas++] = a;
    }
    mdb_cursor_close(c);
    return rt_txn_status(t);
}
