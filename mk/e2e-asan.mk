# mk/e2e-asan.mk -- the Exim end-to-end suite with a sanitized plugin
# (auto-included by the Makefile).
#
#   make e2e-asan    build build-asan/bounceguide.so (-fsanitize=address,
#                    undefined, the unit-asan flags) and run tests/e2e under
#                    it inside the real exim (tests/e2e/run-asan.sh): fails
#                    on a failed case or on any ASan/UBSan report, which it
#                    prints. BG_E2E_ARGS picks cases (run.py arguments).

.PHONY: e2e-asan

e2e-asan: all
	$(MAKE) --no-print-directory O=build-asan SAN=1 OPT=-O1 build-asan/bounceguide.so
	sh tests/e2e/run-asan.sh $(BG_E2E_ARGS)
