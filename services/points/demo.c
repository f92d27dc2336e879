// The demo campaign, loaded through the public API into an empty store: the
// eight areas of the 2019 Huai'an report, the subdistricts and compounds it
// names in their right areas, synthetic markets, alleys and compounds
// (plainly named and flagged demo = true, with approximate coordinates inside
// Huai'an), units including the Eco-Culture zone's 8 squads, and three days
// of patrols. See ../../../shared/design/domain.md, "Demo data".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "points.h"
#include "rt_check.h"
#include "rt_demo.h"
#include "rt_log.h"

typedef struct demo {
    civic_channel *ch;
    int failed;
    unsigned rnd;
    int tz;
} demo;

typedef struct area_spec {
    const char *name;
    int platform;
    double lat, lng; // roughly where the area's urban part is
    const char *town;
} area_spec;

// The four districts and four platforms (四区四平台).
static const area_spec areas[] = {
    {"清江浦区", 0, 33.590, 119.030, "清江浦区示范街道"},
    {"洪泽区", 0, 33.295, 118.870, "高良涧街道"},
    {"淮阴区", 0, 33.632, 119.035, "淮阴区示范街道"},
    {"淮安区", 0, 33.505, 119.145, "淮安区示范街道"},
    {"苏淮高新区", 1, 33.545, 118.985, "高新区示范街道"},
    {"淮安工业园区", 1, 33.455, 119.095, "工业园区示范街道"},
    {"淮安生态文旅区", 1, 33.570, 119.060, "生态文旅区示范街道"},
    {"淮安经济技术开发区", 1, 33.555, 119.120, "开发区示范街道"},
};

static unsigned
next_rand(demo *d)
{
    return rt_demo_rand(&d->rnd);
}

static ProtobufCMessage *
call(demo *d, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
     const char *key)
{
    civic_call_opts o = {.timeout_ms = 10000, .idempotency_key = key};
    char m[128];
    snprintf(m, sizeof m, "/civic.points.v1.PointsService/%s", method);
    return rt_demo_call(d->ch, m, req, out, &o, &d->failed);
}

