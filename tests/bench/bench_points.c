// civic-bench modes for the points service.
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "civic/points/v1/points.pb-c.h"
#include "civic/rpc/v1/rpc.pb-c.h"

#define P "/civic.points.v1.PointsService/"

// fixtures: an area, town, community and grid, and one point on the grid.
static int
point_setup(civic_channel *ch, void **ctx)
{
    uint64_t parent = 0;
    const char *names[] = {"基准测试区", "基准街道", "基准社区", "基准网格"};
    for (int level = 1; level <= 4; level++) {
        Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
        Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
        a.name = (char *) (uintptr_t) names[level - 1];
        a.level = level;
        a.parent_id = parent;
        req.area = &a;
        ProtobufCMessage *resp;
        if (bench_call(ch, P "CreateArea", &req.base, &civic__points__v1__create_area_response__descriptor, &resp))
            return -1;
        parent = ((Civic__Points__V1__CreateAreaResponse *) resp)->area->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    Civic__Points__V1__CreatePointRequest req = CIVIC__POINTS__V1__CREATE_POINT_REQUEST__INIT;
    Civic__Points__V1__Point p = CIVIC__POINTS__V1__POINT__INIT;
    Civic__Points__V1__LatLng loc = CIVIC__POINTS__V1__LAT_LNG__INIT;
    loc.lat = 33.6;
    loc.lng = 119.0;
    p.name = "基准农贸市场 01";
    p.kind = CIVIC__POINTS__V1__POINT_KIND__POINT_KIND_FARMERS_MARKET;
    p.address = "淮安市清江浦区（基准测试数据）";
    p.location = &loc;
    p.grid_id = parent;
    req.point = &p;
    ProtobufCMessage *resp;
    if (bench_call(ch, P "CreatePoint", &req.base, &civic__points__v1__create_point_response__descriptor, &resp))
        return -1;
    uint64_t *id = malloc(sizeof *id);
    *id = ((Civic__Points__V1__CreatePointResponse *) resp)->point->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    *ctx = id;
    return 0;
}

static size_t
health_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
    return civic__rpc__v1__check_request__pack(&req, buf);
}

static size_t
get_point_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Points__V1__GetPointRequest req = CIVIC__POINTS__V1__GET_POINT_REQUEST__INIT;
    req.id = ctx ? *(uint64_t *) ctx : 1;
    return civic__points__v1__get_point_request__pack(&req, buf);
}

static size_t
patrol_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Points__V1__RecordPatrolRequest req = CIVIC__POINTS__V1__RECORD_PATROL_REQUEST__INIT;
    req.point_id = ctx ? *(uint64_t *) ctx : 1;
    req.result = CIVIC__POINTS__V1__PATROL_RESULT__PATROL_RESULT_FINE;
    req.note = "bench";
    return civic__points__v1__record_patrol_request__pack(&req, buf);
}

static size_t
create_area_payload(void *ctx, uint64_t n, uint8_t *buf, size_t cap)
{
    Civic__Points__V1__CreateAreaRequest req = CIVIC__POINTS__V1__CREATE_AREA_REQUEST__INIT;
    Civic__Points__V1__Area a = CIVIC__POINTS__V1__AREA__INIT;
    char name[64];
    snprintf(name, sizeof name, "bench-%llu", (unsigned long long) n);
    a.name = name;
    a.level = CIVIC__POINTS__V1__AREA_LEVEL__AREA_LEVEL_AREA;
    req.area = &a;
    return civic__points__v1__create_area_request__pack(&req, buf);
}

const bench_mode bench_points_modes[] = {
    {"health", "/civic.rpc.v1.HealthService/Check", 0, NULL, health_payload},
    {"get-point", P "GetPoint", 0, point_setup, get_point_payload},
    {"record-patrol", P "RecordPatrol", 1, point_setup, patrol_payload},
    {"create-area", P "CreateArea", 1, NULL, create_area_payload},
    {NULL, NULL, 0, NULL, NULL},
};
