# mk/e2e-asan.mk -- the Exim end-to-end suite with a sanitized plugin
# (auto-included by the Makefile).
#
#   make e2e-asan    build build-asan/e2e/bounceguide.so and run tests/e2e
#                    with it inside the real exim (tests/e2e/run-asan.sh):
#                    fails on a failed case or on any ASan/UBSan report,
#                    which it prints. BG_E2E_ARGS picks cases (run.py's
#                    arguments: -k SUBSTRING, module paths).
#
# The .so has unit-asan's flags (SAN=1: -fsanitize=address,undefined
# -fno-sanitize-recover=undefined, OPT=-O1) plus
# -fsanitize-undefined-trap-on-error: inside Exim libubsan cannot write its
# reports to a file, so a failed UBSan check traps and ASan reports the
# SIGILL with its stack in its log. Own objects (O=build-asan/e2e) so that
# unit-asan's keep libubsan's messages.

E2E_SAN_O = build-asan/e2e

.PHONY: e2e-asan

e2e-asan: all
	$(MAKE) --no-print-directory O=$(E2E_SAN_O) SAN=1 OPT=-O1 \
	  CFLAGS=-fsanitize-undefined-trap-on-error $(E2E_SAN_O)/bounceguide.so
	sh tests/e2e/run-asan.sh $(BG_E2E_ARGS)