static uint64_t
mk_area(demo *d, Civic__Points__V1__AreaLevel level, uint64_t parent, const char *name, int platform)
{
    Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    a.level = level;
    a.parent_id = parent;
    a.name = (char *) (uintptr_t) name;
    a.demo = level != CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA && strcmp(name, "高良涧街道") != 0;
    if (level == CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA)
        a.kind = platform ? CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_PLATFORM
                          : CIVIC__POINTS__V1__AREA_KIND__AREA_KIND_DISTRICT;
    req.area = &a;
    ProtobufCMessage *r = call(d, "CreateArea", &req.base, &civic__points__v1__create_area_response__descriptor, NULL);
    uint64_t id = r ? ((Civic__Points__V1__CreateAreaResponse *) r)->area->id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

static void
mk_unit(demo *d, uint64_t area, const char *name, Civic__Points__V1__UnitKind kind)
{
    Civic__Points__V1__CreateUnitRequest req = CIVIC__POINTS__V1__CREATE_UNIT_REQUEST__INIT;
    Civic__Points__V1__Unit u = CIVIC__POINTS__V1__UNIT__INIT;
    char phone[16];
    snprintf(phone, sizeof phone, "1390000%04u", next_rand(d) % 10000);
    u.name = (char *) (uintptr_t) name;
    u.kind = kind;
    u.area_id = area;
    u.contact_name = "联系人（演示）";
    u.contact_phone = phone;
    u.demo = 1;
    req.unit = &u;
    protobuf_c_message_free_unpacked(
        call(d, "CreateUnit", &req.base, &civic__points__v1__create_unit_response__descriptor, NULL), NULL);
}

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"};
static const char *const given[] = {"建国", "秀英", "志强", "桂兰", "伟", "芳", "军", "丽", "磊", "敏"};

static uint64_t
mk_point(demo *d, uint64_t grid, const char *name, Civic__Points__V1__PointKind kind, double lat, double lng,
         const char *address, int real)
{
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    Civic__Points__V1__ResponsiblePerson people[3], *pp[3];
    char names[3][16], phones[3][16];
    for (int i = 0; i < 3; i++) {
        civic__points__v1__responsible_person__init(&people[i]);
        snprintf(names[i], sizeof names[i], "%s%s", surnames[next_rand(d) % 10], given[next_rand(d) % 10]);
        snprintf(phones[i], sizeof phones[i], "1380000%04u", next_rand(d) % 10000);
        people[i].role = i + 1; // manager, grid worker, cleaner
        people[i].name = names[i];
        people[i].phone = phones[i];
        pp[i] = &people[i];
    }
    loc.lat = lat;
    loc.lng = lng;
    p.name = (char *) (uintptr_t) name;
    p.kind = kind;
    p.address = (char *) (uintptr_t) address;
    p.location = &loc;
    p.grid_id = grid;
    p.responsible = pp;
    p.n_responsible = 3;
    p.demo = !real;
    req.point = &p;
    ProtobufCMessage *r = call(d, "CreatePoint", &req.base, &civic__points__v1__create_point_response__descriptor, NULL);
    uint64_t id = r ? ((Civic__Points__V1__CreatePointResponse *) r)->point->id : 0;
    protobuf_c_message_free_unpacked(r, NULL);
    return id;
}

typedef struct demo_point {
    uint64_t id;
    double lat, lng;
} demo_point;

typedef struct plan_item {
    const char *stem; // numbered "stem 01", "stem 02"…; a real name when count is 0
    int with_area;    // the stem follows the area's name
    Civic__Points__V1__PointKind kind;
    int count;
} plan_item;

// The points of one area: what the report names there, else a plain
// synthetic spread of markets, alleys, compounds and stairwells.
static size_t
area_points(demo *d, size_t ai, const uint64_t grids[2], demo_point *out)
{
    const area_spec *a = &areas[ai];
    size_t n = 0;
    char name[160], addr[200];
    plan_item plan[4];
    int np = 0;
#define PLAN(f, k, c) plan[np++] = (plan_item){f, 0, CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##k, c}
#define PLAN_AREA(f, k, c) plan[np++] = (plan_item){f, 1, CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_##k, c}
    switch (ai) {
    case 0: // Qingjiangpu checks 12 key farmers markets; alleys and stairwells repainted.
        PLAN("清江浦区重点农贸市场", FARMERS_MARKET, 12);
        PLAN("清江浦区背街小巷", BACK_STREET, 6);
        PLAN("清江浦区居民小区楼道", STAIRWELL, 4);
        break;
    case 1: // Hongze patrolled 19 compounds and 2 alleys one night (高良涧街道).
        PLAN("高良涧街道居民小区", RESIDENTIAL_COMPOUND, 19);
        PLAN("高良涧街道背街小巷", BACK_STREET, 2);
        break;
    case 2: // Huaiyin: 5 urban farmers markets and the compounds within 500 m.
        PLAN("淮阴区城区农贸市场", FARMERS_MARKET, 5);
        PLAN("淮阴区农贸市场周边小区", RESIDENTIAL_COMPOUND, 5);
        break;
    case 5: // The Industrial Park: clutter, zombie vehicles, parking.
        PLAN("工业园区居民小区", RESIDENTIAL_COMPOUND, 4);
        PLAN("工业园区路段", ROAD_SECTION, 2);
        break;
    case 6: // Eco-Culture: every resettlement compound repainted.
        PLAN("生态文旅区安置小区", RESIDENTIAL_COMPOUND, 5);
        PLAN("生态文旅区背街小巷", BACK_STREET, 2);
        break;
    case 7: // The Development Zone's compounds the report names, then synthetic ones.
        PLAN("城东花园", RESIDENTIAL_COMPOUND, 0);
        PLAN("新东花园", RESIDENTIAL_COMPOUND, 0);
        PLAN("开发区重点区域", KEY_AREA, 2);
        break;
    default:
        PLAN_AREA("重点区域", KEY_AREA, 2);
        PLAN_AREA("路段", ROAD_SECTION, 2);
        PLAN_AREA("河道", RIVER_COURSE, 1);
        break;
    }
#undef PLAN
#undef PLAN_AREA
    for (int k = 0; k < np; k++) {
        int real = plan[k].count == 0;
        for (int i = 1; i <= (real ? 1 : plan[k].count); i++) {
            if (real)
                snprintf(name, sizeof name, "%s", plan[k].stem);
            else
                snprintf(name, sizeof name, "%s%s %02d", plan[k].with_area ? a->name : "",
                         plan[k].stem, i);
            snprintf(addr, sizeof addr, "江苏省淮安市%s（演示地址）", a->name);
            double lat = a->lat + ((double) (next_rand(d) % 200) - 100) / 5000.0;
            double lng = a->lng + ((double) (next_rand(d) % 200) - 100) / 5000.0;
            uint64_t id = mk_point(d, grids[n % 2], name, plan[k].kind, lat, lng, addr, real);
            if (id)
                out[n++] = (demo_point){id, lat, lng};
        }
    }
    return n;
}

static void
patrol(demo *d, const demo_point *p, int64_t when_ms, int problems)
{
    Civic__Points__V1__RecordPatrolRequest req = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    ts.seconds = when_ms / 1000;
    loc.lat = p->lat + 0.0002;
    loc.lng = p->lng - 0.0001;
    req.point_id = p->id;
    req.patrol_time = &ts;
    req.result = problems ? CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_PROBLEMS_FOUND
                          : CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    req.note = problems ? "发现楼道杂物堆放、小广告，已交办（演示）" : "巡查正常（演示）";
    req.location = &loc;
    char key[64];
    snprintf(key, sizeof key, "demo-patrol-%llu-%lld", (unsigned long long) p->id, (long long) when_ms);
    protobuf_c_message_free_unpacked(
        call(d, "RecordPatrol", &req.base, &civic__points__v1__record_patrol_response__descriptor, key), NULL);
}

static int
store_empty(demo *d)
{
    Civic__Points__V1__ListAreasRequest req = CIVIC__POINTS__V1__LIST_AREAS_REQUEST__INIT;
    req.page_size = 1;
    ProtobufCMessage *resp = NULL;
    civic_status st;
    civic_call_opts o = {.read = 1};
    if (civic_call(d->ch, "/civic.points.v1.PointsService/ListAreas", &req.base,
                   &civic__points__v1__list_areas_response__descriptor, &resp, &o, &st) != 0)
        return 0;
    int empty = ((Civic__Points__V1__ListAreasResponse *) resp)->n_areas == 0;
    protobuf_c_message_free_unpacked(resp, NULL);
    return empty;
}

int
points_demo_load(const char *url, const civic_key *key, int tz_offset_min)
{
    civic_channel_opts co = {.key = key, .principal = "demo-loader", .role = "admin"};
    demo d = {.rnd = 20191124, .tz = tz_offset_min};
    civic_status st;
    if (civic_channel_open(&d.ch, url, &co, &st) != 0)
        return -1;
    if (!store_empty(&d)) {
        civic_channel_close(d.ch);
        return 0;
    }
    int64_t now_ms = civic_wall_ms();
    int32_t today = rt_local_day(now_ms, tz_offset_min);
    size_t total_points = 0, total_patrols = 0;
    for (size_t ai = 0; ai < sizeof areas / sizeof areas[0]; ai++) {
        const area_spec *a = &areas[ai];
        uint64_t area = mk_area(&d, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA, 0, a->name, a->platform);
        uint64_t town = mk_area(&d, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_TOWN, area, a->town, 0);
        char cname[128], gname[200];
        snprintf(cname, sizeof cname, "%s示范社区", a->town);
        uint64_t comm = mk_area(&d, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_COMMUNITY, town, cname, 0);
        uint64_t grids[2];
        for (int g = 0; g < 2; g++) {
            snprintf(gname, sizeof gname, "%s第%d网格", cname, g + 1);
            grids[g] = mk_area(&d, CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_GRID, comm, gname, 0);
        }
        if (!area || !grids[0] || !grids[1])
            break;
        // Units: every area has a squad and its departments; Eco-Culture runs 8.
        char uname[128];
        int squads = ai == 6 ? 8 : 1;
        for (int s = 1; s <= squads; s++) {
            snprintf(uname, sizeof uname, "%s应急小队 %d", a->name, s);
            mk_unit(&d, area, uname, CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_EMERGENCY_SQUAD);
        }
        const char *depts[] = {"住建局", "城管局", "环卫处"};
        for (int k = 0; k < 3; k++) {
            snprintf(uname, sizeof uname, "%s%s", a->name, depts[k]);
            mk_unit(&d, area, uname, CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_DEPARTMENT);
        }
        snprintf(uname, sizeof uname, "%s办事处", a->town);
        mk_unit(&d, area, uname, CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_SUBDISTRICT_OFFICE);
        snprintf(uname, sizeof uname, "%s保洁公司（演示）", a->name);
        mk_unit(&d, area, uname, CIVIC__POINTS__V1__UNIT_KIND__UNIT_KIND_CONTRACTOR);

        demo_point pts[40];
        size_t n = area_points(&d, ai, grids, pts);
        total_points += n;
        // Three days of "日巡查": most points each day, fewer today so far.
        for (int back = 2; back >= 0; back--) {
            int32_t day = rt_day_add(today, -back);
            int64_t start = rt_day_start_ms(day, tz_offset_min);
            for (size_t i = 0; i < n; i++) {
                if (next_rand(&d) % 100 >= (back == 0 ? 55u : 80u))
                    continue;
                int64_t when = start + (int64_t) (7 + next_rand(&d) % 11) * 3600000 +
                               (int64_t) (next_rand(&d) % 60) * 60000;
                if (when > now_ms - 60000)
                    when = now_ms - 60000 - (int64_t) (next_rand(&d) % 600) * 1000;
                if (when < start)
                    continue;
                patrol(&d, &pts[i], when, next_rand(&d) % 5 == 0);
                total_patrols++;
            }
        }
    }
    civic_channel_close(d.ch);
    rt_log(d.failed ? RT_LOG_WARN : RT_LOG_INFO, "demo.loaded", "points=%zu patrols=%zu failed=%d",
           total_points, total_patrols, d.failed);
    return d.failed ? -1 : 0;
}

int
points_ready(void *state, const rt_config *cfg)
{
    (void) state;
    return cfg->demo ? points_demo_load(cfg->listen, cfg->key, (int) cfg->tz_offset_min) : 0;
}
