// civic.points.paging: lists through several pages against a real
// civic-points. 230 points in one area (two grids, three kinds) beside 20 in
// another: ListPoints by area, grid, name prefix and every point, at
// page_size 50 (and odd sizes), sees every point exactly once, in key order,
// with full pages until the last; GetCoverage and the other lists page the
// same way; a bad or foreign page token is INVALID_ARGUMENT naming
// page_token; and `civic points list --all -o csv` exports exactly the
// filtered list.
#include <stdlib.h>
#include <string.h>

#include "putil.h"

#define N_MAIN 230
#define N_OTHER 20
#define K(x) CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##x

static th_server srv;
static uint64_t area, grids[2], area2, grid2;
static uint64_t ids[N_MAIN], other_ids[N_OTHER];
static const Civic__Points__V1__PointKind kinds[3] = {K(FARMERS_MARKET), K(BACK_STREET), K(STAIRWELL)};

static int
setup(void **state)
{
    th_server_start(&srv, CIVIC_POINTS_BIN, (const char *const[]){"--unsafe-no-sync", NULL});
    civic_channel *ch = th_channel(&srv);
    pu_hier(ch, "分页测试区", &area, grids, 2);
    pu_hier(ch, "分页对照区", &area2, &grid2, 1);
    for (int i = 0; i < N_MAIN; i++)
        ids[i] = pu_point_new(ch, grids[i % 2], pu_str("分页点 %03d", i), kinds[i % 3],
                              33.5 + i * 1e-4, 119.0, NULL);
    for (int i = 0; i < N_OTHER; i++)
        other_ids[i] = pu_point_new(ch, grid2, pu_str("对照点 %02d", i), K(FARMERS_MARKET), 33.6, 119.1, NULL);
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

// expect_once checks that got holds exactly the ids of want (each once) in
// the same order.
static void
expect_same(uint64_t *got, size_t n_got, const uint64_t *want, size_t n_want)
{
    assert_int_equal(n_got, n_want);
    for (size_t i = 0; i < n_want; i++)
        if (got[i] != want[i])
            fail_msg("item %zu: got id %llu, want %llu", i, (unsigned long long) got[i],
                     (unsigned long long) want[i]);
}

// page_points reads ListPoints page by page, checking page sizes: every
// page but the last is full when every key read matches (full != 0).
static size_t
page_points(civic_channel *ch, Civic__Points__V1__ListPointsRequest req, int32_t size, int full,
            uint64_t *out, size_t *pages)
{
    size_t n = 0;
    *pages = 0;
    req.page_size = size;
    req.page_token = "";
    for (;;) {
        Civic__Points__V1__ListPointsResponse *r = (void *) pu_call(ch, "ListPoints", &req);
        (*pages)++;
        assert_true(r->n_points <= (size_t) size);
        int last = r->next_page_token[0] == '\0';
        if (full && !last)
            assert_int_equal(r->n_points, size);
        for (size_t i = 0; i < r->n_points; i++)
            out[n++] = r->points[i]->id;
        if (last)
            break;
        req.page_token = r->next_page_token;
    }
    return n;
}

static void
test_list_points_pages(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t got[N_MAIN + N_OTHER + 10], want[N_MAIN + N_OTHER];
    size_t pages, n;
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;

    // By area: 50, 50, 50, 50, 30.
    f.area_id = area;
    n = page_points(ch, f, 50, 1, got, &pages);
    expect_same(got, n, ids, N_MAIN);
    assert_int_equal(pages, 5);
    // An odd page size ends on a partial page too.
    n = page_points(ch, f, 7, 1, got, &pages);
    expect_same(got, n, ids, N_MAIN);
    assert_int_equal(pages, (N_MAIN + 6) / 7);

    // By grid: every other point.
    f.area_id = 0;
    f.grid_id = grids[1];
    size_t k = 0;
    for (int i = 1; i < N_MAIN; i += 2)
        want[k++] = ids[i];
    n = page_points(ch, f, 50, 1, got, &pages);
    expect_same(got, n, want, k);
    assert_int_equal(pages, 3);

    // Every point, by id.
    f.grid_id = 0;
    memcpy(want, ids, sizeof ids);
    memcpy(want + N_MAIN, other_ids, sizeof other_ids);
    n = page_points(ch, f, 50, 1, got, &pages);
    expect_same(got, n, want, N_MAIN + N_OTHER);
    assert_int_equal(pages, 5);

    // By name prefix (names sort like the ids here).
    f.name_prefix = "分页点 1";
    k = 0;
    for (int i = 100; i < 200; i++)
        want[k++] = ids[i];
    n = page_points(ch, f, 50, 1, got, &pages);
    expect_same(got, n, want, k);

    // A kind within the area: a filter over the area's index.
    f.name_prefix = "";
    f.area_id = area;
    f.kind = K(BACK_STREET);
    k = 0;
    for (int i = 1; i < N_MAIN; i += 3)
        want[k++] = ids[i];
    n = page_points(ch, f, 25, 0, got, &pages);
    expect_same(got, n, want, k);
    civic_channel_close(ch);
}

static void
test_bad_tokens(void **state)
{
    civic_channel *ch = th_channel(&srv);
    civic_status st;
    Civic__Points__V1__ListPointsRequest f = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    f.area_id = area;
    f.page_size = 50;
    Civic__Points__V1__ListPointsResponse *r = (void *) pu_call(ch, "ListPoints", &f);
    assert_true(r->next_page_token[0] != '\0');
    char *token = r->next_page_token;

    const char *junk[] = {"garbage!", "AAAA", "x", "////"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        f.page_token = (char *) (uintptr_t) junk[i];
        pu_call_want(ch, "ListPoints", &f, CIVIC_INVALID_ARGUMENT, &st);
        assert_true(pu_has_violation(&st, "page_token"));
    }
    // Another area's list, or another index, does not take it.
    f.page_token = token;
    f.area_id = area2;
    pu_call_want(ch, "ListPoints", &f, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "page_token"));
    f.area_id = 0;
    f.grid_id = grids[0];
    pu_call_want(ch, "ListPoints", &f, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "page_token"));
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.area_id = area;
    gc.page_token = token;
    pu_call_want(ch, "GetCoverage", &gc, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "page_token"));
    // The right list still takes it.
    f.grid_id = 0;
    f.area_id = area;
    r = (void *) pu_call(ch, "ListPoints", &f);
    assert_int_equal(r->n_points, 50);
    assert_int_equal(r->points[0]->id, ids[50]);
    // A negative page size is refused, naming it.
    f.page_token = "";
    f.page_size = -1;
    pu_call_want(ch, "ListPoints", &f, CIVIC_INVALID_ARGUMENT, &st);
    assert_true(pu_has_violation(&st, "page_size"));

    // Through the CLI: exit 1 with the field on stderr.
    char *out, *err;
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "list", "--area-id", pu_str("%llu", (unsigned long long) area),
                            "--page-token", "garbage!"),
                     1);
    assert_non_null(strstr(err, "INVALID_ARGUMENT"));
    assert_non_null(strstr(err, "page_token"));
    civic_channel_close(ch);
}

