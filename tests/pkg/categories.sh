#!/bin/sh
# tests/pkg/categories.sh -- docs/categories.md is exactly what
# tools/gen-categories.py makes from the plugin's data today
# (plugin/bg_category.c, conf/rules.conf, conf/guidance/en.conf).
# On a difference: run `make docs` and commit docs/categories.md.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
T=$(mktemp /tmp/bg-categories.XXXXXX)
trap 'rm -f "$T"' EXIT
python3 tools/gen-categories.py > "$T" || { echo "categories: FAIL: tools/gen-categories.py failed"; exit 1; }
# the generator must see every category of the table (34 in the taxonomy)
n=$(grep -c '^## ' "$T")
rows=$(sed -n '/bg_categories\[\] = {/,/{NULL, NULL/p' plugin/bg_category.c | grep -c '^ *{"')
[ "$n" -eq "$rows" ] && [ "$n" -gt 0 ] \
    || { echo "categories: FAIL: generated $n sections for $rows rows of plugin/bg_category.c"; exit 1; }
if ! diff -u docs/categories.md "$T" > "$T.diff"; then
    echo "categories: FAIL: docs/categories.md differs from a fresh generation (make docs):"
    head -40 "$T.diff"; rm -f "$T.diff"; exit 1
fi
rm -f "$T.diff"
echo "categories: ok (docs/categories.md matches the data: $n categories)"
