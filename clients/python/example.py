#!/usr/bin/python3
"""civicgrid example: a volunteer registers themselves through the gateway,
signs up for an activity and prints the dashboard.

    /usr/bin/python3 clients/python/example.py [--addr tcp://127.0.0.1:7000]
        [--activity-id N] [--name NAME] [--phone 139XXXXXXXX] [--json]

Run against `bash scripts/run.sh`'s system: self-registration and the list of
activities are public, so no token is needed to begin; SelfRegister returns
the volunteer's own token, which the sign-up and the dashboard use.
"""
import argparse
import json
import os
import random
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from civicgrid import Channel, CivicError, new_idempotency_key, protos  # noqa: E402

protos.load()
from google.protobuf import json_format  # noqa: E402
from civic.gateway.v1 import gateway_pb2  # noqa: E402
from civic.volunteers.v1 import volunteers_pb2 as vol  # noqa: E402

GW = "/civic.gateway.v1.GatewayService/"
VOL = "/civic.volunteers.v1.VolunteersService/"


def pick_activity(ch, wanted, timeout_ms):
    """The activity to sign up for: the one asked for, else the first open
    one that has not started yet (the list is in order of end time)."""
    acts = ch.call(VOL + "ListActivities", vol.ListActivitiesRequest(page_size=200),
                   vol.ListActivitiesResponse, read=True, timeout_ms=timeout_ms).activities
    now = time.time()
    for a in acts:
        if wanted and a.id == wanted:
            return a
        if not wanted and a.state == vol.ACTIVITY_STATE_OPEN and a.start_time.seconds > now:
            return a
    raise SystemExit("no such activity" if wanted else "no open activity to sign up for")


def pad(text, width):
    """text padded to width terminal columns (Chinese takes two each)."""
    cols = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - cols)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr", default=os.environ.get("CIVIC_ADDR", "tcp://127.0.0.1:7000"))
    ap.add_argument("--activity-id", type=int, default=0)
    ap.add_argument("--name", default="示例志愿者")
    ap.add_argument("--phone", default="139" + "".join(random.choice("0123456789") for _ in range(8)))
    ap.add_argument("--community", default="示例社区")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a = ap.parse_args()
    t = a.timeout_ms

    with Channel(a.addr) as ch:
        act = pick_activity(ch, a.activity_id, t)
        # SelfRegister is a write without an idempotency key: never retried
        # (a second attempt could find the phone already registered).
        reg = ch.call(GW + "SelfRegister", gateway_pb2.SelfRegisterRequest(volunteer=vol.Volunteer(
            name=a.name, phone=a.phone, kind=vol.VOLUNTEER_KIND_RESIDENT, area_id=act.area_id,
            community=a.community, consent=True)), gateway_pb2.SelfRegisterResponse, timeout_ms=t)
        v = reg.volunteer
        ch.token = reg.token  # from here on, the volunteer acts as themselves
        # A write with an idempotency key: retried on UNAVAILABLE, applied once.
        su = ch.call(GW + "SignUp", gateway_pb2.SignUpRequest(activity_id=act.id),
                     gateway_pb2.SignUpResponse, idempotency_key=new_idempotency_key(), timeout_ms=t)
        dash = ch.call(GW + "GetDashboard", gateway_pb2.GetDashboardRequest(),
                       gateway_pb2.GetDashboardResponse, read=True, timeout_ms=t)

    if a.json:
        print(json.dumps({
            "volunteer": json_format.MessageToDict(v),
            "activity": json_format.MessageToDict(act),
            "signup": json_format.MessageToDict(su),
            "dashboard": json_format.MessageToDict(dash),
        }, ensure_ascii=False))
        return
    print("registered volunteer %d: %s, %s, area %d (token until %s)"
          % (v.id, v.name, v.phone, v.area_id, reg.expire_time.ToJsonString()))
    where = ("a seat (%d of %d taken before)" % (act.registered, act.capacity) if su.registered
             else "waitlist position %d" % su.position if su.waitlisted
             else vol.SignupState.Name(su.signup.state))
    print("signed up for activity %d 「%s」: %s%s, sign-up %d"
          % (act.id, act.title, where, " (already signed up)" if su.existing else "", su.signup.id))
    print("dashboard for %d:" % dash.local_day)
    print("  %-4s %s %6s %10s %6s %8s %8s %8s %10s"
          % ("area", pad("name", 18), "points", "patrolled", "open", "overdue", "closed", "hours", "volunteers"))
    for ar in dash.areas:
        print("  %-4d %s %6d %5d %3.0f%% %6d %8d %8d %8.1f %10d"
              % (ar.area_id, pad(ar.name, 18), ar.points, ar.patrolled_today, 100 * ar.patrolled_share,
                 ar.problems_open, ar.problems_overdue, ar.problems_closed_today,
                 ar.volunteer_hours_this_week, ar.volunteers_active))
    down = ["%s (%s)" % (p.name, p.reason) for p in dash.parts if not p.available]
    if down:
        print("  unavailable: " + ", ".join(down))


if __name__ == "__main__":
    try:
        main()
    except CivicError as e:
        print("error: %s (after %d attempt%s)" % (e, e.attempts, "" if e.attempts == 1 else "s"),
              file=sys.stderr)
        sys.exit(1)
