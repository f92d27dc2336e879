// The demo problems, loaded through the public API into an empty store: a
// spread over the eight areas and every state, in the categories the 2019
// Huai'an report names (garbage, stairwell clutter, small ads, parking,
// zombie vehicles, wiring, lights, repainting, vegetable plots), each moved
// by the role the domain's table names — inspectors assign and verify, the
// assigned unit starts and submits, an admin cancels.
//
// Points, areas, grids and units are referred to by the ids the points
// service's demo gives them when both start empty: areas 1, 6, … 36 (area
// a's grids are a + 3 and a + 4), points 1–80 in area order, units 1–55.
// This service never calls the points service, so it cannot check them;
// every description says 演示 (demo) and every problem is flagged demo.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_demo.h"
#include "rt_log.h"
#include "tasks.h"

#define T "/civic.tasks.v1.TasksService/"
#define CAT(c) CIVIC__TASKS__V1__PROBLEM_CATEGORY__PROBLEM_CATEGORY_##c

typedef struct ident {
    char principal[32], role[16];
    civic_channel *ch;
} ident;

typedef struct demo {
    const char *url;
    const civic_key *key;
    civic_channel *open_ch; // open mode: one channel, identity in metadata
    ident ids[80];          // with a key: one signed channel per identity
    size_t n_ids;
    int failed;
    unsigned rnd;
    int64_t now_ms;
} demo;

// The points demo's layout: per area, its points and units, in id order.
static const struct {
    const char *name;
    int points, units;
    int cats[4]; // what its inspectors mostly find
} areas[] = {
    {"清江浦区", 22, 6, {CAT(GARBAGE), CAT(SMALL_ADS), CAT(BROKEN_LIGHT), CAT(WALL_REPAINT)}},
    {"洪泽区", 21, 6, {CAT(CLUTTER), CAT(ILLEGAL_PARKING), CAT(BROKEN_LIGHT), CAT(GARBAGE)}},
    {"淮阴区", 10, 6, {CAT(SMALL_ADS), CAT(WALL_REPAINT), CAT(BROKEN_LIGHT), CAT(GARBAGE)}},
    {"淮安区", 5, 6, {CAT(GARBAGE), CAT(VEGETABLE_PLOT), CAT(CLUTTER), CAT(SMALL_ADS)}},
    {"苏淮高新区", 5, 6, {CAT(ILLEGAL_PARKING), CAT(GARBAGE), CAT(SMALL_ADS), CAT(CLUTTER)}},
    {"淮安工业园区", 6, 6, {CAT(CLUTTER), CAT(ZOMBIE_VEHICLE), CAT(ILLEGAL_WIRING), CAT(ILLEGAL_PARKING)}},
    {"淮安生态文旅区", 7, 13, {CAT(WALL_REPAINT), CAT(CLUTTER), CAT(VEGETABLE_PLOT), CAT(GARBAGE)}},
    {"淮安经济技术开发区", 4, 6, {CAT(CLUTTER), CAT(ILLEGAL_WIRING), CAT(BROKEN_LIGHT), CAT(ZOMBIE_VEHICLE)}},
};

static const char *const what[] = {
    "",
    "垃圾未及时清运，周边有散落垃圾（演示）",
    "楼道内堆放杂物，占用消防通道（演示）",
    "墙面、电线杆张贴小广告（演示）",
    "机动车、非机动车乱停放（演示）",
    "长期停放的僵尸车，车身积灰破损（演示）",
    "私拉乱接电线为电动车充电（演示）",
    "楼道灯 / 路灯不亮（演示）",
    "墙面污损剥落，需要粉刷（演示）",
    "公共绿地被开垦为菜地（演示）",
};

// The end each demo problem is moved to, in proportion: more open than
// closed, every state present.
typedef enum { TO_REPORTED, TO_ASSIGNED, TO_IN_PROGRESS, TO_SUBMITTED, TO_CLOSED, TO_REWORK,
               TO_DUPLICATE, TO_INVALID, TO_CANCELLED, TO_FIXED, TO_FIXED_CLOSED } demo_end;
static const demo_end plan[20] = {
    TO_REPORTED, TO_ASSIGNED,  TO_IN_PROGRESS, TO_SUBMITTED, TO_CLOSED,       TO_ASSIGNED, TO_CLOSED,
    TO_IN_PROGRESS, TO_REPORTED, TO_REWORK,    TO_CLOSED,    TO_DUPLICATE,    TO_SUBMITTED, TO_INVALID,
    TO_ASSIGNED, TO_CLOSED,    TO_FIXED,       TO_CANCELLED, TO_FIXED_CLOSED, TO_IN_PROGRESS,
};

