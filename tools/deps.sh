#!/bin/sh
# Install every Debian package the build, the tests, the demo and the
# benchmarks need. Idempotent; skips apt when everything is present.
set -eu
PKGS="gcc make clang libclang-rt-14-dev pkg-config
 exim4-daemon-heavy exim4-dev
 libsqlite3-dev sqlite3 nettle-dev
 libspf2-dev libopendmarc-dev libpsl-dev publicsuffix
 libcmocka-dev
 valgrind
 python3 swaks nsd
 libsisimai-perl
 dpkg-dev debhelper fakeroot groff-base man-db
 chromium fonts-roboto-unhinted"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
else
  echo "deps: all packages present"
fi
