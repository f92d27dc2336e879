// Handlers for volunteers (志愿者): registration with one phone per
// volunteer, reads with phones masked by role, updates, deactivation and
// anonymisation (name and phone erased, hour records kept).
//
// Volunteer events carry the record without name or phone, so the event
// log holds no personal data that anonymising would have to reach.
#include <stdio.h>
#include <string.h>

#include "volunteers.h"

static const char *const volunteer_paths[] = {"name",      "phone",   "kind", "area_id",
                                              "community", "consent", "demo", NULL};

// apply_volunteer sets the fields of n that a create sets or an update
// names, with the phone normalized to 11 digits and checked to be free.
static void
apply_volunteer(rt_txn *t, const vol_svc *s, vol_volunteer *n, const vol_volunteer *p,
                const Google__Protobuf__FieldMask *mask)
{
    if (vol_mask_has(mask, "name") && rt_check_str(t, "volunteer.name", p->name, 100, 1))
        n->name = p->name;
    int phone = vol_mask_has(mask, "phone");
    if (phone && rt_check_phone(t, "volunteer.phone", p->phone, 1))
        n->phone = rt_phone_normalize(t, p->phone);
    if (vol_mask_has(mask, "kind") &&
        rt_check_enum(t, "volunteer.kind", &civic__volunteers__v1__volunteer_kind__descriptor,
                      p->kind, 1))
        n->kind = p->kind;
    if (vol_mask_has(mask, "area_id")) {
        if (p->area_id == 0)
            rt_txn_violation(t, "volunteer.area_id", "is required");
        n->area_id = p->area_id;
    }
    if (vol_mask_has(mask, "community") &&
        rt_check_str(t, "volunteer.community", p->community, 100, 0))
        n->community = p->community;
    if (vol_mask_has(mask, "consent"))
        n->consent = p->consent;
    if (vol_mask_has(mask, "demo"))
        n->demo = p->demo;
    if (rt_txn_status(t) || !phone)
        return;
    uint64_t owner = vol_phone_owner(t, s, n->phone);
    if (owner != 0 && owner != n->id)
        rt_txn_fail(t, CIVIC_ALREADY_EXISTS,
                    "volunteer.phone: a volunteer with this phone is already registered");
}

// volunteer_event writes an event whose data is the volunteer without name
// or phone.
static void
volunteer_event(rt_txn *t, const char *type, const vol_volunteer *v)
{
    vol_volunteer e = *v;
    e.name = "";
    e.phone = "";
    e.community = "";
    rt_event(t, type, v->id, &e.base);
}

// save stores n in place of old (NULL: new), writes the event, and returns
// n as the caller may see it.
static vol_volunteer *
save(rt_txn *t, const rt_call *call, vol_volunteer *n, const vol_volunteer *old, const char *event)
{
    if (rt_txn_status(t))
        return NULL;
    n->update_time = rt_ts_new(t, call->now_ms);
    if (old == NULL)
        n->create_time = n->update_time;
    vol_volunteer_put(t, call->service, n, old);
    volunteer_event(t, event, n);
    vol_volunteer_view(t, call, n);
    return n;
}

// copy_for_change reads volunteer id for a change by the caller (an admin,
// or the volunteer themself): *old is the stored record, the result a
// shallow copy to change.
static vol_volunteer *
copy_for_change(rt_txn *t, const rt_call *call, uint64_t id, const char *field,
                vol_volunteer **old)
{
    *old = NULL;
    if (id == 0) {
        rt_txn_violation(t, field, "is required");
        return NULL;
    }
    if (vol_check_self(t, call, id))
        return NULL;
    *old = vol_volunteer_get(t, call->service, id, field);
    vol_volunteer *n = *old ? rt_alloc(t, sizeof *n) : NULL;
    if (n != NULL)
        *n = **old;
    return n;
}

int
handle_register_volunteer(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__RegisterVolunteerRequest *in = vin;
    Civic__Volunteers__V1__RegisterVolunteerResponse *out = vout;
    if (in->volunteer == NULL)
        return rt_txn_violation(t, "volunteer", "is required");
    vol_volunteer *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return rt_txn_status(t);
    civic__volunteers__v1__volunteer__init(n);
    apply_volunteer(t, call->service, n, in->volunteer, NULL);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    n->id = rt_seq_next(t, "volunteer");
    n->state = VOL_ACTIVE;
    out->volunteer = save(t, call, n, NULL, "volunteer.registered");
    return rt_txn_status(t);
}

int
handle_get_volunteer(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__GetVolunteerRequest *in = vin;
    Civic__Volunteers__V1__GetVolunteerResponse *out = vout;
    if (in->id == 0)
        return rt_txn_violation(t, "id", "is required");
    out->volunteer = vol_volunteer_get(t, call->service, in->id, "id");
    vol_volunteer_view(t, call, out->volunteer);
    return rt_txn_status(t);
}

