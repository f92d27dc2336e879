// civic.volunteers.rules: personal data and who may act for whom, bad
// input, capacity changes, cancelling an activity, the no-show job and the
// events — against a real civic-volunteers in open mode, acting as each
// role through x-civic-principal and x-civic-role.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt.h"

#define DAY (24 * 3600)
#define PHONE "13812345678"
#define MASKED "138****5678"

typedef Civic__Volunteers__V1__Volunteer volunteer;

static void
want_violation(const civic_status *st, const char *field)
{
    for (size_t i = 0; i < st->n_violations; i++)
        if (strcmp(st->violations[i].field, field) == 0)
            return;
    fail_msg("no violation names %s: %s", field, st->message);
}

static int
get_volunteer(civic_channel *ch, const char *p, const char *role, uint64_t id, char *phone, size_t n)
{
    Civic__Volunteers__V1__GetVolunteerRequest req = CIVIC__VOLUNTEERS__V1__GET_VOLUNTEER_REQUEST__INIT;
    req.id = id;
    ProtobufCMessage *r;
    int rc = vt_call(ch, p, role, VT "GetVolunteer", &req.base,
                     &civic__volunteers__v1__get_volunteer_response__descriptor, &r, NULL, NULL);
    if (rc == 0)
        snprintf(phone, n, "%s", ((Civic__Volunteers__V1__GetVolunteerResponse *) r)->volunteer->phone);
    protobuf_c_message_free_unpacked(r, NULL);
    return rc;
}

static void
list_phone(civic_channel *ch, const char *p, const char *role, uint64_t id, char *phone, size_t n)
{
    Civic__Volunteers__V1__ListVolunteersRequest req = CIVIC__VOLUNTEERS__V1__LIST_VOLUNTEERS_REQUEST__INIT;
    req.area_id = 1;
    ProtobufCMessage *r;
    assert_ok(vt_call(ch, p, role, VT "ListVolunteers", &req.base,
                      &civic__volunteers__v1__list_volunteers_response__descriptor, &r, NULL, NULL));
    Civic__Volunteers__V1__ListVolunteersResponse *l = (Civic__Volunteers__V1__ListVolunteersResponse *) r;
    phone[0] = '\0';
    for (size_t i = 0; i < l->n_volunteers; i++)
        if (l->volunteers[i]->id == id)
            snprintf(phone, n, "%s", l->volunteers[i]->phone);
    protobuf_c_message_free_unpacked(r, NULL);
}

static int
update_name(civic_channel *ch, const char *p, const char *role, uint64_t id, char *phone, size_t n)
{
    Civic__Volunteers__V1__UpdateVolunteerRequest req = CIVIC__VOLUNTEERS__V1__UPDATE_VOLUNTEER_REQUEST__INIT;
    volunteer v = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"name"};
    v.id = id;
    v.name = "王建国";
    m.paths = paths;
    m.n_paths = 1;
    req.volunteer = &v;
    req.update_mask = &m;
    ProtobufCMessage *r;
    int rc = vt_call(ch, p, role, VT "UpdateVolunteer", &req.base,
                     &civic__volunteers__v1__update_volunteer_response__descriptor, &r, NULL, NULL);
    if (rc == 0)
        snprintf(phone, n, "%s", ((Civic__Volunteers__V1__UpdateVolunteerResponse *) r)->volunteer->phone);
    protobuf_c_message_free_unpacked(r, NULL);
    return rc;
}

