// The demo campaign's volunteers, loaded through the public API into an
// empty store: volunteers of every kind across the eight areas, and the
// report's activities — three-clears cleanups (三清) around farmers markets,
// door-to-door publicity (入户宣传) in the compounds, weekend duty (值守) at
// points — some full with waitlists, and one running today whose hours are
// recorded, so the dashboard has this week's figures. Its volunteers
// signed up just now, so they check in and out now (nobody attends before
// signing up) and an admin enters the hours kept on the paper sign-in
// sheet as a correction, as a campaign does when it starts using the
// system mid-activity.
//
// Areas and points are the points service's ids as its demo creates them
// (areas 1, 6, …, 36; the first point of each area), referenced by id only:
// this service never calls the points service. Names and phones are
// synthetic (phones 1370000xxxx) and every record is flagged demo.
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_demo.h"
#include "rt_log.h"
#include "volunteers.h"

typedef struct demo {
    civic_channel *ch;
    int failed;
    unsigned rnd;
} demo;

typedef struct area_spec {
    uint64_t id;       // the points demo's area id
    uint64_t point_id; // the points demo's first point there
    const char *name;
    const char *community;
} area_spec;

static const area_spec areas[] = {
    {1, 1, "清江浦区", "清江浦区示范街道示范社区"},
    {6, 23, "洪泽区", "高良涧街道示范社区"},
    {11, 44, "淮阴区", "淮阴区示范街道示范社区"},
    {16, 54, "淮安区", "淮安区示范街道示范社区"},
    {21, 59, "苏淮高新区", "高新区示范街道示范社区"},
    {26, 64, "淮安工业园区", "工业园区示范街道示范社区"},
    {31, 70, "淮安生态文旅区", "生态文旅区示范街道示范社区"},
    {36, 77, "淮安经济技术开发区", "城东花园社区"},
};

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"};
static const char *const given[] = {"建国", "秀英", "志强", "桂兰", "伟", "芳", "军", "丽", "磊", "敏",
                                    "海燕", "晓东"};

#define V "/civic.volunteers.v1.VolunteersService/"
#define PER_AREA 15

static unsigned
next_rand(demo *d)
{
    return rt_demo_rand(&d->rnd);
}

static ProtobufCMessage *
call(demo *d, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out)
{
    civic_call_opts o = {.timeout_ms = 10000};
    char m[128];
    snprintf(m, sizeof m, V "%s", method);
    return rt_demo_call(d->ch, m, req, out, &o, &d->failed);
}

