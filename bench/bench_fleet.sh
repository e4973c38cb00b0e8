#!/bin/sh
# make bench: a fleet (issue 15) on a real PostgreSQL (tests/fleet/pg.sh:
# a private server, unix socket, fsync on) -- what one Exim process pays
# for an event through the journal and through a connection of its own;
# events per second into PostgreSQL with 2 hosts x 8 writers (through the
# journals and the syncs) and with 16 writers connected straight to it;
# the RCPT check on a 100k-row replica with PostgreSQL up and stopped; the
# sync's lag (a failure on host A until host B refuses it) at the default
# interval and at 200 ms. Targets printed beside the figures, not asserted.
set -eu
O=${O:-build}
BIN=$O/bench/bench_fleet
mkdir -p $O/bench
cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o $BIN bench/bench_fleet.c $O/libbgcore.a -lsqlite3 -lm \
  $(sed -n 's/^LDLIBS_STORE *= *//p' mk/store.mk 2>/dev/null)
T=$(mktemp -d /tmp/bg_bench_fleet.XXXXXX)
chmod 755 "$T"
trap 'sh tests/fleet/pg.sh stop "$T/pg" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
# PostgreSQL as Debian's package configures it (shared_buffers 128MB; the
# test suites start it with 32MB to stay small beside everything else)
export BG_PG_SHARED_BUFFERS=128MB
CI=$(sh tests/fleet/pg.sh start "$T/pg")
echo "fleet: PostgreSQL $(sh tests/fleet/pg.sh psql "$T/pg" -c 'SHOW server_version'), shared_buffers $(sh tests/fleet/pg.sh psql "$T/pg" -c 'SHOW shared_buffers'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fleet: one event in a new process (what an Exim delivery pays): the journal vs a PostgreSQL connection"
$BIN process "$CI" "$T" 300
echo "fleet: 2 hosts x 8 writers, through the journals and the syncs (target: >= 5000 events/s into PostgreSQL)"
$BIN journal "$CI" "$T" 2 8 1000
$BIN journal "$CI" "$T" 2 8 1000
echo "fleet: 16 writers each connected to PostgreSQL, every event its own transaction (the alternative)"
$BIN direct "$CI" "$T" 16 250
echo "fleet: RCPT check on the replica, 100k rows (target: median <= 50 us, PostgreSQL up and stopped)"
$BIN lookup "$CI" "$T" 100000 100000 fill
$BIN lookup "$CI" "$T" 100000 100000 up
sh tests/fleet/pg.sh stop "$T/pg"
$BIN lookup "$CI" "$T" 100000 100000 stopped
sh tests/fleet/pg.sh start "$T/pg" >/dev/null
echo "fleet: sync lag, a failure recorded on host A until host B refuses it (target: <= 10 s)"
$BIN lag "$CI" "$T" 60 1000
$BIN lag "$CI" "$T" 100 200
