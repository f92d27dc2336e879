// civic.points.api: every PointsService method through the C client against
// a real civic-points: areas (all four levels), units, points (create, get,
// update with a mask, archive, list by area, grid, kind and name prefix),
// patrols (record, list by point and by day), coverage and its summary, and
// the event log; and what each role sees (phones masked for all but admins,
// a patrol's location only for admins and the patroller).
#include <math.h>
#include <string.h>

#include "putil.h"

#define L(x) CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_##x
#define K(x) CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##x

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

static Google__Protobuf__FieldMask *
mask1(Google__Protobuf__FieldMask *m, char **path)
{
    google__protobuf__field_mask__init(m);
    m->paths = path;
    m->n_paths = 1;
    return m;
}

static void
test_areas_and_units(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area = pu_area_new(ch, L(AREA), 0, "接口测试区");
    uint64_t town = pu_area_new(ch, L(TOWN), area, "接口测试街道");
    uint64_t comm = pu_area_new(ch, L(COMMUNITY), town, "接口测试社区");
    uint64_t g1 = pu_area_new(ch, L(GRID), comm, "接口测试第1网格");
    uint64_t g2 = pu_area_new(ch, L(GRID), comm, "接口测试第2网格");

    // GetArea: what was stored, with the server's area_id and times.
    Civic__Points__V1__GetAreaRequest get = CIVIC__POINTS__V1__GET_AREA_REQUEST__INIT;
    get.id = g2;
    Civic__Points__V1__GetAreaResponse *ga = (void *) pu_call(ch, "GetArea", &get);
    assert_string_equal(ga->area->name, "接口测试第2网格");
    assert_int_equal(ga->area->level, L(GRID));
    assert_int_equal(ga->area->parent_id, comm);
    assert_int_equal(ga->area->area_id, area);
    assert_non_null(ga->area->create_time);
    get.id = 999999;
    civic_status st;
    pu_call_want(ch, "GetArea", &get, CIVIC_NOT_FOUND, &st);

    // UpdateArea changes only what the mask names.
    Civic__Points__V1__UpdateAreaRequest up = CIVIC__POINTS__V1__UPDATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    Google__Protobuf__FieldMask m;
    char *name_path = "name";
    a.id = area;
    a.name = "接口测试区（改）";
    a.kind = CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_PLATFORM; // not in the mask
    up.area = &a;
    up.update_mask = mask1(&m, &name_path);
    Civic__Points__V1__UpdateAreaResponse *ua = (void *) pu_call(ch, "UpdateArea", &up);
    assert_string_equal(ua->area->name, "接口测试区（改）");
    assert_int_equal(ua->area->kind, CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_DISTRICT);
    get.id = area;
    ga = (void *) pu_call(ch, "GetArea", &get);
    assert_string_equal(ga->area->name, "接口测试区（改）");
    assert_int_equal(ga->area->kind, CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_DISTRICT);

    // ListAreas: by parent, by level.
    Civic__Points__V1__ListAreasRequest la = CIVIC__POINTS__V1__LIST_AREAS_REQUEST__INIT;
    la.parent_id = comm;
    Civic__Points__V1__ListAreasResponse *lr = (void *) pu_call(ch, "ListAreas", &la);
    assert_int_equal(lr->n_areas, 2);
    assert_int_equal(lr->areas[0]->id, g1);
    assert_int_equal(lr->areas[1]->id, g2);
    la.parent_id = 0;
    la.level = L(TOWN);
    lr = (void *) pu_call(ch, "ListAreas", &la);
    int found = 0;
    for (size_t i = 0; i < lr->n_areas; i++) {
        assert_int_equal(lr->areas[i]->level, L(TOWN));
        found += lr->areas[i]->id == town;
    }
    assert_int_equal(found, 1);

    // Units: create, get, update with a mask, list by area and kind.
    Civic__Points__V1__CreateUnitRequest cu = CIVIC__POINTS__V1__CREATE_UNIT_REQUEST__INIT;
    Civic__Points__V1__Unit u = CIVIC__POINTS__V1__UNIT__INIT;
    u.name = "接口测试应急小队";
    u.kind = CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_EMERGENCY_SQUAD;
    u.area_id = area;
    u.contact_name = "李四";
    u.contact_phone = "+8613912345678";
    cu.unit = &u;
    Civic__Points__V1__CreateUnitResponse *cur = (void *) pu_call(ch, "CreateUnit", &cu);
    uint64_t unit = cur->unit->id;
    assert_string_equal(cur->unit->contact_phone, "13912345678"); // normalized
    u.name = "接口测试住建局";
    u.kind = CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_DEPARTMENT;
    uint64_t dept = ((Civic__Points__V1__CreateUnitResponse *) pu_call(ch, "CreateUnit", &cu))->unit->id;

    Civic__Points__V1__GetUnitRequest gu = CIVIC__POINTS__V1__GET_UNIT_REQUEST__INIT;
    gu.id = unit;
    Civic__Points__V1__GetUnitResponse *gur = (void *) pu_call(ch, "GetUnit", &gu);
    assert_string_equal(gur->unit->name, "接口测试应急小队");
    assert_int_equal(gur->unit->area_id, area);

    Civic__Points__V1__UpdateUnitRequest uu = CIVIC__POINTS__V1__UPDATE_UNIT_REQUEST__INIT;
    Civic__Points__V1__Unit u2 = CIVIC__POINTS__V1__UNIT__INIT;
    char *cn_path = "contact_name";
    u2.id = unit;
    u2.contact_name = "王五";
    u2.name = "not in the mask";
    uu.unit = &u2;
    uu.update_mask = mask1(&m, &cn_path);
    Civic__Points__V1__UpdateUnitResponse *uur = (void *) pu_call(ch, "UpdateUnit", &uu);
    assert_string_equal(uur->unit->contact_name, "王五");
    assert_string_equal(uur->unit->name, "接口测试应急小队");
    assert_string_equal(uur->unit->contact_phone, "13912345678");

    Civic__Points__V1__ListUnitsRequest lu = CIVIC__POINTS__V1__LIST_UNITS_REQUEST__INIT;
    lu.area_id = area;
    Civic__Points__V1__ListUnitsResponse *lur = (void *) pu_call(ch, "ListUnits", &lu);
    assert_int_equal(lur->n_units, 2);
    assert_int_equal(lur->units[0]->id, unit);
    assert_int_equal(lur->units[1]->id, dept);
    lu.kind = CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_DEPARTMENT;
    lur = (void *) pu_call(ch, "ListUnits", &lu);
    assert_int_equal(lur->n_units, 1);
    assert_int_equal(lur->units[0]->id, dept);
    civic_channel_close(ch);
}

