#!/usr/bin/env bash
# civic.containers.manifests: the deployment files checked offline.
#  - deploy/compose.yaml: `docker-compose config -q` (1.29), and what it must
#    keep: only the gateway published, on 127.0.0.1; a subnet in 198.18.0.0/15;
#    a named volume and health-gated start for each service; restart policy;
#    the internal key as a secret
#  - deploy/k8s/: tests/containers/k8s/check.mjs (schemas from npm
#    kubernetes-models, pinned by the committed package-lock.json, and the
#    restricted profile on every container)
# Needs docker-compose and npm: without them it skips (77), or fails when
# CIVIC_REQUIRE_ALL=1.
# Usage: test_manifests.sh SOURCE_DIR TOOLS_DIR
set -euo pipefail
SRC=$(cd "$1" && pwd)
TOOLS=$2/k8s-check
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../ops/lib.sh" # skip
command -v docker-compose >/dev/null || skip "docker-compose is missing (scripts/setup.sh installs it)"
command -v npm >/dev/null || skip "npm is missing (scripts/setup.sh installs it)"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# The secrets compose names must exist for `config` to resolve them.
mkdir -p "$T/secrets"
echo key >"$T/secrets/internal.key"
echo token >"$T/secrets/admin.token"
export CIVIC_SECRETS_DIR=$T/secrets
docker-compose -f "$SRC/deploy/compose.yaml" config -q
docker-compose -f "$SRC/deploy/compose.yaml" config >"$T/compose.yaml"
/usr/bin/python3 - "$T/compose.yaml" <<'PY'
import ipaddress, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
errs = []
svcs = c["services"]
if sorted(svcs) != ["gateway", "points", "tasks", "volunteers"]:
    errs.append(f"services: {sorted(svcs)}")
for name, s in svcs.items():
    ports = s.get("ports", [])
    if name != "gateway" and ports:
        errs.append(f"{name} publishes {ports}")
    for p in ports:
        if p.get("host_ip") != "127.0.0.1" if isinstance(p, dict) else not str(p).startswith("127.0.0.1:"):
            errs.append(f"{name} publishes {p} beyond 127.0.0.1")
    vols = [v for v in s.get("volumes", []) if (v.get("type") if isinstance(v, dict) else None) in ("volume", None)]
    if not any((v["source"] if isinstance(v, dict) else v.split(":")[0]) in c["volumes"] for v in vols):
        errs.append(f"{name} has no named volume")
    if s.get("restart") not in ("unless-stopped", "on-failure", "always"):
        errs.append(f"{name}: restart policy {s.get('restart')}")
    if "healthcheck" not in s:
        errs.append(f"{name}: no healthcheck")
    if not any((x["source"] if isinstance(x, dict) else x) == "internal_key" for x in s.get("secrets", [])):
        errs.append(f"{name}: no internal_key secret")
    if s.get("environment", {}).get("CIVIC_INTERNAL_KEY_FILE") != "/run/secrets/internal_key":
        errs.append(f"{name}: CIVIC_INTERNAL_KEY_FILE is not the secret")
for name in ("tasks", "volunteers", "gateway"):
    for dep, how in svcs[name].get("depends_on", {}).items():
        if how.get("condition") != "service_healthy":
            errs.append(f"{name} waits for {dep} without its health")
if not svcs["gateway"].get("ports"):
    errs.append("the gateway is not published")
for net in c["networks"].values():
    for cfg in net.get("ipam", {}).get("config", []):
        if not ipaddress.ip_network(cfg["subnet"]).subnet_of(ipaddress.ip_network("198.18.0.0/15")):
            errs.append(f"subnet {cfg['subnet']} is outside 198.18.0.0/15")
for e in errs:
    print("FAIL: compose:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY
echo "compose: config valid; only the gateway published on 127.0.0.1; named volumes, health-gated, restart policy, key as a secret"

# The checker's packages, installed once per lock file.
mkdir -p "$TOOLS"
if ! cmp -s "$HERE/k8s/package-lock.json" "$TOOLS/package-lock.json" || [ ! -d "$TOOLS/node_modules" ]; then
  cp "$HERE/k8s/package.json" "$HERE/k8s/package-lock.json" "$TOOLS/"
  (cd "$TOOLS" && npm ci --silent --no-audit --no-fund >/dev/null)
fi
cp "$HERE/k8s/check.mjs" "$TOOLS/"
(cd "$TOOLS" && node check.mjs "$SRC/deploy/k8s")
