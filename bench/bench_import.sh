#!/bin/sh
# make bench: `bounceguide suppress import` of a large CSV -- its peak
# memory (maximum resident set size, /usr/bin/time -v) and time, checking
# only (--dry-run) and writing, for a file of BG_BENCH_IMPORT_MB (200) MB:
# an ESP-style export (address,code,error,created_at,sending_domain),
# about 160 bytes a row. The import streams the file twice through a
# 64 KiB buffer, so the memory should not grow with the file (the issue's
# bound: about 64 MB; the code before it held every row: 2.3 GB for
# 20 MB). Figures only, nothing asserted.
set -eu
O=${O:-build}
MB=${BG_BENCH_IMPORT_MB:-200}
T=$(mktemp -d /tmp/bg_bench_import.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
command -v /usr/bin/time >/dev/null || { echo "import: /usr/bin/time missing (package time)"; exit 0; }
python3 - "$T/big.csv" "$MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
limit = mb * 1024 * 1024
with open(path, "w") as f:
    f.write("address,code,error,created_at,sending_domain\n")
    size, i = 0, 0
    while size < limit:
        line = ('user%d@example%d.net,550,"550 5.1.1 <user%d@example%d.net>: Recipient address '
                'rejected: User unknown in virtual mailbox table",2026-11-01T10:00:00Z,example.com\n'
                % (i, i % 1000, i, i % 1000))
        f.write(line)
        size += len(line)
        i += 1
print("import: %d MB, %d rows" % (mb, i))
PY
measure() { # label, then the command
    label=$1; shift
    /usr/bin/time -v "$@" > "$T/out" 2> "$T/time" || { tail -5 "$T/time"; return 0; }
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time")
    echo "import: $label: max RSS $((rss / 1024)) MB, wall $wall ($(tail -1 "$T/out"))"
}
measure "check only (--dry-run)" $O/bounceguide suppress import "$T/big.csv" --dry-run --db "$T/s.db"
measure "from stdin (--dry-run)" sh -c "$O/bounceguide suppress import - --dry-run --db '$T/s.db' < '$T/big.csv'"
measure "into a new database" $O/bounceguide suppress import "$T/big.csv" --db "$T/s.db"
ls -l "$T/s.db" | awk '{printf "import: database %.0f MB\n", $5 / 1048576}'
