// civic.points.cli: every `civic` command of the points service, run as the
// real CLI binary against a real civic-points, its JSON (-o json, parsed
// with jansson) and CSV output checked: areas and grids, units, points
// (create, get, update, archive, list by area, grid, kind and prefix),
// patrols (record, list by point and by day), coverage get and summary, and
// events; --as for masked phones; errors as exit status 1 with the status
// name and the field on stderr.
#include <string.h>

#include "putil.h"

static th_server srv;

static int
setup(void **state)
{
    th_server_start(&srv, CIVIC_POINTS_BIN, (const char *const[]){"--unsafe-no-sync", NULL});
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

// id_of returns obj[key].id as text (kept).
static const char *
id_of(const json_t *resp, const char *key)
{
    json_t *o = json_object_get(resp, key);
    assert_non_null(o);
    const char *id = pu_js(o, "id");
    assert_true(id[0] != '\0');
    return pu_str("%s", id);
}

static size_t
arr_len(const json_t *resp, const char *key)
{
    json_t *a = json_object_get(resp, key);
    return a == NULL ? 0 : json_array_size(a); // empty lists are left out
}

static json_t *
arr_at(const json_t *resp, const char *key, size_t i)
{
    json_t *a = json_object_get(resp, key);
    assert_non_null(a);
    assert_true(i < json_array_size(a));
    return json_array_get(a, i);
}

static void
test_every_command(void **state)
{
    // Areas: the four levels, with short enum names and the --parent alias.
    json_t *r = PU_JSON(&srv, "areas", "create", "--name", "命令行测试区", "--kind", "district");
    const char *area = id_of(r, "area");
    assert_string_equal(pu_js(json_object_get(r, "area"), "level"), "AREA_LEVEL_AREA");
    assert_string_equal(pu_js(json_object_get(r, "area"), "kind"), "AREA_KIND_DISTRICT");
    assert_string_equal(pu_js(json_object_get(r, "area"), "areaId"), area);
    r = PU_JSON(&srv, "areas", "create", "--level", "town", "--parent", area, "--name", "命令行街道");
    const char *town = id_of(r, "area");
    r = PU_JSON(&srv, "areas", "create", "--level", "COMMUNITY", "--parent-id", town, "--name", "命令行社区");
    const char *comm = id_of(r, "area");
    assert_string_equal(pu_js(json_object_get(r, "area"), "areaId"), area);
    const char *g1 = id_of(PU_JSON(&srv, "grids", "create", "--parent-id", comm, "--name", "命令行第1网格"), "area");
    const char *g2 = id_of(PU_JSON(&srv, "grids", "create", "--parent-id", comm, "--name", "命令行第2网格"), "area");

    r = PU_JSON(&srv, "areas", "get", g1);
    assert_string_equal(pu_js(json_object_get(r, "area"), "name"), "命令行第1网格");
    assert_string_equal(pu_js(json_object_get(r, "area"), "level"), "AREA_LEVEL_GRID");
    assert_string_equal(pu_js(json_object_get(r, "area"), "parentId"), comm);

    // areas update: the flags given become the mask; the kind stays.
    r = PU_JSON(&srv, "areas", "update", area, "--name", "命令行测试区（改）");
    assert_string_equal(pu_js(json_object_get(r, "area"), "name"), "命令行测试区（改）");
    assert_string_equal(pu_js(json_object_get(r, "area"), "kind"), "AREA_KIND_DISTRICT");
    r = PU_JSON(&srv, "areas", "update", area, "--demo", "true");
    assert_string_equal(pu_js(json_object_get(r, "area"), "name"), "命令行测试区（改）");
    assert_true(json_is_true(json_object_get(json_object_get(r, "area"), "demo")));

    r = PU_JSON(&srv, "areas", "list");
    int seen = 0;
    for (size_t i = 0; i < arr_len(r, "areas"); i++) {
        assert_string_equal(pu_js(arr_at(r, "areas", i), "level"), "AREA_LEVEL_AREA");
        seen += strcmp(pu_js(arr_at(r, "areas", i), "id"), area) == 0;
    }
    assert_int_equal(seen, 1);
    r = PU_JSON(&srv, "areas", "list", "--level", "town", "--parent-id", area);
    assert_int_equal(arr_len(r, "areas"), 1);
    assert_string_equal(pu_js(arr_at(r, "areas", 0), "id"), town);
    r = PU_JSON(&srv, "grids", "list", "--parent-id", comm);
    assert_int_equal(arr_len(r, "areas"), 2);
    assert_string_equal(pu_js(arr_at(r, "areas", 0), "id"), g1);
    assert_string_equal(pu_js(arr_at(r, "areas", 1), "id"), g2);

    // Units.
    r = PU_JSON(&srv, "units", "create", "--name", "命令行应急小队", "--kind", "emergency-squad",
                "--area", area, "--contact-name", "李四", "--phone", "13912345678");
    const char *unit = id_of(r, "unit");
    assert_string_equal(pu_js(json_object_get(r, "unit"), "contactPhone"), "13912345678");
    PU_JSON(&srv, "units", "create", "--name", "命令行城管局", "--kind", "department", "--area-id", area);
    r = PU_JSON(&srv, "units", "get", unit);
    assert_string_equal(pu_js(json_object_get(r, "unit"), "kind"), "UNIT_KIND_EMERGENCY_SQUAD");
    r = PU_JSON(&srv, "units", "update", unit, "--contact-name", "王五");
    assert_string_equal(pu_js(json_object_get(r, "unit"), "contactName"), "王五");
    assert_string_equal(pu_js(json_object_get(r, "unit"), "name"), "命令行应急小队");
    assert_string_equal(pu_js(json_object_get(r, "unit"), "contactPhone"), "13912345678");
    r = PU_JSON(&srv, "units", "list", "--area-id", area);
    assert_int_equal(arr_len(r, "units"), 2);
    r = PU_JSON(&srv, "units", "list", "--area-id", area, "--kind", "emergency-squad");
    assert_int_equal(arr_len(r, "units"), 1);
    assert_string_equal(pu_js(arr_at(r, "units", 0), "id"), unit);
    // Masked for a viewer, whole for an admin.
    r = PU_JSON(&srv, "--as", "bob:viewer", "units", "get", unit);
    assert_string_equal(pu_js(json_object_get(r, "unit"), "contactPhone"), "139****5678");

    // Points.
    r = PU_JSON(&srv, "points", "create", "--name", "命令行菜场", "--kind", "farmers-market",
                "--address", "淮海路 1 号", "--lat", "33.59", "--lng", "119.03", "--grid", g1,
                "--responsible[0].role", "manager", "--responsible[0].name", "张三",
                "--responsible[0].phone", "13812345678", "--responsible[1].role", "cleaner",
                "--responsible[1].name", "赵六", "--responsible[1].phone", "+8613700001111");
    json_t *p = json_object_get(r, "point");
    const char *market = id_of(r, "point");
    assert_string_equal(pu_js(p, "areaId"), area);
    assert_string_equal(pu_js(p, "gridId"), g1);
    assert_string_equal(pu_js(p, "state"), "POINT_STATE_ACTIVE");
    assert_true(json_real_value(json_object_get(json_object_get(p, "location"), "lat")) == 33.59);
    assert_int_equal(json_array_size(json_object_get(p, "responsible")), 2);
    assert_string_equal(pu_js(json_array_get(json_object_get(p, "responsible"), 1), "phone"), "13700001111");
    const char *alley = id_of(PU_JSON(&srv, "points", "create", "--name", "命令行小巷", "--kind", "back-street",
                                      "--lat", "33.591", "--lng", "119.031", "--grid-id", g2),
                              "point");
    const char *stair = id_of(PU_JSON(&srv, "points", "create", "--name", "命令行楼道", "--kind", "stairwell",
                                      "--lat", "33.592", "--lng", "119.032", "--grid-id", g2),
                              "point");

    r = PU_JSON(&srv, "points", "get", market);
    assert_string_equal(pu_js(json_object_get(r, "point"), "name"), "命令行菜场");
    assert_string_equal(pu_js(json_object_get(r, "point"), "address"), "淮海路 1 号");
    r = PU_JSON(&srv, "--as", "ann:inspector", "points", "get", market);
    json_t *resp = json_object_get(json_object_get(r, "point"), "responsible");
    assert_string_equal(pu_js(json_array_get(resp, 0), "phone"), "138****5678");
    assert_string_equal(pu_js(json_array_get(resp, 1), "phone"), "137****1111");
    r = PU_JSON(&srv, "--as", "bob:viewer", "points", "list", "--grid-id", g1);
    resp = json_object_get(arr_at(r, "points", 0), "responsible");
    assert_string_equal(pu_js(json_array_get(resp, 0), "phone"), "138****5678");
    r = PU_JSON(&srv, "--as", "root:admin", "points", "list", "--grid-id", g1);
    resp = json_object_get(arr_at(r, "points", 0), "responsible");
    assert_string_equal(pu_js(json_array_get(resp, 0), "phone"), "13812345678");

    // points update: only the flags given change; the lat/lng aliases make
    // the mask "location".
    r = PU_JSON(&srv, "points", "update", alley, "--name", "命令行小巷（改）", "--grid", g1);
    p = json_object_get(r, "point");
    assert_string_equal(pu_js(p, "name"), "命令行小巷（改）");
    assert_string_equal(pu_js(p, "gridId"), g1);
    assert_string_equal(pu_js(p, "kind"), "POINT_KIND_BACK_STREET");
    r = PU_JSON(&srv, "points", "update", alley, "--lat", "33.6", "--lng", "119.04");
    p = json_object_get(r, "point");
    assert_true(json_real_value(json_object_get(json_object_get(p, "location"), "lat")) == 33.6);
    assert_string_equal(pu_js(p, "name"), "命令行小巷（改）");

    // points list by area, grid, kind, prefix.
    r = PU_JSON(&srv, "points", "list", "--area-id", area);
    assert_int_equal(arr_len(r, "points"), 3);
    r = PU_JSON(&srv, "points", "list", "--grid-id", g1);
    assert_int_equal(arr_len(r, "points"), 2);
    assert_string_equal(pu_js(arr_at(r, "points", 0), "id"), market);
    assert_string_equal(pu_js(arr_at(r, "points", 1), "id"), alley);
    r = PU_JSON(&srv, "points", "list", "--area-id", area, "--kind", "stairwell");
    assert_int_equal(arr_len(r, "points"), 1);
    assert_string_equal(pu_js(arr_at(r, "points", 0), "id"), stair);
    r = PU_JSON(&srv, "points", "list", "--prefix", "命令行小");
    assert_int_equal(arr_len(r, "points"), 1);
    assert_string_equal(pu_js(arr_at(r, "points", 0), "id"), alley);
    r = PU_JSON(&srv, "points", "list", "--name-prefix", "命令行");
    assert_int_equal(arr_len(r, "points"), 3);

    // CSV: a header naming the columns, then one row per point.
    char *out, *err;
    assert_int_equal(PU_CLI(&srv, &out, &err, "-o", "csv", "points", "list", "--grid-id", g1), 0);
    char ***rows;
    size_t *nf;
    size_t n = pu_csv(out, &rows, &nf);
    assert_int_equal(n, 3);
    int cid = pu_csv_col(rows[0], nf[0], "id"), cname = pu_csv_col(rows[0], nf[0], "name");
    assert_true(cid >= 0 && cname >= 0);
    assert_string_equal(rows[1][cid], market);
    assert_string_equal(rows[1][cname], "命令行菜场");
    assert_string_equal(rows[2][cname], "命令行小巷（改）");
    // The default table output names the points too.
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "list", "--grid-id", g1), 0);
    assert_non_null(strstr(out, "命令行菜场"));
    assert_non_null(strstr(out, "NAME"));

    // Patrols: now with a location as an inspector, one yesterday (--time).
    int64_t now = pu_now_ms();
    int32_t today = pu_day(now), yesterday = rt_day_add(today, -1);
    r = PU_JSON(&srv, "--as", "ann:inspector", "patrols", "record", "--point", market, "--result",
                "problems-found", "--note", "门口杂物", "--lat", "33.5905", "--lng", "119.03");
    json_t *pa = json_object_get(r, "patrol");
    const char *p1 = id_of(r, "patrol");
    assert_string_equal(pu_js(pa, "patroller"), "ann");
    assert_string_equal(pu_js(pa, "result"), "PATROL_RESULT_PROBLEMS_FOUND");
    assert_int_equal(pu_ji(pa, "localDay"), today);
    double dist = json_real_value(json_object_get(pa, "distanceM"));
    assert_true(dist > 50 && dist < 62);
    char *ytime = pu_str("%lld", (long long) (rt_day_start_ms(yesterday, PU_TZ) / 1000 + 10 * 3600));
    r = PU_JSON(&srv, "patrols", "record", "--point-id", market, "--result", "fine", "--time", ytime);
    const char *p2 = id_of(r, "patrol");
    assert_int_equal(pu_ji(json_object_get(r, "patrol"), "localDay"), yesterday);
    PU_JSON(&srv, "patrols", "record", "--point-id", stair, "--result", "fine");

    r = PU_JSON(&srv, "patrols", "list", "--point", market);
    assert_int_equal(arr_len(r, "patrols"), 2);
    assert_string_equal(pu_js(arr_at(r, "patrols", 0), "id"), p1);
    assert_string_equal(pu_js(arr_at(r, "patrols", 1), "id"), p2);
    assert_string_equal(pu_js(arr_at(r, "patrols", 0), "note"), "门口杂物");
    r = PU_JSON(&srv, "patrols", "list", "--local-day", pu_str("%d", today));
    assert_int_equal(arr_len(r, "patrols"), 2);
    r = PU_JSON(&srv, "patrols", "list", "--day", pu_str("%d", yesterday), "--point-id", market);
    assert_int_equal(arr_len(r, "patrols"), 1);
    assert_string_equal(pu_js(arr_at(r, "patrols", 0), "id"), p2);

    // Coverage: today 2 of 3 patrolled; unpatrolled lists the alley.
    r = PU_JSON(&srv, "coverage", "get", "--area-id", area);
    assert_int_equal(pu_ji(r, "localDay"), today);
    assert_int_equal(pu_ji(r, "points"), 3);
    assert_int_equal(pu_ji(r, "patrolled"), 2);
    assert_int_equal(arr_len(r, "items"), 3);
    r = PU_JSON(&srv, "coverage", "get", "--area", area, "--filter", "unpatrolled");
    assert_int_equal(arr_len(r, "items"), 1);
    assert_string_equal(pu_js(arr_at(r, "items", 0), "pointId"), alley);
    r = PU_JSON(&srv, "coverage", "get", "--grid", g1, "--day", pu_str("%d", yesterday), "--filter", "patrolled");
    assert_int_equal(pu_ji(r, "points"), 2);
    assert_int_equal(pu_ji(r, "patrolled"), 1);
    assert_int_equal(arr_len(r, "items"), 1);
    assert_int_equal(pu_ji(arr_at(r, "items", 0), "patrols"), 1);
    r = PU_JSON(&srv, "coverage", "summary");
    assert_int_equal(pu_ji(r, "localDay"), today);
    seen = 0;
    for (size_t i = 0; i < arr_len(r, "areas"); i++) {
        json_t *a = arr_at(r, "areas", i);
        if (strcmp(pu_js(a, "areaId"), area) == 0) {
            seen++;
            assert_int_equal(pu_ji(a, "points"), 3);
            assert_int_equal(pu_ji(a, "patrolled"), 2);
        }
    }
    assert_int_equal(seen, 1);
    r = PU_JSON(&srv, "coverage", "summary", "--day", pu_str("%d", yesterday));
    assert_int_equal(pu_ji(r, "localDay"), yesterday);

    // Archive: out of the list and of coverage; twice is refused.
    r = PU_JSON(&srv, "points", "archive", stair);
    assert_string_equal(pu_js(json_object_get(r, "point"), "state"), "POINT_STATE_ARCHIVED");
    r = PU_JSON(&srv, "points", "list", "--area-id", area);
    assert_int_equal(arr_len(r, "points"), 2);
    r = PU_JSON(&srv, "points", "list", "--area-id", area, "--include-archived", "true");
    assert_int_equal(arr_len(r, "points"), 3);
    r = PU_JSON(&srv, "coverage", "get", "--area-id", area);
    assert_int_equal(pu_ji(r, "points"), 2);
    assert_int_equal(pu_ji(r, "patrolled"), 1);
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "archive", stair), 1);
    assert_non_null(strstr(err, "FAILED_PRECONDITION"));

    // Events: the last writes, in order, with their subjects.
    r = PU_JSON(&srv, "events", "list", "--page-size", "1000");
    size_t ne = arr_len(r, "events");
    assert_true(ne >= 18);
    const char *tail[] = {"patrol.recorded", "patrol.recorded", "patrol.recorded", "point.archived"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(pu_js(arr_at(r, "events", ne - 4 + i), "type"), tail[i]);
    assert_string_equal(pu_js(arr_at(r, "events", ne - 1), "subjectId"), stair);
    const char *last = pu_js(r, "lastSeq");
    r = PU_JSON(&srv, "events", "list", "--after", pu_str("%lld", strtoll(last, NULL, 10) - 2));
    assert_int_equal(arr_len(r, "events"), 2);
    assert_int_equal(PU_CLI(&srv, &out, &err, "--as", "bob:viewer", "events", "list"), 1);
    assert_non_null(strstr(err, "PERMISSION_DENIED"));
}

