#!/bin/sh
# make bench (via bench/run.sh): the Exim adapter's figures.
#  1. the core path for one bounce in-process (bench/bench_exim_core.c):
#     where the time goes, warm and in a fresh process;
#  2. the plugin's cost per message inside a real Exim, and Exim's
#     throughput with and without the plugin in one run (bench_exim.py).
# Sizes: BG_BENCH_PLAIN, BG_BENCH_BOUNCES, BG_BENCH_TPUT, BG_BENCH_ROUNDS.
set -eu
cd "$(dirname "$0")/.."
[ -f build/bounceguide.so ] || { echo "bench_exim: build/bounceguide.so missing (run make)"; exit 1; }
${MAKE:-make} --no-print-directory -s build/bench_exim_core
build/bench_exim_core bench/exim-bounce-550.eml 300
echo "  same, first run in a fresh process (as in Exim, where each bounce is a new process):"
build/bench_exim_core bench/exim-bounce-550.eml 1 | sed -n 's/^  /    /p'
PATH=$PATH:/usr/sbin exec python3 bench/bench_exim.py "$@"
