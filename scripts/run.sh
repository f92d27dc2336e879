#!/usr/bin/env bash
# Builds civicgrid (release), starts its services on loopback with local data
# under ./data, loads the demo campaign into an empty store, and shows the
# CLI against it. The services keep running; stop them with scripts/stop.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release >/dev/null
bash scripts/stop.sh >/dev/null 2>&1 || true

mkdir -p data/run
bin=build/release
civic="$bin/clients/cli/civic"
# The internal key the gateway signs identity with and the services check.
key=data/internal.key
[ -s "$key" ] || (umask 077 && head -c 32 /dev/urandom | base64 >"$key")
start() { # NAME BINARY LISTEN ARGS…
  local name=$1 b=$2 listen=$3; shift 3
  # Where this run's lines begin: the logs are kept across runs.
  wc -c <"data/run/$name.log" 2>/dev/null >"data/run/$name.offset" || echo 0 >"data/run/$name.offset"
  "$b" --listen "$listen" --data "data/$name" --admin-listen= --internal-key-file "$key" "$@" \
    >>"data/run/$name.log" 2>&1 &
  echo $! >"data/run/$name.pid"
  for _ in $(seq 200); do "$civic" --addr "$listen" health >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "$name did not start; see data/run/$name.log" >&2; exit 1
}
# ready NAME: wait until this run's NAME logged service.ready (after its demo
# load, if any: each back end loads its demo once SERVING).
ready() {
  local off; off=$(cat "data/run/$1.offset")
  for _ in $(seq 1200); do
    tail -c +$((off + 1)) "data/run/$1.log" | grep -q service.ready && return 0; sleep 0.05
  done
  echo "$1 did not finish starting (its demo?); see data/run/$1.log" >&2; exit 1
}
# Each service loads its part of the demo campaign into an empty store (the
# tasks and volunteers demos refer to the points demo's ids by number only).
start points "$bin/services/points/civic-points" tcp://127.0.0.1:7001 --demo
start tasks "$bin/services/tasks/civic-tasks" tcp://127.0.0.1:7002 --demo
start volunteers "$bin/services/volunteers/civic-volunteers" tcp://127.0.0.1:7003 --demo
# The gateway also serves JSON over HTTP and the web pages (web/) on :8080.
start gateway "$bin/services/gateway/civic-gateway" tcp://127.0.0.1:7000 \
  --points tcp://127.0.0.1:7001 --tasks tcp://127.0.0.1:7002 --volunteers tcp://127.0.0.1:7003 \
  --web-listen 127.0.0.1:8080 --web-root "$PWD/web"
for name in points tasks volunteers gateway; do ready "$name"; done

export CIVIC_ADDR=tcp://127.0.0.1:7000 CIVIC_TOKEN_FILE=$PWD/data/gateway/admin.token
# The gateway connects to its back ends on its own: wait until it reaches all three.
for svc in points.v1.PointsService tasks.v1.TasksService volunteers.v1.VolunteersService; do
  for _ in $(seq 200); do "$civic" health "civic.$svc" >/dev/null 2>&1 && break; sleep 0.05; done
done
show() { echo; echo "\$ civic $*"; "$civic" "$@"; }
show health
show areas list
show points list --area-id 1 --page-size 8
show patrols list --local-day "$(date -u -d '+8 hours' +%Y%m%d)" --page-size 5
show coverage summary
show problems list --overdue true --page-size 5
show activities list --page-size 5
cat <<MSG

The gateway is serving on tcp://127.0.0.1:7000 in front of civic-points (:7001),
civic-tasks (:7002) and civic-volunteers (:7003); data in ./data, logs in ./data/run. The admin token is
in ./data/gateway/admin.token.

Web pages (and JSON over HTTP: POST http://127.0.0.1:8080/v1/PACKAGE.SERVICE/METHOD):
  volunteers:  http://127.0.0.1:8080/
  dashboard:   http://127.0.0.1:8080/dashboard.html  (paste a viewer token:
               $civic tokens create --principal 看板 --role viewer)
Try:
  export CIVIC_ADDR=tcp://127.0.0.1:7000 CIVIC_TOKEN_FILE=$PWD/data/gateway/admin.token
  $civic --help
Stop everything with: bash scripts/stop.sh

The demo campaign's dashboard (civic dashboard):
MSG
"$civic" dashboard
