// The volunteers service's state and the pieces its files share. Domain:
// ../../../shared/design/domain.md, "Volunteers".
//
//   store.c               key layouts; records with their indexes and counters
//   view.c                what callers see: masked phones, waitlist positions,
//                         seats left, who may act for whom
//   handlers_volunteers.c volunteers
//   handlers_activities.c activities
//   handlers_signups.c    sign-ups, the waitlist, attendance, the no-show job
//   handlers_hours.c      hours records, totals, rankings, the area summary
//   check.c               an index and counter audit for tests
//   service.c             the handler table and the service's state
#ifndef VOLUNTEERS_H
#define VOLUNTEERS_H

#include <lmdb.h>
#include <stddef.h>

#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "rt_check.h"
#include "rt_key.h"
#include "rt_main.h"
#include "rt_page.h"

typedef Civic__Volunteers__V1__Volunteer vol_volunteer;
typedef Civic__Volunteers__V1__Activity vol_activity;
typedef Civic__Volunteers__V1__Signup vol_signup;
typedef Civic__Volunteers__V1__HoursRecord vol_hours;

#define VOL_ACTIVE CIVIC__VOLUNTEERS__V1__VOLUNTEER_STATE__VOLUNTEER_STATE_ACTIVE
#define VOL_INACTIVE CIVIC__VOLUNTEERS__V1__VOLUNTEER_STATE__VOLUNTEER_STATE_INACTIVE
#define VOL_ANONYMISED CIVIC__VOLUNTEERS__V1__VOLUNTEER_STATE__VOLUNTEER_STATE_ANONYMISED
#define ACT_OPEN CIVIC__VOLUNTEERS__V1__ACTIVITY_STATE__ACTIVITY_STATE_OPEN
#define ACT_CANCELLED CIVIC__VOLUNTEERS__V1__ACTIVITY_STATE__ACTIVITY_STATE_CANCELLED
#define SU_WAITLISTED CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_WAITLISTED
#define SU_REGISTERED CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED
#define SU_CHECKED_IN CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_CHECKED_IN
#define SU_CHECKED_OUT CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_CHECKED_OUT
#define SU_CANCELLED CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_CANCELLED
#define SU_NO_SHOW CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_NO_SHOW
#define SU_STATES 7 // 0 (unspecified) .. NO_SHOW
#define HOURS_RECORDED CIVIC__VOLUNTEERS__V1__HOURS_STATE__HOURS_STATE_RECORDED
#define HOURS_CORRECTED CIVIC__VOLUNTEERS__V1__HOURS_STATE__HOURS_STATE_CORRECTED
#define HOURS_DECLINED CIVIC__VOLUNTEERS__V1__HOURS_STATE__HOURS_STATE_DECLINED

// An activity lasts at most this long, which bounds the conflict scan.
#define VOL_MAX_ACTIVITY_MS (7LL * 24 * 3600 * 1000)

typedef struct vol_svc {
    rt_store *store;
    int tz_offset_min;
    // Databases (store.c lists every key layout).
    MDB_dbi volunteers, vol_by_phone, vol_by_area, vol_by_kind, vol_by_name;
    MDB_dbi activities, act_by_end, act_by_area, act_by_kind;
    MDB_dbi signups, su_by_act_vol, su_by_act_state, su_by_vol, su_hold, su_due;
    MDB_dbi hours, hours_by_vol, hours_by_act;
    MDB_dbi counts, h_day, h_week;
} vol_svc;

extern const rt_service_def volunteers_service_def;
extern const char *const volunteers_dbs[];

// volunteers_init and volunteers_fini are the service's rt_app hooks; init
// also registers the no-show job with the store's writer.
int volunteers_init(void **state, rt_store *store, const rt_config *cfg);
void volunteers_fini(void *state);

// vol_svc_open fills s with the store's database handles (for tools and
// tests that read a store without serving it).
void vol_svc_open(vol_svc *s, rt_store *store, int tz_offset_min);

// vol_mask_has tells whether a write sets path: a create (mask NULL) sets
// every field, an update only those its mask names.
static inline int
vol_mask_has(const Google__Protobuf__FieldMask *mask, const char *path)
{
    return mask == NULL || rt_mask_has(mask, path);
}

// --- store.c: records, their indexes and counters ---

// vol_*_get read a record into the call's arena. When it does not exist
// they record NOT_FOUND naming field ("activity_id") and return NULL; with
// field NULL the id came from an index, so a missing record is INTERNAL.
vol_volunteer *vol_volunteer_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field);
vol_activity *vol_activity_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field);
vol_signup *vol_signup_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field);
vol_hours *vol_hours_get(rt_txn *t, const vol_svc *s, uint64_t id, const char *field);

