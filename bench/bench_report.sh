#!/bin/sh
# make bench: the delivery counters of `bounceguide report` (schema 5) --
# what counting adds to each delivery the event hook records (the same
# delivery in one transaction with and without its count), the time of
# each report grouping over 1 million counter rows (all of them, and the
# last 7 days), and the bounce-rate guard's look at one domain (paid per
# RCPT while the guard is on). Then `bounceguide report` end to end on the
# same file. Figures only, nothing asserted; BG_BENCH_COUNT_ROWS changes
# the size.
set -eu
O=${O:-build}
BIN=$O/bench/bench_report
ROWS=${BG_BENCH_COUNT_ROWS:-1000000}
mkdir -p $O/bench
cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o $BIN bench/bench_report.c $O/libbgcore.a -lsqlite3 -lm $(sed -n 's/^LDLIBS_STORE *= *//p' mk/store.mk 2>/dev/null)
T=$(mktemp -d /tmp/bg_bench_report.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
echo "report: counting per delivery (one transaction with the event)"; $BIN event "$T/e.db" 8000
echo "report: $ROWS counter rows";                                    $BIN report "$T/r.db" "$ROWS"
ls -l "$T/r.db" | awk '{printf "report: file %.0f MB\n", $5 / 1048576}'
for args in "" "--by provider" "--by day --since 30d" "--format prometheus"; do
    t0=$(date +%s.%N)
    $O/bounceguide report --db "$T/r.db" --since 400d $args > /dev/null
    t1=$(date +%s.%N)
    echo "report: bounceguide report --since 400d $args: $(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1) ms"
done
