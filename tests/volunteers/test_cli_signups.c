// civic.volunteers.cli_signups: the sign-up rules through the real `civic`
// CLI against a real civic-volunteers (internal key, signed identity):
// REGISTERED while seats remain, then WAITLISTED with dense positions; FIFO
// promotion when a seat is given up, skipping a volunteer it would put in
// an overlap; no newcomer ahead of the waitlist; an idempotency key's
// retry answered with the first sign-up after a cancellation and across
// kill -9 and a restart; nobody promoted after the start. Activities start
// "now" by being moved to a start in the past, never by waiting.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt.h"

#define DAY (24 * 3600)

static vt_cli c;

// volunteer registers one (area 11) and returns its id in id and its signed
// identity in as.
static void
volunteer(int n, char id[32], char as[48])
{
    char name[32], phone[16];
    snprintf(name, sizeof name, "志愿者%d", n);
    snprintf(phone, sizeof phone, "1370000%04d", n);
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", name, "--phone", phone, "--kind",
                           "resident", "--area-id", "11", NULL));
    vt_json(c.out, "id", id, 32);
    vt_as(as, 48, id);
}

// activity creates one in area 11, [start, end) Unix seconds, into id.
static void
activity(const char *title, int64_t start, int64_t end, const char *capacity, char id[32])
{
    char s[32], e[32];
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", title, "--kind", "duty", "--area-id", "11",
                           "--start", vt_rfc3339(s, sizeof s, start), "--end", vt_rfc3339(e, sizeof e, end),
                           "--capacity", capacity, NULL));
    vt_json(c.out, "id", id, 32);
}

// move gives an activity new times.
static void
move(const char *id, int64_t start, int64_t end)
{
    char s[32], e[32];
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "update", id, "--start", vt_rfc3339(s, sizeof s, start), "--end",
                           vt_rfc3339(e, sizeof e, end), NULL));
}

// sign_up signs a volunteer up (as themself) and checks the state and the
// waitlist position (0: none) of the answer; the sign-up's id goes to id.
static void
sign_up(const char *as, const char *act, const char *state, const char *position, char id[32])
{
    char buf[64];
    VT_MUST(&c, vt_cli_run(&c, as, "signups", "create", "--activity-id", act, NULL));
    vt_json(c.out, "id", id, 32);
    if (strcmp(vt_json(c.out, "state", buf, sizeof buf), state) != 0)
        fail_msg("%s signing up: %s, want %s", as, buf, state);
    if (strcmp(vt_json(c.out, "position", buf, sizeof buf), position) != 0)
        fail_msg("%s signing up: position \"%s\", want \"%s\"", as, buf, position);
}

// signup_is checks a sign-up's state and position as its volunteer sees it.
static void
signup_is(const char *as, const char *id, const char *state, const char *position)
{
    char st[64], pos[16];
    VT_MUST(&c, vt_cli_run(&c, as, "signups", "get", id, NULL));
    if (strcmp(vt_json(c.out, "state", st, sizeof st), state) != 0 ||
        strcmp(vt_json(c.out, "position", pos, sizeof pos), position) != 0)
        fail_msg("sign-up %s: %s at \"%s\", want %s at \"%s\"", id, st, pos, state, position);
}

// seats checks an activity's counts as `civic -o csv` prints them, zeros
// included.
static void
seats(const char *act, const char *registered, const char *waitlisted, const char *left)
{
    char r[16], w[16], l[16];
    VT_MUST(&c, vt_cli_run(&c, NULL, "-o", "csv", "activities", "get", act, NULL));
    vt_csv(c.out, "registered", r, sizeof r);
    vt_csv(c.out, "waitlisted", w, sizeof w);
    vt_csv(c.out, "seats_left", l, sizeof l);
    if (strcmp(r, registered) != 0 || strcmp(w, waitlisted) != 0 || strcmp(l, left) != 0)
        fail_msg("activity %s: registered %s, waitlisted %s, seats left %s; want %s, %s, %s", act, r, w, l,
                 registered, waitlisted, left);
}

// cancel cancels a sign-up as its volunteer and checks who was promoted
// (NULL: nobody).
static void
cancel(const char *as, const char *id, const char *promoted_volunteer)
{
    char buf[32];
    VT_MUST(&c, vt_cli_run(&c, as, "signups", "cancel", id, NULL));
    const char *p = strstr(c.out, "\"promoted\"");
    if (promoted_volunteer == NULL && p != NULL)
        fail_msg("cancelling %s promoted someone: %s", id, c.out);
    if (promoted_volunteer != NULL &&
        (p == NULL || strcmp(vt_json(p, "volunteerId", buf, sizeof buf), promoted_volunteer) != 0))
        fail_msg("cancelling %s should promote volunteer %s: %s", id, promoted_volunteer, c.out);
}

