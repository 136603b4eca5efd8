#!/usr/bin/env bash
# RADIUS accounting (docs/performance.md, "RADIUS accounting"): durably acknowledged
# Accounting-Requests per second, with `ryuryo simulate` as the load, in one run on this machine:
#   (a) ryuryo serve, [radius] on a free port, the simulated lines provisioned through the API;
#   (b) FreeRADIUS 3.2 with accounting to a detail file;
#   (c) FreeRADIUS 3.2 with rlm_sql into SQLite (the radacct schema of its own schema.sql).
# Each server is driven unpaced (--speed 0) at a few windows (requests in flight); its best rate
# counts. Then ryuryo (and FreeRADIUS detail) at half of its own best rate, for the latency.
#
# Usage: bench/radius_bench.sh [BUILD]
# Env: BENCH_SECONDS (each run, default 10), BENCH_RADIUS_LINES (default 10000).
set -euo pipefail
BUILD=${1:-build}
SECONDS_EACH=${BENCH_SECONDS:-10}
LINES=${BENCH_RADIUS_LINES:-10000}
here=$(cd "$(dirname "$0")/.." && pwd)
BIN="$BUILD/ryuryo"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# One simulate run: run NAME PID PORT WINDOW [extra options]; prints a table row (with the CPU
# time the server PID and the simulator used) and keeps the JSON in $work/NAME-WINDOW.json.
seed=0
run() {
  local name=$1 pid=$2 port=$3 window=$4
  shift 4
  seed=$((seed + 1))  # new sessions each run
  python3 - "$work/$name-$window.json" "$name" "$window" "$pid" "$BIN" simulate \
    --radius "127.0.0.1:$port" --lines "$LINES" --speed 0 --start now-30d \
    --duration "${SECONDS_EACH}s" --window "$window" --seed "$seed" --timeout 5s --json "$@" <<'EOF'
import json, os, resource, subprocess, sys
out, name, window, pid, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
hz = os.sysconf("SC_CLK_TCK")
def server_cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / hz
before = server_cpu()
with open(out, "w") as f:
    subprocess.run(cmd, stdout=f)  # exit status 2 (some timed out) is a result, not a failure
cpu = server_cpu() - before
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sim_cpu = usage.ru_utime + usage.ru_stime
j = json.load(open(out))
lat = j["latency_ms"]
per_req = cpu * 1e6 / j["acknowledged"] if j["acknowledged"] else 0
print(f"{name:<22} {window:>6} {j['acked_per_s']:>10,.0f} {j['timed_out']:>9,} "
      f"{lat['p50']:>8.2f} {lat['p99']:>9.2f} {cpu:>10.1f} {per_req:>10.0f} {sim_cpu:>7.1f}")
EOF
}

# The best acked/s among the JSON files of one server.
best() {
  python3 - "$work" "$1" <<'EOF'
import glob, json, sys
rates = [json.load(open(f))["acked_per_s"] for f in glob.glob(f"{sys.argv[1]}/{sys.argv[2]}-*.json")]
print(f"{max(rates):.0f}")
EOF
}

header() {
  printf '%-22s %6s %10s %9s %8s %9s %10s %10s %7s\n' server window acked/s "timed out" \
    "p50 ms" "p99 ms" "server cpu" "us/req" "sim cpu"
}

echo "### RADIUS accounting: $LINES simulated lines, ${SECONDS_EACH} s a run, load average $(cut -d' ' -f1-3 /proc/loadavg)"
header

# (a) ryuryo
{
  sed -n '/^\[\[plans\]\]/,/^\[\[pools\]\]/p' "$here/examples/ryuryo.toml" | sed '$d'
  cat <<'EOF'
# A plan that never changes state, so that only the accounting path is measured.
[[plans]]
id = "bench-radius"
name = "RADIUS benchmark"
kind = "monthly"
quota = "100 TB"
cycle_day = 1

[radius]
accounting = "127.0.0.1:0"
# The simulated clock runs a month behind (--start now-30d): with the default (1d) every session
# would look idle to the server's own clock and be closed and reopened all the time.
session_idle_timeout = "60d"

[[radius.clients]]
address = "127.0.0.1"
secret = "testing123"
EOF
} > "$work/ryuryo.toml"
RYURYO_ADMIN_TOKEN=bench "$BIN" serve --config "$work/ryuryo.toml" --http 127.0.0.1:0 \
  --radius-accounting 127.0.0.1:0 --data-dir "$work/ryuryo-data" \
  > "$work/ryuryo.out" 2> "$work/ryuryo.err" &
