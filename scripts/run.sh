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
start() { # NAME BINARY LISTEN ARGS…
  local name=$1 b=$2 listen=$3; shift 3
  "$b" --listen "$listen" --data "data/$name" --admin-listen= --demo "$@" 2>>"data/run/$name.log" &
  echo $! >"data/run/$name.pid"
  for _ in $(seq 200); do "$civic" --addr "$listen" health >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "$name did not start; see data/run/$name.log" >&2; exit 1
}
start points "$bin/services/points/civic-points" tcp://127.0.0.1:7001

export CIVIC_ADDR=tcp://127.0.0.1:7001
show() { echo; echo "\$ civic $*"; "$civic" "$@"; }
show health
show areas list
show points list --area-id 1 --page-size 8
show patrols list --local-day "$(date -u -d '+8 hours' +%Y%m%d)" --page-size 5
show coverage summary
cat <<MSG

civic-points is serving on tcp://127.0.0.1:7001 (data in ./data/points, log in
./data/run/points.log). Try: export CIVIC_ADDR=tcp://127.0.0.1:7001; $civic --help
Stop it with: bash scripts/stop.sh
MSG
