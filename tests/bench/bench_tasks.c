// civic-bench modes for the tasks service: durable writes of problems.
//
//   report-problem  ReportProblem at a new point per call (no duplicate hit,
//                   so every call writes the problem, its indexes, history
//                   and event)
//   daily-report    GetDailyReport for today, every area (reads the per-day
//                   counters: its cost follows cells and days, not problems)
//   summary         GetSummary: the dashboard, every area
//   overdue-page    ListProblems of area 1, overdue as of now, first page of 50
//
// The three reads are the scale figures of tests/bench/tasks_scale.sh, run
// against a store civic-tasks bulk-load filled.
//   assign-problem  ReassignProblem over a pool of assigned problems made in
//                   setup: each call moves a problem to another unit with a
//                   new deadline (indexes, history, event)
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "civic/tasks/v1/tasks.pb-c.h"

#define T "/civic.tasks.v1.TasksService/"
#define POOL 256

typedef struct pool {
    uint64_t ids[POOL];
} pool;

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
report_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Tasks__V1__ReportProblemRequest req = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
    char *photos[] = {"https://oss.example.cn/civic-bench/before.jpg"};
    req.point_id = 1 + n; // a new point each call: never a duplicate
    req.area_id = 1 + 5 * (n % 8);
    req.grid_id = req.area_id + 3 + n % 2;
    req.category = (Civic__Tasks__V1__ProblemCategory) (1 + n % 9);
    req.description = "楼道内堆放杂物（基准测试）";
    req.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_SWEEP;
    req.before_photos = photos;
    req.n_before_photos = 1;
    return civic__tasks__v1__report_problem_request__pack(&req, buf);
}

// pool_setup reports POOL problems (at points far from report-problem's)
// and assigns each.
static int
pool_setup(civic_channel *ch, void **ctx)
{
    pool *p = calloc(1, sizeof *p);
    for (int i = 0; i < POOL; i++) {
        Civic__Tasks__V1__ReportProblemRequest r = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
        r.point_id = 100000000 + (uint64_t) i;
        r.area_id = 1;
        r.grid_id = 4;
        r.category = CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_GARBAGE;
        r.description = "垃圾（基准测试）";
        r.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_PATROL;
        r.allow_duplicate = 1;
        ProtobufCMessage *resp;
        if (bench_call(ch, T "ReportProblem", &r.base, &civic__tasks__v1__report_problem_response__descriptor, &resp))
            goto fail;
        p->ids[i] = ((Civic__Tasks__V1__ReportProblemResponse *) resp)->problem->id;
        protobuf_c_message_free_unpacked(resp, NULL);
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = wall_ms() / 1000 + 7 * 86400;
        Civic__Tasks__V1__AssignProblemRequest a = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
        a.id = p->ids[i];
        a.unit_id = 1;
        a.deadline = &ts;
        if (bench_call(ch, T "AssignProblem", &a.base, &civic__tasks__v1__assign_problem_response__descriptor, &resp))
            goto fail;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    *ctx = p;
    return 0;
fail:
    free(p);
    return -1;
}

static size_t
reassign_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Tasks__V1__ReassignProblemRequest req = CIVIC__TASKS__V1__REASSIGN_PROBLEM_REQUEST__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = wall_ms() / 1000 + 3 * 86400 + (int64_t) (n % 86400);
    req.id = ctx ? ((pool *) ctx)->ids[n % POOL] : 1;
    req.unit_id = 1 + n % 55;
    req.deadline = &ts;
    req.reason = "调整责任单位（基准测试）";
    return civic__tasks__v1__reassign_problem_request__pack(&req, buf);
}

static size_t
daily_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Tasks__V1__GetDailyReportRequest req = CIVIC__TASKS__V1__GET_DAILY_REPORT_REQUEST__INIT;
    return civic__tasks__v1__get_daily_report_request__pack(&req, buf); // day 0: today; every area
}

static size_t
summary_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Tasks__V1__GetSummaryRequest req = CIVIC__TASKS__V1__GET_SUMMARY_REQUEST__INIT;
    return civic__tasks__v1__get_summary_request__pack(&req, buf);
}

static size_t
overdue_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
    req.area_id = 1;
    req.overdue = 1; // as of the server's now
    req.page_size = 50;
    return civic__tasks__v1__list_problems_request__pack(&req, buf);
}

const bench_mode bench_tasks_modes[] = {
    {"report-problem", T "ReportProblem", 1, NULL, report_payload},
    {"assign-problem", T "ReassignProblem", 1, pool_setup, reassign_payload},
    {"daily-report", T "GetDailyReport", 0, NULL, daily_payload},
    {"summary", T "GetSummary", 0, NULL, summary_payload},
    {"overdue-page", T "ListProblems", 0, NULL, overdue_payload},
    {NULL, NULL, 0, NULL, NULL},
};
