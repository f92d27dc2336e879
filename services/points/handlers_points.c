// Handlers for points (点位): the places the assessment inspects, each on a
// grid, with the people answerable for it (包干到人).
//
// As for areas and units, CreatePoint and UpdatePoint share apply_point,
// which checks and copies the fields a create sets or an update names.
// store.c moves index entries and ACTIVE-point counters with the record.
#include <stdio.h>
#include <string.h>

#include "points.h"

static const char *const point_paths[] = {"name",    "kind",        "address", "location",
                                          "grid_id", "responsible", "demo",    NULL};

typedef Civic__Points__V1__ResponsiblePerson responsible;

// apply_responsible checks the people answerable for p and gives n a copy
// of the list with phones normalized to 11 digits.
static void
apply_responsible(rt_txn *t, points_point *n, const points_point *p)
{
    const ProtobufCEnumDescriptor *roles = &civic__points__v1__responsible_role__descriptor;
    size_t max = roles->n_values - 1; // every role but UNSPECIFIED, once
    if (p->n_responsible > max) {
        rt_txn_violation(t, "point.responsible", "names %zu people; at most one per role (%zu)",
                         p->n_responsible, max);
        return;
    }
    responsible **list = NULL;
    if (p->n_responsible > 0 && (list = rt_alloc(t, p->n_responsible * sizeof *list)) == NULL)
        return;
    unsigned seen = 0;
    for (size_t i = 0; i < p->n_responsible; i++) {
        const responsible *r = p->responsible[i];
        char f[80];
        snprintf(f, sizeof f, "point.responsible[%zu].role", i);
        if (rt_check_enum(t, f, roles, r->role, 1)) {
            if (seen & (1u << r->role))
                rt_txn_violation(t, f, "%s is given twice: at most one person per role",
                                 protobuf_c_enum_descriptor_get_value(roles, r->role)->name);
            seen |= 1u << r->role;
        }
        snprintf(f, sizeof f, "point.responsible[%zu].name", i);
        rt_check_str(t, f, r->name, 100, 1);
        snprintf(f, sizeof f, "point.responsible[%zu].phone", i);
        int phone_ok = rt_check_phone(t, f, r->phone, 0);
        if ((list[i] = rt_alloc(t, sizeof *list[i])) == NULL)
            return;
        civic__points__v1__responsible_person__init(list[i]);
        list[i]->role = r->role;
        list[i]->name = r->name;
        list[i]->phone = phone_ok ? rt_phone_normalize(t, r->phone) : "";
    }
    n->responsible = list;
    n->n_responsible = p->n_responsible;
}

// apply_point sets the fields of n that a create sets or an update names,
// and the area from the grid.
static void
apply_point(rt_txn *t, const points_svc *s, points_point *n, const points_point *p,
            const Google__Protobuf__FieldMask *mask)
{
    if (points_mask_has(mask, "name") && rt_check_str(t, "point.name", p->name, 200, 1))
        n->name = p->name;
    if (points_mask_has(mask, "kind") &&
        rt_check_enum(t, "point.kind", &civic__points__v1__point_kind__descriptor, p->kind, 1))
        n->kind = p->kind;
    if (points_mask_has(mask, "address") && rt_check_str(t, "point.address", p->address, 500, 0))
        n->address = p->address;
    if (points_mask_has(mask, "location")) {
        if (p->location == NULL)
            rt_txn_violation(t, "point.location", "is required");
        else if (rt_check_latlng(t, "point.location", p->location->lat, p->location->lng))
            n->location = p->location;
    }
    if (points_mask_has(mask, "grid_id")) {
        if (p->grid_id == 0)
            rt_txn_violation(t, "point.grid_id", "is required");
        n->grid_id = p->grid_id;
    }
    if (points_mask_has(mask, "responsible"))
        apply_responsible(t, n, p);
    if (points_mask_has(mask, "demo"))
        n->demo = p->demo;
    if (rt_txn_status(t) || !points_mask_has(mask, "grid_id"))
        return;
    // The area is the grid's: a point moved to a grid of another area moves
    // with it (store.c moves its index entries and counts).
    points_area *g = points_area_get(t, s, n->grid_id, "point.grid_id");
    if (g != NULL && g->level != POINTS_LEVEL_GRID)
        rt_txn_violation(t, "point.grid_id", "names a node that is not a grid (网格)");
    if (g != NULL)
        n->area_id = g->area_id;
}

// save_point stores n in place of old (NULL: new), writes the event, and
// returns n as the caller may see it.
static points_point *
save_point(rt_txn *t, const rt_call *call, points_point *n, const points_point *old,
           const char *event)
{
    if (rt_txn_status(t))
        return NULL;
    n->update_time = rt_ts_new(t, call->now_ms);
    if (old == NULL)
        n->create_time = n->update_time;
    points_point_put(t, call->service, n, old);
    rt_event(t, event, n->id, &n->base);
    points_point_view(t, call, n);
    return n;
}

