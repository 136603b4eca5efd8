#!/usr/bin/env bash
# Installs the Debian packages ryuryo needs to build, test and benchmark.
# Idempotent: only missing packages are installed; a second run does nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  librocksdb-dev libsimdjson-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libspdlog-dev libfmt-dev libhowardhinnant-date-dev tzdata libboost-dev libssl-dev
  libxxhash-dev libsodium-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 curl wrk freeradius-utils freeradius sqlite3 kannel kannel-extras
  # the dashboard's browser tests and screenshots; CJK glyphs for the ja / zh pages
  chromium fonts-noto-cjk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The web dashboard's tools: Node.js and npm (Debian's, unless some node and npm are there
# already, e.g. NodeSource's nodejs, which brings its own npm and conflicts with Debian's).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  for p in nodejs npm; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The dashboard's npm packages, exactly as package-lock.json pins them: `npm ci` when
# node_modules is missing or was installed from another lock file; nothing (and no network)
# otherwise. The build embeds uPlot into the server (cmake/RyuryoWeb.cmake); playwright-core
# drives Debian's chromium (above) in tests/test_dashboard.py and bench/page_load.sh, and never
# downloads a browser of its own.
cmake -DSOURCE_DIR="$(cd "$(dirname "$0")/.." && pwd)" -P "$(dirname "$0")/../cmake/NpmDeps.cmake"
