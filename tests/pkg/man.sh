#!/bin/sh
# tests/pkg/man.sh -- the man pages render without a single warning, and
# bounceguide.conf(5) documents every option of conf/bounceguide.conf.
#
#   sh tests/pkg/man.sh
#
# 1. groff -ww -man -z on each page in man/: any output is a failure.
# 2. man -l (man-db, with groff warnings on) renders each page: non-empty
#    output and nothing on stderr.
# 3. Every option set or shown commented in conf/bounceguide.conf (lines
#    "key = value" or "#key = value") appears in man/bounceguide.conf.5: an
#    option tag line (.B key) for plain keys, the text for dotted examples
#    such as suppress.mailbox-full. The check is first run on a copy of the
#    page with one option taken out, which it must reject.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
fail=0
W=$(mktemp -d /tmp/bg-man.XXXXXX)
trap 'rm -rf "$W"' EXIT

for page in man/*.[0-9]; do
    if ! groff -ww -man -z "$page" > "$W/groff.out" 2>&1 || [ -s "$W/groff.out" ]; then
        echo "man: FAIL: groff -ww -man -z $page:"; sed 's/^/    /' "$W/groff.out"; fail=1
    fi
    if command -v man >/dev/null; then
        if ! LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings=w -l "$page" \
                > "$W/man.out" 2> "$W/man.err" || [ -s "$W/man.err" ] || [ ! -s "$W/man.out" ]; then
            echo "man: FAIL: man -l $page:"; sed 's/^/    /' "$W/man.err"; fail=1
        fi
    else
        echo "man: FAIL: man-db is not installed (tools/deps.sh)"; fail=1
    fi
done

# options_missing PAGE: print the options of conf/bounceguide.conf PAGE lacks
options_missing() {
    sed 's/\\-/-/g' "$1" > "$W/page.norm"
    sed -n 's/^#\{0,1\}\([a-z][a-z0-9_.-]*\)[ 	]*=.*/\1/p' conf/bounceguide.conf | sort -u |
    while read -r opt; do
        case "$opt" in
            *.*) grep -q -F "$opt" "$W/page.norm" || echo "$opt";;
            *)   grep -q -x -E "\\.B[IR]? \"?$opt\"?" "$W/page.norm" || echo "$opt";;
        esac
    done
}

n=$(sed -n 's/^#\{0,1\}\([a-z][a-z0-9_.-]*\)[ 	]*=.*/\1/p' conf/bounceguide.conf | sort -u | wc -l)
[ "$n" -ge 20 ] || { echo "man: FAIL: only $n options found in conf/bounceguide.conf (pattern broken?)"; fail=1; }

# the check must be able to fail: take max_size out of a copy
grep -v '^\.B max_size$' man/bounceguide.conf.5 > "$W/broken.5"
if ! options_missing "$W/broken.5" | grep -qx max_size; then
    echo "man: FAIL: the option check does not notice a missing option"; fail=1
fi

missing=$(options_missing man/bounceguide.conf.5)
if [ -n "$missing" ]; then
    echo "man: FAIL: options of conf/bounceguide.conf missing from man/bounceguide.conf.5:" $missing; fail=1
fi

[ "$fail" = 0 ] && echo "man: ok ($(ls man/*.[0-9] | wc -l) pages, no groff warnings; $n options of conf/bounceguide.conf all in bounceguide.conf(5))"
exit "$fail"