static void
test_coverage_and_other_lists_page(void **state)
{
    civic_channel *ch = th_channel(&srv);
    // Patrol every 10th point today.
    for (int i = 0; i < N_MAIN; i += 10)
        pu_patrol_new(ch, ids[i], 0, NULL, NULL);
    Civic__Points__V1__GetCoverageRequest gc = CIVIC__POINTS__V1__GET_COVERAGE_REQUEST__INIT;
    gc.area_id = area;
    gc.page_size = 40;
    size_t n = 0, patrolled = 0;
    uint64_t got[N_MAIN];
    for (;;) {
        Civic__Points__V1__GetCoverageResponse *r = (void *) pu_call(ch, "GetCoverage", &gc);
        assert_int_equal(r->points, N_MAIN);
        assert_int_equal(r->patrolled, N_MAIN / 10);
        for (size_t i = 0; i < r->n_items; i++) {
            got[n++] = r->items[i]->point_id;
            patrolled += r->items[i]->patrols > 0;
        }
        if (r->next_page_token[0] == '\0')
            break;
        gc.page_token = r->next_page_token;
    }
    expect_same(got, n, ids, N_MAIN);
    assert_int_equal(patrolled, N_MAIN / 10);

    // ListPatrols by day, 5 at a time.
    Civic__Points__V1__ListPatrolsRequest lp = CIVIC__POINTS__V1__LIST_PATROLS_REQUEST__INIT;
    lp.local_day = pu_day(pu_now_ms());
    lp.page_size = 5;
    n = 0;
    for (int pages = 0;; pages++) {
        Civic__Points__V1__ListPatrolsResponse *r = (void *) pu_call(ch, "ListPatrols", &lp);
        for (size_t i = 0; i < r->n_patrols; i++)
            got[n++] = r->patrols[i]->point_id;
        if (r->next_page_token[0] == '\0')
            break;
        assert_int_equal(r->n_patrols, 5);
        lp.page_token = r->next_page_token;
    }
    uint64_t want[N_MAIN / 10];
    for (int i = 0; i < N_MAIN / 10; i++)
        want[i] = ids[i * 10];
    expect_same(got, n, want, N_MAIN / 10);

    // ListAreas: every node (5 + 4, ids 1 to 9 on this fresh server), 2 at a
    // time.
    Civic__Points__V1__ListAreasRequest la = CIVIC__POINTS__V1__LIST_AREAS_REQUEST__INIT;
    la.page_size = 2;
    n = 0;
    for (;;) {
        Civic__Points__V1__ListAreasResponse *r = (void *) pu_call(ch, "ListAreas", &la);
        for (size_t i = 0; i < r->n_areas; i++)
            got[n++] = r->areas[i]->id;
        if (r->next_page_token[0] == '\0')
            break;
        la.page_token = r->next_page_token;
    }
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], i + 1);
    civic_channel_close(ch);
}

