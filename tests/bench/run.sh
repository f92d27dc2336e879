#!/usr/bin/env bash
# The benchmark suite: every figure beside its baseline, measured in the same
# run on this machine, as JSON lines and a table of ratios.
#
#   tests/bench/run.sh [--quick] [BUILD_DIR]
#
# --quick runs each measurement for a fraction of a second: the smoke run the
# test suite makes (it checks that figures come out, never their size).
set -euo pipefail
cd "$(dirname "$0")/../.."
dur=3 warm=0.5 count=2000
if [ "${1:-}" = "--quick" ]; then dur=0.3 warm=0.1 count=200; shift; fi
build=${1:-build/release}
. tests/bench/lib.sh
bench_build
bench="$build/tests/bench/civic-bench"

ep=$(port)
"$bench" echo-server --listen "tcp://127.0.0.1:$ep" & pids+=($!); echo_pid=$!
echo_url="tcp://127.0.0.1:$ep"
start_service points main
# Durable writes and check-ins each on a server of their own, so that each
# server's account of its batches at stop (below) is one measurement's.
start_service points writes
start_service points writes_one --batch-max 1
start_service points patrols
start_service points patrols_one --batch-max 1
start_service tasks tasks
start_service tasks tasks_one --batch-max 1
# Sign-ups: a pair (normal, batch-of-one) per mode, since each run's
# idempotency keys start again at b0.
for n in vol_one vol_many; do start_service volunteers $n; start_service volunteers ${n}_b1 --batch-max 1; done
# The gateway in front of the first points service (no other back ends).
gp=$(port)
"$build/services/gateway/civic-gateway" --listen "tcp://127.0.0.1:$gp" --data "$tmp/gateway" \
  --admin-listen= --log-level warn --points "$URL_main" --tasks= --volunteers= \
  --rate-per-token 0 --rate-per-client 0 2>>"$tmp/gateway.log" &