static void
test_points_patrols_coverage(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grids[2], area2, grids2[1];
    pu_hier(ch, "点位测试区", &area, grids, 2);
    pu_hier(ch, "点位测试区二", &area2, grids2, 1);
    uint64_t market = pu_point_new(ch, grids[0], "点位测试菜场", K(FARMERS_MARKET), 33.59, 119.03, "13812345678");
    uint64_t alley = pu_point_new(ch, grids[0], "点位测试小巷", K(BACK_STREET), 33.591, 119.031, NULL);
    uint64_t compound = pu_point_new(ch, grids[1], "点位测试小区", K(RESIDENTIAL_COMPOUND), 33.592, 119.032, NULL);
    uint64_t other = pu_point_new(ch, grids2[0], "别处的菜场", K(FARMERS_MARKET), 33.6, 119.1, NULL);

    // GetPoint: the stored record, area from the grid, ACTIVE.
    Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    gp.id = market;
    Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
    assert_string_equal(g->point->name, "点位测试菜场");
    assert_int_equal(g->point->kind, K(FARMERS_MARKET));
    assert_int_equal(g->point->area_id, area);
    assert_int_equal(g->point->grid_id, grids[0]);
    assert_int_equal(g->point->state, CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ACTIVE);
    assert_true(fabs(g->point->location->lat - 33.59) < 1e-9);
    assert_int_equal(g->point->n_responsible, 1);
    assert_string_equal(g->point->responsible[0]->phone, "13812345678");

    // UpdatePoint with a mask: name and grid change; kind (not in the mask)
    // does not. Moving to the other area's grid moves the area too.
    Civic__Points__V1__UpdatePointRequest up = CIVIC__POINTS__V1__UPDATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"name", "grid_id"};
    m.paths = paths;
    m.n_paths = 2;
    p.id = alley;
    p.name = "点位测试小巷（改）";
    p.kind = K(RIVER_COURSE);
    p.grid_id = grids2[0];
    up.point = &p;
    up.update_mask = &m;
    Civic__Points__V1__UpdatePointResponse *ur = (void *) pu_call(ch, "UpdatePoint", &up);
    assert_string_equal(ur->point->name, "点位测试小巷（改）");
    assert_int_equal(ur->point->kind, K(BACK_STREET));
    assert_int_equal(ur->point->grid_id, grids2[0]);
    assert_int_equal(ur->point->area_id, area2);
    assert_non_null(ur->point->location); // untouched
    // ...and back.
    p.grid_id = grids[0];
    m.paths = &paths[1];
    m.n_paths = 1;
    ur = (void *) pu_call(ch, "UpdatePoint", &up);
    assert_int_equal(ur->point->area_id, area);
    assert_string_equal(ur->point->name, "点位测试小巷（改）");

    // ListPoints by area, grid, kind and name prefix.
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    pu_point **pts;
    f.area_id = area;
    assert_int_equal(pu_list_points(ch, &f, 2, &pts), 3);
    assert_int_equal(pts[0]->id, market);
    assert_int_equal(pts[1]->id, alley);
    assert_int_equal(pts[2]->id, compound);
    f.area_id = 0;
    f.grid_id = grids[0];
    assert_int_equal(pu_list_points(ch, &f, 50, &pts), 2);
    assert_int_equal(pts[0]->id, market);
    assert_int_equal(pts[1]->id, alley);
    f.grid_id = 0;
    f.kind = K(FARMERS_MARKET);
    size_t n = pu_list_points(ch, &f, 50, &pts);
    assert_int_equal(n, 2);
    assert_int_equal(pts[0]->id, market);
    assert_int_equal(pts[1]->id, other);
    f.area_id = area; // kind within an area
    assert_int_equal(pu_list_points(ch, &f, 50, &pts), 1);
    assert_int_equal(pts[0]->id, market);
    f.area_id = 0;
    f.kind = 0;
    f.name_prefix = "点位测试小";
    assert_int_equal(pu_list_points(ch, &f, 50, &pts), 2);
    // By name: "点位测试小区" < "点位测试小巷（改）" in UTF-8 byte order.
    assert_int_equal(pts[0]->id, compound);
    assert_int_equal(pts[1]->id, alley);

    // RecordPatrol: now, with a location (distance computed), and one
    // yesterday; as an inspector.
    int64_t now = pu_now_ms();
    int32_t today = pu_day(now), yesterday = rt_day_add(today, -1);
    Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    Civic__Points__V1__LatLng here = CIVIC__POINTS__V1__LAT_LNG__INIT;
    here.lat = 33.591; // about 111 m north of the market
    here.lng = 119.03;
    rp.point_id = market;
    rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_PROBLEMS_FOUND;
    rp.note = "楼道杂物";
    rp.location = &here;
    Civic__Points__V1__RecordPatrolResponse *pr = (void *) pu_call_full(
        ch, "RecordPatrol", &rp.base, "alice", "inspector", NULL, CIVIC_OK, NULL);
    pu_patrol *p1 = pr->patrol;
    assert_string_equal(p1->patroller, "alice");
    assert_int_equal(p1->local_day, pu_day(now));
    assert_int_equal(p1->area_id, area);
    assert_int_equal(p1->grid_id, grids[0]);
    assert_true(p1->distance_m > 100 && p1->distance_m < 125);
    assert_non_null(p1->receive_time);
    int64_t y_ms = rt_day_start_ms(yesterday, PU_TZ) + 12 * 3600000LL;
    pu_patrol *p2 = pu_patrol_new(ch, market, y_ms, NULL, NULL);
    assert_int_equal(p2->local_day, yesterday);
    assert_int_equal(p2->patrol_time->seconds, y_ms / 1000);
    pu_patrol_new(ch, compound, 0, NULL, NULL);

    // ListPatrols by point (arrival order), by day, by both.
    pu_patrol **ps;
    assert_int_equal(pu_list_patrols(ch, market, 0, &ps), 2);
    assert_int_equal(ps[0]->id, p1->id);
    assert_int_equal(ps[1]->id, p2->id);
    assert_string_equal(ps[0]->note, "楼道杂物");
    n = pu_list_patrols(ch, 0, today, &ps);
    size_t mine = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ps[i]->local_day, today);
        mine += ps[i]->point_id == market || ps[i]->point_id == compound;
    }
    assert_int_equal(mine, 2);
    assert_int_equal(pu_list_patrols(ch, market, yesterday, &ps), 1);
    assert_int_equal(ps[0]->id, p2->id);

    // GetCoverage for the area today: 3 active points, 2 patrolled.
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.area_id = area;
    Civic__Points__V1__GetCoverageResponse *c = (void *) pu_call(ch, "GetCoverage", &gc);
    assert_int_equal(c->local_day, today);
    assert_int_equal(c->points, 3);
    assert_int_equal(c->patrolled, 2);
    assert_int_equal(c->n_items, 3);
    assert_int_equal(c->items[0]->point_id, market);
    assert_int_equal(c->items[0]->patrols, 1);
    assert_int_equal(c->items[1]->patrols, 0);
    gc.filter = CIVIC__POINTS__V1__COVERAGE_FILTER__COVERAGE_FILTER_UNPATROLLED;
    c = (void *) pu_call(ch, "GetCoverage", &gc);
    assert_int_equal(c->n_items, 1);
    assert_int_equal(c->items[0]->point_id, alley);
    assert_string_equal(c->items[0]->name, "点位测试小巷（改）");
    gc.filter = 0;
    gc.area_id = 0;
    gc.grid_id = grids[1];
    gc.local_day = yesterday;
    c = (void *) pu_call(ch, "GetCoverage", &gc);
    assert_int_equal(c->points, 1);
    assert_int_equal(c->patrolled, 0);
    gc.grid_id = grids[0];
    c = (void *) pu_call(ch, "GetCoverage", &gc);
    assert_int_equal(c->points, 2);
    assert_int_equal(c->patrolled, 1);

    // GetCoverageSummary: one entry per area, ours with its figures.
    Civic__Points__V1__GetCoverageSummaryRequest gs = CIVIC__POINTS__V1__GET_COVERAGE_SUMMARY_REQUEST__INIT;
    Civic__Points__V1__GetCoverageSummaryResponse *s = (void *) pu_call(ch, "GetCoverageSummary", &gs);
    assert_int_equal(s->local_day, today);
    int found = 0;
    for (size_t i = 0; i < s->n_areas; i++) {
        if (s->areas[i]->area_id == area) {
            found = 1;
            assert_string_equal(s->areas[i]->name, "点位测试区");
            assert_int_equal(s->areas[i]->points, 3);
            assert_int_equal(s->areas[i]->patrolled, 2);
            assert_true(fabs(s->areas[i]->share - 2.0 / 3) < 1e-9);
        }
        if (s->areas[i]->area_id == area2) {
            assert_int_equal(s->areas[i]->points, 1);
            assert_int_equal(s->areas[i]->patrolled, 0);
            assert_true(s->areas[i]->share == 0);
        }
    }
    assert_true(found);

    // ArchivePoint: still readable, out of lists and coverage, not patrolled,
    // not archived twice.
    Civic__Points__V1__ArchivePointRequest ap = CIVIC__POINTS__V1__ARCHIVE_POINT_REQUEST__INIT;
    ap.id = market;
    Civic__Points__V1__ArchivePointResponse *ar = (void *) pu_call(ch, "ArchivePoint", &ap);
    assert_int_equal(ar->point->state, CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ARCHIVED);
    civic_status st;
    pu_call_want(ch, "ArchivePoint", &ap, CIVIC_FAILED_PRECONDITION, &st);
    g = (void *) pu_call(ch, "GetPoint", &gp);
    assert_int_equal(g->point->state, CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ARCHIVED);
    memset(&f, 0, sizeof f);
    civic__points__v1__list_points_request__init(&f);
    f.area_id = area;
    assert_int_equal(pu_list_points(ch, &f, 50, &pts), 2);
    f.include_archived = 1;
    assert_int_equal(pu_list_points(ch, &f, 50, &pts), 3);
    gc.grid_id = 0;
    gc.area_id = area;
    gc.local_day = 0;
    c = (void *) pu_call(ch, "GetCoverage", &gc);
    assert_int_equal(c->points, 2);
    assert_int_equal(c->patrolled, 1);
    rp.location = NULL;
    pu_call_want(ch, "RecordPatrol", &rp, CIVIC_FAILED_PRECONDITION, &st);

    // ListEvents: every write above has its event, in order, as admin only.
    Civic__Points__V1__ListEventsRequest le = CIVIC__POINTS__V1__LIST_EVENTS_REQUEST__INIT;
    le.page_size = 1000;
    Civic__Points__V1__ListEventsResponse *ev = (void *) pu_call(ch, "ListEvents", &le);
    const char *tail[] = {"point.updated", "point.updated", "patrol.recorded", "patrol.recorded",
                          "patrol.recorded", "point.archived"};
    assert_true(ev->n_events >= 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(ev->events[ev->n_events - 6 + i]->type, tail[i]);
    assert_int_equal(ev->events[ev->n_events - 1]->subject_id, market);
    assert_int_equal(ev->last_seq, ev->events[ev->n_events - 1]->seq);
    le.after_seq = ev->last_seq;
    ev = (void *) pu_call(ch, "ListEvents", &le);
    assert_int_equal(ev->n_events, 0);
    pu_call_full(ch, "ListEvents", &le.base, "bob", "viewer", NULL, CIVIC_PERMISSION_DENIED, NULL);
    civic_channel_close(ch);
}

