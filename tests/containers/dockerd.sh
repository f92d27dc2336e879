# A Docker engine of the test's own (sourced, not run): its own dockerd and
# containerd, socket, exec root and pid file, so it never meets another engine
# on the machine. Its data root is kept under CIVIC_IMAGE_CACHE between runs
# (the builder image and the build cache are what make a warm run fast), one
# run at a time (flock). It has no docker0 bridge (--bridge=none: builds run
# with --network=none, compose makes its own network), does not touch
# iptables or forwarding (published ports go through docker-proxy), and gives
# containers a resolver in TEST-NET that answers nothing: no container can
# reach or resolve anything outside the networks the test makes.
#
#   dockerd_start RUNDIR   start it; exports DOCKER_HOST and DOCKER
#   dockerd_stop           stop it (by its pid) and wait
DOCKERD_PID=
dockerd_start() {
  local run=$1 root=${CIVIC_IMAGE_CACHE:-/var/cache/civicgrid}/docker i
  mkdir -p "$root" "$run"
  exec 9>"${CIVIC_IMAGE_CACHE:-/var/cache/civicgrid}/docker.lock"
  if ! flock -w 900 9; then
    echo "dockerd: another run holds ${CIVIC_IMAGE_CACHE:-/var/cache/civicgrid}/docker.lock" >&2
    return 1
  fi
  dockerd --data-root "$root" --exec-root "$run/exec" --pidfile "$run/dockerd.pid" \
    --host "unix://$run/docker.sock" --bridge=none --iptables=false --ip-forward=false \
    --ip-masq=false --ip6tables=false --default-address-pool base=198.19.0.0/16,size=24 \
    --dns 203.0.113.53 --storage-driver overlay2 --log-level warn \
    --userland-proxy-path /usr/sbin/docker-proxy >"$run/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST=unix://$run/docker.sock DOCKER=/usr/bin/docker DOCKER_BUILDKIT=0
  for i in $(seq 600); do
    "$DOCKER" version >/dev/null 2>&1 && return 0
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      echo "dockerd exited:" >&2
      tail -20 "$run/dockerd.log" >&2
      DOCKERD_PID=
      return 1
    fi
    sleep 0.1
  done
  echo "dockerd did not answer in 60 s:" >&2
  tail -20 "$run/dockerd.log" >&2
  return 1
}

dockerd_stop() {
  [ -n "$DOCKERD_PID" ] || return 0
  kill -TERM "$DOCKERD_PID" 2>/dev/null || true
  local i
  for i in $(seq 300); do
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  wait "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=
  flock -u 9 2>/dev/null || true
}