// vol_*_put store a record with its index entries and counters; old is the
// stored record it replaces (NULL when new), so entries and counts move with
// changed fields. Neither record is changed.
void vol_volunteer_put(rt_txn *t, const vol_svc *s, const vol_volunteer *v, const vol_volunteer *old);
void vol_activity_put(rt_txn *t, const vol_svc *s, const vol_activity *a, const vol_activity *old);
void vol_signup_put(rt_txn *t, const vol_svc *s, const vol_signup *su, const vol_signup *old);
void vol_hours_put(rt_txn *t, const vol_svc *s, const vol_hours *h, const vol_hours *old);

// vol_phone_owner returns the id of the volunteer holding phone (11 digits),
// or 0.
uint64_t vol_phone_owner(rt_txn *t, const vol_svc *s, const char *phone);

// vol_collect_ids reads the ids that end the keys of db starting with
// prefix, in key order, into *ids (arena), so that a write can change the
// index while it works through them. Returns rt_txn_status(t).
int vol_collect_ids(rt_txn *t, MDB_dbi db, const rt_key *prefix, uint64_t **ids, size_t *n);

// vol_signup_state_count returns how many sign-ups of an activity are in a
// state; vol_seats_taken the REGISTERED, CHECKED_IN, CHECKED_OUT and NO_SHOW.
int32_t vol_signup_state_count(rt_txn *t, const vol_svc *s, uint64_t activity_id, int state);
int32_t vol_seats_taken(rt_txn *t, const vol_svc *s, uint64_t activity_id);

// vol_count_get reads a counter of the counts database ('A', 'T', 'N').
int64_t vol_count_get(rt_txn *t, const vol_svc *s, char tag, uint64_t id);
// vol_day_get and vol_week_get read the h_day and h_week counters.
int64_t vol_day_get(rt_txn *t, const vol_svc *s, char tag, int32_t day, uint64_t id);
int64_t vol_week_get(rt_txn *t, const vol_svc *s, int32_t monday, uint64_t area_id);

// vol_holds says whether a sign-up state holds the activity's time (counts
// for conflicts): WAITLISTED, REGISTERED, CHECKED_IN.
int vol_holds(int state);
// vol_takes_seat says whether a sign-up state takes a seat.
int vol_takes_seat(int state);
// vol_hours_counted: the minutes an hours record counts (0 if declined).
int32_t vol_hours_counted(const vol_hours *h);
// vol_monday returns the Monday (YYYYMMDD) of day's week.
int32_t vol_monday(int32_t day);
// vol_minutes computes hours: min(out, end) − max(in, start), in whole
// minutes, at least 0.
int32_t vol_minutes(int64_t in_ms, int64_t out_ms, int64_t start_ms, int64_t end_ms);

// Key builders, one per index or counter; check.c rebuilds keys with them.
void vol_key_id(rt_key *k, uint64_t id);
void vol_key_phone(rt_key *k, const char *phone, uint64_t id);
void vol_key_vol_area(rt_key *k, const vol_volunteer *v);
void vol_key_vol_kind(rt_key *k, const vol_volunteer *v);
void vol_key_vol_name(rt_key *k, const vol_volunteer *v);
void vol_key_act_end(rt_key *k, const vol_activity *a);
void vol_key_act_area(rt_key *k, const vol_activity *a);
void vol_key_act_kind(rt_key *k, const vol_activity *a);
void vol_key_su_act_vol(rt_key *k, const vol_signup *su);
void vol_key_su_act_state(rt_key *k, const vol_signup *su);
void vol_key_su_vol(rt_key *k, const vol_signup *su);
void vol_key_su_hold(rt_key *k, const vol_signup *su);
void vol_hold_value(unsigned char out[9], const vol_signup *su);
void vol_key_su_due(rt_key *k, const vol_signup *su);
void vol_key_hours_vol(rt_key *k, const vol_hours *h);
void vol_key_hours_act(rt_key *k, const vol_hours *h);
void vol_key_count(rt_key *k, char tag, uint64_t id);
void vol_key_state_count(rt_key *k, uint64_t activity_id, int state);
void vol_key_day(rt_key *k, char tag, int32_t day, uint64_t id);
void vol_key_week_vol(rt_key *k, int32_t monday, uint64_t area_id, uint64_t volunteer_id);
void vol_key_week_area(rt_key *k, int32_t monday, uint64_t area_id);

// --- view.c: what callers see, and who may act for whom ---

