#!/usr/bin/env bash
# Benchmark: hostgate vs direct MariaDB vs HAProxy (send-proxy-v2), side by side on loopback.
# Run deploy/test.sh first (it installs what is needed and builds). Options: see bench.py.
#   tests/bench/run.sh                       # 3 rounds x 10 s, 1/8/64 threads (about 12 minutes)
#   tests/bench/run.sh --seconds 5 --rounds 1 --threads 8
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -x build/src/hostgate ]] || { echo "build first: deploy/test.sh" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
exec /usr/bin/python3 tests/bench/bench.py "$@"
