// civic.volunteers.cli: the volunteers story through the real `civic` CLI
// against a real civic-volunteers (open mode; roles with --as
// PRINCIPAL:ROLE): registration with one phone per volunteer and phones
// masked by role, an activity filling up with a waitlist, a volunteer's
// sign-up, cancellation and promotion, what a volunteer may not do for
// another, attendance, hours corrected and declined, totals, rankings, the
// summary, bad input, and an idempotent retry.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt.h"

static th_server srv;
static char out[65536], err[8192];

// cli runs `civic --addr URL [--as AS] -o json ARGS…` and returns its exit
// status; out and err hold what it printed.
static int
cli(const char *as, const char *a0, ...)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = "--addr";
    argv[n++] = srv.url;
    argv[n++] = "-o";
    argv[n++] = "json";
    if (as != NULL) {
        argv[n++] = "--as";
        argv[n++] = as;
    }
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a != NULL && n < 47; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    out[0] = err[0] = '\0';
    return th_cli(out, sizeof out, err, sizeof err, argv);
}

// field returns the first value of "name": in out (a number in quotes, a
// string or an enum name), in buf.
static const char *
field(const char *name, char *buf, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", name);
    const char *p = strstr(out, pat);
    buf[0] = '\0';
    if (p == NULL)
        return buf;
    p += strlen(pat);
    if (*p == '"')
        p++;
    size_t i = 0;
    while (*p && *p != '"' && *p != ',' && *p != '\n' && i + 1 < n)
        buf[i++] = *p++;
    buf[i] = '\0';
    return buf;
}

