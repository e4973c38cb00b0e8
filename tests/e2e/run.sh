#!/bin/sh
# make e2e: the Exim end-to-end suite (tests/e2e/test_*.py) against a real
# exim4 daemon in private sandboxes. Needs build/bounceguide.so (make all)
# and Debian's exim4-daemon-heavy (tools/deps.sh). Extra arguments go to
# run.py (-k SUBSTRING to pick cases, or module paths).
set -u
cd "$(dirname "$0")/../.."
if ! command -v exim4 >/dev/null 2>&1 && [ ! -x /usr/sbin/exim4 ]; then
  echo "e2e: exim4 not installed (run tools/deps.sh)"; echo "e2e: 0 passed, 1 failed"; exit 1
fi
if [ ! -f "${BG_SO:-build/bounceguide.so}" ]; then
  echo "e2e: ${BG_SO:-build/bounceguide.so} missing (run make)"; echo "e2e: 0 passed, 1 failed"; exit 1
fi
PATH=$PATH:/usr/sbin exec python3 tests/e2e/run.py "$@"
