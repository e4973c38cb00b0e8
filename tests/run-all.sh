#!/bin/sh
# make test / make check: the suites listed in tests/suites, each through
# its make target, its output in build/test-logs/NAME.log. "par" suites run
# two at a time (BG_JOBS), in the order listed; then the "alone" suites one
# by one with nothing beside them. One line per suite as it ends (its own
# summary line, or the tail of its log when it failed), a table of times,
# and "suites: N passed, M failed" at the end.
#
#   run-all.sh [--tier check|test] [NAME...]
#     --tier check   only the check tier (make check); test (default): all
#     NAME...        only these suites, whatever their tier
#   BG_SKIP="e2e asan"  skip some while developing (CI never sets it)
#   BG_JOBS=N           par suites at once (default 2: the machine has 2 cores)
#
# The Makefile builds everything first (check-build / test-build), so the
# suites' own make targets find their files made and never build the same
# file at once.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
tier=test
if [ "${1:-}" = "--tier" ]; then tier=${2:?--tier check|test}; shift 2; fi
only=" $* "
[ "$#" -gt 0 ] || only=""
jobs=${BG_JOBS:-2}
logs=$top/build/test-logs
rm -rf "$logs"; mkdir -p "$logs" || exit 1
# the suites' makes run with their own (serial) flags, not the caller's -j
unset MAKEFLAGS MFLAGS MAKELEVEL
MAKE=${MAKE:-make}
case "$MAKE" in */*) ;; *) MAKE=$(command -v "$MAKE" || echo make);; esac

# the suites to run, in order: "name lane lock target" per line
list=$logs/list
grep -v '^[[:space:]]*#' tests/suites | while read -r name t lane lock target; do
  [ -n "$name" ] || continue
  if [ -n "$only" ]; then
    case "$only" in *" $name "*) ;; *) continue;; esac
  elif [ "$tier" = check ] && [ "$t" != check ]; then
    continue
  fi
  echo "$name $lane $lock $target"
done > "$list"
if [ ! -s "$list" ]; then echo "run-all: no suite selected (tests/suites)"; exit 1; fi

pass=0; fail=0; skip=0; failed=""
t_all=$(date +%s)

start() { # start NAME LOCK TARGET: in the background, rc to $logs/NAME.rc
  local name=$1 lock=$2 target=$3
  date +%s > "$logs/$name.start"
  (
    if [ "$lock" = system ]; then
      flock /tmp/bg-system.lock "$MAKE" --no-print-directory "$target"
    else
      "$MAKE" --no-print-directory "$target"
    fi > "$logs/$name.log" 2>&1 < /dev/null
    echo $? > "$logs/$name.rc.tmp"; mv "$logs/$name.rc.tmp" "$logs/$name.rc"
  ) &
}

finish() { # finish NAME: report a suite whose rc file exists
  local name=$1 rc d last
  rc=$(cat "$logs/$name.rc"); rm -f "$logs/$name.rc"
  d=$(( $(date +%s) - $(cat "$logs/$name.start") ))
  echo "$name $d $rc" >> "$logs/times"
  last=$(grep -v '^[[:space:]]*$' "$logs/$name.log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    pass=$((pass+1))
    echo "== $name: ok (${d} s) -- $last"
  else
    fail=$((fail+1)); failed="$failed $name"
    echo "== $name: FAILED (exit $rc, ${d} s); last lines of build/test-logs/$name.log:"
    tail -n 60 "$logs/$name.log" | sed 's/^/   | /'
  fi
}

skipped() {
  case " ${BG_SKIP:-} " in *" $1 "*) echo "== $1: skipped (BG_SKIP)"; skip=$((skip+1)); return 0;; esac
  return 1
}

running=""
reap() { # reap: report the suites that ended; $running keeps the others
  local n still=""
  for n in $running; do
    if [ -f "$logs/$n.rc" ]; then finish "$n"; else still="$still $n"; fi
  done
  running=$still
}
count() { set -- $running; echo $#; }

# the par suites, $jobs at a time
while read -r name lane lock target; do
  [ "$lane" = par ] || continue
  skipped "$name" && continue
  while [ "$(count)" -ge "$jobs" ]; do sleep 1; reap; done
  echo "-- $name: started ($target)"
  start "$name" "$lock" "$target"
  running="$running $name"
done < "$list"
while [ -n "$running" ]; do sleep 1; reap; done
wait

# the alone suites, one by one
while read -r name lane lock target; do
  [ "$lane" = alone ] || continue
  skipped "$name" && continue
  echo "-- $name: started alone ($target)"
  start "$name" "$lock" "$target"
  wait
  finish "$name"
done < "$list"

total=$(( $(date +%s) - t_all ))
echo "-- times (s): $(awk '{printf "%s%s %d", sep, $1, $2; sep=", "}' "$logs/times" 2>/dev/null); wall ${total} s"
if [ "$skip" -gt 0 ]; then sk=", $skip skipped"; else sk=""; fi
echo "suites: $pass passed, $fail failed$sk"
[ -z "$failed" ] || echo "failed:$failed (logs in build/test-logs/)"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
