// Handlers for activities (志愿服务活动): a time window at a point or in an
// area, with a capacity. Seats taken and the waitlist are counters that the
// sign-up writes keep (store.c); capacity is never set below the seats
// taken, and raising it promotes from the waitlist in the same transaction.
#include <stdio.h>
#include <string.h>

#include "volunteers.h"

static const char *const activity_paths[] = {"title",      "kind",     "point_id",    "area_id",
                                             "start_time", "end_time", "capacity",    "description",
                                             "demo",       NULL};

#define CAPACITY_MAX 100000

// apply_activity sets the fields of n that a create sets or an update names.
static void
apply_activity(rt_txn *t, vol_activity *n, const vol_activity *p,
               const Google__Protobuf__FieldMask *mask)
{
    if (vol_mask_has(mask, "title") && rt_check_str(t, "activity.title", p->title, 200, 1))
        n->title = p->title;
    if (vol_mask_has(mask, "kind") &&
        rt_check_enum(t, "activity.kind", &civic__volunteers__v1__activity_kind__descriptor,
                      p->kind, 1))
        n->kind = p->kind;
    if (vol_mask_has(mask, "point_id"))
        n->point_id = p->point_id;
    if (vol_mask_has(mask, "area_id")) {
        if (p->area_id == 0)
            rt_txn_violation(t, "activity.area_id", "is required");
        n->area_id = p->area_id;
    }
    if (vol_mask_has(mask, "description") &&
        rt_check_str(t, "activity.description", p->description, 2000, 0))
        n->description = p->description;
    if (vol_mask_has(mask, "demo"))
        n->demo = p->demo;
    if (vol_mask_has(mask, "capacity")) {
        if (p->capacity <= 0)
            rt_txn_violation(t, "activity.capacity", "must be more than 0, not %d", p->capacity);
        else if (p->capacity > CAPACITY_MAX)
            rt_txn_violation(t, "activity.capacity", "must be at most %d", CAPACITY_MAX);
        n->capacity = p->capacity;
    }
    int times_ok = 1;
    if (vol_mask_has(mask, "start_time")) {
        if (p->start_time == NULL)
            times_ok = rt_txn_violation(t, "activity.start_time", "is required") == 0;
        else if (rt_check_ts(t, "activity.start_time", p->start_time))
            n->start_time = p->start_time;
        else
            times_ok = 0;
    }
    if (vol_mask_has(mask, "end_time")) {
        if (p->end_time == NULL)
            times_ok = rt_txn_violation(t, "activity.end_time", "is required") == 0;
        else if (rt_check_ts(t, "activity.end_time", p->end_time))
            n->end_time = p->end_time;
        else
            times_ok = 0;
    }
    if (!times_ok || n->start_time == NULL || n->end_time == NULL)
        return;
    int64_t start = rt_ts_ms(n->start_time, 0), end = rt_ts_ms(n->end_time, 0);
    if (end <= start)
        rt_txn_violation(t, "activity.end_time", "must be after start_time");
    else if (end - start > VOL_MAX_ACTIVITY_MS)
        rt_txn_violation(t, "activity.end_time", "must be at most 7 days after start_time");
}

// save stores n in place of old (NULL: new), writes the event, and fills in
// the seats for the caller.
static vol_activity *
save(rt_txn *t, const rt_call *call, vol_activity *n, const vol_activity *old, const char *event)
{
    if (rt_txn_status(t))
        return NULL;
    n->update_time = rt_ts_new(t, call->now_ms);
    if (old == NULL)
        n->create_time = n->update_time;
    vol_activity_put(t, call->service, n, old);
    vol_activity_view(t, call->service, n);
    rt_event(t, event, n->id, &n->base);
    return n;
}

static vol_activity *
copy_for_change(rt_txn *t, const vol_svc *s, uint64_t id, const char *field, vol_activity **old)
{
    *old = NULL;
    if (id == 0) {
        rt_txn_violation(t, field, "is required");
        return NULL;
    }
    *old = vol_activity_get(t, s, id, field);
    vol_activity *n = *old ? rt_alloc(t, sizeof *n) : NULL;
    if (n != NULL)
        *n = **old;
    return n;
}

