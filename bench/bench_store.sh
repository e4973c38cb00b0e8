#!/bin/sh
# make bench: the suppression store -- events written per second with 1 and
# 8 concurrent writer processes, bg_store_check latency on a 100k-row
# database, and database size per million rows (extrapolated from 100k rows,
# each row with its event and its change), and the change log (reading it
# whole, `suppress history` lookups). Targets (2 cores): >= 5,000 events/s
# with 8 writers, lookups < 50 us median. Printed beside the figures, not
# asserted.
set -eu
O=${O:-build}
BIN=$O/bench/bench_store
mkdir -p $O/bench
cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o $BIN bench/bench_store.c $O/libbgcore.a -lsqlite3 -lm $(sed -n 's/^LDLIBS_STORE *= *//p' mk/store.mk 2>/dev/null)
T=$(mktemp -d /tmp/bg_bench_store.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
echo "store: 1 writer   (target: -)";          $BIN write "$T/w1.db" 1 8000
echo "store: 8 writers  (target: >= 5000 events/s)"; $BIN write "$T/w8.db" 8 2000
echo "store: lookup     (target: median < 50 us)";   $BIN lookup "$T/l.db" 100000 100000
echo "store: cold check (open + check + close, what a new SMTP process pays first)"; $BIN cold "$T/w1.db" 2000
echo "store: size       (extrapolated from 100k rows)"; $BIN size "$T/s.db" 100000
echo "store: changes    (the change log of 100k suppressions: a sync reads all, history lookups)"; $BIN changes "$T/c.db" 100000
