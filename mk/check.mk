# mk/check.mk -- what make check and make test build before their suites
# run (auto-included by the Makefile; the suites are listed in tests/suites
# and run by tests/run-all.sh).
#
#   make check-build   the plugin, the CLI and the unit-test binaries
#   make test-build    check-build plus every other suite's build: the
#                      planted valgrind .so, the fuzzers, the phone check's
#                      sample renderer, the ASan+UBSan
#                      unit tests and CLI (build-asan), the ASan+UBSan plugin
#                      for e2e-asan (build-asan/e2e)
#
# run-all.sh runs two suites side by side; they share build/ and
# build-asan/, so everything they would build is built here first, once,
# with -j2. A new suite that builds into a shared directory adds its build
# to test-build. (Recipes, not prerequisites: the variables come from
# mk/*.mk files read after this one.)

.PHONY: check-build test-build unit-bins

unit-bins: $(TEST_BIN) $(CLI)

check-build: all unit-bins

test-build: check-build
	$(MAKE) --no-print-directory $(VG_PLANT_SO) $(FUZZ_BIN) $(O)/phone-samples
	$(MAKE) --no-print-directory O=build-asan SAN=1 OPT=-O1 unit-bins
	$(MAKE) --no-print-directory O=$(E2E_SAN_O) SAN=1 OPT=-O1 \
	  CFLAGS=-fsanitize-undefined-trap-on-error $(E2E_SAN_O)/bounceguide.so
