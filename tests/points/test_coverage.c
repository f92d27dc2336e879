// civic.points.coverage: GetCoverage and GetCoverageSummary against a
// brute-force count from ListPoints and ListPatrols, on random data: three
// areas with several grids, random check-ins spread over five local days
// (some at day edges), then points archived and points moved between grids
// and areas after they were patrolled, then more check-ins. Every area and
// grid, every day, every filter, paged: the counters must equal the count
// of points active there now that had a check-in that day, and each listed
// point's patrols its number of check-ins that day.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "putil.h"

#define N_AREAS 3
#define N_GRIDS 3
#define N_POINTS 60
#define N_DAYS 5
#define MAX_PATROLS 400

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

static unsigned rnd_state;

static unsigned
rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return ((rnd_state >> 8) & 0xffffff) % n;
}

typedef struct world {
    uint64_t areas[N_AREAS], grids[N_AREAS][N_GRIDS];
    uint64_t points[N_POINTS];
    int32_t days[N_DAYS]; // today first
} world;

// A time on day d, at most now - 1 minute and within the 7-day window.
static int64_t
time_on(int32_t day, int64_t now)
{
    int64_t start = rt_day_start_ms(day, PU_TZ), end = start + 86400000 - 1;
    int64_t lo = now - 7 * 86400000LL + 3600000, hi = now - 60000;
    if (start < lo)
        start = lo;
    if (end > hi)
        end = hi;
    if (end < start)
        return 0;
    switch (rnd(4)) {
    case 0:
        return start; // the first millisecond of the day
    case 1:
        return end; // the last
    default:
        return start + (int64_t) rnd((unsigned) ((end - start) / 1000 + 1)) * 1000;
    }
}

static void
random_patrols(civic_channel *ch, world *w, int n, int64_t now)
{
    for (int i = 0; i < n; i++) {
        uint64_t pt = w->points[rnd(N_POINTS)];
        Civic__Points__V1__GetPointRequest gp = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
        gp.id = pt;
        Civic__Points__V1__GetPointResponse *g = (void *) pu_call(ch, "GetPoint", &gp);
        int32_t day = w->days[rnd(N_DAYS)];
        int64_t when = time_on(day, now);
        if (when == 0)
            continue;
        if (g->point->state != CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ACTIVE) {
            // Archived points are not patrolled.
            Civic__Points__V1__RecordPatrolRequest rp = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
            rp.point_id = pt;
            rp.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
            pu_call_want(ch, "RecordPatrol", &rp, CIVIC_FAILED_PRECONDITION, NULL);
            continue;
        }
        pu_patrol *p = pu_patrol_new(ch, pt, when, pu_str("p%u", rnd(5)), "inspector");
        assert_int_equal(p->local_day, pu_day(when));
        assert_int_equal(p->local_day, day);
        assert_int_equal(p->grid_id, g->point->grid_id);
        assert_int_equal(p->area_id, g->point->area_id);
    }
}

// The brute force: points now (id → grid, area, active) and check-ins per
// point and day.
typedef struct truth {
    size_t n;
    uint64_t id[N_POINTS], grid[N_POINTS], area[N_POINTS];
    int active[N_POINTS];
    uint32_t count[N_POINTS][N_DAYS];
} truth;

static int
index_of(const truth *t, uint64_t id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->id[i] == id)
            return (int) i;
    fail_msg("point %llu is not listed", (unsigned long long) id);
    return -1;
}

static void
brute_force(civic_channel *ch, const world *w, truth *t)
{
    memset(t, 0, sizeof *t);
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    f.include_archived = 1;
    pu_point **pts;
    t->n = pu_list_points(ch, &f, 1000, &pts);
    assert_int_equal(t->n, N_POINTS);
    for (size_t i = 0; i < t->n; i++) {
        t->id[i] = pts[i]->id;
        t->grid[i] = pts[i]->grid_id;
        t->area[i] = pts[i]->area_id;
        t->active[i] = pts[i]->state == CIVIC__POINTS__V1__POINT_STATE__POINT_STATE_ACTIVE;
    }
    size_t by_day = 0, by_point = 0;
    for (int d = 0; d < N_DAYS; d++) {
        pu_patrol **ps;
        size_t n = pu_list_patrols(ch, 0, w->days[d], &ps);
        by_day += n;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(ps[i]->local_day, w->days[d]);
            t->count[index_of(t, ps[i]->point_id)][d]++;
        }
    }
    // The same check-ins by point.
    for (size_t i = 0; i < t->n; i++) {
        pu_patrol **ps;
        size_t n = pu_list_patrols(ch, t->id[i], 0, &ps);
        by_point += n;
        uint32_t sum = 0;
        for (int d = 0; d < N_DAYS; d++)
            sum += t->count[i][d];
        assert_int_equal(n, sum);
    }
    assert_int_equal(by_day, by_point);
}

