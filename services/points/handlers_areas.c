// Handlers for the grid hierarchy (areas, towns, communities, grids) and for
// responsible units, which belong to areas.
//
// Creates and updates share one "apply" function per record: it checks the
// fields a create sets (mask NULL: all of them) or an update's mask names,
// and copies them onto the record. So a field is checked the same way
// whichever call sets it.
#include "points.h"

static const char *const area_paths[] = {"name", "kind", "demo", NULL};
static const char *const unit_paths[] = {"name",          "kind", "area_id", "contact_name",
                                         "contact_phone", "demo", NULL};

// The level a node's parent must have.
static Civic__Points__V1__AreaLevel
parent_level(Civic__Points__V1__AreaLevel l)
{
    return l == POINTS_LEVEL_AREA ? 0 : l - 1;
}

// level_name gives "AREA_LEVEL_GRID" for messages.
static const char *
level_name(int level)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&civic__points__v1__area_level__descriptor, level);
    return v ? v->name : "AREA_LEVEL_UNSPECIFIED";
}

// apply_area sets the updatable fields of n (whose level is known) from a.
static void
apply_area(rt_txn *t, points_area *n, const points_area *a, const Google__Protobuf__FieldMask *mask)
{
    if (points_mask_has(mask, "name") && rt_check_str(t, "area.name", a->name, 200, 1))
        n->name = a->name;
    if (points_mask_has(mask, "kind") &&
        rt_check_enum(t, "area.kind", &civic__points__v1__area_kind__descriptor, a->kind, 0)) {
        // (A create with a bad level has n->level 0: that is its violation.)
        if (n->level != 0 && n->level != POINTS_LEVEL_AREA && a->kind != 0)
            rt_txn_violation(t, "area.kind", "is only for areas (区 / 平台)");
        n->kind = a->kind;
    }
    if (points_mask_has(mask, "demo"))
        n->demo = a->demo;
}

// save_area stores n in place of old (NULL: new) and writes the event.
static points_area *
save_area(rt_txn *t, const rt_call *call, points_area *n, const points_area *old,
          const char *event)
{
    if (rt_txn_status(t))
        return NULL;
    n->update_time = rt_ts_new(t, call->now_ms);
    if (old == NULL)
        n->create_time = n->update_time;
    points_area_put(t, call->service, n, old);
    rt_event(t, event, n->id, &n->base);
    return n;
}

