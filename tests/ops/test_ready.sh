#!/bin/bash
# civic.ops.ready: /readyz answers 503 while a service is starting and while
# it is stopping, 200 in between; /healthz 200 throughout.
# Starting: the test holds LMDB's lock file (an exclusive fcntl lock on its
# first byte, which mdb_env_open waits for), so the store's open stays in
# progress until it lets go. Stopping: a call in flight (--test-stall-ms)
# keeps the drain after SIGTERM going; the call is still answered.
# Usage: test_ready.sh CIVIC POINTS
set -euo pipefail
CIVIC=$1 POINTS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d)
HOLDER=
trap '[ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null || true; stop_all || true; rm -rf "$T"' EXIT

status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2" || true; }

echo "a-test-internal-key-of-some-length" >"$T/internal.key"
PP=$(free_port)
run_points() {
    start points "$T/points.log" "$POINTS" --listen "tcp://127.0.0.1:$PP" --data "$T/points" \
        --admin-listen 127.0.0.1:0 --internal-key-file "$T/internal.key" --unsafe-no-sync "$@"
}
# A store that exists (a restart): LMDB's lock file is already set up, so
# the open, once the test lets go, finds it as a second user would.
run_points
wait_log "$T/points.log" server.serving
stop_all || fail "the first civic-points did not stop cleanly"
: >"$T/points.log"
"$PY" -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
open(sys.argv[2], "w").close()
time.sleep(600)
' "$T/points/lock.mdb" "$T/locked" &
HOLDER=$!
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
[ -e "$T/locked" ] || fail "could not lock $T/points/lock.mdb"

run_points --test-stall-ms 3000
AP=$(admin_port "$T/points.log")
# Starting: alive, not ready, for as long as the store's open waits.
for _ in 1 2 3; do
    [ "$(status "$AP" /healthz)" = 200 ] || fail "/healthz is not 200 while starting"
    [ "$(status "$AP" /readyz)" = 503 ] || fail "/readyz is not 503 while starting: $(status "$AP" /readyz)"
    sleep 0.2
done
grep -q server.serving "$T/points.log" && fail "serving while its store's lock was held"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
HOLDER=
wait_log "$T/points.log" server.serving
[ "$(status "$AP" /readyz)" = 200 ] || fail "/readyz is not 200 once serving"
echo "starting: /readyz 503, then 200 once serving"

# Stopping: a call in flight (stalled 3 s), then SIGTERM.
"$CIVIC" --addr "tcp://127.0.0.1:$PP" --internal-key-file "$T/internal.key" --timeout 20s \
    areas list >"$T/call.out" 2>&1 &
CALL=$!
for _ in $(seq 200); do
    curl -fsS "http://127.0.0.1:$AP/metrics" | grep -q '^civic_calls_in_flight [1-9]' && break
    sleep 0.05
done
curl -fsS "http://127.0.0.1:$AP/metrics" | grep -q '^civic_calls_in_flight [1-9]' || fail "the call never arrived"
kill -TERM "$PID_points"
wait_log "$T/points.log" server.stopping
[ "$(status "$AP" /readyz)" = 503 ] || fail "/readyz is not 503 while stopping"
[ "$(status "$AP" /healthz)" = 200 ] || fail "/healthz is not 200 while stopping"
wait "$CALL" || fail "the call in flight at SIGTERM was not answered: $(cat "$T/call.out")"
stop_all || fail "civic-points did not stop cleanly"
echo "stopping: /readyz 503 while the call in flight was answered"
echo "civic.ops.ready: ok"
