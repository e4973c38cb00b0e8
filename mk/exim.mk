# mk/exim.mk -- Exim adapter targets (auto-included by the Makefile).
#
#   make e2e-exim       only the adapter's end-to-end modules
#   build/bench_exim_core   in-process timing of the adapter's core path
#                       (bench/bench_exim.sh builds and runs it)

.PHONY: e2e-exim

$(O)/bench_exim_core: bench/bench_exim_core.c $(IMAGE) $(LIB)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -o $@ $< $(IMAGE) $(LIB) $(SANLD) $(LDLIBS)

e2e-exim: all
	sh tests/e2e/run.sh tests/e2e/test_harness.py tests/e2e/test_enrich.py \
	  tests/e2e/test_faults.py tests/e2e/test_install.py
