// civic.tasks.cli: the rules through the real civic CLI against a real
// civic-tasks, acting as each role with --as PRINCIPAL:ROLE. A problem's
// whole life: report, duplicate report, assign, start, submit, reject,
// submit, verify, history; reassign, extend, duplicate, invalidate, cancel;
// a unit acting on another unit's problem (PERMISSION_DENIED, nothing
// changed); bad input naming the field. Lists against what the test made:
// `-o csv` exporting exactly the filtered list over more than one page (and
// one page when one is asked for), overdue as of many instants by area,
// unit and state. Two verifiers as two CLI processes at once: one wins, the
// other is told FAILED_PRECONDITION. (civic.tasks.cli_machine drives every
// state × action through the CLI; civic.tasks.cli_restart idempotency keys
// and kill -9.)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks_th.h"

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x

static th_server srv;
static tt_cli c = {.srv = &srv};

#define CLI(...) TT_CLI(&c, __VA_ARGS__)

static int
has(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

static void
test_a_problems_life(void **state)
{
    char deadline[64], later[64];
    tt_time(deadline, sizeof deadline, tt_now_ms() + 3 * TT_DAY_MS);
    tt_time(later, sizeof later, tt_now_ms() + 6 * TT_DAY_MS);

    assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "12",
                         "--area-id", "1", "--grid-id", "4", "--category", "small-ads", "--description",
                         "电线杆上张贴小广告", "--source", "sweep", "--severity", "high", "--photo",
                         "https://oss.example.cn/before/1.jpg", "--photo", "s3://civic/before/2.jpg"),
                     0);
    uint64_t id = tt_json_u64(&c, "id");
    assert_true(has(c.out, "PROBLEM_STATE_REPORTED"));
    assert_true(has(c.out, "s3://civic/before/2.jpg"));
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) id);

    // The same category at the same point while it is open: that one again.
    assert_int_equal(CLI("--as", "vol-3:volunteer", "-o", "json", "problems", "report", "--point-id", "12",
                         "--area-id", "1", "--grid-id", "4", "--category", "small-ads", "--description",
                         "又见小广告", "--source", "volunteer"),
                     0);
    assert_int_equal(tt_json_u64(&c, "id"), id);
    assert_true(has(c.out, "\"duplicate\": true"));

    // A unit may not assign; an inspector may.
    assert_int_equal(CLI("--as", "7:unit", "problems", "assign", ids, "--unit-id", "7", "--deadline", deadline), 1);
    assert_true(has(c.err, "PERMISSION_DENIED"));
    assert_int_equal(CLI("--as", "insp-1:inspector", "problems", "assign", ids, "--unit-id", "7", "--deadline",
                         deadline, "--note", "请三日内清理"),
                     0);
    tt_expect_state(&c, id, "ASSIGNED");

    // Another unit acting on it: PERMISSION_DENIED, nothing changed.
    assert_int_equal(CLI("--as", "8:unit", "problems", "start", ids), 1);
    assert_true(has(c.err, "PERMISSION_DENIED"));
    tt_expect_state(&c, id, "ASSIGNED");
    assert_int_equal(CLI("-o", "json", "problems", "get", ids), 0);
    assert_true(has(c.out, "\"historyCount\": 2"));

    // Submitting before starting: FAILED_PRECONDITION naming the state.
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "done", "--photo",
                         "https://oss.example.cn/after/1.jpg"),
                     1);
    assert_true(has(c.err, "FAILED_PRECONDITION") && has(c.err, "is ASSIGNED"));
    assert_int_equal(CLI("--as", "7:unit", "problems", "start", ids), 0);
    // Nor may another unit submit it, with a valid fix and all.
    assert_int_equal(CLI("--as", "8:unit", "problems", "submit", ids, "--note", "已清理", "--photo",
                         "https://oss.example.cn/after/1.jpg"),
                     1);
    assert_true(has(c.err, "PERMISSION_DENIED") && has(c.err, "not assigned to unit 8"));
    tt_expect_state(&c, id, "IN_PROGRESS");
    assert_true(has(c.out, "\"historyCount\": 3"));
    // Bad input names the field: no after-photo, then a bad one.
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "done"), 1);
    assert_true(has(c.err, "INVALID_ARGUMENT") && has(c.err, "after_photos"));
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "done", "--photo", "ftp://x/y"), 1);
    assert_true(has(c.err, "after_photos[0]"));
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "已清理", "--photo",
                         "https://oss.example.cn/after/1.jpg"),
                     0);
    tt_expect_state(&c, id, "SUBMITTED");
    assert_int_equal(CLI("--as", "insp-2:inspector", "problems", "reject", ids, "--reason", "仍有残留"), 0);
    tt_expect_state(&c, id, "IN_PROGRESS");
    assert_int_equal(CLI("--as", "7:unit", "problems", "submit", ids, "--note", "已彻底清理", "--photo",
                         "https://oss.example.cn/after/2.jpg"),
                     0);
    assert_int_equal(CLI("--as", "insp-2:inspector", "problems", "verify", ids, "--note", "销号"), 0);
    tt_expect_state(&c, id, "CLOSED");
    assert_true(has(c.out, "\"reworkCount\": 1"));
    assert_int_equal(CLI("--as", "insp-3:inspector", "problems", "verify", ids), 1);
    assert_true(has(c.err, "FAILED_PRECONDITION") && has(c.err, "is CLOSED"));

    // The history, oldest first, in CSV.
    assert_int_equal(CLI("-o", "csv", "problems", "history", ids, "--all"), 0);
    const char *want[] = {"REPORT,", "ASSIGN,", "START,", "SUBMIT,", "REJECT,", "SUBMIT,", "VERIFY,"};
    const char *p = strchr(c.out, '\n');
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_non_null(p);
        p++;
        const char *comma = strchr(p, ',');
        comma = strchr(comma + 1, ',');
        if (strncmp(comma + 1, want[i], strlen(want[i])) != 0)
            fail_msg("history line %zu: %.60s, want %s", i + 1, p, want[i]);
        p = strchr(p, '\n');
    }
    assert_true(has(c.out, "insp-2,inspector"));
    assert_true(has(c.out, "7,unit"));

    // Reassign, extend, duplicate, invalidate, cancel.
    assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "13",
                         "--area-id", "1", "--grid-id", "5", "--category", "clutter", "--description", "楼道杂物",
                         "--source", "patrol"),
                     0);
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) tt_json_u64(&c, "id"));
    assert_int_equal(CLI("problems", "assign", ids, "--unit-id", "7", "--deadline", deadline), 0);
    assert_int_equal(CLI("problems", "reassign", ids, "--unit-id", "9", "--deadline", deadline), 1);
    assert_true(has(c.err, "reason"));
    assert_int_equal(CLI("problems", "reassign", ids, "--unit-id", "9", "--deadline", deadline, "--reason",
                         "属物业管理"),
                     0);
    assert_int_equal(CLI("problems", "extend", ids, "--deadline", deadline, "--reason", "x"), 1);
    assert_true(has(c.err, "later than the current deadline"));
    assert_int_equal(CLI("-o", "json", "problems", "extend", ids, "--deadline", later, "--reason", "需协调"), 0);
    assert_true(has(c.out, "\"unitId\": \"9\""));
    assert_int_equal(CLI("--as", "insp-1:inspector", "problems", "cancel", ids, "--reason", "x"), 1);
    assert_true(has(c.err, "PERMISSION_DENIED"));
    assert_int_equal(CLI("problems", "cancel", ids, "--reason", "点位拆迁"), 0);
    tt_expect_state(&c, strtoull(ids, NULL, 10), "CANCELLED");

    assert_int_equal(CLI("-o", "json", "problems", "report", "--point-id", "14", "--area-id", "1", "--grid-id",
                         "4", "--category", "garbage", "--description", "垃圾", "--source", "citizen"),
                     0);
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) tt_json_u64(&c, "id"));
    char orig[24];
    snprintf(orig, sizeof orig, "%llu", (unsigned long long) id);
    assert_int_equal(CLI("problems", "duplicate", ids, "--duplicate-of", orig), 0);
    tt_expect_state(&c, strtoull(ids, NULL, 10), "DUPLICATE");
    assert_int_equal(CLI("problems", "invalidate", ids, "--reason", "x"), 1);
    assert_true(has(c.err, "is DUPLICATE"));

    // Fixed on the spot, by an inspector.
    assert_int_equal(CLI("--as", "insp-1:inspector", "-o", "json", "problems", "report", "--point-id", "15",
                         "--area-id", "1", "--grid-id", "5", "--category", "garbage", "--description", "散落垃圾",
                         "--source", "patrol", "--fixed-on-spot", "true", "--after-photo",
                         "https://oss.example.cn/after/9.jpg"),
                     0);
    assert_true(has(c.out, "PROBLEM_STATE_SUBMITTED"));
    assert_true(has(c.out, "\"fixedOnSpot\": true"));
}

