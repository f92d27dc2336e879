// Handlers for sign-ups (报名) and attendance (签到 / 签退), with the
// domain's rules, every one checked inside the write transaction:
//
// - capacity is never exceeded: REGISTERED while seats remain (the seat
//   counters are written with the sign-up), else WAITLISTED;
// - the waitlist is FIFO: its index is ordered by a sequence taken when a
//   sign-up joins it, so a position is a count of those ahead and stays
//   dense 1..n whatever leaves; signing up again after cancelling takes a
//   new sequence, at the tail;
// - one volunteer never holds two overlapping activities (WAITLISTED,
//   REGISTERED or CHECKED_IN): su_hold, keyed by end time, answers that in
//   a bounded scan since an activity lasts at most 7 days;
// - a seat given up before the start goes to the first waitlisted
//   volunteer whom it would not put in an overlap (overlaps among waiting
//   sign-ups arise only when an activity's times move); nobody is promoted
//   after the start;
// - a newcomer never goes ahead of the waitlist: REGISTERED only while a
//   seat is free and nobody waits; otherwise at the tail before the start,
//   refused after it (the waitlist closed at the start);
// - attendance is what the volunteer could have served: a check-in not
//   before the sign-up held its seat nor more than an hour before the
//   start, a check-out not before the check-in;
// - a volunteer caller acts only for themselves.
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "volunteers.h"

// A client's clock for check-in and check-out may lag (offline) by up to a
// week and run ahead by a few minutes.
#define PAST_MS (7LL * 24 * 3600 * 1000)
#define FUTURE_MS (5LL * 60 * 1000)
// A volunteer may check in up to an hour before the start (setting up).
#define EARLY_MS (3600LL * 1000)

static const char *
state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&civic__volunteers__v1__signup_state__descriptor, state);
    return v ? v->name + strlen("SIGNUP_STATE_") : "?";
}

static int64_t
key_i64(const unsigned char *p)
{
    return (int64_t) (rt_be64_get(p) ^ ((uint64_t) 1 << 63));
}

uint64_t
vol_find_conflict(rt_txn *t, const vol_svc *s, uint64_t volunteer_id, int64_t start_ms,
                  int64_t end_ms, uint64_t exclude, int registered_only)
{
    // Holds are keyed (volunteer, end, id): start at the first that ends
    // after start_ms; one ending at or past end_ms + the longest activity
    // starts at or after end_ms, and so does every one after it.
    rt_key from;
    MDB_cursor *c;
    uint64_t found = 0;
    rt_key_init(&from);
    rt_key_u64(&from, volunteer_id);
    rt_key_i64(&from, start_ms + 1);
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, s->su_hold, &c), "cursor"))
        return 0;
    MDB_val k = {from.len, from.b}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const unsigned char *kb = k.mv_data, *vb = v.mv_data;
        if (k.mv_size != 24 || v.mv_size != 9 || memcmp(kb, from.b, 8) != 0)
            break;
        if (key_i64(kb + 8) >= end_ms + VOL_MAX_ACTIVITY_MS)
            break;
        uint64_t id = rt_be64_get(kb + 16);
        if (id == exclude || (registered_only && vb[8] == SU_WAITLISTED))
            continue;
        if (key_i64(vb) < end_ms) {
            found = id;
            break;
        }
    }
    if (rc != 0)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    return found;
}

static vol_signup *
signup_copy(rt_txn *t, const vol_signup *old)
{
    vol_signup *n = rt_alloc(t, sizeof *n);
    if (n != NULL)
        *n = *old;
    return n;
}

// save stores n in place of old and writes its event.
static void
save(rt_txn *t, const vol_svc *s, int64_t now_ms, vol_signup *n, const vol_signup *old,
     const char *event)
{
    if (rt_txn_status(t))
        return;
    n->update_time = rt_ts_new(t, now_ms);
    if (old == NULL)
        n->create_time = n->update_time;
    vol_signup_put(t, s, n, old);
    rt_event(t, event, n->id, &n->base);
}

#define BATCH 64

