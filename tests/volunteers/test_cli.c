// civic.volunteers.cli: the volunteers service through the real `civic` CLI
// against a real civic-volunteers started with an internal key, every
// identity signed with it (--internal-key-file, --as PRINCIPAL:ROLE), as
// deployed: registration with one phone per volunteer, phones in full for
// admins only and masked for inspectors, units, viewers and volunteers,
// lists filtered by area, community, kind, name and upcoming activities,
// bad input refused naming the field with nothing stored, and attendance,
// hours, corrections and declines, totals, rankings and the summary. The
// sign-up rules through the CLI are in test_cli_signups.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt.h"

#define DAY (24 * 3600)

static vt_cli c;

// names_are checks that the last list printed exactly these names
// (NULL-terminated), by their count and presence.
static void
names_are(const char *n0, ...)
{
    va_list ap;
    int want = 0;
    va_start(ap, n0);
    for (const char *n = n0; n != NULL; n = va_arg(ap, const char *), want++) {
        char pat[128];
        snprintf(pat, sizeof pat, "\"%s\"", n);
        if (strstr(c.out, pat) == NULL)
            fail_msg("%s is not listed: %s", n, c.out);
    }
    va_end(ap);
    int got = vt_json_count(c.out, "id");
    if (got != want)
        fail_msg("%d listed, want %d: %s", got, want, c.out);
}

static void
test_cli_volunteers(void **state)
{
    vt_cli_start(&c);
    char a[32], b[32], buf[64], as_a[48], as_b[48];
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "王建国", "--phone", "13812345678",
                           "--kind", "grid-worker", "--area-id", "1", "--community", "城东花园社区", "--consent",
                           "true", NULL));
    vt_json(c.out, "id", a, sizeof a);
    assert_string_equal(vt_json(c.out, "phone", buf, sizeof buf), "13812345678"); // admin: in full
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "李秀英", "--phone", "13900001111",
                           "--kind", "student", "--area-id", "1", "--community", "城南社区", NULL));
    vt_json(c.out, "id", b, sizeof b);
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "张伟", "--phone", "13900002222",
                           "--kind", "party-member", "--area-id", "6", "--community", "城东花园社区", NULL));

    // One phone, one volunteer, however it is written; bad phones and
    // unknown ids are refused naming the field, never echoing a number.
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "重复", "--phone", "+8613812345678",
                                "--kind", "resident", "--area-id", "1", NULL),
                 "ALREADY_EXISTS", NULL);
    assert_null(strstr(c.err, "12345678"));
    const char *bad_phones[] = {"12345", "23812345678", "138123456789"};
    for (size_t i = 0; i < sizeof bad_phones / sizeof bad_phones[0]; i++) {
        vt_cli_fails(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "坏号码", "--phone",
                                    bad_phones[i], "--kind", "resident", "--area-id", "1", NULL),
                     "INVALID_ARGUMENT", "volunteer.phone", NULL);
        assert_null(strstr(c.err, bad_phones[i]));
    }
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "volunteers", "get", "7777", NULL), "NOT_FOUND", "id", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "list", "--include-inactive", "true", "--all", NULL));
    names_are("王建国", "李秀英", "张伟", NULL); // nothing stored by the refusals

    // Phones: in full for the admin role only, masked for every other role
    // — the volunteer's own record and a volunteer's view of others too.
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "get", a, NULL));
    assert_string_equal(vt_json(c.out, "phone", buf, sizeof buf), "13812345678");
    const char *roles[] = {"insp-1:inspector", "unit-3:unit", "leader:viewer", vt_as(as_a, sizeof as_a, a),
                           vt_as(as_b, sizeof as_b, b)};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        VT_MUST(&c, vt_cli_run(&c, roles[i], "volunteers", "get", a, NULL));
        if (strcmp(vt_json(c.out, "phone", buf, sizeof buf), "138****5678") != 0)
            fail_msg("as %s: phone %s", roles[i], buf);
        VT_MUST(&c, vt_cli_run(&c, roles[i], "volunteers", "list", "--area-id", "1", NULL));
        if (strstr(c.out, "13812345678") || strstr(c.out, "13900001111") || !strstr(c.out, "139****1111"))
            fail_msg("as %s, a list shows a phone unmasked: %s", roles[i], c.out);
    }
    // Identity counts only when signed with the key: an admin claimed
    // without it is nobody.
    const char *unsigned_admin[] = {"--addr", c.srv.url, "--as", "office:admin", "volunteers", "get", a, NULL};
    snprintf(c.cmd, sizeof c.cmd, "--as office:admin volunteers get %s, unsigned", a);
    vt_cli_fails(&c, th_cli(c.out, sizeof c.out, c.err, sizeof c.err, unsigned_admin), "UNAUTHENTICATED", NULL);
    assert_null(strstr(c.out, "1381234"));

    // Lists by area, community, kind and name.
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "list", "--area-id", "1", NULL));
    names_are("王建国", "李秀英", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "list", "--area-id", "1", "--community", "城东花园社区", NULL));
    names_are("王建国", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "list", "--kind", "student", NULL));
    names_are("李秀英", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "list", "--name-prefix", "张", NULL));
    names_are("张伟", NULL);
    vt_cli_stop(&c);
}

