#!/usr/bin/env bash
# Installs the Debian 12 packages hostgate needs to build and test. Idempotent; silent when
# everything is already there. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # build
  meson ninja-build g++ pkg-config
  libasio-dev libssl-dev libfmt-dev libspdlog-dev libtomlplusplus-dev libcli11-dev
  default-libmysqlclient-dev libsqlite3-dev
  # tests
  catch2 python3 python3-pymysql python3-nacl mariadb-server mariadb-client haproxy sysbench openssl curl
  prometheus  # promtool checks the metrics
  nodejs node-mysql php-cli php-mysql
  # the Debian package (deploy/package.sh)
  debhelper dpkg-dev lintian man-db
  # fuzz targets (built with clang's libFuzzer)
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# npm installs the test clients of the npm registry (tests/tools/package-lock.json); Debian's
# package only when there is no npm at all.
command -v npm >/dev/null || missing+=(npm)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start the distribution's own MariaDB or HAProxy services: the tests
# and the sandbox start their own, on free ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod +x $policy
  created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && $sudo rm -f '"$policy" EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
