#!/usr/bin/env bash
# `make run`: the server on the demo catalog and, once it listens, `ryuryo simulate` feeding it
# RADIUS accounting for every line it has, so that usage, history and the dashboard move.
#
# The simulator replays the last 7 days at 600 times real time (at most 20 requests/s), which
# takes about 17 minutes, then goes on in real time (see `ryuryo simulate --help`). Its output
# goes to BUILD/demo-simulate.log. It stops when the server stops; Ctrl-C stops both.
#
# Usage: scripts/run-demo.sh [BUILD] [CONFIG]
set -uo pipefail
BUILD=${1:-build}
CONFIG=${2:-examples/ryuryo.toml}
bin="$BUILD/ryuryo"
out=$(mktemp)
sim_log="$BUILD/demo-simulate.log"
server=
sim=

stop() {
  [ -n "$sim" ] && kill -TERM "$sim" 2>/dev/null
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null
}
trap stop INT TERM
trap 'stop; rm -f "$out"' EXIT

# The server's stdout goes to the terminal and to $out (for its address and token).
"$bin" serve --config "$CONFIG" > >(tee "$out") &
server=$!

url= radius= token=
for _ in $(seq 1 300); do
  kill -0 "$server" 2>/dev/null || break
  url=$(sed -n 's/.* listening on \(http:\/\/[^ ]*\).*/\1/p' "$out" | head -1)
  radius=$(sed -n 's/^radius accounting on udp:\/\/\(.*\)$/\1/p' "$out" | head -1)
  token=$(sed -n 's/^admin token: \(.*\)$/\1/p' "$out" | head -1)
  [ -n "$token" ] && break
  sleep 0.1
done

if [ -n "$token" ] && [ -n "$radius" ]; then
  "$bin" simulate --from-server "$url" --token "$token" --radius "$radius" \
    --start now-7d --speed 600 --rate 20 --progress 60s > "$sim_log" 2>&1 &
  sim=$!
  echo "simulated RADIUS accounting for the demo lines -> $radius (log: $sim_log)"
elif [ -n "$token" ]; then
  echo "no [radius] section in $CONFIG: no simulated traffic"
fi

# Until the server exits (Ctrl-C, or `kill`); then the simulator goes too.
status=0
while kill -0 "$server" 2>/dev/null; do
  wait "$server"
  status=$?
done
if [ -n "$sim" ]; then
  kill -TERM "$sim" 2>/dev/null
  wait "$sim" 2>/dev/null
  sim=
fi
server=
exit "$status"
