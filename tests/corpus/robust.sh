#!/bin/sh
# Robustness: run the ASan+UBSan CLI (`classify --json`) over every corpus
# message, its CRLF and CR-only variants, truncated halves and some junk
# (empty, whitespace, random bytes, a 40 MB message), and fail on any crash
# or sanitizer report. Unreadable input may exit 1; it must not crash.
# usage: robust.sh [CLI]   (default build-asan/bounceguide; build it with
#        make O=build-asan SAN=1 OPT=-O1 build-asan/bounceguide)
set -u
cli=${1:-build-asan/bounceguide}
top=$(pwd)
corpus=${BG_CORPUS:-$top/../shared/corpus}
if [ ! -x "$cli" ]; then echo "robust: $cli not built"; exit 1; fi
if [ ! -d "$corpus/sisimai/eml" ]; then echo "robust: $corpus not found (set BG_CORPUS)"; exit 1; fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-robust.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/lf" "$tmp/crlf" "$tmp/cr" "$tmp/cut" "$tmp/junk"
for f in "$corpus"/sisimai/eml/*.eml "$corpus"/sisimai/not-bounce/*.eml; do
  [ -f "$f" ] || continue
  b=${f##*/}
  cp "$f" "$tmp/lf/$b"
  sed 's/\r$//; s/$/\r/' "$f" > "$tmp/crlf/$b"
  tr -d '\r' < "$f" | tr '\n' '\r' > "$tmp/cr/$b"
  n=$(wc -c < "$f"); head -c $((n / 2)) "$f" > "$tmp/cut/$b"
done
: > "$tmp/junk/empty.eml"
printf ' \r\n\t\n' > "$tmp/junk/blank.eml"
head -c 65536 /dev/urandom > "$tmp/junk/random.eml"
{ printf 'Subject: '; head -c 1048576 /dev/zero | tr '\0' 'a'; printf '\n\nbody\n'; } > "$tmp/junk/longline.eml"
{ printf 'From: x@y\nContent-Type: multipart/mixed; boundary=b\n\n'; i=0
  while [ $i -lt 40 ]; do printf -- '--b\nContent-Type: multipart/mixed; boundary=b\n\n'; i=$((i+1)); done; } > "$tmp/junk/nested.eml"
{ cat "$corpus/sisimai/eml/lhost-exim-01.eml"; head -c 41943040 /dev/zero | tr '\0' 'x'; } > "$tmp/junk/huge.eml"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
files=0; bad=0
for d in lf crlf cr cut junk; do
  # batches keep the run short; each batch is one process
  ls "$tmp/$d" | sed "s|^|$tmp/$d/|" > "$tmp/list"
  files=$((files + $(wc -l < "$tmp/list")))
  xargs -n 100 sh -c '"$0" classify --json "$@" > /dev/null 2>> "'"$tmp/err.$d"'"; rc=$?; [ $rc -le 1 ] || echo "rc=$rc" >> "'"$tmp/err.$d"'"' "$cli" < "$tmp/list"
  if grep -qE 'rc=|Sanitizer|runtime error:|SUMMARY:' "$tmp/err.$d"; then
    bad=$((bad + 1))
    echo "robust: $d: crash or sanitizer report:"
    grep -E 'rc=|ERROR: |runtime error:|SUMMARY:' "$tmp/err.$d" | head -20
  fi
done
echo "robust: $files inputs (corpus LF, CRLF, CR-only, truncated, junk), $bad variant sets with problems"
[ "$bad" -eq 0 ]
