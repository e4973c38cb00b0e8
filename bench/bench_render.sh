#!/bin/sh
# make bench (via bench/run.sh): the rendered bounce per language -- the
# size of the whole message the sender gets and the render time (warm
# median over 300 runs, and the first run of a fresh process as inside
# Exim), for Exim's own one-recipient bounce (bench/exim-bounce-550.eml)
# and the three-recipient golden bounce.
set -eu
cd "$(dirname "$0")/.."
${MAKE:-make} --no-print-directory -s build/bench_exim_core build/bounceguide
langs=$(ls conf/guidance/*.conf | sed 's|.*/||; s|\.conf$||' | sort)
printf '  %-4s %-22s %9s %9s %12s %12s\n' lang input in out "render warm" "render first"
for l in $langs; do
  for f in bench/exim-bounce-550.eml tests/golden/exim-three-rcpts.eml; do
    in=$(wc -c < "$f")
    out=$(build/bounceguide render --lang "$l" "$f" | wc -c)
    warm=$(build/bench_exim_core "$f" 300 "$l" | sed -n 's/^  render *\([0-9.]*\) us/\1/p')
    first=$(build/bench_exim_core "$f" 1 "$l" | sed -n 's/^  render *\([0-9.]*\) us/\1/p')
    printf '  %-4s %-22s %9s %9s %9s us %9s us\n' "$l" "${f##*/}" "$in" "$out" "$warm" "$first"
  done
done
