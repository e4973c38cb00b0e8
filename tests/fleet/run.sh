#!/bin/sh
# make test-fleet: two private Exim daemons sharing one suppression list on
# a real PostgreSQL (tests/fleet/test_fleet.py through the e2e runner).
# Needs build/bounceguide.so and build/bounceguide (make all), Debian's
# exim4-daemon-heavy and postgresql (tools/deps.sh). Extra arguments go to
# the runner (-k SUBSTRING).
set -u
cd "$(dirname "$0")/../.."
for f in build/bounceguide.so build/bounceguide; do
  [ -f "$f" ] || { echo "fleet: $f missing (run make)"; echo "e2e: 0 passed, 1 failed"; exit 1; }
done
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "fleet: Debian's postgresql is not installed (tools/deps.sh)"; echo "e2e: 0 passed, 1 failed"; exit 1
fi
PATH=$PATH:/usr/sbin exec python3 tests/e2e/run.py "$@" tests/fleet/test_fleet.py
