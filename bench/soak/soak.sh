#!/usr/bin/env bash
# Soak test (not in CI): the quickstart on a 10-second schedule for N minutes (default 30) in one `caudal up` process
# (scheduler + HTTP API; `schedule` for the scheduler alone), read through the API every second meanwhile. Reports
# RSS, open file descriptors and threads every minute (they must stay flat), the runs (every slot once, none failed),
# the API requests that failed, and checks every table with the independent Delta reader.
# With a third argument `models-only` the lake is captured once and the schedule then rebuilds trusted, refined and
# the charts only, so the lake stops growing (raw is append-only): what memory does then tells a leak from growth.
schedule] [models-only]|schedule] [models-only]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
minutes="${1:-30}"
command="${2:-up}"
work="$(mktemp -d /tmp/caudal-soak.XXXXXX)"
"$root/caudal" --version >/dev/null
cp -r "$root/examples/quickstart/." "$work/"
rm -rf "$work/lake" "$work/.caudal"
cd "$work"
[ -f data/sakila.db ] || "$root/caudal" sample sakila --scale 1 --out data/sakila.db >/dev/null
if [ "${3:-}" = models-only ]; then
  "$root/caudal" run > /dev/null
  sed -i 's/^run:$/run:\n  vacuum_retention: 1m/' caudal.yaml   # vacuum (every 5 minutes) keeps the overwritten files from piling up
  printf '\nschedule:\n  jobs: [{name: models, cron: "*/10 * * * * *", models_only: true}]\n  catch_up: all\n  maintenance: {cron: "0 */5 * * * *"}\n' >> caudal.yaml
else
  printf '\nschedule:\n  cron: "*/10 * * * * *"\n  catch_up: all\n' >> caudal.yaml
fi
dll="$root/.build/cli/Caudal.Cli.dll"
if [ "$command" = up ]; then dotnet "$dll" up --port ${CAUDAL_SOAK_PORT:-18480} > schedule.log 2>&1 & else dotnet "$dll" schedule > schedule.log 2>&1 & fi
pid=$!
if [ "$command" = up ]; then
  ( while kill -0 $pid 2>/dev/null; do
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${CAUDAL_SOAK_PORT:-18480}/v1/tables/refined/revenue_by_country_month?limit=1000" || echo 000)
      echo "$code" >> api.codes; sleep 1
    done ) &
fi
managed() { [ "$command" = up ] && curl -s http://127.0.0.1:${CAUDAL_SOAK_PORT:-18480}/metrics | awk '/^caudal_process_memory_bytes\{.*kind="managed_(heap|live)"/ {match($0, /kind="[a-z_]+"/); printf " %s=%d MB", substr($0, RSTART+6, RLENGTH-7), $NF/1048576}'; }
sample() { echo "$(date -u +%H:%M:%S) rss=$(awk '/VmRSS/ {print $2" "$3}' /proc/$pid/status) fds=$(ls /proc/$pid/fd | wc -l) threads=$(awk '/Threads/ {print $2}' /proc/$pid/status)$(managed)"; }
for m in $(seq 1 "$minutes"); do sleep 60; echo "after $m min: $(sample)"; done
kill -TERM $pid; wait $pid; echo "scheduler exit code: $?"
dotnet "$dll" runs -n 100000 > runs.txt
echo "runs: $(grep -c ' succeeded ' runs.txt) succeeded, $(grep -c ' failed ' runs.txt) failed (the last may be the one SIGTERM cancelled), $(grep -c 'running or interrupted' runs.txt) unfinished"
bad=0
for t in lake/*/*/; do
  [ -d "$t/_delta_log" ] || continue
  python3 "$root/tests/tools/delta_replay.py" "$t" >/dev/null || { echo "invalid: $t"; bad=1; }
done
[ -f api.codes ] && echo "API reads: $(wc -l < api.codes) requests, $(grep -vc '^200$' api.codes) not 200 (000 = before it listened or after it stopped)"
echo "independent Delta reader: $([ $bad = 0 ] && echo 'every table valid' || echo 'INVALID TABLES')"
echo "work folder: $work"
