// civic.points.validation: invalid fields get INVALID_ARGUMENT (or
// NOT_FOUND for a missing reference) naming the field, through the C client
// and the CLI, and nothing is stored: lists, the event log and coverage are
// unchanged after every refused write.
#include <string.h>

#include "putil.h"

#define K(x) CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##x

static th_server srv;
static uint64_t area, grid, point;

static int
setup(void **state)
{
    th_server_start(&srv, CIVIC_POINTS_BIN, (const char *const[]){"--unsafe-no-sync", NULL});
    civic_channel *ch = th_channel(&srv);
    pu_hier(ch, "校验测试区", &area, &grid, 1);
    point = pu_point_new(ch, grid, "校验测试点", K(KEY_AREA), 33.5, 119.0, "13812345678");
    civic_channel_close(ch);
    pu_free_all();
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

// What must not change when a write is refused.
typedef struct snapshot {
    size_t points, events, patrols;
    char name[200];
    uint64_t grid;
} snapshot;

static void
snap(civic_channel *ch, snapshot *s)
{
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    f.include_archived = 1;
    pu_point **pts;
    s->points = pu_list_points(ch, &f, 1000, &pts);
    s->events = pu_event_count(ch);
    pu_patrol **ps;
    s->patrols = pu_list_patrols(ch, point, 0, &ps);
    Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    gp.id = point;
    Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
    snprintf(s->name, sizeof s->name, "%s", g->point->name);
    s->grid = g->point->grid_id;
}

static void
unchanged(civic_channel *ch, const snapshot *before)
{
    snapshot now;
    snap(ch, &now);
    assert_int_equal(now.points, before->points);
    assert_int_equal(now.events, before->events);
    assert_int_equal(now.patrols, before->patrols);
    assert_string_equal(now.name, before->name);
    assert_int_equal(now.grid, before->grid);
}

// A valid point to spoil one field of.
typedef struct good_point {
    Civic__Points__V1__Point p;
    Civic__Points__V1__LatLng loc;
    Civic__Points__V1__ResponsiblePerson r[2];
    Civic__Points__V1__ResponsiblePerson *rp[2];
} good_point;

static Civic__Points__V1__Point *
good(good_point *g)
{
    civic__points__v1__point__init(&g->p);
    civic__points__v1__lat_lng__init(&g->loc);
    g->loc.lat = 33.5;
    g->loc.lng = 119.0;
    g->p.name = "好点位";
    g->p.kind = K(ROAD_SECTION);
    g->p.location = &g->loc;
    g->p.grid_id = grid;
    for (int i = 0; i < 2; i++) {
        civic__points__v1__responsible_person__init(&g->r[i]);
        g->r[i].role = (Civic__Points__V1__ResponsibleRole) (i + 1);
        g->r[i].name = "某人";
        g->r[i].phone = "13812345678";
        g->rp[i] = &g->r[i];
    }
    g->p.responsible = g->rp;
    g->p.n_responsible = 2;
    return &g->p;
}

static void
create_refused(civic_channel *ch, const Civic__Points__V1__Point *p, int code, const char *field)
{
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    req.point = (Civic__Points__V1__Point *) (uintptr_t) p;
    civic_status st;
    pu_call_want(ch, "CreatePoint", &req, code, &st);
    if (code == CIVIC_INVALID_ARGUMENT && !pu_has_violation(&st, field))
        fail_msg("CreatePoint: violations do not name %s (%s; first: %s)", field, st.message,
                 st.n_violations ? st.violations[0].field : "none");
    if (code != CIVIC_INVALID_ARGUMENT && strstr(st.message, field) == NULL)
        fail_msg("CreatePoint: \"%s\" does not name %s", st.message, field);
}

static void
test_create_point_fields(void **state)
{
    civic_channel *ch = th_channel(&srv);
    snapshot before;
    snap(ch, &before);
    good_point g;

    good(&g)->location->lat = 90.5;
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.location.lat");
    good(&g)->location->lng = -181;
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.location.lng");
    good(&g)->location = NULL;
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.location");
    good(&g)->grid_id = 999999;
    create_refused(ch, &g.p, CIVIC_NOT_FOUND, "point.grid_id");
    good(&g)->grid_id = area; // a node, but not a grid
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.grid_id");
    good(&g)->grid_id = 0;
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.grid_id");
    good(&g);
    g.r[1].phone = "12345";
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.responsible[1].phone");
    good(&g);
    g.r[0].phone = "1381234567a";
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.responsible[0].phone");
    good(&g);
    g.r[1].role = g.r[0].role; // one person per role
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.responsible[1].role");
    // An enum value the .proto does not have, sent as a raw number.
    good(&g)->kind = (Civic__Points__V1__PointKind) 42;
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.kind");
    good(&g)->kind = 0;
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.kind");
    good(&g)->name = "";
    create_refused(ch, &g.p, CIVIC_INVALID_ARGUMENT, "point.name");
    Civic__Points__V1__CreatePointRequest empty = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    civic_status st;
    pu_call_want(ch, "CreatePoint", &empty, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "point"));
    unchanged(ch, &before);

    // The good point goes in (so the checks above refused for their field).
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    req.point = good(&g);
    pu_call(ch, "CreatePoint", &req);
    snapshot after;
    snap(ch, &after);
    assert_int_equal(after.points, before.points + 1);
    assert_int_equal(after.events, before.events + 1);
    civic_channel_close(ch);
}

