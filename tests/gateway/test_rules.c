// civic.gateway.rules: the sign-up and report flows' refusals and retries,
// through a real gateway in front of real services — a sign-up refused
// FAILED_PRECONDITION naming what (an inactive volunteer, a cancelled or
// ended activity, an archived point), an idempotency key that makes a retry
// after a cancel answer the first sign-up rather than sign up again, and a
// problem reported at a point with `civic problems report --point-id`.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_fixture.h"

// join_fails runs `activities join ACT` as token and checks the exit status
// 1 and that stderr has FAILED_PRECONDITION and want.
static void
join_fails(gw_fixture *f, const char *token, const char *act, const char *want)
{
    const char *args[] = {"activities", "join", act, NULL};
    char out[4096], err[2048];
    assert_int_equal(gw_cli_err(f, token, out, sizeof out, err, sizeof err, args), 1);
    if (strstr(err, "FAILED_PRECONDITION") == NULL || strstr(err, want) == NULL)
        fail_msg("want FAILED_PRECONDITION naming \"%s\", got: %s", want, err);
}

static void
test_signup_refusals(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    int64_t tomorrow = (int64_t) time(NULL) + 86400;
    char act[32], point[32], id[32], tok[128], want[128], out[4096];
    gw_register_self(&f, "志愿者丙", "13900000011", id, tok);

    // A cancelled activity.
    gw_make_activity(&f, tomorrow, 5, act, point);
    const char *cancel[] = {"activities", "cancel", act, "--reason", "天气原因（测试）", NULL};
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, cancel), 0);
    snprintf(want, sizeof want, "activity %s is not open", act);
    join_fails(&f, tok, act, want);

    // An activity that has ended (still OPEN): the volunteers service says so.
    gw_make_activity(&f, (int64_t) time(NULL) - 3 * 3600, 5, act, point);
    snprintf(want, sizeof want, "activity %s has ended", act);
    join_fails(&f, tok, act, want);

    // An archived point.
    gw_make_activity(&f, tomorrow, 5, act, point);
    const char *archive[] = {"points", "archive", point, NULL};
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, archive), 0);
    snprintf(want, sizeof want, "point %s is not active", point);
    join_fails(&f, tok, act, want);

    // An inactive volunteer, at an open activity whose point is active.
    gw_make_activity(&f, tomorrow, 5, act, point);
    const char *deactivate[] = {"volunteers", "deactivate", id, NULL};
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, deactivate), 0);
    snprintf(want, sizeof want, "volunteer %s is not active", id);
    join_fails(&f, tok, act, want);
    const char *as_admin[] = {"activities", "join", act, "--volunteer", id, NULL};
    char err[2048];
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, as_admin), 1);
    assert_non_null(strstr(err, want));
    // Nothing was signed up at any of them.
    const char *list[] = {"signups", "list", "--volunteer-id", id, NULL};
    json_t *l = gw_cli_json(&f, f.admin, list);
    assert_int_equal(json_array_size(json_object_get(l, "signups")), 0);
    json_decref(l);
    gw_fixture_stop(&f);
}

