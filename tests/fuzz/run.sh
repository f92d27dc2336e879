#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: builds the libFuzzer targets with clang in
# build/fuzz (its own configuration: CIVIC_SANITIZER=fuzzer-no-link,address,
# undefined, so all our code is instrumented), replays every regression input
# under tests/fuzz/regressions/<target>/, then runs each target for SECONDS
# (default 15; `run.sh 3600` for a long run) from seeds of real messages
# (fuzz_seeds) plus the corpus kept in build/fuzz/corpus/<target>/. Prints
# executions and crashes per target. A crash is copied to
# tests/fuzz/regressions/<target>/ (commit it once fixed) and fails the run.
# Environment: CIVIC_FUZZ_BUILD (default <repo>/build/fuzz), CIVIC_FUZZ_TARGETS.
set -euo pipefail
secs=${1:-15}
root=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${CIVIC_FUZZ_BUILD:-$root/build/fuzz}
targets=${CIVIC_FUZZ_TARGETS:-fuzz_envelope fuzz_dispatch fuzz_roundtrip}

# Every build's ctest runs this on the one build/fuzz: one run at a time.
mkdir -p "$(dirname "$bdir")"
exec 9>"$bdir.lock"
flock 9

# clang's fuzzer runtime comes with libclang-rt-14-dev (scripts/setup.sh).
if ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  bash "$root/scripts/setup.sh"
fi

if [ ! -f "$bdir/build.ninja" ]; then
  # cc-wrap.sh: clang-only warnings in code outside tests/fuzz/ are reported,
  # not fatal (the gcc builds keep -Werror for that code).
  CC=clang cmake -S "$root" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCIVIC_FUZZ=ON \
    -DCIVIC_SANITIZER=fuzzer-no-link,address,undefined \
    -DCMAKE_C_COMPILER_LAUNCHER="$root/tests/fuzz/cc-wrap.sh" >"$bdir.configure.log" 2>&1 ||
    { cat "$bdir.configure.log"; exit 1; }
fi
# shellcheck disable=SC2086
ninja -C "$bdir" -j1 fuzz_seeds $targets >"$bdir/fuzz-build.log" 2>&1 || { tail -50 "$bdir/fuzz-build.log"; exit 1; }

fz=$bdir/tests/fuzz
seeds=$bdir/fuzz-seeds
rm -rf "$seeds"
"$fz/fuzz_seeds" "$seeds" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fail=0
summary=()
for t in $targets; do
  reg=$root/tests/fuzz/regressions/$t
  nreg=0
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    nreg=$(ls "$reg" | wc -l)
    if ! "$fz/$t" -runs=1 "$reg"/* >"$bdir/$t.replay.log" 2>&1; then
      echo "fuzz: $t: a regression input fails again:"; tail -40 "$bdir/$t.replay.log"
      fail=1
      summary+=("$t: regressions=$nreg FAILED")
      continue
    fi
  fi
  corpus=$bdir/corpus/$t art=$bdir/artifacts/$t/
  mkdir -p "$corpus" "$art"
  rm -f "$art"/*
  set +e
  "$fz/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
    -max_len=65536 -artifact_prefix="$art" "$corpus" "$seeds/$t" >"$bdir/$t.log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$bdir/$t.log" | tail -1)
  crashes=$(ls "$art" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    fail=1
    mkdir -p "$reg"
    for f in "$art"/*; do [ -e "$f" ] && cp "$f" "$reg/" && echo "fuzz: $t: new regression input $reg/$(basename "$f")"; done
    grep -E "^(fuzz:|SUMMARY|==[0-9]+==ERROR)" "$bdir/$t.log" | head -5 || true
    tail -30 "$bdir/$t.log"
  fi
  line="$t: seconds=$secs executions=${execs:-0} crashes=$crashes exit=$rc regressions_replayed=$nreg corpus=$(ls "$corpus" | wc -l)"
  echo "fuzz: $line"
  summary+=("$line")
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
exit $fail
