#!/bin/sh
# make test: every suite in turn; a summary line per suite and one at the end.
# Suites: unit tests plain, the .so's exports, unit tests under ASan+UBSan
# and under Valgrind, the ASan CLI over corpus variants, the fuzzers' fixed
# quick run, the corpus score floors, the Exim end-to-end cases (fault
# matrix included), the .deb installed on the machine's Exim, a short soak.
# Set BG_SKIP="e2e asan" to skip some while developing (CI never sets it).
set -u
pass=0; fail=0; failed=""
run() {
  name=$1; shift
  case " ${BG_SKIP:-} " in *" $name "*) echo "== $name: skipped (BG_SKIP)"; return;; esac
  echo "== $name"
  if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $name"; fi
}
MAKE=${MAKE:-make}
run unit      $MAKE --no-print-directory unit
run exports   $MAKE --no-print-directory check-exports
run asan      $MAKE --no-print-directory unit-asan
run valgrind  $MAKE --no-print-directory valgrind
run robust    $MAKE --no-print-directory robust
run fuzz      $MAKE --no-print-directory fuzz-quick
run corpus    $MAKE --no-print-directory corpus
run e2e       $MAKE --no-print-directory e2e
run e2e-asan  $MAKE --no-print-directory e2e-asan
run pkg       $MAKE --no-print-directory pkg-test
run soak      $MAKE --no-print-directory soak-quick
echo "suites: $pass passed, $fail failed${failed:+ --$failed}"
[ "$fail" -eq 0 ]