static void
test_idempotent_retry(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char act[32], point[32], id[32], tok[128], out[4096];
    gw_make_activity(&f, (int64_t) time(NULL) + 86400, 3, act, point);
    gw_register_self(&f, "志愿者丁", "13900000012", id, tok);

    // A sign-up with a key, then cancelled.
    const char *join[] = {"--idempotency-key", "join-once-1", "activities", "join", act, NULL};
    json_t *r = gw_cli_json(&f, tok, join);
    assert_true(json_is_true(json_object_get(r, "registered")));
    char signup[32];
    snprintf(signup, sizeof signup, "%s", gw_jstr(r, "signup.id"));
    json_decref(r);
    const char *cancel[] = {"signups", "cancel", signup, NULL};
    assert_int_equal(gw_cli(&f, tok, out, sizeof out, cancel), 0);

    // The retry with the same key is answered as the first attempt was and
    // signs up nobody: the sign-up stays cancelled, there is still one.
    r = gw_cli_json(&f, tok, join);
    assert_string_equal(gw_jstr(r, "signup.id"), signup);
    assert_true(json_is_true(json_object_get(r, "registered")));
    json_decref(r);
    const char *get[] = {"signups", "get", signup, NULL};
    r = gw_cli_json(&f, tok, get);
    assert_string_equal(gw_jstr(r, "signup.state"), "SIGNUP_STATE_CANCELLED");
    json_decref(r);
    const char *list[] = {"signups", "list", "--activity-id", act, NULL};
    r = gw_cli_json(&f, f.admin, list);
    json_t *sus = json_object_get(r, "signups");
    size_t registered = 0;
    for (size_t i = 0; i < json_array_size(sus); i++)
        registered += strcmp(gw_jstr(json_array_get(sus, i), "state"), "SIGNUP_STATE_REGISTERED") == 0;
    assert_int_equal(registered, 0);
    json_decref(r);

    // Without that key the same request is a new sign-up: the effect the
    // key kept from happening twice.
    const char *join_new[] = {"activities", "join", act, NULL};
    r = gw_cli_json(&f, tok, join_new);
    assert_true(json_is_true(json_object_get(r, "registered")));
    json_decref(r);
    r = gw_cli_json(&f, f.admin, list);
    sus = json_object_get(r, "signups");
    registered = 0;
    for (size_t i = 0; i < json_array_size(sus); i++)
        registered += strcmp(gw_jstr(json_array_get(sus, i), "state"), "SIGNUP_STATE_REGISTERED") == 0;
    assert_int_equal(registered, 1);
    json_decref(r);

    // The same key with a different request is refused, naming the key.
    const char *other[] = {"--idempotency-key", "join-once-1", "activities", "join", act, "--volunteer", "999",
                           NULL};
    char err[2048];
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, other), 1);
    gw_fixture_stop(&f);
}

static void
test_report_at_point(void **state)
{
    gw_fixture f;
    gw_fixture_start(&f, NULL);
    char act[32], point[32], out[4096], err[2048];
    gw_make_activity(&f, (int64_t) time(NULL) + 86400, 1, act, point);
    const char *getp[] = {"points", "get", point, NULL};
    json_t *p = gw_cli_json(&f, f.admin, getp);
    double area = gw_jnum(p, "point.areaId"), grid = gw_jnum(p, "point.gridId");
    json_decref(p);
    assert_true(area > 0 && grid > 0);

    // civic problems report --point-id through the gateway: area and grid
    // come from the point (none given here).
    const char *rep[] = {"problems", "report", "--point-id", point, "--category", "small-ads", "--description",
                         "电线杆小广告（测试）", "--source", "patrol", NULL};
    json_t *r = gw_cli_json(&f, f.admin, rep);
    assert_true(gw_jnum(r, "problem.areaId") == area);
    assert_true(gw_jnum(r, "problem.gridId") == grid);
    assert_false(json_is_true(json_object_get(r, "duplicate")));
    char pid[32];
    snprintf(pid, sizeof pid, "%s", gw_jstr(r, "problem.id"));
    json_decref(r);
    // The same report again is the open problem, passed through as duplicate.
    r = gw_cli_json(&f, f.admin, rep);
    assert_string_equal(gw_jstr(r, "problem.id"), pid);
    assert_true(json_is_true(json_object_get(r, "duplicate")));
    json_decref(r);

    // A point that does not exist, and no point: errors naming them.
    const char *none[] = {"problems", "report", "--point-id", "99999", "--category", "small-ads", "--description",
                          "x", "--source", "patrol", NULL};
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, none), 1);
    assert_non_null(strstr(err, "NOT_FOUND"));
    const char *nopoint[] = {"problems", "report-at", "0", "--category", "small-ads", "--description", "x",
                             "--source", "patrol", NULL};
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, nopoint), 1);
    assert_non_null(strstr(err, "INVALID_ARGUMENT"));
    assert_non_null(strstr(err, "report.point_id"));
    // An archived point takes no reports.
    const char *archive[] = {"points", "archive", point, NULL};
    assert_int_equal(gw_cli(&f, f.admin, out, sizeof out, archive), 0);
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, rep), 1);
    assert_non_null(strstr(err, "FAILED_PRECONDITION"));
    assert_non_null(strstr(err, "is not active"));
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signup_refusals),
        cmocka_unit_test(test_idempotent_retry),
        cmocka_unit_test(test_report_at_point),
    };
    return cmocka_run_group_tests_name("civic.gateway.rules", tests, NULL, NULL);
}
