// civic-tasks bulk-load: an offline loader of synthetic problems, for
// benchmarks and scale tests (never for production data).
//
//   civic-tasks bulk-load --data DIR --count N [--areas 8] [--days 30]
//                         [--seed S] [--tz-offset-min 480]
//
// It opens the store itself (the service must be stopped) in no-sync mode
// and drives every problem through the service's own handlers — ReportProblem,
// AssignProblem, StartProblem, SubmitProblem, RejectProblem, VerifyProblem,
// MarkProblemInvalid — with a call whose time is set in the past, so records,
// history, index entries, per-day counters and events are exactly what the
// running service would have written for those calls at those times. Calls
// run in write transactions of BULK_CHUNK problems each. At the end it runs
// the day rollover (snapshots of every past day), as the service's periodic
// job would have over those days.
//
// The spread: areas 1..A; 10 grids per area (area*100 + g); 200 points per
// grid; 6 units per area; the 9 categories; reports spread evenly over the
// last D days; then, by chance: 15% left REPORTED, 22% ASSIGNED, 13%
// IN_PROGRESS, 6% reworked (submitted, rejected, back IN_PROGRESS), 9%
// SUBMITTED, 32% CLOSED, 3% INVALID. Deadlines are 2 hours to 10 days after
// assignment, so many of those still running are overdue now.
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_log.h"
#include "tasks.h"

#define BULK_CHUNK 10000
#define DAY_MS (24LL * 3600 * 1000)
#define HOUR_MS (3600LL * 1000)

typedef struct bulk {
    tasks_svc svc;
    uint64_t rng;
    int areas, days;
    int64_t now_ms;
    uint64_t todo, done; // problems in this chunk; problems loaded so far
    uint64_t transitions;
    // the writer's completion of the current chunk
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished, rc;
    char err[400];
    rt_write w;
    rt_arena arena;
} bulk;

