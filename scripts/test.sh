#!/usr/bin/env bash
# Runs Caudal's whole test suite. Installs what the tests need and is missing (the s3rver S3 server, from npm),
# restores packages, builds, and runs every test project. Usage: bash scripts/test.sh [dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Node.js/npm (test servers and tools) and Python 3 (the independent Delta reader) from Debian's packages if missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  echo "installing nodejs, npm and python3 (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq nodejs npm python3 >/dev/null
fi

# Chromium for the dashboard's browser tests (driven by Playwright, which cannot download its own browser here).
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (Debian package) for the dashboard tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
fi

# PostgreSQL clients for the wire-protocol tests: psql, pgJDBC with a JDK, psycopg 3, psycopg2 and SQLAlchemy.
if [ ! -f /usr/share/java/postgresql.jar ] || [ ! -x /usr/bin/javac ] || [ ! -x /usr/bin/psql ] ||
   ! /usr/bin/python3 -c 'import psycopg, psycopg2, sqlalchemy' >/dev/null 2>&1; then
  echo "installing PostgreSQL clients (Debian packages: postgresql-client, libpostgresql-jdbc-java, default-jdk-headless, python3-psycopg, python3-psycopg2, python3-sqlalchemy)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq postgresql-client libpostgresql-jdbc-java default-jdk-headless \
    python3-psycopg python3-psycopg2 python3-sqlalchemy >/dev/null
fi

tools="$PWD/.tools"
if [ ! -f "$tools/node_modules/s3rver/bin/s3rver.js" ]; then
  echo "installing s3rver@3.7.1 into .tools/ (S3-protocol server for the S3 lake tests)"
  npm install --silent --no-audit --no-fund --prefix "$tools" s3rver@3.7.1 >/dev/null
fi
if [ ! -d "$tools/node_modules/hyparquet-writer" ]; then
  echo "installing hyparquet-writer@0.17.0 into .tools/ (writes Parquet files for the file-source tests)"
  npm install --silent --no-audit --no-fund --prefix "$tools" hyparquet-writer@0.17.0 >/dev/null
fi
if [ ! -d "$tools/node_modules/pg" ]; then
  echo "installing pg@8.23.1 into .tools/ (node-postgres, for the PostgreSQL endpoint's tests)"
  npm install --silent --no-audit --no-fund --prefix "$tools" pg@8.23.1 >/dev/null
fi
export CAUDAL_S3RVER="$tools/node_modules/s3rver/bin/s3rver.js"
export CAUDAL_NODE_MODULES="$tools/node_modules"
# s3rver's paginated listings need the legacy OpenSSL provider on Node 20.
export NODE_OPTIONS="--openssl-legacy-provider"

# Fonts for the chart tests.
source scripts/fonts.sh

# Database servers (MariaDB, PostgreSQL) for the capture tests; the ones started here are stopped when the tests end.
# The trap is set first: a server that fails to start after another started still has the first one stopped.
trap 'declare -F caudal_stop_services >/dev/null && caudal_stop_services' EXIT
source scripts/services.sh

dotnet test Caudal.sln --nologo -v quiet --logger "console;verbosity=normal" "$@"