int
handle_update_volunteer(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__UpdateVolunteerRequest *in = vin;
    Civic__Volunteers__V1__UpdateVolunteerResponse *out = vout;
    if (in->volunteer == NULL)
        return rt_txn_violation(t, "volunteer", "is required");
    rt_mask_check(t, in->update_mask, volunteer_paths);
    if (call->role == RT_ROLE_VOLUNTEER && rt_mask_has(in->update_mask, "demo"))
        rt_txn_fail(t, CIVIC_PERMISSION_DENIED, "update_mask: only an admin sets demo");
    if (rt_txn_status(t))
        return rt_txn_status(t);
    vol_volunteer *old, *n = copy_for_change(t, call, in->volunteer->id, "volunteer.id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (old->state == VOL_ANONYMISED)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "volunteer %llu is ANONYMISED: it cannot be changed",
                           (unsigned long long) old->id);
    apply_volunteer(t, call->service, n, in->volunteer, in->update_mask);
    out->volunteer = save(t, call, n, old, "volunteer.updated");
    return rt_txn_status(t);
}

int
handle_deactivate_volunteer(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__DeactivateVolunteerRequest *in = vin;
    Civic__Volunteers__V1__DeactivateVolunteerResponse *out = vout;
    vol_volunteer *old, *n = copy_for_change(t, call, in->id, "id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (old->state != VOL_ACTIVE) {
        // Already inactive: the same answer again, nothing written.
        vol_volunteer_view(t, call, n);
        out->volunteer = n;
        return rt_txn_status(t);
    }
    n->state = VOL_INACTIVE;
    out->signups_cancelled =
        vol_cancel_holds(t, call->service, call, n->id, "the volunteer was deactivated");
    out->volunteer = save(t, call, n, old, "volunteer.deactivated");
    return rt_txn_status(t);
}

int
handle_anonymise_volunteer(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__AnonymiseVolunteerRequest *in = vin;
    Civic__Volunteers__V1__AnonymiseVolunteerResponse *out = vout;
    vol_volunteer *old, *n = copy_for_change(t, call, in->id, "id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (old->state == VOL_ANONYMISED) {
        vol_volunteer_view(t, call, n);
        out->volunteer = n;
        return rt_txn_status(t);
    }
    if (old->state == VOL_ACTIVE)
        out->signups_cancelled =
            vol_cancel_holds(t, call->service, call, n->id, "the volunteer was anonymised");
    // The phone's index entry goes with the phone (vol_volunteer_put), so
    // the number can be registered again.
    n->state = VOL_ANONYMISED;
    n->name = "";
    n->phone = "";
    n->consent = 0;
    out->volunteer = save(t, call, n, old, "volunteer.anonymised");
    return rt_txn_status(t);
}

typedef struct volunteer_list {
    const Civic__Volunteers__V1__ListVolunteersRequest *in;
    const rt_call *call;
    Civic__Volunteers__V1__ListVolunteersResponse *out;
} volunteer_list;

static int
visit_volunteer(rt_txn *t, uint64_t id, void *arg)
{
    volunteer_list *l = arg;
    const Civic__Volunteers__V1__ListVolunteersRequest *in = l->in;
    vol_volunteer *v = vol_volunteer_get(t, l->call->service, id, NULL);
    if (v == NULL || (!in->include_inactive && v->state != VOL_ACTIVE) ||
        (in->area_id && v->area_id != in->area_id) || (in->kind && v->kind != in->kind) ||
        (in->community && in->community[0] && strcmp(v->community, in->community) != 0))
        return 0;
    vol_volunteer_view(t, l->call, v);
    l->out->volunteers[l->out->n_volunteers++] = v;
    return 1;
}

int
handle_list_volunteers(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__ListVolunteersRequest *in = vin;
    Civic__Volunteers__V1__ListVolunteersResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_enum(t, "kind", &civic__volunteers__v1__volunteer_kind__descriptor, in->kind, 0);
    rt_check_str(t, "name_prefix", in->name_prefix, 100, 0);
    rt_check_str(t, "community", in->community, 100, 0);
    int community = in->community && in->community[0];
    if (community && in->area_id == 0)
        rt_txn_violation(t, "community", "needs area_id");
    if (rt_txn_status(t))
        return rt_txn_status(t);

    // One index, chosen by the most selective field given: name prefix,
    // then area (and community), then kind; the others filter.
    rt_key prefix;
    rt_key_init(&prefix);
    MDB_dbi db = s->volunteers;
    unsigned tag = VOL_PAGE_VOLUNTEERS;
    if (in->name_prefix && in->name_prefix[0]) {
        rt_key_prefix_str(&prefix, in->name_prefix);
        db = s->vol_by_name;
        tag = VOL_PAGE_VOL_BY_NAME;
    } else if (in->area_id) {
        rt_key_u64(&prefix, in->area_id);
        if (community)
            rt_key_str(&prefix, in->community);
        db = s->vol_by_area;
        tag = VOL_PAGE_VOL_BY_AREA;
    } else if (in->kind) {
        rt_key_u32(&prefix, (uint32_t) in->kind);
        db = s->vol_by_kind;
        tag = VOL_PAGE_VOL_BY_KIND;
    }
    rt_page pg;
    if (rt_page_init(t, &pg, db, tag, &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    out->volunteers = rt_alloc(t, pg.limit * sizeof *out->volunteers);
    volunteer_list l = {in, call, out};
    if (out->volunteers != NULL)
        rt_page_walk(t, &pg, visit_volunteer, &l, &out->next_page_token);
    return rt_txn_status(t);
}
