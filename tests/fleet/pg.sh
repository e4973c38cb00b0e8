#!/bin/sh
# A private PostgreSQL for the tests, the demo and the benches: Debian's
# postgresql package, a data directory inside DIR, listening on a unix
# socket in DIR only (no TCP), run as an unprivileged user (postgres when
# called by root, else the caller).
#
#   pg.sh start DIR    start it (DIR is made); prints the libpq conninfo
#   pg.sh stop DIR     a fast shutdown (waits for it)
#   pg.sh kill DIR     an immediate shutdown (like a crash: no checkpoint)
#   pg.sh psql DIR ... psql on its database
#
# The database is "bounceguide", owned by the role "bounceguide" (not a
# superuser). The first start makes a template cluster (initdb, about 5 s
# on a loaded 2-core machine) under $BG_PG_TEMPLATE (default
# /var/tmp/bounceguide-pg-template-UID-VERSION); later starts copy it.
# Several instances may run at once (each its own DIR and socket).
set -eu
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pg.sh start|stop|kill|psql DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/postgres" ] || { echo "pg.sh: Debian's postgresql is not installed (tools/deps.sh)" >&2; exit 1; }
ver=$(basename "$(dirname "$bin")")
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as() { runuser -u postgres -- "$@"; }
else
  owner=$(id -un)
  as() { "$@"; }
fi
data=$dir/data

case $cmd in
start)
  tpl=${BG_PG_TEMPLATE:-/var/tmp/bounceguide-pg-template-$(id -u)-$ver}
  if [ ! -f "$tpl/ready" ]; then
    ( flock 9
      if [ ! -f "$tpl/ready" ]; then
        rm -rf "$tpl"; mkdir -p "$tpl"; chown "$owner" "$tpl"; chmod 700 "$tpl"
        as "$bin/initdb" -N -D "$tpl/data" -A trust -E UTF8 --no-locale -U bg >"$tpl/initdb.log" 2>&1
        as "$bin/pg_ctl" -D "$tpl/data" -o "-c listen_addresses= -k $tpl" -l "$tpl/log" -w start >/dev/null
        as "$bin/psql" -qAt -h "$tpl" -U bg -d postgres \
          -c "CREATE ROLE bounceguide LOGIN" -c "CREATE DATABASE bounceguide OWNER bounceguide" >/dev/null
        as "$bin/pg_ctl" -D "$tpl/data" -m fast -w stop >/dev/null
        touch "$tpl/ready"
      fi
    ) 9>"$tpl.lock"
  fi
  mkdir -p "$dir"; chmod 755 "$dir"; chown "$owner" "$dir"
  if [ ! -d "$data" ]; then
    cp -a "$tpl/data" "$data"
    chown -R "$owner" "$data"; chmod 700 "$data"
  fi
  as "$bin/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 \
    -o "-c listen_addresses= -k $dir -c max_connections=60 -c shared_buffers=${BG_PG_SHARED_BUFFERS:-32MB} -c fsync=${BG_PG_FSYNC:-on}" \
    start >/dev/null
  echo "host=$dir dbname=bounceguide user=bounceguide"
  ;;
stop)
  [ -f "$data/postmaster.pid" ] && as "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
  ;;
kill)
  [ -f "$data/postmaster.pid" ] && as "$bin/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null || true
  ;;
psql)
  shift 2
  exec "$bin/psql" -X -qAt -h "$dir" -U bounceguide -d bounceguide "$@"
  ;;
*)
  echo "pg.sh: unknown command $cmd" >&2; exit 2
  ;;
esac
