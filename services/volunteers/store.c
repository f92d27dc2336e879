// The volunteers service's key layout. Every index entry and counter is
// written in the same transaction as its record, by the *_put functions
// here, so no handler touches an index itself and no list or report scans
// every record.
//
//   volunteers       id                                  → Volunteer
//   vol_by_phone     phone, NUL, id                      → ""  (not once anonymised)
//   vol_by_area      area_id, community, NUL, id         → ""
//   vol_by_kind      kind u32, id                        → ""
//   vol_by_name      name, NUL, id                       → ""  (not once anonymised)
//   activities       id                                  → Activity
//   act_by_end       end ms (i64), id                    → ""
//   act_by_area      area_id, end ms, id                 → ""
//   act_by_kind      kind u32, end ms, id                → ""
//   signups          id                                  → Signup
//   su_by_act_vol    activity_id, volunteer_id, id       → ""
//   su_by_act_state  activity_id, state u8, waitlist_seq, id → ""
//                    (waitlist_seq is 0 unless WAITLISTED: the waitlist
//                    reads in FIFO order, and a position is a count)
//   su_by_vol        volunteer_id, id                    → ""
//   su_hold          volunteer_id, end ms, id            → start ms (i64), state u8
//                    (only WAITLISTED, REGISTERED, CHECKED_IN: the time a
//                    volunteer holds, for conflict checks)
//   su_due           end ms, id                          → ""  (only REGISTERED:
//                    the no-show job's queue)
//   hours            id                                  → HoursRecord
//   hours_by_vol     volunteer_id, id                    → ""
//   hours_by_act     activity_id, id                     → ""
//   counts           'A', area_id                        → ACTIVE volunteers, by home area
//                    'S', activity_id, state u8          → sign-ups in that state
//                    'T', volunteer_id                   → minutes counted
//                    'N', volunteer_id                   → hours records counted
//   h_day            'V', local day u32, volunteer_id    → minutes counted
//                    'A', local day, area_id             → minutes counted
//                    'K', local day, volunteer kind u64  → minutes counted
//   h_week           'V', Monday u32, area_id, volunteer_id → minutes counted
//                    'A', Monday, area_id                → volunteers whose
//                                                           'V' entry is > 0
//
// Ids are u64, days (YYYYMMDD) u32 and instants i64 ms, big-endian, so keys
// sort the way lists read them; every index key ends with its record's id.
// Counters are rt_counter_add's signed 64-bit values, deleted at zero.
// An hours record counts its minutes (0 when DECLINED) under its own
// area_id (the activity's), volunteer_kind and local_day, copied into it
// when recorded, so counters move with the record and nothing else.
#include <string.h>

#include "volunteers.h"

const char *const volunteers_dbs[] = {
    "volunteers", "vol_by_phone",  "vol_by_area",     "vol_by_kind", "vol_by_name",
    "activities", "act_by_end",    "act_by_area",     "act_by_kind", "signups",
    "su_by_act_vol", "su_by_act_state", "su_by_vol",  "su_hold",     "su_due",
    "hours",      "hours_by_vol",  "hours_by_act",    "counts",      "h_day",
    "h_week",     NULL,
};

// --- keys ---

static int64_t
ts_ms(const Google__Protobuf__Timestamp *ts)
{
    return rt_ts_ms(ts, 0);
}

void
vol_key_id(rt_key *k, uint64_t id)
{
    rt_key_init(k);
    rt_key_u64(k, id);
}

void
vol_key_phone(rt_key *k, const char *phone, uint64_t id)
{
    rt_key_init(k);
    rt_key_str(k, phone);
    rt_key_u64(k, id);
}

void
vol_key_vol_area(rt_key *k, const vol_volunteer *v)
{
    rt_key_init(k);
    rt_key_u64(k, v->area_id);
    rt_key_str(k, v->community ? v->community : "");
    rt_key_u64(k, v->id);
}

void
vol_key_vol_kind(rt_key *k, const vol_volunteer *v)
{
    rt_key_init(k);
    rt_key_u32(k, (uint32_t) v->kind);
    rt_key_u64(k, v->id);
}