int
handle_create_activity(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__CreateActivityRequest *in = vin;
    Civic__Volunteers__V1__CreateActivityResponse *out = vout;
    if (in->activity == NULL)
        return rt_txn_violation(t, "activity", "is required");
    vol_activity *n = rt_alloc(t, sizeof *n);
    if (n == NULL)
        return rt_txn_status(t);
    civic__volunteers__v1__activity__init(n);
    apply_activity(t, n, in->activity, NULL);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    n->id = rt_seq_next(t, "activity");
    n->state = ACT_OPEN;
    out->activity = save(t, call, n, NULL, "activity.created");
    return rt_txn_status(t);
}

int
handle_get_activity(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__GetActivityRequest *in = vin;
    Civic__Volunteers__V1__GetActivityResponse *out = vout;
    if (in->id == 0)
        return rt_txn_violation(t, "id", "is required");
    out->activity = vol_activity_get(t, call->service, in->id, "id");
    vol_activity_view(t, call->service, out->activity);
    return rt_txn_status(t);
}

// move_signups gives every sign-up of activity n its new window; a
// REGISTERED volunteer whom the new window would put in an overlap with
// another registered activity stops the change (a waitlisted one is left
// waiting: promotion skips them while the overlap lasts).
static void
move_signups(rt_txn *t, const vol_svc *s, const vol_activity *n)
{
    rt_key prefix;
    uint64_t *ids;
    size_t count;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, n->id);
    if (vol_collect_ids(t, s->su_by_act_vol, &prefix, &ids, &count))
        return;
    int64_t start = rt_ts_ms(n->start_time, 0), end = rt_ts_ms(n->end_time, 0);
    for (size_t i = 0; i < count && rt_txn_status(t) == 0; i++) {
        vol_signup *old = vol_signup_get(t, s, ids[i], NULL);
        if (old == NULL)
            break;
        if (old->state == SU_REGISTERED) {
            uint64_t other = vol_find_conflict(t, s, old->volunteer_id, start, end, old->id, 1);
            vol_signup *o = other ? vol_signup_get(t, s, other, NULL) : NULL;
            if (o != NULL) {
                rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                            "the new times would make volunteer %llu, REGISTERED, overlap their "
                            "activity %llu",
                            (unsigned long long) old->volunteer_id,
                            (unsigned long long) o->activity_id);
                break;
            }
        }
        vol_signup *su = rt_alloc(t, sizeof *su);
        if (su == NULL)
            break;
        *su = *old;
        su->activity_start_time = n->start_time;
        su->activity_end_time = n->end_time;
        vol_signup_put(t, s, su, old);
    }
}

int
handle_update_activity(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__UpdateActivityRequest *in = vin;
    Civic__Volunteers__V1__UpdateActivityResponse *out = vout;
    const vol_svc *s = call->service;
    if (in->activity == NULL)
        return rt_txn_violation(t, "activity", "is required");
    if (!rt_mask_check(t, in->update_mask, activity_paths))
        return rt_txn_status(t);
    vol_activity *old, *n = copy_for_change(t, s, in->activity->id, "activity.id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    apply_activity(t, n, in->activity, in->update_mask);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    if (old->state != ACT_OPEN)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity %llu is CANCELLED: it cannot be changed",
                           (unsigned long long) old->id);
    int64_t old_start = rt_ts_ms(old->start_time, 0);
    int moved = rt_ts_ms(n->start_time, 0) != old_start ||
                rt_ts_ms(n->end_time, 0) != rt_ts_ms(old->end_time, 0);
    if (moved && call->now_ms >= old_start)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity %llu has started: its times cannot change",
                           (unsigned long long) old->id);
    int32_t taken = vol_seats_taken(t, s, n->id);
    if (n->capacity < taken)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity.capacity: %d is below the %d seats taken", n->capacity, taken);
    if (moved)
        move_signups(t, s, n);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    // A raised capacity (or a move that ended an overlap) lets the
    // waitlist in, in this transaction.
    vol_promote(t, s, call->now_ms, n, &out->promoted, &out->n_promoted);
    out->activity = save(t, call, n, old, "activity.updated");
    return rt_txn_status(t);
}

