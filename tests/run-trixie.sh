#!/bin/sh
# make test-trixie: the project on Debian 13 "trixie" (Exim 4.98), from a
# Debian 12 machine. Root only.
#
# 1. A trixie root made with debootstrap from Debian's archive (the mirrors
#    this machine's apt uses; trixie, trixie-updates, trixie-security),
#    cached in $BG_TRIXIE_ROOT (default /var/cache/bounceguide/trixie) and
#    refreshed (apt-get update + dist-upgrade) when its last refresh is over
#    a day old (BG_TRIXIE_REFRESH=DAYS; 0: every run). Daemons never start
#    in it (policy-rc.d). One run at a time uses it (flock on ROOT.lock).
# 2. tools/deps.sh inside: the same package list as on Debian 12.
# 3. A copy of this tree (and ../shared/corpus) built and tested inside, in
#    a private mount namespace (proc, sys, dev; the root bound on itself so
#    that `ip netns` works in it, as the auth cases need): the suites unit,
#    exports, corpus, golden and e2e (tests/run-all.sh), the Exim runs of
#    make valgrind (valgrind-exim, with the must-fail planted runs), and
#    make deb. The host's network is shared (the e2e sandboxes pick free
#    loopback ports, the auth cases make their own namespaces).
# Logs and the trixie .deb land in build/trixie/. Prints which exim4 it
# ran against and the local_scan.h spool constants the plugin was built
# with, and "trixie: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
say() { echo "trixie: $*"; }
ROOT=${BG_TRIXIE_ROOT:-/var/cache/bounceguide/trixie}
REFRESH=${BG_TRIXIE_REFRESH:-1}
SUITES=${BG_TRIXIE_SUITES:-unit exports corpus golden e2e}
corpus=${BG_CORPUS:-$top/../shared/corpus}
out=$top/build/trixie
if [ "$(id -u)" -ne 0 ]; then say "needs root (debootstrap, chroot, namespaces)"; exit 1; fi
for c in debootstrap unshare flock; do
  command -v $c >/dev/null 2>&1 || { say "$c missing (make deps)"; exit 1; }
done
if [ ! -d "$corpus/sisimai/eml" ]; then say "corpus $corpus not found (set BG_CORPUS)"; exit 1; fi
rm -rf "$out"; mkdir -p "$out" "$(dirname "$ROOT")" || exit 1
t0=$(date +%s)

# Debian's mirrors as this machine's apt has them (deb822 or one-line form)
uris=$( { sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources
          sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list; } 2>/dev/null | tr ' ' '\n')