static void
test_update_and_patrol_fields(void **state)
{
    civic_channel *ch = th_channel(&srv);
    snapshot before;
    snap(ch, &before);
    civic_status st;

    // UpdatePoint: an unknown path, a missing mask, a bad value under a
    // known path; none changes the point.
    Civic__Points__V1__UpdatePointRequest up = CIVIC__POINTS__V1__UPDATE_POINT_REQUEST__INIT;
    good_point g;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[2] = {"name", "colour"};
    m.paths = paths;
    m.n_paths = 2;
    up.point = good(&g);
    g.p.id = point;
    g.p.name = "改了名";
    up.update_mask = &m;
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "update_mask"));
    assert_non_null(strstr(st.violations[0].description, "colour"));
    up.update_mask = NULL;
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "update_mask"));
    up.update_mask = &m;
    paths[1] = "location";
    g.loc.lat = -91;
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "point.location.lat"));
    paths[1] = "grid_id";
    g.p.grid_id = 424242;
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_NOT_FOUND, &st);
    assert_non_null(strstr(st.message, "point.grid_id"));
    paths[1] = "responsible";
    g.r[0].phone = "0512-1234567";
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "point.responsible[0].phone"));
    g.p.id = 999999;
    m.n_paths = 1;
    pu_call_want(ch, "UpdatePoint", &up, CIVIC_NOT_FOUND, &st);

    // UpdateArea and UpdateUnit masks too.
    Civic__Points__V1__UpdateAreaRequest ua = CIVIC__POINTS__V1__UPDATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    char *apath = "parent_id";
    Google__Protobuf__FieldMask am = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    am.paths = &apath;
    am.n_paths = 1;
    a.id = area;
    ua.area = &a;
    ua.update_mask = &am;
    pu_call_want(ch, "UpdateArea", &ua, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "update_mask"));

    // RecordPatrol: patrol_time outside the window (8 days ago; 10 minutes
    // ahead), a bad location, a missing result, an unknown point.
    Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Civic__Points__V1__LatLng here = CIVIC__POINTS__V1__LAT_LNG__INIT;
    int64_t now = pu_now_ms();
    rp.point_id = point;
    rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    rp.patrol_time = &ts;
    ts.seconds = now / 1000 - 8 * 86400;
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "patrol_time"));
    ts.seconds = now / 1000 + 600;
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "patrol_time"));
    ts.seconds = now / 1000 - 60;
    ts.nanos = 2000000000; // not a valid Timestamp
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "patrol_time"));
    ts.nanos = 0;
    here.lat = 200;
    rp.location = &here;
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "location.lat"));
    rp.location = NULL;
    rp.result = (Civic__Points__V1__PatrolResult) 9;
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "result"));
    rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    rp.point_id = 777777;
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_NOT_FOUND, &st);
    assert_non_null(strstr(st.message, "point_id"));
    unchanged(ch, &before);

    // Just inside the window is fine: 6 days ago.
    rp.point_id = point;
    ts.seconds = now / 1000 - 6 * 86400;
    Civic__Points__V1__RecordPatrolResponse *ok = (void *) pu_call(ch, "RecordPatrol", &rp);
    assert_int_equal(ok->patrol->local_day, pu_day(ts.seconds * 1000));

    // Lists and coverage refuse bad fields too.
    Civic__Points__V1__ListPointsRequest lp = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    lp.kind = (Civic__Points__V1__PointKind) 77;
    pu_call_want(ch, "ListPoints", &lp, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "kind"));
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.area_id = area;
    gc.local_day = 20241341;
    pu_call_want(ch, "GetCoverage", &gc, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "local_day"));
    gc.local_day = 0;
    gc.grid_id = grid; // both
    pu_call_want(ch, "GetCoverage", &gc, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "area_id"));
    Civic__Points__V1__ListPatrolsRequest lq = CIVIC__POINTS__V1__LIST_PATROLS_REQUEST__INIT;
    pu_call_want(ch, "ListPatrols", &lq, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "point_id"));
    civic_channel_close(ch);
}