// --- lists: CSV exports and overdue, against what the test made ---

// The problems the list tests made, as they made them: the brute force the
// CLI's lists are checked against. Areas 6 and 11 are theirs alone.
#define N_MADE 180
static tt_row made[N_MADE];
static int64_t t0;

static void
make_problems(void)
{
    if (t0 != 0)
        return;
    civic_channel *ch = th_channel(&srv);
    srandom(7);
    t0 = tt_now_ms();
    // Two in three in area 11; three in four assigned, 1 hour to 10 days out
    // (by the minute), to units 1-4; one in five of those started, one in
    // ten submitted (no longer running: never overdue).
    for (int i = 0; i < N_MADE; i++) {
        tt_row *m = &made[i];
        m->area = i % 3 == 2 ? 6 : 11, m->grid = m->area + 3, m->point = 200 + (uint64_t) i;
        m->category = 1 + i % 9;
        m->id = tt_report(ch, m->point, m->area, m->grid, m->category);
        m->state = S(REPORTED), m->deadline = INT64_MAX;
        if (i % 4 == 0)
            continue;
        m->unit = 1 + (uint64_t) (random() % 4);
        m->deadline = t0 + 3600000 + (int64_t) (random() % (10 * 24 * 60)) * 60000;
        assert_ok(tt_assign(ch, m->id, m->unit, m->deadline));
        m->state = S(ASSIGNED);
        if (i % 5 == 0) {
            assert_ok(tt_start(ch, m->id, m->unit));
            m->state = S(IN_PROGRESS);
        }
        if (i % 10 == 0) {
            assert_ok(tt_submit(ch, m->id, m->unit));
            m->state = S(SUBMITTED);
        }
    }
    civic_channel_close(ch);
}

