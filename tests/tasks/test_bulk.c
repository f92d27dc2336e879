// civic.tasks.bulk: `civic-tasks bulk-load` writes what the service writes.
// A store it filled passes the index and history audit (tt_audit), and its
// per-day counters agree with a brute-force replay of every problem's
// history: the daily report of each loaded day (every area, and each area
// alone), read through the service's own handler, matches reported,
// submitted, closed, rejected on the day and open and overdue at its end.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_check.h"
#include "tasks.h"
#include "tasks_th.h"

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x
#define COUNT 3000
#define AREAS 4
#define DAYS 8
#define NDAYS (DAYS + 2) // the loaded days and today
#define TZ 480

enum { B_REP, B_SUB, B_CLO, B_REJ, B_OPEN, B_OVER, B_N };

static int
is_open(int s)
{
    return s >= S(REPORTED) && s <= S(SUBMITTED);
}

static int
is_running(int s)
{
    return s == S(ASSIGNED) || s == S(IN_PROGRESS);
}

static int64_t
ts_ms(const Google__Protobuf__Timestamp *ts)
{
    return ts ? ts->seconds * 1000 + ts->nanos / 1000000 : INT64_MAX;
}

// brute[area][day index][field], area 0 all.
static int64_t brute[AREAS + 1][NDAYS][B_N];

// replay adds problem p (with its history h[0..n)) to brute over the days
// first .. first + NDAYS - 1.
static void
replay(const tasks_problem *p, tasks_entry *const *h, size_t n, int32_t first)
{
    assert_true(p->area_id >= 1 && p->area_id <= AREAS);
    for (int k = 0; k < NDAYS; k++) {
        int32_t day = rt_day_add(first, k);
        int64_t end = rt_day_start_ms(rt_day_add(day, 1), TZ);
        const tasks_entry *last = NULL;
        int64_t f[B_N] = {0};
        for (size_t i = 0; i < n; i++) {
            const tasks_entry *e = h[i];
            int64_t t = ts_ms(e->time);
            if (t >= end)
                break;
            last = e;
            if (rt_local_day(t, TZ) != day)
                continue;
            int from = e->from_state, to = e->to_state;
            f[B_REP] += from == 0;
            f[B_SUB] += to == S(SUBMITTED) && from != to;
            f[B_CLO] += to == S(CLOSED) && from != to;
            f[B_REJ] += from == S(SUBMITTED) && (to == S(IN_PROGRESS) || to == S(REPORTED));
        }
        if (last != NULL) {
            f[B_OPEN] = is_open(last->to_state);
            f[B_OVER] = is_running(last->to_state) && ts_ms(last->deadline) < end;
        }
        for (int j = 0; j < B_N; j++) {
            brute[0][k][j] += f[j];
            brute[p->area_id][k][j] += f[j];
        }
    }
}

static void
check(const Civic__Tasks__V1__DailyCounts *c, const int64_t *b, uint64_t area, int32_t day)
{
    int64_t got[B_N] = {0};
    if (c)
        got[0] = c->reported, got[1] = c->submitted, got[2] = c->closed, got[3] = c->rejected,
        got[4] = c->open, got[5] = c->overdue;
    for (int f = 0; f < B_N; f++)
        if (got[f] != b[f])
            fail_msg("area %llu day %d field %d: report %lld, replay of the history %lld",
                     (unsigned long long) area, (int) day, f, (long long) got[f], (long long) b[f]);
}

