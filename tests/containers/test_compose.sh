#!/usr/bin/env bash
# civic.containers.compose: the images and deploy/compose.yaml for real, on a
# Docker engine the test starts itself (tests/containers/dockerd.sh).
#  1. deploy/images.sh: the builder base by debootstrap (cached), the four
#     images from deploy/Dockerfile (static binaries on scratch)
#  2. docker-compose up with the test's own secrets, free host port, subnet
#     in 198.18.0.0/15 and project name; everything healthy
#  3. from the host, with this build's civic CLI, through the published port:
#     areas, a point and an activity made; a volunteer registers themselves
#     and signs up for it
#  4. docker-compose down (SIGTERM to each PID 1: clean exit 0, well inside
#     10 s) and up: every record and the volunteer's token are still there
#  5. kill -9 of the volunteers service's PID 1 while volunteers are being
#     registered through the gateway: the restart policy brings it back, and
#     every registration acknowledged is there afterwards
# Everything made is removed on exit (containers, network, volumes, the test
# images, dockerd); the builder's root filesystem tarball and the engine's data
# root with the builder image stay in CIVIC_IMAGE_CACHE [/var/cache/civicgrid]
# for the next run.
# Needs root, dockerd, docker-compose and debootstrap (scripts/setup.sh):
# without them it skips (77), or fails when CIVIC_REQUIRE_ALL=1.
# Usage: test_compose.sh CIVIC_CLI SOURCE_DIR
set -euo pipefail
CIVIC=$(readlink -f "$1")
SRC=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
T0=$(date +%s)

