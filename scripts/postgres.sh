#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the tests (Debian's postgresql binaries: initdb, pg_ctl).
#   scripts/postgres.sh start   -> prints the SQLAlchemy URL (postgresql+psycopg://...) on stdout
#   scripts/postgres.sh url     -> prints the URL of the running cluster
#   scripts/postgres.sh stop    -> stops the cluster and deletes its data directory
# Settings: SHOPGUIDE_PG_DIR (default ${TMPDIR:-/tmp}/shopguide-postgres-$UID), SHOPGUIDE_PG_PORT (default 55432).
# Trust authentication on 127.0.0.1 only: this cluster is for tests, never for data that matters.
set -euo pipefail

PG_DIR="${SHOPGUIDE_PG_DIR:-${TMPDIR:-/tmp}/shopguide-postgres-$(id -u)}"
PORT="${SHOPGUIDE_PG_PORT:-55432}"
DATA="$PG_DIR/data"
LOG="$PG_DIR/postgres.log"
URL="postgresql+psycopg://shopguide@127.0.0.1:$PORT/shopguide"

find_bin() {
  local name="$1"
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  ls /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -1
}
INITDB="$(find_bin initdb)"
PG_CTL="$(find_bin pg_ctl)"
PSQL="$(find_bin psql)"
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ] || [ -z "$PSQL" ]; then
  echo "PostgreSQL binaries not found: apt-get install -y postgresql" >&2
  exit 1
fi

# PostgreSQL refuses to run as root: run its commands as the 'postgres' system user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$PG_CTL" -D "$DATA" status >/dev/null 2>&1; }

# The database the URL names, created once.
ensure_db() {
  if ! as_pg "$PSQL" -h 127.0.0.1 -p "$PORT" -U shopguide -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='shopguide'" 2>/dev/null | grep -q 1; then
    as_pg "$PSQL" -q -h 127.0.0.1 -p "$PORT" -U shopguide -d postgres -c "CREATE DATABASE shopguide" >/dev/null
  fi
}

case "${1:-}" in
  start)
    if running; then ensure_db; echo "$URL"; exit 0; fi
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
      as_pg "$INITDB" -D "$DATA" -U shopguide --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
    fi
    as_pg "$PG_CTL" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-h 127.0.0.1 -p $PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -20 "$LOG" >&2; exit 1; }
    ensure_db
    echo "$URL"
    ;;
  url)
    running && echo "$URL" || { echo "not running" >&2; exit 1; }
    ;;
  stop)
    if running; then as_pg "$PG_CTL" -D "$DATA" -m fast -w stop >/dev/null; fi
    rm -rf "$PG_DIR"
    ;;
  *)
    echo "usage: $0 start|url|stop" >&2
    exit 2
    ;;
esac
