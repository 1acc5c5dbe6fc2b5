#!/usr/bin/env bash
# A throwaway MariaDB with proxy_protocol_networks, and hostgate in front of it with
# deploy/examples/hostgate.toml and grants.conf, all on loopback. Shows an allowed and a refused
# client and the backend's process list with the real client address.
#
#   deploy/sandbox.sh         start (installs what is missing and builds first)
#   deploy/sandbox.sh stop    stop both and remove their files
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
state=${HOSTGATE_SANDBOX_DIR:-/tmp/hostgate-sandbox}
db_port=4307
proxy_port=4306

stop() {
  for name in hostgate mariadb; do
    if [[ -f $state/$name.pid ]]; then
      pid=$(cat "$state/$name.pid")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
      fi
    fi
  done
  rm -rf "$state" /tmp/hostgate-audit.log  # the audit file named in deploy/examples/hostgate.toml
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "sandbox: timed out waiting for $what" >&2
  return 1
}

if [[ ${1:-} == stop ]]; then
  stop
  echo "sandbox stopped"
  exit 0
fi

deploy/install-deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build >/dev/null

if [[ -d $state ]]; then
  echo "sandbox: already running in $state (deploy/sandbox.sh stop first)" >&2
  exit 1
fi
for port in $db_port $proxy_port 4333 9104; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "sandbox: port $port on 127.0.0.1 is taken" >&2
    exit 1
  fi
done
mkdir -p "$state"
trap 'echo "sandbox: failed; logs in $state" >&2' ERR

echo "== MariaDB on 127.0.0.1:$db_port, proxy_protocol_networks = 127.0.0.0/8, ::1"
mariadb-install-db --no-defaults --datadir="$state/data" --user=root \
  --auth-root-authentication-method=socket --skip-test-db >"$state/install.log" 2>&1
setsid mariadbd --no-defaults --datadir="$state/data" --socket="$state/mysqld.sock" --port=$db_port \
  --bind-address=127.0.0.1 --user=root --pid-file="$state/mariadb.pid" \
  --log-error="$state/mariadb.log" --skip-name-resolve --skip-log-bin \
  --proxy-protocol-networks=127.0.0.0/8,::1 --innodb-buffer-pool-size=32M >/dev/null 2>&1 &
wait_for 120 "MariaDB" mariadb --no-defaults -S "$state/mysqld.sock" -uroot -e "SELECT 1"
root() { mariadb --no-defaults -S "$state/mysqld.sock" -uroot "$@"; }
for host in 127.0.0.1 127.0.0.5 127.0.0.9 ::1; do
  root -e "CREATE USER 'app'@'$host' IDENTIFIED BY 'sandbox'; GRANT SELECT ON *.* TO 'app'@'$host'"
done
echo "   MariaDB itself accepts 'app' from 127.0.0.1, 127.0.0.5, 127.0.0.9 and ::1"

echo "== hostgate on 127.0.0.1:$proxy_port and [::1]:$proxy_port, grants: deploy/examples/grants.conf"
setsid build/src/hostgate --config deploy/examples/hostgate.toml >"$state/hostgate.log" 2>&1 &
echo $! >"$state/hostgate.pid"
wait_for 30 "hostgate" grep -q "listening on 127.0.0.1:$proxy_port" "$state/hostgate.log"

sql=build/tests/sqlclient
echo
echo "== 'app' from 127.0.0.5 (allowed by 'app'@'127.0.0.5'), running SELECT SLEEP(3):"
$sql --port $proxy_port --bind 127.0.0.5 --user app --password sandbox \
  query "SELECT USER() AS who, SLEEP(3)" >"$state/allowed.out" 2>&1 &
client=$!
wait_for 30 "the session on the backend" \
  bash -c "mariadb --no-defaults -S '$state/mysqld.sock' -uroot -N -e \"SELECT 1 FROM information_schema.processlist WHERE USER='app'\" | grep -q 1"
echo
echo "== the backend's process list, while it runs: HOST is the real client address and port"
root -t -e "SELECT ID, USER, HOST, COMMAND, INFO FROM information_schema.processlist WHERE USER = 'app'"
echo
echo "== hostgate's own process list (admin port 127.0.0.1:4333): Backend_id is the backend's ID above"
mariadb --no-defaults -h127.0.0.1 -P4333 -uadmin -psandbox-admin --ssl=0 -t -e "SHOW PROCESSLIST"
wait $client || true
sed 's/^/   /' "$state/allowed.out"

echo
echo "== 'app' from 127.0.0.9 (no rule for that address: refused by hostgate, MariaDB never sees it):"
$sql --port $proxy_port --bind 127.0.0.9 --user app --password sandbox query "SELECT 1" | sed 's/^/   /' || true

echo
echo "== hostgate's log"
# Written to a file, hostgate's info lines reach it in batches, at least once a second.
for _ in $(seq 50); do
  grep -q "no rule for this host" "$state/hostgate.log" && break
  sleep 0.1
done
sed 's/^/   /' "$state/hostgate.log"
trap - ERR
cat <<EOF

The sandbox keeps running. Connect through hostgate with:
   mariadb -h127.0.0.1 -P$proxy_port -uapp -psandbox --ssl=0
   build/tests/sqlclient --port $proxy_port --bind 127.0.0.5 --user app --password sandbox query "SELECT USER()"
Ask hostgate why a client is allowed or refused:
   build/src/hostgate explain --grants deploy/examples/grants.conf app 127.0.0.9
The admin port, metrics and audit log:
   mariadb -h127.0.0.1 -P4333 -uadmin -psandbox-admin --ssl=0 -e "SHOW PROCESSLIST; SHOW GRANTS"
   mariadb -h127.0.0.1 -P4333 -uadmin -psandbox-admin --ssl=0 -e "SELECT client, user, reason
      FROM events WHERE event LIKE 'denied%' ORDER BY time DESC LIMIT 20"
   curl -s http://127.0.0.1:9104/metrics
   tail /tmp/hostgate-audit.log
Stop it with:
   deploy/sandbox.sh stop
EOF