#define MUST(rc)                                                                                   \
    do {                                                                                           \
        if ((rc) != 0)                                                                             \
            fail_msg("%s: exit %d: %s", #rc, (rc), err);                                          \
    } while (0)

static void
iso(char *buf, size_t n, int64_t unix_s)
{
    time_t t = (time_t) unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
test_cli_story(void **state)
{
    th_server_start(&srv, CIVIC_VOLUNTEERS_BIN, NULL);
    char a[32], b[32], c[32], act[32], sa[32], sb[32], sc[32], buf[64], as_a[48], as_b[48];
    MUST(cli(NULL, "volunteers", "register", "--name", "王建国", "--phone", "13812345678", "--kind",
             "grid-worker", "--area-id", "1", "--community", "城东花园社区", "--consent", "true", NULL));
    field("id", a, sizeof a);
    assert_string_equal(field("phone", buf, sizeof buf), "13812345678"); // admin: in full
    MUST(cli(NULL, "volunteers", "register", "--name", "李秀英", "--phone", "13900001111", "--kind",
             "student", "--area-id", "1", NULL));
    field("id", b, sizeof b);
    MUST(cli(NULL, "volunteers", "register", "--name", "张伟", "--phone", "13900002222", "--kind",
             "party-member", "--area-id", "6", NULL));
    field("id", c, sizeof c);
    // One phone, one volunteer.
    assert_int_equal(cli(NULL, "volunteers", "register", "--name", "重复", "--phone", "+8613812345678",
                         "--kind", "resident", "--area-id", "1", NULL), 1);
    assert_non_null(strstr(err, "ALREADY_EXISTS"));
    assert_null(strstr(err, "12345678"));
    // Masked for everyone but admins, a volunteer's view of others included.
    snprintf(as_a, sizeof as_a, "%s:volunteer", a);
    snprintf(as_b, sizeof as_b, "%s:volunteer", b);
    MUST(cli(as_b, "volunteers", "get", a, NULL));
    assert_string_equal(field("phone", buf, sizeof buf), "138****5678");
    MUST(cli("leader:viewer", "volunteers", "list", "--area-id", "1", NULL));
    assert_null(strstr(out, "13812345678"));
    assert_non_null(strstr(out, "138****5678"));
    MUST(cli(NULL, "volunteers", "list", "--name-prefix", "王", NULL));
    assert_non_null(strstr(out, "13812345678"));

    // Bad input names the field, and nothing is stored.
    int64_t now = vt_now_s();
    char s1[32], e1[32];
    iso(s1, sizeof s1, now - 1800);
    iso(e1, sizeof e1, now + 3600);
    assert_int_equal(cli(NULL, "activities", "create", "--title", "三清", "--kind", "three-clears",
                         "--area-id", "1", "--start", e1, "--end", s1, "--capacity", "2", NULL), 1);
    assert_non_null(strstr(err, "activity.end_time"));
    assert_int_equal(cli(NULL, "activities", "create", "--title", "三清", "--kind", "three-clears",
                         "--area-id", "1", "--start", s1, "--end", e1, "--capacity", "0", NULL), 1);
    assert_non_null(strstr(err, "activity.capacity"));
    assert_int_equal(cli(NULL, "volunteers", "register", "--name", "坏号码", "--phone", "12345",
                         "--kind", "resident", "--area-id", "1", NULL), 1);
    assert_non_null(strstr(err, "volunteer.phone"));
    assert_int_equal(cli(NULL, "signups", "create", "--activity-id", "999", "--volunteer-id", a, NULL), 1);
    assert_non_null(strstr(err, "NOT_FOUND"));
    assert_non_null(strstr(err, "activity_id"));

    // A running activity (started half an hour ago) with one seat.
    MUST(cli(NULL, "activities", "create", "--title", "城东花园三清行动", "--kind", "three-clears",
             "--area-id", "1", "--point-id", "77", "--start", s1, "--end", e1, "--capacity", "1", NULL));
    field("id", act, sizeof act);
    assert_int_equal(cli(as_a, "signups", "create", "--activity-id", act, "--volunteer-id", b, NULL), 1);
    assert_non_null(strstr(err, "PERMISSION_DENIED"));
    MUST(cli(as_a, "--idempotency-key", "cli-retry-1", "signups", "create", "--activity-id", act, NULL));
    field("id", sa, sizeof sa);
    assert_string_equal(field("state", buf, sizeof buf), "SIGNUP_STATE_REGISTERED");
    MUST(cli(as_a, "--idempotency-key", "cli-retry-1", "signups", "create", "--activity-id", act, NULL));
    assert_string_equal(field("id", buf, sizeof buf), sa); // the retry: the same sign-up
    MUST(cli(NULL, "activities", "get", act, NULL));
    assert_string_equal(field("seatsLeft", buf, sizeof buf), "");
    assert_string_equal(field("registered", buf, sizeof buf), "1");

    // The activity started, so a full one takes no waitlist; raise the
    // capacity for B, then A gives up the seat... B is registered already.
    assert_int_equal(cli(as_b, "signups", "create", "--activity-id", act, NULL), 1);
    assert_non_null(strstr(err, "waitlist is closed"));
    // A future activity with one seat: B registered, C waitlisted.
    char s2[32], e2[32];
    iso(s2, sizeof s2, now + 86400);
    iso(e2, sizeof e2, now + 86400 + 7200);
    MUST(cli(NULL, "activities", "create", "--title", "入户宣传", "--kind", "door-to-door",
             "--area-id", "6", "--start", s2, "--end", e2, "--capacity", "1", NULL));
    char act2[32];
    field("id", act2, sizeof act2);
    MUST(cli(as_b, "signups", "create", "--activity-id", act2, NULL));
    field("id", sb, sizeof sb);
    char as_c[48];
    snprintf(as_c, sizeof as_c, "%s:volunteer", c);
    MUST(cli(as_c, "signups", "create", "--activity-id", act2, NULL));
    field("id", sc, sizeof sc);
    assert_string_equal(field("state", buf, sizeof buf), "SIGNUP_STATE_WAITLISTED");
    assert_string_equal(field("position", buf, sizeof buf), "1");
    // A may not read, cancel or check in B's sign-up.
    assert_int_equal(cli(as_a, "signups", "get", sb, NULL), 1);
    assert_non_null(strstr(err, "NOT_FOUND"));
    assert_int_equal(cli(as_a, "signups", "cancel", sb, NULL), 1);
    assert_non_null(strstr(err, "PERMISSION_DENIED"));
    assert_int_equal(cli(as_a, "signups", "check-in", sb, NULL), 1);
    assert_non_null(strstr(err, "PERMISSION_DENIED"));
    // B cancels: C is promoted in the same call.
    MUST(cli(as_b, "signups", "cancel", sb, NULL));
    assert_non_null(strstr(out, "\"promoted\""));
    MUST(cli(as_c, "signups", "get", sc, NULL));
    assert_string_equal(field("state", buf, sizeof buf), "SIGNUP_STATE_REGISTERED");
    MUST(cli(NULL, "signups", "list", "--activity-id", act2, "--all", NULL));
    assert_non_null(strstr(out, "SIGNUP_STATE_CANCELLED"));

    // Attendance on the running activity, then hours.
    char t_in[32], t_out[32];
    iso(t_in, sizeof t_in, now - 3600);  // before the start: counts from the start
    iso(t_out, sizeof t_out, now - 600); // 20 minutes after the start
    MUST(cli(as_a, "signups", "check-in", sa, "--time", t_in, NULL));
    MUST(cli(as_a, "signups", "check-out", sa, "--time", t_out, NULL));
    char hid[32];
    assert_string_equal(field("minutes", buf, sizeof buf), "20");
    const char *h = strstr(out, "\"hours\"");
    assert_non_null(h);
    memmove(out, h, strlen(h) + 1);
    field("id", hid, sizeof hid);
    MUST(cli(as_a, "volunteers", "totals", NULL));
    assert_string_equal(field("minutes", buf, sizeof buf), "20");
    assert_int_equal(cli(as_a, "hours", "correct", hid, "--minutes", "25", "--reason", "补录", NULL), 1);
    assert_non_null(strstr(err, "PERMISSION_DENIED"));
    MUST(cli(NULL, "hours", "correct", hid, "--minutes", "25", "--reason", "签退补录", NULL));
    MUST(cli(NULL, "volunteers", "totals", "--volunteer-id", a, NULL));
    assert_string_equal(field("minutes", buf, sizeof buf), "25");
    MUST(cli(NULL, "hours", "decline", hid, "--reason", "重复签到", NULL));
    MUST(cli(NULL, "hours", "get", hid, NULL));
    assert_string_equal(field("state", buf, sizeof buf), "HOURS_STATE_DECLINED");
    assert_non_null(strstr(out, "签退补录")); // the history keeps the correction
    MUST(cli(NULL, "hours", "correct", hid, "--minutes", "20", "--reason", "复核通过", NULL));
    MUST(cli(as_a, "hours", "list", NULL));
    assert_non_null(strstr(out, "HOURS_STATE_CORRECTED"));
    char day_from[16], day_to[16];
    time_t t = (time_t) (now + 8 * 3600 - 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day_from, sizeof day_from, "%Y%m%d", &tm);
    t = (time_t) (now + 8 * 3600 + 86400);
    gmtime_r(&t, &tm);
    strftime(day_to, sizeof day_to, "%Y%m%d", &tm);
    MUST(cli("leader:viewer", "volunteers", "ranking", "--from", day_from, "--to", day_to, NULL));
    assert_string_equal(field("volunteerId", buf, sizeof buf), a);
    assert_string_equal(field("minutes", buf, sizeof buf), "20");
    assert_null(strstr(out, "phone"));
    MUST(cli(NULL, "volunteers", "ranking", "--by", "area", "--from", day_from, "--to", day_to, NULL));
    assert_string_equal(field("areaId", buf, sizeof buf), "1");
    MUST(cli(NULL, "volunteers", "summary", "--area-ids", "1", NULL));
    assert_string_equal(field("minutesThisWeek", buf, sizeof buf), "20");
    assert_string_equal(field("volunteersActive", buf, sizeof buf), "1");
    MUST(cli(NULL, "volunteers", "events", "--page-size", "1000", NULL));
    assert_non_null(strstr(out, "signup.promoted"));
    assert_non_null(strstr(out, "hours.corrected"));
    assert_null(strstr(out, "13812345678")); // events carry no phone
    // Tables print too.
    const char *argv[] = {"--addr", srv.url, "activities", "list", NULL};
    assert_int_equal(th_cli(out, sizeof out, err, sizeof err, argv), 0);
    assert_non_null(strstr(out, "城东花园三清行动"));

    assert_int_equal(th_server_term(&srv), 0);
    vt_audit(srv.dir);
    th_server_cleanup(&srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_story),
    };
    return cmocka_run_group_tests_name("civic.volunteers.cli", tests, NULL, NULL);
}
