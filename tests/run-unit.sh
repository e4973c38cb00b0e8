#!/bin/sh
# Run every cmocka unit-test binary; print one summary line.
# usage: run-unit.sh BUILD_DIR TEST_BIN...
set -u
o=$1; shift
pass=0; fail=0; failed=""
for t in "$@"; do
  if BG_TOP="$(pwd)" "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed ${t##*/}"; fi
done
echo "unit ($o): $pass passed, $fail failed${failed:+ --$failed}"
[ "$fail" -eq 0 ]
