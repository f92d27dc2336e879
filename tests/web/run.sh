#!/usr/bin/env bash
# civic.web.browser: installs playwright-core (the exact version in
# package-lock.json) into the build directory with `npm ci`, then runs
# browser_test.js against Debian's chromium. Without chromium or npm the test
# skips (exit 77) — and fails under CIVIC_REQUIRE_ALL=1, as CI runs it.
# usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd)
here="$source/tests/web"
skip() {
  if [ "${CIVIC_REQUIRE_ALL:-0}" = 1 ]; then
    echo "civic.web.browser: FAILED: $* (CIVIC_REQUIRE_ALL=1 turns this skip into a failure)" >&2
    exit 1
  fi
  echo "civic.web.browser: skipped: $*" >&2
  exit 77
}
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium (apt-get install chromium; scripts/setup.sh does)"
command -v node >/dev/null && command -v npm >/dev/null || skip "no node and npm"

work="$build/web-tests"
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$work/"
# npm ci installs exactly the lock file, and only when it changed since.
if ! cmp -s "$here/package-lock.json" "$work/node_modules/.civic-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    skip "npm ci failed (is the npm registry reachable?)"
  cp "$here/package-lock.json" "$work/node_modules/.civic-lock"
fi
export NODE_PATH="$work/node_modules"
exec node "$here/browser_test.js" "$build" "$source" "$build/web-artifacts"
