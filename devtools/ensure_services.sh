#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer at the test addresses; start them if installed but stopped.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
PGDATABASE_NAME=${TEST_DB_NAME:-tribe}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
redis_up() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

missing=()
command -v pg_isready >/dev/null || missing+=("postgresql (Debian: apt-get install postgresql postgresql-client)")
command -v redis-cli >/dev/null || missing+=("redis (Debian: apt-get install redis-server redis-tools)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "The tests need PostgreSQL and Redis. Missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

if ! pg_up; then
  echo "PostgreSQL is not answering on $PGHOST:$PGPORT; starting it..." >&2
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for version in /etc/postgresql/*; do
      pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not start; start it and run again." >&2; exit 1; }
fi

if ! redis_up; then
  echo "Redis is not answering on $REDIS_HOST:$REDIS_PORT; starting it..." >&2
  command -v redis-server >/dev/null || { echo "Install redis-server (apt-get install redis-server)." >&2; exit 1; }
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/tribe-redis.log"
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  redis_up || { echo "Redis did not start; start it and run again." >&2; exit 1; }
fi

if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$PGDATABASE_NAME'" | grep -q 1; then
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -c "CREATE DATABASE \"$PGDATABASE_NAME\"" >/dev/null
fi
echo "PostgreSQL and Redis are up."
