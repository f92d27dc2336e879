// civic.points.import: `civic points import FILE.csv` against a real
// civic-points. A file with good and bad rows (bad lat, unknown grid, bad
// phone, unknown kind) gives one result per row, exit status 1, and only the
// good rows stored; importing the same file again creates nothing twice
// (the CLI derives each row's idempotency key from its content).
#include <stdio.h>
#include <stdlib.h>
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

typedef struct row_result {
    int row;
    char status[32], id[32];
    char message[512];
} row_result;

// parse_results reads the import's table: a header, then "ROW STATUS ID MESSAGE".
static size_t
parse_results(const char *out, row_result *r, size_t max)
{
    size_t n = 0;
    const char *line = strchr(out, '\n');
    assert_non_null(line); // the header
    for (line++; *line && n < max;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t) (eol - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int) len, line);
        int used = 0;
        if (sscanf(buf, "%d %31s %31s %n", &r[n].row, r[n].status, r[n].id, &used) < 3)
            fail_msg("not a result line: \"%s\"", buf);
        snprintf(r[n].message, sizeof r[n].message, "%s", buf + used);
        n++;
        line = eol ? eol + 1 : line + len;
    }
    return n;
}

static void
test_import_good_and_bad_rows(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grids[2];
    pu_hier(ch, "导入测试区", &area, grids, 2);
    char path[300];
    snprintf(path, sizeof path, "%s/points.csv", srv.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    // A spreadsheet's BOM and CRLF line ends, a quoted address with a comma
    // and a doubled quote, an empty line, and empty cells (unset fields).
    fprintf(f, "\xef\xbb\xbfname,kind,address,lat,lng,grid,responsible[0].role,responsible[0].name,"
               "responsible[0].phone,demo\r\n");
    fprintf(f, "导入菜场,farmers-market,\"淮海路 1 号, 东门\",33.59,119.03,%llu,manager,张三,13812345678,false\r\n",
            (unsigned long long) grids[0]);
    fprintf(f, "坏纬度,back-street,,95,119.03,%llu,,,,\r\n", (unsigned long long) grids[0]);
    fprintf(f, "坏网格,back-street,,33.5,119.03,99999,,,,\r\n");
    fprintf(f, "坏电话,stairwell,,33.5,119.03,%llu,cleaner,李四,12345,\r\n", (unsigned long long) grids[1]);
    fprintf(f, "坏类型,spaceport,,33.5,119.03,%llu,,,,\r\n", (unsigned long long) grids[1]);
    fprintf(f, "\r\n");
    fprintf(f, "导入小巷,BACK_STREET,\"He said \"\"hi\"\"\",33.6,119.04,%llu,,,,true\r\n",
            (unsigned long long) grids[1]);
    fprintf(f, "导入小区,residential-compound,,33.61,119.05,%llu,grid-worker,王五,+8613900001111,\r\n",
            (unsigned long long) grids[1]);
    fclose(f);
    size_t events = pu_event_count(ch);

    struct {
        int row;
        const char *status, *text;
    } want[] = {
        {2, "OK", NULL},
        {3, "INVALID_ARGUMENT", "point.location.lat"},
        {4, "NOT_FOUND", "point.grid_id"},
        {5, "INVALID_ARGUMENT", "point.responsible[0].phone"},
        {6, "INVALID_ARGUMENT", "kind"},
        {8, "OK", NULL},
        {9, "OK", NULL},
    };
    size_t n_want = sizeof want / sizeof want[0];
    char first_ids[3][32];
    for (int round = 0; round < 2; round++) {
        char *out, *err;
        int rc = PU_CLI(&srv, &out, &err, "points", "import", path);
        if (rc != 1 || strstr(err, "imported 3 of 7 rows") == NULL)
            fail_msg("round %d: exit %d, stderr %s, stdout:\n%s", round, rc, err, out);
        row_result r[16];
        size_t n = parse_results(out, r, 16);
        if (n != n_want)
            fail_msg("round %d: %zu result rows, want %zu:\n%s", round, n, n_want, out);
        int good = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(r[i].row, want[i].row);
            if (strcmp(r[i].status, want[i].status) != 0)
                fail_msg("round %d row %d: %s (%s), want %s", round, r[i].row, r[i].status,
                         r[i].message, want[i].status);
            if (want[i].text != NULL && strstr(r[i].message, want[i].text) == NULL)
                fail_msg("row %d: \"%s\" does not name %s", r[i].row, r[i].message, want[i].text);
            if (strcmp(r[i].status, "OK") == 0) {
                assert_true(strtoull(r[i].id, NULL, 10) > 0);
                // Again: the same points answer, none is created twice.
                if (round == 0)
                    snprintf(first_ids[good], sizeof first_ids[good], "%s", r[i].id);
                else
                    assert_string_equal(r[i].id, first_ids[good]);
                good++;
            } else {
                assert_string_equal(r[i].id, "-");
            }
        }
        assert_int_equal(good, 3);

        // Only the good rows are stored, as written.
        Civic__Points__V1__ListPointsRequest lf = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
        lf.area_id = area;
        lf.include_archived = 1;
        pu_point **pts;
        assert_int_equal(pu_list_points(ch, &lf, 50, &pts), 3);
        assert_string_equal(pts[0]->name, "导入菜场");
        assert_string_equal(pts[0]->address, "淮海路 1 号, 东门");
        assert_int_equal(pts[0]->kind, CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_FARMERS_MARKET);
        assert_int_equal(pts[0]->grid_id, grids[0]);
        assert_int_equal(pts[0]->n_responsible, 1);
        assert_string_equal(pts[0]->responsible[0]->phone, "13812345678");
        assert_false(pts[0]->demo);
        assert_string_equal(pts[1]->name, "导入小巷");
        assert_string_equal(pts[1]->address, "He said \"hi\"");
        assert_true(pts[1]->demo);
        assert_true(pts[1]->location->lat == 33.6);
        assert_string_equal(pts[2]->name, "导入小区");
        assert_int_equal(pts[2]->responsible[0]->role,
                         CIVIC__POINTS__V1__RESPONSIBLE_ROLE__RESPONSIBLE_ROLE_GRID_WORKER);
        assert_string_equal(pts[2]->responsible[0]->phone, "13900001111");
        assert_int_equal(pu_event_count(ch), events + 3);
    }

    // A file of good rows only: exit 0.
    snprintf(path, sizeof path, "%s/good.csv", srv.dir);
    f = fopen(path, "w");
    fprintf(f, "name,kind,lat,lng,grid_id\n导入路段,road-section,33.7,119.1,%llu\n", (unsigned long long) grids[0]);
    fclose(f);
    char *out, *err;
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "import", path), 0);
    assert_non_null(strstr(err, "imported 1 of 1 rows"));
    Civic__Points__V1__ListPointsRequest lf = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    lf.name_prefix = "导入路段";
    pu_point **pts;
    assert_int_equal(pu_list_points(ch, &lf, 50, &pts), 1);
    assert_int_equal(pts[0]->area_id, area);
    // A missing file is a usage error.
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "import", "/nonexistent/x.csv"), 2);
    civic_channel_close(ch);
}

