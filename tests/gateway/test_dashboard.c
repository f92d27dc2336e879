// civic.gateway.dashboard: the dashboard of the demo campaign against each
// service's own answer, area by area — overdue, closed today, open, works
// percent done and count from the tasks summary, points and patrolled from
// the coverage summary, hours and active volunteers from the volunteers
// summary — with the figures that matter not all zero; the same for a past
// day (every part asked for that day); a bad or future day refused naming
// local_day.
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_fixture.h"

// area_of finds the entry of areas (a JSON array) with areaId id.
static json_t *
area_of(json_t *areas, double id)
{
    for (size_t i = 0; i < json_array_size(areas); i++)
        if (gw_jnum(json_array_get(areas, i), "areaId") == id)
            return json_array_get(areas, i);
    return NULL;
}

typedef struct sums {
    double overdue, closed, open, works_pct, hours, active, patrolled;
} sums;

// compare checks the dashboard d against the services' summaries for the
// same day, area by area, and adds up the figures.
static void
compare(json_t *d, json_t *ts, json_t *cov, json_t *vs, sums *s)
{
    json_t *areas = json_object_get(d, "areas");
    assert_true(json_array_size(areas) >= 8);
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < json_array_size(areas); i++) {
        json_t *a = json_array_get(areas, i);
        double id = gw_jnum(a, "areaId");
        json_t *t = area_of(json_object_get(ts, "areas"), id);
        json_t *c = area_of(json_object_get(cov, "areas"), id);
        json_t *v = area_of(json_object_get(vs, "areas"), id);
        // An area the tasks or volunteers summary does not list has nothing there.
        assert_true(gw_jnum(a, "problemsOpen") == (t ? gw_jnum(t, "open") : 0));
        assert_true(gw_jnum(a, "problemsOverdue") == (t ? gw_jnum(t, "overdue") : 0));
        assert_true(gw_jnum(a, "problemsClosedToday") == (t ? gw_jnum(t, "closedToday") : 0));
        assert_true(fabs(gw_jnum(a, "worksPercentDone") - (t ? gw_jnum(t, "worksPercentDone") : 0)) < 1e-9);
        assert_true(gw_jnum(a, "works") == (t ? gw_jnum(t, "works") : 0));
        assert_non_null(c);
        assert_true(gw_jnum(a, "points") == gw_jnum(c, "points"));
        assert_true(gw_jnum(a, "patrolledToday") == gw_jnum(c, "patrolled"));
        double minutes = v ? gw_jnum(v, "minutesThisWeek") : 0;
        assert_true(fabs(gw_jnum(a, "volunteerHoursThisWeek") - minutes / 60.0) < 1e-9);
        assert_true(gw_jnum(a, "volunteersActive") == (v ? gw_jnum(v, "volunteersActive") : 0));
        s->overdue += gw_jnum(a, "problemsOverdue");
        s->closed += gw_jnum(a, "problemsClosedToday");
        s->open += gw_jnum(a, "problemsOpen");
        s->works_pct += gw_jnum(a, "worksPercentDone");
        s->hours += gw_jnum(a, "volunteerHoursThisWeek");
        s->active += gw_jnum(a, "volunteersActive");
        s->patrolled += gw_jnum(a, "patrolledToday");
    }
    json_t *parts = json_object_get(d, "parts");
    assert_int_equal(json_array_size(parts), 4);
    for (size_t i = 0; i < json_array_size(parts); i++)
        assert_true(json_is_true(json_object_get(json_array_get(parts, i), "available")));
}

