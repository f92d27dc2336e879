#!/usr/bin/env bash
# The soak: a mixed load through the gateway for a set time, outside the test
# suite. Reads and writes to every back end run side by side in slices of
# SLICE seconds (civic-bench, one process per kind of call); between slices
# it samples each process's RssAnon, open descriptors and LMDB reader slots.
# At the end: the error rate, latency percentiles per slice, and growth after
# warm-up (the first slice).
#
#   tests/soak/soak.sh [--minutes M] [--slice S] [BUILD_DIR]   (default 10, 30, build/release)
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=10 slice=30
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --slice) slice=$2; shift 2 ;;
    *) break ;;
  esac
done
build=${1:-build/release}
. tests/bench/lib.sh
bench_build
bench="$build/tests/bench/civic-bench"
civic="$build/clients/cli/civic"

echo "a-soak-internal-key-of-some-length" >"$tmp/internal.key"
declare -A URL PID
for svc in points tasks volunteers; do
  p=$(port)
  URL[$svc]="tcp://127.0.0.1:$p"
  "$build/services/$svc/civic-$svc" --listen "${URL[$svc]}" --data "$tmp/$svc" --admin-listen= \
    --log-level warn --internal-key-file "$tmp/internal.key" 2>>"$tmp/$svc.log" &
  pids+=($!); PID[$svc]=$!
done
p=$(port)
URL[gateway]="tcp://127.0.0.1:$p"
"$build/services/gateway/civic-gateway" --listen "${URL[gateway]}" --data "$tmp/gateway" --admin-listen= \
  --log-level warn --internal-key-file "$tmp/internal.key" --rate-per-token 0 --rate-per-client 0 \
  --points "${URL[points]}" --tasks "${URL[tasks]}" --volunteers "${URL[volunteers]}" 2>>"$tmp/gateway.log" &
pids+=($!); PID[gateway]=$!
for _ in $(seq 200); do [ -s "$tmp/gateway/admin.token" ] && break; sleep 0.05; done
token=$(cat "$tmp/gateway/admin.token")
for _ in $(seq 200); do "$civic" --addr "${URL[gateway]}" --token "$token" volunteers list >/dev/null 2>&1 && break; sleep 0.1; done

# The mix: label, mode, calls in flight. Fixtures are made through the
# gateway by each bench process before its first slice.
mix=(
  "get-point get-point 8"
  "record-patrol record-patrol 8"
  "create-area create-area 4"
  "report-problem report-problem 8"
  "signup-many signup-many 8"
)
export CIVIC_BENCH_VOLUNTEERS=2000

sample() { # slice number: one line per process
  local svc pid rss fds readers
  for svc in points tasks volunteers gateway; do
    pid=${PID[$svc]}
    rss=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    readers=$({ mdb_stat -r "$tmp/$svc" 2>/dev/null || true; } | awk '/^ *[0-9]+ +[0-9a-f]+ +/ {n++} END {print n + 0}')
    echo "{\"slice\":$1,\"process\":\"$svc\",\"rss_anon_kb\":$rss,\"fds\":$fds,\"readers\":$readers}"
  done >>"$tmp/samples.jsonl"
}

end=$((SECONDS + $(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')))
n=0
sample 0
echo "soak: $minutes min in slices of ${slice}s through the gateway; mix: ${mix[*]}"
while [ $SECONDS -lt $end ]; do
  n=$((n + 1))
  bpids=()
  for m in "${mix[@]}"; do
    read -r label mode inflight <<<"$m"
    setup=(); [ $n -gt 1 ] && [ "$mode" = get-point ] && setup=(--no-setup 1)
    "$bench" run --addr "${URL[gateway]}" --token "$token" --mode "$mode" --inflight "$inflight" \
      --duration "$slice" --warmup 0 --label "$n:$label" --seq-start $((n * 100000000)) "${setup[@]}" >>"$tmp/slices.jsonl" 2>>"$tmp/bench.log" &
    bpids+=($!)
  done
  for p in "${bpids[@]}"; do wait "$p" || echo "soak: a bench run failed in slice $n (see below)"; done
  sample "$n"
  printf 'soak: slice %d done, %d s left\n' "$n" $((end > SECONDS ? end - SECONDS : 0))
done
for svc in points tasks volunteers gateway; do kill -0 "${PID[$svc]}" || { echo "soak: $svc died"; exit 1; }; done

/usr/bin/python3 - "$tmp/slices.jsonl" "$tmp/samples.jsonl" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
samples = [json.loads(l) for l in open(sys.argv[2])]
calls = sum(r["calls"] for r in runs); errors = sum(r["errors"] for r in runs)
print(f"\ncalls {calls}, errors {errors}, error rate {errors / max(calls, 1):.2e}")
print(f"\n{'slice':>5} {'kind':<15} {'calls/s':>8} {'errors':>7} {'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9}")
for r in runs:
    s, kind = r["label"].split(":", 1)
    print(f"{s:>5} {kind:<15} {r['calls_per_s']:>8.0f} {r['errors']:>7} {r['p50_us']:>8} {r['p99_us']:>8} {r['p999_us']:>9}")
print(f"\n{'slice':>5} {'process':<11} {'RssAnon kB':>10} {'fds':>5} {'readers':>8}")
for x in samples:
    print(f"{x['slice']:>5} {x['process']:<11} {x['rss_anon_kb']:>10} {x['fds']:>5} {x['readers']:>8}")
last = max(x["slice"] for x in samples)
print("\ngrowth after warm-up (slice 1 to the last):")
for p in ("points", "tasks", "volunteers", "gateway"):
    a = next(x for x in samples if x["process"] == p and x["slice"] == min(1, last))
    b = next(x for x in samples if x["process"] == p and x["slice"] == last)
    print(f"  {p:<11} RssAnon {a['rss_anon_kb']} -> {b['rss_anon_kb']} kB ({b['rss_anon_kb'] - a['rss_anon_kb']:+d}), "
          f"fds {a['fds']} -> {b['fds']}, readers {a['readers']} -> {b['readers']}")
PY
if [ -s "$tmp/bench.log" ]; then echo; echo "bench's own messages (first 20):"; head -20 "$tmp/bench.log"; fi
