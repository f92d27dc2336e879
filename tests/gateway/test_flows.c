// civic.gateway.flows: what volunteers and leaders touch, through a real
// gateway in front of real points, tasks and volunteers services — a
// volunteer's self-registration and sign-up (registered, waitlisted,
// promoted), what one volunteer may not do as another, the dashboard
// against the services' own answers (and with one of them down), and the
// self-registration rate limit.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_fixture.h"

// An activity starting tomorrow at a fresh point, capacity 1.
static void
make_activity(gw_fixture *f, char *activity)
{
    char point[32];
    gw_make_activity(f, (int64_t) time(NULL) + 86400, 1, activity, point);
}

static void
test_signup_flow(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char act[32], a_id[32], a_tok[128], b_id[32], b_tok[128], out[8192];
    make_activity(&f, act);
    gw_register_self(&f, "志愿者甲", "13900000001", a_id, a_tok);
    gw_register_self(&f, "志愿者乙", "13900000002", b_id, b_tok);

    // A takes the one seat; B is waitlisted at position 1.
    const char *ja[] = {"activities", "join", act, NULL};
    json_t *r = gw_cli_json(&f, a_tok, ja);
    assert_true(json_is_true(json_object_get(r, "registered")));
    char a_signup[32];
    snprintf(a_signup, sizeof a_signup, "%s", gw_jstr(r, "signup.id"));
    json_decref(r);
    r = gw_cli_json(&f, b_tok, ja);
    assert_true(json_is_true(json_object_get(r, "waitlisted")));
    assert_int_equal(gw_jnum(r, "position"), 1);
    char b_signup[32];
    snprintf(b_signup, sizeof b_signup, "%s", gw_jstr(r, "signup.id"));
    json_decref(r);
    // A retry of B's sign-up is the same sign-up.
    r = gw_cli_json(&f, b_tok, ja);
    assert_string_equal(gw_jstr(r, "signup.id"), b_signup);
    json_decref(r);

    // B may not act as A: not sign A up, cancel A's seat, check in as A or
    // read A's sign-up; and sees A's phone masked.
    const char *as_a[] = {"activities", "join", act, "--volunteer", a_id, NULL};
    assert_int_not_equal(gw_cli(&f, b_tok, out, sizeof out, as_a), 0);
    const char *cancel_a[] = {"signups", "cancel", a_signup, NULL};
    assert_int_not_equal(gw_cli(&f, b_tok, out, sizeof out, cancel_a), 0);
    const char *checkin_a[] = {"signups", "check-in", a_signup, NULL};
    assert_int_not_equal(gw_cli(&f, b_tok, out, sizeof out, checkin_a), 0);
    const char *get_a[] = {"signups", "get", a_signup, NULL};
    assert_int_not_equal(gw_cli(&f, b_tok, out, sizeof out, get_a), 0);
    const char *vol_a[] = {"volunteers", "get", a_id, NULL};
    r = gw_cli_json(&f, b_tok, vol_a);
    assert_string_equal(gw_jstr(r, "volunteer.phone"), "139****0001");
    json_decref(r);

    // A cancels: B is promoted in the same transaction.
    r = gw_cli_json(&f, a_tok, cancel_a);
    json_decref(r);
    const char *get_b[] = {"signups", "get", b_signup, NULL};
    r = gw_cli_json(&f, b_tok, get_b);
    assert_string_equal(gw_jstr(r, "signup.state"), "SIGNUP_STATE_REGISTERED");
    json_decref(r);

    // A volunteer's token does only what a volunteer may.
    const char *mk[] = {"areas", "create", "--name", "x", NULL};
    assert_int_equal(gw_cli(&f, a_tok, out, sizeof out, mk), 1);
    const char *tl[] = {"tokens", "list", NULL};
    assert_int_equal(gw_cli(&f, a_tok, out, sizeof out, tl), 1);
    // Listing open activities needs no token at all.
    const char *la[] = {"activities", "list", NULL};
    assert_int_equal(gw_cli(&f, NULL, out, sizeof out, la), 0);
    gw_fixture_stop(&f);
}

