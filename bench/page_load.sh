#!/usr/bin/env bash
# Page load of the subscriber dashboard (the issue: "the subscriber page loads in under 1 s on
# loopback with 90 days of history"). A benchmark, never a test assertion on timing.
#
# Starts `ryuryo serve` on a free loopback port with one subscriber account and one line on the
# demo's monthly MVNO plan (20 GB, cycle day 1), then bench/page_load.mjs:
#   - posts BENCH_PAGE_DAYS (90) days x 24 hours of usage by app and device through the admin
#     API (~6 records an hour, ~13,000 records). [retention] keeps all of it: hourly = "100d"
#     (the default 35d would have dropped the older hourly points; daily is kept 800d anyway),
#     and dedup / audit = "100d" so nothing of the 90 days is aged out while the run lasts;
#   - signs in through the login page in Debian's headless Chromium (playwright-core, as the
#     browser tests) and loads the subscriber page BENCH_PAGE_RUNS (10) times cold (a new
#     browser context: empty cache, session cookie only) and warm (a reload: 304s), plus the
#     sign-in itself (form submitted -> dashboard rendered);
#   - prints median / p90 of: HTML received, DOMContentLoaded, numbers shown, history chart
#     drawn, per-app breakdown shown, and "rendered" (all three, next animation frame), all
#     from navigation start; requests, 304s, API calls and KiB transferred.
#
# Usage: bench/page_load.sh [BUILD]   (default build; needs scripts/install-deps.sh's chromium
#        and node_modules/playwright-core)
# Env: BENCH_PAGE_RUNS (default 10), BENCH_PAGE_DAYS (default 90).
set -euo pipefail
BUILD=${1:-build}
RUNS=${BENCH_PAGE_RUNS:-10}
DAYS=${BENCH_PAGE_DAYS:-90}
here=$(cd "$(dirname "$0")/.." && pwd)
BIN="$BUILD/ryuryo"
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "page_load: no $BIN (build first)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "page_load: /usr/bin/chromium is missing: run scripts/install-deps.sh" >&2; exit 1; }
[ -f "$here/node_modules/playwright-core/package.json" ] || {
  echo "page_load: node_modules/playwright-core is missing: run scripts/install-deps.sh (npm ci)" >&2; exit 1; }

cat > "$work/bench.toml" <<'EOF'
[server]
http = "127.0.0.1:8080"
data_dir = "data"

[retention]
dedup = "100d"
audit = "100d"
hourly = "100d"
daily = "800d"

[[plans]]
id = "mvno-20gb"
name = "MVNO 20 GB monthly (rollover)"
kind = "monthly"
quota = "20 GB"
cycle_day = 1
rollover = true
after_quota = { action = "throttle", rate = "300 kbps" }
alerts = ["50%", "80%", "1 GB left", "pace"]

[[lines]]
id = "bench-line"
plan = "mvno-20gb"
account = "bench-sub"
msisdn = "+81 90-9999-0001"
locale = "en"

[[accounts]]
id = "bench-sub"
name = "Page-load benchmark"
locale = "en"
password = "bench-page-load-2026"
collect_apps = true
EOF

RYURYO_ADMIN_TOKEN=bench "$BIN" serve --config "$work/bench.toml" --http 127.0.0.1:0 \
  --data-dir "$work/data" --radius-accounting 127.0.0.1:0 > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 1 300); do grep -q '^admin token' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/server.out" | sed 's/listening on //')
[ -n "$url" ] || { echo "page_load: the server did not start:" >&2; cat "$work/server.err" >&2; exit 1; }

echo "# machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg); server $url"
node "$here/bench/page_load.mjs" "$url" bench bench-sub bench-page-load-2026 bench-line "$RUNS" "$DAYS"
echo "# server RSS: $(ps -o rss= -p "$server_pid") KiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