static void
test_cli_activities(void **state)
{
    vt_cli_start(&c);
    int64_t now = vt_now_s();
    char s1[32], e1[32], s2[32], e2[32], old_s[32], old_e[32], day_ago[32], x[32], v[32], buf[64];
    vt_rfc3339(s1, sizeof s1, now + DAY);
    vt_rfc3339(e1, sizeof e1, now + DAY + 7200);
    vt_rfc3339(s2, sizeof s2, now + 2 * DAY);
    vt_rfc3339(e2, sizeof e2, now + 2 * DAY + 7200);
    vt_rfc3339(old_s, sizeof old_s, now - 3 * 3600);
    vt_rfc3339(old_e, sizeof old_e, now - 3600);
    vt_rfc3339(day_ago, sizeof day_ago, now - DAY);

    // Bad input: end before (or at) start, capacity 0 or negative.
    const struct {
        const char *start, *end, *capacity, *field;
    } bad[] = {
        {e1, s1, "3", "activity.end_time"},
        {s1, s1, "3", "activity.end_time"},
        {s1, e1, "0", "activity.capacity"},
        {s1, e1, "-3", "activity.capacity"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        vt_cli_fails(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "坏的活动", "--kind", "three-clears",
                                    "--area-id", "1", "--start", bad[i].start, "--end", bad[i].end, "--capacity",
                                    bad[i].capacity, NULL),
                     "INVALID_ARGUMENT", bad[i].field, NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "activities", "get", "999", NULL), "NOT_FOUND", "id", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "list", "--ended-after", "2000-01-01T00:00:00Z",
                           "--include-cancelled", "true", NULL));
    assert_int_equal(vt_json_count(c.out, "id"), 0); // nothing stored

    // Upcoming activities by area and kind; ended ones only when asked.
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "城东三清", "--kind", "three-clears",
                           "--area-id", "1", "--start", s1, "--end", e1, "--capacity", "3", NULL));
    vt_json(c.out, "id", x, sizeof x);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "城东入户宣传", "--kind", "door-to-door",
                           "--area-id", "1", "--start", s2, "--end", e2, "--capacity", "3", NULL));
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "洪泽三清", "--kind", "three-clears",
                           "--area-id", "6", "--start", s1, "--end", e1, "--capacity", "3", NULL));
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "已结束三清", "--kind", "three-clears",
                           "--area-id", "1", "--start", old_s, "--end", old_e, "--capacity", "3", NULL));
    VT_MUST(&c, vt_cli_run(&c, "leader:viewer", "activities", "list", NULL));
    names_are("城东三清", "城东入户宣传", "洪泽三清", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "list", "--area-id", "1", NULL));
    names_are("城东三清", "城东入户宣传", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "list", "--kind", "door-to-door", NULL));
    names_are("城东入户宣传", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "list", "--area-id", "1", "--kind", "three-clears", NULL));
    names_are("城东三清", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "list", "--area-id", "1", "--ended-after", day_ago, NULL));
    names_are("已结束三清", "城东三清", "城东入户宣传", NULL);

    // Unknown ids in sign-ups and hours: NOT_FOUND naming the field, and
    // nothing stored.
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "刘芳", "--phone", "13900003333",
                           "--kind", "resident", "--area-id", "1", NULL));
    vt_json(c.out, "id", v, sizeof v);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "signups", "create", "--activity-id", "999", "--volunteer-id", v, NULL),
                 "NOT_FOUND", "activity_id", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "signups", "create", "--activity-id", x, "--volunteer-id", "8888", NULL),
                 "NOT_FOUND", "volunteer_id", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "signups", "cancel", "999", NULL), "NOT_FOUND", "id", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "signups", "check-in", "999", NULL), "NOT_FOUND", "signup_id", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "hours", "correct", "999", "--minutes", "5", "--reason", "补录", NULL),
                 "NOT_FOUND", "id", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "signups", "list", "--activity-id", x, NULL));
    assert_int_equal(vt_json_count(c.out, "id"), 0);
    VT_MUST(&c, vt_cli_run(&c, NULL, "-o", "csv", "activities", "get", x, NULL));
    assert_string_equal(vt_csv(c.out, "registered", buf, sizeof buf), "0");
    assert_string_equal(vt_csv(c.out, "seats_left", buf, sizeof buf), "3");
    vt_cli_stop(&c);
}

