#!/usr/bin/env bash
# Installs (Debian packages) and starts the database servers the tests use: MariaDB on 127.0.0.1:13306 and
# PostgreSQL on 127.0.0.1:15432 (MariaDB with its binlog on in ROW format, PostgreSQL with wal_level=logical: mode: cdc), each with its data under ${CAUDAL_SERVICES_DIR:-/tmp/caudal-services}.
# Idempotent: servers already listening are left alone. Source it to get the connection strings:
#   CAUDAL_TEST_MYSQL, CAUDAL_TEST_POSTGRES (ADO.NET connection strings with test-only passwords).
set -euo pipefail
services="${CAUDAL_SERVICES_DIR:-/tmp/caudal-services}"
mkdir -p "$services"
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops the servers this script started (not ones that were already running): scripts/test.sh calls it on exit.
caudal_stop_services() {
  if [ -n "${CAUDAL_STARTED_MARIADB:-}" ]; then
    mariadb-admin -S "$services/mariadb.sock" -u root shutdown >/dev/null 2>&1 || true
  fi
  if [ -n "${CAUDAL_STARTED_POSTGRES:-}" ]; then
    (cd / && runuser -u postgres -- "$CAUDAL_STARTED_POSTGRES/pg_ctl" -D "$services/postgres" -m fast -w stop >/dev/null 2>&1) || true
  fi
}

if ! command -v mariadbd >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing mariadb-server and postgresql (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq mariadb-server mariadb-client postgresql >/dev/null
fi

# A server of ours still running from before the change-capture settings (binlog off, wal_level below logical) is
# stopped here and started again below with them.
if listening 13306 && [ -S "$services/mariadb.sock" ] &&
   [ "$(mariadb -S "$services/mariadb.sock" -u root -N -e 'SELECT @@log_bin' 2>/dev/null || echo 1)" = "0" ]; then
  echo "restarting MariaDB with its binlog on (mode: cdc)"
  mariadb-admin -S "$services/mariadb.sock" -u root shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do listening 13306 || break; sleep 0.5; done
fi
if listening 15432 && [ -f "$services/postgres/PG_VERSION" ] &&
   [ "$(PGPASSWORD=postgres-test psql -h 127.0.0.1 -p 15432 -U postgres -tAc 'SHOW wal_level' 2>/dev/null || echo logical)" != "logical" ]; then
  echo "restarting PostgreSQL with wal_level=logical (mode: cdc)"
  (cd / && runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$services/postgres" -m fast -w stop >/dev/null 2>&1) || true
fi

if ! listening 13306; then
  data="$services/mariadb"
  if [ ! -d "$data/mysql" ]; then
    mkdir -p "$data"
    mariadb-install-db --user=root --datadir="$data" --auth-root-authentication-method=normal >"$services/mariadb-install.log" 2>&1
  fi
  CAUDAL_STARTED_MARIADB=1
  nohup mariadbd --user=root --datadir="$data" --socket="$services/mariadb.sock" --port=13306 --bind-address=127.0.0.1 \
    --local-infile=1 --log-bin=mariadb-bin --server-id=1 --binlog-format=ROW --binlog-row-image=FULL --expire-logs-days=1 \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 \
    --max-allowed-packet=256M >"$services/mariadb.log" 2>&1 &
  for _ in $(seq 1 60); do listening 13306 && break; sleep 0.5; done
  listening 13306 || { cat "$services/mariadb.log"; echo "MariaDB did not start"; exit 1; }
  mariadb -S "$services/mariadb.sock" -u root -e "
    CREATE USER IF NOT EXISTS 'caudal'@'%' IDENTIFIED BY 'caudal-test';
    CREATE USER IF NOT EXISTS 'caudal'@'localhost' IDENTIFIED BY 'caudal-test';
    GRANT ALL ON *.* TO 'caudal'@'%' WITH GRANT OPTION;
    GRANT ALL ON *.* TO 'caudal'@'localhost' WITH GRANT OPTION;
    CREATE USER IF NOT EXISTS 'reader'@'%' IDENTIFIED BY 'reader-test';
    FLUSH PRIVILEGES;"
fi

if ! listening 15432; then
  data="$services/postgres"
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    echo "postgres-test" >"$services/pgpass"
    chown -R postgres:postgres "$data" "$services/pgpass"
    (cd / && runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -A scram-sha-256 --pwfile="$services/pgpass" >"$services/postgres-init.log" 2>&1)
  fi
  chown -R postgres:postgres "$data"
  # From / : the postgres user may not enter the current folder (runuser would say so on every start).
  (cd / && runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/postgres.log" -w \
    -o "-p 15432 -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=logical -c max_replication_slots=64 -c max_wal_senders=64" start >/dev/null)
  CAUDAL_STARTED_POSTGRES="$bin"
fi

export CAUDAL_TEST_MYSQL="Server=127.0.0.1;Port=13306;User ID=caudal;Password=caudal-test"
export CAUDAL_TEST_POSTGRES="Host=127.0.0.1;Port=15432;Username=postgres;Password=postgres-test"
export CAUDAL_SERVICES_DIR="$services"
