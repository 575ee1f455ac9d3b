#!/usr/bin/env bash
# The offline quickstart: generate a Sakila database (SQLite), capture it with recorded World Bank responses and a
# country reference into the raw zone of a local lake, build trusted and refined models (statistics, the API x Sakila
# join, an ML forecast) and draw charts, all on embedded defaults (DuckDB, local files). No network, no services.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
caudal="$here/../../caudal"
cd "$here"

"$caudal" --version >/dev/null # builds the CLI on first use
source "$here/../../scripts/fonts.sh" # the run draws charts
[ -f data/sakila.db ] || "$caudal" sample sakila --scale 1 --out data/sakila.db

start=$(date +%s%N)
"$caudal" run
"$caudal" status
echo
echo "top 5 country-months by revenue (caudal query over refined.revenue_by_country_month):"
"$caudal" query "SELECT country, year, month, rentals, revenue FROM refined.revenue_by_country_month ORDER BY revenue DESC LIMIT 5"
echo
echo "the forecast against the naive last-value baseline on held-out years (refined.wb_forecast_metrics):"
"$caudal" query "SELECT indicator, holdout_from, holdout_to, test_rows, round(model_rmse, 3) AS model_rmse, round(baseline_rmse, 3) AS baseline_rmse, round(model_r2, 3) AS model_r2, beats_baseline FROM refined.wb_forecast_metrics"
echo
echo "charts (PNG):"
find lake/refined/_charts -name '*.png' | sort | sed 's/^/  /'
echo
echo "quickstart finished in $(( ($(date +%s%N) - start) / 1000000 )) ms (run + status + query, each a fresh process)."
echo "try: ./caudal plan --spec examples/quickstart/caudal.yaml   ./caudal runs --spec examples/quickstart/caudal.yaml"
echo "the dashboard: ./caudal serve --spec examples/quickstart/caudal.yaml, then open http://127.0.0.1:8080/ (API reference at /scalar)"
