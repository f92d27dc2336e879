// civic.volunteers.signups: capacity and the FIFO waitlist against a real
// civic-volunteers — 200 concurrent sign-ups for 30 seats, cancellations
// promoting the head of the waitlist, FIFO order step by step, a promotion
// that skips a volunteer it would put in an overlap, nobody promoted after
// the start nor a newcomer let in ahead of the waitlist, and retries with
// one idempotency key, across kill -9 too. Each test ends with the store
// audit, which also checks that no seat went to a newcomer ahead of
// someone still waiting.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt.h"

#define DAY (24 * 3600)

// --- 200 concurrent sign-ups ---

typedef struct conc {
    pthread_mutex_t mu;
    int done, failed;
    uint64_t signup[200];
    int state[200];
    uint32_t position[200];
} conc;

typedef struct one {
    conc *c;
    int i;
} one;

static void
on_signup(const civic_reply *r, void *arg)
{
    one *o = arg;
    conc *c = o->c;
    Civic__Volunteers__V1__SignUpResponse *resp = NULL;
    if (r->status.code == 0)
        resp = civic__volunteers__v1__sign_up_response__unpack(NULL, r->len, r->payload);
    pthread_mutex_lock(&c->mu);
    if (resp != NULL && resp->signup != NULL) {
        c->signup[o->i] = resp->signup->id;
        c->state[o->i] = resp->signup->state;
        c->position[o->i] = resp->signup->position;
    } else {
        c->failed++;
    }
    c->done++;
    pthread_mutex_unlock(&c->mu);
    if (resp)
        civic__volunteers__v1__sign_up_response__free_unpacked(resp, NULL);
    free(o);
}

static void
cancel_signup(civic_channel *ch, uint64_t id, uint64_t volunteer, uint64_t *promoted)
{
    Civic__Volunteers__V1__CancelSignupRequest req = CIVIC__VOLUNTEERS__V1__CANCEL_SIGNUP_REQUEST__INIT;
    req.id = id;
    char p[24];
    snprintf(p, sizeof p, "%llu", (unsigned long long) volunteer);
    ProtobufCMessage *r;
    civic_status st;
    int rc = vt_call(ch, p, "volunteer", VT "CancelSignup", &req.base,
                     &civic__volunteers__v1__cancel_signup_response__descriptor, &r, NULL, &st);
    if (rc != 0)
        fail_msg("CancelSignup %llu: %s %s", (unsigned long long) id, civic_code_name(rc), st.message);
    Civic__Volunteers__V1__CancelSignupResponse *cr = (Civic__Volunteers__V1__CancelSignupResponse *) r;
    assert_int_equal(cr->signup->state, CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_CANCELLED);
    if (promoted)
        *promoted = cr->promoted ? cr->promoted->volunteer_id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
}

// check_waitlist checks that the waitlisted of an activity have positions
// 1..n, dense and unique, in list order, nobody twice, and returns n with
// their volunteers in order in order[].
static size_t
check_waitlist(civic_channel *ch, uint64_t activity, size_t want_total, size_t want_registered,
               uint64_t *order)
{
    Civic__Volunteers__V1__Signup **v;
    size_t n = vt_list_signups(ch, activity, &v), reg = 0, wait = 0;
    assert_int_equal(n, want_total);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (v[i]->volunteer_id == v[j]->volunteer_id && v[i]->state != 5 && v[j]->state != 5)
                fail_msg("volunteer %llu signed up twice", (unsigned long long) v[i]->volunteer_id);
        if (v[i]->state == CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED)
            reg++;
        if (v[i]->state == CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_WAITLISTED) {
            wait++;
            assert_int_equal(v[i]->position, wait);
            if (order)
                order[wait - 1] = v[i]->volunteer_id;
        } else {
            assert_int_equal(v[i]->position, 0);
        }
    }
    assert_int_equal(reg, want_registered);
    vt_signups_free(v, n);
    return wait;
}

