#!/bin/sh
# Bounces read and classified per second on one core over the corpus, peak
# memory, and -- where Debian's libsisimai-perl is installed -- Sisimai on
# the same files in the same run, with the ratio. Both figures are CPU time
# of the parsing work only (start-up and module loading excluded).
# Targets (issue 2): >= 20,000 bounces/s and >= 25 x Sisimai.
set -u
O=${O:-build}
corpus=${BG_CORPUS:-$(pwd)/../shared/corpus}/sisimai/eml
secs=${BENCH_SECS:-3}
if [ ! -d "$corpus" ]; then echo "bench_classify: $corpus not found"; exit 1; fi
make --no-print-directory -s "$O/bench_classify" >/dev/null || exit 1
n=$(ls "$corpus"/*.eml | wc -l)
line=$("$O/bench_classify" -t "$secs" "$corpus"/*.eml) || exit 1
echo "bounceguide: $line"
ours=$(echo "$line" | sed -n 's/.*bounces_per_s=\([0-9]*\).*/\1/p')
echo "bounceguide: $ours bounces/s on one core (target >= 20000)"
if perl -MSisimai -e 1 2>/dev/null; then
  # Sisimai->make over the same folder; CPU seconds of the call only
  s=$(perl -MSisimai -e '
      my ($u0, $s0) = times;
      my $n = 0; my $r = 0;
      for (1 .. 3) { my $v = Sisimai->make($ARGV[0]) || []; $r = scalar @$v; $n++; }
      my ($u1, $s1) = times;
      printf "%.3f %d %d %s\n", ($u1 - $u0) + ($s1 - $s0), $n, $r, $Sisimai::VERSION;' "$corpus")
  cpu=$(echo "$s" | cut -d' ' -f1); passes=$(echo "$s" | cut -d' ' -f2); res=$(echo "$s" | cut -d' ' -f3); ver=$(echo "$s" | cut -d' ' -f4)
  rss=""
  if [ -x /usr/bin/time ]; then
    rss=$(/usr/bin/time -f %M perl -MSisimai -e 'Sisimai->make($ARGV[0])' "$corpus" 2>&1 >/dev/null | tail -1)
  fi
  python3 - "$ours" "$cpu" "$passes" "$n" "$res" "$rss" "$ver" <<'PY'
import sys
ours, cpu, passes, n, res, rss, ver = sys.argv[1:8]
rate = int(passes) * int(n) / float(cpu) if float(cpu) > 0 else 0
ratio = float(ours) / rate if rate else 0
print("sisimai %s: %.0f bounces/s (%s results per pass)%s" % (
    ver, rate, res, (", peak_rss_kib=%s" % rss) if rss else ""))
print("ratio: %.1f x Sisimai (target >= 25)" % ratio)
PY
else
  echo "sisimai: not installed (apt-get install libsisimai-perl), no ratio"
fi
