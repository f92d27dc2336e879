# The builder base for deploy/Dockerfile, for machines that reach a registry
# and Debian's archive. Offline, deploy/images.sh makes the same thing with
# debootstrap (keep the package lists in step).
#   docker build -f deploy/Dockerfile.builder -t civicgrid/builder:bookworm deploy/
#   docker build -f deploy/Dockerfile --target gateway \
#     --build-arg BUILDER=civicgrid/builder:bookworm -t civicgrid/gateway:local .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev cmake ninja-build pkg-config \
      protobuf-compiler protobuf-c-compiler libprotobuf-dev libprotobuf-c-dev \
      libnng-dev libmbedtls-dev liblmdb-dev libjansson-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
