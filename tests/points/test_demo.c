// civic.points.demo: what scripts/run.sh shows. civic-points started with
// --demo loads the demo campaign through its public API into the empty
// store after it reports SERVING; once the load is complete (the service
// logs demo.loaded; polled, with a generous bound), the CLI finds the eight
// areas in order, 高良涧街道 under 洪泽区, 城东花园 and 新东花园 in
// 淮安经济技术开发区, 12 farmers markets in 清江浦区 and 5 in 淮阴区, the 8
// emergency squads of 淮安生态文旅区, and patrols in today's coverage. A
// restart does not load it twice.
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "putil.h"

static th_server srv;

static int
setup(void **state)
{
    th_server_start(&srv, CIVIC_POINTS_BIN, (const char *const[]){"--demo", NULL});
    return 0;
}

static int
teardown(void **state)
{
    th_server_cleanup(&srv);
    return 0;
}

static int
after_each(void **state)
{
    pu_free_all();
    return 0;
}

// log_has tells whether the server's log holds s.
static int
log_has(const char *s)
{
    FILE *f = fopen(srv.log, "r");
    if (f == NULL)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, s) != NULL;
    fclose(f);
    return found;
}

// wait_loaded waits (up to 20 s) for the load to finish: its log line, and
// an event log that no longer grows.
static size_t
wait_loaded(void)
{
    int64_t until = civic_now_ms() + 20000;
    while (!log_has("demo.loaded")) {
        if (civic_now_ms() > until)
            fail_msg("the demo did not finish loading in 20 s");
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
    if (!log_has("failed=0"))
        fail_msg("the demo load had failed calls; see %s", srv.log);
    civic_channel *ch = th_channel(&srv);
    size_t n = pu_event_count(ch);
    struct timespec d = {0, 200 * 1000000};
    nanosleep(&d, NULL);
    assert_int_equal(pu_event_count(ch), n);
    civic_channel_close(ch);
    return n;
}

static const char *const area_names[8] = {
    "清江浦区", "洪泽区", "淮阴区", "淮安区", "苏淮高新区", "淮安工业园区", "淮安生态文旅区", "淮安经济技术开发区",
};

static const char *
area_id(json_t *areas, const char *name)
{
    for (size_t i = 0; i < json_array_size(areas); i++)
        if (strcmp(pu_js(json_array_get(areas, i), "name"), name) == 0)
            return pu_js(json_array_get(areas, i), "id");
    fail_msg("no area %s", name);
    return NULL;
}

// csv_rows counts the data rows of `-o csv … --all`.
static size_t
csv_rows(const char *const *argv, const char *col, const char *want)
{
    char *out, *err;
    int rc = pu_cli_v(&srv, &out, &err, argv);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    char ***rows;
    size_t *nf;
    size_t n = pu_csv(out, &rows, &nf);
    assert_true(n >= 1);
    int c = pu_csv_col(rows[0], nf[0], col);
    assert_true(c >= 0);
    for (size_t r = 1; r < n; r++)
        assert_string_equal(rows[r][c], want);
    return n - 1;
}

static void
test_demo(void **state)
{
    size_t events = wait_loaded();
    assert_true(events > 300);

    // The eight areas, in order, four districts then four platforms.
    json_t *r = PU_JSON(&srv, "areas", "list");
    json_t *areas = json_object_get(r, "areas");
    assert_int_equal(json_array_size(areas), 8);
    for (size_t i = 0; i < 8; i++) {
        json_t *a = json_array_get(areas, i);
        assert_string_equal(pu_js(a, "name"), area_names[i]);
        assert_string_equal(pu_js(a, "kind"), i < 4 ? "AREA_KIND_DISTRICT" : "AREA_KIND_PLATFORM");
    }
    const char *qjp = area_id(areas, "清江浦区"), *hz = area_id(areas, "洪泽区");
    const char *hy = area_id(areas, "淮阴区"), *eco = area_id(areas, "淮安生态文旅区");
    const char *dev = area_id(areas, "淮安经济技术开发区");

    // 高良涧街道 is a town of 洪泽区.
    r = PU_JSON(&srv, "areas", "list", "--level", "town", "--parent-id", hz);
    json_t *towns = json_object_get(r, "areas");
    int found = 0;
    for (size_t i = 0; i < json_array_size(towns); i++) {
        json_t *t = json_array_get(towns, i);
        if (strcmp(pu_js(t, "name"), "高良涧街道") == 0) {
            found++;
            assert_string_equal(pu_js(t, "areaId"), hz);
            assert_string_equal(pu_js(t, "parentId"), hz);
        }
    }
    assert_int_equal(found, 1);

    // 城东花园 and 新东花园: residential compounds in the Development Zone.
    const char *compounds[] = {"城东花园", "新东花园"};
    for (int i = 0; i < 2; i++) {
        r = PU_JSON(&srv, "points", "list", "--name-prefix", compounds[i]);
        json_t *pts = json_object_get(r, "points");
        assert_int_equal(json_array_size(pts), 1);
        json_t *p = json_array_get(pts, 0);
        assert_string_equal(pu_js(p, "name"), compounds[i]);
        assert_string_equal(pu_js(p, "areaId"), dev);
        assert_string_equal(pu_js(p, "kind"), "POINT_KIND_RESIDENTIAL_COMPOUND");
        // Its grid is a grid of that area.
        json_t *g = PU_JSON(&srv, "areas", "get", pu_js(p, "gridId"));
        assert_string_equal(pu_js(json_object_get(g, "area"), "level"), "AREA_LEVEL_GRID");
        assert_string_equal(pu_js(json_object_get(g, "area"), "areaId"), dev);
    }

    // 12 farmers markets in 清江浦区, 5 in 淮阴区, as the report has them.
    assert_int_equal(csv_rows((const char *const[]){"-o", "csv", "points", "list", "--area-id", qjp, "--kind",
                                                    "farmers-market", "--all", NULL},
                              "kind", "FARMERS_MARKET"),
                     12);
    assert_int_equal(csv_rows((const char *const[]){"-o", "csv", "points", "list", "--area-id", hy, "--kind",
                                                    "farmers-market", "--all", NULL},
                              "area_id", hy),
                     5);
    // 8 emergency squads in 淮安生态文旅区 (one elsewhere).
    assert_int_equal(csv_rows((const char *const[]){"-o", "csv", "units", "list", "--area-id", eco, "--kind",
                                                    "emergency-squad", "--all", NULL},
                              "kind", "EMERGENCY_SQUAD"),
                     8);
    assert_int_equal(csv_rows((const char *const[]){"-o", "csv", "units", "list", "--area-id", qjp, "--kind",
                                                    "emergency-squad", "--all", NULL},
                              "area_id", qjp),
                     1);

    // Today's coverage: patrolled points, never more than the points. The
    // demo's check-ins today are before now: in the first minutes after
    // local midnight there may be none yet, so then yesterday's are checked.
    int64_t now = pu_now_ms();
    int32_t today = pu_day(now);
    int early = now - rt_day_start_ms(today, PU_TZ) < 15 * 60000;
    r = early ? PU_JSON(&srv, "coverage", "summary", "--day", pu_str("%d", rt_day_add(today, -1)))
              : PU_JSON(&srv, "coverage", "summary");
    if (!early)
        assert_int_equal(pu_ji(r, "localDay"), today);
    json_t *cov = json_object_get(r, "areas");
    assert_int_equal(json_array_size(cov), 8);
    long long patrolled = 0, points = 0;
    for (size_t i = 0; i < 8; i++) {
        json_t *a = json_array_get(cov, i);
        assert_string_equal(pu_js(a, "name"), area_names[i]);
        assert_true(pu_ji(a, "patrolled") <= pu_ji(a, "points"));
        assert_true(pu_ji(a, "points") > 0);
        patrolled += pu_ji(a, "patrolled");
        points += pu_ji(a, "points");
    }
    assert_true(patrolled > 0);
    assert_true(points >= 80);
    // The table output (what run.sh shows) names the areas too.
    char *out, *err;
    assert_int_equal(PU_CLI(&srv, &out, &err, "coverage", "summary"), 0);
    assert_non_null(strstr(out, "淮安经济技术开发区"));

    // Restarted on the same data, it loads nothing again.
    assert_int_equal(th_server_term(&srv), 0);
    th_server_restart(&srv);
    struct timespec d = {0, 500 * 1000000};
    nanosleep(&d, NULL);
    civic_channel *ch = th_channel(&srv);
    assert_int_equal(pu_event_count(ch), events);
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_demo, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.demo", tests, setup, teardown);
}