enum {
    VOL_PAGE_VOLUNTEERS = 1,
    VOL_PAGE_VOL_BY_AREA,
    VOL_PAGE_VOL_BY_KIND,
    VOL_PAGE_VOL_BY_NAME,
    VOL_PAGE_ACT_BY_END,
    VOL_PAGE_ACT_BY_AREA,
    VOL_PAGE_ACT_BY_KIND,
    VOL_PAGE_SU_BY_ACT,
    VOL_PAGE_SU_BY_ACT_VOL,
    VOL_PAGE_SU_BY_VOL,
    VOL_PAGE_HOURS_BY_VOL,
    VOL_PAGE_HOURS_BY_ACT,
};

// vol_volunteer_view masks the phone for every role but admin (in place;
// never edits what the record points to).
void vol_volunteer_view(rt_txn *t, const rt_call *call, vol_volunteer *v);
// vol_activity_view fills in registered, waitlisted and seats_left.
void vol_activity_view(rt_txn *t, const vol_svc *s, vol_activity *a);
// vol_signup_view fills in a WAITLISTED sign-up's position (counting those
// ahead of it: O(position)).
void vol_signup_view(rt_txn *t, const vol_svc *s, vol_signup *su);
// vol_caller_volunteer returns the volunteer id a caller with the volunteer
// role acts as (its principal), or 0 for any other role.
uint64_t vol_caller_volunteer(const rt_call *call);
// vol_check_self: a volunteer caller may act only for themselves;
// PERMISSION_DENIED otherwise. Returns rt_txn_status(t).
int vol_check_self(rt_txn *t, const rt_call *call, uint64_t volunteer_id);
// vol_may_see: whether the caller may see a volunteer's sign-ups and hours
// (not another volunteer's).
int vol_may_see(const rt_call *call, uint64_t volunteer_id);

// --- handlers_signups.c: shared with activities and volunteers ---

// vol_signup_cancel cancels a WAITLISTED or REGISTERED sign-up (event
// "signup.cancelled") and, for a seat given up before the start, promotes
// the first waitlisted volunteer without a conflict (promote: the promoted
// sign-up, or NULL). Returns rt_txn_status(t).
int vol_signup_cancel(rt_txn *t, const vol_svc *s, const rt_call *call, vol_signup *old,
                      const char *reason, int promote, vol_signup **promoted);
// vol_promote fills free seats of activity a from its waitlist, FIFO,
// skipping anyone it would put in an overlap; never after the start.
// Promoted sign-ups go into *out (arena; may be NULL) and their count in *n.
void vol_promote(rt_txn *t, const vol_svc *s, int64_t now_ms, const vol_activity *a,
                 vol_signup ***out, size_t *n);
// vol_cancel_holds cancels every WAITLISTED or REGISTERED sign-up of a
// volunteer to activities that have not started. Returns how many.
uint32_t vol_cancel_holds(rt_txn *t, const vol_svc *s, const rt_call *call, uint64_t volunteer_id,
                          const char *reason);
// vol_find_conflict returns the sign-up of volunteer_id, other than
// exclude, that holds time overlapping [start, end) (registered_only: only
// REGISTERED or CHECKED_IN), or 0.
uint64_t vol_find_conflict(rt_txn *t, const vol_svc *s, uint64_t volunteer_id, int64_t start_ms,
                           int64_t end_ms, uint64_t exclude, int registered_only);
// vol_noshow_job is the writer's periodic job: REGISTERED sign-ups of
// activities that have ended become NO_SHOW, 100 at a time.
int vol_noshow_job(rt_txn *t, void *arg);

// --- check.c ---

// vol_check_indexes audits the store in t: every index entry and counter is
// rebuilt from the records and compared, and the sign-up rules (capacity,
// one live sign-up per volunteer and activity, no overlap among REGISTERED)
// hold. Returns 0, -1 with the first disagreement in err, or the
// transaction's civic code.
int vol_check_indexes(rt_txn *t, const vol_svc *s, char *err, size_t n);

// --- handlers ---
int handle_register_volunteer(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_volunteer(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_volunteers(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_update_volunteer(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_deactivate_volunteer(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_anonymise_volunteer(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_create_activity(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_activity(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_activities(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_update_activity(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_cancel_activity(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_sign_up(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_signup(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_signups(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_cancel_signup(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_check_in(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_check_out(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_hours(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_list_hours(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_correct_hours(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_decline_hours(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_volunteer_totals(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_rank_hours(rt_txn *t, const void *in, void *out, const rt_call *call);
int handle_get_area_summary(rt_txn *t, const void *in, void *out, const rt_call *call);

// --- demo.c ---

// volunteers_demo_load loads the demo volunteers and activities through the
// public API at url when the store is empty. Returns 0, or -1 if any call
// failed (logged).
int volunteers_demo_load(const char *url, const civic_key *key);
// volunteers_ready is the rt_app hook that loads the demo when --demo is set.
int volunteers_ready(void *state, const rt_config *cfg);

#endif
