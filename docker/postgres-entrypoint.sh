#!/bin/sh
# Start PostgreSQL in the foreground as the postgres user, listening on all addresses.
# On first start (an empty $PGDATA) initdb makes the cluster: superuser POSTGRES_USER with
# POSTGRES_PASSWORD (scram-sha-256; required), database POSTGRES_DB, and password
# authentication for every TCP client. Later starts keep what is there: changing
# POSTGRES_PASSWORD then changes nothing (ALTER ROLE ... PASSWORD does, or a new volume).
# Arguments are postgres options (e.g. -c max_connections=200).
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (the compose stack takes it from .env)}"
user=${POSTGRES_USER:-coopbench}
db=${POSTGRES_DB:-$user}

if [ "$(id -u)" = 0 ]; then  # fix the volume's ownership, then run as postgres
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)  # mode 600, removed at once: the password is never on a command line
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  # initdb allows only loopback TCP clients; the stack's services come over its network.
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' \
    >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # --single: no server, no socket, nothing listening while the database is created
    echo "CREATE DATABASE \"$db\" OWNER \"$user\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres-entrypoint: initialised $PGDATA (user $user, database $db)"
fi
unset POSTGRES_PASSWORD
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql "$@"
