# mk/fleet.mk -- a fleet of Exim hosts sharing one suppression list on
# PostgreSQL (issue 15; auto-included by the Makefile).
#
#   make test-fleet    two private Exim daemons and a real PostgreSQL
#                      (tests/fleet/pg.sh: initdb into a temp dir, a unix
#                      socket, no TCP), each host with its journal, replica
#                      and `bounceguide suppress sync` (tests/fleet/run.sh;
#                      BG_E2E_ARGS picks cases, BG_FLEET_OUTAGE the seconds
#                      PostgreSQL stays down, default 20)
#   make demo-fleet    the block learned on one host, enforced on the other
#                      (tools/demo-fleet.sh)
#
# Every directory and port is its own (temporary directories, free
# loopback ports, a socket in its own directory), so the suite runs beside
# any other; it needs only what make all builds (build/bounceguide.so,
# build/bounceguide), which test-build builds first.

.PHONY: test-fleet demo-fleet

test-fleet: all
	sh tests/fleet/run.sh $(BG_E2E_ARGS)

demo-fleet:
	sh tools/deps.sh
	$(MAKE) --no-print-directory all
	sh tools/demo-fleet.sh