mirror=$(echo "$uris" | grep -v security | grep '/debian/*$' | head -1)
security=$(echo "$uris" | grep 'debian-security' | head -1)
mirror=${BG_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}
security=${BG_DEBIAN_SECURITY:-${security:-http://deb.debian.org/debian-security}}

exec 9>"$ROOT.lock"
if ! flock -w 1800 9; then
  say "another run has held $ROOT.lock for 30 minutes"; echo "trixie: 0 passed, 1 failed"; exit 1
fi

# inroot SCRIPT: run sh -c SCRIPT inside the root, in a mount namespace of
# its own (everything mounted here vanishes with it)
inroot() {
  unshare --mount --propagation private sh -c '
    set -e; R=$1
    mount --bind "$R" "$R"
    mount -t proc proc "$R/proc"
    mount -t sysfs sysfs "$R/sys"
    mount --rbind /dev "$R/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$R/run"
    mkdir -p "$R/run/lock"
    exec chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c "$2"
  ' inroot "$ROOT" "$1"
}

# 1. the root
if [ ! -f "$ROOT/.bg-ready" ]; then
  say "making the trixie root in $ROOT (debootstrap from $mirror)"
  rm -rf "$ROOT.new"
  if ! debootstrap --variant=minbase trixie "$ROOT.new" "$mirror" > "$out/debootstrap.log" 2>&1; then
    tail -20 "$out/debootstrap.log"; say "debootstrap failed (log: build/trixie/debootstrap.log)"
    echo "trixie: 0 passed, 1 failed"; exit 1
  fi
  cat > "$ROOT.new/etc/apt/sources.list" <<EOF
deb $mirror trixie main
deb $mirror trixie-updates main
deb $security trixie-security main
EOF
  printf '#!/bin/sh\n# no daemon starts in this root (make test-trixie)\nexit 101\n' \
    > "$ROOT.new/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT.new/usr/sbin/policy-rc.d"
  rm -rf "$ROOT"; mv "$ROOT.new" "$ROOT"
  touch -d '1970-01-01' "$ROOT/.bg-refreshed"
  touch "$ROOT/.bg-ready"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
if [ -n "$(find "$ROOT/.bg-refreshed" -mtime +$((REFRESH - 1)) 2>/dev/null)" ] || [ "$REFRESH" -eq 0 ]; then
  say "refreshing the root (apt-get update, dist-upgrade)"
  if inroot 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -y -qq dist-upgrade' \
       > "$out/refresh.log" 2>&1; then
    touch "$ROOT/.bg-refreshed"
  else
    tail -20 "$out/refresh.log"; say "refresh failed (log: build/trixie/refresh.log)"
  fi
fi

# 2.-3. the tree, the packages, the suites
rm -rf "$ROOT/bg" "$ROOT"/tmp/* "$ROOT"/tmp/.[!.]* 2>/dev/null
mkdir -p "$ROOT/bg/src" "$ROOT/bg/shared"
tar -c --exclude=./build --exclude=./build-asan --exclude=./build-fuzz --exclude=./.git \
  --exclude=__pycache__ -f - . | tar -x -C "$ROOT/bg/src" -f - || exit 1
cp -rL "$corpus" "$ROOT/bg/shared/corpus" || exit 1
chmod -R u+w "$ROOT/bg/shared"

inroot "cd /bg/src && BG_DEPS_SKIP='chromium fonts-roboto-unhinted' sh tools/deps.sh" > "$out/deps.log" 2>&1
rc_deps=$?
tail -1 "$out/deps.log"
if [ "$rc_deps" -ne 0 ]; then
  tail -20 "$out/deps.log"; say "tools/deps.sh failed inside the root"
  echo "trixie: 0 passed, 1 failed"; exit 1
fi
exim=$(inroot "dpkg-query -W -f='\${Version}' exim4-base")
# the figures of the header the plugin is built against, as the compiler sees them
cat > "$ROOT/bg/probe.c" <<'EOF'
#include <stdio.h>
#include <exim4/local_scan.h>
int main(void)
{
    printf("MESSAGE_ID_LENGTH %d, SPOOL_DATA_START_OFFSET %d\n", (int)(MESSAGE_ID_LENGTH),
           (int)(SPOOL_DATA_START_OFFSET));
    return 0;
}
EOF
consts=$(inroot "cc -o /bg/probe /bg/probe.c && /bg/probe")
say "Debian $(cat "$ROOT/etc/debian_version"), exim4 $exim; local_scan.h: $consts"

pass=0; fail=0; failed=""
step() { # step NAME SCRIPT: one step inside the root, its log in build/trixie
  name=$1; s=$(date +%s)
  inroot "cd /bg/src && $2" > "$out/$name.log" 2>&1
  rc=$?
  d=$(( $(date +%s) - s ))
  if [ "$rc" -eq 0 ]; then
    pass=$((pass+1)); say "$name ok (${d} s) -- $(grep -v '^[[:space:]]*$' "$out/$name.log" | tail -1)"
  else
    fail=$((fail+1)); failed="$failed $name"
    say "$name FAILED (exit $rc, ${d} s); last lines of build/trixie/$name.log:"
    tail -n 40 "$out/$name.log" | sed 's/^/   | /'
  fi
  return $rc
}

if step build "make -j2 check-build build/vgplant/bounceguide.so"; then
  step suites "BG_JOBS=2 sh tests/run-all.sh $SUITES"
  step valgrind-exim "make valgrind-exim"
  # the plugin built here on Debian 12 (the .deb a 12 machine makes) through
  # Debian 13's Exim: the same local_scan ABI, longer message ids, so the
  # spool offset must come from the running Exim, not the build's header
  if [ -f build/bounceguide.so ]; then
    cp build/bounceguide.so "$ROOT/bg/bounceguide-host.so"
    step cross-release "BG_E2E_PLUGIN=/bg/bounceguide-host.so sh tests/e2e/run.sh tests/e2e/test_enrich.py tests/e2e/test_release.py"
  fi
  step deb "make deb && cp build/bounceguide_*.deb /bg/"
  cp "$ROOT"/bg/bounceguide_*.deb "$out/" 2>/dev/null
  for f in "$ROOT"/bg/src/build/test-logs/*.log; do
    [ -f "$f" ] && cp "$f" "$out/suite-$(basename "$f")"
  done
  grep -h '^== ' "$out/suites.log" | sed 's/^/trixie:   /'
fi
say "exim4 $exim; $(ls "$out"/*.deb 2>/dev/null | sed "s|$top/||") ($(( $(date +%s) - t0 )) s)"
echo "trixie: $pass passed, $fail failed${failed:+ --$failed}"
[ "$fail" -eq 0 ]
