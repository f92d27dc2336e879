// civic.tasks.reports: the daily report, the summary and the notices
// against a brute-force computation over random problems and transitions
// spread over six days, under the TEST-ONLY clock (civic-tasks --test-clock:
// each call names its time in x-civic-test-now-ms), so days pass and
// deadlines fall due with no write and no waiting. Every past day is asked
// again at the end and must answer as it did on its own day. Then
// concurrent progress reports with idempotency keys (each sent twice) must
// add up exactly.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_check.h"
#include "tasks_th.h"

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x
#define N_MAX 400
#define DAYS 6
#define TZ 480

static th_server srv;
static civic_channel *ch;

typedef struct snap {
    int64_t t;
    uint64_t id, area, unit;
    int cat, state, from, rework;
    int64_t deadline; // 0: none
} snap;

static snap *logv;
static size_t nlog;
static snap cur[N_MAX + 1];
static size_t nprob;

static int
call_at(int64_t now, const char *principal, const char *role, const char *method,
        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp,
        const char *idem)
{
    char nb[32];
    snprintf(nb, sizeof nb, "%lld", (long long) now);
    const char *md[] = {"x-civic-principal", principal, "x-civic-role", role, "x-civic-test-now-ms", nb};
    civic_status st;
    civic_call_opts o = {.timeout_ms = 20000, .metadata = md, .n_metadata = 3, .idempotency_key = idem};
    *resp = NULL;
    int rc = civic_call(ch, method, req, out, resp, &o, &st);
    if (rc != 0 && rc != CIVIC_FAILED_PRECONDITION)
        fail_msg("%s: %s: %s", method, civic_code_name(st.code), st.message);
    return rc;
}

static void
record(int64_t now, const tt_problem *p, int from)
{
    snap s = {now, p->id, p->area_id, p->unit_id, p->category, p->state, from, (int) p->rework_count,
              p->deadline ? p->deadline->seconds * 1000 + p->deadline->nanos / 1000000 : 0};
    cur[p->id] = s;
    logv[nlog++] = s;
}