// Phones are masked for every role but admin, in every response; a patrol's
// location is seen by admins and the patroller only.
static void
test_masking(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grid;
    pu_hier(ch, "掩码测试区", &area, &grid, 1);
    uint64_t pt = pu_point_new(ch, grid, "掩码测试点", K(KEY_AREA), 33.5, 119.0, "+8613812345678");
    Civic__Points__V1__CreateUnitRequest cu = CIVIC__POINTS__V1__CREATE_UNIT_REQUEST__INIT;
    Civic__Points__V1__Unit u = CIVIC__POINTS__V1__UNIT__INIT;
    u.name = "掩码测试单位";
    u.kind = CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_CONTRACTOR;
    u.area_id = area;
    u.contact_phone = "13987654321";
    cu.unit = &u;
    uint64_t unit = ((Civic__Points__V1__CreateUnitResponse *) pu_call(ch, "CreateUnit", &cu))->unit->id;

    struct {
        const char *principal, *role, *phone, *contact;
    } who[] = {
        {NULL, NULL, "13812345678", "13987654321"},
        {"root", "admin", "13812345678", "13987654321"},
        {"bob", "viewer", "138****5678", "139****4321"},
        {"ann", "inspector", "138****5678", "139****4321"},
        {"u1", "unit", "138****5678", "139****4321"},
    };
    Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    Civic__Points__V1__ListPointsRequest lp = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    Civic__Points__V1__GetUnitRequest gu = CIVIC__POINTS__V1__GET_UNIT_REQUEST__INIT;
    Civic__Points__V1__ListUnitsRequest lu = CIVIC__POINTS__V1__LIST_UNITS_REQUEST__INIT;
    gp.id = pt;
    lp.grid_id = grid;
    gu.id = unit;
    lu.area_id = area;
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
        Civic__Points__V1__GetPointResponse *g = (void *) pu_call_full(
            ch, "GetPoint", &gp.base, who[i].principal, who[i].role, NULL, CIVIC_OK, NULL);
        assert_string_equal(g->point->responsible[0]->phone, who[i].phone);
        assert_string_equal(g->point->responsible[0]->name, "张三");
        Civic__Points__V1__ListPointsResponse *l = (void *) pu_call_full(
            ch, "ListPoints", &lp.base, who[i].principal, who[i].role, NULL, CIVIC_OK, NULL);
        assert_int_equal(l->n_points, 1);
        assert_string_equal(l->points[0]->responsible[0]->phone, who[i].phone);
        Civic__Points__V1__GetUnitResponse *gr = (void *) pu_call_full(
            ch, "GetUnit", &gu.base, who[i].principal, who[i].role, NULL, CIVIC_OK, NULL);
        assert_string_equal(gr->unit->contact_phone, who[i].contact);
        Civic__Points__V1__ListUnitsResponse *lr = (void *) pu_call_full(
            ch, "ListUnits", &lu.base, who[i].principal, who[i].role, NULL, CIVIC_OK, NULL);
        assert_int_equal(lr->n_units, 1);
        assert_string_equal(lr->units[0]->contact_phone, who[i].contact);
    }
    // Masking is a view: the stored phone is still whole.
    Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
    assert_string_equal(g->point->responsible[0]->phone, "13812345678");
    // Writes stay admin-only.
    Civic__Points__V1__ArchivePointRequest ap = CIVIC__POINTS__V1__ARCHIVE_POINT_REQUEST__INIT;
    ap.id = pt;
    pu_call_full(ch, "ArchivePoint", &ap.base, "bob", "viewer", NULL, CIVIC_PERMISSION_DENIED, NULL);

    // A patrol's location: the patroller and admins see it, others do not
    // (distance_m still tells them how near it was).
    Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    Civic__Points__V1__LatLng here = CIVIC__POINTS__V1__LAT_LNG__INIT;
    here.lat = 33.5001;
    here.lng = 119.0;
    rp.point_id = pt;
    rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    rp.location = &here;
    pu_call_full(ch, "RecordPatrol", &rp.base, "ann", "inspector", NULL, CIVIC_OK, NULL);
    Civic__Points__V1__ListPatrolsRequest lq = CIVIC__POINTS__V1__LIST_PATROLS_REQUEST__INIT;
    lq.point_id = pt;
    struct {
        const char *principal, *role;
        int sees;
    } eyes[] = {{"ann", "inspector", 1}, {"root", "admin", 1}, {"bob", "inspector", 0}, {"v", "viewer", 0}};
    for (size_t i = 0; i < sizeof eyes / sizeof eyes[0]; i++) {
        Civic__Points__V1__ListPatrolsResponse *r = (void *) pu_call_full(
            ch, "ListPatrols", &lq.base, eyes[i].principal, eyes[i].role, NULL, CIVIC_OK, NULL);
        assert_int_equal(r->n_patrols, 1);
        assert_string_equal(r->patrols[0]->patroller, "ann");
        assert_int_equal(r->patrols[0]->location != NULL, eyes[i].sees);
        assert_true(r->patrols[0]->distance_m > 5 && r->patrols[0]->distance_m < 20);
    }
    civic_channel_close(ch);
}

