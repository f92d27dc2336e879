#!/usr/bin/env bash
# Records the current .proto files as the released contract: the descriptor set
# proto/released/civicgrid.binpb, which `buf breaking` in the test suite
# compares every later change against. Run it when a release is cut, and only
# then: after it, removing or renumbering a field fails the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bufbin=$(bash tests/contract/buf.sh --install-only build/tools)
(cd proto && "$bufbin" lint && "$bufbin" build -o released/civicgrid.binpb)
echo "proto/released/civicgrid.binpb written; commit it with the release"