static void
test_bulk_load_consistent(void **state)
{
    (void) state;
    char dir[256], data[300], cmd[1024];
    th_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(cmd, sizeof cmd, "'%s' bulk-load --data '%s' --count %d --areas %d --days %d --seed 11",
             CIVIC_TASKS_BIN, data, COUNT, AREAS, DAYS);
    assert_int_equal(system(cmd), 0);
    // It fills only an empty store (past days have their snapshots now).
    snprintf(cmd, sizeof cmd, "'%s' bulk-load --data '%s' --count 500 2>/dev/null", CIVIC_TASKS_BIN, data);
    assert_int_not_equal(system(cmd), 0);
    // Bad arguments are refused.
    snprintf(cmd, sizeof cmd, "'%s' bulk-load --data '%s' 2>/dev/null", CIVIC_TASKS_BIN, data);
    assert_int_not_equal(system(cmd), 0);

    tt_audit(data); // indexes and histories

    rt_store *st;
    char err[512] = "";
    rt_store_opts o = {.dbs = tasks_dbs, .schema_version = 1};
    if (rt_store_open(&st, data, &o, err, sizeof err) != 0)
        fail_msg("open %s: %s", data, err);
    tasks_svc s;
    tasks_open_svc(&s, st, TZ);
    rt_arena a;
    rt_arena_init(&a, 256u << 20);
    rt_txn t;
    MDB_txn *cache = NULL;
    assert_int_equal(rt_read_begin(st, &t, &a, &cache), 0);

    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    int64_t now = (int64_t) now_ts.tv_sec * 1000;
    int32_t today = rt_local_day(now, TZ);
    int32_t first = rt_day_add(today, -(NDAYS - 1));

    // Replay every problem's history.
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(t.txn, s.problems, &c), 0);
    MDB_val k, v;
    size_t problems = 0, states[TASKS_N_STATES] = {0};
    int64_t reworked = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        tasks_problem *p = civic__tasks__v1__problem__unpack(NULL, v.mv_size, v.mv_data);
        assert_non_null(p);
        tasks_entry *h[16];
        assert_true(p->history_count >= 1 && p->history_count <= 16);
        for (uint64_t i = 0; i < p->history_count; i++) {
            h[i] = tasks_history_get(&t, &s, p->id, i + 1);
            assert_non_null(h[i]);
        }
        replay(p, h, p->history_count, first);
        problems++;
        states[p->state]++;
        reworked += p->rework_count > 0;
        civic__tasks__v1__problem__free_unpacked(p, NULL);
        rt_arena_reset(&a);
    }
    mdb_cursor_close(c);
    assert_int_equal(problems, COUNT);
    // Every state the loader promises is there.
    assert_true(states[S(REPORTED)] > 0 && states[S(ASSIGNED)] > 0 && states[S(IN_PROGRESS)] > 0 &&
                states[S(SUBMITTED)] > 0 && states[S(CLOSED)] > 0 && states[S(INVALID)] > 0);
    assert_true(reworked > 0);
    assert_true(brute[0][NDAYS - 1][B_OVER] > 0); // some are overdue now

    // The daily report of every day, through the service's handler.
    rt_call call = {.method = TT "GetDailyReport", .principal = "viewer-1", .role = RT_ROLE_VIEWER,
                    .request_id = "", .now_ms = now, .deadline_ms = INT64_MAX, .service = &s, .peer = ""};
    for (int d = 0; d < NDAYS; d++) {
        int32_t day = rt_day_add(first, d);
        for (uint64_t area = 0; area <= AREAS; area++) {
            Civic__Tasks__V1__GetDailyReportRequest q = CIVIC__TASKS__V1__GET_DAILY_REPORT_REQUEST__INIT;
            Civic__Tasks__V1__GetDailyReportResponse r = CIVIC__TASKS__V1__GET_DAILY_REPORT_RESPONSE__INIT;
            q.day = day;
            q.area_id = area;
            if (handle_get_daily_report(&t, &q, &r, &call) != 0)
                fail_msg("GetDailyReport day %d area %llu: %s", (int) day, (unsigned long long) area,
                         t.message);
            check(r.total, brute[area][d], area, day);
        }
        rt_arena_reset(&a);
    }
    rt_read_end(&t, &cache);
    rt_read_release(&cache);
    rt_arena_fini(&a);
    rt_store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_load_consistent),
    };
    return cmocka_run_group_tests_name("civic.tasks.bulk", tests, NULL, NULL);
}