void
vol_promote(rt_txn *t, const vol_svc *s, int64_t now_ms, const vol_activity *a, vol_signup ***out,
            size_t *n_out)
{
    int64_t start = rt_ts_ms(a->start_time, 0), end = rt_ts_ms(a->end_time, 0);
    if (rt_txn_status(t) || a->state != ACT_OPEN || now_ms >= start)
        return;
    int32_t free_seats = a->capacity - vol_seats_taken(t, s, a->id);
    size_t cap = 0;

    // Read the waitlist in batches of keys (the writes below change the
    // index under a cursor), resuming just after the last key read.
    rt_key prefix, resume;
    unsigned char st = SU_WAITLISTED;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, a->id);
    rt_key_bytes(&prefix, &st, 1);
    resume = prefix;
    while (free_seats > 0 && rt_txn_status(t) == 0) {
        uint64_t ids[BATCH];
        size_t n = 0;
        MDB_cursor *c;
        if (rt_txn_mdb(t, mdb_cursor_open(t->txn, s->su_by_act_state, &c), "cursor"))
            return;
        MDB_val k = {resume.len, resume.b}, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        for (; rc == 0 && n < BATCH; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size != prefix.len + 16 || memcmp(k.mv_data, prefix.b, prefix.len) != 0)
                break;
            ids[n++] = rt_be64_get((const unsigned char *) k.mv_data + k.mv_size - 8);
            rt_key_init(&resume);
            rt_key_bytes(&resume, k.mv_data, k.mv_size);
            rt_key_bytes(&resume, "", 1); // just after this key
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            rt_txn_mdb(t, rc, "cursor");
        mdb_cursor_close(c);
        if (n == 0)
            return;
        for (size_t i = 0; i < n && free_seats > 0 && rt_txn_status(t) == 0; i++) {
            vol_signup *old = vol_signup_get(t, s, ids[i], NULL);
            if (old == NULL || old->state != SU_WAITLISTED)
                continue;
            if (vol_find_conflict(t, s, old->volunteer_id, start, end, old->id, 0) != 0)
                continue; // stays waiting, at its place
            vol_signup *su = signup_copy(t, old);
            if (su == NULL)
                return;
            su->state = SU_REGISTERED;
            su->promote_time = rt_ts_new(t, now_ms);
            save(t, s, now_ms, su, old, "signup.promoted");
            free_seats--;
            if (out == NULL)
                continue;
            if (*n_out == cap) {
                cap = cap ? 2 * cap : 8;
                vol_signup **grown = rt_alloc(t, cap * sizeof *grown);
                if (grown == NULL)
                    return;
                if (*n_out > 0)
                    memcpy(grown, *out, *n_out * sizeof *grown);
                *out = grown;
            }
            (*out)[(*n_out)++] = su;
        }
    }
}

int
vol_signup_cancel(rt_txn *t, const vol_svc *s, const rt_call *call, vol_signup *old,
                  const char *reason, int promote, vol_signup **promoted)
{
    vol_signup *n = signup_copy(t, old);
    if (n == NULL)
        return rt_txn_status(t);
    n->state = SU_CANCELLED;
    n->cancel_reason = rt_strdup(t, reason ? reason : "");
    save(t, s, call->now_ms, n, old, "signup.cancelled");
    if (!promote || old->state != SU_REGISTERED)
        return rt_txn_status(t);
    vol_activity *a = vol_activity_get(t, s, old->activity_id, NULL);
    vol_signup **list = NULL;
    size_t count = 0;
    if (a != NULL)
        vol_promote(t, s, call->now_ms, a, &list, &count);
    if (promoted != NULL && count > 0)
        *promoted = list[0];
    return rt_txn_status(t);
}

uint32_t
vol_cancel_holds(rt_txn *t, const vol_svc *s, const rt_call *call, uint64_t volunteer_id,
                 const char *reason)
{
    rt_key prefix;
    uint64_t *ids;
    size_t n;
    uint32_t cancelled = 0;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, volunteer_id);
    if (vol_collect_ids(t, s->su_hold, &prefix, &ids, &n))
        return 0;
    for (size_t i = 0; i < n && rt_txn_status(t) == 0; i++) {
        vol_signup *su = vol_signup_get(t, s, ids[i], NULL);
        if (su == NULL || (su->state != SU_WAITLISTED && su->state != SU_REGISTERED) ||
            call->now_ms >= rt_ts_ms(su->activity_start_time, 0))
            continue;
        vol_signup_cancel(t, s, call, su, reason, 1, NULL);
        cancelled++;
    }
    return cancelled;
}