static void
test_cli_attendance_and_hours(void **state)
{
    vt_cli_start(&c);
    int64_t now = vt_now_s();
    char a[32], as_a[48], act[32], later[32], sa[32], sl[32], hid[32], buf[64], t[5][32];
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "register", "--name", "王建国", "--phone", "13812345678",
                           "--kind", "grid-worker", "--area-id", "1", NULL));
    vt_json(c.out, "id", a, sizeof a);
    vt_as(as_a, sizeof as_a, a);
    // A running activity (started half an hour ago), and one in two hours.
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "城东花园三清行动", "--kind", "three-clears",
                           "--area-id", "1", "--point-id", "77", "--start", vt_rfc3339(t[0], 32, now - 1800), "--end",
                           vt_rfc3339(t[1], 32, now + 3600), "--capacity", "2", NULL));
    vt_json(c.out, "id", act, sizeof act);
    VT_MUST(&c, vt_cli_run(&c, NULL, "activities", "create", "--title", "入户宣传", "--kind", "door-to-door",
                           "--area-id", "1", "--start", vt_rfc3339(t[0], 32, now + 7200), "--end",
                           vt_rfc3339(t[1], 32, now + 10800), "--capacity", "2", NULL));
    vt_json(c.out, "id", later, sizeof later);
    VT_MUST(&c, vt_cli_run(&c, as_a, "signups", "create", "--activity-id", act, NULL));
    vt_json(c.out, "id", sa, sizeof sa);
    assert_string_equal(vt_json(c.out, "state", buf, sizeof buf), "SIGNUP_STATE_REGISTERED");
    VT_MUST(&c, vt_cli_run(&c, as_a, "signups", "create", "--activity-id", later, NULL));
    vt_json(c.out, "id", sl, sizeof sl);

    // In order: no check-out before a check-in. No check-in before the
    // sign-up was made (what the audit saw: "I was there since yesterday")
    // nor more than an hour before the start; refused naming time, and the
    // sign-up is as it was.
    vt_cli_fails(&c, vt_cli_run(&c, as_a, "signups", "check-out", sa, NULL), "FAILED_PRECONDITION", "CHECKED_IN",
                 NULL);
    vt_cli_fails(&c, vt_cli_run(&c, as_a, "signups", "check-in", sa, "--time", vt_rfc3339(t[2], 32, now - DAY), NULL),
                 "INVALID_ARGUMENT", "time", "before the sign-up was REGISTERED", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, as_a, "signups", "check-in", sl, NULL), "INVALID_ARGUMENT", "time",
                 "more than 1 hour before the activity's start", NULL);
    VT_MUST(&c, vt_cli_run(&c, as_a, "signups", "get", sa, NULL));
    assert_string_equal(vt_json(c.out, "state", buf, sizeof buf), "SIGNUP_STATE_REGISTERED");
    assert_null(strstr(c.out, "checkInTime"));
    // In at the first whole second after the sign-up was made, out four
    // minutes later (at most 5 minutes ahead of the server's clock): 4
    // minutes. A check-out before the check-in is refused naming time.
    int64_t in = vt_now_s() + 1;
    VT_MUST(&c, vt_cli_run(&c, as_a, "signups", "check-in", sa, "--time", vt_rfc3339(t[2], 32, in), NULL));
    vt_cli_fails(&c, vt_cli_run(&c, as_a, "signups", "check-out", sa, "--time", vt_rfc3339(t[3], 32, in - 60), NULL),
                 "INVALID_ARGUMENT", "time", "before the check-in", NULL);
    VT_MUST(&c, vt_cli_run(&c, as_a, "signups", "check-out", sa, "--time", vt_rfc3339(t[3], 32, in + 240), NULL));
    const char *h = strstr(c.out, "\"hours\"");
    assert_non_null(h);
    vt_json(h, "id", hid, sizeof hid);
    assert_string_equal(vt_json(h, "minutes", buf, sizeof buf), "4");
    assert_string_equal(vt_json(h, "state", buf, sizeof buf), "HOURS_STATE_RECORDED");
    VT_MUST(&c, vt_cli_run(&c, as_a, "volunteers", "totals", NULL));
    assert_string_equal(vt_json(c.out, "minutes", buf, sizeof buf), "4");

    // Corrections and declines: by admins only, always with a reason.
    vt_cli_fails(&c, vt_cli_run(&c, as_a, "hours", "correct", hid, "--minutes", "25", "--reason", "补录", NULL),
                 "PERMISSION_DENIED", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, "insp-1:inspector", "hours", "decline", hid, "--reason", "不实", NULL),
                 "PERMISSION_DENIED", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "hours", "correct", hid, "--minutes", "25", NULL), "INVALID_ARGUMENT",
                 "reason", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "hours", "decline", hid, NULL), "INVALID_ARGUMENT", "reason", NULL);
    vt_cli_fails(&c, vt_cli_run(&c, NULL, "hours", "correct", hid, "--minutes", "-5", "--reason", "x", NULL),
                 "INVALID_ARGUMENT", "minutes", NULL);
    VT_MUST(&c, vt_cli_run(&c, NULL, "hours", "correct", hid, "--minutes", "25", "--reason", "签退补录", NULL));
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "totals", "--volunteer-id", a, NULL));
    assert_string_equal(vt_json(c.out, "minutes", buf, sizeof buf), "25");
    VT_MUST(&c, vt_cli_run(&c, NULL, "hours", "decline", hid, "--reason", "重复签到", NULL));
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "totals", "--volunteer-id", a, NULL));
    assert_string_equal(vt_json(c.out, "minutes", buf, sizeof buf), "");                  // 0, left out
    VT_MUST(&c, vt_cli_run(&c, NULL, "-o", "csv", "volunteers", "totals", "--volunteer-id", a, NULL));
    assert_string_equal(vt_csv(c.out, "minutes", buf, sizeof buf), "0");
    VT_MUST(&c, vt_cli_run(&c, NULL, "hours", "get", hid, NULL));
    assert_string_equal(vt_json(c.out, "state", buf, sizeof buf), "HOURS_STATE_DECLINED");
    assert_non_null(strstr(c.out, "签退补录")); // the history keeps every step
    assert_non_null(strstr(c.out, "重复签到"));
    VT_MUST(&c, vt_cli_run(&c, NULL, "hours", "correct", hid, "--minutes", "4", "--reason", "复核通过", NULL));
    VT_MUST(&c, vt_cli_run(&c, as_a, "hours", "list", NULL));
    assert_string_equal(vt_json(c.out, "state", buf, sizeof buf), "HOURS_STATE_CORRECTED");
    assert_int_equal(vt_json_count(c.out, "reason"), 4); // recorded, corrected, declined, reinstated

    // Rankings and the summary count what stands.
    char day_from[16], day_to[16];
    time_t tt = (time_t) (now + 8 * 3600 - DAY);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(day_from, sizeof day_from, "%Y%m%d", &tm);
    tt = (time_t) (now + 8 * 3600 + DAY);
    gmtime_r(&tt, &tm);
    strftime(day_to, sizeof day_to, "%Y%m%d", &tm);
    VT_MUST(&c, vt_cli_run(&c, "leader:viewer", "volunteers", "ranking", "--from", day_from, "--to", day_to, NULL));
    assert_string_equal(vt_json(c.out, "volunteerId", buf, sizeof buf), a);
    assert_string_equal(vt_json(c.out, "minutes", buf, sizeof buf), "4");
    assert_null(strstr(c.out, "phone"));
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "ranking", "--by", "area", "--from", day_from, "--to", day_to,
                           NULL));
    assert_string_equal(vt_json(c.out, "areaId", buf, sizeof buf), "1");
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "summary", "--area-ids", "1", NULL));
    assert_string_equal(vt_json(c.out, "minutesThisWeek", buf, sizeof buf), "4");
    assert_string_equal(vt_json(c.out, "volunteersActive", buf, sizeof buf), "1");
    VT_MUST(&c, vt_cli_run(&c, NULL, "volunteers", "events", "--page-size", "1000", NULL));
    assert_non_null(strstr(c.out, "hours.declined"));
    assert_non_null(strstr(c.out, "hours.corrected"));
    assert_null(strstr(c.out, "13812345678")); // events carry no phone
    // Tables print too.
    VT_MUST(&c, vt_cli_run(&c, NULL, "-o", "table", "activities", "list", NULL));
    assert_non_null(strstr(c.out, "城东花园三清行动"));
    vt_cli_stop(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_volunteers),
        cmocka_unit_test(test_cli_activities),
        cmocka_unit_test(test_cli_attendance_and_hours),
    };
    return cmocka_run_group_tests_name("civic.volunteers.cli", tests, NULL, NULL);
}
