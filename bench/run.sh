#!/bin/sh
# make bench: run every bench/bench_*.sh in turn. Each prints its own
# figures; none of them fails the build on a slow machine (targets are
# printed beside the figures, not asserted).
set -u
for b in bench/bench_*.sh; do
  [ -f "$b" ] || continue
  echo "== ${b#bench/}"
  sh "$b" || echo "(${b#bench/} exited $?)"
done