// live_signup returns the volunteer's sign-up to the activity that is not
// CANCELLED, or NULL.
static vol_signup *
live_signup(rt_txn *t, const vol_svc *s, uint64_t activity_id, uint64_t volunteer_id)
{
    rt_key prefix;
    uint64_t *ids;
    size_t n;
    rt_key_init(&prefix);
    rt_key_u64(&prefix, activity_id);
    rt_key_u64(&prefix, volunteer_id);
    if (vol_collect_ids(t, s->su_by_act_vol, &prefix, &ids, &n))
        return NULL;
    for (size_t i = n; i-- > 0;) {
        vol_signup *su = vol_signup_get(t, s, ids[i], NULL);
        if (su != NULL && su->state != SU_CANCELLED)
            return su;
    }
    return NULL;
}

int
handle_sign_up(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__SignUpRequest *in = vin;
    Civic__Volunteers__V1__SignUpResponse *out = vout;
    const vol_svc *s = call->service;
    uint64_t vid = in->volunteer_id ? in->volunteer_id : vol_caller_volunteer(call);
    if (in->activity_id == 0)
        rt_txn_violation(t, "activity_id", "is required");
    if (vid == 0)
        rt_txn_violation(t, "volunteer_id", "is required");
    if (rt_txn_status(t) || vol_check_self(t, call, vid))
        return rt_txn_status(t);
    vol_volunteer *v = vol_volunteer_get(t, s, vid, "volunteer_id");
    vol_activity *a = vol_activity_get(t, s, in->activity_id, "activity_id");
    if (v == NULL || a == NULL)
        return rt_txn_status(t);

    // Signing up again answers with the sign-up already made.
    vol_signup *existing = live_signup(t, s, a->id, vid);
    if (existing != NULL) {
        vol_signup_view(t, s, existing);
        out->signup = existing;
        out->existing = 1;
        return rt_txn_status(t);
    }
    if (v->state != VOL_ACTIVE)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "volunteer %llu is %s: only an ACTIVE volunteer signs up",
                           (unsigned long long) vid, v->state == VOL_INACTIVE ? "INACTIVE" : "ANONYMISED");
    int64_t start = rt_ts_ms(a->start_time, 0), end = rt_ts_ms(a->end_time, 0);
    if (a->state != ACT_OPEN)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION, "activity %llu is CANCELLED",
                           (unsigned long long) a->id);
    if (call->now_ms >= end)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION, "activity %llu has ended",
                           (unsigned long long) a->id);
    uint64_t other = vol_find_conflict(t, s, vid, start, end, 0, 0);
    if (other != 0) {
        vol_signup *o = vol_signup_get(t, s, other, NULL);
        vol_activity *oa = o ? vol_activity_get(t, s, o->activity_id, NULL) : NULL;
        if (oa != NULL)
            rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                        "volunteer %llu already holds activity %llu (\"%.100s\", %s) at an "
                        "overlapping time",
                        (unsigned long long) vid, (unsigned long long) oa->id, oa->title,
                        state_name(o->state));
        return rt_txn_status(t);
    }

    vol_signup *su = rt_alloc(t, sizeof *su);
    if (su == NULL)
        return rt_txn_status(t);
    civic__volunteers__v1__signup__init(su);
    // A seat goes straight to a newcomer only when nobody waits for it: a
    // seat free while others wait (skipped by a promotion for an overlap,
    // or freed after the start) is theirs first.
    int seat_free = vol_seats_taken(t, s, a->id) < a->capacity;
    int32_t waiting = vol_signup_state_count(t, s, a->id, SU_WAITLISTED);
    if (seat_free && waiting == 0) {
        su->state = SU_REGISTERED;
    } else if (call->now_ms >= start && waiting > 0) {
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity %llu has started with %d on its waitlist, which closed at "
                           "the start: a newcomer takes no seat ahead of those waiting",
                           (unsigned long long) a->id, waiting);
    } else if (call->now_ms >= start) {
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity %llu is full and has started: its waitlist is closed",
                           (unsigned long long) a->id);
    } else {
        su->state = SU_WAITLISTED;
        su->waitlist_seq = rt_seq_next(t, "waitlist");
    }
    su->id = rt_seq_next(t, "signup");
    su->activity_id = a->id;
    su->volunteer_id = vid;
    su->activity_start_time = a->start_time;
    su->activity_end_time = a->end_time;
    save(t, s, call->now_ms, su, NULL,
         su->state == SU_REGISTERED ? "signup.registered" : "signup.waitlisted");
    if (su->state == SU_WAITLISTED && seat_free) {
        // The free seat goes by the ordinary promotion, from the head of
        // the waitlist: to the newcomer only if everyone ahead is still
        // kept out by an overlap.
        vol_signup **promoted = NULL;
        size_t n = 0;
        vol_promote(t, s, call->now_ms, a, &promoted, &n);
        for (size_t i = 0; i < n; i++)
            if (promoted[i]->id == su->id)
                su = promoted[i];
    }
    vol_signup_view(t, s, su);
    out->signup = su;
    return rt_txn_status(t);
}

