#!/bin/sh
# tests/pkg/install-destdir.sh -- make install into a DESTDIR puts every
# file in Debian's place, and make uninstall removes exactly that: the
# tree is empty again, a directory that was there before stays, and a
# configuration file the administrator edited is kept.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
D=$(mktemp -d /tmp/bg-destdir.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "install-destdir: FAIL: $*"; exit 1; }
MAKE=${MAKE:-make}

$MAKE -s --no-print-directory install DESTDIR="$D" > "$D.log" 2>&1 || { cat "$D.log"; rm -f "$D.log"; fail "make install"; }
for f in usr/lib/exim4/local_scan/bounceguide.so usr/sbin/bounceguide etc/exim4/bounceguide.conf \
         usr/share/bounceguide/rules.conf usr/share/bounceguide/guidance/en.conf \
         etc/exim4/conf.d/main/00_bounceguide etc/exim4/conf.d/main/05_bounceguide_suppress \
         etc/exim4/conf.d/acl/25_bounceguide_check_rcpt etc/exim4/conf.d/router/170_bounceguide_suppress \
         etc/exim4/conf.d/router/175_bounceguide_guard \
         etc/exim4/conf.d/transport/30_exim4-config_remote_smtp_smarthost_bounceguide \
         etc/cron.d/bounceguide usr/share/bounceguide/exim/installed \
         usr/share/man/man8/bounceguide.8 usr/share/man/man5/bounceguide.conf.5; do
    [ -f "$D/$f" ] || fail "make install did not install /$f"
done
[ -d "$D/etc/exim4/bounceguide.d" ] || fail "no /etc/exim4/bounceguide.d"
[ -d "$D/var/spool/exim4/bounceguide" ] || fail "no database directory"
[ -x "$D/usr/sbin/bounceguide" ] || fail "/usr/sbin/bounceguide not executable"

$MAKE -s --no-print-directory uninstall DESTDIR="$D" > "$D.log" 2>&1 || { cat "$D.log"; rm -f "$D.log"; fail "make uninstall"; }
left=$(find "$D" -mindepth 1 | sed "s|^$D||")
[ -z "$left" ] || fail "make uninstall left: $left"

# a directory that existed before stays; an edited config is kept
mkdir -p "$D/usr/lib/exim4/local_scan"
$MAKE -s --no-print-directory install DESTDIR="$D" > /dev/null 2>&1 || fail "make install (2)"
echo "helpdesk = me" >> "$D/etc/exim4/bounceguide.conf"
$MAKE -s --no-print-directory uninstall DESTDIR="$D" > /dev/null 2>&1 || fail "make uninstall (2)"
left=$(find "$D" -mindepth 1 -type f | sed "s|^$D||")
[ "$left" = /etc/exim4/bounceguide.conf ] || fail "after uninstall with an edited config, files left: $left"
[ -d "$D/usr/lib/exim4/local_scan" ] || fail "uninstall removed a directory it did not create"
rm -f "$D.log"
echo "install-destdir: ok (install, uninstall to an empty tree; edited config and existing directory kept)"
