#!/usr/bin/env bash
# The whole test suite: unit and integration tests on an ASan+UBSan build,
# then the release-build checks (benchmark smoke run). Installs what it needs
# on a fresh Debian 12 machine (as root). Set CIVIC_REQUIRE_ALL=1 to turn
# every skip into a failure (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=2
echo "== building (ASan+UBSan)"
cmake -S . -B build/asan -G Ninja -DCIVIC_SANITIZER=address,undefined -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build/asan -j$jobs >/dev/null

echo "== building (release)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release -j$jobs >/dev/null

status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== unit and integration tests (ASan+UBSan)"
(cd build/asan && ctest --output-on-failure -j$jobs -LE release) | tee -a "$log" || status=1
echo "== release-build tests (benchmark smoke run)"
(cd build/release && ctest --output-on-failure -L release) | tee -a "$log" || status=1

# One closing line for both runs: "N passed, N failed".
read -r total failed < <(awk '/tests passed, [0-9]+ tests failed out of/ {
  f += $4; t += $NF } END { print t + 0, f + 0 }' "$log")
echo "tests: $((total - failed)) passed, $failed failed"
[ "$failed" = 0 ] && [ "$total" -gt 0 ] || status=1
exit $status
