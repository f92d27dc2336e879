"""One call with clients/python's library, for example_client.sh:
   py_probe.py URL TOKEN KIND TIMEOUT_MS [MAX_ATTEMPTS]  →  prints "CODE_NAME ATTEMPTS ELAPSED_MS"
KIND: dashboard (GetDashboard, a read), problems (ListProblems: a read
forwarded to tasks), activities (ListActivities: a public read forwarded to
volunteers), signup-nokey (SignUp, a write without an idempotency key)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from civicgrid import Channel, CivicError, protos  # noqa: E402

protos.load()
from civic.gateway.v1 import gateway_pb2 as gw  # noqa: E402
from civic.tasks.v1 import tasks_pb2 as tasks  # noqa: E402
from civic.volunteers.v1 import volunteers_pb2 as vol  # noqa: E402

url, token, kind, timeout_ms = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4])
max_attempts = int(sys.argv[5]) if len(sys.argv) > 5 else 5
calls = {
    "dashboard": ("/civic.gateway.v1.GatewayService/GetDashboard", gw.GetDashboardRequest(),
                  gw.GetDashboardResponse, True),
    "problems": ("/civic.tasks.v1.TasksService/ListProblems", tasks.ListProblemsRequest(),
                 tasks.ListProblemsResponse, True),
    "activities": ("/civic.volunteers.v1.VolunteersService/ListActivities", vol.ListActivitiesRequest(),
                   vol.ListActivitiesResponse, True),
    "signup-nokey": ("/civic.gateway.v1.GatewayService/SignUp", gw.SignUpRequest(activity_id=2, volunteer_id=1),
                     gw.SignUpResponse, False),
}
method, req, resp, read = calls[kind]
# A short wait for the connection: a gateway that is down is found out by the call.
ch = Channel(url, token=token, wait_connect_ms=300, max_attempts=max_attempts)
start = time.monotonic()
try:
    ch.call(method, req, resp, timeout_ms=timeout_ms, read=read)
    code, attempts = "OK", ch.last_attempts
except CivicError as e:
    code, attempts = e.name, e.attempts
    print("  python: %s" % e, file=sys.stderr)
print(code, attempts, int((time.monotonic() - start) * 1000))
ch.close()
