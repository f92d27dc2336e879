#!/usr/bin/env bash
# civic.integrators.python_example / node_example: the example clients under
# clients/python and clients/node (no code shared with ours) against the real
# system — three back ends with the demo campaign and a gateway, on free
# loopback ports with temporary data. The example registers a volunteer,
# signs up (a seat, and a waitlist place) and prints the dashboard; our CLI
# then checks that the services hold what the example printed. Then the
# library's errors: a bad token (UNAUTHENTICATED), a too-short deadline
# against a stopped back end (DEADLINE_EXCEEDED), a back end down and the
# gateway down (UNAVAILABLE after 5 attempts; a write without an
# idempotency key after 1), and a call made while a back end restarts.
#   example_client.sh python|node POINTS TASKS VOLUNTEERS GATEWAY CIVIC
set -euo pipefail
lang=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=system.sh
source "$here/system.sh"
[ -x /usr/bin/python3 ] || skip_or_fail "/usr/bin/python3 is missing"
case $lang in
python)
  command -v protoc >/dev/null || skip_or_fail "protoc is missing"
  /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || skip_or_fail "python3-protobuf is missing"
  /usr/bin/python3 -c 'import ctypes; ctypes.CDLL("libnng.so.1")' 2>/dev/null || skip_or_fail "libnng.so.1 is missing"
  example() { /usr/bin/python3 "$src/clients/python/example.py" "$@"; }
  probe() { /usr/bin/python3 "$here/py_probe.py" "$@"; }
  ;;
node)
  command -v node >/dev/null || skip_or_fail "node is missing"
  command -v npm >/dev/null || skip_or_fail "npm is missing"
  # The exact versions of package-lock.json, into clients/node/node_modules
  # (gitignored); no install scripts run.
  (cd "$src/clients/node" && npm ci --ignore-scripts --no-audit --no-fund --silent >/dev/null) ||
    skip_or_fail "npm ci failed in clients/node (is the npm registry reachable?)"
  example() { node "$src/clients/node/example.js" "$@"; }
  probe() { node "$here/node_probe.js" "$@"; }
  ;;
*) echo "usage: example_client.sh python|node BINARIES…" >&2; exit 2 ;;
esac
check() { /usr/bin/python3 "$here/example_check.py" "$@"; }

tmp=$(mktemp -d)
trap 'sys_stop_all; rm -rf "$tmp"' EXIT
sys_start "$tmp" "$@"

# --- the example, twice: a full activity (waitlist) and one with room ---
civic_admin -o json activities list --page-size 200 >"$tmp/acts.json"
read -r full waiting room < <(check pick "$tmp/acts.json")
phone1=139$(printf "%04d%04d" $((RANDOM % 10000)) $((RANDOM % 10000)))
phone2=138$(printf "%04d%04d" $((RANDOM % 10000)) $((RANDOM % 10000)))
example --addr "$GW_URL" --activity-id "$full" --phone "$phone1" --json >"$tmp/ex1.json"
vid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["volunteer"]["id"])' "$tmp/ex1.json")
civic_admin -o json volunteers get "$vid" >"$tmp/vol1.json"
check signup "$tmp/ex1.json" "$tmp/vol1.json" waitlist "$waiting" "$phone1"
area=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dashboard"]["areas"][0]["areaId"])' "$tmp/ex1.json")
civic_admin -o json dashboard show >"$tmp/dash.json"
civic_admin -o json points list --area-id "$area" --all >"$tmp/points.json"
check dashboard "$tmp/ex1.json" "$tmp/dash.json" "$tmp/points.json"
# The text a person reads, as in the README.
example --addr "$GW_URL" --activity-id "$room" --phone "$phone2" >"$tmp/ex2.txt"
cat "$tmp/ex2.txt"
# The reply shows the phone masked (full phones are for admins only).
masked2="${phone2:0:3}****${phone2:7}"
grep -q "^registered volunteer [0-9]*: .*, ${masked2//\*/\\*}, area " "$tmp/ex2.txt" || { echo "FAIL: no volunteer line" >&2; exit 1; }
grep -q "^signed up for activity $room 「.*」: a seat " "$tmp/ex2.txt" || { echo "FAIL: no seat" >&2; exit 1; }
grep -q "^dashboard for [0-9]\{8\}:" "$tmp/ex2.txt" || { echo "FAIL: no dashboard" >&2; exit 1; }
vid2=$(sed -n 's/^registered volunteer \([0-9]*\):.*/\1/p' "$tmp/ex2.txt")
signups=$(civic_admin -o json signups list --activity-id "$room" --page-size 1000)
/usr/bin/python3 -c '
import json, sys
su = [s for s in json.loads(sys.argv[1])["signups"] if s["volunteerId"] == sys.argv[2]]
assert len(su) == 1 and su[0]["state"] == "SIGNUP_STATE_REGISTERED", su
' "$signups" "$vid2" || { echo "FAIL: the volunteers service holds no seat for volunteer $vid2" >&2; exit 1; }
echo "example: volunteer $vid waitlisted at activity $full, volunteer $vid2 seated at activity $room"

# --- errors: expect KIND TOKEN TIMEOUT CODE ATTEMPTS [MAX_MS] ---
judge() { # KIND TIMEOUT CODE ATTEMPTS MAX_MS "GOT"
  local kind=$1 timeout=$2 want=$3 attempts=$4 max_ms=$5 code n ms
  read -r code n ms <<<"$6"
  echo "$kind (deadline ${timeout} ms): $code after $n attempt(s), $ms ms"
  if [ "$code" != "$want" ] || { [ "$attempts" != any ] && [ "$n" != "$attempts" ]; } ||
    { [ -n "$max_ms" ] && [ "$ms" -gt "$max_ms" ]; }; then
    echo "FAIL: expected $want after $attempts attempt(s)${max_ms:+ within $max_ms ms}" >&2
    exit 1
  fi
}
expect() {
  judge "$1" "$3" "$4" "$5" "${6:-}" "$(probe "$GW_URL" "$2" "$1" "$3")"
}
expect dashboard "cg_not-a-token" 3000 UNAUTHENTICATED 1
expect dashboard "$ADMIN_TOKEN" 3000 OK 1
# A stopped back end keeps its connection: the call runs into its deadline.
kill -STOP "${SYS_PID[tasks]}"
expect problems "$ADMIN_TOKEN" 400 DEADLINE_EXCEEDED 1 2000
kill -CONT "${SYS_PID[tasks]}"
expect problems "$ADMIN_TOKEN" 3000 OK 1
# A back end down: reads are retried, then UNAVAILABLE; a write without an
# idempotency key is not retried.
sys_stop volunteers
expect activities "" 5000 UNAVAILABLE 5
expect signup-nokey "$ADMIN_TOKEN" 5000 UNAVAILABLE 1
# A call made while the back end restarts ends OK within its deadline
# (whether a retry was needed depends on timing: the attempts are shown).
# Retries enough to outlast a restart on a loaded machine (the backoff is
# capped at 1 s, so the deadline ends them, not the count).
probe "$GW_URL" "" activities 10000 20 >"$tmp/probe.out" &
prober=$!
sleep 0.3
sys_restart volunteers
wait "$prober"
judge activities 10000 OK any "" "$(cat "$tmp/probe.out")"
# The gateway down: nothing answers at all.
sys_stop gateway
expect activities "" 5000 UNAVAILABLE 5
echo "$lang example client: OK"
