#!/usr/bin/env bash
# Installs the Debian 12 packages civicgrid builds, runs and tests with, when
# any is missing. Safe to run again: it does nothing once all are present.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libnng-dev nng-utils libmbedtls-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
  liblmdb-dev lmdb-utils
  libcmocka-dev libjansson-dev libmicrohttpd-dev
  python3-protobuf libnng1 nodejs curl procps openssl
  chromium fonts-wqy-zenhei
  docker.io docker-compose debootstrap
)

# npm (for buf, the protobuf linter, and the Node example client's protobufjs
# in the test suite) comes with Node.js; Debian's npm package only when there
# is no npm at all.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