// check_one compares GetCoverage for one area or grid, one day and one
// filter, paged by 7, with the brute force.
static void
check_one(civic_channel *ch, const truth *t, int d, int32_t day, uint64_t area, uint64_t grid,
          Civic__Points__V1__CoverageFilter filter, uint32_t *points_out, uint32_t *patrolled_out)
{
    uint32_t want_points = 0, want_patrolled = 0;
    uint64_t want_ids[N_POINTS];
    uint32_t want_counts[N_POINTS];
    size_t n_want = 0;
    for (size_t i = 0; i < t->n; i++) { // ListPoints gave id order
        if (!t->active[i] || (area && t->area[i] != area) || (grid && t->grid[i] != grid))
            continue;
        want_points++;
        uint32_t c = t->count[i][d];
        want_patrolled += c > 0;
        if ((filter == CIVIC__POINTS__V1__COVERAGE_FILTER__COVERAGE_FILTER_PATROLLED && c == 0) ||
            (filter == CIVIC__POINTS__V1__COVERAGE_FILTER__COVERAGE_FILTER_UNPATROLLED && c > 0))
            continue;
        want_ids[n_want] = t->id[i];
        want_counts[n_want++] = c;
    }
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.area_id = area;
    gc.grid_id = grid;
    gc.local_day = day;
    gc.filter = filter;
    gc.page_size = 7;
    size_t n = 0;
    for (;;) {
        Civic__Points__V1__GetCoverageResponse *r = (void *) pu_call(ch, "GetCoverage", &gc);
        assert_int_equal(r->local_day, day);
        if (r->points != want_points || r->patrolled != want_patrolled)
            fail_msg("day %d %s %llu: points %u patrolled %u; brute force %u and %u", day,
                     area ? "area" : "grid", (unsigned long long) (area ? area : grid), r->points,
                     r->patrolled, want_points, want_patrolled);
        for (size_t i = 0; i < r->n_items; i++, n++) {
            assert_true(n < n_want);
            assert_int_equal(r->items[i]->point_id, want_ids[n]);
            if (r->items[i]->patrols != want_counts[n])
                fail_msg("day %d point %llu: %u check-ins, brute force %u", day,
                         (unsigned long long) want_ids[n], r->items[i]->patrols, want_counts[n]);
        }
        if (r->next_page_token[0] == '\0')
            break;
        gc.page_token = r->next_page_token;
    }
    assert_int_equal(n, n_want);
    *points_out = want_points;
    *patrolled_out = want_patrolled;
}

static void
check_all(civic_channel *ch, const world *w)
{
    truth t;
    brute_force(ch, w, &t);
    for (int d = 0; d < N_DAYS; d++) {
        Civic__Points__V1__GetCoverageSummaryRequest gs = CIVIC__POINTS__V1__GET_COVERAGE_SUMMARY_REQUEST__INIT;
        gs.local_day = w->days[d];
        Civic__Points__V1__GetCoverageSummaryResponse *s = (void *) pu_call(ch, "GetCoverageSummary", &gs);
        assert_int_equal(s->local_day, w->days[d]);
        assert_int_equal(s->n_areas, N_AREAS);
        for (int a = 0; a < N_AREAS; a++) {
            uint32_t pts, pat, gpts = 0, gpat = 0;
            for (int f = 0; f < 3; f++)
                check_one(ch, &t, d, w->days[d], w->areas[a], 0, (Civic__Points__V1__CoverageFilter) f,
                          &pts, &pat);
            for (int g = 0; g < N_GRIDS; g++) {
                uint32_t p1, p2;
                for (int f = 0; f < 3; f++)
                    check_one(ch, &t, d, w->days[d], 0, w->grids[a][g],
                              (Civic__Points__V1__CoverageFilter) f, &p1, &p2);
                gpts += p1;
                gpat += p2;
            }
            assert_int_equal(gpts, pts); // the grids add up to the area
            assert_int_equal(gpat, pat);
            Civic__Points__V1__AreaCoverage *ac = s->areas[a];
            assert_int_equal(ac->area_id, w->areas[a]);
            if (ac->points != pts || ac->patrolled != pat)
                fail_msg("summary day %d area %llu: %u/%u; brute force %u/%u", w->days[d],
                         (unsigned long long) ac->area_id, ac->patrolled, ac->points, pat, pts);
            assert_true(ac->share == (pts ? (double) pat / pts : 0));
        }
    }
}