// write_rows writes a CSV of the given rows under a header whose first
// column is a long address (70 characters: 210 bytes), shared by every row.
static void
write_rows(const char *path, uint64_t grid, const int *rows, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "address,name,kind,lat,lng,grid_id\n");
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < 70; c++)
            fputs("长", f);
        fprintf(f, ",长地址点 %d,key-area,33.5,119.0,%llu\n", rows[i], (unsigned long long) grid);
    }
    fclose(f);
}

// import_ids imports path (every row must be OK) and returns the ids in
// row order.
static int
import_ids(const char *path, unsigned long long *ids, int max)
{
    char *out, *err;
    int rc = PU_CLI(&srv, &out, &err, "points", "import", path);
    if (rc != 0)
        fail_msg("import %s: exit %d: %s\n%s", path, rc, err, out);
    row_result r[16];
    size_t n = parse_results(out, r, 16);
    assert_true((int) n <= max);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r[i].status, "OK");
        ids[i] = strtoull(r[i].id, NULL, 10);
    }
    return (int) n;
}

// Each row's key comes from the header and all of its cells: rows that
// differ only far along still get their own points; the same rows again
// create nothing, from a copy of the file or at other line numbers.
static void
test_import_keys_from_content(void **state)
{
    civic_channel *ch = th_channel(&srv);
    uint64_t area, grid;
    pu_hier(ch, "导入键测试区", &area, &grid, 1);
    char a[300], b[300], c[300];
    snprintf(a, sizeof a, "%s/long.csv", srv.dir);
    snprintf(b, sizeof b, "%s/copy-of-long.csv", srv.dir);
    snprintf(c, sizeof c, "%s/shifted.csv", srv.dir);
    unsigned long long first[4], again[4];
    write_rows(a, grid, (const int[]){1, 2, 3}, 3);
    assert_int_equal(import_ids(a, first, 4), 3);
    assert_true(first[0] != first[1] && first[1] != first[2] && first[0] != first[2]);
    write_rows(b, grid, (const int[]){1, 2, 3}, 3);
    assert_int_equal(import_ids(b, again, 4), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(again[i], first[i]);
    write_rows(c, grid, (const int[]){3, 1}, 2); // row 2 gone, the others moved
    assert_int_equal(import_ids(c, again, 4), 2);
    assert_int_equal(again[0], first[2]);
    assert_int_equal(again[1], first[0]);
    // A row corrected at its end (a wrong grid, after 210 bytes of address)
    // is a new request: it goes in, not the first attempt's answer again.
    FILE *f = fopen(c, "w");
    assert_non_null(f);
    fprintf(f, "address,name,kind,lat,lng,grid_id\n");
    for (int k = 0; k < 70; k++)
        fputs("长", f);
    fprintf(f, ",长地址点 4,key-area,33.5,119.0,424242\n");
    fclose(f);
    char *out, *err;
    assert_int_equal(PU_CLI(&srv, &out, &err, "points", "import", c), 1);
    assert_non_null(strstr(out, "NOT_FOUND"));
    write_rows(c, grid, (const int[]){4}, 1);
    assert_int_equal(import_ids(c, again, 4), 1);
    assert_true(again[0] > first[2]);
    Civic__Points__V1__ListPointsRequest lf = CIVIC__POINTS__V1__LIST_POINTS_REQUEST__INIT;
    lf.grid_id = grid;
    pu_point **pts;
    assert_int_equal(pu_list_points(ch, &lf, 50, &pts), 4);
    assert_string_equal(pts[0]->name, "长地址点 1");
    assert_string_equal(pts[1]->name, "长地址点 2");
    assert_string_equal(pts[2]->name, "长地址点 3");
    civic_channel_close(ch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_import_good_and_bad_rows, after_each),
        cmocka_unit_test_teardown(test_import_keys_from_content, after_each),
    };
    return cmocka_run_group_tests_name("civic.points.import", tests, setup, teardown);
}
