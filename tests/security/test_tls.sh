#!/usr/bin/env bash
# civic.security.tls: everything over tls+tcp:// with a throw-away CA made by
# openssl. The back ends require client certificates (the gateway shows its
# own); the gateway's public listener checks none (tokens do that). Callers
# without a valid certificate, or checking the server against the wrong CA,
# are refused.
#   test_tls.sh CIVIC POINTS TASKS VOLUNTEERS GATEWAY
set -euo pipefail
CIVIC=$1
declare -A BIN=([p]=$2 [t]=$3 [v]=$4 [g]=$5)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../ops/lib.sh"
command -v openssl >/dev/null || {
    [ "${CIVIC_REQUIRE_ALL:-0}" = 1 ] && fail "openssl missing (CIVIC_REQUIRE_ALL=1)"
    echo "SKIP: openssl missing"; exit 77
}
T=$(mktemp -d)
trap 'stop_all || true; rm -rf "$T"' EXIT

# A CA, and one certificate per party, each file the certificate then its key.
ca() { # ca NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null
}
cert() { # cert CA NAME SAN
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
        -keyout "$T/$2.key" -out "$T/$2.csr" 2>/dev/null
    printf 'subjectAltName=%s\n' "$3" >"$T/$2.ext"
    openssl x509 -req -in "$T/$2.csr" -CA "$T/$1.pem" -CAkey "$T/$1.key" -CAcreateserial \
        -days 2 -extfile "$T/$2.ext" -out "$T/$2.crt" 2>/dev/null
    cat "$T/$2.crt" "$T/$2.key" >"$T/$2.both"
}
ca ca
ca rogue
cert ca backend "DNS:localhost,IP:127.0.0.1"
cert ca gateway "DNS:localhost,IP:127.0.0.1"
cert ca operator "DNS:operator"
cert rogue intruder "DNS:intruder"

echo "a-test-internal-key-of-some-length" >"$T/internal.key"
declare -A PORT
for x in p t v g; do PORT[$x]=$(free_port); done
for x in p t v; do
    start "$x" "$T/$x.log" "${BIN[$x]}" --listen "tls+tcp://127.0.0.1:${PORT[$x]}" --data "$T/$x" \
        --admin-listen= --internal-key-file "$T/internal.key" --unsafe-no-sync \
        --tls-cert-key-file "$T/backend.both" --tls-ca-file "$T/ca.pem"
done
start g "$T/g.log" "${BIN[g]}" --listen "tls+tcp://127.0.0.1:${PORT[g]}" --data "$T/g" \
    --admin-listen= --internal-key-file "$T/internal.key" --unsafe-no-sync --probe-ms 200 \
    --tls-cert-key-file "$T/gateway.both" --tls-ca-file "$T/ca.pem" --tls-client-auth none \
    --backend-tls-server-name localhost \
    --points "tls+tcp://127.0.0.1:${PORT[p]}" --tasks "tls+tcp://127.0.0.1:${PORT[t]}" \
    --volunteers "tls+tcp://127.0.0.1:${PORT[v]}"
for x in p t v g; do wait_log "$T/$x.log" server.serving; done
TOKEN=$(cat "$T/g/admin.token")

gw() { "$CIVIC" --addr "tls+tcp://127.0.0.1:${PORT[g]}" --tls-server-name localhost --timeout 5s "$@"; }
until_ok() {
    local end=$((SECONDS + 30))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}

# Through the gateway, over TLS end to end: a write to each back end.
until_ok gw --tls-ca-file "$T/ca.pem" --token "$TOKEN" volunteers list ||
    fail "no call reached volunteers through the gateway over TLS: $(tail -3 "$T/g.log")"
json_id() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["id"] if "id" in d else next(v["id"] for v in d.values() if isinstance(v, dict) and "id" in v))'; }
area=$(gw --tls-ca-file "$T/ca.pem" --token "$TOKEN" -o json areas create --name 清江浦区 | json_id) ||
    fail "a write to points through the gateway failed over TLS"
vid=$(gw --tls-ca-file "$T/ca.pem" --token "$TOKEN" -o json volunteers register --name 张三 \
    --phone 13800000001 --kind resident --area-id "$area" --community 柳树湾 --consent true | json_id) ||
    fail "a write to volunteers through the gateway failed over TLS"
[ -n "$vid" ] || fail "registering a volunteer over TLS gave no id"
gw --tls-ca-file "$T/ca.pem" --token "$TOKEN" problems list >/dev/null ||
    fail "a read from tasks through the gateway failed over TLS"
echo "gateway over TLS, back ends over TLS with client certificates: calls go through"

# refused WHAT CMD... expects the command to fail without reaching the service.
refused() {
    local what=$1
    shift
    if "$@" >"$T/out" 2>&1; then fail "$what: the call succeeded"; fi
    grep -Eq 'UNAVAILABLE|INVALID_ARGUMENT' "$T/out" || fail "$what: unexpected output: $(cat "$T/out")"
    echo "refused as it should be: $what ($(grep -Eo 'UNAVAILABLE|INVALID_ARGUMENT' "$T/out" | head -1))"
}
back() { "$CIVIC" --addr "tls+tcp://127.0.0.1:${PORT[p]}" --tls-server-name localhost --timeout 3s \
    --internal-key-file "$T/internal.key" "$@"; }

back --tls-ca-file "$T/ca.pem" --tls-cert-key-file "$T/operator.both" areas list >/dev/null ||
    fail "an operator with a certificate from the CA could not reach points directly"
refused "points, no client certificate" back --tls-ca-file "$T/ca.pem" areas list
refused "points, a certificate from another CA" back --tls-ca-file "$T/ca.pem" \
    --tls-cert-key-file "$T/intruder.both" areas list
refused "gateway, checked against another CA" gw --tls-ca-file "$T/rogue.pem" --token "$TOKEN" areas list
refused "gateway, no CA to check it with" gw --token "$TOKEN" areas list
grep -q "CA file" "$T/out" || fail "the refusal without a CA file does not say why: $(cat "$T/out")"
refused "gateway, plain tcp:// to its TLS port" "$CIVIC" --addr "tcp://127.0.0.1:${PORT[g]}" \
    --timeout 2s --token "$TOKEN" areas list

# A service told to serve tls+tcp:// without a certificate does not start.
if "${BIN[p]}" --listen "tls+tcp://127.0.0.1:$(free_port)" --data "$T/x" --admin-listen= \
    >"$T/x.log" 2>&1; then fail "points started on tls+tcp:// without a certificate"; fi
grep -q "tls-cert-key-file" "$T/x.log" || fail "no reason given: $(cat "$T/x.log")"
echo "a TLS listener without a certificate is refused at start, naming --tls-cert-key-file"

for x in p t v g; do kill -0 "$(eval echo \$PID_$x)" || fail "$x died"; done
stop_all || fail "a service did not stop cleanly"
echo "civic.security.tls: ok"