static uint64_t
mk_volunteer(demo *d, const area_spec *a, int i)
{
    Civic__Volunteers__V1__RegisterVolunteerRequest req =
        CIVIC__VOLUNTEERS__V1__REGISTER_VOLUNTEER_REQUEST__INIT;
    Civic__Volunteers__V1__Volunteer v = CIVIC__VOLUNTEERS__V1__VOLUNTEER__INIT;
    char name[32], phone[16];
    snprintf(name, sizeof name, "%s%s", surnames[next_rand(d) % 10], given[next_rand(d) % 12]);
    snprintf(phone, sizeof phone, "1370000%02u%02d", (unsigned) a->id, i);
    v.name = name;
    v.phone = phone;
    v.kind = 1 + i % 5; // every kind in every area
    v.area_id = a->id;
    v.community = (char *) (uintptr_t) (i % 3 == 2 && a->id == 36 ? "新东花园社区" : a->community);
    v.consent = i % 7 != 6;
    v.demo = 1;
    req.volunteer = &v;
    ProtobufCMessage *r =
        call(d, "RegisterVolunteer", &req.base, &civic__volunteers__v1__register_volunteer_response__descriptor);
    uint64_t id = r ? ((Civic__Volunteers__V1__RegisterVolunteerResponse *) r)->volunteer->id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

static uint64_t
mk_activity(demo *d, const area_spec *a, const char *title, Civic__Volunteers__V1__ActivityKind kind,
            uint64_t point, int64_t start_ms, int64_t end_ms, int capacity, const char *about)
{
    Civic__Volunteers__V1__CreateActivityRequest req = CIVIC__VOLUNTEERS__V1__CREATE_ACTIVITY_REQUEST__INIT;
    Civic__Volunteers__V1__Activity x = CIVIC__VOLUNTEERS__V1__ACTIVITY__INIT;
    Google__Protobuf__Timestamp s = GOOGLE__PROTOBUF__TIMESTAMP__INIT, e = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    s.seconds = start_ms / 1000;
    e.seconds = end_ms / 1000;
    x.title = (char *) (uintptr_t) title;
    x.kind = kind;
    x.point_id = point;
    x.area_id = a->id;
    x.start_time = &s;
    x.end_time = &e;
    x.capacity = capacity;
    x.description = (char *) (uintptr_t) about;
    x.demo = 1;
    req.activity = &x;
    ProtobufCMessage *r =
        call(d, "CreateActivity", &req.base, &civic__volunteers__v1__create_activity_response__descriptor);
    uint64_t id = r ? ((Civic__Volunteers__V1__CreateActivityResponse *) r)->activity->id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

static uint64_t
sign_up(demo *d, uint64_t activity, uint64_t volunteer)
{
    Civic__Volunteers__V1__SignUpRequest req = CIVIC__VOLUNTEERS__V1__SIGN_UP_REQUEST__INIT;
    req.activity_id = activity;
    req.volunteer_id = volunteer;
    ProtobufCMessage *r = call(d, "SignUp", &req.base, &civic__volunteers__v1__sign_up_response__descriptor);
    uint64_t id = r ? ((Civic__Volunteers__V1__SignUpResponse *) r)->signup->id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

// attend checks a sign-up in and out now and corrects its hours to the
// minutes of the paper sheet.
static void
attend(demo *d, uint64_t signup, int32_t minutes)
{
    Civic__Volunteers__V1__CheckInRequest in = CIVIC__VOLUNTEERS__V1__CHECK_IN_REQUEST__INIT;
    Civic__Volunteers__V1__CheckOutRequest out = CIVIC__VOLUNTEERS__V1__CHECK_OUT_REQUEST__INIT;
    Civic__Volunteers__V1__CorrectHoursRequest fix = CIVIC__VOLUNTEERS__V1__CORRECT_HOURS_REQUEST__INIT;
    in.signup_id = out.signup_id = signup;
    protobuf_c_message_free_unpacked(
        call(d, "CheckIn", &in.base, &civic__volunteers__v1__check_in_response__descriptor), NULL);
    ProtobufCMessage *r = call(d, "CheckOut", &out.base, &civic__volunteers__v1__check_out_response__descriptor);
    if (r == NULL)
        return;
    fix.id = ((Civic__Volunteers__V1__CheckOutResponse *) r)->hours->id;
    fix.minutes = minutes;
    fix.reason = "按纸质签到表补录（演示）";
    protobuf_c_message_free_unpacked(r, NULL);
    protobuf_c_message_free_unpacked(
        call(d, "CorrectHours", &fix.base, &civic__volunteers__v1__correct_hours_response__descriptor), NULL);
}

static int
store_empty(demo *d)
{
    Civic__Volunteers__V1__ListVolunteersRequest req = CIVIC__VOLUNTEERS__V1__LIST_VOLUNTEERS_REQUEST__INIT;
    req.page_size = 1;
    req.include_inactive = 1;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    civic_call_opts o = {.read = 1};
    if (civic_call(d->ch, V "ListVolunteers", &req.base,
                   &civic__volunteers__v1__list_volunteers_response__descriptor, &resp, &o, &st) != 0)
        return 0;
    int empty = ((Civic__Volunteers__V1__ListVolunteersResponse *) resp)->n_volunteers == 0;
    protobuf_c_message_free_unpacked(resp, NULL);
    return empty;
}

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

int
volunteers_demo_load(const char *url, const civic_key *key)
{
    civic_channel_opts co = {.key = key, .principal = "demo-loader", .role = "admin"};
    demo d = {.rnd = 20191124};
    civic_status st;
    if (civic_channel_open(&d.ch, url, &co, &st) != 0)
        return -1;
    if (!store_empty(&d)) {
        civic_channel_close(d.ch);
        return 0;
    }
    int64_t now_ms = civic_wall_ms();
    // Whole hours, UTC+8: the activities start on the hour, local time.
    int64_t tomorrow9 = (now_ms + 8 * HOUR_MS) / DAY_MS * DAY_MS + DAY_MS + 9 * HOUR_MS - 8 * HOUR_MS;
    int64_t hour = now_ms / HOUR_MS * HOUR_MS;
    size_t n_vol = 0, n_act = 0, n_signup = 0;
    for (size_t ai = 0; ai < sizeof areas / sizeof areas[0]; ai++) {
        const area_spec *a = &areas[ai];
        uint64_t vols[PER_AREA];
        for (int i = 0; i < PER_AREA; i++)
            n_vol += (vols[i] = mk_volunteer(&d, a, i)) != 0;
        char title[200];
        // 三清 around the area's markets tomorrow morning: small, full, waitlisted.
        snprintf(title, sizeof title, "%s农贸市场周边三清行动", a->name);
        uint64_t clean = mk_activity(&d, a, title, CIVIC__VOLUNTEERS__V1__ACTIVITY_KIND__ACTIVITY_KIND_THREE_CLEARS,
                                     a->point_id, tomorrow9, tomorrow9 + 3 * HOUR_MS, 5,
                                     "清垃圾、清杂物、清小广告（演示）");
        // 入户宣传 in the community the day after.
        snprintf(title, sizeof title, "%s文明城市创建入户宣传", a->community);
        uint64_t door = mk_activity(&d, a, title, CIVIC__VOLUNTEERS__V1__ACTIVITY_KIND__ACTIVITY_KIND_DOOR_TO_DOOR, 0,
                                    tomorrow9 + DAY_MS + 5 * HOUR_MS, tomorrow9 + DAY_MS + 8 * HOUR_MS, 10,
                                    "发放《市民文明手册》，宣传创建知识（演示）");
        // 值守 at a point this weekend-style: a long duty, with room.
        snprintf(title, sizeof title, "%s周末文明劝导值守", a->name);
        uint64_t duty = mk_activity(&d, a, title, CIVIC__VOLUNTEERS__V1__ACTIVITY_KIND__ACTIVITY_KIND_DUTY,
                                    a->point_id, tomorrow9 + 3 * DAY_MS, tomorrow9 + 3 * DAY_MS + 8 * HOUR_MS,
                                    20, "路口、市场门口文明劝导（演示）");
        // A cleanup running now, whose hours are recorded this week.
        snprintf(title, sizeof title, "%s背街小巷三清（进行中）", a->name);
        uint64_t running = mk_activity(&d, a, title, CIVIC__VOLUNTEERS__V1__ACTIVITY_KIND__ACTIVITY_KIND_THREE_CLEARS,
                                       0, hour - 3 * HOUR_MS, hour + 2 * HOUR_MS, 6, "演示：今日已开展");
        n_act += (clean != 0) + (door != 0) + (duty != 0) + (running != 0);
        if (!clean || !door || !duty || !running)
            continue;
        for (int i = 0; i < 8; i++) // 5 seats: 3 on the waitlist
            n_signup += sign_up(&d, clean, vols[i]) != 0;
        for (int i = 3; i < 12; i++)
            n_signup += sign_up(&d, door, vols[i]) != 0;
        for (int i = 6; i < 15; i += 2)
            n_signup += sign_up(&d, duty, vols[i]) != 0;
        for (int i = 9; i < 15; i++) {
            uint64_t su = sign_up(&d, running, vols[i]);
            n_signup += su != 0;
            // On the sheet: arrived in the first half hour, left 1-20
            // minutes ago.
            int64_t in = hour - 3 * HOUR_MS + (int64_t) (next_rand(&d) % 30) * 60000;
            int64_t out = now_ms - (int64_t) (1 + next_rand(&d) % 20) * 60000;
            if (su && i % 4 != 0 && out > in)
                attend(&d, su, (int32_t) ((out - in) / 60000));
        }
    }
    civic_channel_close(d.ch);
    rt_log(d.failed ? RT_LOG_WARN : RT_LOG_INFO, "demo.loaded",
           "volunteers=%zu activities=%zu signups=%zu failed=%d", n_vol, n_act, n_signup, d.failed);
    return d.failed ? -1 : 0;
}

int
volunteers_ready(void *state, const rt_config *cfg)
{
    (void) state;
    return cfg->demo ? volunteers_demo_load(cfg->listen, cfg->key) : 0;
}