. "$HERE/../ops/lib.sh" # skip, fail
step() { echo "[$(($(date +%s) - T0))s] $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (dockerd, debootstrap)"
for c in dockerd /usr/bin/docker docker-compose debootstrap; do
  command -v "$c" >/dev/null || skip "$c is missing (scripts/setup.sh installs it)"
done

T=$(mktemp -d /tmp/civic-containers.XXXXXX)
PROJECT=civictest$$
. "$HERE/dockerd.sh"
dc() { docker-compose -f "$SRC/deploy/compose.yaml" -p "$PROJECT" "$@"; }
cleanup() {
  local rc=$?
  set +e
  if [ -n "$DOCKERD_PID" ]; then
    if [ $rc -ne 0 ]; then
      echo "--- logs (failed run)" >&2
      dc logs --no-color --tail 40 >&2 2>&1
    fi
    dc down -v --remove-orphans >/dev/null 2>&1
    # Only this test uses the engine: nothing of it survives the run but
    # the builder base (and earlier runs' test images are removed too).
    "$DOCKER" ps -aq | xargs -r "$DOCKER" rm -f >/dev/null 2>&1
    "$DOCKER" images --format '{{.Repository}}:{{.Tag}}' |
      grep -E '^civicgrid/(points|tasks|volunteers|gateway):test[0-9]+$' |
      xargs -r "$DOCKER" rmi >/dev/null 2>&1
    "$DOCKER" network prune -f >/dev/null 2>&1
    "$DOCKER" volume prune -f >/dev/null 2>&1
    "$DOCKER" image prune -f >/dev/null 2>&1
  fi
  dockerd_stop
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

step "starting dockerd"
dockerd_start "$T/d" || fail "dockerd did not start"
# Leftovers of an interrupted run on this engine.
"$DOCKER" ps -aq | xargs -r "$DOCKER" rm -f >/dev/null
"$DOCKER" network prune -f >/dev/null
"$DOCKER" volume prune -f >/dev/null

step "building the images"
TAG=test$$
(cd "$SRC" && CIVIC_BUILD_JOBS=2 bash deploy/images.sh "$TAG") || fail "deploy/images.sh failed"
for s in points tasks volunteers gateway; do
  size=$("$DOCKER" image inspect -f '{{.Size}}' "civicgrid/$s:$TAG")
  step "image civicgrid/$s: $((size / 1000)) kB"
done

# The test's own secrets, readable by the images' uid only.
mkdir -p "$T/secrets"
head -c 32 /dev/urandom | base64 >"$T/secrets/internal.key"
ADMIN="cg_$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')"
echo "$ADMIN" >"$T/secrets/admin.token"
chown 10001:10001 "$T/secrets"/*
chmod 0400 "$T/secrets"/*

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A /24 of 198.18.0.0/15 that no route of this host uses yet.
SUBNET=
for _ in $(seq 50); do
  n=$((RANDOM % 254 + 1))
  if ! ip route | grep -q "^198\.18\.$n\."; then SUBNET=198.18.$n.0/24; break; fi
done
[ -n "$SUBNET" ] || fail "no free /24 in 198.18.0.0/16"
WEB_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export CIVIC_TAG=$TAG CIVIC_GATEWAY_PORT=$PORT CIVIC_WEB_PORT=$WEB_PORT CIVIC_SECRETS_DIR=$T/secrets CIVIC_SUBNET=$SUBNET
ADDR=tcp://127.0.0.1:$PORT

# civic ARGS...: the CLI as admin through the published port, JSON out.
civic() { "$CIVIC" --addr "$ADDR" --token "$ADMIN" -o json "$@"; }
# jget FIELD: a dotted field of the JSON on stdin.
jget() {
  "$PY" -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1"
}
wait_gateway() {
  local i
  for i in $(seq 300); do
    "$CIVIC" --addr "$ADDR" --timeout 1s health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "the gateway did not answer on $ADDR in 60 s"
}
cid() { dc ps -q "$1"; }
health() { "$DOCKER" inspect -f '{{.State.Health.Status}}' "$(cid "$1")"; }
wait_healthy() {
  local i
  for i in $(seq 300); do
    [ "$(health "$1")" = healthy ] && return 0
    sleep 0.2
  done
  fail "$1 did not become healthy in 60 s"
}

step "docker-compose up ($PROJECT, $SUBNET, gateway on 127.0.0.1:$PORT)"
dc up -d --no-build >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; fail "docker-compose up"; }
for s in points tasks volunteers gateway; do wait_healthy "$s"; done
wait_gateway
# The admin HTTP server (what Kubernetes probes) answers on each container's address.
for s in points tasks volunteers gateway; do
  ip=$("$DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid "$s")")
  case $s in points) a=9001 ;; tasks) a=9002 ;; volunteers) a=9003 ;; gateway) a=9000 ;; esac
  [ "$(curl -fsS --max-time 3 "http://$ip:$a/readyz")" = ready ] || fail "$s: /readyz on $ip:$a"
done
# The pages and JSON over HTTP on the gateway's published web port.
curl -fsS --max-time 3 "http://127.0.0.1:$WEB_PORT/" | grep -q '<html' || fail "no page on the web port"
[ "$(curl -sS --max-time 3 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{}' "http://127.0.0.1:$WEB_PORT/v1/civic.gateway.v1.GatewayService/WhoAmI")" = 401 ] ||
  fail "WhoAmI over HTTP without a token is not 401"
# Only the gateway is published, and only on loopback.
ports=$("$DOCKER" ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Ports}}' | grep -c '127.0.0.1:' || true)
[ "$ports" = 1 ] || fail "expected one published port, found $ports"

step "a volunteer signs up through the gateway"
# An area chain, a point and an activity tomorrow, as admin.
parent=0
for lv in area town community grid; do
  parent=$(civic areas create --name 测试 --level "$lv" --parent-id "$parent" | jget area.id)
done
GRID=$parent
POINT=$(civic points create --name 测试点位 --kind key-area --lat 33.5 --lng 119.1 --grid-id "$GRID" | jget point.id)
now=$(date +%s)
ACT=$(civic activities create --title 三清行动 --kind three-clears --point-id "$POINT" --area-id 1 \
  --start-time $((now + 86400)) --end-time $((now + 86400 + 3600)) --capacity 5 | jget activity.id)
# The volunteer registers themselves (no token) and joins with the token they get.
reg=$("$CIVIC" --addr "$ADDR" -o json volunteers register-self --name 志愿者甲 --phone 13900000001 \
  --kind resident --area-id 1 --community 示范社区 --consent true)
VOL=$(jget volunteer.id <<<"$reg")
VTOKEN=$(jget token <<<"$reg")
SIGNUP=$("$CIVIC" --addr "$ADDR" --token "$VTOKEN" -o json activities join "$ACT" | jget signup.id)
step "volunteer $VOL signed up ($SIGNUP) for activity $ACT at point $POINT"

check_records() {
  civic areas get "$GRID" >/dev/null || fail "area $GRID lost ($1)"
  civic points get "$POINT" >/dev/null || fail "point $POINT lost ($1)"
  civic activities get "$ACT" >/dev/null || fail "activity $ACT lost ($1)"
  civic volunteers get "$VOL" >/dev/null || fail "volunteer $VOL lost ($1)"
  [ "$(civic signups get "$SIGNUP" | jget signup.volunteerId)" = "$VOL" ] || fail "sign-up $SIGNUP lost ($1)"
  # The gateway's token store: the volunteer's token still works.
  "$CIVIC" --addr "$ADDR" --token "$VTOKEN" whoami show >/dev/null || fail "the volunteer's token was lost ($1)"
}
check_records "before any restart"

step "docker-compose down and up"
ids=$(dc ps -q)
t=$(date +%s%N)
dc stop >"$T/stop.log" 2>&1 || { cat "$T/stop.log" >&2; fail "docker-compose stop"; }
ms=$((($(date +%s%N) - t) / 1000000))
step "stop took ${ms} ms"
[ "$ms" -lt 8000 ] || fail "docker-compose stop took ${ms} ms: some PID 1 waited for SIGKILL"
for c in $ids; do
  code=$("$DOCKER" inspect -f '{{.Name}} {{.State.ExitCode}}' "$c")
  [ "${code##* }" = 0 ] || fail "on SIGTERM: $code"
done
dc down >"$T/down.log" 2>&1 || { cat "$T/down.log" >&2; fail "docker-compose down"; }
dc up -d --no-build >"$T/up2.log" 2>&1 || { cat "$T/up2.log" >&2; fail "docker-compose up (2)"; }
for s in points tasks volunteers gateway; do wait_healthy "$s"; done
wait_gateway
check_records "after down and up"

step "docker stop of one service: SIGTERM to PID 1, a clean exit"
t=$(date +%s%N)
"$DOCKER" stop -t 10 "$(cid tasks)" >/dev/null
ms=$((($(date +%s%N) - t) / 1000000))
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$(cid tasks)")
step "tasks stopped in ${ms} ms, exit code $code"
[ "$code" = 0 ] || fail "tasks exited $code on SIGTERM"
[ "$ms" -lt 5000 ] || fail "tasks took ${ms} ms to stop"
"$DOCKER" start "$(cid tasks)" >/dev/null
wait_healthy tasks

step "kill -9 of the volunteers service's PID 1 during writes"
vc=$(cid volunteers)
pid1=$("$DOCKER" inspect -f '{{.State.Pid}}' "$vc")
restarts=$("$DOCKER" inspect -f '{{.RestartCount}}' "$vc")
: >"$T/acked"
(
  for i in $(seq 1 60); do
    if out=$(civic volunteers register --name "登记$i" --phone "1380000$(printf %04d "$i")" \
      --kind resident --area-id 1 --consent true 2>/dev/null); then
      jget volunteer.id <<<"$out" >>"$T/acked"
    fi
  done
) &
writer=$!
# Let some writes through, then kill it in the middle of the rest.
for _ in $(seq 100); do [ "$(wc -l <"$T/acked")" -ge 10 ] && break; sleep 0.1; done
kill -KILL "$pid1"
step "killed PID 1 of volunteers (host pid $pid1) after $(wc -l <"$T/acked") writes"
wait "$writer" || true
for _ in $(seq 300); do
  [ "$("$DOCKER" inspect -f '{{.RestartCount}}' "$vc")" -gt "$restarts" ] && break
  sleep 0.2
done
[ "$("$DOCKER" inspect -f '{{.RestartCount}}' "$vc")" -gt "$restarts" ] || fail "volunteers was not restarted"
wait_healthy volunteers
acked=$(wc -l <"$T/acked")
step "volunteers restarted by policy; $acked of 60 registrations acknowledged"
[ "$acked" -ge 20 ] || fail "only $acked registrations acknowledged"
while read -r id; do
  civic volunteers get "$id" >/dev/null || fail "acknowledged volunteer $id lost"
done <"$T/acked"
check_records "after kill -9"

step "PASS: $(($(date +%s) - T0)) s in all"
