// Helpers the tasks tests share (see tasks_th.h).
#include "tasks_th.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tasks.h"

int64_t
tt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Google__Protobuf__Timestamp *
tt_ts(Google__Protobuf__Timestamp *ts, int64_t ms)
{
    google__protobuf__timestamp__init(ts);
    ts->seconds = ms / 1000;
    ts->nanos = (int32_t) (ms % 1000) * 1000000;
    return ts;
}

int
tt_call(civic_channel *ch, const char *principal, const char *role, const char *method,
        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
        ProtobufCMessage **resp, civic_status *st)
{
    const char *md[] = {"x-civic-principal", principal, "x-civic-role", role};
    civic_status local;
    civic_call_opts o = {.timeout_ms = 20000, .metadata = md, .n_metadata = role ? 2 : 0};
    *resp = NULL;
    return civic_call(ch, method, req, out, resp, &o, st ? st : &local);
}

uint64_t
tt_report(civic_channel *ch, uint64_t point, uint64_t area, uint64_t grid, int category)
{
    Civic__Tasks__V1__ReportProblemRequest r = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
    r.point_id = point;
    r.area_id = area;
    r.grid_id = grid;
    r.category = category;
    r.description = "楼道内堆放杂物（测试）";
    r.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_SWEEP;
    r.allow_duplicate = 1;
    ProtobufCMessage *resp;
    civic_status st;
    if (tt_call(ch, "insp-1", "inspector", TT "ReportProblem", &r.base,
                &civic__tasks__v1__report_problem_response__descriptor, &resp, &st) != 0)
        fail_msg("report: %s: %s", civic_code_name(st.code), st.message);
    uint64_t id = ((Civic__Tasks__V1__ReportProblemResponse *) resp)->problem->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    return id;
}

tt_problem *
tt_get(civic_channel *ch, uint64_t id)
{
    Civic__Tasks__V1__GetProblemRequest r = CIVIC__TASKS__V1__GET_PROBLEM_REQUEST__INIT;
    r.id = id;
    ProtobufCMessage *resp;
    civic_status st;
    if (tt_call(ch, "viewer-1", "viewer", TT "GetProblem", &r.base,
                &civic__tasks__v1__get_problem_response__descriptor, &resp, &st) != 0)
        fail_msg("get %llu: %s: %s", (unsigned long long) id, civic_code_name(st.code), st.message);
    Civic__Tasks__V1__GetProblemResponse *g = (Civic__Tasks__V1__GetProblemResponse *) resp;
    tt_problem *p = g->problem;
    g->problem = NULL;
    protobuf_c_message_free_unpacked(resp, NULL);
    return p;
}

static int
simple(civic_channel *ch, const char *principal, const char *role, const char *method,
       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out, civic_status *st)
{
    ProtobufCMessage *resp;
    int rc = tt_call(ch, principal, role, method, req, out, &resp, st);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

int
tt_assign(civic_channel *ch, uint64_t id, uint64_t unit, int64_t deadline_ms)
{
    Google__Protobuf__Timestamp ts;
    Civic__Tasks__V1__AssignProblemRequest r = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
    r.id = id;
    r.unit_id = unit;
    r.deadline = tt_ts(&ts, deadline_ms);
    return simple(ch, "insp-1", "inspector", TT "AssignProblem", &r.base,
                  &civic__tasks__v1__assign_problem_response__descriptor, NULL);
}

int
tt_start(civic_channel *ch, uint64_t id, uint64_t unit)
{
    char p[24];
    snprintf(p, sizeof p, "%llu", (unsigned long long) unit);
    Civic__Tasks__V1__StartProblemRequest r = CIVIC__TASKS__V1__START_PROBLEM_REQUEST__INIT;
    r.id = id;
    return simple(ch, p, "unit", TT "StartProblem", &r.base,
                  &civic__tasks__v1__start_problem_response__descriptor, NULL);
}

int
tt_submit(civic_channel *ch, uint64_t id, uint64_t unit)
{
    char p[24];
    snprintf(p, sizeof p, "%llu", (unsigned long long) unit);
    char *photos[] = {"https://oss.example.cn/after/1.jpg"};
    Civic__Tasks__V1__SubmitProblemRequest r = CIVIC__TASKS__V1__SUBMIT_PROBLEM_REQUEST__INIT;
    r.id = id;
    r.note = "已清理";
    r.after_photos = photos;
    r.n_after_photos = 1;
    return simple(ch, p, "unit", TT "SubmitProblem", &r.base,
                  &civic__tasks__v1__submit_problem_response__descriptor, NULL);
}

int
tt_verify(civic_channel *ch, uint64_t id, const char *inspector, civic_status *st)
{
    Civic__Tasks__V1__VerifyProblemRequest r = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
    r.id = id;
    return simple(ch, inspector, "inspector", TT "VerifyProblem", &r.base,
                  &civic__tasks__v1__verify_problem_response__descriptor, st);
}

void
tt_audit(const char *dir)
{
    rt_store *st;
    char err[512] = "";
    rt_store_opts o = {.dbs = tasks_dbs, .schema_version = 1};
    if (rt_store_open(&st, dir, &o, err, sizeof err) != 0)
        fail_msg("open %s: %s", dir, err);
    tasks_svc s;
    tasks_open_svc(&s, st, 480);
    rt_arena a;
    rt_arena_init(&a, 64u << 20);
    rt_txn t;
    MDB_txn *cache = NULL;
    assert_int_equal(rt_read_begin(st, &t, &a, &cache), 0);
    int rc = tasks_check_indexes(&t, &s, err, sizeof err);
    if (rc > 0)
        snprintf(err, sizeof err, "%s", t.message);
    rt_read_end(&t, &cache);
    rt_read_release(&cache);
    rt_arena_fini(&a);
    rt_store_close(st);
    if (rc != 0)
        fail_msg("audit: %s", err);
}
