#!/usr/bin/env bash
# Everything coopbench needs on a fresh machine of this kind, each step skipped when done:
# Redis and PostgreSQL running, the Python environment in .venv, a Docker engine and the
# local base image (scripts/setup-docker.sh). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup] $*"; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

# Python 3.12 (upstream's cooperbench package needs it); the environment is the lock file's,
# installed by uv.
PYTHON=$(bash scripts/find-python.sh)
uv() {  # uv from PATH, else from PyPI into the 3.12 interpreter (python -m uv)
  if type -P uv >/dev/null; then command uv "$@"; return; fi
  if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
    log "installing uv"
    "$PYTHON" -m pip install -q uv
  fi
  "$PYTHON" -m uv "$@"
}
stamp=.venv/.installed-$(cat pyproject.toml uv.lock | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  log "installing the Python environment into .venv (uv.lock)"
  [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null \
    || uv venv -q --allow-existing -p "$PYTHON" .venv
  # Where PYTHONDONTWRITEBYTECODE is set, Python caches no bytecode, and every worker would
  # compile litellm again at start (seconds each): compile it all now (about a minute).
  uv sync -q --frozen --extra dev --extra flower ${PYTHONDONTWRITEBYTECODE:+--compile-bytecode}
  rm -f .venv/.installed-*; touch "$stamp"
fi

if ! command -v ip >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then
  log "installing iproute2 and util-linux (the multi-host test's namespaces)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 util-linux >/dev/null
fi

if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (the report and view tests' headless browser)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v faketime >/dev/null 2>&1; then
  log "installing faketime (the clock-skew test's worker runs minutes off)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi

bash scripts/setup-docker.sh
log "ready"