static unsigned
next_rand(demo *d)
{
    return rt_demo_rand(&d->rnd);
}

// as finds (or opens) the channel for an identity and the metadata that
// names it in open mode.
static civic_channel *
as(demo *d, const char *principal, const char *role, const char **md)
{
    md[0] = "x-civic-principal", md[1] = principal, md[2] = "x-civic-role", md[3] = role;
    if (d->key == NULL)
        return d->open_ch;
    for (size_t i = 0; i < d->n_ids; i++)
        if (strcmp(d->ids[i].principal, principal) == 0 && strcmp(d->ids[i].role, role) == 0)
            return d->ids[i].ch;
    if (d->n_ids == sizeof d->ids / sizeof d->ids[0])
        return NULL;
    ident *id = &d->ids[d->n_ids];
    snprintf(id->principal, sizeof id->principal, "%s", principal);
    snprintf(id->role, sizeof id->role, "%s", role);
    civic_channel_opts co = {.key = d->key, .principal = id->principal, .role = id->role};
    civic_status st;
    if (civic_channel_open(&id->ch, d->url, &co, &st) != 0)
        return NULL;
    d->n_ids++;
    return id->ch;
}

static ProtobufCMessage *
call(demo *d, const char *principal, const char *role, const char *method,
     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out)
{
    const char *md[4];
    civic_channel *ch = as(d, principal, role, md);
    char m[128], key[96];
    snprintf(m, sizeof m, T "%s", method);
    snprintf(key, sizeof key, "demo-%s-%u", method, next_rand(d) << 15 | next_rand(d));
    civic_call_opts o = {.timeout_ms = 10000, .idempotency_key = key, .metadata = md,
                         .n_metadata = d->key ? 0 : 2};
    return rt_demo_call(ch, m, req, out, &o, &d->failed);
}

// move makes one call and frees the reply; returns 0 if it was OK.
static int
move(demo *d, const char *principal, const char *role, const char *method,
     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out)
{
    ProtobufCMessage *r = call(d, principal, role, method, req, out);
    protobuf_c_message_free_unpacked(r, NULL);
    return r ? 0 : -1;
}

static Google__Protobuf__Timestamp
ts_at(int64_t ms)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = ms / 1000;
    return ts;
}