static void
test_demo_dashboard(void **state)
{
    gw_fixture f;
    const char *demo[] = {"--demo", NULL};
    gw_fixture_start_all(&f, demo, NULL);
    // Each back end loads its demo once serving; service.ready follows.
    gw_wait_log(&f.points, "service.ready", 120000);
    gw_wait_log(&f.tasks, "service.ready", 120000);
    gw_wait_log(&f.volunteers, "service.ready", 120000);
    gw_wait_log(&f.tasks, "failed=0", 1000); // every demo call, the late deadlines too

    const char *dash[] = {"dashboard", NULL};
    json_t *d = gw_cli_json(&f, f.admin, dash);
    char day[16];
    snprintf(day, sizeof day, "%.0f", gw_jnum(d, "localDay"));
    const char *tsum[] = {"problems", "summary", NULL};
    const char *csum[] = {"coverage", "summary", NULL};
    const char *vsum[] = {"volunteers", "summary", NULL};
    json_t *ts = gw_cli_json(&f, f.admin, tsum), *cov = gw_cli_json(&f, f.admin, csum),
           *vs = gw_cli_json(&f, f.admin, vsum);
    assert_true(gw_jnum(ts, "day") == gw_jnum(d, "localDay"));
    sums s;
    compare(d, ts, cov, vs, &s);
    print_message("demo today %s: overdue %.0f, closed %.0f, open %.0f, hours %.1f, active %.0f\n", day,
                  s.overdue, s.closed, s.open, s.hours, s.active);
    assert_true(s.overdue > 0);
    assert_true(s.closed > 0);
    assert_true(s.open > 0);
    assert_true(s.works_pct > 0);
    assert_true(s.hours > 0);
    assert_true(s.active > 0);
    assert_true(s.patrolled > 0);
    json_decref(d), json_decref(ts), json_decref(cov), json_decref(vs);

    // Yesterday: every part for that day. The demo's problems were all
    // reported today, so none was open or closed yesterday; the patrols
    // were (the points demo covers three days).
    int y = atoi(day);
    int yesterday = y % 100 > 1 ? y - 1 : 0;
    if (yesterday != 0) { // the first of a month: skip rather than compute
        char ys[16];
        snprintf(ys, sizeof ys, "%d", yesterday);
        const char *ydash[] = {"dashboard", "--day", ys, NULL};
        const char *yt[] = {"problems", "summary", "--local-day", ys, NULL};
        const char *yc[] = {"coverage", "summary", "--local-day", ys, NULL};
        const char *yv[] = {"volunteers", "summary", "--local-day", ys, NULL};
        d = gw_cli_json(&f, f.admin, ydash);
        assert_true(gw_jnum(d, "localDay") == yesterday);
        ts = gw_cli_json(&f, f.admin, yt), cov = gw_cli_json(&f, f.admin, yc), vs = gw_cli_json(&f, f.admin, yv);
        assert_true(gw_jnum(ts, "day") == yesterday);
        compare(d, ts, cov, vs, &s);
        assert_true(s.open == 0 && s.overdue == 0 && s.closed == 0);
        assert_true(s.patrolled > 0);
        json_decref(d), json_decref(ts), json_decref(cov), json_decref(vs);
    }

    // A day that is no date, or after today: INVALID_ARGUMENT naming it, at
    // the gateway and at the tasks service alike.
    char out[8192], err[2048], tomorrow[16]; // tomorrow: a later day
    snprintf(tomorrow, sizeof tomorrow, "%d", (y / 10000 + 1) * 10000 + 101); // surely after today
    const char *bad[] = {"dashboard", "--day", "20261340", NULL};
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, bad), 1);
    assert_non_null(strstr(err, "INVALID_ARGUMENT"));
    assert_non_null(strstr(err, "local_day"));
    const char *future[] = {"dashboard", "--day", tomorrow, NULL};
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, future), 1);
    assert_non_null(strstr(err, "after today"));
    const char *tfuture[] = {"problems", "summary", "--local-day", tomorrow, NULL};
    assert_int_equal(gw_cli_err(&f, f.admin, out, sizeof out, err, sizeof err, tfuture), 1);
    assert_non_null(strstr(err, "local_day"));
    gw_fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_dashboard),
    };
    return cmocka_run_group_tests_name("civic.gateway.dashboard", tests, NULL, NULL);
}
