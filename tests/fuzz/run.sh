#!/bin/sh
# One fuzz target (make fuzz, make fuzz-quick): its regression inputs
# first (tests/fuzz/regress/TARGET/*, each run once; any failure fails),
# then SECONDS of fuzzing from its seeds (build-fuzz/seeds/TARGET) into
# WORKDIR. A crash fails the run; the input is kept in
# build-fuzz/crash/TARGET/ and the log's tail printed.
# usage: run.sh TARGET SECONDS WORKDIR [quick]
# quick (make fuzz-quick, in make test): a fixed seed and a fixed number of
# runs per target, so a tree that passed once passes again (SECONDS is then
# only a cap for a very slow machine).
set -u
t=$1; secs=$2; work=$3; mode=${4:-}
o=${FUZZ_O:-build-fuzz}
bin=$o/fuzz_$t
case $t in
  read|rewrite) len=131072;; classify) len=4096;; rules) len=32768;; *) len=16384;;
esac
opts="-max_len=$len -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1"
mkdir -p "$work" "$o/crash/$t"
if ls tests/fuzz/regress/"$t"/* >/dev/null 2>&1; then
  n=$(ls tests/fuzz/regress/"$t" | wc -l)
  if ! "$bin" $opts tests/fuzz/regress/"$t"/* > "$o/crash/$t/regress.log" 2>&1; then
    tail -40 "$o/crash/$t/regress.log"
    echo "fuzz: $t: a regression input fails (tests/fuzz/regress/$t)"
    exit 1
  fi
  echo "fuzz: $t: $n regression inputs pass"
fi
dict=
[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
if [ "$mode" = quick ]; then
  # about 15-25 s each on this project's VM (seeds included in the count)
  case $t in
    classify) runs=150000;; config) runs=80000;; read) runs=8000;; *) runs=4000;;
  esac
  opts="$opts -seed=1 -runs=$runs"
fi
if ! "$bin" $opts -max_total_time="$secs" $dict -artifact_prefix="$o/crash/$t/" \
     "$work" "$o/seeds/$t" > "$o/crash/$t/run.log" 2>&1; then
  tail -60 "$o/crash/$t/run.log"
  echo "fuzz: $t: CRASH (input in $o/crash/$t/)"
  exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$o/crash/$t/run.log" | tail -1)
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$o/crash/$t/run.log" | tail -1)
if [ "$mode" = quick ]; then
  echo "fuzz: $t: seed 1, ${execs:-?} executions, peak RSS ${rss:-?} MB, no crash"
else
  echo "fuzz: $t: ${secs}s, ${execs:-?} executions, peak RSS ${rss:-?} MB, no crash"
fi