// visible_signup reads a sign-up the caller may see: another volunteer's is
// NOT_FOUND, as if it did not exist.
static vol_signup *
visible_signup(rt_txn *t, const rt_call *call, uint64_t id, const char *field)
{
    if (id == 0) {
        rt_txn_violation(t, field, "is required");
        return NULL;
    }
    vol_signup *su = vol_signup_get(t, call->service, id, field);
    if (su != NULL && !vol_may_see(call, su->volunteer_id)) {
        rt_txn_fail(t, CIVIC_NOT_FOUND, "%s: no sign-up %llu", field, (unsigned long long) id);
        return NULL;
    }
    return su;
}

// own_signup reads a sign-up the caller acts on: another volunteer's is
// PERMISSION_DENIED.
static vol_signup *
own_signup(rt_txn *t, const rt_call *call, uint64_t id, const char *field)
{
    if (id == 0) {
        rt_txn_violation(t, field, "is required");
        return NULL;
    }
    vol_signup *su = vol_signup_get(t, call->service, id, field);
    if (su != NULL && vol_check_self(t, call, su->volunteer_id))
        return NULL;
    return su;
}

int
handle_get_signup(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__GetSignupRequest *in = vin;
    Civic__Volunteers__V1__GetSignupResponse *out = vout;
    out->signup = visible_signup(t, call, in->id, "id");
    vol_signup_view(t, call->service, out->signup);
    return rt_txn_status(t);
}

typedef struct signup_list {
    const vol_svc *s;
    const Civic__Volunteers__V1__ListSignupsRequest *in;
    Civic__Volunteers__V1__ListSignupsResponse *out;
    int running;       // the walk reads the waitlist in order, unfiltered
    uint32_t next_pos; // the position of the next waitlisted one, or 0
} signup_list;

static int
visit_signup(rt_txn *t, uint64_t id, void *arg)
{
    signup_list *l = arg;
    vol_signup *su = vol_signup_get(t, l->s, id, NULL);
    if (su == NULL || (l->in->state && su->state != l->in->state) ||
        (l->in->volunteer_id && su->volunteer_id != l->in->volunteer_id))
        return 0;
    // Consecutive waitlisted sign-ups of one activity's index have
    // consecutive positions: count once, then go on.
    if (su->state == SU_WAITLISTED && l->running && l->next_pos > 0) {
        su->position = l->next_pos++;
    } else {
        vol_signup_view(t, l->s, su);
        l->next_pos = su->position ? su->position + 1 : 0;
    }
    l->out->signups[l->out->n_signups++] = su;
    return 1;
}

int
handle_list_signups(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    Civic__Volunteers__V1__ListSignupsRequest in = *(const Civic__Volunteers__V1__ListSignupsRequest *) vin;
    Civic__Volunteers__V1__ListSignupsResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_enum(t, "state", &civic__volunteers__v1__signup_state__descriptor, in.state, 0);
    if (call->role == RT_ROLE_VOLUNTEER) {
        // A volunteer lists only their own sign-ups.
        if (in.volunteer_id == 0)
            in.volunteer_id = vol_caller_volunteer(call);
        if (!vol_may_see(call, in.volunteer_id))
            return rt_txn_fail(t, CIVIC_NOT_FOUND, "volunteer_id: no volunteer %llu",
                               (unsigned long long) in.volunteer_id);
    }
    if (in.activity_id == 0 && in.volunteer_id == 0)
        rt_txn_violation(t, "activity_id", "activity_id or volunteer_id is required");
    if (rt_txn_status(t))
        return rt_txn_status(t);

    rt_key prefix;
    rt_key_init(&prefix);
    MDB_dbi db;
    unsigned tag;
    if (in.activity_id && in.volunteer_id) {
        rt_key_u64(&prefix, in.activity_id);
        rt_key_u64(&prefix, in.volunteer_id);
        db = s->su_by_act_vol;
        tag = VOL_PAGE_SU_BY_ACT_VOL;
    } else if (in.activity_id) {
        rt_key_u64(&prefix, in.activity_id);
        if (in.state) {
            unsigned char st = (unsigned char) in.state;
            rt_key_bytes(&prefix, &st, 1);
        }
        db = s->su_by_act_state;
        tag = VOL_PAGE_SU_BY_ACT;
    } else {
        rt_key_u64(&prefix, in.volunteer_id);
        db = s->su_by_vol;
        tag = VOL_PAGE_SU_BY_VOL;
    }
    rt_page pg;
    if (rt_page_init(t, &pg, db, tag, &prefix, in.page_size, in.page_token))
        return rt_txn_status(t);
    out->signups = rt_alloc(t, pg.limit * sizeof *out->signups);
    signup_list l = {s, &in, out, db == s->su_by_act_state, 0};
    if (out->signups != NULL)
        rt_page_walk(t, &pg, visit_signup, &l, &out->next_page_token);
    return rt_txn_status(t);
}