// one random move at time now
static void
step(int64_t now, unsigned *rnd)
{
    ProtobufCMessage *resp = NULL;
    Google__Protobuf__Timestamp ts;
    int r = rand_r(rnd) % 100;
    if (nprob < 20 || (r < 22 && nprob < N_MAX)) {
        Civic__Tasks__V1__ReportProblemRequest q = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
        q.area_id = 1 + (uint64_t) (rand_r(rnd) % 3);
        q.point_id = 100 + (uint64_t) (rand_r(rnd) % 50);
        q.grid_id = q.area_id + 3;
        q.category = 1 + rand_r(rnd) % 4;
        q.description = "测试";
        q.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_SWEEP;
        q.allow_duplicate = 1;
        char *ph[] = {"https://x.example.cn/a.jpg"};
        if (rand_r(rnd) % 10 == 0)
            q.fixed_on_spot = 1, q.after_photos = ph, q.n_after_photos = 1;
        call_at(now, "insp", "inspector", TT "ReportProblem", &q.base,
                &civic__tasks__v1__report_problem_response__descriptor, &resp, NULL);
        tt_problem *p = ((Civic__Tasks__V1__ReportProblemResponse *) resp)->problem;
        nprob = p->id;
        record(now, p, 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        return;
    }
    snap *c = &cur[1 + rand_r(rnd) % nprob];
    char unit[24];
    snprintf(unit, sizeof unit, "%llu", (unsigned long long) c->unit);
    int64_t dl = now + 3600000LL * (4 + rand_r(rnd) % 60);
    const char *m = NULL, *who = "insp", *role = "inspector";
    const ProtobufCMessageDescriptor *od = NULL;
    ProtobufCMessage *req = NULL;
    Civic__Tasks__V1__AssignProblemRequest as = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__ReassignProblemRequest ra = CIVIC__TASKS__V1__REASSIGN_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__StartProblemRequest sa = CIVIC__TASKS__V1__START_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__SubmitProblemRequest su = CIVIC__TASKS__V1__SUBMIT_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__VerifyProblemRequest ve = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__RejectProblemRequest rj = CIVIC__TASKS__V1__REJECT_PROBLEM_REQUEST__INIT;
    Civic__Tasks__V1__CancelProblemRequest ca = CIVIC__TASKS__V1__CANCEL_PROBLEM_REQUEST__INIT;
    char *ph[] = {"https://x.example.cn/b.jpg"};
    switch (c->state) {
    case S(REPORTED):
        as.id = c->id, as.unit_id = 1 + (uint64_t) (rand_r(rnd) % 5), as.deadline = tt_ts(&ts, dl);
        m = "AssignProblem", req = &as.base, od = &civic__tasks__v1__assign_problem_response__descriptor;
        break;
    case S(ASSIGNED):
    case S(IN_PROGRESS):
        if (r < 45) {
            ra.id = c->id, ra.unit_id = 1 + (uint64_t) (rand_r(rnd) % 5), ra.deadline = tt_ts(&ts, dl);
            ra.reason = "换单位";
            m = "ReassignProblem", req = &ra.base, od = &civic__tasks__v1__reassign_problem_response__descriptor;
        } else if (r < 52) {
            ca.id = c->id, ca.reason = "撤销";
            m = "CancelProblem", req = &ca.base, od = &civic__tasks__v1__cancel_problem_response__descriptor;
            role = "admin", who = "adm";
        } else if (c->state == S(ASSIGNED)) {
            sa.id = c->id;
            m = "StartProblem", req = &sa.base, od = &civic__tasks__v1__start_problem_response__descriptor;
            who = unit, role = "unit";
        } else {
            su.id = c->id, su.note = "整改完成", su.after_photos = ph, su.n_after_photos = 1;
            m = "SubmitProblem", req = &su.base, od = &civic__tasks__v1__submit_problem_response__descriptor;
            who = unit, role = "unit";
        }
        break;
    case S(SUBMITTED):
        if (r < 60) {
            ve.id = c->id;
            m = "VerifyProblem", req = &ve.base, od = &civic__tasks__v1__verify_problem_response__descriptor;
        } else {
            rj.id = c->id, rj.reason = "返工";
            m = "RejectProblem", req = &rj.base, od = &civic__tasks__v1__reject_problem_response__descriptor;
        }
        break;
    default:
        return;
    }
    char full[128];
    snprintf(full, sizeof full, TT "%s", m);
    if (call_at(now, who, role, full, req, od, &resp, NULL) != 0)
        fail_msg("%s of problem %llu refused", m, (unsigned long long) c->id);
    // every move's response holds the problem as its first field
    tt_problem *p = *(tt_problem **) ((char *) resp + sizeof(ProtobufCMessage));
    record(now, p, c->state);
    protobuf_c_message_free_unpacked(resp, NULL);
}

// --- brute force ---

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

// brute counts day's figures, for area (0: all) or unit (unit_sel), into b.
static void
brute(int32_t day, uint64_t area, int64_t *b)
{
    memset(b, 0, B_N * sizeof *b);
    int64_t end = rt_day_start_ms(rt_day_add(day, 1), TZ);
    static snap last[N_MAX + 1];
    memset(last, 0, sizeof last);
    for (size_t i = 0; i < nlog; i++) {
        const snap *s = &logv[i];
        if (s->t >= end)
            break;
        last[s->id] = *s;
        if (rt_local_day(s->t, TZ) != day || (area && s->area != area))
            continue;
        if (s->from == 0)
            b[B_REP]++;
        if (s->state == S(SUBMITTED) && s->from != s->state)
            b[B_SUB]++;
        if (s->state == S(CLOSED) && s->from != s->state)
            b[B_CLO]++;
        if (s->from == S(SUBMITTED) && (s->state == S(IN_PROGRESS) || s->state == S(REPORTED)))
            b[B_REJ]++;
    }
    for (size_t id = 1; id <= N_MAX; id++) {
        const snap *s = &last[id];
        if (s->id == 0 || (area && s->area != area))
            continue;
        b[B_OPEN] += is_open(s->state);
        b[B_OVER] += is_running(s->state) && s->deadline < end;
    }
}

static void
check_counts(const Civic__Tasks__V1__DailyCounts *c, const int64_t *b, const char *what, int32_t day)
{
    int64_t got[B_N] = {0};
    if (c)
        got[0] = c->reported, got[1] = c->submitted, got[2] = c->closed, got[3] = c->rejected,
        got[4] = c->open, got[5] = c->overdue;
    for (int f = 0; f < B_N; f++)
        if (got[f] != b[f])
            fail_msg("%s day %d field %d: service %lld, brute force %lld", what, (int) day, f,
                     (long long) got[f], (long long) b[f]);
}

static Civic__Tasks__V1__GetDailyReportResponse *
report(int64_t now, int32_t day, uint64_t area)
{
    Civic__Tasks__V1__GetDailyReportRequest q = CIVIC__TASKS__V1__GET_DAILY_REPORT_REQUEST__INIT;
    q.day = day, q.area_id = area;
    ProtobufCMessage *resp;
    call_at(now, "v", "viewer", TT "GetDailyReport", &q.base,
            &civic__tasks__v1__get_daily_report_response__descriptor, &resp, NULL);
    return (Civic__Tasks__V1__GetDailyReportResponse *) resp;
}

static void
check_day(int64_t now, int32_t day)
{
    int64_t b[B_N];
    for (uint64_t area = 0; area <= 3; area++) {
        Civic__Tasks__V1__GetDailyReportResponse *r = report(now, day, area);
        brute(day, area, b);
        check_counts(r->total, b, area ? "area report" : "report", day);
        if (area == 0) {
            // the per-area roll-up of the full report agrees too
            for (uint64_t a = 1; a <= 3; a++) {
                const Civic__Tasks__V1__DailyCounts *c = NULL;
                for (size_t i = 0; i < r->n_areas; i++)
                    if (r->areas[i]->area_id == a)
                        c = r->areas[i]->counts;
                brute(day, a, b);
                check_counts(c, b, "areas roll-up", day);
            }
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
}

static void
check_summary_notices(int64_t now)
{
    int32_t today = rt_local_day(now, TZ);
    int64_t start = rt_day_start_ms(today, TZ), end = rt_day_start_ms(rt_day_add(today, 1), TZ);
    int64_t open[4] = {0}, over[4] = {0}, due[4] = {0}, closed[4] = {0}, uo[8] = {0}, uw[8] = {0};
    for (size_t id = 1; id <= nprob; id++) {
        const snap *s = &cur[id];
        open[s->area] += is_open(s->state);
        over[s->area] += is_running(s->state) && s->deadline < start;
        due[s->area] += is_running(s->state) && s->deadline >= start && s->deadline < end;
        uo[s->unit] += is_running(s->state) && s->deadline < start;
        uw[s->unit] += is_open(s->state) && s->rework > 0;
    }
    for (size_t i = 0; i < nlog; i++)
        if (logv[i].t >= start && logv[i].state == S(CLOSED) && logv[i].from != S(CLOSED))
            closed[logv[i].area]++;
    Civic__Tasks__V1__GetSummaryRequest q = CIVIC__TASKS__V1__GET_SUMMARY_REQUEST__INIT;
    ProtobufCMessage *resp;
    call_at(now, "v", "viewer", TT "GetSummary", &q.base, &civic__tasks__v1__get_summary_response__descriptor,
            &resp, NULL);
    Civic__Tasks__V1__GetSummaryResponse *sm = (Civic__Tasks__V1__GetSummaryResponse *) resp;
    for (uint64_t a = 1; a <= 3; a++) {
        int64_t got[4] = {0};
        for (size_t i = 0; i < sm->n_areas; i++)
            if (sm->areas[i]->area_id == a)
                got[0] = sm->areas[i]->open, got[1] = sm->areas[i]->overdue,
                got[2] = sm->areas[i]->due_today, got[3] = sm->areas[i]->closed_today;
        int64_t want[4] = {open[a], over[a], due[a], closed[a]};
        for (int f = 0; f < 4; f++)
            if (got[f] != want[f])
                fail_msg("summary area %llu field %d: %lld, brute force %lld", (unsigned long long) a, f,
                         (long long) got[f], (long long) want[f]);
    }
    protobuf_c_message_free_unpacked(resp, NULL);

    Civic__Tasks__V1__ListNoticesRequest nq = CIVIC__TASKS__V1__LIST_NOTICES_REQUEST__INIT;
    nq.problems_per_unit = 100;
    call_at(now, "v", "viewer", TT "ListNotices", &nq.base, &civic__tasks__v1__list_notices_response__descriptor,
            &resp, NULL);
    Civic__Tasks__V1__ListNoticesResponse *nl = (Civic__Tasks__V1__ListNoticesResponse *) resp;
    size_t want_units = 0;
    for (int u = 1; u < 8; u++)
        want_units += uo[u] > 0 || uw[u] > 0;
    assert_int_equal(nl->n_notices, want_units);
    for (size_t i = 0; i < nl->n_notices; i++) {
        const Civic__Tasks__V1__Notice *n = nl->notices[i];
        assert_int_equal(n->overdue, uo[n->unit_id]);
        assert_int_equal(n->reworked, uw[n->unit_id]);
        if (i > 0)
            assert_true(nl->notices[i - 1]->overdue + nl->notices[i - 1]->reworked >= n->overdue + n->reworked);
        size_t want_p = 0;
        for (size_t id = 1; id <= nprob; id++) {
            const snap *s = &cur[id];
            want_p += s->unit == n->unit_id && ((is_running(s->state) && s->deadline < start) ||
                                                 (is_open(s->state) && s->rework > 0));
        }
        assert_int_equal(n->n_problems, want_p);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
}

static void
test_reports_against_brute_force(void **state)
{
    (void) state;
    logv = calloc(20000, sizeof *logv);
    unsigned rnd = 6;
    int32_t day0 = rt_day_add(rt_local_day(tt_now_ms(), TZ), 1);
    int64_t t = rt_day_start_ms(day0, TZ) + 8 * 3600000LL;
    for (int d = 0; d < DAYS; d++) {
        int32_t day = rt_day_add(day0, d);
        int64_t t_end = rt_day_start_ms(rt_day_add(day, 1), TZ);
        for (int i = 0; i < 200 && t < t_end - 60000; i++) {
            step(t, &rnd);
            t += 1000 + rand_r(&rnd) % 200000;
        }
        check_day(t_end - 1, day);   // at its last instant
        check_summary_notices(t_end - 1);
        t = t_end + 7 * 3600000LL;
    }
    // two days with no write at all: deadlines pass on their own
    int32_t quiet = rt_day_add(day0, DAYS + 1);
    int64_t qt = rt_day_start_ms(quiet, TZ) + 12 * 3600000LL;
    check_day(qt, rt_day_add(day0, DAYS));
    check_day(qt, quiet);
    check_summary_notices(qt);
    // every past day again, after rollovers: the same answer
    for (int d = 0; d < DAYS; d++)
        check_day(qt + 3600000LL, rt_day_add(day0, d));
    print_message("%zu problems, %zu transitions over %d days checked\n", nprob, nlog, DAYS + 2);
    free(logv);
}

// --- works ---

typedef struct worker {
    uint64_t id;
    int k;
} worker;

static void *
progress_thread(void *arg)
{
    worker *w = arg;
    civic_channel *c = th_channel(&srv);
    for (int i = 0; i < 25; i++) {
        Civic__Tasks__V1__ReportWorkProgressRequest r = CIVIC__TASKS__V1__REPORT_WORK_PROGRESS_REQUEST__INIT;
        r.id = w->id, r.delta = 1 + (w->k + i) % 3, r.note = "进展";
        char key[40];
        snprintf(key, sizeof key, "p-%d-%d", w->k, i);
        for (int rep = 0; rep < 2; rep++) { // a retry: must add nothing
            const char *md[] = {"x-civic-principal", "7", "x-civic-role", "unit"};
            civic_call_opts o = {.timeout_ms = 20000, .metadata = md, .n_metadata = 2, .idempotency_key = key};
            ProtobufCMessage *resp;
            civic_status st;
            if (civic_call(c, TT "ReportWorkProgress", &r.base,
                           &civic__tasks__v1__report_work_progress_response__descriptor, &resp, &o, &st) != 0)
                fail_msg("progress: %s", st.message);
            protobuf_c_message_free_unpacked(resp, NULL);
        }
    }
    civic_channel_close(c);
    return NULL;
}

static void
test_work_progress_concurrent(void **state)
{
    (void) state;
    int64_t now = tt_now_ms() + 30 * TT_DAY_MS; // after the report test's days
    Google__Protobuf__Timestamp ts;
    Civic__Tasks__V1__CreateWorkRequest c = CIVIC__TASKS__V1__CREATE_WORK_REQUEST__INIT;
    c.name = "楼道粉刷", c.area_id = 1, c.unit_id = 7, c.target = 400, c.measure = "个楼道";
    c.deadline = tt_ts(&ts, now + 10 * TT_DAY_MS);
    ProtobufCMessage *resp;
    call_at(now, "adm", "admin", TT "CreateWork", &c.base, &civic__tasks__v1__create_work_response__descriptor,
            &resp, NULL);
    uint64_t id = ((Civic__Tasks__V1__CreateWorkResponse *) resp)->work->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    // another unit may not report on it
    Civic__Tasks__V1__ReportWorkProgressRequest r = CIVIC__TASKS__V1__REPORT_WORK_PROGRESS_REQUEST__INIT;
    r.id = id, r.delta = 5, r.note = "x";
    assert_int_equal(tt_call(ch, "8", "unit", TT "ReportWorkProgress", &r.base,
                             &civic__tasks__v1__report_work_progress_response__descriptor, &resp, NULL),
                     CIVIC_PERMISSION_DENIED);
    pthread_t th[8];
    worker w[8];
    int64_t want = 0;
    for (int k = 0; k < 8; k++) {
        w[k] = (worker){id, k};
        for (int i = 0; i < 25; i++)
            want += 1 + (k + i) % 3;
        pthread_create(&th[k], NULL, progress_thread, &w[k]);
    }
    for (int k = 0; k < 8; k++)
        pthread_join(th[k], NULL);
    Civic__Tasks__V1__GetWorkRequest g = CIVIC__TASKS__V1__GET_WORK_REQUEST__INIT;
    g.id = id;
    // halfway through its time with want done of 400: percent and schedule
    call_at(now + 5 * TT_DAY_MS, "v", "viewer", TT "GetWork", &g.base, &civic__tasks__v1__get_work_response__descriptor,
            &resp, NULL);
    Civic__Tasks__V1__GetWorkResponse *gw = (Civic__Tasks__V1__GetWorkResponse *) resp;
    assert_int_equal(gw->work->done, want);
    assert_int_equal(gw->work->progress_count, 200);
    assert_true(gw->work->percent_done > want * 100.0 / 400 - 1e-9 && gw->work->percent_done < want * 100.0 / 400 + 1e-9);
    assert_int_equal(gw->work->behind_schedule, want < 200);
    int64_t sum = 0;
    for (size_t i = 0; i < gw->n_progress; i++)
        sum += gw->progress[i]->delta;
    assert_int_equal(gw->progress[0]->total_after, want);
    assert_int_equal(gw->n_progress, 20);
    (void) sum;
    protobuf_c_message_free_unpacked(resp, NULL);
    print_message("200 concurrent progress reports (each sent twice) add up to %lld\n", (long long) want);
}

static int
setup(void **state)
{
    (void) state;
    const char *args[] = {"--unsafe-no-sync", "--test-clock", NULL};
    th_server_start(&srv, CIVIC_TASKS_BIN, args);
    ch = th_channel(&srv);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    civic_channel_close(ch);
    assert_int_equal(th_server_term(&srv), 0);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/data", srv.dir);
    tt_audit(dir);
    th_server_cleanup(&srv);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_against_brute_force),
        cmocka_unit_test(test_work_progress_concurrent),
    };
    return cmocka_run_group_tests_name("civic.tasks.reports", tests, setup, teardown);
}