static void
test_errors(void **state)
{
    char *out, *err;
    // A failed call: exit 1, the status and the field on stderr.
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "get", "987654"), 1);
    assert_non_null(strstr(err, "NOT_FOUND"));
    json_t *r = PU_JSON(&srv, "areas", "create", "--name", "命令行错误测试区");
    const char *area = id_of(r, "area");
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "create", "--name", "x", "--kind", "key-area",
                            "--lat", "95", "--lng", "119", "--grid-id", area),
                     1);
    assert_non_null(strstr(err, "INVALID_ARGUMENT"));
    assert_non_null(strstr(err, "point.location.lat"));
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "create", "--name", "x", "--kind", "key-area",
                            "--lat", "33", "--lng", "119", "--grid-id", area),
                     1);
    assert_non_null(strstr(err, "point.grid_id")); // an area, not a grid
    // A usage error: exit 2, nothing sent.
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "create", "--kind", "spaceport"), 2);
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "frobnicate"), 2);
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "get"), 2);
    r = PU_JSON(&srv, "points", "list", "--name-prefix", "x");
    assert_int_equal(arr_len(r, "points"), 0);
    // health answers.
    assert_int_equal(PU_CLI(&srv, &out, &err, "health"), 0);
    assert_non_null(strstr(out, "SERVING"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_every_command, after_each),
        cmocka_unit_test_teardown(test_errors, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.cli", tests, setup, teardown);
}