ryuryo_pid=$!
pids+=("$ryuryo_pid")
for _ in $(seq 1 300); do grep -q '^admin token' "$work/ryuryo.out" 2>/dev/null && break; sleep 0.1; done
http=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/ryuryo.out" | sed 's/listening on //')
rport=$(grep -o 'radius accounting on udp://[0-9.]*:[0-9]*' "$work/ryuryo.out" | sed 's/.*://')
if [ -z "$rport" ]; then
  echo "ryuryo did not start its RADIUS accounting server:" >&2
  cat "$work/ryuryo.err" >&2
  exit 1
fi
"$BIN" simulate --lines "$LINES" --provision bench-radius --server "$http" --token bench \
  --radius "127.0.0.1:$rport" --requests 1 --speed 0 --start now-30d --json > /dev/null
for w in 256 1024 4096; do run ryuryo "$ryuryo_pid" "$rport" "$w"; done

# (b) FreeRADIUS, detail file; (c) FreeRADIUS, SQLite.
start_freeradius() {  # start_freeradius MODE -> sets fr_pid, fr_port
  local d="$work/freeradius-$1"
  fr_port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 "$here/tests/freeradius.py" config "$d" "$fr_port" "$1"
  freeradius -f -d "$d" &
  fr_pid=$!
  pids+=("$fr_pid")
  for _ in $(seq 1 200); do grep -q 'Ready to process requests' "$d/radius.log" 2>/dev/null && return; sleep 0.1; done
  echo "FreeRADIUS ($1) did not start:" >&2
  tail -20 "$d/radius.log" >&2
  exit 1
}
start_freeradius detail
detail_pid=$fr_pid
detail_port=$fr_port
for w in 64 256 1024; do run freeradius-detail "$detail_pid" "$detail_port" "$w"; done
start_freeradius sql
for w in 8 32 128; do run freeradius-sql "$fr_pid" "$fr_port" "$w"; done
sql_rows=$(python3 "$here/tests/freeradius.py" count-sql "$work/freeradius-sql")
kill "$fr_pid"

ryuryo_best=$(best ryuryo)
detail_best=$(best freeradius-detail)
sql_best=$(best freeradius-sql)
echo
echo "half load (--rate at half of the server's best, window 4096):"
header
run ryuryo-half "$ryuryo_pid" "$rport" 4096 --rate $((ryuryo_best / 2))
run freeradius-detail-half "$detail_pid" "$detail_port" 4096 --rate $((detail_best / 2))
python3 - "$ryuryo_best" "$detail_best" "$sql_best" "$work/ryuryo-half-4096.json" "$sql_rows" <<'EOF'
import json, sys
r, d, s = (float(x) for x in sys.argv[1:4])
half = json.load(open(sys.argv[4]))
p99 = half["latency_ms"]["p99"]
def mark(ok):
    return "met" if ok else "NOT met"
print()
print(f"best acked/s: ryuryo {r:,.0f}; FreeRADIUS detail {d:,.0f}; FreeRADIUS SQL {s:,.0f}"
      f" (radacct rows: {sys.argv[5]})")
print(f"ryuryo >= 100,000 acked/s:          {r:>10,.0f}      {mark(r >= 100000)}")
print(f"ryuryo / FreeRADIUS detail >= 3x:   {r / d:>10.2f}x     {mark(r >= 3 * d)}")
print(f"ryuryo / FreeRADIUS SQL >= 30x:     {r / s:>10.0f}x     {mark(r >= 30 * s)}")
print(f"ryuryo p99 at half load <= 5 ms:    {p99:>10.2f} ms  {mark(p99 <= 5)}"
      f" (at {half['acked_per_s']:,.0f}/s)")
EOF
