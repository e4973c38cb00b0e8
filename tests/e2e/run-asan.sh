#!/bin/sh
# make e2e-asan: the Exim end-to-end suite with build-asan/bounceguide.so
# (ASan+UBSan) inside the real exim daemon and every exim it starts.
# Fails when a case fails or when any sanitizer report was written, and
# prints the reports. Arguments go to run.py (-k SUBSTRING, module paths).
#
# Why a copy of exim: the loader honours LD_PRELOAD (the ASan runtime must
# come first) only in a process that is not setuid. Root starts the copy
# through the wrapper DIR/exim; Exim drops to its user for -C and re-execs
# exim_path (the copy, set by sandbox.py) for deliveries and the bounces it
# makes, keeping LD_PRELOAD/ASAN_OPTIONS/UBSAN_OPTIONS (keep_environment).
# Reports go to DIR/reports/{asan,ubsan}.PID (log_path): a process's stderr
# is Exim's, nobody reads it. Leak detection is off: Exim never frees its
# pools. Third-party noise would be suppressed in tests/e2e/asan.supp and
# tests/e2e/ubsan.supp (never a bounceguide frame).
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
SO=build-asan/bounceguide.so
say() { echo "e2e-asan: $*"; }
if [ ! -f "$SO" ]; then say "$SO missing (make e2e-asan builds it)"; exit 1; fi
EXIM_BIN=$(command -v exim4 || echo /usr/sbin/exim4)
if [ ! -x "$EXIM_BIN" ]; then say "exim4 not installed (run tools/deps.sh)"; exit 1; fi
if [ "$(id -u)" -ne 0 ]; then say "not root: the sandboxes need root"; exit 1; fi
RT=$(${CC:-gcc} -print-file-name=libasan.so)
RT=$(readlink -f "$RT")
if [ ! -f "$RT" ]; then say "no ASan runtime (gcc -print-file-name=libasan.so)"; exit 1; fi

D=$(mktemp -d "${BG_E2E_TMP:-/tmp}/bg-e2e-asan-XXXXXX") || exit 1
chmod 755 "$D"
mkdir -m 1777 "$D/reports"
cp "$EXIM_BIN" "$D/exim4" && chmod 755 "$D/exim4" || exit 1
cat >"$D/exim" <<EOF
#!/bin/sh
# exim for make e2e-asan: the sanitizer runtime first, reports to files
export LD_PRELOAD=$RT
export ASAN_OPTIONS=detect_leaks=0:log_path=$D/reports/asan:suppressions=$TOP/tests/e2e/asan.supp
export UBSAN_OPTIONS=print_stacktrace=1:log_path=$D/reports/ubsan:suppressions=$TOP/tests/e2e/ubsan.supp
exec $D/exim4 "\$@"
EOF
chmod 755 "$D/exim"

t0=$(date +%s)
BG_E2E_SAN=$D PATH=$PATH:/usr/sbin python3 tests/e2e/run.py "$@"
rc=$?
n=0
for f in "$D"/reports/*; do
  [ -f "$f" ] || continue
  n=$((n+1))
  echo "== sanitizer report $(basename "$f"):"
  head -c 20000 "$f"
done
say "$n sanitizer report(s), $(( $(date +%s) - t0 )) s"
if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ] && [ "${BG_E2E_KEEP:-}" != 1 ]; then
  rm -rf "$D"
else
  say "kept $D"
fi
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