// advance moves problem id (assigned or to be assigned to unit) to its end.
static void
advance(demo *d, uint64_t id, uint64_t unit, demo_end end, uint64_t other, int k)
{
    const char *insp = "demo-inspector";
    char unit_p[24], photo[128];
    snprintf(unit_p, sizeof unit_p, "%llu", (unsigned long long) unit);
    snprintf(photo, sizeof photo, "https://oss.example.cn/civic-demo/after/%llu.jpg",
             (unsigned long long) id);
    char *photos[] = {photo};
    if (end == TO_DUPLICATE && other != 0) {
        Civic__Tasks__V1__MarkProblemDuplicateRequest r = CIVIC__TASKS__V1__MARK_PROBLEM_DUPLICATE_REQUEST__INIT;
        r.id = id, r.duplicate_of = other, r.note = "同一问题重复上报（演示）";
        move(d, insp, "inspector", "MarkProblemDuplicate", &r.base,
             &civic__tasks__v1__mark_problem_duplicate_response__descriptor);
        return;
    }
    if (end == TO_INVALID) {
        Civic__Tasks__V1__MarkProblemInvalidRequest r = CIVIC__TASKS__V1__MARK_PROBLEM_INVALID_REQUEST__INIT;
        r.id = id, r.reason = "现场核实不属于问题（演示）";
        move(d, insp, "inspector", "MarkProblemInvalid", &r.base,
             &civic__tasks__v1__mark_problem_invalid_response__descriptor);
        return;
    }
    if (end == TO_REPORTED || end == TO_DUPLICATE)
        return;
    // Deadlines one to seven days out; a few due within the hour (overdue
    // tomorrow if the demo is left running); and a third of those that stay
    // running already one to three days late, so the dashboard's overdue
    // column is not all zero on the first day (a demo problem may take a
    // past deadline: handlers_flow.c).
    int late = (end == TO_ASSIGNED || end == TO_IN_PROGRESS) && k % 3 == 0;
    int64_t due = late ? d->now_ms - (int64_t) (1 + next_rand(d) % 3) * 86400000
                  : d->now_ms + (k % 7 == 3 ? (int64_t) (20 + next_rand(d) % 40) * 60000
                                            : (int64_t) (1 + next_rand(d) % 7) * 86400000);
    Google__Protobuf__Timestamp deadline = ts_at(due);
    Civic__Tasks__V1__AssignProblemRequest a = CIVIC__TASKS__V1__ASSIGN_PROBLEM_REQUEST__INIT;
    a.id = id, a.unit_id = unit, a.deadline = &deadline, a.note = "请按期整改并上传整改后照片（演示）";
    if (move(d, insp, "inspector", "AssignProblem", &a.base, &civic__tasks__v1__assign_problem_response__descriptor))
        return;
    if (end == TO_CANCELLED) {
        Civic__Tasks__V1__CancelProblemRequest r = CIVIC__TASKS__V1__CANCEL_PROBLEM_REQUEST__INIT;
        r.id = id, r.reason = "点位已拆迁，问题撤销（演示）";
        move(d, "demo-admin", "admin", "CancelProblem", &r.base, &civic__tasks__v1__cancel_problem_response__descriptor);
        return;
    }
    if (k % 5 == 1 && !late) { // some deadlines are extended
        Google__Protobuf__Timestamp later = ts_at(due + 2 * 86400000LL);
        Civic__Tasks__V1__ExtendProblemDeadlineRequest r = CIVIC__TASKS__V1__EXTEND_PROBLEM_DEADLINE_REQUEST__INIT;
        r.id = id, r.deadline = &later, r.reason = "需协调产权单位，延期两天（演示）";
        move(d, insp, "inspector", "ExtendProblemDeadline", &r.base,
             &civic__tasks__v1__extend_problem_deadline_response__descriptor);
    }
    if (end == TO_ASSIGNED)
        return;
    Civic__Tasks__V1__StartProblemRequest s = CIVIC__TASKS__V1__START_PROBLEM_REQUEST__INIT;
    s.id = id, s.note = "已安排人员整改（演示）";
    if (move(d, unit_p, "unit", "StartProblem", &s.base, &civic__tasks__v1__start_problem_response__descriptor) ||
        end == TO_IN_PROGRESS)
        return;
    for (int round = 0; round < (end == TO_REWORK ? 2 : 1); round++) {
        Civic__Tasks__V1__SubmitProblemRequest sub = CIVIC__TASKS__V1__SUBMIT_PROBLEM_REQUEST__INIT;
        sub.id = id, sub.note = "已整改完毕（演示）", sub.after_photos = photos, sub.n_after_photos = 1;
        if (move(d, unit_p, "unit", "SubmitProblem", &sub.base, &civic__tasks__v1__submit_problem_response__descriptor))
            return;
        if (end == TO_REWORK && round == 0) {
            Civic__Tasks__V1__RejectProblemRequest r = CIVIC__TASKS__V1__REJECT_PROBLEM_REQUEST__INIT;
            r.id = id, r.reason = "整改不彻底，返工（演示）";
            if (move(d, insp, "inspector", "RejectProblem", &r.base, &civic__tasks__v1__reject_problem_response__descriptor))
                return;
        }
    }
    if (end == TO_SUBMITTED)
        return;
    Civic__Tasks__V1__VerifyProblemRequest v = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
    v.id = id, v.note = "复查合格，销号（演示）";
    move(d, insp, "inspector", "VerifyProblem", &v.base, &civic__tasks__v1__verify_problem_response__descriptor);
}

static int
store_empty(demo *d)
{
    Civic__Tasks__V1__ListProblemsRequest req = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
    req.page_size = 1;
    ProtobufCMessage *resp = call(d, "demo-admin", "admin", "ListProblems", &req.base,
                                  &civic__tasks__v1__list_problems_response__descriptor);
    int empty = resp && ((Civic__Tasks__V1__ListProblemsResponse *) resp)->n_problems == 0;
    protobuf_c_message_free_unpacked(resp, NULL);
    return empty;
}

