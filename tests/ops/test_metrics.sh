#!/bin/bash
# civic.ops.metrics: a gateway in front of civic-points (tasks and volunteers
# configured but down), some load through both, then /healthz, /readyz,
# /metrics (checked against the Prometheus text format by prom_check.py and
# for the calls by method and code) and the HTTP errors.
# Usage: test_metrics.sh CIVIC POINTS GATEWAY
set -euo pipefail
CIVIC=$1 POINTS=$2 GATEWAY=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d)
trap 'stop_all || true; rm -rf "$T"' EXIT

echo "a-test-internal-key-of-some-length" >"$T/internal.key"
PP=$(free_port) GP=$(free_port) DOWN1=$(free_port) DOWN2=$(free_port)
start points "$T/points.log" "$POINTS" --listen "tcp://127.0.0.1:$PP" --data "$T/points" \
    --admin-listen 127.0.0.1:0 --internal-key-file "$T/internal.key" --unsafe-no-sync
start gateway "$T/gateway.log" "$GATEWAY" --listen "tcp://127.0.0.1:$GP" --data "$T/gateway" \
    --admin-listen 127.0.0.1:0 --internal-key-file "$T/internal.key" --unsafe-no-sync \
    --points "tcp://127.0.0.1:$PP" --tasks "tcp://127.0.0.1:$DOWN1" \
    --volunteers "tcp://127.0.0.1:$DOWN2" --probe-ms 100
PA=$(admin_port "$T/points.log")
GA=$(admin_port "$T/gateway.log")
wait_log "$T/points.log" server.serving
wait_log "$T/gateway.log" server.serving
TOKEN=$(cat "$T/gateway/admin.token")

# Wait until the gateway has points up (connected and probed), so that no
# call of the load meets UNAVAILABLE and is retried.
for i in $(seq 200); do
    curl -fsS "http://127.0.0.1:$GA/metrics" >"$T/gw.prom"
    grep -q '^civic_backend_up{backend="points"} 1$' "$T/gw.prom" && break
    sleep 0.05
done

gw() { "$CIVIC" --addr "tcp://127.0.0.1:$GP" --token "$TOKEN" "$@"; }
direct() { "$CIVIC" --addr "tcp://127.0.0.1:$PP" --internal-key-file "$T/internal.key" "$@"; }

for i in 1 2 3 4 5; do gw areas create --name "Area $i" >/dev/null; done
gw areas get 1 >/dev/null
for i in 1 2; do
    if gw areas get 999 >/dev/null 2>&1; then fail "area 999 exists"; fi
done
gw whoami show >/dev/null
direct areas get 2 >/dev/null
if "$CIVIC" --addr "tcp://127.0.0.1:$GP" areas create --name anon >/dev/null 2>&1; then
    fail "an anonymous create went through"
fi
curl -fsS "http://127.0.0.1:$GA/metrics" >"$T/gw.prom"


"$PY" "$HERE/prom_check.py" "$T/gw.prom" \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/CreateArea",code="OK"\} 5$' \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/GetArea",code="OK"\} 1$' \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/GetArea",code="NOT_FOUND"\} 2$' \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/CreateArea",code="UNAUTHENTICATED"\} 1$' \
    '^civic_calls_total\{method="/civic.gateway.v1.GatewayService/WhoAmI",code="OK"\} 1$' \
    '^civic_call_duration_seconds_count\{method="/civic.points.v1.PointsService/CreateArea"\} 6$' \
    '^civic_call_duration_seconds_bucket\{method="/civic.points.v1.PointsService/GetArea",le="\+Inf"\} 3$' \
    '^civic_backend_up\{backend="points"\} 1$' \
    '^civic_backend_up\{backend="tasks"\} 0$' \
    '^civic_backend_up\{backend="volunteers"\} 0$' \
    '^civic_backend_connections\{backend="points"\} [1-9]' \
    '^civic_backend_connections\{backend="tasks"\} 0$' \
    '^civic_calls_in_flight 0$' \
    '^civic_lmdb_map_size_bytes [1-9]' \
    '^civic_lmdb_pages_used [1-9]'

curl -fsS "http://127.0.0.1:$PA/metrics" >"$T/points.prom"
"$PY" "$HERE/prom_check.py" "$T/points.prom" \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/CreateArea",code="OK"\} 5$' \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/GetArea",code="OK"\} 2$' \
    '^civic_calls_total\{method="/civic.points.v1.PointsService/GetArea",code="NOT_FOUND"\} 2$' \
    '^civic_calls_total\{method="/civic.rpc.v1.HealthService/Check",code="OK"\} [1-9]' \
    '^civic_writer_writes_total [5-9]' \
    '^civic_writer_batches_total [1-9]' \
    '^civic_writer_batch_size_count [1-9]' \
    '^civic_writer_queue_depth 0$' \
    '^civic_lmdb_readers_used [0-9]' \
    '^civic_nng_pipes [0-9]'

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(curl -fsS "http://127.0.0.1:$PA/healthz")" = ok ] || fail "/healthz"
[ "$(code "http://127.0.0.1:$PA/readyz")" = 200 ] || fail "/readyz at points"
# A back end being down is not the gateway's unreadiness.
[ "$(code "http://127.0.0.1:$GA/readyz")" = 200 ] || fail "/readyz at the gateway"
[ "$(code -X POST "http://127.0.0.1:$GA/metrics")" = 405 ] || fail "POST is not 405"
[ "$(code -X DELETE "http://127.0.0.1:$PA/healthz")" = 405 ] || fail "DELETE is not 405"
[ "$(code "http://127.0.0.1:$PA/nothing")" = 404 ] || fail "an unknown path is not 404"
curl -fsS -D - -o /dev/null "http://127.0.0.1:$PA/metrics" | grep -qi '^content-type: text/plain; version=0.0.4' ||
    fail "content type"

stop_all || fail "a service did not stop cleanly"
echo "civic.ops.metrics: ok"