static void
test_200_concurrent_for_30_seats(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    uint64_t vol[200];
    for (int i = 0; i < 200; i++)
        vol[i] = vt_volunteer(ch, i, NULL, 1);
    int64_t now = vt_now_s();
    uint64_t act = vt_activity(ch, 1, now + DAY, now + DAY + 7200, 30);

    conc c = {.done = 0};
    pthread_mutex_init(&c.mu, NULL);
    for (int i = 0; i < 200; i++) {
        Civic__Volunteers__V1__SignUpRequest req = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
        req.activity_id = act;
        req.volunteer_id = vol[i];
        uint8_t buf[64];
        size_t len = civic__volunteers__v1__sign_up_request__pack(&req, buf);
        char p[24];
        snprintf(p, sizeof p, "%llu", (unsigned long long) vol[i]);
        const char *md[4] = {"x-civic-principal", p, "x-civic-role", "volunteer"};
        civic_call_opts o = {.timeout_ms = 30000, .metadata = md, .n_metadata = 2};
        one *x = malloc(sizeof *x);
        x->c = &c;
        x->i = i;
        civic_status st;
        assert_ok(civic_call_start(ch, VT "SignUp", buf, len, &o, on_signup, x, &st));
    }
    for (int waited = 0; waited < 60000; waited += 10) {
        pthread_mutex_lock(&c.mu);
        int done = c.done;
        pthread_mutex_unlock(&c.mu);
        if (done == 200)
            break;
        struct timespec d = {0, 10 * 1000000};
        nanosleep(&d, NULL);
    }
    assert_int_equal(c.done, 200);
    assert_int_equal(c.failed, 0);

    // Exactly 30 registered; 170 waitlisted with positions 1..170, each once.
    int reg = 0;
    int seen[171] = {0};
    for (int i = 0; i < 200; i++) {
        if (c.state[i] == CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED) {
            reg++;
            assert_int_equal(c.position[i], 0);
            continue;
        }
        assert_int_equal(c.state[i], CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_WAITLISTED);
        assert_true(c.position[i] >= 1 && c.position[i] <= 170);
        assert_int_equal(seen[c.position[i]]++, 0);
    }
    assert_int_equal(reg, 30);
    uint64_t before[170], after[170];
    assert_int_equal(check_waitlist(ch, act, 200, 30, before), 170);

    // Cancelling 5 registered seats promotes exactly positions 1..5.
    uint64_t promoted[5];
    int cancelled = 0;
    for (int i = 0; i < 200 && cancelled < 5; i++) {
        if (c.state[i] != CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED)
            continue;
        cancel_signup(ch, c.signup[i], vol[i], &promoted[cancelled]);
        assert_int_equal(promoted[cancelled], before[cancelled]);
        cancelled++;
    }
    assert_int_equal(check_waitlist(ch, act, 200, 30, after), 165);
    for (int i = 0; i < 165; i++)
        assert_int_equal(after[i], before[i + 5]);

    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

// --- FIFO, step by step ---

static uint32_t
position_of(civic_channel *ch, uint64_t signup, int *state)
{
    Civic__Volunteers__V1__GetSignupRequest req = CIVIC__VOLUNTEERS__V1__GET_SIGNUP_REQUEST__INIT;
    req.id = signup;
    ProtobufCMessage *r;
    assert_ok(vt_call(ch, NULL, NULL, VT "GetSignup", &req.base,
                      &civic__volunteers__v1__get_signup_response__descriptor, &r, NULL, NULL));
    Civic__Volunteers__V1__Signup *su = ((Civic__Volunteers__V1__GetSignupResponse *) r)->signup;
    uint32_t pos = su->position;
    *state = su->state;
    protobuf_c_message_free_unpacked(r, NULL);
    return pos;
}

static void
test_fifo_sequential(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    uint64_t v[7], su[7];
    int64_t now = vt_now_s();
    uint64_t act = vt_activity(ch, 6, now + DAY, now + DAY + 3600, 2);
    Civic__Volunteers__V1__Signup *x;
    for (int i = 1; i <= 6; i++) {
        v[i] = vt_volunteer(ch, 1000 + i, NULL, 6);
        assert_ok(vt_signup(ch, v[i], act, NULL, &x, NULL));
        su[i] = x->id;
        // v1 and v2 get the seats; v3..v6 queue at 1..4, in arrival order.
        assert_int_equal(x->state, i <= 2 ? 2 : 1);
        assert_int_equal(x->position, i <= 2 ? 0 : (uint32_t) i - 2);
        protobuf_c_message_free_unpacked(&x->base, NULL);
    }
    int st;
    uint64_t promoted;
    cancel_signup(ch, su[1], v[1], &promoted); // v3, first in line, gets the seat
    assert_int_equal(promoted, v[3]);
    cancel_signup(ch, su[5], v[5], &promoted); // a waitlisted one leaves: no promotion
    assert_int_equal(promoted, 0);
    assert_int_equal(position_of(ch, su[4], &st), 1);
    assert_int_equal(position_of(ch, su[6], &st), 2);
    // v1 signs up again after cancelling: a new sign-up at the tail.
    assert_ok(vt_signup(ch, v[1], act, NULL, &x, NULL));
    assert_int_not_equal(x->id, su[1]);
    assert_int_equal(x->position, 3);
    su[1] = x->id;
    protobuf_c_message_free_unpacked(&x->base, NULL);
    cancel_signup(ch, su[2], v[2], &promoted);
    assert_int_equal(promoted, v[4]);
    assert_int_equal(position_of(ch, su[6], &st), 1);
    assert_int_equal(position_of(ch, su[1], &st), 2);
    assert_int_equal(position_of(ch, su[4], &st), 0);
    assert_int_equal(st, 2);
    assert_int_equal(check_waitlist(ch, act, 7, 2, NULL), 2);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

// --- a promotion skips an overlap ---

static void
test_promotion_skips_overlap(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    int64_t t0 = vt_now_s() + DAY;
    uint64_t r = vt_volunteer(ch, 1, NULL, 11), w1 = vt_volunteer(ch, 2, NULL, 11),
             w2 = vt_volunteer(ch, 3, NULL, 11);
    uint64_t p = vt_activity(ch, 11, t0, t0 + 7200, 1);      // one seat
    uint64_t q = vt_activity(ch, 11, t0 + 4 * 3600, t0 + 5 * 3600, 5);
    Civic__Volunteers__V1__Signup *x;
    civic_status st;
    uint64_t su_r, su_w1, su_w2;
    assert_ok(vt_signup(ch, r, p, NULL, &x, NULL));
    su_r = x->id;
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_ok(vt_signup(ch, w1, p, NULL, &x, NULL));
    su_w1 = x->id;
    assert_int_equal(x->position, 1);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_ok(vt_signup(ch, w2, p, NULL, &x, NULL));
    su_w2 = x->id;
    assert_int_equal(x->position, 2);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_ok(vt_signup(ch, w1, q, NULL, &x, NULL)); // no overlap yet
    assert_int_equal(x->state, 2);
    protobuf_c_message_free_unpacked(&x->base, NULL);

    // Q moves onto P's time: w1 is REGISTERED on Q and only waiting on P,
    // so the move is allowed; but w1 can no longer take P's seat.
    assert_ok(vt_move_activity(ch, q, t0 + 3600, t0 + 3 * 3600, &st));
    // A sign-up for an overlapping activity is refused, naming it.
    uint64_t p2 = vt_activity(ch, 11, t0 + 1800, t0 + 5400, 3);
    assert_code(vt_signup(ch, w2, p2, NULL, &x, &st), CIVIC_FAILED_PRECONDITION);
    char want[64];
    snprintf(want, sizeof want, "activity %llu", (unsigned long long) p);
    if (strstr(st.message, want) == NULL)
        fail_msg("the refusal should name %s: %s", want, st.message);

    uint64_t promoted;
    cancel_signup(ch, su_r, r, &promoted);
    assert_int_equal(promoted, w2); // w1 skipped
    int state_w1;
    assert_int_equal(position_of(ch, su_w1, &state_w1), 1); // still first in line
    assert_int_equal(state_w1, 1);
    assert_int_equal(position_of(ch, su_w2, &state_w1), 0);

    // w2 now holds P: Q overlaps it.
    assert_code(vt_signup(ch, w2, q, NULL, &x, &st), CIVIC_FAILED_PRECONDITION);
    // Moving an activity so that a REGISTERED volunteer would overlap
    // another of their REGISTERED activities is refused.
    uint64_t z = vt_activity(ch, 11, t0 + 6 * 3600, t0 + 7 * 3600, 2);
    assert_ok(vt_signup(ch, w2, z, NULL, &x, NULL));
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_code(vt_move_activity(ch, z, t0 + 1800, t0 + 5400, &st), CIVIC_FAILED_PRECONDITION);

    // w2 gives P's seat up: w1, first in line, is skipped again, and the
    // seat stays free. A newcomer still does not go ahead of w1: it joins
    // the tail, and the same call's promotion (w1 skipped) gives it the
    // seat — as a promotion, not straight away.
    Civic__Volunteers__V1__Signup **list;
    size_t n = vt_list_signups(ch, p, &list);
    uint64_t su_w2_p = 0;
    for (size_t i = 0; i < n; i++)
        if (list[i]->volunteer_id == w2)
            su_w2_p = list[i]->id;
    vt_signups_free(list, n);
    cancel_signup(ch, su_w2_p, w2, &promoted);
    assert_int_equal(promoted, 0);
    uint64_t late = vt_volunteer(ch, 4, NULL, 11);
    assert_ok(vt_signup(ch, late, p, NULL, &x, NULL));
    assert_int_equal(x->state, CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED);
    assert_non_null(x->promote_time);
    assert_int_equal(x->waitlist_seq > 0, 1);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_int_equal(position_of(ch, su_w1, &state_w1), 1);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

// --- nobody promoted after the start ---

static int
signup_state(civic_channel *ch, uint64_t signup)
{
    int st;
    position_of(ch, signup, &st);
    return st;
}

static void
test_nobody_promoted_after_the_start(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    int64_t now = vt_now_s();
    uint64_t a = vt_volunteer(ch, 1, NULL, 31), b = vt_volunteer(ch, 2, NULL, 31),
             c = vt_volunteer(ch, 3, NULL, 31);
    uint64_t act = vt_activity(ch, 31, now + DAY, now + DAY + 3600, 1);
    Civic__Volunteers__V1__Signup *x;
    civic_status st;
    uint64_t su_a, su_b;
    assert_ok(vt_signup(ch, a, act, NULL, &x, NULL));
    su_a = x->id;
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_ok(vt_signup(ch, b, act, NULL, &x, NULL));
    su_b = x->id;
    assert_int_equal(x->position, 1);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    // The activity starts: moved to have begun ten minutes ago, so the
    // test needs no waiting and no luck.
    assert_ok(vt_move_activity(ch, act, now - 600, now + 3600, &st));

    // A gives up the seat after the start: B is not promoted...
    uint64_t promoted;
    cancel_signup(ch, su_a, a, &promoted);
    assert_int_equal(promoted, 0);
    int st_b;
    assert_int_equal(position_of(ch, su_b, &st_b), 1);
    // ...nor by more seats...
    Civic__Volunteers__V1__UpdateActivityRequest up = CIVIC__VOLUNTEERS__V1__UPDATE_ACTIVITY_REQUEST__INIT;
    Civic__Volunteers__V1__Activity more = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"capacity"};
    m.paths = paths;
    m.n_paths = 1;
    more.id = act;
    more.capacity = 3;
    up.activity = &more;
    up.update_mask = &m;
    ProtobufCMessage *r;
    assert_ok(vt_call(ch, NULL, NULL, VT "UpdateActivity", &up.base,
                      &civic__volunteers__v1__update_activity_response__descriptor, &r, NULL, &st));
    Civic__Volunteers__V1__UpdateActivityResponse *ur = (Civic__Volunteers__V1__UpdateActivityResponse *) r;
    assert_int_equal(ur->n_promoted, 0);
    assert_int_equal(ur->activity->seats_left, 3);
    assert_int_equal(ur->activity->waitlisted, 1);
    protobuf_c_message_free_unpacked(r, NULL);
    assert_int_equal(signup_state(ch, su_b), CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_WAITLISTED);
    // ...and a newcomer does not take a free seat ahead of B: refused,
    // saying why, and nothing stored.
    assert_code(vt_signup(ch, c, act, NULL, &x, &st), CIVIC_FAILED_PRECONDITION);
    if (strstr(st.message, "waitlist") == NULL || strstr(st.message, "closed at the start") == NULL)
        fail_msg("the refusal should say the waitlist closed at the start: %s", st.message);
    Civic__Volunteers__V1__Signup **list;
    size_t n = vt_list_signups(ch, act, &list);
    assert_int_equal(n, 2);
    vt_signups_free(list, n);
    // B, still waiting, cannot check in; the seat stays free.
    Civic__Volunteers__V1__CheckInRequest ci = CIVIC__VOLUNTEERS__V1__CHECK_IN_REQUEST__INIT;
    ci.signup_id = su_b;
    assert_code(vt_call(ch, NULL, NULL, VT "CheckIn", &ci.base, &civic__volunteers__v1__check_in_response__descriptor,
                        &r, NULL, &st),
                CIVIC_FAILED_PRECONDITION);

    // Where nobody waits, a started activity with a free seat takes a
    // newcomer at once.
    uint64_t open = vt_activity(ch, 31, now - 600, now + 3600, 1);
    assert_ok(vt_signup(ch, c, open, NULL, &x, NULL));
    assert_int_equal(x->state, CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_REGISTERED);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

// --- retries with one idempotency key, across kill -9 ---

// signups_of counts a volunteer's sign-ups (every state) and returns the
// id of the last.
static size_t
signups_of(civic_channel *ch, uint64_t volunteer, uint64_t *last)
{
    Civic__Volunteers__V1__ListSignupsRequest req = CIVIC__VOLUNTEERS__V1__LIST_SIGNUPS_REQUEST__INIT;
    req.volunteer_id = volunteer;
    ProtobufCMessage *r;
    assert_ok(vt_call(ch, NULL, NULL, VT "ListSignups", &req.base,
                      &civic__volunteers__v1__list_signups_response__descriptor, &r, NULL, NULL));
    Civic__Volunteers__V1__ListSignupsResponse *l = (Civic__Volunteers__V1__ListSignupsResponse *) r;
    size_t n = l->n_signups;
    *last = n ? l->signups[n - 1]->id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return n;
}

static void
test_idempotent_retries_across_kill9(void **state)
{
    th_server s;
    th_server_start(&s, CIVIC_VOLUNTEERS_BIN, NULL);
    civic_channel *ch = th_channel(&s);
    uint64_t v = vt_volunteer(ch, 7, NULL, 16), v2 = vt_volunteer(ch, 8, NULL, 16);
    int64_t now = vt_now_s();
    uint64_t act = vt_activity(ch, 16, now + DAY, now + DAY + 3600, 1);
    Civic__Volunteers__V1__Signup *x;
    uint64_t first, last;
    assert_ok(vt_signup(ch, v, act, "signup-key-1", &x, NULL));
    first = x->id;
    protobuf_c_message_free_unpacked(&x->base, NULL);
    // Cancelled, so that a sign-up made again would be a new one at the
    // tail: only the key can bring back the first.
    cancel_signup(ch, first, v, NULL);
    for (int round = 0; round < 2; round++) {
        if (round == 1) { // the same across a crash and restart
            civic_channel_close(ch);
            th_server_kill(&s);
            th_server_restart(&s);
            ch = th_channel(&s);
        }
        for (int i = 0; i < 2; i++) {
            assert_ok(vt_signup(ch, v, act, "signup-key-1", &x, NULL));
            assert_int_equal(x->id, first);
            protobuf_c_message_free_unpacked(&x->base, NULL);
        }
        assert_int_equal(signups_of(ch, v, &last), 1);
        assert_int_equal(last, first);
        assert_int_equal(signup_state(ch, first), CIVIC__VOLUNTEERS__V1__SIGNUP_STATE__SIGNUP_STATE_CANCELLED);
    }
    // Without the key the same request is a new sign-up, as the rules say:
    // the retries above were answered by the key, not by the rule.
    assert_ok(vt_signup(ch, v, act, NULL, &x, NULL));
    assert_int_not_equal(x->id, first);
    protobuf_c_message_free_unpacked(&x->base, NULL);
    assert_int_equal(signups_of(ch, v, &last), 2);
    // The same key for another request of the same caller is refused; for
    // another caller it is another key.
    civic_status st;
    uint64_t act2 = vt_activity(ch, 16, now + 2 * DAY, now + 2 * DAY + 3600, 1);
    assert_code(vt_signup(ch, v, act2, "signup-key-1", &x, &st), CIVIC_INVALID_ARGUMENT);
    assert_ok(vt_signup(ch, v2, act, "signup-key-1", &x, &st));
    assert_int_equal(x->state, 1); // waitlisted: the one seat is v's
    protobuf_c_message_free_unpacked(&x->base, NULL);
    Civic__Volunteers__V1__Signup **list;
    size_t n = vt_list_signups(ch, act, &list);
    assert_int_equal(n, 3);
    vt_signups_free(list, n);
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&s), 0);
    vt_audit(s.dir);
    th_server_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200_concurrent_for_30_seats),
        cmocka_unit_test(test_fifo_sequential),
        cmocka_unit_test(test_promotion_skips_overlap),
        cmocka_unit_test(test_nobody_promoted_after_the_start),
        cmocka_unit_test(test_idempotent_retries_across_kill9),
    };
    return cmocka_run_group_tests_name("civic.volunteers.signups", tests, NULL, NULL);
}
