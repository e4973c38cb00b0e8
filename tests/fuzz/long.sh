#!/bin/sh
# Long fuzz runs, one target after the other (the machine is shared), with
# the figures tests/fuzz/README.md records: executions (libFuzzer's final
# stats), CPU time (user + system, /usr/bin/time), peak RSS, crashes.
# The work corpus (build-fuzz/work/TARGET) is kept between runs, so runs
# add up. Crash inputs land in build-fuzz/crash/TARGET/.
# usage: long.sh [SECONDS] [TARGET...]   (default 600; all targets)
#        (after make fuzz-seeds and the build-fuzz/fuzz_* binaries)
set -u
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-read classify rewrite rules config}
o=${FUZZ_O:-build-fuzz}
res=$o/long-results.md
len() {
  case $1 in read|rewrite) echo 131072;; classify) echo 4096;; rules) echo 32768;; *) echo 16384;; esac
}
echo "| target | wall s | execs | execs per CPU s | CPU time (user+sys) | peak RSS MB | crashes |" >> "$res"
echo "|---|---|---|---|---|---|---|" >> "$res"
fail=0
for t in $targets; do
  bin=$o/fuzz_$t
  mkdir -p "$o/work/$t" "$o/crash/$t"
  dict=; [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  log=$o/crash/$t/long.log
  echo "fuzz-long: $t for ${secs}s ($(date -u +%H:%M:%S))"
  /usr/bin/time -f "TIME %U %S %e %M" -o "$o/crash/$t/time" \
    "$bin" -max_total_time="$secs" -max_len="$(len "$t")" -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -print_final_stats=1 $dict -artifact_prefix="$o/crash/$t/" \
      "$o/work/$t" "$o/seeds/$t" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  set -- $(sed -n 's/^TIME //p' "$o/crash/$t/time")
  cpu=$(echo "$1 $2" | awk '{printf "%.0f s", $1 + $2}')
  crashes=0
  if [ $rc -ne 0 ]; then
    crashes=$(ls "$o/crash/$t" | grep -c -E '^(crash|leak|timeout|oom)-')
    [ "$crashes" -eq 0 ] && crashes="rc=$rc"
    fail=1
    tail -30 "$log"
  fi
  rate=$(echo "${execs:-0} $1 $2" | awk '{c = $2 + $3; printf "%.0f", (c > 0) ? $1 / c : 0}')
  echo "| $t | ${3%.*} | ${execs:-?} | $rate | $cpu | ${rss:-?} | $crashes |" | tee -a "$res"
done
echo "fuzz-long: table appended to $res"
exit $fail