int
handle_cancel_signup(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__CancelSignupRequest *in = vin;
    Civic__Volunteers__V1__CancelSignupResponse *out = vout;
    const vol_svc *s = call->service;
    rt_check_str(t, "reason", in->reason, 500, 0);
    vol_signup *old = own_signup(t, call, in->id, "id");
    if (old == NULL)
        return rt_txn_status(t);
    if (old->state == SU_CANCELLED) {
        out->signup = old; // cancelled already: the same answer, nothing written
        return rt_txn_status(t);
    }
    if (old->state != SU_WAITLISTED && old->state != SU_REGISTERED)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "sign-up %llu is %s: only a WAITLISTED or REGISTERED sign-up is "
                           "cancelled",
                           (unsigned long long) old->id, state_name(old->state));
    const char *reason = in->reason && in->reason[0] ? in->reason
                         : call->role == RT_ROLE_VOLUNTEER ? "cancelled by the volunteer"
                                                           : "cancelled by an admin";
    vol_signup_cancel(t, s, call, old, reason, 1, &out->promoted);
    out->signup = old->id ? vol_signup_get(t, s, old->id, NULL) : NULL;
    vol_signup_view(t, s, out->promoted);
    return rt_txn_status(t);
}

// utc formats an instant as RFC 3339 in UTC, to the millisecond, into buf
// (at least 32 bytes).
static const char *
utc(char *buf, size_t n, int64_t unix_ms)
{
    int64_t ms = unix_ms % 1000 < 0 ? unix_ms % 1000 + 1000 : unix_ms % 1000;
    time_t secs = (time_t) ((unix_ms - ms) / 1000);
    struct tm tm;
    char day[24];
    if (gmtime_r(&secs, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(buf, n, "%lld ms", (long long) unix_ms);
    else
        snprintf(buf, n, "%s.%03dZ", day, (int) ms);
    return buf;
}

// attendance_time is the request's time (the client's clock, bounded) or
// the server's.
static int64_t
attendance_time(rt_txn *t, const rt_call *call, const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL || !rt_check_ts(t, "time", ts))
        return call->now_ms;
    int64_t when = rt_ts_ms(ts, call->now_ms);
    if (when < call->now_ms - PAST_MS || when > call->now_ms + FUTURE_MS)
        rt_txn_violation(t, "time", "must be at most 7 days before and 5 minutes after the server's time");
    return when;
}

int
handle_check_in(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__CheckInRequest *in = vin;
    Civic__Volunteers__V1__CheckInResponse *out = vout;
    const vol_svc *s = call->service;
    int64_t when = attendance_time(t, call, in->time);
    vol_signup *old = own_signup(t, call, in->signup_id, "signup_id");
    if (old == NULL || rt_txn_status(t))
        return rt_txn_status(t);
    if (old->state != SU_REGISTERED)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "sign-up %llu is %s: only a REGISTERED sign-up checks in",
                           (unsigned long long) old->id, state_name(old->state));
    if (when >= rt_ts_ms(old->activity_end_time, 0))
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "activity %llu had ended by the check-in time",
                           (unsigned long long) old->activity_id);
    // Nobody attends before they hold the seat, or long before the start:
    // hours are for time the volunteer could have served.
    int64_t seat = rt_ts_ms(old->promote_time ? old->promote_time : old->create_time, 0);
    int64_t early = rt_ts_ms(old->activity_start_time, 0) - EARLY_MS;
    char at[32];
    if (when < seat)
        return rt_txn_violation(t, "time",
                                "must not be before the sign-up was REGISTERED (%s): nobody "
                                "attends an activity before holding a seat",
                                utc(at, sizeof at, seat));
    if (when < early)
        return rt_txn_violation(t, "time",
                                "must not be more than 1 hour before the activity's start (%s)",
                                utc(at, sizeof at, early + EARLY_MS));
    vol_signup *n = signup_copy(t, old);
    if (n == NULL)
        return rt_txn_status(t);
    n->state = SU_CHECKED_IN;
    n->check_in_time = rt_ts_new(t, when);
    save(t, s, call->now_ms, n, old, "signup.checked_in");
    out->signup = n;
    return rt_txn_status(t);
}