// The article's campaign works (重点工作) with its real figures: each a
// target, with progress reported in two entries (the first about 60%).
static const struct {
    int area_ix; // into areas[]
    const char *name, *standard, *measure;
    int64_t target, done;
} works[] = {
    {0, "老旧小区楼道粉刷", "墙面洁净无污损", "个楼道", 400, 400},
    {0, "背街小巷整治", "路面平整、无乱堆放", "条", 200, 200},
    {0, "更换垃圾桶", "分类标识清楚、无破损", "个", 500, 500},
    {0, "楼道灯排查维修", "逐栋逐层排查，灯亮", "盏", 1200, 1200},
    {0, "清运垃圾", "日产日清", "车", 600, 600},
    {2, "新亮工程：楼栋单元粉刷", "墙面粉刷一新", "个单元", 600, 600},
    {2, "清除小广告", "墙面、电线杆无小广告", "处", 12000, 12000},
    {2, "新亮工程：发放灯泡", "每户楼道有灯", "个", 2000, 2000},
    {2, "新亮工程：更换路灯", "路灯完好", "盏", 70, 70},
    {2, "新亮工程：排查线路故障", "故障当日修复", "处", 300, 300},
    {5, "清理堆放杂物", "楼道、公共区域无杂物", "t", 26, 26},
    {5, "清理僵尸车", "无长期停放废弃车辆", "辆", 129, 129},
    {5, "规范停放车辆", "车辆停放有序", "辆", 104, 104},
    {5, "整治私拉乱接电线", "无飞线充电", "处", 99, 99},
    {1, "洪泽区重点工作一：背街小巷环境整治", "按市考核标准", "项", 1, 1},
    {1, "洪泽区重点工作二：老旧小区改造提升", "按市考核标准", "项", 1, 1},
    {1, "洪泽区重点工作三：农贸市场规范管理", "按市考核标准", "项", 1, 1},
    {1, "洪泽区重点工作四：非机动车停放秩序", "按市考核标准", "项", 1, 0},
    {1, "洪泽区重点工作五：城市家具维护", "按市考核标准", "项", 1, 0},
    {1, "洪泽区重点工作六：公益广告宣传", "按市考核标准", "项", 1, 1},
};

static void
demo_works(demo *d)
{
    for (size_t i = 0; i < sizeof works / sizeof works[0]; i++) {
        int ai = works[i].area_ix;
        uint64_t first_unit = 1;
        for (int j = 0; j < ai; j++)
            first_unit += (uint64_t) areas[j].units;
        Google__Protobuf__Timestamp dl = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        dl.seconds = (d->now_ms + 30LL * 24 * 3600 * 1000) / 1000;
        Civic__Tasks__V1__CreateWorkRequest c = CIVIC__TASKS__V1__CREATE_WORK_REQUEST__INIT;
        c.name = (char *) (uintptr_t) works[i].name;
        c.standard = (char *) (uintptr_t) works[i].standard;
        c.measure = (char *) (uintptr_t) works[i].measure;
        c.area_id = 1 + 5 * (uint64_t) ai;
        c.unit_id = first_unit;
        c.target = works[i].target;
        c.deadline = &dl;
        c.demo = 1;
        ProtobufCMessage *resp = call(d, "demo-admin", "admin", "CreateWork", &c.base,
                                      &civic__tasks__v1__create_work_response__descriptor);
        if (resp == NULL)
            continue;
        uint64_t id = ((Civic__Tasks__V1__CreateWorkResponse *) resp)->work->id;
        protobuf_c_message_free_unpacked(resp, NULL);
        int64_t first = works[i].done * 6 / 10, parts[2] = {first, works[i].done - first};
        for (int j = 0; j < 2; j++) {
            if (parts[j] == 0)
                continue;
            Civic__Tasks__V1__ReportWorkProgressRequest r = CIVIC__TASKS__V1__REPORT_WORK_PROGRESS_REQUEST__INIT;
            r.id = id;
            r.delta = parts[j];
            r.note = j ? "全部完成（演示）" : "阶段进展（演示）";
            move(d, "demo-admin", "admin", "ReportWorkProgress", &r.base,
                 &civic__tasks__v1__report_work_progress_response__descriptor);
        }
    }
}

