#!/bin/sh
# Install every Debian package the build, the tests, the demo and the
# benchmarks need. Idempotent; skips apt when everything is present.
# One list for Debian 12 "bookworm" and 13 "trixie" (make test-trixie runs
# this inside a trixie root): name no versioned package that exists on one
# release only (libclang-rt-dev is the runtime of the release's default
# clang: 14 on 12, 19 on 13).
#   deps.sh          install what is missing (root, or through sudo)
#   deps.sh --check  only name what is missing (exit 1 if anything is)
# BG_DEPS_SKIP="pkg ..." leaves packages out (make test-trixie: no browser
# in the Debian 13 root, whose suites do not use one).
set -eu
PKGS="gcc make clang libclang-rt-dev pkg-config
 exim4-daemon-heavy exim4-dev
 libsqlite3-dev sqlite3 nettle-dev
 postgresql libpq-dev
 libspf2-dev libopendmarc-dev libpsl-dev publicsuffix
 libcmocka-dev
 valgrind
 python3 swaks nsd iproute2 python3-prometheus-client
 libsisimai-perl
 build-essential dpkg-dev debhelper fakeroot groff-base man-db lintian
 debootstrap
 chromium fonts-roboto-unhinted"
missing=""
for p in $PKGS; do
  case " ${BG_DEPS_SKIP:-} " in *" $p "*) continue;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ "${1:-}" = "--check" ]; then
  [ -z "$missing" ] && exit 0
  echo "deps: missing$missing (make deps installs them)"; exit 1
fi
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  # one apt at a time on a shared machine (the lock is free on CI's)
  LOCK="flock /tmp/bg-apt.lock"
  command -v flock >/dev/null 2>&1 || LOCK=
  $SUDO $LOCK apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO $LOCK apt-get install -y -qq --no-install-recommends $missing
else
  echo "deps: all packages present"
fi