int
handle_check_out(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Volunteers__V1__CheckOutRequest *in = vin;
    Civic__Volunteers__V1__CheckOutResponse *out = vout;
    const vol_svc *s = call->service;
    int64_t when = attendance_time(t, call, in->time);
    vol_signup *old = own_signup(t, call, in->signup_id, "signup_id");
    if (old == NULL)
        return rt_txn_status(t);
    if (old->state != SU_CHECKED_IN)
        return rt_txn_fail(t, CIVIC_FAILED_PRECONDITION,
                           "sign-up %llu is %s: only a CHECKED_IN sign-up checks out",
                           (unsigned long long) old->id, state_name(old->state));
    int64_t in_ms = rt_ts_ms(old->check_in_time, 0);
    if (when < in_ms)
        return rt_txn_violation(t, "time", "must not be before the check-in");
    vol_volunteer *v = vol_volunteer_get(t, s, old->volunteer_id, NULL);
    vol_activity *a = vol_activity_get(t, s, old->activity_id, NULL);
    vol_hours *h = rt_alloc(t, sizeof *h);
    Civic__Volunteers__V1__HoursChange *c = rt_alloc(t, sizeof *c);
    Civic__Volunteers__V1__HoursChange **hist = rt_alloc(t, sizeof *hist);
    vol_signup *n = signup_copy(t, old);
    if (v == NULL || a == NULL || h == NULL || c == NULL || hist == NULL || n == NULL)
        return rt_txn_status(t);

    // One hours record per attendance, on the local day the service began.
    int64_t start = rt_ts_ms(old->activity_start_time, 0);
    civic__volunteers__v1__hours_record__init(h);
    h->id = rt_seq_next(t, "hours");
    h->signup_id = old->id;
    h->volunteer_id = old->volunteer_id;
    h->activity_id = old->activity_id;
    h->area_id = a->area_id;
    h->volunteer_kind = v->kind;
    h->local_day = rt_local_day(in_ms > start ? in_ms : start, s->tz_offset_min);
    h->computed_minutes = vol_minutes(in_ms, when, start, rt_ts_ms(old->activity_end_time, 0));
    h->minutes = h->computed_minutes;
    h->state = HOURS_RECORDED;
    h->create_time = h->update_time = rt_ts_new(t, call->now_ms);
    civic__volunteers__v1__hours_change__init(c);
    c->time = h->create_time;
    c->by = rt_strdup(t, call->principal);
    c->state = HOURS_RECORDED;
    c->minutes = h->minutes;
    c->reason = "checked out";
    hist[0] = c;
    h->history = hist;
    h->n_history = 1;
    vol_hours_put(t, s, h, NULL);
    rt_event(t, "hours.recorded", h->id, &h->base);

    n->state = SU_CHECKED_OUT;
    n->check_out_time = rt_ts_new(t, when);
    n->hours_id = h->id;
    save(t, s, call->now_ms, n, old, "signup.checked_out");
    out->signup = n;
    out->hours = h;
    return rt_txn_status(t);
}

int
vol_noshow_job(rt_txn *t, void *arg)
{
    const vol_svc *s = arg;
    uint64_t ids[100];
    size_t n = 0;
    MDB_cursor *c;
    if (rt_txn_mdb(t, mdb_cursor_open(t->txn, s->su_due, &c), "cursor"))
        return 0;
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && n < 100; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || key_i64(k.mv_data) > t->now_ms)
            break;
        ids[n++] = rt_be64_get((const unsigned char *) k.mv_data + 8);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    for (size_t i = 0; i < n && rt_txn_status(t) == 0; i++) {
        vol_signup *old = vol_signup_get(t, s, ids[i], NULL);
        vol_signup *su = old ? signup_copy(t, old) : NULL;
        if (su == NULL || old->state != SU_REGISTERED)
            continue;
        su->state = SU_NO_SHOW;
        save(t, s, t->now_ms, su, old, "signup.no_show");
    }
    return n == 100;
}