// brute puts the ids of the made problems f selects into ids, in list order.
static size_t
brute(const tt_filter *f, uint64_t *ids)
{
    tt_row sel[N_MADE];
    size_t n = tt_brute(made, N_MADE, f, sel);
    for (size_t i = 0; i < n; i++)
        ids[i] = sel[i].id;
    return n;
}

// expect_ids fails unless the CSV the CLI printed lists exactly want.
static void
expect_ids(const char *what, const uint64_t *want, size_t nw)
{
    uint64_t got[N_MADE + 1];
    if (strncmp(c.out, "id,state,", 9) != 0)
        fail_msg("%s: no CSV header: %.80s", what, c.out);
    size_t ng = tt_csv_ids(&c, got, N_MADE + 1);
    if (ng != nw)
        fail_msg("%s: %zu rows, want %zu", what, ng, nw);
    for (size_t i = 0; i < nw; i++)
        if (got[i] != want[i])
            fail_msg("%s: row %zu is problem %llu, want %llu", what, i + 1, (unsigned long long) got[i],
                     (unsigned long long) want[i]);
}

static void
test_csv_exports_exactly_the_filtered_list(void **state)
{
    make_problems();
    uint64_t want[N_MADE];
    // Area 11, ASSIGNED: more than the default page of 50. -o csv exports
    // every page without being asked.
    size_t nw = brute(&(tt_filter){.area = 11, .state = S(ASSIGNED)}, want);
    assert_true(nw > 50);
    assert_int_equal(CLI("--as", "viewer-1:viewer", "-o", "csv", "problems", "list", "--area-id", "11",
                         "--state", "assigned"),
                     0);
    expect_ids("area 11 assigned", want, nw);
    assert_false(has(c.err, "more"));
    // An explicit page: that page alone, and stderr says there is more.
    assert_int_equal(CLI("-o", "csv", "problems", "list", "--area-id", "11", "--state", "assigned", "--page-size",
                         "7"),
                     0);
    expect_ids("area 11 assigned, --page-size 7", want, 7);
    assert_true(has(c.err, "(more: --page-token "));
    assert_int_equal(CLI("-o", "csv", "problems", "list", "--area-id", "11", "--state", "assigned", "--page-size",
                         "7", "--all"),
                     0);
    expect_ids("area 11 assigned, --page-size 7 --all", want, nw);
    // JSON with --all: one document holding every page's problems.
    assert_int_equal(CLI("-o", "json", "problems", "list", "--area-id", "11", "--state", "assigned",
                         "--page-size", "7", "--all"),
                     0);
    assert_false(has(c.out, "nextPageToken"));
    size_t docs = 0, ids = 0;
    for (const char *p = c.out; (p = strstr(p, "\"problems\"")) != NULL; p++)
        docs++;
    for (const char *p = c.out; (p = strstr(p, "\n      \"id\"")) != NULL; p++)
        ids++;
    assert_int_equal(docs, 1);
    assert_int_equal(ids, nw);
    // Every state of area 6; unassigned ones (no deadline) last.
    nw = brute(&(tt_filter){.area = 6}, want);
    assert_int_equal(CLI("-o", "csv", "problems", "list", "--area-id", "6"), 0);
    expect_ids("area 6", want, nw);
    // A table stays one page, and says how to go on.
    assert_int_equal(CLI("problems", "list", "--area-id", "11"), 0);
    assert_true(has(c.err, "(more: --page-token "));
}