void
vol_key_vol_name(rt_key *k, const vol_volunteer *v)
{
    rt_key_init(k);
    rt_key_str(k, v->name ? v->name : "");
    rt_key_u64(k, v->id);
}

void
vol_key_act_end(rt_key *k, const vol_activity *a)
{
    rt_key_init(k);
    rt_key_i64(k, ts_ms(a->end_time));
    rt_key_u64(k, a->id);
}

void
vol_key_act_area(rt_key *k, const vol_activity *a)
{
    rt_key_init(k);
    rt_key_u64(k, a->area_id);
    rt_key_i64(k, ts_ms(a->end_time));
    rt_key_u64(k, a->id);
}

void
vol_key_act_kind(rt_key *k, const vol_activity *a)
{
    rt_key_init(k);
    rt_key_u32(k, (uint32_t) a->kind);
    rt_key_i64(k, ts_ms(a->end_time));
    rt_key_u64(k, a->id);
}

void
vol_key_su_act_vol(rt_key *k, const vol_signup *su)
{
    rt_key_init(k);
    rt_key_u64(k, su->activity_id);
    rt_key_u64(k, su->volunteer_id);
    rt_key_u64(k, su->id);
}

void
vol_key_su_act_state(rt_key *k, const vol_signup *su)
{
    unsigned char st = (unsigned char) su->state;
    rt_key_init(k);
    rt_key_u64(k, su->activity_id);
    rt_key_bytes(k, &st, 1);
    rt_key_u64(k, su->state == SU_WAITLISTED ? su->waitlist_seq : 0);
    rt_key_u64(k, su->id);
}

void
vol_key_su_vol(rt_key *k, const vol_signup *su)
{
    rt_key_init(k);
    rt_key_u64(k, su->volunteer_id);
    rt_key_u64(k, su->id);
}

void
vol_key_su_hold(rt_key *k, const vol_signup *su)
{
    rt_key_init(k);
    rt_key_u64(k, su->volunteer_id);
    rt_key_i64(k, ts_ms(su->activity_end_time));
    rt_key_u64(k, su->id);
}

void
vol_hold_value(unsigned char out[9], const vol_signup *su)
{
    rt_be64_put(out, (uint64_t) ts_ms(su->activity_start_time) ^ ((uint64_t) 1 << 63));
    out[8] = (unsigned char) su->state;
}

void
vol_key_su_due(rt_key *k, const vol_signup *su)
{
    rt_key_init(k);
    rt_key_i64(k, ts_ms(su->activity_end_time));
    rt_key_u64(k, su->id);
}

void
vol_key_hours_vol(rt_key *k, const vol_hours *h)
{
    rt_key_init(k);
    rt_key_u64(k, h->volunteer_id);
    rt_key_u64(k, h->id);
}

void
vol_key_hours_act(rt_key *k, const vol_hours *h)
{
    rt_key_init(k);
    rt_key_u64(k, h->activity_id);
    rt_key_u64(k, h->id);
}

void
vol_key_count(rt_key *k, char tag, uint64_t id)
{
    rt_key_init(k);
    rt_key_bytes(k, &tag, 1);
    rt_key_u64(k, id);
}

void
vol_key_state_count(rt_key *k, uint64_t activity_id, int state)
{
    unsigned char st = (unsigned char) state;
    vol_key_count(k, 'S', activity_id);
    rt_key_bytes(k, &st, 1);
}

void
vol_key_day(rt_key *k, char tag, int32_t day, uint64_t id)
{
    rt_key_init(k);
    rt_key_bytes(k, &tag, 1);
    rt_key_u32(k, (uint32_t) day);
    rt_key_u64(k, id);
}

void
vol_key_week_vol(rt_key *k, int32_t monday, uint64_t area_id, uint64_t volunteer_id)
{
    vol_key_day(k, 'V', monday, area_id);
    rt_key_u64(k, volunteer_id);
}

void
vol_key_week_area(rt_key *k, int32_t monday, uint64_t area_id)
{
    vol_key_day(k, 'A', monday, area_id);
}

// --- rules shared by store, handlers and audit ---

int
vol_holds(int state)
{
    return state == SU_WAITLISTED || state == SU_REGISTERED || state == SU_CHECKED_IN;
}

