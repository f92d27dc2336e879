#!/usr/bin/env bash
# The tasks service at scale (issue 6): the daily report, the summary and
# the first page (50) of one area's overdue problems, on a store of 10,000
# and one of 1,000,000 problems (civic-tasks bulk-load, no-sync), 1 in
# flight; the 1,000,000 figures should be within 1.5x of the 10,000 ones
# (reports spread so that a day fills every cell at both sizes: see below).
# Also the load time, data.mdb's size, and the time from exec to Health
# SERVING on the large store (issue 12's P7).
#
#   tests/bench/tasks_scale.sh [--smoke] [BUILD_DIR]
#
# Takes minutes and a few GB of disk: not part of the test suite. --smoke
# loads 2,000 problems only and calls each query once through the CLI (the
# civic.tasks.scale_smoke test).
#
# Environment: SIZES (default "10000 1000000"), DUR (seconds per figure,
# default 4), TMPDIR for the stores.
set -euo pipefail
cd "$(dirname "$0")/../.."
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
build=${1:-build/release}
if [ ! -x "$build/services/tasks/civic-tasks" ] || [ ! -x "$build/tests/bench/civic-bench" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" civic-tasks civic civic-bench >/dev/null
fi
tasks="$build/services/tasks/civic-tasks"
cli="$build/clients/cli/civic"
bench="$build/tests/bench/civic-bench"
dur=${DUR:-4}
pid=
. tests/bench/lib.sh # tmp, port, and pids[] stopped at exit
now_ms() { date +%s%3N; }

# start DIR: starts civic-tasks on DIR (open mode, no admin listener), sets
# url and pid, and serving_ms: exec to the first Health SERVING, polled with
# the CLI in a tight loop.
start() {
  local p; p=$(port)
  url="tcp://127.0.0.1:$p"
  local t0; t0=$(now_ms)
  "$tasks" --listen "$url" --data "$1" --admin-listen= --log-level warn 2>>"$tmp/server.log" &
  pid=$!
  pids+=($pid)
  for _ in $(seq 20000); do
    if "$cli" --addr "$url" --timeout 1s health 2>/dev/null | grep -q SERVING; then
      serving_ms=$(($(now_ms) - t0))
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
  done
  echo "civic-tasks did not come up on $1:" >&2
  cat "$tmp/server.log" >&2
  return 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

if [ "$smoke" = 1 ]; then
  "$tasks" bulk-load --data "$tmp/smoke" --count 2000 --days 10 --seed 7 2>"$tmp/load.log" ||
    { cat "$tmp/load.log" >&2; exit 1; }
  start "$tmp/smoke"
  out=$("$cli" --addr "$url" -o json reports daily)
  grep -q '"total"' <<<"$out" || { echo "daily report: $out" >&2; exit 1; }
  out=$("$cli" --addr "$url" -o json problems summary)
  grep -q '"areas"' <<<"$out" || { echo "summary: $out" >&2; exit 1; }
  out=$("$cli" --addr "$url" -o json problems list --area-id 1 --overdue true --page-size 50)
  grep -q 'PROBLEM_STATE_' <<<"$out" || { echo "overdue page: $out" >&2; exit 1; }
  stop
  echo "tasks scale smoke: ok ($(tail -1 "$tmp/load.log"))"
  exit 0
fi

sizes=${SIZES:-"10000 1000000"}
modes="daily-report summary overdue-page"
declare -A p50 cps load_s mdb_mb up_ms
for n in $sizes; do
  dir="$tmp/n$n"
  echo "== $n problems: loading" >&2
  t0=$(now_ms)
  # The report's cost is, by design, the number of non-empty (area, unit,
  # category) cells of the day, not the number of problems. To compare like
  # with like (the same 432 cells, 100x the problems), each store spreads
  # its reports over as many days as leaves every cell of a day busy: the
  # small store over DAYS_SMALL days (default 3), the large over 30.
  days=30; [ "$n" -lt 100000 ] && days=${DAYS_SMALL:-3}
  "$tasks" bulk-load --data "$dir" --count "$n" --days "$days" 2> >(tee "$tmp/load$n.log" >&2)
  load_s[$n]=$(awk "BEGIN{printf \"%.1f\", ($(now_ms) - $t0) / 1000}")
  mdb_mb[$n]=$(( $(stat -c %s "$dir/data.mdb") / 1048576 ))
  sync # the loader does not fsync: let the page cache drain before timing
  start "$dir"
  up_ms[$n]=$serving_ms
  for m in $modes; do
    j=$("$bench" run --addr "$url" --mode "$m" --inflight 1 --duration "$dur" --warmup 1 --server-pid "$pid" --label "$m@$n")
    echo "$j" >&2
    errs=$(echo "$j" | sed 's/.*"errors":\([0-9]*\).*/\1/')
    [ "$errs" = 0 ] || { echo "$m at $n: $errs errors" >&2; exit 1; }
    p50[$m,$n]=$(echo "$j" | sed 's/.*"p50_us":\([0-9]*\).*/\1/')
    cps[$m,$n]=$(echo "$j" | sed 's/.*"calls_per_s":\([0-9]*\).*/\1/')
  done
  stop
  rm -rf "$dir"
done

set -- $sizes
lo=$1 hi=${2:-$1}
echo
printf '%-14s %10s %10s %7s %6s %10s %10s\n' figure "p50@$lo" "p50@$hi" ratio "≤1.5" "calls/s@$lo" "calls/s@$hi"
for m in $modes; do
  a=${p50[$m,$lo]} b=${p50[$m,$hi]}
  r=$(awk "BEGIN{printf \"%.2f\", $b / ($a > 0 ? $a : 1)}")
  ok=$(awk "BEGIN{print ($r <= 1.5) ? \"yes\" : \"NO\"}")
  printf '%-14s %8sus %8sus %7s %6s %10s %10s\n' "$m" "$a" "$b" "$r" "$ok" "${cps[$m,$lo]}" "${cps[$m,$hi]}"
done
echo
for n in $sizes; do
  printf '%8s problems: load %6ss (%s), data.mdb %5s MB, exec to Health SERVING %s ms\n' \
    "$n" "${load_s[$n]}" "$(grep -o '[0-9]* problems/s' "$tmp/load$n.log" | tail -1)" "${mdb_mb[$n]}" "${up_ms[$n]}"
done
