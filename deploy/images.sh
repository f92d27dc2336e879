#!/usr/bin/env bash
# Builds the civicgrid container images with no image registry: the builder
# base is made on this machine with debootstrap from Debian's archive (cached),
# imported into Docker, and deploy/Dockerfile builds on it. The runtime images
# start from scratch: the binaries are fully static.
#
#   deploy/images.sh [TAG]          build civicgrid/{points,tasks,volunteers,gateway}:TAG
#                                   (TAG defaults to "local")
#   deploy/images.sh --builder-only import the builder base and print its name
#
# Needs root (debootstrap), debootstrap and a Docker engine (DOCKER_HOST is
# honoured). Environment:
#   CIVIC_IMAGE_CACHE   where the builder's root filesystem tarball is kept
#                       [/var/cache/civicgrid]
#   CIVIC_DEBIAN_MIRROR the Debian archive debootstrap reads [http://deb.debian.org/debian]
#   DOCKER              the docker client [docker]
#   CIVIC_BUILD_JOBS    parallel compile jobs inside the build [2]
# Online, deploy/Dockerfile.builder makes an equivalent builder from
# debian:bookworm-slim: docker build -f deploy/Dockerfile.builder -t NAME deploy/
# and then pass --build-arg BUILDER=NAME to docker build yourself.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-docker}
cache=${CIVIC_IMAGE_CACHE:-/var/cache/civicgrid}
mirror=${CIVIC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# What the build needs, and nothing to run the tests (CIVIC_TESTS=OFF).
# Keep in step with deploy/Dockerfile.builder.
pkgs=gcc,libc6-dev,cmake,ninja-build,pkg-config,protobuf-compiler,protobuf-c-compiler,libprotobuf-dev,libprotobuf-c-dev,libnng-dev,libmbedtls-dev,liblmdb-dev,libjansson-dev,libmicrohttpd-dev

# The cache key: anything that changes the root filesystem.
key=$(printf '%s\n' "$suite" "$mirror" "$pkgs" minbase | sha256sum | cut -c1-12)
builder=civicgrid/builder:$suite-$key

# make_rootfs TARBALL: debootstrap into a scratch directory, trim, tar.
make_rootfs() {
  local out=$1 tmp
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/rootfs.XXXXXX")
  echo "images: debootstrap $suite (minbase + build packages) from $mirror" >&2
  if ! debootstrap --variant=minbase --include="$pkgs" "$suite" "$tmp/root" "$mirror" \
    >"$tmp/debootstrap.log" 2>&1; then
    tail -20 "$tmp/debootstrap.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$tmp/root"/var/cache/apt/archives/*.deb "$tmp/root"/var/lib/apt/lists/* \
    "$tmp/root"/usr/share/doc "$tmp/root"/usr/share/man "$tmp/root"/usr/share/locale
  tar -C "$tmp/root" --numeric-owner -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$out"
  rm -rf "$tmp"
}

if ! $DOCKER image inspect "$builder" >/dev/null 2>&1; then
  tarball=$cache/builder-$suite-$key.tar
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { echo "images: debootstrap is missing" >&2; exit 1; }
    make_rootfs "$tarball"
  fi
  echo "images: importing $builder" >&2
  $DOCKER import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$builder" >/dev/null
fi
# The name deploy/compose.yaml builds with (CIVIC_BUILDER) unless told otherwise.
$DOCKER tag "$builder" civicgrid/builder:$suite
if [ "${1:-}" = --builder-only ]; then echo "$builder"; exit 0; fi

tag=${1:-local}
for svc in points tasks volunteers gateway; do
  echo "images: building civicgrid/$svc:$tag" >&2
  DOCKER_BUILDKIT=0 $DOCKER build -q --network=none -f deploy/Dockerfile --target "$svc" \
    --build-arg BUILDER="$builder" --build-arg RUNTIME=scratch \
    --build-arg JOBS="${CIVIC_BUILD_JOBS:-2}" -t "civicgrid/$svc:$tag" . >/dev/null
done