int
vol_takes_seat(int state)
{
    return state == SU_REGISTERED || state == SU_CHECKED_IN || state == SU_CHECKED_OUT ||
           state == SU_NO_SHOW;
}

int32_t
vol_hours_counted(const vol_hours *h)
{
    return h->state == HOURS_DECLINED ? 0 : h->minutes;
}

int32_t
vol_monday(int32_t day)
{
    int64_t days = rt_day_start_ms(day, 0) / 86400000;
    int wd = (int) (((days + 3) % 7 + 7) % 7); // 0 = Monday (1970-01-01 was a Thursday)
    return rt_day_add(day, -wd);
}

int32_t
vol_minutes(int64_t in_ms, int64_t out_ms, int64_t start_ms, int64_t end_ms)
{
    int64_t from = in_ms > start_ms ? in_ms : start_ms;
    int64_t to = out_ms < end_ms ? out_ms : end_ms;
    return to > from ? (int32_t) ((to - from) / 60000) : 0;
}

// --- records ---

typedef void (*key_fn)(rt_key *k, const void *rec);

// move_entry moves the index entry of a record from what old gives to what
// rec gives; has says whether a record has an entry at all (NULL: always).
static void
move_entry(rt_txn *t, MDB_dbi db, key_fn fn, int (*has)(const void *), const void *rec,
           const void *old)
{
    rt_key k, ok;
    int in_new = rec != NULL && (has == NULL || has(rec));
    int in_old = old != NULL && (has == NULL || has(old));
    if (in_new)
        fn(&k, rec);
    if (in_old)
        fn(&ok, old);
    rt_index_move(t, db, in_old ? &ok : NULL, in_new ? &k : NULL, "", 0, 1);
}

static void
counter_add(rt_txn *t, MDB_dbi db, const rt_key *k, int64_t delta)
{
    if (delta != 0)
        rt_counter_add(t, db, k->b, k->len, delta);
}

// --- volunteers ---

static void
k_phone(rt_key *k, const void *r)
{
    const vol_volunteer *v = r;
    vol_key_phone(k, v->phone, v->id);
}
static void
k_vol_area(rt_key *k, const void *r)
{
    vol_key_vol_area(k, r);
}
static void
k_vol_kind(rt_key *k, const void *r)
{
    vol_key_vol_kind(k, r);
}
static void
k_vol_name(rt_key *k, const void *r)
{
    vol_key_vol_name(k, r);
}
static int
has_phone(const void *r)
{
    const vol_volunteer *v = r;
    return v->phone != NULL && v->phone[0] != '\0';
}
static int
has_name(const void *r)
{
    const vol_volunteer *v = r;
    return v->name != NULL && v->name[0] != '\0';
}

vol_volunteer *
vol_volunteer_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->volunteers, &civic__volunteers__v1__volunteer__descriptor, "volunteer",
                      id, field);
}

void
vol_volunteer_put(rt_txn *t, const vol_svc *s, const vol_volunteer *v, const vol_volunteer *old)
{
    rt_record_put(t, s->volunteers, v->id, &v->base);
    move_entry(t, s->vol_by_phone, k_phone, has_phone, v, old);
    move_entry(t, s->vol_by_area, k_vol_area, NULL, v, old);
    move_entry(t, s->vol_by_kind, k_vol_kind, NULL, v, old);
    move_entry(t, s->vol_by_name, k_vol_name, has_name, v, old);
    rt_key k;
    if (old != NULL && old->state == VOL_ACTIVE) {
        vol_key_count(&k, 'A', old->area_id);
        counter_add(t, s->counts, &k, -1);
    }
    if (v->state == VOL_ACTIVE) {
        vol_key_count(&k, 'A', v->area_id);
        counter_add(t, s->counts, &k, 1);
    }
}

uint64_t
vol_phone_owner(rt_txn *t, const vol_svc *s, const char *phone)
{
    rt_key prefix;
    rt_key_init(&prefix);
    rt_key_str(&prefix, phone);
    return rt_index_first(t, s->vol_by_phone, &prefix);
}

// --- activities ---

