#!/usr/bin/env bash
# Starts a throwaway MariaDB with proxy_protocol_networks and hostgate in front of it, on loopback.
# The proxy daemon is not there yet: for now this builds hostgate and shows `hostgate explain`.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build >/dev/null
echo "The proxy daemon is not there yet; what works today is the grant engine:"
for who in "app 10.1.2.3" "app 192.0.2.7" "report 10.2.0.9"; do
  set -- $who
  echo "\$ build/src/hostgate explain --grants deploy/examples/grants.conf $1 $2"
  build/src/hostgate explain --grants deploy/examples/grants.conf "$1" "$2" || true
  echo
done
