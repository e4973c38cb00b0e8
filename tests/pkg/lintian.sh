#!/bin/sh
# tests/pkg/lintian.sh -- the package as Debian's own checker sees it.
#
#   sh tests/pkg/lintian.sh [build/deb/bounceguide_VERSION_ARCH.changes]
#
# Runs lintian with every tag shown (-EvIL +pedantic) over the binary
# package build (make deb). Any error or warning fails; the overrides in
# debian/bounceguide.lintian-overrides each say why they are justified.
# Info and pedantic tags are printed, not judged.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CHANGES=${1:-}
[ -n "$CHANGES" ] || CHANGES=$(ls "$TOP"/build/deb/bounceguide_*.changes 2>/dev/null | tail -1)
[ -f "$CHANGES" ] || { echo "lintian: FAIL: no .changes (run make deb first)"; exit 1; }
command -v lintian >/dev/null || { echo "lintian: FAIL: lintian is not installed (make deps)"; exit 1; }
out=$(mktemp /tmp/bg-lintian.XXXXXX)
trap 'rm -f "$out"' EXIT
# lintian warns about running as root; that line is not a tag
lintian -EvIL +pedantic --color never "$CHANGES" 2>&1 | grep -v '^N:\|running with root privileges' > "$out"
grep -E '^[IPXO]:' "$out" | sed 's/^/lintian: (not judged) /'
bad=$(grep -cE '^[EW]:' "$out")
if [ "$bad" -ne 0 ]; then
    grep -E '^[EW]:' "$out" | sed 's/^/lintian: /'
    echo "lintian: FAIL: $bad error/warning tag(s) on $(basename "$CHANGES")"
    exit 1
fi
echo "lintian: ok ($(basename "$CHANGES"): no errors or warnings; $(grep -cE '^[IP]:' "$out") info/pedantic tags)"
