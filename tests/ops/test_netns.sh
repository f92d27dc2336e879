#!/bin/bash
# civic.ops.netns: points, tasks, volunteers and the gateway each in a network
# namespace of their own, joined by veth pairs through a bridge in a fifth
# namespace, on 198.51.100.0/24. Cutting points' link makes calls to it fail
# fast (UNAVAILABLE, or DEADLINE_EXCEEDED for one in flight) while tasks and
# volunteers go on; once the gateway has marked points down, calls to it fail
# at once with UNAVAILABLE; restoring the link makes them succeed again,
# nothing restarted. Ports are the test's own (17000-17003, admin 19000): in
# namespaces of their own they cannot collide, and they stay clear of the
# run script's 7000-7003 and 9000-9003 all the same.
# Needs root and `ip netns`: without them it skips (77), or fails when
# CIVIC_REQUIRE_ALL=1. Every namespace and link is removed on exit.
# Usage: test_netns.sh CIVIC POINTS TASKS VOLUNTEERS GATEWAY
set -euo pipefail
CIVIC=$1
declare -A BIN=([p]=$2 [t]=$3 [v]=$4 [g]=$5)
declare -A ADDR=([g]=198.51.100.10 [p]=198.51.100.11 [t]=198.51.100.12 [v]=198.51.100.13)
declare -A PORT=([g]=17000 [p]=17001 [t]=17002 [v]=17003)
ADMIN=127.0.0.1:19000 # the gateway's; the back ends' admin ports are off
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
command -v ip >/dev/null || skip "no ip command (iproute2)"

R=$$ # unique names per run: parallel or leftover runs do not collide
NS_BR=cg${R}br
T=$(mktemp -d)
cleanup() {
    local x
    stop_all || true
    for x in p t v g; do
        ip netns del "cg$R$x" 2>/dev/null || true
        ip link del "c$R$x" 2>/dev/null || true # if it never left the host
    done
    ip netns del "$NS_BR" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$NS_BR" 2>"$T/err" || skip "ip netns add failed: $(cat "$T/err")"
ip -n "$NS_BR" link add br0 type bridge
ip -n "$NS_BR" link set br0 up
for x in p t v g; do
    ip netns add "cg$R$x"
    ip link add "c$R$x" type veth peer name "b$R$x"
    ip link set "c$R$x" netns "cg$R$x"
    ip link set "b$R$x" netns "$NS_BR"
    ip -n "$NS_BR" link set "b$R$x" master br0 up
    ip -n "cg$R$x" addr add "${ADDR[$x]}/24" dev "c$R$x"
    ip -n "cg$R$x" link set "c$R$x" up
    ip -n "cg$R$x" link set lo up
done

echo "a-test-internal-key-of-some-length" >"$T/internal.key"
for x in p t v; do
    start "$x" "$T/$x.log" ip netns exec "cg$R$x" "${BIN[$x]}" \
        --listen "tcp://${ADDR[$x]}:${PORT[$x]}" --data "$T/$x" --admin-listen "" \
        --internal-key-file "$T/internal.key" --unsafe-no-sync
done
start g "$T/g.log" ip netns exec "cg${R}g" "${BIN[g]}" --listen "tcp://127.0.0.1:${PORT[g]}" \
    --data "$T/g" --internal-key-file "$T/internal.key" --unsafe-no-sync --probe-ms 200 \
    --admin-listen "$ADMIN" --points "tcp://${ADDR[p]}:${PORT[p]}" \
    --tasks "tcp://${ADDR[t]}:${PORT[t]}" --volunteers "tcp://${ADDR[v]}:${PORT[v]}"
for x in p t v g; do wait_log "$T/$x.log" server.serving; done
TOKEN=$(cat "$T/g/admin.token")

# gw TIMEOUT ARGS...: a call through the gateway, from the gateway's namespace.
gw() {
    local to=$1
    shift
    ip netns exec "cg${R}g" "$CIVIC" --addr "tcp://127.0.0.1:${PORT[g]}" --token "$TOKEN" --timeout "$to" "$@"
}
call_p() { gw "$1" areas list; }
call_t() { gw "$1" problems list; }
call_v() { gw "$1" volunteers list; }
metrics() { ip netns exec "cg${R}g" curl -fsS "http://$ADMIN/metrics"; }

# until_ok SECONDS CMD...: retry CMD until it succeeds (each try has its own
# deadline); the bound only keeps a broken build from hanging.
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}

for x in p t v; do until_ok 30 "call_$x" 2s || fail "no call to $x went through at start"; done
gw 2s areas create --name before-cut >/dev/null
echo "all three back ends answer through the gateway"

# Cut points' link at the bridge.
ip -n "$NS_BR" link set "b${R}p" down
start_s=$(date +%s%N)
if call_p 2s >"$T/cut.out" 2>&1; then fail "a call to points succeeded with its link cut"; fi
ms=$((($(date +%s%N) - start_s) / 1000000))
grep -Eq 'UNAVAILABLE|DEADLINE_EXCEEDED' "$T/cut.out" || fail "unexpected failure: $(cat "$T/cut.out")"
# The deadline is 2 s; the CLI's own start (ASan) is the slack.
[ $ms -lt 6000 ] || fail "the failing call took ${ms} ms (deadline 2 s)"
echo "points cut: failed in ${ms} ms with $(grep -Eo 'UNAVAILABLE|DEADLINE_EXCEEDED' "$T/cut.out" | head -1)"
call_t 5s >/dev/null || fail "tasks stopped answering when points was cut"
call_v 5s >/dev/null || fail "volunteers stopped answering when points was cut"
# Once the prober has noticed, calls fail at once with UNAVAILABLE.
until_ok 30 sh -c "$(declare -f metrics); R=$R ADMIN=$ADMIN; metrics | grep -q '^civic_backend_up{backend=\"points\"} 0\$'" ||
    fail "the gateway never marked points down"
# One attempt (the CLI would otherwise retry UNAVAILABLE, backing off), a
# 5 s deadline: the gateway's answer must be UNAVAILABLE, well within it —
# 1 s is a functional bound (the CLI's own start under ASan included), not a
# timing measurement.
start_s=$(date +%s%N)
if gw 5s --attempts 1 areas list >"$T/cut2.out" 2>&1; then fail "a call to points succeeded with its link cut"; fi
ms=$((($(date +%s%N) - start_s) / 1000000))
grep -q 'UNAVAILABLE' "$T/cut2.out" || fail "not UNAVAILABLE once marked down: $(cat "$T/cut2.out")"
[ $ms -lt 1000 ] || fail "the failing call took ${ms} ms with a 5 s deadline: not at once"
echo "points marked down: UNAVAILABLE in ${ms} ms"
ip netns exec "cg${R}g" curl -fsS -o /dev/null "http://$ADMIN/readyz" ||
    fail "the gateway is not ready while only a back end is down"

# Restore the link: calls succeed again, nothing restarted.
ip -n "$NS_BR" link set "b${R}p" up
until_ok 60 call_p 2s || fail "points did not come back after its link was restored"
gw 2s areas create --name after-restore >/dev/null || fail "a write after the restore failed"
for x in p t v g; do
    kill -0 "$(eval echo \$PID_$x)" || fail "$x is no longer running"
done
echo "points restored: calls succeed again, no restart"
stop_all || fail "a service did not stop cleanly"
echo "civic.ops.netns: ok"