static void
test_areas_units_fields(void **state)
{
    civic_channel *ch = th_channel(&srv);
    size_t events = pu_event_count(ch);
    civic_status st;
    Civic__Points__V1__CreateAreaRequest ca = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    ca.area = &a;
    a.name = "坏节点";
    a.level = CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_GRID;
    a.parent_id = area; // a grid's parent is a community
    pu_call_want(ch, "CreateArea", &ca, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "area.parent_id"));
    a.parent_id = 0;
    pu_call_want(ch, "CreateArea", &ca, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "area.parent_id"));
    a.level = (Civic__Points__V1__AreaLevel) 12;
    pu_call_want(ch, "CreateArea", &ca, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "area.level"));
    a.level = CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
    a.parent_id = area;
    pu_call_want(ch, "CreateArea", &ca, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "area.parent_id"));
    a.parent_id = 0;
    a.name = "";
    pu_call_want(ch, "CreateArea", &ca, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "area.name"));

    Civic__Points__V1__CreateUnitRequest cu = CIVIC__POINTS__V1__CREATE_UNIT_REQUEST__INIT;
    Civic__Points__V1__Unit u = CIVIC__POINTS__V1__UNIT__INIT;
    cu.unit = &u;
    u.name = "坏单位";
    u.kind = CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_DEPARTMENT;
    u.area_id = area;
    u.contact_phone = "110";
    pu_call_want(ch, "CreateUnit", &cu, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "unit.contact_phone"));
    u.contact_phone = "";
    u.area_id = grid; // not an area
    pu_call_want(ch, "CreateUnit", &cu, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "unit.area_id"));
    u.area_id = 31337;
    pu_call_want(ch, "CreateUnit", &cu, CIVIC_NOT_FOUND, &st);
    assert_non_null(strstr(st.message, "unit.area_id"));
    u.area_id = area;
    u.kind = (Civic__Points__V1__UnitKind) 8;
    pu_call_want(ch, "CreateUnit", &cu, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "unit.kind"));
    assert_int_equal(pu_event_count(ch), events);
    Civic__Points__V1__ListUnitsRequest lu = CIVIC__POINTS__V1__LIST_UNITS_REQUEST__INIT;
    Civic__Points__V1__ListUnitsResponse *lr = (void *) pu_call(ch, "ListUnits", &lu);
    assert_int_equal(lr->n_units, 0);
    civic_channel_close(ch);
}

// The CLI shows the same: exit 1, the status and the field on stderr, and
// nothing stored.
static void
test_cli_fields(void **state)
{
    civic_channel *ch = th_channel(&srv);
    snapshot before;
    snap(ch, &before);
    const char *gs = pu_str("%llu", (unsigned long long) grid);
    const char *ps = pu_str("%llu", (unsigned long long) point);
    struct {
        const char *const *argv;
        const char *status, *field;
        int exit;
    } cases[] = {
        {(const char *const[]){"points", "create", "--name", "x", "--kind", "key-area", "--lat", "91",
                               "--lng", "119", "--grid-id", gs, NULL},
         "INVALID_ARGUMENT", "point.location.lat", 1},
        {(const char *const[]){"points", "create", "--name", "x", "--kind", "key-area", "--lat", "33",
                               "--lng", "119", "--grid-id", "99999", NULL},
         "NOT_FOUND", "point.grid_id", 1},
        {(const char *const[]){"points", "create", "--name", "x", "--kind", "key-area", "--lat", "33",
                               "--lng", "119", "--grid-id", gs, "--responsible[0].role", "manager",
                               "--responsible[0].name", "n", "--responsible[0].phone", "123", NULL},
         "INVALID_ARGUMENT", "point.responsible[0].phone", 1},
        // An unknown kind never leaves the CLI: a usage error naming the flag.
        {(const char *const[]){"points", "create", "--name", "x", "--kind", "42", "--lat", "33",
                               "--lng", "119", "--grid-id", gs, NULL},
         "is not one of", "--kind", 2},
        // area_id follows the grid: the flag makes a mask path the server refuses.
        {(const char *const[]){"points", "update", ps, "--area-id", "1", NULL},
         "INVALID_ARGUMENT", "update_mask", 1},
        {(const char *const[]){"patrols", "record", "--point-id", ps, "--result", "fine", "--time",
                               "2001-01-01T00:00:00Z", NULL},
         "INVALID_ARGUMENT", "patrol_time", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out, *err;
        int rc = pu_cli_v(&srv, &out, &err, cases[i].argv);
        if (rc != cases[i].exit || strstr(err, cases[i].status) == NULL || strstr(err, cases[i].field) == NULL)
            fail_msg("case %zu: exit %d, stderr %s; want %d, %s naming %s", i, rc, err,
                     cases[i].exit, cases[i].status, cases[i].field);
    }
    unchanged(ch, &before);
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_create_point_fields, after_each),
        cmocka_unit_test_teardown(test_update_and_patrol_fields, after_each),
        cmocka_unit_test_teardown(test_areas_units_fields, after_each),
        cmocka_unit_test_teardown(test_cli_fields, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.validation", tests, setup, teardown);
}
