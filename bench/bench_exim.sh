#!/bin/sh
# make bench (via bench/run.sh): the plugin's cost per message inside a real
# Exim, and Exim's throughput with and without the plugin, in one run.
# See bench/bench_exim.py. Sizes: BG_BENCH_PLAIN, BG_BENCH_BOUNCES,
# BG_BENCH_TPUT, BG_BENCH_ROUNDS.
set -eu
cd "$(dirname "$0")/.."
[ -f build/bounceguide.so ] || { echo "bench_exim: build/bounceguide.so missing (run make)"; exit 1; }
PATH=$PATH:/usr/sbin exec python3 bench/bench_exim.py "$@"
