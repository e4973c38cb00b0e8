#!/bin/sh
# make bench: what the suppression check costs an SMTP session inside the
# real Exim (a private Exim daemon, 100k rows): per RCPT in a warm process and for the
# first RCPT of a process. Figures only (bench/bench_rcpt.py).
set -eu
[ -f build/bounceguide.so ] || { echo "rcpt: build/bounceguide.so missing (make)"; exit 1; }
PATH=$PATH:/usr/sbin exec python3 bench/bench_rcpt.py "${BG_BENCH_RCPTS:-4000}" "${BG_BENCH_ROUNDS:-5}"