static void
test_overdue_against_brute_force(void **state)
{
    make_problems();
    uint64_t want[N_MADE];
    // As of now: none of them (every deadline was in the future).
    assert_int_equal(CLI("-o", "csv", "problems", "list", "--overdue", "true", "--area-id", "11"), 0);
    expect_ids("overdue now", want, 0);
    // As of instants up to 11 days out (whole seconds, as the CLI writes
    // them), by area, unit and state, every page or pages of 3.
    int checked = 0;
    for (int k = 0; k < 12; k++) {
        int64_t as_of = (t0 / 1000 + (int64_t) (random() % (11 * 24 * 3600))) * 1000;
        uint64_t area = k % 2 ? 6 : 11, unit = k % 3 == 2 ? 1 + (uint64_t) (random() % 4) : 0;
        int st = k % 4 == 3 ? S(IN_PROGRESS) : 0;
        char at[40], a[8], u[8];
        tt_time(at, sizeof at, as_of);
        snprintf(a, sizeof a, "%llu", (unsigned long long) area);
        snprintf(u, sizeof u, "%llu", (unsigned long long) unit);
        const char *argv[24] = {"-o", "csv", "problems", "list", "--overdue", "true", "--as-of", at, "--area-id", a};
        int n = 10;
        if (unit)
            argv[n++] = "--unit-id", argv[n++] = u;
        if (st)
            argv[n++] = "--state", argv[n++] = "in-progress";
        if (k % 2)
            argv[n++] = "--page-size", argv[n++] = "3", argv[n++] = "--all";
        argv[n] = NULL;
        tt_filter f = {.area = area, .state = st, .unit = unit, .overdue = 1, .as_of = as_of};
        size_t nw = brute(&f, want);
        assert_int_equal(tt_cli_run(&c, argv), 0);
        char what[128];
        snprintf(what, sizeof what, "overdue as of %s, area %s, unit %s, state %d", at, a, u, st);
        expect_ids(what, want, nw);
        checked += (int) nw;
    }
    assert_true(checked > 20);
}

// --- two verifiers, two CLI processes ---

static void
test_two_verifiers_one_wins(void **state)
{
    civic_channel *ch = th_channel(&srv);
    for (int round = 0; round < 5; round++) {
        uint64_t id = tt_fixture(ch, TT_F_SUBMITTED, 900 + (uint64_t) round, 0);
        char ids[24], out[2][4096], err[2][4096];
        snprintf(ids, sizeof ids, "%llu", (unsigned long long) id);
        const char *who[2] = {"insp-a:inspector", "insp-b:inspector"};
        th_cli_proc p[2];
        for (int i = 0; i < 2; i++) {
            const char *argv[16];
            th_cli_start(&p[i], tt_cli_argv(&srv, argv, 16,
                                            (const char *const[]){"--as", who[i], "problems", "verify", ids, NULL}));
        }
        int rc[2];
        for (int i = 0; i < 2; i++)
            rc[i] = th_cli_wait(&p[i], out[i], sizeof out[i], err[i], sizeof err[i]);
        if ((rc[0] == 0) + (rc[1] == 0) != 1)
            fail_msg("round %d: exits %d and %d: %s / %s", round, rc[0], rc[1], err[0], err[1]);
        int loser = rc[0] == 0;
        assert_int_equal(rc[loser], 1);
        assert_true(has(err[loser], "FAILED_PRECONDITION") && has(err[loser], "is CLOSED"));
        tt_expect_state(&c, id, "CLOSED");
        // One VERIFY in the history, by the winner.
        assert_int_equal(CLI("-o", "csv", "problems", "history", ids), 0);
        int verifies = 0;
        for (const char *q = c.out; (q = strstr(q, ",VERIFY,")) != NULL; q++)
            verifies++;
        assert_int_equal(verifies, 1);
        char winner[32];
        snprintf(winner, sizeof winner, "%.*s", (int) strcspn(who[!loser], ":"), who[!loser]);
        assert_true(has(c.out, winner));
    }
    civic_channel_close(ch);
}

static int
setup(void **state)
{
    tt_server_start(&srv, 0);
    return 0;
}

static int
teardown(void **state)
{
    tt_server_finish(&srv);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_problems_life),
        cmocka_unit_test(test_csv_exports_exactly_the_filtered_list),
        cmocka_unit_test(test_overdue_against_brute_force),
        cmocka_unit_test(test_two_verifiers_one_wins),
    };
    return cmocka_run_group_tests_name("civic.tasks.cli", tests, setup, teardown);
}
