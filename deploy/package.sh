#!/usr/bin/env bash
# Builds hostgate's Debian package from this tree and prints the .deb's path as its last line.
#
#   deploy/package.sh            the package goes to build/deb/ (OUT_DIR=dir to choose)
#
# The packaging lives in deploy/debian/. The tree (the files git knows, as they are now) is
# copied into a temporary directory with deploy/debian/ as its debian/, the changelog is written
# there with meson.build's version, and dpkg-buildpackage builds the binary package. Installs
# debhelper and the build dependencies first when they are missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT_DIR:-$repo/build/deb}

deploy/install-deps.sh

version=$(sed -n "s/^  version : '\([^']*\)',$/\1/p" meson.build)
[[ -n $version ]] || { echo "package: no version in meson.build" >&2; exit 1; }

work=$(mktemp -d /tmp/hostgate-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/hostgate-$version
mkdir -p "$src"
# The tracked files as they are in the work tree (uncommitted changes included).
git ls-files -z --cached --others --exclude-standard | grep -zv '^tests/tools/node_modules/' |
  xargs -0 cp --parents -t "$src"
cp -r deploy/debian "$src/debian"
rm -rf "$src/debian/etc"  # the conffiles, installed from deploy/debian/etc by hostgate.install
# The unit of deploy/systemd/, for the packaged binary and its man page.
sed -e '/^# hostgate as a systemd service/,/^$/d' \
    -e 's#/usr/local/bin/hostgate#/usr/sbin/hostgate#g' \
    -e 's#^Documentation=.*#Documentation=man:hostgate(8)#' \
    deploy/systemd/hostgate.service >"$src/debian/hostgate.service"
cat >"$src/debian/changelog" <<CHANGELOG
hostgate ($version) unstable; urgency=medium

  * hostgate $version.

 -- hostgate maintainers <maintainers@hostgate.dev>  $(date -R)
CHANGELOG

(cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "package: dpkg-buildpackage failed" >&2
  exit 1
}
mkdir -p "$out"
arch=$(dpkg --print-architecture)
deb=$out/hostgate_${version}_$arch.deb
cp "$work/hostgate_${version}_$arch.deb" "$deb"
echo "$deb"
