# What the benchmark scripts (run.sh, tasks_scale.sh, ../soak/soak.sh) share;
# sourced from the repository's root after `build` is set.

# bench_build: builds $build (release) when its binaries are missing.
bench_build() {
  if [ ! -x "$build/services/points/civic-points" ] || [ ! -x "$build/tests/bench/civic-bench" ]; then
    bash scripts/setup.sh
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$build" >/dev/null
  fi
}

# A temporary directory, and the processes started into pids[]: both go at
# exit.
tmp=$(mktemp -d)
pids=()
bench_cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap bench_cleanup EXIT

# port: a free loopback port.
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# wait_serving URL: until Health answers SERVING (5 s at most).
wait_serving() { for _ in $(seq 100); do "$build/clients/cli/civic" --addr "$1" health >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "no server at $1" >&2; return 1; }

# start_service SERVICE NAME EXTRA-ARGS…: starts civic-SERVICE on a free port
# with its data in $tmp/NAME, sets URL_NAME and PID_NAME, waits for SERVING.
start_service() {
  local svc=$1 name=$2; shift 2
  local p; p=$(port)
  "$build/services/$svc/civic-$svc" --listen "tcp://127.0.0.1:$p" --data "$tmp/$name" \
    --admin-listen= --log-level warn "$@" 2>>"$tmp/$name.log" &
  pids+=($!)
  eval "URL_$name=tcp://127.0.0.1:$p PID_$name=$!"
  wait_serving "tcp://127.0.0.1:$p"
}