int
tasks_demo_load(const char *url, const civic_key *key)
{
    demo d = {.url = url, .key = key, .rnd = 20191124};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    d.now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
    civic_status st;
    if (key == NULL && civic_channel_open(&d.open_ch, url, NULL, &st) != 0)
        return -1;
    int made = 0, k = 0;
    if (!store_empty(&d))
        goto done;
    uint64_t first_point = 1, first_unit = 1;
    for (size_t ai = 0; ai < sizeof areas / sizeof areas[0]; ai++) {
        uint64_t area = 1 + 5 * ai;
        int n = areas[ai].points >= 10 ? 12 : 6;
        uint64_t last = 0;
        for (int i = 0; i < n; i++, k++) {
            int pi = (i * 7) % areas[ai].points;
            int cat = areas[ai].cats[next_rand(&d) % 4];
            demo_end end = plan[k % 20];
            char photo[128], after[128], reporter[32];
            snprintf(photo, sizeof photo, "https://oss.example.cn/civic-demo/before/%d.jpg", k);
            snprintf(after, sizeof after, "s3://civic-demo/after/%d.jpg", k);
            char *before[] = {photo}, *afters[] = {after};
            int fixed = end == TO_FIXED || end == TO_FIXED_CLOSED;
            int by_volunteer = !fixed && k % 6 == 5;
            Civic__Tasks__V1__ReportProblemRequest r = CIVIC__TASKS__V1__REPORT_PROBLEM_REQUEST__INIT;
            r.point_id = first_point + (uint64_t) pi;
            r.area_id = area;
            r.grid_id = area + 3 + (uint64_t) (pi % 2);
            r.category = cat;
            r.description = (char *) (uintptr_t) what[cat];
            r.source = by_volunteer ? CIVIC__TASKS__V1__PROBLEM_SOURCE__PROBLEM_SOURCE_VOLUNTEER
                                    : (Civic__Tasks__V1__ProblemSource) (1 + next_rand(&d) % 4);
            r.severity = (Civic__Tasks__V1__ProblemSeverity) (1 + next_rand(&d) % 3);
            r.before_photos = before;
            r.n_before_photos = 1;
            r.fixed_on_spot = fixed;
            r.after_photos = fixed ? afters : NULL;
            r.n_after_photos = fixed;
            r.allow_duplicate = end == TO_DUPLICATE; // reported twice, then marked
            r.demo = 1;
            snprintf(reporter, sizeof reporter, "demo-%s-%d", by_volunteer ? "volunteer" : "inspector",
                     by_volunteer ? k : (int) ai + 1);
            ProtobufCMessage *resp = call(&d, reporter, by_volunteer ? "volunteer" : "inspector",
                                          "ReportProblem", &r.base,
                                          &civic__tasks__v1__report_problem_response__descriptor);
            if (resp == NULL)
                continue;
            Civic__Tasks__V1__ReportProblemResponse *rr = (Civic__Tasks__V1__ReportProblemResponse *) resp;
            uint64_t id = rr->problem->id, other = last;
            int dup = rr->duplicate;
            protobuf_c_message_free_unpacked(resp, NULL);
            if (dup)
                continue;
            made++;
            if (end == TO_DUPLICATE) {
                // The original: the open problem of this category at this point.
                Civic__Tasks__V1__ListProblemsRequest l = CIVIC__TASKS__V1__LIST_PROBLEMS_REQUEST__INIT;
                l.point_id = r.point_id, l.category = cat, l.page_size = 1;
                ProtobufCMessage *lr = call(&d, "demo-admin", "admin", "ListProblems", &l.base,
                                            &civic__tasks__v1__list_problems_response__descriptor);
                Civic__Tasks__V1__ListProblemsResponse *lp = (Civic__Tasks__V1__ListProblemsResponse *) lr;
                other = lp && lp->n_problems && lp->problems[0]->id != id ? lp->problems[0]->id : last;
                protobuf_c_message_free_unpacked(lr, NULL);
            }
            if (end == TO_FIXED_CLOSED) {
                Civic__Tasks__V1__VerifyProblemRequest v = CIVIC__TASKS__V1__VERIFY_PROBLEM_REQUEST__INIT;
                v.id = id, v.note = "立行立改，复查合格（演示）";
                move(&d, "demo-inspector", "inspector", "VerifyProblem", &v.base,
                     &civic__tasks__v1__verify_problem_response__descriptor);
            } else if (!fixed) {
                uint64_t unit = first_unit + next_rand(&d) % (unsigned) areas[ai].units;
                advance(&d, id, unit, end, other, k);
            }
            last = id;
        }
        first_point += (uint64_t) areas[ai].points;
        first_unit += (uint64_t) areas[ai].units;
    }
    demo_works(&d);
    rt_log(d.failed ? RT_LOG_WARN : RT_LOG_INFO, "demo.loaded", "problems=%d failed=%d", made, d.failed);
done:
    civic_channel_close(d.open_ch);
    for (size_t i = 0; i < d.n_ids; i++)
        civic_channel_close(d.ids[i].ch);
    return d.failed ? -1 : 0;
}

int
tasks_ready(void *state, const rt_config *cfg)
{
    (void) state;
    return cfg->demo ? tasks_demo_load(cfg->listen, cfg->key) : 0;
}
