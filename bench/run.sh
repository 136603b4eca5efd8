#!/usr/bin/env bash
# `make bench`: the benchmarks of docs/performance.md, on this machine, now.
#   1. in-process meter apply rate (Google Benchmark)
#   2. resident memory per provisioned line and restart time at 1M lines
#   3. durable ingest over HTTP with 1,000-record batches (bench/ingest_load.cc)
#   4. GET usage latency under load (wrk)
#   5. RADIUS accounting: ryuryo vs FreeRADIUS (detail file, SQLite), `ryuryo simulate` as the load
#   6. live updates: 1,000 and 5,000 SSE streams (GET /v1/stream) open during RADIUS ingest
set -euo pipefail
BUILD=${1:-build}
LINES=${BENCH_LINES:-1000000}
SECONDS_EACH=${BENCH_SECONDS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"

echo "## 1. meter apply rate (one core, in process)"
"$BUILD/meter_bench" --benchmark_min_time=2 --benchmark_counters_tabular=true

echo "## 2. memory per line and restart at $LINES lines"
"$BUILD/lines_bench" "$LINES" "$work/lines"

echo "## 3. durable HTTP ingest, 1,000-record batches"
{
  sed -n '/^\[\[plans\]\]/,/^\[\[pools\]\]/p' "$here/examples/ryuryo.toml" | sed '$d'
  for i in $(seq 0 999); do printf '[[lines]]\nid = "line-%d"\nplan = "mvno-20gb"\n\n' "$i"; done
} > "$work/bench.toml"
RYURYO_ADMIN_TOKEN=bench "$BUILD/ryuryo" serve --config "$work/bench.toml" --http 127.0.0.1:0 \
  --data-dir "$work/data" > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 1 300); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/server.out" | sed 's/.*://')
for conns in 4 16; do
  echo "connections=$conns"
  "$BUILD/ingest_load" 127.0.0.1 "$port" bench 1000 "$conns" 1000 "$SECONDS_EACH"
done

echo "## 4. GET /v1/lines/{id}/usage under load (wrk, keep-alive)"
for conns in 4 32; do
  echo "connections=$conns"
  wrk -t2 -c"$conns" -d"${SECONDS_EACH}s" --latency -H "Authorization: Bearer bench" \
    "http://127.0.0.1:$port/v1/lines/line-7/usage" | sed -n '/Latency Distribution/,/Transfer/p'
done
echo "server RSS: $(ps -o rss= -p $server_pid) KiB"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

echo "## 5. RADIUS accounting: durably acknowledged Accounting-Requests/s (bench/radius_bench.sh)"
bash "$here/bench/radius_bench.sh" "$BUILD"

echo "## 6. live updates under ingest: 1,000 and 5,000 SSE streams (bench/live_bench.sh)"
bash "$here/bench/live_bench.sh" "$BUILD"
