#!/bin/sh
# Score `bounceguide classify --json` on the labelled corpus in ../shared
# and fail when a figure drops below the floors of issue 2.
set -u
cli=$1
top=$(pwd)
corpus=${BG_CORPUS:-$top/../shared/corpus}
if [ ! -d "$corpus/sisimai/eml" ]; then
  echo "corpus: $corpus not found (set BG_CORPUS)"; exit 1
fi
out=${TMPDIR:-/tmp}/bg-corpus.$$.jsonl
"$cli" classify --json "$corpus"/sisimai/eml/*.eml > "$out" 2>/dev/null
line=$(python3 "$corpus/score.py" "$out" | tail -1)
rm -f "$out"
echo "corpus: $line"
python3 - "$line" <<'PY'
import sys
fig = dict(kv.split("=") for kv in sys.argv[1].split())
floors = {"recipients_found": 99.0, "category_agree": 95.0, "hard_recall": 98.0}
bad = [k for k, v in floors.items() if float(fig[k]) < v]
if float(fig["false_suppress"]) > 0.0:
    bad.append("false_suppress")
print("corpus floors: %s" % ("ok" if not bad else "BELOW on " + ", ".join(bad)))
sys.exit(1 if bad else 0)
PY
