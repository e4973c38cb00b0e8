#!/bin/sh
# bench_auth: time of one authentication diagnosis (SPF of envelope domain
# and HELO name with a two-level include chain, DMARC, the DKIM selector's
# key record, PTR + forward confirmation) on a direct host against a local
# nsd on 127.0.0.1, with a cold cache (a
# fresh process, as inside Exim where every message is its own process:
# includes loading the public suffix list) and a warm one (the same
# process again). Target: cold well under the 2 s default budget.
# Needs nsd (tools/deps.sh) and build/bounceguide (make).
set -u
cd "$(dirname "$0")/.."
BIN=build/bounceguide
NSD=$(command -v nsd || echo /usr/sbin/nsd)
if [ ! -x "$BIN" ] || [ ! -x "$NSD" ]; then
  echo "bench_auth: needs $BIN and nsd (make; tools/deps.sh)"; exit 0
fi
COLD_RUNS=${BG_BENCH_COLD:-30}
WARM_RUNS=${BG_BENCH_WARM:-2000}
dir=$(mktemp -d /tmp/bg-bench-auth-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nsd_pid=
cleanup() { [ -n "$nsd_pid" ] && kill "$nsd_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

head() { printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.bench.test. h.bench.test. 1 3600 600 86400 60\n@ IN NS ns.bench.test.\n' "$1"; }
{ head bench.test
  echo '@ IN TXT "v=spf1 include:_spf.relay.test include:_spf2.relay.test -all"'
  echo '_dmarc IN TXT "v=DMARC1; p=reject; aspf=s"'
  echo 'bounces IN TXT "v=spf1 include:_spf.relay.test -all"'
  echo 'mail IN A 192.0.2.10'
  echo 'mail IN TXT "v=spf1 a -all"'
  echo 's1._domainkey IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC0D0gdXpLKhCEMFmI/JHBkmYKoGOJENXURYVzQ3a05S08K6fCaPgILnHdjmahTpKcqbVnEJkpjNdO8Yg8TUbcakghJunaVDY//jiMN8JBtUUvXPf3RMVQZ2rbfvkvQzKDRjK2IROlGD6myfuEmHXcpU1k+wBiLf8PQIPiaccp/dQIDAQAB"'; } > "$dir/bench.test.zone"
{ head relay.test
  echo '_spf IN TXT "v=spf1 ip4:198.51.100.0/24 include:_spf3.relay.test ~all"'
  echo '_spf2 IN TXT "v=spf1 ip6:2001:db8::/32 a:out.relay.test -all"'
  echo '_spf3 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"'
  echo 'out IN A 203.0.113.77'; } > "$dir/relay.test.zone"
{ head 2.0.192.in-addr.arpa
  echo '10 IN PTR mail.bench.test.'; } > "$dir/rev.zone"
cat > "$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    zonesdir: "$dir"
    pidfile: "$dir/nsd.pid"
    xfrdfile: "$dir/xfrd.state"
    zonelistfile: "$dir/zone.list"
    logfile: "$dir/nsd.log"
    username: ""
    chroot: ""
    database: ""
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: bench.test
    zonefile: bench.test.zone
zone:
    name: relay.test
    zonefile: relay.test.zone
zone:
    name: 2.0.192.in-addr.arpa
    zonefile: rev.zone
EOF
"$NSD" -d -c "$dir/nsd.conf" >/dev/null 2>&1 &
nsd_pid=$!
args="--sender bounces.bench.test --from bench.test --ip 192.0.2.10 --helo mail.bench.test --topology direct --dkim-domain bench.test --dkim-selector s1 --dns-server 127.0.0.1:$port --budget 2000"
i=0
while [ $i -lt 50 ]; do
  $BIN diagnose $args >/dev/null 2>&1 && break
  sleep 0.1; i=$((i + 1))
done
if ! $BIN diagnose $args > "$dir/out.txt" 2>&1; then
  echo "bench_auth: no diagnosis from the local nsd:"; cat "$dir/out.txt"; exit 0
fi
grep -E '^- ' "$dir/out.txt" | cut -c1-110

# cold: a fresh process per run (its first diagnosis)
i=0; : > "$dir/cold"
while [ $i -lt "$COLD_RUNS" ]; do
  $BIN diagnose $args --repeat 2 | sed -n 's/^timing: cold \([0-9.]*\) ms.*/\1/p' >> "$dir/cold"
  i=$((i + 1))
done
# warm: one process, the same diagnosis again and again
$BIN diagnose $args --repeat "$WARM_RUNS" | grep '^timing:' > "$dir/warm"
sort -n "$dir/cold" | awk -v n="$COLD_RUNS" '
  { v[NR] = $1; s += $1 }
  END { printf "cold cache: median %.2f ms, p90 %.2f ms, max %.2f ms over %d processes (budget 2000 ms)\n",
        v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], NR }'
sed 's/^timing: cold [0-9.]* ms; warm /warm cache: /' "$dir/warm"
printf 'queries per cold diagnosis: %s\n' \
  "$($BIN diagnose $args --repeat 2 | sed -n 's/.*; \([0-9]*\) queries.*/\1/p')"