static void
test_dashboard(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char act[32];
    make_activity(&f, act); // an area with one point, not yet patrolled
    const char *pat[] = {"patrols", "record", "--point-id", "1", "--result", "fine", NULL};
    char out[8192];
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, pat), 0);
    // A problem reported at the point through the gateway (area and grid
    // from the point; the duplicate check's answer: civic.gateway.rules).
    const char *rep[] = {"problems", "report-at", "1", "--category", "garbage", "--description",
                         "垃圾堆放（测试）", "--source", "patrol", NULL};
    json_t *pr = gw_cli_json(&f, f.admin, rep);
    assert_int_equal(gw_jnum(pr, "problem.areaId"), 1);
    json_decref(pr);

    const char *dash[] = {"dashboard", "show", NULL};
    json_t *d = gw_cli_json(&f, f.admin, dash);
    const char *sum[] = {"problems", "summary", NULL};
    json_t *ts = gw_cli_json(&f, f.admin, sum);
    json_t *tsa = json_array_get(json_object_get(ts, "areas"), 0);
    assert_int_equal(gw_jnum(tsa, "areaId"), 1);
    assert_int_equal(gw_jnum(json_array_get(json_object_get(d, "areas"), 0), "problemsOpen"), gw_jnum(tsa, "open"));
    assert_int_equal(gw_jnum(tsa, "open"), 1);
    json_decref(ts);
    const char *cov[] = {"coverage", "summary", NULL};
    json_t *c = gw_cli_json(&f, f.admin, cov);
    json_t *areas = json_object_get(d, "areas"), *cov_areas = json_object_get(c, "areas");
    assert_true(json_array_size(areas) >= 1);
    assert_int_equal(json_array_size(areas), json_array_size(cov_areas));
    for (size_t i = 0; i < json_array_size(areas); i++) {
        json_t *a = json_array_get(areas, i), *ca = json_array_get(cov_areas, i);
        assert_int_equal(gw_jnum(a, "areaId"), gw_jnum(ca, "areaId"));
        assert_int_equal(gw_jnum(a, "points"), gw_jnum(ca, "points"));
        assert_int_equal(gw_jnum(a, "patrolledToday"), gw_jnum(ca, "patrolled"));
    }
    assert_int_equal(gw_jnum(json_array_get(areas, 0), "patrolledToday"), 1);
    json_decref(c);
    json_decref(d);

    // With the tasks service down, the other parts are still answered and
    // the tasks part says it is unavailable; the CLI exits 3 (in part).
    th_server_kill(&f.tasks);
    static char dout[1 << 16];
    const char *dash_alone[] = {"dashboard", NULL};
    assert_int_equal(gw_cli(&f, f.admin, dout, sizeof dout, dash_alone), 3);
    d = json_loads(dout, 0, NULL);
    assert_non_null(d);
    json_t *parts = json_object_get(d, "parts");
    int tasks_down = 0, points_up = 0;
    for (size_t i = 0; i < json_array_size(parts); i++) {
        json_t *p = json_array_get(parts, i);
        const char *name = gw_jstr(p, "name");
        int avail = json_is_true(json_object_get(p, "available"));
        if (name && strstr(name, "tasks") && !avail)
            tasks_down = 1;
        if (name && strstr(name, "points") && avail)
            points_up = 1;
    }
    assert_true(tasks_down);
    assert_true(points_up);
    assert_int_equal(gw_jnum(json_array_get(json_object_get(d, "areas"), 0), "patrolledToday"), 1);
    json_decref(d);
    // As a table: the tasks and works columns show a dash, not 0; stderr
    // names the part; exit status 3.
    const char *targv[] = {"--addr", f.gateway.url, "--token", f.admin, "dashboard", NULL};
    char terr[2048];
    assert_int_equal(th_cli(dout, sizeof dout, terr, sizeof terr, targv), 3);
    assert_non_null(strstr(terr, "the tasks part is unavailable"));
    assert_non_null(strstr(terr, "the works part is unavailable"));
    assert_non_null(strstr(dout, "PROBLEMS_OVERDUE"));
    // The area's row (the first): open, overdue, closed, works percent and
    // works are dashes.
    const char *row = strchr(dout, '\n');
    assert_non_null(row);
    int dashes = 0;
    for (const char *p = row; (p = strstr(p, "—")) != NULL && p < strchr(row + 1, '\n'); p++)
        dashes++;
    if (dashes != 5)
        fail_msg("want 5 dashes in the area's row, got %d:\n%s", dashes, dout);
    gw_fixture_stop(&f);
}

