#!/bin/bash
# civic.ops.backup: back up civic-points under write load, restore the copy
# into a fresh data directory as the README says, start a service on it:
# every write acknowledged before the backup began is there.
# Usage: test_backup.sh CIVIC POINTS
set -euo pipefail
CIVIC=$1 POINTS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d)
LOADERS=()
cleanup() {
    local p
    for p in "${LOADERS[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_all || true
    rm -rf "$T"
}
trap cleanup EXIT

echo "a-test-internal-key-of-some-length" >"$T/internal.key"
PP=$(free_port)
start points "$T/points.log" "$POINTS" --listen "tcp://127.0.0.1:$PP" --data "$T/points" \
    --admin-listen "" --internal-key-file "$T/internal.key"
wait_log "$T/points.log" server.serving
cli() { "$CIVIC" --addr "tcp://127.0.0.1:$1" --internal-key-file "$T/internal.key" "${@:2}"; }

# Writers: each records an area's id only once its create was acknowledged.
load() {
    local n=0 id
    while :; do
        n=$((n + 1))
        id=$(cli "$PP" -o json areas create --name "load $1 $n" | sed -n 's/^ *"id": "\([0-9]*\)".*/\1/p' | head -1)
        [ -n "$id" ] && echo "$id" >>"$T/acked.$1"
    done
}
for w in 1 2 3; do
    : >"$T/acked.$w"
    load $w &
    LOADERS+=($!)
done
acked() { cat "$T"/acked.* | wc -l; }
until [ "$(acked)" -ge 30 ]; do sleep 0.05; done

# What was acknowledged before the backup began must be in the copy. comm
# needs its inputs in the collating order it compares by: a lexical sort
# (sort -n puts 100 after 99, which comm takes for unsorted input).
cat "$T"/acked.* | LC_ALL=C sort >"$T/before"
cli "$PP" -o json admin backup >"$T/backup.json"
BACKUP=$(sed -n 's/^ *"path": "\(.*\)",*$/\1/p' "$T/backup.json")
[ -f "$BACKUP/data.mdb" ] || fail "no data.mdb in '$BACKUP': $(cat "$T/backup.json")"
grep -q '"sizeBytes": "[1-9]' "$T/backup.json" || fail "no size: $(cat "$T/backup.json")"
# Writes went on while the copy was made and after it.
n=$(acked)
until [ "$(acked)" -ge $((n + 10)) ]; do sleep 0.05; done
for p in "${LOADERS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
LOADERS=()
stop_all || fail "civic-points did not stop cleanly"

# The restore procedure of the README: a fresh data directory holding the
# backup's data.mdb, a service started on it.
mkdir "$T/restored"
cp "$BACKUP/data.mdb" "$T/restored/data.mdb"
RP=$(free_port)
start restored "$T/restored.log" "$POINTS" --listen "tcp://127.0.0.1:$RP" --data "$T/restored" \
    --admin-listen "" --internal-key-file "$T/internal.key"
wait_log "$T/restored.log" server.serving
cli "$RP" -o csv areas list --all >"$T/restored.csv"
cut -d, -f1 "$T/restored.csv" | grep -E '^[0-9]+$' | LC_ALL=C sort >"$T/restored.ids"
missing=$(LC_ALL=C comm -23 "$T/before" "$T/restored.ids" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing acknowledged writes missing from the backup: $(LC_ALL=C comm -23 "$T/before" "$T/restored.ids" | head)"
echo "civic.ops.backup: $(wc -l <"$T/before") acknowledged before the backup, $(wc -l <"$T/restored.ids") in the copy, all there"
# The restored service takes writes.
cli "$RP" areas create --name "after restore" >/dev/null
stop_all || fail "the restored civic-points did not stop cleanly"