static void
test_coverage_brute_force(void **state)
{
    civic_channel *ch = th_channel(&srv);
    world w;
    unsigned seed = getenv("CIVIC_TEST_SEED") ? (unsigned) strtoul(getenv("CIVIC_TEST_SEED"), NULL, 10)
                                              : (unsigned) pu_now_ms();
    print_message("seed %u (set CIVIC_TEST_SEED to repeat)\n", seed);
    rnd_state = seed;
    for (int a = 0; a < N_AREAS; a++)
        pu_hier(ch, pu_str("覆盖测试区%d", a), &w.areas[a], w.grids[a], N_GRIDS);
    for (int i = 0; i < N_POINTS; i++) {
        int a = (int) rnd(N_AREAS), g = (int) rnd(N_GRIDS);
        w.points[i] = pu_point_new(ch, w.grids[a][g], pu_str("覆盖点 %02d", i),
                                   (Civic__Points__V1__PointKind) (1 + rnd(7)), 33.5, 119.0, NULL);
    }
    int64_t now = pu_now_ms();
    w.days[0] = pu_day(now);
    for (int d = 1; d < N_DAYS; d++)
        w.days[d] = rt_day_add(w.days[0], -d);
    random_patrols(ch, &w, 220, now);
    check_all(ch, &w);

    // Archive five points (patrolled or not) and move six between grids,
    // some to another area; one of them archived first.
    for (int k = 0; k < 5; k++) {
        Civic__Points__V1__ArchivePointRequest ap = CIVIC__POINTS__V1__ARCHIVE_POINT_REQUEST__INIT;
        ap.id = w.points[k * 7];
        pu_call(ch, "ArchivePoint", &ap);
    }
    for (int k = 0; k < 6; k++) {
        Civic__Points__V1__UpdatePointRequest up = CIVIC__POINTS__V1__UPDATE_POINT_REQUEST__INIT;
        Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
        Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        char *path = "grid_id";
        m.paths = &path;
        m.n_paths = 1;
        p.id = w.points[k == 0 ? 0 : k * 5 + 1];
        p.grid_id = w.grids[rnd(N_AREAS)][rnd(N_GRIDS)];
        up.point = &p;
        up.update_mask = &m;
        Civic__Points__V1__UpdatePointResponse *r = (void *) pu_call(ch, "UpdatePoint", &up);
        assert_int_equal(r->point->grid_id, p.grid_id);
    }
    check_all(ch, &w);

    // More check-ins after the moves; the moved points count where they are.
    random_patrols(ch, &w, 120, now);
    check_all(ch, &w);

    // A day nobody patrolled: everything unpatrolled.
    Civic__Points__V1__GetCoverageSummaryRequest gs = CIVIC__POINTS__V1__GET_COVERAGE_SUMMARY_REQUEST__INIT;
    gs.local_day = rt_day_add(w.days[0], -30);
    Civic__Points__V1__GetCoverageSummaryResponse *s = (void *) pu_call(ch, "GetCoverageSummary", &gs);
    uint32_t active = 0;
    for (size_t i = 0; i < s->n_areas; i++) {
        assert_int_equal(s->areas[i]->patrolled, 0);
        active += s->areas[i]->points;
    }
    assert_int_equal(active, N_POINTS - 5);
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_coverage_brute_force, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.coverage", tests, setup, teardown);
}
