# Shared by the operators' shell tests: free ports, starting services and
# waiting for them, and stopping everything on exit (sourced, not run).
PY=/usr/bin/python3
PIDS=()
declare -A LOG_OF=() # pid -> its log, for stop_all's report

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME LOG BIN ARGS... runs BIN in the background, logging to LOG.
start() {
    local name=$1 log=$2
    shift 2
    "$@" 2>"$log" &
    PIDS+=($!)
    LOG_OF[$!]=$log
    eval "PID_$name=$!"
}

# wait_log LOG PATTERN waits (up to 30 s) for a line of LOG to match.
wait_log() {
    local i
    for i in $(seq 300); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1:" >&2
    cat "$1" >&2
    return 1
}

# admin_port LOG prints the port the admin server took (admin.listening).
admin_port() {
    wait_log "$1" "admin.listening" && sed -n 's/.*admin\.listening.* port=\([0-9]*\).*/\1/p' "$1" | head -1
}

# stop_all sends SIGTERM to every process started and waits for it; a
# non-zero exit (an ASan report) fails the test.
stop_all() {
    local pid rc=0
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" && continue
        rc=$?
        echo "pid $pid exited $rc; the end of ${LOG_OF[$pid]:-its log}:" >&2
        tail -n 30 "${LOG_OF[$pid]:-/dev/null}" >&2 || true
        rc=1
    done
    PIDS=()
    return $rc
}

# skip WHY: exit 77 (ctest's skip), or fail when CIVIC_REQUIRE_ALL=1 (CI).
skip() {
    if [ "${CIVIC_REQUIRE_ALL:-0}" = 1 ]; then
        echo "FAIL (CIVIC_REQUIRE_ALL=1): $*" >&2
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