static uint64_t
rnd(bulk *b)
{
    // splitmix64
    uint64_t z = (b->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
rnd_below(bulk *b, uint64_t n)
{
    return rnd(b) % n;
}

// later returns a time after t and before now: a fraction (5%..35%) of the
// way, at least a minute on when there is room.
static int64_t
later(bulk *b, int64_t t)
{
    int64_t room = b->now_ms - 60000 - t;
    if (room <= 60000)
        return t + (b->now_ms - t) / 2;
    return t + 60000 + (int64_t) ((double) (room - 60000) * (0.05 + 0.30 * (double) rnd_below(b, 1000) / 1000.0));
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

// call runs handler fn as principal:role at time now_ms in t; 0 or the
// handler's error (message in b->err).
static int
call(bulk *b, rt_txn *t, rt_handler fn, const char *method, const char *principal, rt_role role,
     int64_t now_ms, const void *in, void *out)
{
    rt_call c = {
        .method = method,
        .principal = principal,
        .role = role,
        .request_id = "",
        .now_ms = now_ms,
        .deadline_ms = INT64_MAX,
        .service = &b->svc,
        .peer = "",
    };
    t->principal = principal;
    t->now_ms = now_ms;
    int rc = fn(t, in, out, &c);
    b->transitions++;
    if (rc != 0)
        snprintf(b->err, sizeof b->err, "%s as %s: %s", method, principal, t->message);
    return rc;
}

// one reports a problem and moves it along its chosen path.
static int
one(bulk *b, rt_txn *t)
{
    static char *before[] = {"https://oss.example.cn/bulk/before.jpg"};
    static char *after[] = {"https://oss.example.cn/bulk/after.jpg"};
    static const Civic__Tasks__V1__ProblemSource sources[] = {
        CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_SWEEP,
        CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_PATROL,
        CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_FLYING_TEAM,
        CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_CITIZEN,
    };
    uint64_t area = 1 + rnd_below(b, (uint64_t) b->areas);
    uint64_t grid = area * 100 + rnd_below(b, 10);
    uint64_t point = grid * 1000 + rnd_below(b, 200);
    uint64_t unit = (area - 1) * 6 + 1 + rnd_below(b, 6);
    int category = 1 + (int) rnd_below(b, 9);
    char insp[24], unit_p[24];
    snprintf(insp, sizeof insp, "insp-%llu", (unsigned long long) (1 + rnd_below(b, 40)));
    snprintf(unit_p, sizeof unit_p, "%llu", (unsigned long long) unit);

    int64_t span = (int64_t) b->days * DAY_MS;
    int64_t at = b->now_ms - span + (int64_t) (rnd(b) % (uint64_t) (span - 2 * 60000));

    Civic__Tasks__V1__ReportProblemRequest rq = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__ReportProblemResponse rs = CIVIC__TASKS__V1__REPORT_PROBLEM_RESPONSE__INIT;
    rq.point_id = point;
    rq.area_id = area;
    rq.grid_id = grid;
    rq.category = (Civic__Tasks__V1__ProblemCategory) category;
    rq.description = "楼道内堆放杂物，影响通行（批量载入）";
    rq.source = sources[rnd_below(b, 4)];
    rq.before_photos = before;
    rq.n_before_photos = 1;
    rq.allow_duplicate = 1;
    if (call(b, t, handle_report_problem, "ReportProblem", insp, RT_ROLE_INSPECTOR, at, &rq, &rs))
        return -1;
    uint64_t id = rs.problem->id;

    // The path: where this problem stops.
    unsigned r = (unsigned) rnd_below(b, 100);
    enum { P_REPORTED, P_ASSIGNED, P_STARTED, P_REWORKED, P_SUBMITTED, P_CLOSED, P_INVALID } path =
        r < 15   ? P_REPORTED
        : r < 37 ? P_ASSIGNED
        : r < 50 ? P_STARTED
        : r < 56 ? P_REWORKED
        : r < 65 ? P_SUBMITTED
        : r < 97 ? P_CLOSED
                 : P_INVALID;
    if (path == P_REPORTED)
        return 0;
    if (path == P_INVALID) {
        Civic__Tasks__V1__MarkProblemInvalidRequest q = CIVIC__TASKS__V1__MARK_PROBLEM_INVALID_REQUEST__INIT;
        Civic__Tasks__V1__MarkProblemInvalidResponse s = CIVIC__TASKS__V1__MARK_PROBLEM_INVALID_RESPONSE__INIT;
        q.id = id;
        q.reason = "非辖区问题";
        return call(b, t, handle_mark_problem_invalid, "MarkProblemInvalid", insp, RT_ROLE_INSPECTOR,
                    later(b, at), &q, &s) ? -1 : 0;
    }

    at = later(b, at);
    Google__Protobuf__Timestamp dl = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    int64_t deadline = at + 2 * HOUR_MS + (int64_t) rnd_below(b, (uint64_t) (10 * DAY_MS - 2 * HOUR_MS));
    dl.seconds = deadline / 1000;
    {
        Civic__Tasks__V1__AssignProblemRequest q = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
        Civic__Tasks__V1__AssignProblemResponse s = CIVIC__TASKS__V1__ASSIGN_PROBLEM_RESPONSE__INIT;
        q.id = id;
        q.unit_id = unit;
        q.deadline = &dl;
        if (call(b, t, handle_assign_problem, "AssignProblem", insp, RT_ROLE_INSPECTOR, at, &q, &s))
            return -1;
    }
    if (path == P_ASSIGNED)
        return 0;
    for (int round = 0; round < (path == P_REWORKED ? 2 : 1); round++) {
        if (round == 0) {
            Civic__Tasks__V1__StartProblemRequest q = CIVIC__TASKS__V1__START_PROBLEM_REQUEST__INIT;
            Civic__Tasks__V1__StartProblemResponse s = CIVIC__TASKS__V1__START_PROBLEM_RESPONSE__INIT;
            q.id = id;
            at = later(b, at);
            if (call(b, t, handle_start_problem, "StartProblem", unit_p, RT_ROLE_UNIT, at, &q, &s))
                return -1;
            if (path == P_STARTED)
                return 0;
        } else {
            Civic__Tasks__V1__RejectProblemRequest q = CIVIC__TASKS__V1__REJECT_PROBLEM_REQUEST__INIT;
            Civic__Tasks__V1__RejectProblemResponse s = CIVIC__TASKS__V1__REJECT_PROBLEM_RESPONSE__INIT;
            q.id = id;
            q.reason = "未清理干净，返工";
            at = later(b, at);
            if (call(b, t, handle_reject_problem, "RejectProblem", insp, RT_ROLE_INSPECTOR, at, &q, &s))
                return -1;
            return 0;
        }
        Civic__Tasks__V1__SubmitProblemRequest q = CIVIC__TASKS__V1__SUBMIT_PROBLEM_REQUEST__INIT;
        Civic__Tasks__V1__SubmitProblemResponse s = CIVIC__TASKS__V1__SUBMIT_PROBLEM_RESPONSE__INIT;
        q.id = id;
        q.note = "已清理";
        q.after_photos = after;
        q.n_after_photos = 1;
        at = later(b, at);
        if (call(b, t, handle_submit_problem, "SubmitProblem", unit_p, RT_ROLE_UNIT, at, &q, &s))
            return -1;
        if (path == P_SUBMITTED)
            return 0;
    }
    Civic__Tasks__V1__VerifyProblemRequest q = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__VerifyProblemResponse s = CIVIC__TASKS__V1__VERIFY_PROBLEM_RESPONSE__INIT;
    q.id = id;
    return call(b, t, handle_verify_problem, "VerifyProblem", insp, RT_ROLE_INSPECTOR, later(b, at),
                &q, &s)
               ? -1
               : 0;
}

// run_chunk is the write: b->todo problems, the arena reset after each.
static int
run_chunk(rt_txn *t, rt_write *w)
{
    bulk *b = (bulk *) ((char *) w - offsetof(bulk, w));
    for (uint64_t i = 0; i < b->todo; i++) {
        if (one(b, t) != 0) {
            b->rc = 1;
            return 0;
        }
        rt_arena_reset(&b->arena);
    }
    return 1;
}

// run_rollover snapshots every past day, as the service's periodic job does.
static int
run_rollover(rt_txn *t, rt_write *w)
{
    bulk *b = (bulk *) ((char *) w - offsetof(bulk, w));
    while (tasks_rollover(t, &b->svc) == 1)
        rt_arena_reset(&b->arena);
    if (rt_txn_status(t)) {
        snprintf(b->err, sizeof b->err, "rollover: %s", t->message);
        b->rc = 1;
        return 0;
    }
    return 1;
}

static void
chunk_done(rt_write *w, int rc, const char *why)
{
    bulk *b = (bulk *) ((char *) w - offsetof(bulk, w));
    pthread_mutex_lock(&b->mu);
    if (rc != 0 && b->rc == 0) {
        b->rc = rc;
        snprintf(b->err, sizeof b->err, "commit: %s", why ? why : "failed");
    }
    b->finished = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

// submit runs fn as one write on the store's writer and waits for it.
static int
submit(bulk *b, rt_store *st, int (*fn)(rt_txn *, rt_write *))
{
    b->w = (rt_write){.deadline_ms = INT64_MAX, .run = fn, .done = chunk_done, .arena = &b->arena,
                      .principal = "system", .now_ms = b->now_ms};
    b->finished = 0;
    int rc = rt_store_submit(st, &b->w);
    if (rc != 0) {
        snprintf(b->err, sizeof b->err, "cannot submit the write: %s", civic_code_name(rc));
        return 1;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->finished)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return b->rc;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: civic-tasks bulk-load --data DIR --count N [--areas 8] [--days 30]\n"
               "                             [--seed 1] [--tz-offset-min 480]\n"
               "\n"
               "For benchmarks and scale tests only: with the service stopped, adds N synthetic\n"
               "problems to the store in DIR through the service's own handlers (records,\n"
               "history, indexes, per-day counters and events as the service writes them),\n"
               "reported over the last D days in A areas and moved on to every state, with\n"
               "deadlines past and future. DIR must hold no problems yet (a fresh data directory).\n"
               "Commits WITHOUT fsync (unsafe no-sync mode): a\n"
               "crash while loading can lose or corrupt the store.\n");
}

int
tasks_bulk_main(int argc, char **argv)
{
    const char *dir = NULL;
    long long count = -1, areas = 8, days = 30, tz = 480;
    unsigned long long seed = 1;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (v == NULL) {
            usage(stderr);
            return 2;
        }
        char *end = NULL;
        if (strcmp(k, "--data") == 0)
            dir = v;
        else if (strcmp(k, "--count") == 0)
            count = strtoll(v, &end, 10);
        else if (strcmp(k, "--areas") == 0)
            areas = strtoll(v, &end, 10);
        else if (strcmp(k, "--days") == 0)
            days = strtoll(v, &end, 10);
        else if (strcmp(k, "--seed") == 0)
            seed = strtoull(v, &end, 10);
        else if (strcmp(k, "--tz-offset-min") == 0)
            tz = strtoll(v, &end, 10);
        else {
            fprintf(stderr, "civic-tasks bulk-load: unknown option %s\n", k);
            usage(stderr);
            return 2;
        }
        if (end != NULL && (*end != '\0' || end == v)) {
            fprintf(stderr, "civic-tasks bulk-load: %s: not a number: %s\n", k, v);
            return 2;
        }
        i++;
    }
    if (dir == NULL || count < 0 || areas < 1 || areas > 100000 || days < 1 || days > 365 ||
        tz < -14 * 60 || tz > 14 * 60) {
        usage(stderr);
        return 2;
    }
    rt_log_init("civic-tasks", RT_LOG_WARN);
    rt_store_opts so = {.dbs = tasks_dbs, .schema_version = 1, .unsafe_no_sync = 1};
    rt_store *st;
    char err[512];
    if (rt_store_open(&st, dir, &so, err, sizeof err) != 0) {
        fprintf(stderr, "civic-tasks bulk-load: %s (is the service still running?)\n", err);
        return 1;
    }
    bulk *b = calloc(1, sizeof *b);
    if (b == NULL) {
        rt_store_close(st);
        return 1;
    }
    tasks_open_svc(&b->svc, st, (int) tz);
    b->rng = seed;
    b->areas = (int) areas;
    b->days = (int) days;
    b->now_ms = civic_wall_ms();
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    rt_arena_init(&b->arena, 64u << 20);

    // Only into an empty store: its days already have snapshots, and a write
    // never changes a past day, so loaded history would all count today.
    int rc = 0;
    rt_txn rt;
    MDB_txn *cache = NULL;
    MDB_stat ms = {0};
    if (rt_read_begin(st, &rt, &b->arena, &cache) != 0 || mdb_stat(rt.txn, b->svc.problems, &ms) != 0) {
        snprintf(b->err, sizeof b->err, "cannot read the store");
        rc = 1;
    } else if (ms.ms_entries > 0) {
        snprintf(b->err, sizeof b->err, "the store in %s holds %zu problems: bulk-load fills an empty one",
                 dir, (size_t) ms.ms_entries);
        rc = 1;
    }
    if (cache != NULL || rt.txn != NULL) {
        rt_read_end(&rt, &cache);
        rt_read_release(&cache);
    }
    double t0 = mono_s(), last = t0;
    while (rc == 0 && b->done < (uint64_t) count) {
        uint64_t left = (uint64_t) count - b->done;
        b->todo = left < BULK_CHUNK ? left : BULK_CHUNK;
        rc = submit(b, st, run_chunk);
        rt_arena_reset(&b->arena);
        if (rc == 0)
            b->done += b->todo;
        double now = mono_s();
        if (rc == 0 && (now - last >= 2 || b->done == (uint64_t) count)) {
            fprintf(stderr, "bulk-load: %llu/%lld problems, %.0f/s\n", (unsigned long long) b->done,
                    count, (double) b->done / (now - t0));
            last = now;
        }
    }
    double t_load = mono_s() - t0;
    if (rc == 0)
        rc = submit(b, st, run_rollover);
    double t_all = mono_s() - t0;
    if (rc != 0)
        fprintf(stderr, "civic-tasks bulk-load: failed after %llu problems: %s\n",
                (unsigned long long) b->done, b->err);
    else
        fprintf(stderr,
                "bulk-load: %llu problems (%llu calls) in %.1f s: %.0f problems/s; "
                "rollover %.1f s\n",
                (unsigned long long) b->done, (unsigned long long) b->transitions, t_load,
                t_load > 0 ? (double) b->done / t_load : 0.0, t_all - t_load);
    rt_store_close(st);
    rt_arena_fini(&b->arena);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
    return rc == 0 ? 0 : 1;
}
