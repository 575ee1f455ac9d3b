#!/usr/bin/env bash
# The offline quickstart: generate a Sakila database (SQLite), then capture it into the raw zone of a local lake and
# build a trusted and a refined model, all on embedded defaults (DuckDB, local files). No network, no services.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
caudal="$here/../../caudal"
cd "$here"

"$caudal" --version >/dev/null # builds the CLI on first use
[ -f data/sakila.db ] || "$caudal" sample sakila --scale 1 --out data/sakila.db

start=$(date +%s%N)
"$caudal" run
"$caudal" status
echo
echo "top 5 country-months by revenue (caudal query over refined.revenue_by_country_month):"
"$caudal" query "SELECT country, year, month, rentals, revenue FROM refined.revenue_by_country_month ORDER BY revenue DESC LIMIT 5"
echo
echo "quickstart finished in $(( ($(date +%s%N) - start) / 1000000 )) ms (run + status + query, each a fresh process)."
echo "try: ./caudal plan --spec examples/quickstart/caudal.yaml   ./caudal runs --spec examples/quickstart/caudal.yaml"