// point_copy reads point id for a change: *old is the stored record and the
// result a copy to change. The copy is shallow, so changes replace fields
// and never edit what they point to.
static points_point *
point_copy(rt_txn *t, const points_svc *s, uint64_t id, const char *field, points_point **old)
{
    *old = points_point_get(t, s, id, field);
    points_point *n = *old ? rt_alloc(t, sizeof *n) : NULL;
    if (n != NULL)
        *n = **old;
    return n;
}

int
handle_create_point(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__CreatePointRequest *in = vin;
    Civic__Points__V1__CreatePointResponse *out = vout;
    if (in->point == NULL)
        return rt_txn_violation(t, "point", "is required");
    points_point *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return rt_txn_status(t);
    civic__points__v1__point__init(n);
    apply_point(t, call->service, n, in->point, NULL);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    n->id = rt_seq_next(t, "point");
    n->state = POINTS_ACTIVE;
    out->point = save_point(t, call, n, NULL, "point.created");
    return rt_txn_status(t);
}

int
handle_get_point(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__GetPointRequest *in = vin;
    Civic__Points__V1__GetPointResponse *out = vout;
    out->point = points_point_get(t, call->service, in->id, "id");
    points_point_view(t, call, out->point);
    return rt_txn_status(t);
}

int
handle_update_point(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__UpdatePointRequest *in = vin;
    Civic__Points__V1__UpdatePointResponse *out = vout;
    if (in->point == NULL)
        rt_txn_violation(t, "point", "is required");
    rt_mask_check(t, in->update_mask, point_paths);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    // Archived points may still be corrected: they stay readable.
    points_point *old, *n = point_copy(t, call->service, in->point->id, "point.id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    apply_point(t, call->service, n, in->point, in->update_mask);
    out->point = save_point(t, call, n, old, "point.updated");
    return rt_txn_status(t);
}

int
handle_archive_point(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__ArchivePointRequest *in = vin;
    Civic__Points__V1__ArchivePointResponse *out = vout;
    points_point *old, *n = point_copy(t, call->service, in->id, "id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (old->state == POINTS_ARCHIVED)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION, "point %llu is already ARCHIVED",
                           (unsigned long long) old->id);
    n->state = POINTS_ARCHIVED;
    out->point = save_point(t, call, n, old, "point.archived");
    return rt_txn_status(t);
}

typedef struct point_list {
    const points_svc *s;
    const rt_call *call;
    const Civic__Points__V1__ListPointsRequest *in;
    Civic__Points__V1__ListPointsResponse *out;
    size_t prefix_len;
} point_list;

// visit_point applies every filter of the request, including the selecting
// fields the index read did not use: a request with both grid_id and
// name_prefix gets the grid's points with that prefix, not all of them.
static int
visit_point(rt_txn *t, uint64_t id, void *arg)
{
    point_list *l = arg;
    const Civic__Points__V1__ListPointsRequest *in = l->in;
    points_point *p = points_point_get(t, l->s, id, NULL);
    if (p == NULL || (in->kind != 0 && p->kind != in->kind) ||
        (!in->include_archived && p->state != POINTS_ACTIVE) ||
        (in->grid_id != 0 && p->grid_id != in->grid_id) ||
        (in->area_id != 0 && p->area_id != in->area_id) ||
        strncmp(p->name, in->name_prefix, l->prefix_len) != 0)
        return 0;
    points_point_view(t, l->call, p);
    l->out->points[l->out->n_points++] = p;
    return 1;
}

int
handle_list_points(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__ListPointsRequest *in = vin;
    Civic__Points__V1__ListPointsResponse *out = vout;
    const points_svc *s = call->service;
    rt_check_enum(t, "kind", &civic__points__v1__point_kind__descriptor, in->kind, 0);
    rt_check_str(t, "name_prefix", in->name_prefix, 200, 0);

    // Exactly one index read: the grid's points, else the area's, else those
    // whose name starts with the prefix, else every point; all in key order.
    rt_key prefix;
    rt_key_init(&prefix);
    MDB_dbi db = s->points;
    unsigned tag = POINTS_PAGE_POINTS;
    if (in->grid_id != 0) {
        rt_key_u64(&prefix, in->grid_id);
        db = s->pts_by_grid;
        tag = POINTS_PAGE_POINTS_BY_GRID;
    } else if (in->area_id != 0) {
        rt_key_u64(&prefix, in->area_id);
        db = s->pts_by_area;
        tag = POINTS_PAGE_POINTS_BY_AREA;
    } else if (in->name_prefix[0] != '\0') {
        rt_key_prefix_str(&prefix, in->name_prefix);
        db = s->pts_by_name;
        tag = POINTS_PAGE_POINTS_BY_NAME;
    }
    rt_page pg;
    if (rt_page_init(t, &pg, db, tag, &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    out->points = rt_alloc(t, pg.limit * sizeof *out->points);
    point_list l = {s, call, in, out, strlen(in->name_prefix)};
    if (out->points != NULL)
        rt_page_walk(t, &pg, visit_point, &l, &out->next_page_token);
    return rt_txn_status(t);
}