static void
test_masking_for_every_role(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    uint64_t id = vt_volunteer(ch, 1, "+86" PHONE, 1), other = vt_volunteer(ch, 2, NULL, 1);
    char self[24], someone[24], phone[32];
    snprintf(self, sizeof self, "%llu", (unsigned long long) id);
    snprintf(someone, sizeof someone, "%llu", (unsigned long long) other);
    const struct {
        const char *p, *role;
        int admin, may_update;
    } who[] = {
        {"office", "admin", 1, 1},       {"insp-1", "inspector", 0, 0}, {"unit-3", "unit", 0, 0},
        {"leader", "viewer", 0, 0},      {self, "volunteer", 0, 1},     {someone, "volunteer", 0, 0},
    };
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
        const char *want = who[i].admin ? PHONE : MASKED;
        assert_ok(get_volunteer(ch, who[i].p, who[i].role, id, phone, sizeof phone));
        if (strcmp(phone, want) != 0)
            fail_msg("GetVolunteer as %s: phone %s", who[i].role, phone);
        list_phone(ch, who[i].p, who[i].role, id, phone, sizeof phone);
        if (strcmp(phone, want) != 0)
            fail_msg("ListVolunteers as %s: phone %s", who[i].role, phone);
        int rc = update_name(ch, who[i].p, who[i].role, id, phone, sizeof phone);
        assert_code(rc, who[i].may_update ? CIVIC_OK : CIVIC_PERMISSION_DENIED);
        if (rc == 0 && strcmp(phone, want) != 0)
            fail_msg("UpdateVolunteer as %s: phone %s", who[i].role, phone);
    }
    // Registering answers with the phone in full only to the admin role.
    Civic__Volunteers__V1__RegisterVolunteerRequest reg = CIVIC__VOLUNTEERS__V1__REGISTER_VOLUNTEER_REQUEST__INIT;
    volunteer v = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
    v.name = "李秀英";
    v.phone = "13987654321";
    v.kind = CIVIC__VOLUNTEERS__V1__VOLUNTEER_KIND__VOLUNTEER_KIND_STUDENT;
    v.area_id = 1;
    reg.volunteer = &v;
    ProtobufCMessage *r;
    assert_code(vt_call(ch, "leader", "viewer", VT "RegisterVolunteer", &reg.base,
                        &civic__volunteers__v1__register_volunteer_response__descriptor, &r, NULL, NULL),
                CIVIC_PERMISSION_DENIED);
    assert_ok(vt_call(ch, "office", "admin", VT "RegisterVolunteer", &reg.base,
                      &civic__volunteers__v1__register_volunteer_response__descriptor, &r, NULL, NULL));
    assert_string_equal(((Civic__Volunteers__V1__RegisterVolunteerResponse *) r)->volunteer->phone, "13987654321");
    protobuf_c_message_free_unpacked(r, NULL);
    // Deactivating oneself answers masked.
    Civic__Volunteers__V1__DeactivateVolunteerRequest de = CIVIC__VOLUNTEERS__V1__DEACTIVATE_VOLUNTEER_REQUEST__INIT;
    de.id = id;
    assert_code(vt_call(ch, someone, "volunteer", VT "DeactivateVolunteer", &de.base,
                        &civic__volunteers__v1__deactivate_volunteer_response__descriptor, &r, NULL, NULL),
                CIVIC_PERMISSION_DENIED);
    assert_ok(vt_call(ch, self, "volunteer", VT "DeactivateVolunteer", &de.base,
                      &civic__volunteers__v1__deactivate_volunteer_response__descriptor, &r, NULL, NULL));
    assert_string_equal(((Civic__Volunteers__V1__DeactivateVolunteerResponse *) r)->volunteer->phone, MASKED);
    protobuf_c_message_free_unpacked(r, NULL);
    // Anonymising erases name and phone, and frees the phone.
    Civic__Volunteers__V1__AnonymiseVolunteerRequest an = CIVIC__VOLUNTEERS__V1__ANONYMISE_VOLUNTEER_REQUEST__INIT;
    an.id = id;
    assert_ok(vt_call(ch, "office", "admin", VT "AnonymiseVolunteer", &an.base,
                      &civic__volunteers__v1__anonymise_volunteer_response__descriptor, &r, NULL, NULL));
    volunteer *gone = ((Civic__Volunteers__V1__AnonymiseVolunteerResponse *) r)->volunteer;
    assert_string_equal(gone->phone, "");
    assert_string_equal(gone->name, "");
    protobuf_c_message_free_unpacked(r, NULL);
    vt_volunteer(ch, 3, PHONE, 1);

    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    // Never a phone number in the log.
    FILE *f = fopen(s.log, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "12345678") || strstr(line, "87654321"))
            fail_msg("a phone number in the log: %s", line);
    if (f)
        fclose(f);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