int
handle_cancel_activity(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__CancelActivityRequest *in = vin;
    Civic__Volunteers__V1__CancelActivityResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_str(t, "reason", in->reason, 500, 0);
    vol_activity *old, *n = copy_for_change(t, s, in->id, "id", &old);
    if (n == NULL)
        return rt_txn_status(t);
    if (old->state == ACT_CANCELLED) {
        vol_activity_view(t, s, n);
        out->activity = n;
        return rt_txn_status(t);
    }
    if (call->now_ms >= rt_ts_ms(old->start_time, 0))
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity %llu has started: it can no longer be cancelled",
                           (unsigned long long) old->id);
    rt_key prefix;
    uint64_t *ids;
    size_t count;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, n->id);
    vol_collect_ids(t, s->su_by_act_vol, &prefix, &ids, &count);
    const char *reason = in->reason && in->reason[0] ? in->reason : "the activity was cancelled";
    for (size_t i = 0; i < count && rt_txn_status(t) == 0; i++) {
        vol_signup *su = vol_signup_get(t, s, ids[i], NULL);
        if (su != NULL && vol_holds(su->state)) {
            vol_signup_cancel(t, s, call, su, reason, 0, NULL);
            out->signups_cancelled++;
        }
    }
    n->state = ACT_CANCELLED;
    out->activity = save(t, call, n, old, "activity.cancelled");
    return rt_txn_status(t);
}

typedef struct activity_list {
    const Civic__Volunteers__V1__ListActivitiesRequest *in;
    const vol_svc *s;
    Civic__Volunteers__V1__ListActivitiesResponse *out;
} activity_list;

static int
visit_activity(rt_txn *t, uint64_t id, void *arg)
{
    activity_list *l = arg;
    vol_activity *a = vol_activity_get(t, l->s, id, NULL);
    if (a == NULL || (l->in->kind && a->kind != l->in->kind) ||
        (!l->in->include_cancelled && a->state == ACT_CANCELLED))
        return 0;
    vol_activity_view(t, l->s, a);
    l->out->activities[l->out->n_activities++] = a;
    return 1;
}

int
handle_list_activities(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__ListActivitiesRequest *in = vin;
    Civic__Volunteers__V1__ListActivitiesResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_enum(t, "kind", &civic__volunteers__v1__activity_kind__descriptor, in->kind, 0);
    int64_t after = call->now_ms;
    if (in->ended_after != NULL && rt_check_ts(t, "ended_after", in->ended_after))
        after = rt_ts_ms(in->ended_after, after);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    // By area, or kind, or neither: each index is in order of the end time,
    // and a first page starts just after ended_after.
    rt_key prefix;
    rt_key_init(&prefix);
    MDB_dbi db = s->act_by_end;
    unsigned tag = VOL_PAGE_ACT_BY_END;
    if (in->area_id) {
        rt_key_u64(&prefix, in->area_id);
        db = s->act_by_area;
        tag = VOL_PAGE_ACT_BY_AREA;
    } else if (in->kind) {
        rt_key_u32(&prefix, (uint32_t) in->kind);
        db = s->act_by_kind;
        tag = VOL_PAGE_ACT_BY_KIND;
    }
    rt_page pg;
    if (rt_page_init(t, &pg, db, tag, &prefix, in->page_size, in->page_token))
        return rt_txn_status(t);
    if (in->page_token == NULL || in->page_token[0] == '\0')
        rt_key_i64(&pg.start, after == INT64_MAX ? after : after + 1);
    out->activities = rt_alloc(t, pg.limit * sizeof *out->activities);
    activity_list l = {in, s, out};
    if (out->activities != NULL)
        rt_page_walk(t, &pg, visit_activity, &l, &out->next_page_token);
    return rt_txn_status(t);
}
