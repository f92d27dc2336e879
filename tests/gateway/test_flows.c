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

// cli runs the CLI against the gateway with a token (NULL for none) and
// returns its exit status; out gets stdout.
static int
cli(gw_fixture *f, const char *token, char *out, size_t n, const char *const *args)
{
    const char *argv[40] = {"--addr", f->gateway.url, "-o", "json"};
    int k = 4;
    if (token != NULL) {
        argv[k++] = "--token";
        argv[k++] = token;
    }
    for (int i = 0; args[i] && k < 39; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    char err[2048];
    unsetenv("CIVIC_TOKEN");
    setenv("CIVIC_TOKEN_FILE", "/nonexistent", 1);
    int rc = th_cli(out, n, err, sizeof err, argv);
    if (rc != 0)
        print_message("civic %s %s: %s", args[0], args[1] ? args[1] : "", err);
    return rc;
}

static json_t *
cli_json(gw_fixture *f, const char *token, const char *const *args)
{
    static char out[1 << 16];
    if (cli(f, token, out, sizeof out, args) != 0)
        fail_msg("civic %s %s failed", args[0], args[1]);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (j == NULL)
        fail_msg("not JSON: %s", out);
    return j;
}

static const char *
jstr(json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return cur && json_is_string(cur) ? json_string_value(cur) : NULL;
}

static long long
jnum(json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    if (cur == NULL)
        return 0;
    if (json_is_string(cur))
        return atoll(json_string_value(cur));
    return json_is_integer(cur) ? json_integer_value(cur) : (long long) json_number_value(cur);
}

// A volunteer registers themselves (no token) and gets a token.
static void
register_self(gw_fixture *f, const char *name, const char *phone, char *id, char *token)
{
    const char *args[] = {"volunteers", "register-self", "--name", name, "--phone", phone,
                          "--kind", "resident", "--area-id", "1", "--community", "示范社区",
                          "--consent", "true", NULL};
    json_t *j = cli_json(f, NULL, args);
    assert_non_null(jstr(j, "token"));
    snprintf(token, 128, "%s", jstr(j, "token"));
    snprintf(id, 32, "%s", jstr(j, "volunteer.id"));
    json_decref(j);
}

// An activity starting tomorrow at a fresh point, capacity 1.
static void
make_activity(gw_fixture *f, char *activity)
{
    const char *lv[] = {"area", "town", "community", "grid"};
    char parent[32] = "0";
    for (int i = 0; i < 4; i++) {
        const char *args[] = {"areas", "create", "--name", "测试", "--level", lv[i], "--parent-id", parent, NULL};
        json_t *j = cli_json(f, f->admin, args);
        snprintf(parent, sizeof parent, "%s", jstr(j, "area.id"));
        json_decref(j);
    }
    const char *pargs[] = {"points", "create", "--name", "测试点位", "--kind", "key-area", "--lat", "33.5",
                           "--lng", "119.1", "--grid-id", parent, NULL};
    json_t *pj = cli_json(f, f->admin, pargs);
    char point[32];
    snprintf(point, sizeof point, "%s", jstr(pj, "point.id"));
    json_decref(pj);
    time_t now = time(NULL);
    char start[32], end[32];
    snprintf(start, sizeof start, "%lld", (long long) now + 86400);
    snprintf(end, sizeof end, "%lld", (long long) now + 86400 + 3 * 3600);
    const char *aargs[] = {"activities", "create", "--title", "三清行动（测试）", "--kind", "three-clears",
                           "--point-id", point, "--area-id", "1", "--start-time", start, "--end-time", end,
                           "--capacity", "1", NULL};
    json_t *aj = cli_json(f, f->admin, aargs);
    snprintf(activity, 32, "%s", jstr(aj, "activity.id"));
    json_decref(aj);
}

static void
test_signup_flow(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char act[32], a_id[32], a_tok[128], b_id[32], b_tok[128], out[8192];
    make_activity(&f, act);
    register_self(&f, "志愿者甲", "13900000001", a_id, a_tok);
    register_self(&f, "志愿者乙", "13900000002", b_id, b_tok);

    // A takes the one seat; B is waitlisted at position 1.
    const char *ja[] = {"activities", "join", act, NULL};
    json_t *r = cli_json(&f, a_tok, ja);
    assert_true(json_is_true(json_object_get(r, "registered")));
    char a_signup[32];
    snprintf(a_signup, sizeof a_signup, "%s", jstr(r, "signup.id"));
    json_decref(r);
    r = cli_json(&f, b_tok, ja);
    assert_true(json_is_true(json_object_get(r, "waitlisted")));
    assert_int_equal(jnum(r, "position"), 1);
    char b_signup[32];
    snprintf(b_signup, sizeof b_signup, "%s", jstr(r, "signup.id"));
    json_decref(r);
    // A retry of B's sign-up is the same sign-up.
    r = cli_json(&f, b_tok, ja);
    assert_string_equal(jstr(r, "signup.id"), b_signup);
    json_decref(r);

    // B may not act as A: not sign A up, cancel A's seat, check in as A or
    // read A's sign-up; and sees A's phone masked.
    const char *as_a[] = {"activities", "join", act, "--volunteer", a_id, NULL};
    assert_int_not_equal(cli(&f, b_tok, out, sizeof out, as_a), 0);
    const char *cancel_a[] = {"signups", "cancel", a_signup, NULL};
    assert_int_not_equal(cli(&f, b_tok, out, sizeof out, cancel_a), 0);
    const char *checkin_a[] = {"signups", "check-in", a_signup, NULL};
    assert_int_not_equal(cli(&f, b_tok, out, sizeof out, checkin_a), 0);
    const char *get_a[] = {"signups", "get", a_signup, NULL};
    assert_int_not_equal(cli(&f, b_tok, out, sizeof out, get_a), 0);
    const char *vol_a[] = {"volunteers", "get", a_id, NULL};
    r = cli_json(&f, b_tok, vol_a);
    assert_string_equal(jstr(r, "volunteer.phone"), "139****0001");
    json_decref(r);

    // A cancels: B is promoted in the same transaction.
    r = cli_json(&f, a_tok, cancel_a);
    json_decref(r);
    const char *get_b[] = {"signups", "get", b_signup, NULL};
    r = cli_json(&f, b_tok, get_b);
    assert_string_equal(jstr(r, "signup.state"), "SIGNUP_STATE_REGISTERED");
    json_decref(r);

    // A volunteer's token does only what a volunteer may.
    const char *mk[] = {"areas", "create", "--name", "x", NULL};
    assert_int_equal(cli(&f, a_tok, out, sizeof out, mk), 1);
    const char *tl[] = {"tokens", "list", NULL};
    assert_int_equal(cli(&f, a_tok, out, sizeof out, tl), 1);
    // Listing open activities needs no token at all.
    const char *la[] = {"activities", "list", NULL};
    assert_int_equal(cli(&f, NULL, out, sizeof out, la), 0);
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
    assert_int_equal(cli(&f, f.admin, out, sizeof out, pat), 0);
    // A problem reported at the point through the gateway: area and grid
    // come from the point; the same report again is the same problem.
    const char *rep[] = {"problems", "report-at", "1", "--category", "garbage", "--description",
                         "垃圾堆放（测试）", "--source", "patrol", NULL};
    json_t *pr = cli_json(&f, f.admin, rep);
    assert_int_equal(jnum(pr, "problem.areaId"), 1);
    assert_true(jnum(pr, "problem.gridId") > 0);
    char pid[32];
    snprintf(pid, sizeof pid, "%s", jstr(pr, "problem.id"));
    json_decref(pr);
    pr = cli_json(&f, f.admin, rep);
    assert_string_equal(jstr(pr, "problem.id"), pid);
    assert_true(json_is_true(json_object_get(pr, "duplicate")));
    json_decref(pr);

    const char *dash[] = {"dashboard", "show", NULL};
    json_t *d = cli_json(&f, f.admin, dash);
    const char *sum[] = {"problems", "summary", NULL};
    json_t *ts = cli_json(&f, f.admin, sum);
    json_t *tsa = json_array_get(json_object_get(ts, "areas"), 0);
    assert_int_equal(jnum(tsa, "areaId"), 1);
    assert_int_equal(jnum(json_array_get(json_object_get(d, "areas"), 0), "problemsOpen"), jnum(tsa, "open"));
    assert_int_equal(jnum(tsa, "open"), 1);
    json_decref(ts);
    const char *cov[] = {"coverage", "summary", NULL};
    json_t *c = cli_json(&f, f.admin, cov);
    json_t *areas = json_object_get(d, "areas"), *cov_areas = json_object_get(c, "areas");
    assert_true(json_array_size(areas) >= 1);
    assert_int_equal(json_array_size(areas), json_array_size(cov_areas));
    for (size_t i = 0; i < json_array_size(areas); i++) {
        json_t *a = json_array_get(areas, i), *ca = json_array_get(cov_areas, i);
        assert_int_equal(jnum(a, "areaId"), jnum(ca, "areaId"));
        assert_int_equal(jnum(a, "points"), jnum(ca, "points"));
        assert_int_equal(jnum(a, "patrolledToday"), jnum(ca, "patrolled"));
    }
    assert_int_equal(jnum(json_array_get(areas, 0), "patrolledToday"), 1);
    json_decref(c);
    json_decref(d);

    // With the tasks service down, the other parts are still answered and
    // the tasks part says it is unavailable.
    th_server_kill(&f.tasks);
    d = cli_json(&f, f.admin, dash);
    json_t *parts = json_object_get(d, "parts");
    int tasks_down = 0, points_up = 0;
    for (size_t i = 0; i < json_array_size(parts); i++) {
        json_t *p = json_array_get(parts, i);
        const char *name = jstr(p, "name");
        int avail = json_is_true(json_object_get(p, "available"));
        if (name && strstr(name, "tasks") && !avail)
            tasks_down = 1;
        if (name && strstr(name, "points") && avail)
            points_up = 1;
    }
    assert_true(tasks_down);
    assert_true(points_up);
    assert_int_equal(jnum(json_array_get(json_object_get(d, "areas"), 0), "patrolledToday"), 1);
    json_decref(d);
    gw_fixture_stop(&f);
}

static void
test_self_registration_rate_limit(void **state)
{
    gw_fixture f;
    const char *gargs[] = {"--rate-self-register=0.001/2", NULL};
    gw_fixture_start_with(&f, NULL, gargs);
    char id[32], tok[128], out[4096];
    register_self(&f, "甲", "13700000001", id, tok);
    register_self(&f, "乙", "13700000002", id, tok);
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
    assert_int_equal(cli(&f, f.admin, out, sizeof out, who), 0);
    gw_fixture_stop(&f);
}

// count_events counts the gateway's audit events of a type.
static int
count_events(gw_fixture *f, const char *type)
{
    const char *args[] = {"audit", "list", "--page-size", "1000", NULL};
    json_t *j = cli_json(f, f->admin, args);
    json_t *evs = json_object_get(j, "events");
    int n = 0;
    for (size_t i = 0; i < json_array_size(evs); i++) {
        const char *t = jstr(json_array_get(evs, i), "type");
        n += t && strcmp(t, type) == 0;
    }
    json_decref(j);
    return n;
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
    assert_true(count_events(&f, "token.created") >= 2);
    const char *units[] = {"units", "list", NULL};
    int before = count_events(&f, "personal_data.read");
    assert_int_equal(cli(&f, f.admin, out, sizeof out, units), 0);
    int after = before;
    for (int64_t until = civic_now_ms() + 10000; after == before && civic_now_ms() < until;) {
        after = count_events(&f, "personal_data.read");
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
    assert_true(after > before);
    // An inspector sees masked phones: nothing to audit.
    assert_int_equal(cli(&f, tok, out, sizeof out, units), 0);
    struct timespec d = {0, 300 * 1000000};
    nanosleep(&d, NULL);
    assert_int_equal(count_events(&f, "personal_data.read"), after);
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
        assert_int_equal(cli(&f, tok, out, sizeof out, who), 0);
    const char *argv[] = {"--addr", f.gateway.url, "--token", tok, "whoami", "show", NULL};
    char err[1024];
    assert_int_equal(th_cli(out, sizeof out, err, sizeof err, argv), 1);
    assert_non_null(strstr(err, "RESOURCE_EXHAUSTED"));
    // Another token is unaffected.
    assert_int_equal(cli(&f, tok2, out, sizeof out, who), 0);
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
