"""A civicgrid client written from the .proto files alone.

The envelope is civic.rpc.v1.Request / Response; nngcat carries one request
and its reply over nng's REQ/REP protocol. Nothing here comes from the C code.
"""
import subprocess
import sys
import time

from civic.points.v1 import points_pb2
from civic.rpc.v1 import rpc_pb2

URL, TMP = sys.argv[1], sys.argv[2]
CALL_ID = 1000


def call(method, request, response_type, metadata=None):
    global CALL_ID
    CALL_ID += 1
    env = rpc_pb2.Request(method=method, call_id=CALL_ID, timeout_ms=5000,
                          payload=request.SerializeToString())
    for k, v in (metadata or {}).items():
        env.metadata[k] = v
    path = f"{TMP}/req.bin"
    with open(path, "wb") as f:
        f.write(env.SerializeToString())
    out = subprocess.run(["nngcat", "--req0", "--dial", URL, "--raw", "--file", path,
                          "--recv-timeout", "5"], capture_output=True, check=True).stdout
    reply = rpc_pb2.Response()
    reply.ParseFromString(out)
    assert reply.call_id == CALL_ID, (reply.call_id, CALL_ID)
    if reply.status.code != 0:
        return reply.status, None
    msg = response_type()
    msg.ParseFromString(reply.payload)
    return reply.status, msg


# The server may still be starting.
for _ in range(100):
    try:
        st, health = call("/civic.rpc.v1.HealthService/Check", rpc_pb2.CheckRequest(),
                          rpc_pb2.CheckResponse)
        if st.code == 0 and health.status == rpc_pb2.CheckResponse.SERVING_STATUS_SERVING:
            break
    except subprocess.CalledProcessError:
        pass
    time.sleep(0.1)
else:
    sys.exit("no SERVING answer")
print("health: SERVING")

st, svcs = call("/civic.rpc.v1.ReflectionService/ListServices", rpc_pb2.ListServicesRequest(),
                rpc_pb2.ListServicesResponse)
assert st.code == 0, st
assert "civic.points.v1.PointsService" in svcs.services, svcs.services
assert "civic.rpc.v1.HealthService" in svcs.services
print("services:", ", ".join(svcs.services))

st, _ = call("/civic.points.v1.PointsService/NoSuchMethod", rpc_pb2.CheckRequest(),
             rpc_pb2.CheckResponse)
assert st.code == 12, st  # UNIMPLEMENTED

# Create the grid hierarchy, then a point on it, and read the point back.
parent = 0
for level, name in [(points_pb2.AREA_LEVEL_AREA, "清江浦区"), (points_pb2.AREA_LEVEL_TOWN, "某街道"),
                    (points_pb2.AREA_LEVEL_COMMUNITY, "某社区"), (points_pb2.AREA_LEVEL_GRID, "第一网格")]:
    st, r = call("/civic.points.v1.PointsService/CreateArea",
                 points_pb2.CreateAreaRequest(area=points_pb2.Area(level=level, parent_id=parent, name=name)),
                 points_pb2.CreateAreaResponse)
    assert st.code == 0, st
    parent = r.area.id
point = points_pb2.Point(name="清江浦区重点农贸市场 01（演示）", kind=points_pb2.POINT_KIND_FARMERS_MARKET,
                         address="淮安市清江浦区", location=points_pb2.LatLng(lat=33.6, lng=119.02),
                         grid_id=parent)
point.responsible.add(role=points_pb2.RESPONSIBLE_ROLE_MANAGER, name="张三", phone="13812345678")
st, created = call("/civic.points.v1.PointsService/CreatePoint", points_pb2.CreatePointRequest(point=point),
                   points_pb2.CreatePointResponse)
assert st.code == 0, st
st, got = call("/civic.points.v1.PointsService/GetPoint", points_pb2.GetPointRequest(id=created.point.id),
               points_pb2.GetPointResponse)
assert st.code == 0, st
assert got.point.name == point.name and got.point.grid_id == parent
assert abs(got.point.location.lat - 33.6) < 1e-9
assert got.point.responsible[0].phone == "13812345678"  # open mode acts as admin
print("point:", got.point.id, got.point.name)

# As a viewer the phone is masked; a bad field is named.
st, viewed = call("/civic.points.v1.PointsService/GetPoint", points_pb2.GetPointRequest(id=created.point.id),
                  points_pb2.GetPointResponse, {"x-civic-principal": "v1", "x-civic-role": "viewer"})
assert st.code == 0 and viewed.point.responsible[0].phone == "138****5678", viewed
bad = points_pb2.Point(name="x", kind=points_pb2.POINT_KIND_BACK_STREET, grid_id=parent,
                       location=points_pb2.LatLng(lat=95, lng=119))
st, _ = call("/civic.points.v1.PointsService/CreatePoint", points_pb2.CreatePointRequest(point=bad),
             points_pb2.CreatePointResponse)
assert st.code == 3 and any(v.field == "point.location.lat" for v in st.violations), st
print("python client: OK")