int
handle_create_area(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__CreateAreaRequest *in = vin;
    Civic__Points__V1__CreateAreaResponse *out = vout;
    const points_svc *s = call->service;
    const points_area *a = in->area;
    if (a == NULL)
        return rt_txn_violation(t, "area", "is required");
    points_area *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return rt_txn_status(t);
    civic__points__v1__area__init(n);
    if (rt_check_enum(t, "area.level", &civic__points__v1__area_level__descriptor, a->level, 1))
        n->level = a->level;
    apply_area(t, n, a, NULL);
    int is_area = a->level == POINTS_LEVEL_AREA;
    if (n->level != 0 && is_area && a->parent_id != 0)
        rt_txn_violation(t, "area.parent_id", "must be 0 for an area (区 / 平台)");
    if (n->level != 0 && !is_area && a->parent_id == 0)
        rt_txn_violation(t, "area.parent_id", "is required below the area level");
    if (rt_txn_status(t))
        return rt_txn_status(t);

    if (!is_area) {
        points_area *p = points_area_get(t, s, a->parent_id, "area.parent_id");
        if (p == NULL)
            return rt_txn_status(t);
        if (p->level != parent_level(a->level))
            return rt_txn_violation(t, "area.parent_id", "names a %s; a %s's parent is a %s",
                                    level_name(p->level), level_name(a->level),
                                    level_name(parent_level(a->level)));
        n->area_id = p->area_id;
    }
    n->id = rt_seq_next(t, "area");
    if (is_area)
        n->area_id = n->id;
    n->parent_id = a->parent_id;
    out->area = save_area(t, call, n, NULL, "area.created");
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
handle_update_area(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__UpdateAreaRequest *in = vin;
    Civic__Points__V1__UpdateAreaResponse *out = vout;
    const points_svc *s = call->service;
    if (in->area == NULL)
        rt_txn_violation(t, "area", "is required");
    rt_mask_check(t, in->update_mask, area_paths);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    points_area *old = points_area_get(t, s, in->area->id, "area.id");
    points_area *n = rt_alloc(t, sizeof *n);
    if (old == NULL || n == NULL)
        return rt_txn_status(t);
    *n = *old; // shallow: apply_area replaces fields, never edits what they point to
    apply_area(t, n, in->area, in->update_mask);
    out->area = save_area(t, call, n, old, "area.updated");
    return rt_txn_status(t);
}

typedef struct area_list {
    const points_svc *s;
    const Civic__Points__V1__ListAreasRequest *in;
    Civic__Points__V1__ListAreasResponse *out;
} area_list;

static int
visit_area(rt_txn *t, uint64_t id, void *arg)
{
    area_list *l = arg;
    points_area *a = points_area_get(t, l->s, id, NULL);
    if (a == NULL || (l->in->level != 0 && a->level != l->in->level))
        return 0;
    l->out->areas[l->out->n_areas++] = a;
    return 1;
}

int
handle_list_areas(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__ListAreasRequest *in = vin;
    Civic__Points__V1__ListAreasResponse *out = vout;
    const points_svc *s = call->service;
    rt_check_enum(t, "level", &civic__points__v1__area_level__descriptor, in->level, 0);

    // With a parent, read that parent's children in id order; otherwise every
    // node in id order. The level filters what the read yields.
    rt_key prefix;
    rt_key_init(&prefix);
    if (in->parent_id)
        rt_key_u64(&prefix, in->parent_id);
    rt_page pg;
    if (rt_page_init(t, &pg, in->parent_id ? s->areas_by_parent : s->areas,
                         in->parent_id ? POINTS_PAGE_AREAS_BY_PARENT : POINTS_PAGE_AREAS, &prefix,
                         in->page_size, in->page_token))
        return rt_txn_status(t);
    out->areas = rt_alloc(t, pg.limit * sizeof *out->areas);
    area_list l = {s, in, out};
    if (out->areas != NULL)
        rt_page_walk(t, &pg, visit_area, &l, &out->next_page_token);
    return rt_txn_status(t);
}

// --- units ---

// apply_unit sets the fields of n that a create sets or an update names.
static void
apply_unit(rt_txn *t, const points_svc *s, points_unit *n, const points_unit *u,
           const Google__Protobuf__FieldMask *mask)
{
    if (points_mask_has(mask, "name") && rt_check_str(t, "unit.name", u->name, 200, 1))
        n->name = u->name;
    if (points_mask_has(mask, "kind") &&
        rt_check_enum(t, "unit.kind", &civic__points__v1__unit_kind__descriptor, u->kind, 1))
        n->kind = u->kind;
    if (points_mask_has(mask, "area_id")) {
        if (u->area_id == 0)
            rt_txn_violation(t, "unit.area_id", "is required");
        n->area_id = u->area_id;
    }
    if (points_mask_has(mask, "contact_name") &&
        rt_check_str(t, "unit.contact_name", u->contact_name, 100, 0))
        n->contact_name = u->contact_name;
    // Stored as 11 digits, so that masking and comparing see one form.
    if (points_mask_has(mask, "contact_phone") &&
        rt_check_phone(t, "unit.contact_phone", u->contact_phone, 0))
        n->contact_phone = rt_phone_normalize(t, u->contact_phone);
    if (points_mask_has(mask, "demo"))
        n->demo = u->demo;
    if (rt_txn_status(t) || !points_mask_has(mask, "area_id"))
        return;
    points_area *a = points_area_get(t, s, n->area_id, "unit.area_id");
    if (a != NULL && a->level != POINTS_LEVEL_AREA)
        rt_txn_violation(t, "unit.area_id", "names a %s, not an area (区 / 平台)",
                         level_name(a->level));
}

// save_unit stores n in place of old (NULL: new), writes the event, and
// returns n as the caller may see it.
static points_unit *
save_unit(rt_txn *t, const rt_call *call, points_unit *n, const points_unit *old,
          const char *event)
{
    if (rt_txn_status(t))
        return NULL;
    n->update_time = rt_ts_new(t, call->now_ms);
    if (old == NULL)
        n->create_time = n->update_time;
    points_unit_put(t, call->service, n, old);
    rt_event(t, event, n->id, &n->base);
    points_unit_view(t, call, n);
    return n;
}

int
handle_create_unit(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__CreateUnitRequest *in = vin;
    Civic__Points__V1__CreateUnitResponse *out = vout;
    const points_svc *s = call->service;
    if (in->unit == NULL)
        return rt_txn_violation(t, "unit", "is required");
    points_unit *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return rt_txn_status(t);
    civic__points__v1__unit__init(n);
    apply_unit(t, s, n, in->unit, NULL);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    n->id = rt_seq_next(t, "unit");
    out->unit = save_unit(t, call, n, NULL, "unit.created");
    return rt_txn_status(t);
}

int
handle_get_unit(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__GetUnitRequest *in = vin;
    Civic__Points__V1__GetUnitResponse *out = vout;
    out->unit = points_unit_get(t, call->service, in->id, "id");
    points_unit_view(t, call, out->unit);
    return rt_txn_status(t);
}

int
handle_update_unit(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__UpdateUnitRequest *in = vin;
    Civic__Points__V1__UpdateUnitResponse *out = vout;
    const points_svc *s = call->service;
    if (in->unit == NULL)
        rt_txn_violation(t, "unit", "is required");
    rt_mask_check(t, in->update_mask, unit_paths);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    points_unit *old = points_unit_get(t, s, in->unit->id, "unit.id");
    points_unit *n = rt_alloc(t, sizeof *n);
    if (old == NULL || n == NULL)
        return rt_txn_status(t);
    *n = *old; // shallow: apply_unit replaces fields, never edits what they point to
    apply_unit(t, s, n, in->unit, in->update_mask);
    out->unit = save_unit(t, call, n, old, "unit.updated");
    return rt_txn_status(t);
}

typedef struct unit_list {
    const points_svc *s;
    const rt_call *call;
    const Civic__Points__V1__ListUnitsRequest *in;
    Civic__Points__V1__ListUnitsResponse *out;
} unit_list;

static int
visit_unit(rt_txn *t, uint64_t id, void *arg)
{
    unit_list *l = arg;
    points_unit *u = points_unit_get(t, l->s, id, NULL);
    if (u == NULL || (l->in->kind != 0 && u->kind != l->in->kind))
        return 0;
    points_unit_view(t, l->call, u);
    l->out->units[l->out->n_units++] = u;
    return 1;
}

int
handle_list_units(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Points__V1__ListUnitsRequest *in = vin;
    Civic__Points__V1__ListUnitsResponse *out = vout;
    const points_svc *s = call->service;
    rt_check_enum(t, "kind", &civic__points__v1__unit_kind__descriptor, in->kind, 0);

    // With an area, that area's units by id; otherwise every unit by id. The
    // kind filters what the read yields.
    rt_key prefix;
    rt_key_init(&prefix);
    if (in->area_id)
        rt_key_u64(&prefix, in->area_id);
    rt_page pg;
    if (rt_page_init(t, &pg, in->area_id ? s->units_by_area : s->units,
                         in->area_id ? POINTS_PAGE_UNITS_BY_AREA : POINTS_PAGE_UNITS, &prefix,
                         in->page_size, in->page_token))
        return rt_txn_status(t);
    out->units = rt_alloc(t, pg.limit * sizeof *out->units);
    unit_list l = {s, call, in, out};
    if (out->units != NULL)
        rt_page_walk(t, &pg, visit_unit, &l, &out->next_page_token);
    return rt_txn_status(t);
}