static void
test_cli_waitlist_fifo_and_overlap(void **state)
{
    vt_cli_start(&c);
    int64_t t0 = vt_now_s() + DAY;
    char v[8][32], as[8][48], su[8][32], p[32], q[32], r[32], buf[64];
    for (int i = 1; i <= 7; i++)
        volunteer(i, v[i], as[i]);
    activity("周末文明劝导值守", t0, t0 + 7200, "2", p);
    // Two seats, then the waitlist in arrival order, 1..3.
    sign_up(as[1], p, "SIGNUP_STATE_REGISTERED", "", su[1]);
    sign_up(as[2], p, "SIGNUP_STATE_REGISTERED", "", su[2]);
    sign_up(as[3], p, "SIGNUP_STATE_WAITLISTED", "1", su[3]);
    sign_up(as[4], p, "SIGNUP_STATE_WAITLISTED", "2", su[4]);
    sign_up(as[5], p, "SIGNUP_STATE_WAITLISTED", "3", su[5]);
    seats(p, "2", "3", "0");
    // Signing up again answers with the sign-up already made.
    VT_MUST(&c, vt_cli_run(&c, as[4], "signups", "create", "--activity-id", p, NULL));
    assert_string_equal(vt_json(c.out, "id", buf, sizeof buf), su[4]);
    assert_string_equal(vt_json(c.out, "existing", buf, sizeof buf), "true");

    // v3 holds Q, which then moves onto P's time: v3 may wait for P, but a
    // seat there would overlap Q. A sign-up that would overlap an activity
    // held is refused, naming it.
    activity("路口值守", t0 + 4 * 3600, t0 + 5 * 3600, "5", q);
    sign_up(as[3], q, "SIGNUP_STATE_REGISTERED", "", buf);
    move(q, t0 + 3600, t0 + 3 * 3600);
    activity("市场值守", t0 + 1800, t0 + 5400, "3", r);
    char held[48];
    snprintf(held, sizeof held, "activity %s", p);
    vt_cli_fails(&c, vt_cli_run(&c, as[4], "signups", "create", "--activity-id", r, NULL), "FAILED_PRECONDITION",
                 held, "overlapping", NULL);

    // v1 gives the seat up: the first in line without a conflict, v4, gets
    // it in the same call; v3 keeps first place, the rest close up.
    cancel(as[1], su[1], v[4]);
    signup_is(as[3], su[3], "SIGNUP_STATE_WAITLISTED", "1");
    signup_is(as[4], su[4], "SIGNUP_STATE_REGISTERED", "");
    signup_is(as[5], su[5], "SIGNUP_STATE_WAITLISTED", "2");
    // A newcomer joins the tail; a waitlisted volunteer leaving promotes
    // nobody, and those behind move up.
    sign_up(as[6], p, "SIGNUP_STATE_WAITLISTED", "3", su[6]);
    cancel(as[5], su[5], NULL);
    signup_is(as[6], su[6], "SIGNUP_STATE_WAITLISTED", "2");
    VT_MUST(&c, vt_cli_run(&c, NULL, "signups", "list", "--activity-id", p, "--state", "waitlisted", NULL));
    const char *w3 = strstr(c.out, "\"volunteerId\": \"" ), *w6 = w3 ? strstr(w3 + 1, "\"volunteerId\": \"") : NULL;
    assert_non_null(w6);
    assert_string_equal(vt_json(w3, "volunteerId", buf, sizeof buf), v[3]);
    assert_string_equal(vt_json(w6, "volunteerId", buf, sizeof buf), v[6]);
    assert_int_equal(vt_json_count(c.out, "id"), 2);
    // v2 gives up: v3 is skipped again, v6 is in.
    cancel(as[2], su[2], v[6]);
    seats(p, "2", "1", "0");
    // v4 gives up: only v3 waits, kept out by Q, so the seat stays free. A
    // newcomer still goes to the tail behind v3 — and the same call's
    // promotion, skipping v3, gives the newcomer the seat.
    cancel(as[4], su[4], NULL);
    seats(p, "1", "1", "1");
    VT_MUST(&c, vt_cli_run(&c, as[7], "signups", "create", "--activity-id", p, NULL));
    assert_string_equal(vt_json(c.out, "state", buf, sizeof buf), "SIGNUP_STATE_REGISTERED");
    assert_non_null(strstr(c.out, "\"promoteTime\""));
    signup_is(as[3], su[3], "SIGNUP_STATE_WAITLISTED", "1");
    seats(p, "2", "1", "0");
    vt_cli_stop(&c);
}