// A retried check-in with the same idempotency key is recorded once.
static void
test_patrol_idempotent(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grid;
    pu_hier(ch, "重试测试区", &area, &grid, 1);
    uint64_t pt = pu_point_new(ch, grid, "重试测试点", K(ROAD_SECTION), 33.5, 119.0, NULL);
    Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    rp.point_id = pt;
    rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    Civic__Points__V1__RecordPatrolResponse *a = (void *) pu_call_full(
        ch, "RecordPatrol", &rp.base, NULL, NULL, "offline-1", CIVIC_OK, NULL);
    Civic__Points__V1__RecordPatrolResponse *b = (void *) pu_call_full(
        ch, "RecordPatrol", &rp.base, NULL, NULL, "offline-1", CIVIC_OK, NULL);
    assert_int_equal(a->patrol->id, b->patrol->id);
    pu_patrol **ps;
    assert_int_equal(pu_list_patrols(ch, pt, 0, &ps), 1);
    pu_call_full(ch, "RecordPatrol", &rp.base, NULL, NULL, "offline-2", CIVIC_OK, NULL);
    assert_int_equal(pu_list_patrols(ch, pt, 0, &ps), 2);
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.grid_id = grid;
    Civic__Points__V1__GetCoverageResponse *c = (void *) pu_call(ch, "GetCoverage", &gc);
    assert_int_equal(c->patrolled, 1);
    assert_int_equal(c->items[0]->patrols, 2);
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_areas_and_units, after_each),
        cmocka_unit_test_teardown(test_points_patrols_coverage, after_each),
        cmocka_unit_test_teardown(test_masking, after_each),
        cmocka_unit_test_teardown(test_patrol_idempotent, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.api", tests, setup, teardown);
}
