#!/bin/sh
# make e2e-asan: the Exim end-to-end suite with the plugin built with
# -fsanitize=address,undefined (build-asan/e2e/bounceguide.so) inside the
# real exim daemon and every exim it starts. Fails when a case fails or when
# any sanitizer report was written, and prints the reports. Arguments go to
# run.py (-k SUBSTRING, module paths). BG_E2E_SAN_SO names another .so.
#
# Why a copy of exim: the ASan runtime must be the first library loaded,
# and the loader honours LD_PRELOAD only in a process that is not setuid
# (Exim drops to its user for -C and re-execs itself, setuid, for
# deliveries and for the bounces it makes). Root starts the non-setuid copy
# DIR/exim4 through the wrapper DIR/exim; sandbox.py sets exim_path to the
# copy and keeps LD_PRELOAD and ASAN_OPTIONS (keep_environment).
#
# Reports go to DIR/reports/asan.PID (log_path): an exim process's stderr
# is Exim's own, nobody reads it. UBSan is built in trap mode
# (-fsanitize-undefined-trap-on-error, see mk/e2e-asan.mk): a failed check
# is a SIGILL that ASan reports with its stack (handle_sigill), because
# libubsan's own log_path does not work beside libasan (its report path
# setter resolves to libasan's). allow_user_segv_handler=0 keeps ASan's
# SEGV/BUS handlers when Exim installs its own; handle_abort=1 reports an
# abort(). detect_leaks=0: Exim never frees its pools. Third-party noise
# would be suppressed in tests/e2e/asan.supp (never a bounceguide frame).
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
SO=${BG_E2E_SAN_SO:-build-asan/e2e/bounceguide.so}
say() { echo "e2e-asan: $*"; }
if [ ! -f "$SO" ]; then say "$SO missing (make e2e-asan builds it)"; exit 1; fi
EXIM_BIN=$(command -v exim4 || echo /usr/sbin/exim4)
if [ ! -x "$EXIM_BIN" ]; then say "exim4 not installed (run tools/deps.sh)"; exit 1; fi
if [ "$(id -u)" -ne 0 ]; then say "not root: the sandboxes need root"; exit 1; fi
RT=$(readlink -f "$(${CC:-gcc} -print-file-name=libasan.so)")
if [ ! -f "$RT" ]; then say "no ASan runtime (gcc -print-file-name=libasan.so)"; exit 1; fi

D=$(mktemp -d "${BG_E2E_TMP:-/tmp}/bg-e2e-asan-XXXXXX") || exit 1
chmod 755 "$D"
mkdir -m 1777 "$D/reports"
cp "$EXIM_BIN" "$D/exim4" && chmod 755 "$D/exim4" || exit 1
cp "$SO" "$D/bounceguide.so" && chmod 644 "$D/bounceguide.so" || exit 1
cat >"$D/exim" <<EOF
#!/bin/sh
# exim for make e2e-asan: the ASan runtime first, reports to files
export LD_PRELOAD=$RT
export ASAN_OPTIONS=detect_leaks=0:log_path=$D/reports/asan:handle_sigill=1:handle_abort=1:allow_user_segv_handler=0:suppressions=$TOP/tests/e2e/asan.supp
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
  if grep -q "AddressSanitizer: ILL" "$f"; then
    echo "(ILL: a UBSan check failed on the line named, in trap mode)"
  fi
done
say "$n sanitizer report(s), $(( $(date +%s) - t0 )) s"
if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ] && [ "${BG_E2E_KEEP:-}" != 1 ]; then
  rm -rf "$D"
else
  say "kept $D"
fi
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
