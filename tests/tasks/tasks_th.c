// Helpers the tasks tests share (see tasks_th.h).
#include "tasks_th.h"

#include <stdio.h>
#include <stdlib.h>
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

int
tt_cancel(civic_channel *ch, uint64_t id)
{
    Civic__Tasks__V1__CancelProblemRequest r = CIVIC__TASKS__V1__CANCEL_PROBLEM_REQUEST__INIT;
    r.id = id;
    r.reason = "撤销";
    return simple(ch, "admin-1", "admin", TT "CancelProblem", &r.base,
                  &civic__tasks__v1__cancel_problem_response__descriptor, NULL);
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

void
tt_server_start(th_server *s, int durable)
{
    const char *args[] = {"--unsafe-no-sync", NULL};
    th_server_start(s, CIVIC_TASKS_BIN, durable ? NULL : args);
}

void
tt_server_finish(th_server *s)
{
    assert_int_equal(th_server_term(s), 0);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/data", s->dir);
    tt_audit(dir);
    th_server_cleanup(s);
}

// --- the domain's table ---

const char *const tt_role_principal[TT_N_ROLES] = {"admin-1", "insp-2", "7", "8", "vol-1", "viewer-1"};
const char *const tt_role_name[TT_N_ROLES] = {"admin", "inspector", "unit", "unit", "volunteer", "viewer"};
const char *const tt_fixture_name[TT_N_FIXTURES] = {
    "REPORTED", "ASSIGNED", "IN_PROGRESS", "SUBMITTED", "SUBMITTED(fixed on the spot)",
    "CLOSED", "DUPLICATE", "INVALID", "CANCELLED"};

#define S(x) CIVIC__TASKS__V1__PROBLEM_STATE__PROBLEM_STATE_##x
#define B(r) (1u << (r))
#define STAFF (B(TT_R_ADMIN) | B(TT_R_INSPECTOR))
#define UNITS (B(TT_R_UNIT_OWN) | B(TT_R_UNIT_OTHER))
#define FS(x) (1u << S(x))
#define OPEN_STATES (FS(REPORTED) | FS(ASSIGNED) | FS(IN_PROGRESS) | FS(SUBMITTED))

const tt_move tt_moves[TT_N_ACTIONS] = {
    {"assign", 3, STAFF, FS(REPORTED), S(ASSIGNED), 0},
    {"reassign", 4, STAFF, FS(ASSIGNED) | FS(IN_PROGRESS), S(ASSIGNED), 0},
    {"extend", 5, STAFF, FS(ASSIGNED) | FS(IN_PROGRESS), 0, 0},
    {"start", 6, UNITS, FS(ASSIGNED), S(IN_PROGRESS), 1},
    {"submit", 7, UNITS, FS(IN_PROGRESS), S(SUBMITTED), 1},
    {"verify", 8, STAFF, FS(SUBMITTED), S(CLOSED), 0},
    {"reject", 9, STAFF, FS(SUBMITTED), -1, 0},
    {"duplicate", 10, STAFF, FS(REPORTED) | FS(ASSIGNED), S(DUPLICATE), 0},
    {"invalidate", 11, STAFF, FS(REPORTED) | FS(ASSIGNED), S(INVALID), 0},
    {"cancel", 12, B(TT_R_ADMIN), OPEN_STATES, S(CANCELLED), 0},
};

int
tt_want(int a, int role, const tt_problem *p)
{
    if (!(tt_moves[a].roles & B(role)))
        return CIVIC_PERMISSION_DENIED;
    if (tt_moves[a].assigned_unit && (role == TT_R_UNIT_OTHER || p->unit_id != TT_OWN_UNIT))
        return CIVIC_PERMISSION_DENIED;
    if (!(tt_moves[a].from & (1u << p->state)))
        return CIVIC_FAILED_PRECONDITION;
    return CIVIC_OK;
}

int
tt_want_state(int a, const tt_problem *p)
{
    int to = tt_moves[a].to;
    if (to == 0)
        return (int) p->state;
    if (to == -1)
        return p->unit_id ? S(IN_PROGRESS) : S(REPORTED);
    return to;
}

// reason_call makes a call whose request is {uint64 id = 1; string
// reason_field = 2}.
static int
reason_call(civic_channel *ch, const char *method, uint64_t id, const char *principal, const char *role,
            const ProtobufCMessageDescriptor *in, const ProtobufCMessageDescriptor *out,
            const char *reason_field)
{
    ProtobufCMessage *req = malloc(in->sizeof_message);
    in->message_init(req);
    const ProtobufCFieldDescriptor *fid = protobuf_c_message_descriptor_get_field_by_name(in, "id");
    const ProtobufCFieldDescriptor *fr = protobuf_c_message_descriptor_get_field_by_name(in, reason_field);
    *(uint64_t *) (void *) ((char *) req + fid->offset) = id;
    *(const char **) (void *) ((char *) req + fr->offset) = "测试原因";
    ProtobufCMessage *resp;
    char m[128];
    snprintf(m, sizeof m, TT "%s", method);
    int rc = tt_call(ch, principal, role, m, req, out, &resp, NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
    free(req);
    return rc;
}

uint64_t
tt_report_fixed(civic_channel *ch, uint64_t point, const char *principal, const char *role, int *code)
{
    char *after[] = {"s3://civic-test/after/1.jpg"};
    Civic__Tasks__V1__ReportProblemRequest r = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
    r.point_id = point;
    r.area_id = 1;
    r.grid_id = 4;
    r.category = CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_CLUTTER;
    r.description = "楼道杂物，已当场清理";
    r.source = CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_PATROL;
    r.fixed_on_spot = 1;
    r.after_photos = after;
    r.n_after_photos = 1;
    ProtobufCMessage *resp;
    *code = tt_call(ch, principal, role, TT "ReportProblem", &r.base,
                    &civic__tasks__v1__report_problem_response__descriptor, &resp, NULL);
    uint64_t id = *code ? 0 : ((Civic__Tasks__V1__ReportProblemResponse *) resp)->problem->id;
    if (*code == 0)
        assert_int_equal(((Civic__Tasks__V1__ReportProblemResponse *) resp)->problem->state, S(SUBMITTED));
    protobuf_c_message_free_unpacked(resp, NULL);
    return id;
}

uint64_t
tt_fixture(civic_channel *ch, int f, uint64_t point, uint64_t anchor)
{
    int64_t due = tt_now_ms() + TT_DAY_MS;
    if (f == TT_F_SUBMITTED_NO_UNIT) {
        int code;
        uint64_t id = tt_report_fixed(ch, point, "admin-1", "admin", &code);
        assert_ok(code);
        return id;
    }
    uint64_t id = tt_report(ch, point, 1, 4, CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_CLUTTER);
    if (f == TT_F_REPORTED)
        return id;
    assert_ok(tt_assign(ch, id, TT_OWN_UNIT, due));
    if (f == TT_F_DUPLICATE) {
        Civic__Tasks__V1__MarkProblemDuplicateRequest r = CIVIC__TASKS__V1__MARK_PROBLEM_DUPLICATE_REQUEST__INIT;
        r.id = id;
        r.duplicate_of = anchor;
        ProtobufCMessage *resp;
        assert_ok(tt_call(ch, "insp-1", "inspector", TT "MarkProblemDuplicate", &r.base,
                          &civic__tasks__v1__mark_problem_duplicate_response__descriptor, &resp, NULL));
        protobuf_c_message_free_unpacked(resp, NULL);
        return id;
    }
    if (f == TT_F_INVALID) {
        assert_ok(reason_call(ch, "MarkProblemInvalid", id, "insp-1", "inspector",
                              &civic__tasks__v1__mark_problem_invalid_request__descriptor,
                              &civic__tasks__v1__mark_problem_invalid_response__descriptor, "reason"));
        return id;
    }
    if (f == TT_F_CANCELLED) {
        assert_ok(tt_cancel(ch, id));
        return id;
    }
    if (f == TT_F_ASSIGNED)
        return id;
    assert_ok(tt_start(ch, id, TT_OWN_UNIT));
    if (f == TT_F_IN_PROGRESS)
        return id;
    assert_ok(tt_submit(ch, id, TT_OWN_UNIT));
    if (f == TT_F_SUBMITTED)
        return id;
    assert_ok(tt_verify(ch, id, "insp-1", NULL));
    return id;
}

// --- lists against brute force ---

tt_row *
tt_row_of(const tt_problem *p, tt_row *r)
{
    r->id = p->id, r->area = p->area_id, r->grid = p->grid_id, r->point = p->point_id;
    r->unit = p->unit_id, r->state = p->state, r->category = p->category;
    r->deadline = p->deadline ? p->deadline->seconds * 1000 + p->deadline->nanos / 1000000 : INT64_MAX;
    return r;
}

int
tt_row_cmp(const void *x, const void *y)
{
    const tt_row *a = x, *b = y;
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int
matches(const tt_row *r, const tt_filter *f)
{
    return (!f->state || r->state == f->state) && (!f->category || r->category == f->category) &&
           (!f->area || r->area == f->area) && (!f->grid || r->grid == f->grid) &&
           (!f->point || r->point == f->point) && (!f->unit || r->unit == f->unit) &&
           (!f->overdue || ((r->state == S(ASSIGNED) || r->state == S(IN_PROGRESS)) &&
                            r->deadline < f->as_of));
}

size_t
tt_brute(const tt_row *all, size_t n, const tt_filter *f, tt_row *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (matches(&all[i], f))
            out[k++] = all[i];
    qsort(out, k, sizeof *out, tt_row_cmp);
    return k;
}

// --- the real CLI ---

const char **
tt_cli_argv(const th_server *s, const char **argv, size_t max, const char *const *args)
{
    size_t n = 0;
    argv[n++] = "--addr";
    argv[n++] = s->url;
    for (size_t i = 0; args[i] != NULL && n + 1 < max; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return argv;
}

int
tt_cli_run(tt_cli *c, const char *const *args)
{
    const char *argv[64];
    return th_cli(c->out, sizeof c->out, c->err, sizeof c->err, tt_cli_argv(c->srv, argv, 64, args));
}

uint64_t
tt_json_u64(const tt_cli *c, const char *field)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", field);
    const char *p = strstr(c->out, pat);
    if (p == NULL)
        fail_msg("no %s in: %s", field, c->out);
    return strtoull(p + strlen(pat), NULL, 10);
}

void
tt_expect_state(tt_cli *c, uint64_t id, const char *state)
{
    char ids[24], want[64];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long) id);
    assert_int_equal(TT_CLI(c, "-o", "json", "problems", "get", ids), 0);
    snprintf(want, sizeof want, "\"PROBLEM_STATE_%s\"", state);
    if (strstr(c->out, want) == NULL)
        fail_msg("problem %s is not %s: %s", ids, state, c->out);
}

size_t
tt_csv_ids(const tt_cli *c, uint64_t *ids, size_t max)
{
    size_t n = 0;
    const char *p = strchr(c->out, '\n');
    while (p && p[1]) {
        if (n < max)
            ids[n] = strtoull(p + 1, NULL, 10);
        n++;
        p = strchr(p + 1, '\n');
    }
    return n;
}

const char *
tt_time(char *buf, size_t n, int64_t ms)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
