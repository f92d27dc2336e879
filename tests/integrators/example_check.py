"""Assertions for example_client.sh, on JSON from the example clients and
from our CLI (which reads what the services hold).
  example_check.py pick ACTIVITIES.json
      → "FULL WAITLISTED ROOM": an open, upcoming full activity, its
        waitlist's length, and one with seats left
  example_check.py signup EXAMPLE.json VOLUNTEER.json seat|waitlist N PHONE
  example_check.py dashboard EXAMPLE.json DASHBOARD.json POINTS.json"""
import json
import sys
from datetime import datetime, timezone


def load(p):
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def fail(msg):
    sys.exit("FAIL: " + msg)


cmd = sys.argv[1]
if cmd == "pick":
    now = datetime.now(timezone.utc)
    up = [a for a in load(sys.argv[2])["activities"]
          if a.get("state") == "ACTIVITY_STATE_OPEN"
          and datetime.fromisoformat(a["startTime"].replace("Z", "+00:00")) > now]
    full = [a for a in up if a.get("seatsLeft", 0) == 0 and a.get("waitlisted", 0) > 0]
    room = [a for a in up if a.get("seatsLeft", 0) > 0]
    if not full or not room:
        fail("the demo has no full and no roomy upcoming activity: %s" % up)
    print(full[0]["id"], full[0]["waitlisted"], room[0]["id"])
elif cmd == "signup":
    ex, held, want, n, phone = load(sys.argv[2]), load(sys.argv[3])["volunteer"], sys.argv[4], int(sys.argv[5]), sys.argv[6]
    v, su = ex["volunteer"], ex["signup"]
    if v["id"] != held["id"] or held["phone"] != phone or held["state"] != "VOLUNTEER_STATE_ACTIVE":
        fail("the volunteers service holds %s for the example's %s" % (held, v))
    if su["signup"]["volunteerId"] != v["id"] or su["signup"]["activityId"] != ex["activity"]["id"]:
        fail("the sign-up is not the new volunteer's for the activity: %s" % su)
    if want == "seat" and not (su.get("registered") and su["signup"]["state"] == "SIGNUP_STATE_REGISTERED"):
        fail("expected a seat: %s" % su)
    if want == "waitlist" and not (su.get("waitlisted") and su.get("position") == n + 1
                                   and su["signup"]["state"] == "SIGNUP_STATE_WAITLISTED"):
        fail("expected waitlist position %d: %s" % (n + 1, su))
    print("volunteer %s registered (phone %s), signed up: %s" % (v["id"], phone, want))
elif cmd == "dashboard":
    ours, held, pts = load(sys.argv[2])["dashboard"], load(sys.argv[3]), load(sys.argv[4])["points"]
    if ours.get("localDay") != held.get("localDay") or len(ours.get("areas", [])) != len(held.get("areas", [])):
        fail("dashboards differ: %s / %s" % (ours, held))
    if len(held["areas"]) < 2:
        fail("the demo's dashboard has fewer than two areas")
    for a, b in zip(ours["areas"], held["areas"]):
        for k in set(a) | set(b):
            x, y = a.get(k, 0), b.get(k, 0)
            # Hours this week grow while a demo activity runs: near enough.
            tol = 0.5 if k == "volunteerHoursThisWeek" else 1e-9
            if (isinstance(x, float) or isinstance(y, float)) and abs(float(x) - float(y)) <= tol:
                continue
            if x != y:
                fail("area %s: %s is %r in the example, %r at the gateway" % (a.get("areaId"), k, x, y))
    active = [p for p in pts if p.get("state", "POINT_STATE_ACTIVE") == "POINT_STATE_ACTIVE"]
    if ours["areas"][0]["points"] != len(active) or not active:
        fail("area %s: %d points on the dashboard, %d active at the points service"
             % (ours["areas"][0]["areaId"], ours["areas"][0]["points"], len(active)))
    parts = {p["name"]: p.get("available", False) for p in ours.get("parts", [])}
    if not all(parts.get(n) for n in ("points", "tasks", "volunteers")):
        fail("a part of the dashboard is missing: %s" % parts)
    print("dashboard: %d areas as the services hold them" % len(ours["areas"]))
else:
    fail("unknown command " + cmd)