static void
test_cli_idempotency_key_across_kill9(void **state)
{
    vt_cli_start(&c);
    int64_t t0 = vt_now_s() + DAY;
    char v[32], as[48], act[32], first[32], buf[64];
    volunteer(1, v, as);
    activity("入户宣传", t0, t0 + 3600, "1", act);
    VT_MUST(&c, vt_cli_run(&c, as, "--idempotency-key", "cli-retry-1", "signups", "create", "--activity-id", act,
                           NULL));
    vt_json(c.out, "id", first, sizeof first);
    // Cancelled, so that signing up again would make a new sign-up at the
    // tail: only the key brings the first back.
    VT_MUST(&c, vt_cli_run(&c, as, "signups", "cancel", first, NULL));
    for (int round = 0; round < 2; round++) {
        if (round == 1) { // the same after a crash and a restart
            th_server_kill(&c.srv);
            th_server_restart(&c.srv);
        }
        VT_MUST(&c, vt_cli_run(&c, as, "--idempotency-key", "cli-retry-1", "signups", "create", "--activity-id",
                               act, NULL));
        assert_string_equal(vt_json(c.out, "id", buf, sizeof buf), first);
        VT_MUST(&c, vt_cli_run(&c, as, "signups", "list", "--volunteer-id", v, NULL));
        assert_int_equal(vt_json_count(c.out, "id"), 1); // no new sign-up
        assert_string_equal(vt_json(c.out, "state", buf, sizeof buf), "SIGNUP_STATE_CANCELLED");
    }
    // The same command without the key is a new sign-up: the retries were
    // answered by the key.
    VT_MUST(&c, vt_cli_run(&c, as, "signups", "create", "--activity-id", act, NULL));
    assert_string_not_equal(vt_json(c.out, "id", buf, sizeof buf), first);
    VT_MUST(&c, vt_cli_run(&c, as, "signups", "list", "--volunteer-id", v, NULL));
    assert_int_equal(vt_json_count(c.out, "id"), 2);
    vt_cli_stop(&c);
}

static void
test_cli_nobody_promoted_after_the_start(void **state)
{
    vt_cli_start(&c);
    int64_t now = vt_now_s();
    char v[4][32], as[4][48], su[4][32], act[32];
    for (int i = 1; i <= 3; i++)
        volunteer(i, v[i], as[i]);
    activity("背街小巷三清", now + DAY, now + DAY + 3600, "1", act);
    sign_up(as[1], act, "SIGNUP_STATE_REGISTERED", "", su[1]);
    sign_up(as[2], act, "SIGNUP_STATE_WAITLISTED", "1", su[2]);
    move(act, now - 600, now + 3600); // it started ten minutes ago
    // A gives up the seat after the start: B stays waiting...
    cancel(as[1], su[1], NULL);
    signup_is(as[2], su[2], "SIGNUP_STATE_WAITLISTED", "1");
    seats(act, "0", "1", "1");
    // ...and newcomer C does not get the seat ahead of B: refused, saying
    // why, with nothing stored.
    vt_cli_fails(&c, vt_cli_run(&c, as[3], "signups", "create", "--activity-id", act, NULL), "FAILED_PRECONDITION",
                 "waitlist", "closed at the start", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "signups", "list", "--activity-id", act, NULL));
    assert_int_equal(vt_json_count(c.out, "id"), 2);
    // B, waiting, cannot check in.
    vt_cli_fails(&c, vt_cli_run(&c, as[2], "signups", "check-in", su[2], NULL), "FAILED_PRECONDITION", "WAITLISTED",
                 NULL);
    vt_cli_stop(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_waitlist_fifo_and_overlap),
        cmocka_unit_test(test_cli_idempotency_key_across_kill9),
        cmocka_unit_test(test_cli_nobody_promoted_after_the_start),
    };
    return cmocka_run_group_tests_name("civic.volunteers.cli_signups", tests, NULL, NULL);
}