static void
test_self_registration_rate_limit(void **state)
{
    gw_fixture f;
    const char *gargs[] = {"--rate-self-register=0.001/2", NULL};
    gw_fixture_start_with(&f, NULL, gargs);
    char id[32], tok[128], out[4096];
    gw_register_self(&f, "甲", "13700000001", id, tok);
    gw_register_self(&f, "乙", "13700000002", id, tok);
    // The third within the burst window from this address is refused.
    const char *args[] = {"volunteers", "register-self", "--name", "丙", "--phone", "13700000003",
                          "--kind", "resident", "--area-id", "1", "--consent", "true", NULL};
    const char *argv[40] = {"--addr", f.gateway.url};
    int k = 2;
    for (int i = 0; args[i]; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    char err[1024];
    assert_int_equal(th_cli(out, sizeof out, err, sizeof err, argv), 1);
    assert_non_null(strstr(err, "RESOURCE_EXHAUSTED"));
    // Other callers are unaffected.
    const char *who[] = {"whoami", "show", NULL};
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, who), 0);
    gw_fixture_stop(&f);
}

static void
test_audit(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char out[8192], tok[128];
    gw_token(&f, "巡查员", "inspector", 0, tok, sizeof tok, NULL);
    // Token creation is audited; so is an admin's read of full phone numbers
    // (the write of the record does not hold up the read: poll for it).
    assert_true(gw_count_events(&f, "token.created") >= 2);
    const char *units[] = {"units", "list", NULL};
    int before = gw_count_events(&f, "personal_data.read");
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, units), 0);
    int after = before;
    for (int64_t until = civic_now_ms() + 10000; after == before && civic_now_ms() < until;) {
        after = gw_count_events(&f, "personal_data.read");
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
    assert_true(after > before);
    // An inspector sees masked phones: nothing to audit.
    assert_int_equal(gw_cli(&f, tok, out, sizeof out, units), 0);
    struct timespec d = {0, 300 * 1000000};
    nanosleep(&d, NULL);
    assert_int_equal(gw_count_events(&f, "personal_data.read"), after);
    gw_fixture_stop(&f);
}

static void
test_token_limit(void **state)
{
    gw_fixture f;
    const char *gargs[] = {"--rate-per-token=0.001/3", NULL};
    gw_fixture_start_with(&f, NULL, gargs);
    char out[8192], tok[128], tok2[128];
    gw_token(&f, "巡查员", "inspector", 0, tok, sizeof tok, NULL);
    gw_token(&f, "巡查员乙", "inspector", 0, tok2, sizeof tok2, NULL);
    // A burst of 3, refilled one per 1000 s: the fourth call is refused.
    const char *who[] = {"whoami", "show", NULL};
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_cli(&f, tok, out, sizeof out, who), 0);
    const char *argv[] = {"--addr", f.gateway.url, "--token", tok, "whoami", "show", NULL};
    char err[1024];
    assert_int_equal(th_cli(out, sizeof out, err, sizeof err, argv), 1);
    assert_non_null(strstr(err, "RESOURCE_EXHAUSTED"));
    // Another token is unaffected.
    assert_int_equal(gw_cli(&f, tok2, out, sizeof out, who), 0);
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signup_flow),
        cmocka_unit_test(test_dashboard),
        cmocka_unit_test(test_self_registration_rate_limit),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_token_limit),
    };
    return cmocka_run_group_tests_name("civic.gateway.flows", tests, NULL, NULL);
}