pids+=($!); gw_pid=$!; URL_gw="tcp://127.0.0.1:$gp"
wait_serving "$URL_gw"
for _ in $(seq 100); do [ -s "$tmp/gateway/admin.token" ] && break; sleep 0.05; done
admin_token=$(cat "$tmp/gateway/admin.token")
# A viewer's token: the figure is the gateway's routing, not the audit an
# admin's read of personal data adds.
gw_token=$("$build/clients/cli/civic" --addr "$URL_gw" --token "$admin_token" -o json \
  tokens create --principal bench --role viewer | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

out="$tmp/results.jsonl"
# peak NAME PID: samples PID's RssAnon every 50 ms until stopped, keeping the
# largest in $tmp/peak.NAME (P6: memory under 64 calls in flight).
peak() { while kill -0 "$2" 2>/dev/null; do
  awk -v f="$tmp/peak.$1" '/^RssAnon/ { m = $2; if ((getline p < f) > 0 && p + 0 > m) m = p; close(f);
    print m > f }' "/proc/$2/status" 2>/dev/null || true; sleep 0.05; done; }
run() { "$bench" run --duration "$dur" --warmup "$warm" "$@" | tee -a "$out"; }
run --label echo-1 --addr "$echo_url" --mode echo --echo-like health --inflight 1 --server-pid "$echo_pid"
run --label health-1 --addr "$URL_main" --mode health --inflight 1 --server-pid "$PID_main"
# The same by count rather than time: 2,000 calls (200 in the smoke run).
run --label health-1-count --addr "$URL_main" --mode health --inflight 1 --count "$count" --server-pid "$PID_main"
run --label echo-32 --addr "$echo_url" --mode echo --echo-like health --inflight 32 --server-pid "$echo_pid"
run --label health-32 --addr "$URL_main" --mode health --inflight 32 --server-pid "$PID_main"
run --label echo-getpoint-1 --addr "$echo_url" --mode echo --echo-like get-point --inflight 1 --server-pid "$echo_pid"
run --label getpoint-1 --addr "$URL_main" --mode get-point --inflight 1 --server-pid "$PID_main"
run --label echo-getpoint-32 --addr "$echo_url" --mode echo --echo-like get-point --inflight 32 --server-pid "$echo_pid"
run --label getpoint-32 --addr "$URL_main" --mode get-point --inflight 32 --server-pid "$PID_main"
run --label gw-getpoint-1 --addr "$URL_gw" --token "$gw_token" --mode get-point --no-setup 1 --inflight 1 --server-pid "$gw_pid" --extra-pid "$PID_main"
run --label gw-getpoint-32 --addr "$URL_gw" --token "$gw_token" --mode get-point --no-setup 1 --inflight 32 --server-pid "$gw_pid" --extra-pid "$PID_main"
peak points "$PID_writes" & peak_pids=($!)
run --label writes-64 --addr "$URL_writes" --mode create-area --inflight 64 --server-pid "$PID_writes"
run --label writes-64-batch1 --addr "$URL_writes_one" --mode create-area --inflight 64 --server-pid "$PID_writes_one"
run --label patrols-64 --addr "$URL_patrols" --mode record-patrol --inflight 64 --server-pid "$PID_patrols"
run --label patrols-64-batch1 --addr "$URL_patrols_one" --mode record-patrol --inflight 64 --server-pid "$PID_patrols_one"
peak tasks "$PID_tasks" & peak_pids+=($!)
run --label reports-64 --addr "$URL_tasks" --mode report-problem --inflight 64 --server-pid "$PID_tasks"
run --label reports-64-batch1 --addr "$URL_tasks_one" --mode report-problem --inflight 64 --server-pid "$PID_tasks_one"
run --label assigns-64 --addr "$URL_tasks" --mode assign-problem --inflight 64 --server-pid "$PID_tasks"
run --label assigns-64-batch1 --addr "$URL_tasks_one" --mode assign-problem --inflight 64 --server-pid "$PID_tasks_one"
# Volunteers registered per sign-up run (each call is a new sign-up for up to 32 times as many).
nvol=4000; if [ "$dur" = "0.3" ]; then nvol=500; fi
export CIVIC_BENCH_VOLUNTEERS=$nvol
run --label signup-one-64 --addr "$URL_vol_one" --mode signup-one --inflight 64 --server-pid "$PID_vol_one"
run --label signup-one-64-batch1 --addr "$URL_vol_one_b1" --mode signup-one --inflight 64 --server-pid "$PID_vol_one_b1"
peak volunteers "$PID_vol_many" & peak_pids+=($!)
run --label signup-many-64 --addr "$URL_vol_many" --mode signup-many --inflight 64 --server-pid "$PID_vol_many"
kill "${peak_pids[@]}" 2>/dev/null || true
run --label signup-many-64-batch1 --addr "$URL_vol_many_b1" --mode signup-many --inflight 64 --server-pid "$PID_vol_many_b1"

/usr/bin/python3 - "$out" "$tmp" "$count" <<'PY'
import json, sys
rows = {r["label"]: r for r in map(json.loads, open(sys.argv[1]))}
def line(name, a, b, what="calls_per_s", target=""):
    if a not in rows or b not in rows: return
    x, y = rows[a][what], rows[b][what]
    ratio = x / y if y else float("nan")
    print(f"{name:<44} {x:>10.0f} {y:>10.0f} {ratio:>7.2f}  {target}")
print(f"\n{'figure (vs baseline)':<44} {'value':>10} {'baseline':>10} {'ratio':>7}  target")
line("Health calls/s, 1 in flight, vs raw echo", "health-1", "echo-1")
line("Health p50 µs, 1 in flight, vs raw echo", "health-1", "echo-1", "p50_us")
line("Health calls/s, 32 in flight, vs raw echo", "health-32", "echo-32")
line("GetPoint calls/s, 1 in flight, vs raw echo", "getpoint-1", "echo-getpoint-1")
line("GetPoint p50 µs, 1 in flight, vs raw echo", "getpoint-1", "echo-getpoint-1", "p50_us", "<= 1.15")
line("GetPoint calls/s, 32 in flight, vs raw echo", "getpoint-32", "echo-getpoint-32", "calls_per_s", ">= 0.85")
line("GetPoint calls/s via gateway, 32 in flight, vs direct", "gw-getpoint-32", "getpoint-32", "calls_per_s", ">= 0.5")
line("GetPoint p50 µs via gateway, 1 in flight, vs direct", "gw-getpoint-1", "getpoint-1", "p50_us", "<= 2")
line("GetPoint p50 µs via gateway, 32 in flight, vs direct", "gw-getpoint-32", "getpoint-32", "p50_us", "<= 2")
line("durable writes/s, 64 in flight, vs batch-of-one", "writes-64", "writes-64-batch1")
line("check-ins/s, 64 in flight, vs batch-of-one", "patrols-64", "patrols-64-batch1", "calls_per_s", ">= 5")
line("reports/s 64 in flight vs batch-of-one", "reports-64", "reports-64-batch1")
line("assigns/s 64 in flight vs batch-of-one", "assigns-64", "assigns-64-batch1")
line("sign-ups/s, 64 in flight on one activity vs batch-of-one", "signup-one-64", "signup-one-64-batch1", "calls_per_s", ">= 3")
line("sign-ups/s, 64 in flight spread over many vs batch-of-one", "signup-many-64", "signup-many-64-batch1")
peaks = []
for name in ("points", "tasks", "volunteers"):
    try: peaks.append((name, int(open(f"{sys.argv[2]}/peak.{name}").read())))
    except (OSError, ValueError): pass
if peaks:
    worst = max(k for _, k in peaks)
    print(f"{'peak RssAnon kB, 64 in flight (' + ', '.join(f'{n} {k}' for n, k in peaks) + ')':<44} {worst:>10} {32768:>10} {worst / 32768:>7.2f}  <= 1 (32 MiB)")
bad = [r["label"] for r in rows.values() if r["calls"] == 0]
if rows["health-1-count"]["calls"] != int(sys.argv[3]):
    bad.append("health-1-count (not exactly %s calls)" % sys.argv[3])
if bad:
    print("no calls completed in:", ", ".join(bad)); sys.exit(1)
PY
# The writer's batches, from each server's own account at a clean stop.
for n in writes writes_one patrols patrols_one tasks tasks_one; do
  pid=$(eval echo "\$PID_$n"); kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "writer ($n): $(grep -o 'batches=.*' "$tmp/$n.log" | tail -1)"
done
for n in vol_one vol_one_b1 vol_many vol_many_b1; do
  pid=$(eval echo "\$PID_$n"); kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "writer ($n): $(grep -o 'batches=.*' "$tmp/$n.log" | tail -1)"
done
