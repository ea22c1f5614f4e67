#!/usr/bin/env bash
# Make a local image named python:3.12-slim (or $COOPBENCH_PYTHON_IMAGE) when the engine has
# none: the Dockerfile builds FROM it, as it would in the real world, and no registry serves
# it here. It is the local base image with this machine's Python 3.12 (pyenv's build, or
# $PYTHON) copied in; see docker/python-standin.Dockerfile. Skipped when the image exists.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[python-standin] $*"; }

PYTHON_IMAGE="${COOPBENCH_PYTHON_IMAGE:-python:3.12-slim}"
BASE_IMAGE="${COOPBENCH_BASE_IMAGE:-coopbench/base:bookworm}"
docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 && exit 0

python=$(bash scripts/find-python.sh)
prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
log "making $PYTHON_IMAGE from $BASE_IMAGE and $prefix"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
# The interpreter and its standard library, without its tests, caches or installed packages.
tar -C / -cf "$context/python.tar" --exclude='__pycache__' \
  --exclude="${prefix#/}/lib/python3.12/test" --exclude="${prefix#/}/lib/python3.12/site-packages/*" \
  "${prefix#/}"
cp docker/python-standin.Dockerfile "$context/Dockerfile"
docker build -q -t "$PYTHON_IMAGE" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  --build-arg "PYTHON_PREFIX=$prefix" "$context" >/dev/null
log "made $PYTHON_IMAGE"