static void
k_act_end(rt_key *k, const void *r)
{
    vol_key_act_end(k, r);
}
static void
k_act_area(rt_key *k, const void *r)
{
    vol_key_act_area(k, r);
}
static void
k_act_kind(rt_key *k, const void *r)
{
    vol_key_act_kind(k, r);
}

vol_activity *
vol_activity_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->activities, &civic__volunteers__v1__activity__descriptor, "activity",
                      id, field);
}

void
vol_activity_put(rt_txn *t, const vol_svc *s, const vol_activity *a, const vol_activity *old)
{
    // Seat counts are counters, not fields: store the record without them.
    vol_activity rec = *a;
    rec.registered = rec.waitlisted = rec.seats_left = 0;
    rt_record_put(t, s->activities, a->id, &rec.base);
    move_entry(t, s->act_by_end, k_act_end, NULL, a, old);
    move_entry(t, s->act_by_area, k_act_area, NULL, a, old);
    move_entry(t, s->act_by_kind, k_act_kind, NULL, a, old);
}

// --- sign-ups ---

static void
k_su_act_vol(rt_key *k, const void *r)
{
    vol_key_su_act_vol(k, r);
}
static void
k_su_act_state(rt_key *k, const void *r)
{
    vol_key_su_act_state(k, r);
}
static void
k_su_vol(rt_key *k, const void *r)
{
    vol_key_su_vol(k, r);
}
static void
k_su_due(rt_key *k, const void *r)
{
    vol_key_su_due(k, r);
}
static int
is_registered(const void *r)
{
    return ((const vol_signup *) r)->state == SU_REGISTERED;
}

vol_signup *
vol_signup_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->signups, &civic__volunteers__v1__signup__descriptor, "sign-up", id,
                      field);
}

void
vol_signup_put(rt_txn *t, const vol_svc *s, const vol_signup *su, const vol_signup *old)
{
    // The position is computed when read, never stored.
    vol_signup rec = *su;
    rec.position = 0;
    rt_record_put(t, s->signups, su->id, &rec.base);
    move_entry(t, s->su_by_act_vol, k_su_act_vol, NULL, su, old);
    move_entry(t, s->su_by_act_state, k_su_act_state, NULL, su, old);
    move_entry(t, s->su_by_vol, k_su_vol, NULL, su, old);
    move_entry(t, s->su_due, k_su_due, is_registered, su, old);

    rt_key k, ok;
    unsigned char val[9], oval[9];
    int in_new = vol_holds(su->state), in_old = old != NULL && vol_holds(old->state);
    if (in_new) {
        vol_key_su_hold(&k, su);
        vol_hold_value(val, su);
    }
    if (in_old) {
        vol_key_su_hold(&ok, old);
        vol_hold_value(oval, old);
    }
    rt_index_move(t, s->su_hold, in_old ? &ok : NULL, in_new ? &k : NULL, val, sizeof val,
               in_old && in_new && memcmp(val, oval, sizeof val) == 0);

    if (old == NULL || old->state != su->state || old->activity_id != su->activity_id) {
        if (old != NULL) {
            vol_key_state_count(&k, old->activity_id, old->state);
            counter_add(t, s->counts, &k, -1);
        }
        vol_key_state_count(&k, su->activity_id, su->state);
        counter_add(t, s->counts, &k, 1);
    }
}

int32_t
vol_signup_state_count(rt_txn *t, const vol_svc *s, uint64_t activity_id, int state)
{
    rt_key k;
    vol_key_state_count(&k, activity_id, state);
    return (int32_t) rt_counter_get(t, s->counts, k.b, k.len);
}

int32_t
vol_seats_taken(rt_txn *t, const vol_svc *s, uint64_t activity_id)
{
    return vol_signup_state_count(t, s, activity_id, SU_REGISTERED) +
           vol_signup_state_count(t, s, activity_id, SU_CHECKED_IN) +
           vol_signup_state_count(t, s, activity_id, SU_CHECKED_OUT) +
           vol_signup_state_count(t, s, activity_id, SU_NO_SHOW);
}

// --- hours ---

