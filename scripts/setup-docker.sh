#!/usr/bin/env bash
# Make a Docker engine and docker-compose available on this machine and build the local
# base image that the demo task images (and the compose images, scripts/compose-images.sh)
# start from. Idempotent: every step is skipped when already done.
# No registry is reachable here, so the base image is made with debootstrap, not pulled.
set -euo pipefail

BASE_IMAGE="${COOPBENCH_BASE_IMAGE:-coopbench/base:bookworm}"
ROOTFS_DIR="${COOPBENCH_ROOTFS_DIR:-/var/tmp/coopbench-rootfs}"
log() { echo "[setup-docker] $*"; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io"
  apt_install docker.io
fi

# Debian's docker-compose (v1, the `docker-compose` command) runs docker-compose.yml.
if ! command -v docker-compose >/dev/null 2>&1; then
  log "installing docker-compose"
  apt_install docker-compose
fi

# Debian's docker-registry (the Distribution registry, /usr/bin/docker-registry): tests start
# their own on a free loopback port (tests/support/registry.py). The package's own service on :5000
# is not wanted, so it is stopped and disabled right after the install (where no policy-rc.d
# kept it from starting).
if ! command -v docker-registry >/dev/null 2>&1; then
  log "installing docker-registry"
  apt_install docker-registry
  # `service` stops it under systemd or sysvinit; update-rc.d disables both kinds of link.
  service docker-registry stop >/dev/null 2>&1 || true
  update-rc.d docker-registry disable >/dev/null 2>&1 || true
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  log "building $BASE_IMAGE with debootstrap (about a minute)"
  rm -rf "$ROOTFS_DIR"
  debootstrap --variant=minbase \
    --include=python3,python3-pytest,git,ca-certificates,procps \
    bookworm "$ROOTFS_DIR" http://deb.debian.org/debian >/dev/null
  # python:3.11-slim has a `python`; task runners may call either name.
  ln -sf python3 "$ROOTFS_DIR/usr/bin/python"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS_DIR/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$ROOTFS_DIR/var/cache/apt/archives"/*.deb "$ROOTFS_DIR/var/lib/apt/lists"/*
  tar -C "$ROOTFS_DIR" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$ROOTFS_DIR"
fi
# Upstream's coop-git server image is built FROM debian:bookworm-slim, which no registry
# here serves: the local bookworm base stands in for it under that name.
if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  docker tag "$BASE_IMAGE" debian:bookworm-slim
fi
log "ready: docker $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), base image $BASE_IMAGE"
