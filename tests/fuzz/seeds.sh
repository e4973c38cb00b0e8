#!/bin/sh
# Seed corpora for the fuzz targets, one directory per target, rebuilt at
# run time (nothing here is committed but the small hand-made seeds in
# tests/fuzz/seeds/TARGET/).
#   read, rewrite  every corpus message (and the not-bounces), CRLF and
#                  CR-only copies of a few, tests/golden and e2e fixtures
#   classify       "STATUS TYPE ACTION PARSER MTA" + diagnostic, from the
#                  corpus's Diagnostic-Code lines and Exim's "SMTP error"
#                  lines
#   rules          conf/rules.conf, each of its rules alone, hand-made
#                  admin files
#   config         conf/bounceguide.conf, tests' .conf files, hand-made
# usage: seeds.sh OUTDIR CORPUS   (CORPUS = ../shared/corpus/sisimai)
set -eu
out=$1
corpus=$2
here=tests/fuzz
rm -rf "$out"
for t in read rewrite classify rules config; do
  mkdir -p "$out/$t"
  if [ -d "$here/seeds/$t" ]; then cp "$here/seeds/$t"/* "$out/$t/" 2>/dev/null || true; fi
done

# messages
for f in "$corpus"/eml/*.eml "$corpus"/not-bounce/*.eml tests/golden/*.eml tests/e2e/fixtures/*.eml; do
  [ -f "$f" ] || continue
  d=${f%/*}
  cp "$f" "$out/read/${d##*/}-${f##*/}"
done
for f in "$corpus"/eml/lhost-exim-0*.eml "$corpus"/eml/lhost-postfix-0[1-5].eml; do
  [ -f "$f" ] || continue
  b=${f##*/}
  sed 's/\r$//; s/$/\r/' "$f" > "$out/read/crlf-$b"
  tr -d '\r' < "$f" | tr '\n' '\r' > "$out/read/cr-$b"
done
cp "$out"/read/* "$out/rewrite/"

# classifier lines: Diagnostic-Code values (with the Status of the same
# file) and Exim's transport texts
n=0
for f in "$corpus"/eml/*.eml; do
  [ -f "$f" ] || continue
  st=$(grep -m1 -i '^Status:' "$f" | sed 's/^[^:]*: *//; s/[[:space:]].*//' | tr -d '\r')
  grep -i -h -e '^Diagnostic-Code:' -e 'SMTP error from' "$f" 2>/dev/null | tr -d '\r' | head -3 |
  while IFS= read -r line; do
    n=$((n + 1))
    diag=$(printf '%s' "$line" | sed 's/^[Dd]iagnostic-[Cc]ode: *//; s/^smtp; *//')
    printf '%s smtp failed dsn mx.example.net\n%s' "${st:-5.0.0}" "$diag" \
      > "$out/classify/$(echo "${f##*/}" | tr '.' '_')-$n"
  done
done

# rules: the whole file and each rule on its own
cp conf/rules.conf "$out/rules/rules.conf"
awk -v d="$out/rules" '/^rule /{n++} n>0{print > (d "/rule-" n)}' conf/rules.conf

# config
cp conf/bounceguide.conf "$out/config/bounceguide.conf"
for f in tests/golden/*.conf; do
  [ -f "$f" ] && cp "$f" "$out/config/golden-${f##*/}"
done
for t in read rewrite classify rules config; do
  echo "fuzz-seeds: $t: $(ls "$out/$t" | wc -l) seeds"
done
