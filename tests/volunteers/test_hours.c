// civic.volunteers.hours: hours against a brute-force sum. Volunteers
// attend running activities with check-in and check-out times on the
// client's clock (early arrivals, late departures past the end), admins
// correct and decline records; every total, ranking and the area summary
// is then compared with the same sums computed here from the times, and
// the store is audited. Attendance rules (order, states, one record per
// attendance) are checked on the way, and the bounds of a check-in on
// their own: not before the sign-up held its seat (made REGISTERED, or
// promoted), not more than an hour before the start.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt.h"

#define NV 24
#define NA 4
#define MIN 60

typedef struct rec {
    uint64_t volunteer, signup, hours;
    int act;
    int64_t in, out;
    int minutes;  // what counts now
    int kind;     // the volunteer's
    int32_t day;  // local day of max(check-in, start)
} rec;

static int32_t
local_day(int64_t unix_s)
{
    time_t t = (time_t) (unix_s + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int32_t
monday_of(int64_t unix_s)
{
    time_t t = (time_t) (unix_s + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    int back = (tm.tm_wday + 6) % 7;
    return local_day(unix_s - (int64_t) back * 86400);
}

// attend checks a sign-up in or out (method) at when_ms, Unix ms; 0 is
// no time (the server's clock).
static int
attend(civic_channel *ch, const char *method, uint64_t signup, int64_t when_ms, ProtobufCMessage **r,
       civic_status *st)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT, *at = when_ms ? &ts : NULL;
    ts.seconds = when_ms / 1000;
    ts.nanos = (int32_t) (when_ms % 1000) * 1000000;
    if (strcmp(method, "CheckIn") == 0) {
        Civic__Volunteers__V1__CheckInRequest req = CIVIC__VOLUNTEERS__V1__CHECK_IN_REQUEST__INIT;
        req.signup_id = signup;
        req.time = at;
        return vt_call(ch, NULL, NULL, VT "CheckIn", &req.base, &civic__volunteers__v1__check_in_response__descriptor,
                       r, NULL, st);
    }
    Civic__Volunteers__V1__CheckOutRequest req = CIVIC__VOLUNTEERS__V1__CHECK_OUT_REQUEST__INIT;
    req.signup_id = signup;
    req.time = at;
    return vt_call(ch, NULL, NULL, VT "CheckOut", &req.base, &civic__volunteers__v1__check_out_response__descriptor,
                   r, NULL, st);
}

static void
correct(civic_channel *ch, uint64_t id, int minutes, int decline)
{
    ProtobufCMessage *r;
    civic_status st;
    int rc;
    if (decline) {
        Civic__Volunteers__V1__DeclineHoursRequest req = CIVIC__VOLUNTEERS__V1__DECLINE_HOURS_REQUEST__INIT;
        req.id = id;
        req.reason = "未实际参加";
        rc = vt_call(ch, NULL, NULL, VT "DeclineHours", &req.base,
                     &civic__volunteers__v1__decline_hours_response__descriptor, &r, NULL, &st);
    } else {
        Civic__Volunteers__V1__CorrectHoursRequest req = CIVIC__VOLUNTEERS__V1__CORRECT_HOURS_REQUEST__INIT;
        req.id = id;
        req.minutes = minutes;
        req.reason = "签退时间补录";
        rc = vt_call(ch, NULL, NULL, VT "CorrectHours", &req.base,
                     &civic__volunteers__v1__correct_hours_response__descriptor, &r, NULL, &st);
    }
    if (rc != 0)
        fail_msg("%s %llu: %s", decline ? "DeclineHours" : "CorrectHours", (unsigned long long) id, st.message);
    protobuf_c_message_free_unpacked(r, NULL);
}

static int
cmp_desc(const void *a, const void *b)
{
    const int64_t *x = a, *y = b; // (minutes, id) pairs
    if (x[0] != y[0])
        return x[0] > y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static void
test_hours_against_brute_force(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    srandom(20191124);
    int64_t now = vt_now_s();
    // Nobody checks in before signing up, and nobody checks out more than 5
    // minutes ahead of the server's clock, so every attendance here falls
    // in T .. T+4 min, T being the first whole second after the last
    // sign-up was made. The activities are made for tomorrow, signed up
    // for, then moved around T: activity 0 ends at T+3 min (a check-out at
    // T+4 counts to the end), activities 1 and 3 start at T+2 and T+1 min
    // (an earlier check-in counts from the start), activity 2 runs
    // throughout.
    static const int64_t from_t[NA] = {-2 * 3600, 2 * MIN, -3 * 3600, 1 * MIN};
    static const int64_t to_t[NA] = {3 * MIN, 3 * 3600, 3 * 3600, 5 * 3600};
    int64_t start[NA], end[NA];
    uint64_t act[NA];
    for (int j = 0; j < NA; j++)
        act[j] = vt_activity(ch, 100 + j, now + 86400, now + 86400 + 6 * 3600, NV);
    rec r[NV];
    int64_t t0 = 0;
    for (int i = 0; i < NV; i++) {
        rec *x = &r[i];
        memset(x, 0, sizeof *x);
        x->volunteer = vt_volunteer(ch, i, NULL, 1 + i % 3);
        x->kind = 1 + i % 5;
        x->act = i % NA;
        Civic__Volunteers__V1__Signup *su;
        assert_ok(vt_signup(ch, x->volunteer, act[x->act], NULL, &su, NULL));
        x->signup = su->id;
        int64_t made = su->create_time->seconds + (su->create_time->nanos > 0);
        t0 = made > t0 ? made : t0;
        protobuf_c_message_free_unpacked(&su->base, NULL);
    }
    for (int j = 0; j < NA; j++) {
        start[j] = t0 + from_t[j];
        end[j] = t0 + to_t[j];
        civic_status st;
        if (vt_move_activity(ch, act[j], start[j], end[j], &st) != 0)
            fail_msg("moving activity %d: %s", j, st.message);
    }
    for (int i = 0; i < NV; i++) {
        rec *x = &r[i];
        int64_t s0 = start[x->act], e0 = end[x->act];
        x->in = t0 + (int64_t) (random() % (2 * MIN));
        x->out = x->act == 0 && i % 2 == 0 ? t0 + 4 * MIN
                                           : x->in + (int64_t) (random() % (t0 + 4 * MIN - x->in + 1));
        int64_t from = x->in > s0 ? x->in : s0, to = x->out < e0 ? x->out : e0;
        x->minutes = to > from ? (int) ((to - from) / MIN) : 0;
        x->day = local_day(from);
    }
    ProtobufCMessage *resp;
    civic_status st;
    // Attendance in order only: no check-out before the check-in.
    assert_code(attend(ch, "CheckOut", r[0].signup, 0, &resp, &st), CIVIC_FAILED_PRECONDITION);
    for (int i = 0; i < NV; i++) {
        assert_ok(attend(ch, "CheckIn", r[i].signup, r[i].in * 1000, &resp, &st));
        protobuf_c_message_free_unpacked(resp, NULL);
        if (i == 0) // not before the check-in
            assert_code(attend(ch, "CheckOut", r[i].signup, (r[i].in - 60) * 1000, &resp, &st), CIVIC_INVALID_ARGUMENT);
        assert_ok(attend(ch, "CheckOut", r[i].signup, r[i].out * 1000, &resp, &st));
        Civic__Volunteers__V1__CheckOutResponse *co = (Civic__Volunteers__V1__CheckOutResponse *) resp;
        r[i].hours = co->hours->id;
        if (co->hours->minutes != r[i].minutes)
            fail_msg("volunteer %d: %d minutes recorded, brute force %d", i, co->hours->minutes, r[i].minutes);
        assert_int_equal(co->hours->local_day, r[i].day);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    // One record per attendance: a second check-out is refused.
    assert_code(attend(ch, "CheckOut", r[1].signup, 0, &resp, &st), CIVIC_FAILED_PRECONDITION);
    assert_code(attend(ch, "CheckIn", r[1].signup, 0, &resp, &st), CIVIC_FAILED_PRECONDITION);

    // Corrections and declines; a declined record reinstated by a correction.
    correct(ch, r[2].hours, 17, 0);
    r[2].minutes = 17;
    correct(ch, r[3].hours, 0, 1);
    r[3].minutes = 0;
    correct(ch, r[5].hours, 0, 1);
    correct(ch, r[5].hours, 42, 0);
    r[5].minutes = 42;
    correct(ch, r[6].hours, 30, 0);
    correct(ch, r[6].hours, 31, 0);
    r[6].minutes = 31;
    Civic__Volunteers__V1__DeclineHoursRequest dh = CIVIC__VOLUNTEERS__V1__DECLINE_HOURS_REQUEST__INIT;
    dh.id = r[3].hours;
    dh.reason = "again";
    assert_code(vt_call(ch, NULL, NULL, VT "DeclineHours", &dh.base,
                        &civic__volunteers__v1__decline_hours_response__descriptor, &resp, NULL, &st),
                CIVIC_FAILED_PRECONDITION);
    Civic__Volunteers__V1__CorrectHoursRequest too_long = CIVIC__VOLUNTEERS__V1__CORRECT_HOURS_REQUEST__INIT;
    too_long.id = r[7].hours;
    too_long.minutes = 100000;
    too_long.reason = "x";
    assert_code(vt_call(ch, NULL, NULL, VT "CorrectHours", &too_long.base,
                        &civic__volunteers__v1__correct_hours_response__descriptor, &resp, NULL, &st),
                CIVIC_INVALID_ARGUMENT);
    // The history keeps every step; records are never deleted.
    Civic__Volunteers__V1__GetHoursRequest gh = CIVIC__VOLUNTEERS__V1__GET_HOURS_REQUEST__INIT;
    gh.id = r[5].hours;
    assert_ok(vt_call(ch, NULL, NULL, VT "GetHours", &gh.base, &civic__volunteers__v1__get_hours_response__descriptor,
                      &resp, NULL, &st));
    Civic__Volunteers__V1__HoursRecord *h5 = ((Civic__Volunteers__V1__GetHoursResponse *) resp)->hours;
    assert_int_equal(h5->n_history, 3);
    assert_int_equal(h5->history[1]->state, CIVIC__VOLUNTEERS__V1__HOURS_STATE__HOURS_STATE_DECLINED);
    assert_int_equal(h5->minutes, 42);
    protobuf_c_message_free_unpacked(resp, NULL);

    // Totals per volunteer.
    for (int i = 0; i < NV; i++) {
        Civic__Volunteers__V1__GetVolunteerTotalsRequest req = CIVIC__VOLUNTEERS__V1__GET_VOLUNTEER_TOTALS_REQUEST__INIT;
        req.volunteer_id = r[i].volunteer;
        assert_ok(vt_call(ch, NULL, NULL, VT "GetVolunteerTotals", &req.base,
                          &civic__volunteers__v1__get_volunteer_totals_response__descriptor, &resp, NULL, &st));
        Civic__Volunteers__V1__GetVolunteerTotalsResponse *tr = (Civic__Volunteers__V1__GetVolunteerTotalsResponse *) resp;
        assert_int_equal(tr->minutes, r[i].minutes);
        assert_int_equal(tr->records, i == 3 ? 0 : 1);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    // Rankings over the range: volunteers, areas (the activities'), kinds.
    int32_t from = local_day(now - 2 * 86400), to = local_day(now + 86400);
    for (int by = 1; by <= 3; by++) {
        int64_t want[NV][2];
        size_t nw = 0;
        for (int i = 0; i < NV; i++) {
            uint64_t key = by == 1 ? r[i].volunteer : by == 2 ? 100 + (uint64_t) r[i].act : (uint64_t) r[i].kind;
            size_t k = 0;
            while (k < nw && (uint64_t) want[k][1] != key)
                k++;
            if (k == nw) {
                want[nw][0] = 0;
                want[nw][1] = (int64_t) key;
                nw++;
            }
            want[k][0] += r[i].minutes;
        }
        size_t nz = 0;
        for (size_t k = 0; k < nw; k++)
            if (want[k][0] > 0)
                memcpy(want[nz++], want[k], sizeof want[k]);
        qsort(want, nz, sizeof want[0], cmp_desc);
        Civic__Volunteers__V1__RankHoursRequest req = CIVIC__VOLUNTEERS__V1__RANK_HOURS_REQUEST__INIT;
        req.by = by;
        req.from_day = from;
        req.to_day = to;
        req.limit = 100;
        assert_ok(vt_call(ch, NULL, NULL, VT "RankHours", &req.base, &civic__volunteers__v1__rank_hours_response__descriptor,
                          &resp, NULL, &st));
        Civic__Volunteers__V1__RankHoursResponse *rr = (Civic__Volunteers__V1__RankHoursResponse *) resp;
        assert_int_equal(rr->n_entries, nz);
        for (size_t k = 0; k < nz; k++) {
            Civic__Volunteers__V1__RankingEntry *e = rr->entries[k];
            uint64_t id = by == 1 ? e->volunteer_id : by == 2 ? e->area_id : (uint64_t) e->kind;
            assert_int_equal(e->rank, k + 1);
            assert_int_equal(e->minutes, want[k][0]);
            assert_int_equal(id, (uint64_t) want[k][1]);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    // The dashboard's summary for this week, per activity area.
    int32_t monday = monday_of(now);
    Civic__Volunteers__V1__GetAreaSummaryRequest sr = CIVIC__VOLUNTEERS__V1__GET_AREA_SUMMARY_REQUEST__INIT;
    assert_ok(vt_call(ch, NULL, NULL, VT "GetAreaSummary", &sr.base,
                      &civic__volunteers__v1__get_area_summary_response__descriptor, &resp, NULL, &st));
    Civic__Volunteers__V1__GetAreaSummaryResponse *sum = (Civic__Volunteers__V1__GetAreaSummaryResponse *) resp;
    assert_int_equal(sum->week_start_day, monday);
    for (int j = 0; j < NA; j++) {
        int64_t minutes = 0;
        uint32_t active = 0;
        for (int i = 0; i < NV; i++) {
            if (r[i].act != j || monday_of(start[j] > r[i].in ? start[j] : r[i].in) != monday)
                continue;
            minutes += r[i].minutes;
            active += r[i].minutes > 0;
        }
        Civic__Volunteers__V1__AreaVolunteerSummary *a = NULL;
        for (size_t k = 0; k < sum->n_areas; k++)
            if (sum->areas[k]->area_id == 100 + (uint64_t) j)
                a = sum->areas[k];
        if (minutes == 0 && a == NULL)
            continue;
        assert_non_null(a);
        assert_int_equal(a->minutes_this_week, minutes);
        assert_int_equal(a->volunteers_active, active);
    }
    // Home areas 1..3 count their ACTIVE volunteers.
    for (size_t k = 0; k < sum->n_areas; k++)
        if (sum->areas[k]->area_id >= 1 && sum->areas[k]->area_id <= 3)
            assert_int_equal(sum->areas[k]->volunteers_registered, NV / 3);
    protobuf_c_message_free_unpacked(resp, NULL);
    // Records listed per activity: one per attendance.
    Civic__Volunteers__V1__ListHoursRequest lh = CIVIC__VOLUNTEERS__V1__LIST_HOURS_REQUEST__INIT;
    lh.activity_id = act[1];
    assert_ok(vt_call(ch, NULL, NULL, VT "ListHours", &lh.base, &civic__volunteers__v1__list_hours_response__descriptor,
                      &resp, NULL, &st));
    assert_int_equal(((Civic__Volunteers__V1__ListHoursResponse *) resp)->n_hours, NV / NA);
    protobuf_c_message_free_unpacked(resp, NULL);

    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

static int64_t
ts_ms(const Google__Protobuf__Timestamp *ts)
{
    return ts->seconds * 1000 + ts->nanos / 1000000;
}

// refused checks that a check-in at when_ms is INVALID_ARGUMENT naming
// time and saying why, and that the sign-up is still REGISTERED.
static void
refused(civic_channel *ch, uint64_t signup, int64_t when_ms, const char *why)
{
    ProtobufCMessage *r;
    civic_status st;
    assert_code(attend(ch, "CheckIn", signup, when_ms, &r, &st), CIVIC_INVALID_ARGUMENT);
    if (st.n_violations == 0 || strcmp(st.violations[0].field, "time") != 0 || strstr(st.message, why) == NULL)
        fail_msg("want a violation of time saying \"%s\": %s", why, st.message);
    Civic__Volunteers__V1__GetSignupRequest req = CIVIC__VOLUNTEERS__V1__GET_SIGNUP_REQUEST__INIT;
    req.id = signup;
    assert_ok(vt_call(ch, NULL, NULL, VT "GetSignup", &req.base, &civic__volunteers__v1__get_signup_response__descriptor,
                      &r, NULL, NULL));
    Civic__Volunteers__V1__Signup *su = ((Civic__Volunteers__V1__GetSignupResponse *) r)->signup;
    assert_int_equal(su->state, CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED);
    assert_null(su->check_in_time);
    protobuf_c_message_free_unpacked(r, NULL);
}

static void
test_check_in_bounds(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    int64_t now = vt_now_s();
    uint64_t v[4];
    for (int i = 0; i < 4; i++)
        v[i] = vt_volunteer(ch, i, NULL, 41);
    ProtobufCMessage *r;
    civic_status st;
    Civic__Volunteers__V1__Signup *su;

    // What the audit found: sign up for a running activity, then claim to
    // have checked in a day ago.
    uint64_t running = vt_activity(ch, 41, now - 1800, now + 3600, 5);
    assert_ok(vt_signup(ch, v[0], running, NULL, &su, NULL));
    uint64_t s0 = su->id;
    int64_t made = ts_ms(su->create_time);
    protobuf_c_message_free_unpacked(&su->base, NULL);
    refused(ch, s0, made - 24 * 3600 * 1000LL, "before the sign-up was REGISTERED");
    refused(ch, s0, made - 1, "before the sign-up was REGISTERED");
    assert_ok(attend(ch, "CheckIn", s0, made, &r, &st)); // the moment it was made is fine
    protobuf_c_message_free_unpacked(r, NULL);
    assert_ok(attend(ch, "CheckOut", s0, 0, &r, &st));
    Civic__Volunteers__V1__HoursRecord *h = ((Civic__Volunteers__V1__CheckOutResponse *) r)->hours;
    assert_true(h->minutes <= 6); // only since the sign-up, however slow this machine
    protobuf_c_message_free_unpacked(r, NULL);

    // A promoted sign-up holds its seat from its promotion, not from when
    // it joined the waitlist.
    uint64_t soon = vt_activity(ch, 41, now + 1800, now + 5400, 1);
    assert_ok(vt_signup(ch, v[1], soon, NULL, &su, NULL));
    uint64_t s1 = su->id;
    protobuf_c_message_free_unpacked(&su->base, NULL);
    assert_ok(vt_signup(ch, v[2], soon, NULL, &su, NULL));
    uint64_t s2 = su->id;
    int64_t joined = ts_ms(su->create_time);
    protobuf_c_message_free_unpacked(&su->base, NULL);
    struct timespec d = {0, 20 * 1000000}; // the promotion comes a clear 20 ms later
    nanosleep(&d, NULL);
    Civic__Volunteers__V1__CancelSignupRequest cs = CIVIC__VOLUNTEERS__V1__CANCEL_SIGNUP_REQUEST__INIT;
    cs.id = s1;
    assert_ok(vt_call(ch, NULL, NULL, VT "CancelSignup", &cs.base, &civic__volunteers__v1__cancel_signup_response__descriptor,
                      &r, NULL, &st));
    Civic__Volunteers__V1__CancelSignupResponse *cr = (Civic__Volunteers__V1__CancelSignupResponse *) r;
    assert_non_null(cr->promoted);
    assert_int_equal(cr->promoted->id, s2);
    int64_t promoted = ts_ms(cr->promoted->promote_time);
    assert_true(promoted >= joined + 20);
    protobuf_c_message_free_unpacked(r, NULL);
    refused(ch, s2, joined, "before the sign-up was REGISTERED");
    refused(ch, s2, promoted - 1, "before the sign-up was REGISTERED");
    assert_ok(attend(ch, "CheckIn", s2, promoted, &r, &st)); // half an hour early: allowed
    protobuf_c_message_free_unpacked(r, NULL);
    assert_code(attend(ch, "CheckOut", s2, promoted - 1, &r, &st), CIVIC_INVALID_ARGUMENT);
    assert_int_equal(strcmp(st.violations[0].field, "time"), 0);
    assert_ok(attend(ch, "CheckOut", s2, 0, &r, &st));
    assert_int_equal(((Civic__Volunteers__V1__CheckOutResponse *) r)->hours->minutes, 0); // left before the start
    protobuf_c_message_free_unpacked(r, NULL);

    // Not more than an hour before the start.
    uint64_t later = vt_activity(ch, 41, now + 2 * 3600, now + 3 * 3600, 3);
    assert_ok(vt_signup(ch, v[3], later, NULL, &su, NULL));
    uint64_t s3 = su->id;
    protobuf_c_message_free_unpacked(&su->base, NULL);
    refused(ch, s3, 0, "more than 1 hour before the activity's start");

    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hours_against_brute_force),
        cmocka_unit_test(test_check_in_bounds),
    };
    return cmocka_run_group_tests_name("civic.volunteers.hours", tests, NULL, NULL);
}
