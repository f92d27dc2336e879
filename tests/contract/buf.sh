#!/usr/bin/env bash
# civic.contract.buf: the contract cannot break silently. `buf lint` (Buf's
# STANDARD rules) over proto/, and `buf breaking` against the released
# descriptor set proto/released/civicgrid.binpb; and, so that the check itself
# is known to work, a copy of proto/ with a field removed must be refused.
#   buf.sh SOURCE_DIR TOOLS_DIR     run the checks
#   buf.sh --install-only TOOLS_DIR install buf (npm @bufbuild/buf), print its path
set -euo pipefail
install_buf() {
  local tools=$1 bin=$1/node_modules/.bin/buf
  if [ ! -x "$bin" ]; then
    if ! command -v npm >/dev/null; then
      if [ "${CIVIC_REQUIRE_ALL:-}" = 1 ]; then echo "FAIL: npm is missing" >&2; exit 1; fi
      echo "SKIP: npm is missing" >&2; exit 77
    fi
    mkdir -p "$tools"
    (cd "$tools" && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0 >/dev/null)
  fi
  (cd "$(dirname "$bin")" && echo "$PWD/buf")
}
if [ "${1:-}" = --install-only ]; then install_buf "$2"; exit 0; fi
src=$(cd "$1" && pwd)
bufbin=$(install_buf "$2")
cd "$src/proto"
"$bufbin" lint
"$bufbin" breaking --against released/civicgrid.binpb
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r . "$tmp/proto"
sed -i '0,/^  double lng = 2;$/{/^  double lng = 2;$/d}' "$tmp/proto/civic/points/v1/points.proto"
if (cd "$tmp/proto" && "$bufbin" breaking --against "$src/proto/released/civicgrid.binpb" >/dev/null 2>&1); then
  echo "FAIL: removing LatLng.lng went unnoticed by buf breaking" >&2
  exit 1
fi
echo "contract: lint clean; no breaking change against proto/released/; a removed field is caught"
