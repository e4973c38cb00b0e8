# mk/trixie.mk -- the project on Debian 13 "trixie" (auto-included).
#
#   make test-trixie   in a cached debootstrap'd trixie root (Exim 4.98):
#                      tools/deps.sh, build, the suites unit, exports,
#                      corpus, golden, e2e; make valgrind-exim; make deb
#                      (tests/run-trixie.sh; root; part of make test).
#                      Logs and the .deb for 13 in build/trixie/.
#                      BG_TRIXIE_ROOT=DIR (default /var/cache/bounceguide/trixie),
#                      BG_TRIXIE_REFRESH=DAYS between apt upgrades of it (1),
#                      BG_TRIXIE_SUITES="..." other suites of tests/suites.

.PHONY: test-trixie

test-trixie:
	sh tests/run-trixie.sh
