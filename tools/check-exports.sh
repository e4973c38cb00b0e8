#!/bin/sh
# The Exim object must export only Exim's entry points: local_scan,
# local_scan_version_major/minor and bg_dlfunc_* (Exim's own names share
# the process, so nothing else of ours may be visible).
set -eu
so=$1
extra=$(nm -D --defined-only "$so" | awk '{print $3}' |
  grep -Ev '^(local_scan|local_scan_version_major|local_scan_version_minor|bg_dlfunc_[a-z_]+|_init|_fini)$' || true)
if [ -n "$extra" ]; then
  echo "exports: unexpected symbols in $so: $extra"
  exit 1
fi
for s in local_scan local_scan_version_major local_scan_version_minor bg_dlfunc_event bg_dlfunc_check bg_dlfunc_guard bg_dlfunc_unsubscribe; do
  nm -D --defined-only "$so" | awk '{print $3}' | grep -qx "$s" || { echo "exports: $s missing from $so"; exit 1; }
done
echo "exports: 1 passed, 0 failed"
