#!/bin/sh
# Start redis-server in the foreground, listening on all addresses, with the password from
# REDIS_PASSWORD (required). The password goes into a config file readable only by redis,
# not onto the command line, where `ps` and `docker inspect` would show it.
# Arguments are redis-server options (e.g. --appendonly yes).
set -eu
: "${REDIS_PASSWORD:?set REDIS_PASSWORD (the compose stack takes it from .env)}"
conf=$(mktemp /tmp/redis-XXXXXX.conf)  # mktemp: mode 600
printf 'requirepass "%s"\nbind * -::*\nprotected-mode no\ndir /data\n' "$REDIS_PASSWORD" >"$conf"
unset REDIS_PASSWORD
exec redis-server "$conf" "$@"