static void
test_bad_input_stores_nothing(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    civic_status st;
    ProtobufCMessage *r;
    Civic__Volunteers__V1__RegisterVolunteerRequest reg = CIVIC__VOLUNTEERS__V1__REGISTER_VOLUNTEER_REQUEST__INIT;
    volunteer v = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
    v.name = "张志强";
    v.phone = "1234567";
    v.kind = 9;
    v.area_id = 1;
    reg.volunteer = &v;
    assert_code(vt_call(ch, NULL, NULL, VT "RegisterVolunteer", &reg.base,
                        &civic__volunteers__v1__register_volunteer_response__descriptor, &r, NULL, &st),
                CIVIC_INVALID_ARGUMENT);
    want_violation(&st, "volunteer.phone");
    want_violation(&st, "volunteer.kind");
    assert_null(strstr(st.message, "1234567"));
    // One phone, one volunteer, whatever its spelling.
    vt_volunteer(ch, 1, PHONE, 1);
    v.phone = "+86" PHONE;
    v.kind = 1;
    assert_code(vt_call(ch, NULL, NULL, VT "RegisterVolunteer", &reg.base,
                        &civic__volunteers__v1__register_volunteer_response__descriptor, &r, NULL, &st),
                CIVIC_ALREADY_EXISTS);
    assert_null(strstr(st.message, "5678"));
    Civic__Volunteers__V1__ListVolunteersRequest lv = CIVIC__VOLUNTEERS__V1__LIST_VOLUNTEERS_REQUEST__INIT;
    lv.include_inactive = 1;
    assert_ok(vt_call(ch, NULL, NULL, VT "ListVolunteers", &lv.base,
                      &civic__volunteers__v1__list_volunteers_response__descriptor, &r, NULL, &st));
    assert_int_equal(((Civic__Volunteers__V1__ListVolunteersResponse *) r)->n_volunteers, 1);
    protobuf_c_message_free_unpacked(r, NULL);

    // Activities: end before start, capacity 0 or negative.
    int64_t now = vt_now_s();
    const struct {
        int64_t start, end;
        int capacity;
        const char *field;
    } bad[] = {
        {now + DAY, now + DAY - 60, 10, "activity.end_time"},
        {now + DAY, now + DAY, 10, "activity.end_time"},
        {now + DAY, now + DAY + 3600, 0, "activity.capacity"},
        {now + DAY, now + DAY + 3600, -5, "activity.capacity"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Civic__Volunteers__V1__CreateActivityRequest req = CIVIC__VOLUNTEERS__V1__CREATE_ACTIVITY_REQUEST__INIT;
        Civic__Volunteers__V1__Activity a = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT, te = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = bad[i].start;
        te.seconds = bad[i].end;
        a.title = "坏的活动";
        a.kind = 1;
        a.area_id = 1;
        a.start_time = &ts;
        a.end_time = &te;
        a.capacity = bad[i].capacity;
        req.activity = &a;
        assert_code(vt_call(ch, NULL, NULL, VT "CreateActivity", &req.base,
                            &civic__volunteers__v1__create_activity_response__descriptor, &r, NULL, &st),
                    CIVIC_INVALID_ARGUMENT);
        want_violation(&st, bad[i].field);
    }
    Civic__Volunteers__V1__ListActivitiesRequest la = CIVIC__VOLUNTEERS__V1__LIST_ACTIVITIES_REQUEST__INIT;
    Google__Protobuf__Timestamp epoch = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    la.ended_after = &epoch;
    la.include_cancelled = 1;
    assert_ok(vt_call(ch, NULL, NULL, VT "ListActivities", &la.base,
                      &civic__volunteers__v1__list_activities_response__descriptor, &r, NULL, &st));
    assert_int_equal(((Civic__Volunteers__V1__ListActivitiesResponse *) r)->n_activities, 0);
    protobuf_c_message_free_unpacked(r, NULL);

    // Unknown ids: NOT_FOUND naming the field.
    uint64_t vid = vt_volunteer(ch, 2, NULL, 1), act = vt_activity(ch, 1, now + DAY, now + DAY + 60, 2);
    Civic__Volunteers__V1__Signup *x;
    assert_code(vt_signup(ch, vid, 9999, NULL, &x, &st), CIVIC_NOT_FOUND);
    assert_non_null(strstr(st.message, "activity_id"));
    Civic__Volunteers__V1__SignUpRequest su = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
    su.activity_id = act;
    su.volunteer_id = 8888;
    assert_code(vt_call(ch, NULL, NULL, VT "SignUp", &su.base,
                        &civic__volunteers__v1__sign_up_response__descriptor, &r, NULL, &st),
                CIVIC_NOT_FOUND);
    assert_non_null(strstr(st.message, "volunteer_id"));
    char phone[32];
    assert_code(get_volunteer(ch, NULL, NULL, 7777, phone, sizeof phone), CIVIC_NOT_FOUND);
    Civic__Volunteers__V1__Signup **list;
    size_t n = vt_list_signups(ch, act, &list);
    assert_int_equal(n, 0);
    vt_signups_free(list, n);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

static int
simple(civic_channel *ch, const char *p, const char *role, const char *method, const ProtobufCMessage *req,
       const ProtobufCMessageDescriptor *out, civic_status *st)
{
    ProtobufCMessage *r;
    int rc = vt_call(ch, p, role, method, req, out, &r, NULL, st);
    protobuf_c_message_free_unpacked(r, NULL);
    return rc;
}

static void
test_a_volunteer_acts_only_for_themselves(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    uint64_t a = vt_volunteer(ch, 1, NULL, 1), b = vt_volunteer(ch, 2, NULL, 1);
    int64_t now = vt_now_s();
    uint64_t act = vt_activity(ch, 1, now - 600, now + 3600, 5);
    char pa[24];
    snprintf(pa, sizeof pa, "%llu", (unsigned long long) a);
    civic_status st;
    Civic__Volunteers__V1__SignUpRequest su = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
    su.activity_id = act;
    su.volunteer_id = b;
    assert_code(simple(ch, pa, "volunteer", VT "SignUp", &su.base, &civic__volunteers__v1__sign_up_response__descriptor, &st),
                CIVIC_PERMISSION_DENIED);
    assert_code(simple(ch, "leader", "viewer", VT "SignUp", &su.base, &civic__volunteers__v1__sign_up_response__descriptor, &st),
                CIVIC_PERMISSION_DENIED);
    Civic__Volunteers__V1__Signup *x;
    assert_ok(vt_signup(ch, b, act, NULL, &x, NULL));
    uint64_t sb = x->id;
    protobuf_c_message_free_unpacked(&x->base, NULL);

    Civic__Volunteers__V1__CancelSignupRequest cs = CIVIC__VOLUNTEERS__V1__CANCEL_SIGNUP_REQUEST__INIT;
    cs.id = sb;
    assert_code(simple(ch, pa, "volunteer", VT "CancelSignup", &cs.base,
                       &civic__volunteers__v1__cancel_signup_response__descriptor, &st),
                CIVIC_PERMISSION_DENIED);
    Civic__Volunteers__V1__CheckInRequest ci = CIVIC__VOLUNTEERS__V1__CHECK_IN_REQUEST__INIT;
    ci.signup_id = sb;
    assert_code(simple(ch, pa, "volunteer", VT "CheckIn", &ci.base,
                       &civic__volunteers__v1__check_in_response__descriptor, &st),
                CIVIC_PERMISSION_DENIED);
    Civic__Volunteers__V1__GetSignupRequest gs = CIVIC__VOLUNTEERS__V1__GET_SIGNUP_REQUEST__INIT;
    gs.id = sb;
    assert_code(simple(ch, pa, "volunteer", VT "GetSignup", &gs.base,
                       &civic__volunteers__v1__get_signup_response__descriptor, &st),
                CIVIC_NOT_FOUND);
    Civic__Volunteers__V1__ListSignupsRequest ls = CIVIC__VOLUNTEERS__V1__LIST_SIGNUPS_REQUEST__INIT;
    ls.volunteer_id = b;
    assert_code(simple(ch, pa, "volunteer", VT "ListSignups", &ls.base,
                       &civic__volunteers__v1__list_signups_response__descriptor, &st),
                CIVIC_NOT_FOUND);
    // Listing an activity's sign-ups, a volunteer sees only their own.
    ls.volunteer_id = 0;
    ls.activity_id = act;
    ProtobufCMessage *r;
    assert_ok(vt_call(ch, pa, "volunteer", VT "ListSignups", &ls.base,
                      &civic__volunteers__v1__list_signups_response__descriptor, &r, NULL, &st));
    assert_int_equal(((Civic__Volunteers__V1__ListSignupsResponse *) r)->n_signups, 0);
    protobuf_c_message_free_unpacked(r, NULL);
    Civic__Volunteers__V1__GetVolunteerTotalsRequest gt = CIVIC__VOLUNTEERS__V1__GET_VOLUNTEER_TOTALS_REQUEST__INIT;
    gt.volunteer_id = b;
    assert_code(simple(ch, pa, "volunteer", VT "GetVolunteerTotals", &gt.base,
                       &civic__volunteers__v1__get_volunteer_totals_response__descriptor, &st),
                CIVIC_NOT_FOUND);
    // And B does all of it for themselves.
    char pb[24];
    snprintf(pb, sizeof pb, "%llu", (unsigned long long) b);
    assert_ok(simple(ch, pb, "volunteer", VT "CheckIn", &ci.base,
                     &civic__volunteers__v1__check_in_response__descriptor, &st));
    assert_ok(simple(ch, pb, "volunteer", VT "GetSignup", &gs.base,
                     &civic__volunteers__v1__get_signup_response__descriptor, &st));
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

static size_t
count_events(civic_channel *ch, const char *type)
{
    Civic__Volunteers__V1__ListEventsRequest req = CIVIC__VOLUNTEERS__V1__LIST_EVENTS_REQUEST__INIT;
    req.page_size = 1000;
    ProtobufCMessage *r;
    assert_ok(vt_call(ch, NULL, NULL, VT "ListEvents", &req.base,
                      &civic__volunteers__v1__list_events_response__descriptor, &r, NULL, NULL));
    Civic__Volunteers__V1__ListEventsResponse *l = (Civic__Volunteers__V1__ListEventsResponse *) r;
    size_t n = 0;
    for (size_t i = 0; i < l->n_events; i++)
        n += strcmp(l->events[i]->type, type) == 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return n;
}

static void
test_capacity_cancel_and_events(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    int64_t now = vt_now_s();
    uint64_t act = vt_activity(ch, 21, now + DAY, now + DAY + 3600, 2), v[5];
    Civic__Volunteers__V1__Signup *x;
    for (int i = 0; i < 5; i++) {
        v[i] = vt_volunteer(ch, i, NULL, 21);
        assert_ok(vt_signup(ch, v[i], act, NULL, &x, NULL));
        protobuf_c_message_free_unpacked(&x->base, NULL);
    }
    Civic__Volunteers__V1__UpdateActivityRequest up = CIVIC__VOLUNTEERS__V1__UPDATE_ACTIVITY_REQUEST__INIT;
    Civic__Volunteers__V1__Activity a = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"capacity"};
    m.paths = paths;
    m.n_paths = 1;
    a.id = act;
    up.activity = &a;
    up.update_mask = &m;
    civic_status st;
    ProtobufCMessage *r;
    a.capacity = 1; // below the 2 registered
    assert_code(vt_call(ch, NULL, NULL, VT "UpdateActivity", &up.base,
                        &civic__volunteers__v1__update_activity_response__descriptor, &r, NULL, &st),
                CIVIC_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "capacity"));
    a.capacity = 4; // two more seats: the first two waiting come in
    assert_ok(vt_call(ch, NULL, NULL, VT "UpdateActivity", &up.base,
                      &civic__volunteers__v1__update_activity_response__descriptor, &r, NULL, &st));
    Civic__Volunteers__V1__UpdateActivityResponse *ur = (Civic__Volunteers__V1__UpdateActivityResponse *) r;
    assert_int_equal(ur->n_promoted, 2);
    assert_int_equal(ur->promoted[0]->volunteer_id, v[2]);
    assert_int_equal(ur->promoted[1]->volunteer_id, v[3]);
    assert_int_equal(ur->activity->registered, 4);
    assert_int_equal(ur->activity->waitlisted, 1);
    assert_int_equal(ur->activity->seats_left, 0);
    protobuf_c_message_free_unpacked(r, NULL);
    assert_int_equal(count_events(ch, "signup.promoted"), 2);
    assert_int_equal(count_events(ch, "signup.registered"), 2);
    assert_int_equal(count_events(ch, "signup.waitlisted"), 3);

    // Cancelling the activity cancels every sign-up, each with its event.
    Civic__Volunteers__V1__CancelActivityRequest ca = CIVIC__VOLUNTEERS__V1__CANCEL_ACTIVITY_REQUEST__INIT;
    ca.id = act;
    ca.reason = "天气原因";
    assert_ok(vt_call(ch, NULL, NULL, VT "CancelActivity", &ca.base,
                      &civic__volunteers__v1__cancel_activity_response__descriptor, &r, NULL, &st));
    assert_int_equal(((Civic__Volunteers__V1__CancelActivityResponse *) r)->signups_cancelled, 5);
    protobuf_c_message_free_unpacked(r, NULL);
    assert_int_equal(count_events(ch, "signup.cancelled"), 5);
    assert_int_equal(count_events(ch, "activity.cancelled"), 1);
    assert_code(vt_signup(ch, v[0], act, NULL, &x, &st), CIVIC_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "CANCELLED"));
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

static void
test_no_show_after_the_end(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    int64_t now = vt_now_s();
    // Ends in 5 s; the sign-up is made at once. The job runs every second
    // and the test waits for its effect, not for a fixed time.
    uint64_t act = vt_activity(ch, 26, now - 3600, now + 5, 3);
    uint64_t v = vt_volunteer(ch, 1, NULL, 26);
    Civic__Volunteers__V1__Signup *x;
    assert_ok(vt_signup(ch, v, act, NULL, &x, NULL));
    uint64_t id = x->id;
    assert_int_equal(x->state, CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    int state_now = 0;
    for (int i = 0; i < 600 && state_now != CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_NO_SHOW; i++) {
        Civic__Volunteers__V1__GetSignupRequest gs = CIVIC__VOLUNTEERS__V1__GET_SIGNUP_REQUEST__INIT;
        gs.id = id;
        ProtobufCMessage *r;
        assert_ok(vt_call(ch, NULL, NULL, VT "GetSignup", &gs.base,
                          &civic__volunteers__v1__get_signup_response__descriptor, &r, NULL, NULL));
        state_now = ((Civic__Volunteers__V1__GetSignupResponse *) r)->signup->state;
        protobuf_c_message_free_unpacked(r, NULL);
        struct timespec d = {0, 100 * 1000000};
        nanosleep(&d, NULL);
    }
    assert_int_equal(state_now, CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_NO_SHOW);
    assert_int_equal(count_events(ch, "signup.no_show"), 1);
    // A no-show cannot check in afterwards.
    Civic__Volunteers__V1__CheckInRequest ci = CIVIC__VOLUNTEERS__V1__CHECK_IN_REQUEST__INIT;
    ci.signup_id = id;
    civic_status st;
    ProtobufCMessage *r;
    assert_code(vt_call(ch, NULL, NULL, VT "CheckIn", &ci.base, &civic__volunteers__v1__check_in_response__descriptor,
                        &r, NULL, &st),
                CIVIC_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "NO_SHOW"));
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masking_for_every_role),
        cmocka_unit_test(test_bad_input_stores_nothing),
        cmocka_unit_test(test_a_volunteer_acts_only_for_themselves),
        cmocka_unit_test(test_capacity_cancel_and_events),
        cmocka_unit_test(test_no_show_after_the_end),
    };
    return cmocka_run_group_tests_name("civic.volunteers.rules", tests, NULL, NULL);
}