static void
k_hours_vol(rt_key *k, const void *r)
{
    vol_key_hours_vol(k, r);
}
static void
k_hours_act(rt_key *k, const void *r)
{
    vol_key_hours_act(k, r);
}

vol_hours *
vol_hours_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field)
{
    return rt_record_get(t, s->hours, &civic__volunteers__v1__hours_record__descriptor,
                      "hours record", id, field);
}

// hours_count adds sign × what record h counts to every counter it is in.
static void
hours_count(rt_txn *t, const vol_svc *s, const vol_hours *h, int sign)
{
    int64_t m = sign * (int64_t) vol_hours_counted(h);
    int64_t n = h->state == HOURS_DECLINED ? 0 : sign;
    rt_key k;
    vol_key_count(&k, 'T', h->volunteer_id);
    counter_add(t, s->counts, &k, m);
    vol_key_count(&k, 'N', h->volunteer_id);
    counter_add(t, s->counts, &k, n);
    vol_key_day(&k, 'V', h->local_day, h->volunteer_id);
    counter_add(t, s->h_day, &k, m);
    vol_key_day(&k, 'A', h->local_day, h->area_id);
    counter_add(t, s->h_day, &k, m);
    vol_key_day(&k, 'K', h->local_day, (uint64_t) h->volunteer_kind);
    counter_add(t, s->h_day, &k, m);
    if (m == 0)
        return;
    // The week's distinct volunteers per area move when a volunteer's
    // minutes there that week go from zero to more, or back.
    int32_t monday = vol_monday(h->local_day);
    vol_key_week_vol(&k, monday, h->area_id, h->volunteer_id);
    int64_t now = rt_counter_add(t, s->h_week, k.b, k.len, m), was = now - m;
    vol_key_week_area(&k, monday, h->area_id);
    if (was <= 0 && now > 0)
        counter_add(t, s->h_week, &k, 1);
    else if (was > 0 && now <= 0)
        counter_add(t, s->h_week, &k, -1);
}

void
vol_hours_put(rt_txn *t, const vol_svc *s, const vol_hours *h, const vol_hours *old)
{
    rt_record_put(t, s->hours, h->id, &h->base);
    move_entry(t, s->hours_by_vol, k_hours_vol, NULL, h, old);
    move_entry(t, s->hours_by_act, k_hours_act, NULL, h, old);
    if (old != NULL)
        hours_count(t, s, old, -1);
    hours_count(t, s, h, 1);
}

// --- counters ---

int64_t
vol_count_get(rt_txn *t, const vol_svc *s, char tag, uint64_t id)
{
    rt_key k;
    vol_key_count(&k, tag, id);
    return rt_counter_get(t, s->counts, k.b, k.len);
}

int64_t
vol_day_get(rt_txn *t, const vol_svc *s, char tag, int32_t day, uint64_t id)
{
    rt_key k;
    vol_key_day(&k, tag, day, id);
    return rt_counter_get(t, s->h_day, k.b, k.len);
}

int64_t
vol_week_get(rt_txn *t, const vol_svc *s, int32_t monday, uint64_t area_id)
{
    rt_key k;
    vol_key_week_area(&k, monday, area_id);
    return rt_counter_get(t, s->h_week, k.b, k.len);
}

// --- index walks for writes ---

int
vol_collect_ids(rt_txn *t, MDB_dbi db, const rt_key *prefix, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    MDB_cursor *c;
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, db, &c), "cursor"))
        return rt_txn_status(t);
    MDB_val k = {prefix->len, (void *) (uintptr_t) prefix->b}, v;
    int rc = mdb_cursor_get(c, &k, &v, prefix->len ? MDB_SET_RANGE : MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < prefix->len + 8 || memcmp(k.mv_data, prefix->b, prefix->len) != 0)
            break;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            uint64_t *grown = rt_alloc(t, cap * sizeof *grown);
            if (grown == NULL)
                break;
            if (*n > 0)
                memcpy(grown, *ids, *n * sizeof *grown);
            *ids = grown;
        }
        (*ids)[(*n)++] = rt_be64_get((const unsigned char *) k.mv_data + k.mv_size - 8);
    }
    if (rc != 0)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
    return rt_txn_status(t);
}