// The CLI's --all follows every page; with -o csv it prints one header and
// exactly the rows of the filtered list, and -o csv alone does the same (an
// export is the whole list) unless a page is asked for.
static void
test_cli_all_csv(void **state)
{
    struct {
        const char *const *argv;
        uint64_t want[N_MAIN];
        size_t n;
    } cases[4];
    const char *a = pu_str("%llu", (unsigned long long) area);
    const char *g = pu_str("%llu", (unsigned long long) grids[0]);
    cases[0].argv = (const char *const[]){"-o", "csv", "points", "list", "--area-id", a, "--all", NULL};
    cases[1].argv = (const char *const[]){"-o", "csv", "points", "list", "--area-id", a, "--kind",
                                          "farmers-market", "--page-size", "7", "--all", NULL};
    cases[2].argv = (const char *const[]){"-o", "csv", "points", "list", "--grid-id", g, "--all",
                                          "--page-size", "1000", NULL};
    cases[3].argv = (const char *const[]){"-o", "csv", "points", "list", "--area-id", a, NULL};
    cases[0].n = cases[1].n = cases[2].n = cases[3].n = 0;
    for (int i = 0; i < N_MAIN; i++) {
        cases[0].want[cases[0].n++] = ids[i];
        cases[3].want[cases[3].n++] = ids[i];
        if (i % 3 == 0)
            cases[1].want[cases[1].n++] = ids[i];
        if (i % 2 == 0)
            cases[2].want[cases[2].n++] = ids[i];
    }
    for (size_t c = 0; c < 4; c++) {
        char *out, *err;
        int rc = pu_cli_v(&srv, &out, &err, cases[c].argv);
        if (rc != 0)
            fail_msg("case %zu: exit %d: %s", c, rc, err);
        char ***rows;
        size_t *nf;
        size_t n = pu_csv(out, &rows, &nf);
        assert_true(n >= 1);
        int cid = pu_csv_col(rows[0], nf[0], "id"), carea = pu_csv_col(rows[0], nf[0], "area_id");
        assert_true(cid >= 0 && carea >= 0);
        uint64_t got[N_MAIN + 1];
        for (size_t r = 1; r < n; r++) {
            assert_int_equal(nf[r], nf[0]);
            assert_string_equal(rows[r][carea], a);
            got[r - 1] = strtoull(rows[r][cid], NULL, 10);
        }
        expect_same(got, n - 1, cases[c].want, cases[c].n);
    }

    // Without --all: one page, and JSON carries the token to go on with.
    json_t *j = PU_JSON(&srv, "points", "list", "--area-id", a, "--page-size", "50");
    assert_int_equal(json_array_size(json_object_get(j, "points")), 50);
    const char *tok = pu_js(j, "nextPageToken");
    assert_true(tok[0] != '\0');
    j = PU_JSON(&srv, "points", "list", "--area-id", a, "--page-size", "50", "--page-token", tok);
    assert_int_equal(pu_ji(json_array_get(json_object_get(j, "points"), 0), "id"), ids[50]);
    char *out, *err;
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "list", "--area-id", a), 0);
    assert_non_null(strstr(err, "--page-token"));
    // CSV with a page asked for: that page, and stderr says there is more.
    assert_int_equal(PU_CLI(&srv, &out, &err, "-o", "csv", "points", "list", "--area-id", a, "--page-size", "7"), 0);
    char ***rows;
    size_t *nf;
    assert_int_equal(pu_csv(out, &rows, &nf), 1 + 7);
    assert_non_null(strstr(err, "--page-token"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_list_points_pages, after_each),
        cmocka_unit_test_teardown(test_bad_tokens, after_each),
        cmocka_unit_test_teardown(test_coverage_and_other_lists_page, after_each),
        cmocka_unit_test_teardown(test_cli_all_csv, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.paging", tests, setup, teardown);
}
