# Sourced by the example clients' tests: the whole system on free loopback
# ports with temporary data — civic-points, civic-tasks and civic-volunteers
# with the demo campaign and an internal key, and a civic-gateway in front of
# them — as scripts/run.sh starts it, but on ports and directories of its own.
#   sys_start DIR POINTS TASKS VOLUNTEERS GATEWAY CIVIC   (binaries)
# sets GW_URL, ADMIN_TOKEN, SYS_URL[name], SYS_PID[name]; sys_stop NAME,
# sys_restart NAME and sys_stop_all (in the caller's EXIT trap).
declare -A SYS_URL SYS_PID SYS_ARGS
SYS_DIR= SYS_CIVIC=

sys_port() {
  /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# sys_run NAME: starts NAME with its recorded arguments, waits until it answers.
sys_run() {
  local name=$1
  # shellcheck disable=SC2086
  ${SYS_ARGS[$name]} >>"$SYS_DIR/$name.log" 2>&1 &
  SYS_PID[$name]=$!
  for _ in $(seq 400); do
    "$SYS_CIVIC" --addr "${SYS_URL[$name]}" --timeout 1s health >/dev/null 2>&1 && return 0
    kill -0 "${SYS_PID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: $name did not start; its log:" >&2
  tail -20 "$SYS_DIR/$name.log" >&2
  return 1
}

sys_start() {
  SYS_DIR=$1 SYS_CIVIC=$6
  local key=$SYS_DIR/internal.key bin name
  (umask 077 && head -c 32 /dev/urandom | base64 >"$key")
  local common="--admin-listen= --internal-key-file $key --unsafe-no-sync"
  for name in points tasks volunteers gateway; do SYS_URL[$name]=tcp://127.0.0.1:$(sys_port); done
  # The tasks and volunteers demos refer to the points demo's ids: points first.
  for name in points tasks volunteers; do
    case $name in points) bin=$2 ;; tasks) bin=$3 ;; volunteers) bin=$4 ;; esac
    SYS_ARGS[$name]="$bin --listen ${SYS_URL[$name]} --data $SYS_DIR/$name $common --demo"
    sys_run "$name"
    for _ in $(seq 400); do grep -q demo.loaded "$SYS_DIR/$name.log" && break; sleep 0.05; done
    grep -q demo.loaded "$SYS_DIR/$name.log" || { echo "FAIL: $name loaded no demo" >&2; return 1; }
  done
  # A probe interval longer than the deadline tests' calls: a stopped back
  # end must run into the caller's deadline, not be closed by a probe first.
  SYS_ARGS[gateway]="$5 --listen ${SYS_URL[gateway]} --data $SYS_DIR/gateway $common --probe-ms 2000
    --points ${SYS_URL[points]} --tasks ${SYS_URL[tasks]} --volunteers ${SYS_URL[volunteers]}"
  sys_run gateway
  GW_URL=${SYS_URL[gateway]}
  ADMIN_TOKEN=$(cat "$SYS_DIR/gateway/admin.token")
  # The gateway serves before it has reached its back ends: wait for them.
  local svc
  for svc in civic.points.v1.PointsService civic.tasks.v1.TasksService civic.volunteers.v1.VolunteersService; do
    for _ in $(seq 300); do
      "$SYS_CIVIC" --addr "$GW_URL" --timeout 1s health "$svc" >/dev/null 2>&1 && break
      sleep 0.05
    done
    "$SYS_CIVIC" --addr "$GW_URL" --timeout 1s health "$svc" >/dev/null || { echo "FAIL: gateway never reached $svc" >&2; return 1; }
  done
}

sys_stop() { # NAME: SIGTERM, and wait for it
  local pid=${SYS_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  SYS_PID[$1]=
}

sys_restart() { sys_run "$1"; }

sys_stop_all() {
  local name
  for name in gateway volunteers tasks points; do sys_stop "$name"; done
}

# civic_admin ARGS…: our CLI as admin at the gateway (to check what the
# example clients did; they share no code with it).
civic_admin() { "$SYS_CIVIC" --addr "$GW_URL" --token "$ADMIN_TOKEN" --timeout 10s "$@"; }

# skip_or_fail REASON: exit 77 (skipped), or fail under CIVIC_REQUIRE_ALL=1.
skip_or_fail() {
  if [ "${CIVIC_REQUIRE_ALL:-}" = 1 ]; then echo "FAIL: $1 (CIVIC_REQUIRE_ALL=1)" >&2; exit 1; fi
  echo "SKIP: $1"; exit 77
}
