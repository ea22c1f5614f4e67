#!/usr/bin/env bash
# Build the compose stack's three images locally (no registry), each only when it is missing
# or its inputs changed: coopbench/redis and coopbench/postgres (docker/*.Dockerfile) FROM the
# local base image, coopbench/coopbench (Dockerfile) FROM python:3.12-slim, of which
# scripts/python-standin.sh makes a local stand-in when the engine has none.
#
# Each image carries the label coopbench.inputs = a hash of its input files and of the base
# image's id; when the image on the engine has the same hash, its build is skipped (a
# fraction of a second). Otherwise Docker builds it, reusing its layer cache: a code change
# redoes only the coopbench image's last steps, not its dependencies.
#
#   bash scripts/compose-images.sh [--force]     (COOPBENCH_IMAGE_TAG, default local)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[compose-images] $*"; }

TAG="${COOPBENCH_IMAGE_TAG:-local}"
BASE_IMAGE="${COOPBENCH_BASE_IMAGE:-coopbench/base:bookworm}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

PYTHON_IMAGE="${COOPBENCH_PYTHON_IMAGE:-python:3.12-slim}"
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || bash scripts/setup-docker.sh
bash scripts/python-standin.sh

# A hash of the base image's id ($1) and the content and names of the given files and of
# every file under the given directories (caches left out, as .dockerignore does).
inputs_hash() {
  local base_id
  base_id=$(docker image inspect -f '{{.Id}}' "$1")
  shift
  {
    echo "$base_id"
    find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

# build IMAGE BASE CONTEXT DOCKERFILE INPUT...
build() {
  local image=$1 base=$2 context=$3 dockerfile=$4
  shift 4
  local hash current
  hash=$(inputs_hash "$base" "$@")
  current=$(docker image inspect -f '{{index .Config.Labels "coopbench.inputs"}}' "$image" 2>/dev/null || true)
  if [ "$FORCE" = 0 ] && [ "$current" = "$hash" ]; then
    log "$image is up to date ($hash)"
    return
  fi
  log "building $image ($hash)"
  local start=$SECONDS previous
  previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  local output  # shown only on failure (the legacy builder's deprecation notice is noise)
  if ! output=$(docker build -t "$image" -f "$dockerfile" --build-arg "BASE_IMAGE=$base" \
      --label "coopbench.inputs=$hash" "$context" 2>&1); then
    echo "$output" | tail -n 40 >&2
    log "building $image failed"
    exit 1
  fi
  log "built $image in $((SECONDS - start)) s"
  # The image this one replaces, now untagged, is ours to remove (unless a container uses it).
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ] \
      && [ "$(docker image inspect -f '{{len .RepoTags}}' "$previous" 2>/dev/null)" = 0 ]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
  fi
}

build "coopbench/redis:$TAG" "$BASE_IMAGE" docker docker/redis.Dockerfile \
  docker/redis.Dockerfile docker/redis-entrypoint.sh
build "coopbench/postgres:$TAG" "$BASE_IMAGE" docker docker/postgres.Dockerfile \
  docker/postgres.Dockerfile docker/postgres-entrypoint.sh
build "coopbench/coopbench:$TAG" "$PYTHON_IMAGE" . Dockerfile \
  Dockerfile .dockerignore pyproject.toml uv.lock README.md coopbench workers scheduler \
  docker/worker.sh docker/enqueue-demo.sh
