# bounceguide -- Exim bounce enrichment and per-domain suppression.
#
#   make            build build/bounceguide.so (for Exim) and build/bounceguide (CLI)
#   make deps       install the Debian packages the build and the tests need
#   make check      the edit loop: build, unit tests, exports, corpus score,
#                   golden files (under a minute; no root, no apt)
#   make test       every suite of tests/suites (CI): check's, ASan+UBSan,
#                   Valgrind, fuzz, real-Exim end-to-end, Debian 13, .deb, soak
#   make demo       show the product on sample bounces
#   make bench      throughput and memory figures
#
# Layout: plugin/bg_*.c is the pure-C core (no Exim), except plugin/bg_exim*.c
# (the Exim adapter, only in the .so) and plugin/bg_cli*.c (the command).

CC       ?= gcc
O        ?= build
SAN      ?=
OPT      ?= -O2
CFLAGS_W  = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -Iinclude -I$(O)/gen -D_GNU_SOURCE -DBG_TOP=\"$(CURDIR)\"
CFLAGS   ?=
ALLCFLAGS = -std=gnu11 $(OPT) -g $(CFLAGS_W) -fPIC -fvisibility=hidden $(CFLAGS)
ifeq ($(SAN),1)
ALLCFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANLD     = -fsanitize=address,undefined
endif
# libopendmarc is not linked: bg_dmarc opens it when a bounce needs it.
LDLIBS    = -lsqlite3 -lspf2 -lresolv -lm

EXIM_SRC  = $(wildcard plugin/bg_exim*.c)
CLI_SRC   = $(wildcard plugin/bg_cli*.c)
CORE_SRC  = $(filter-out $(EXIM_SRC) $(CLI_SRC),$(wildcard plugin/bg_*.c))
EMBED     = $(sort $(wildcard conf/rules.conf conf/guidance/*.conf))
GEN_SRC   = $(O)/gen/bg_embedded.c

CORE_OBJ  = $(patsubst plugin/%.c,$(O)/obj/%.o,$(CORE_SRC)) $(O)/obj/bg_embedded.o
EXIM_OBJ  = $(patsubst plugin/%.c,$(O)/obj/%.o,$(EXIM_SRC))
CLI_OBJ   = $(patsubst plugin/%.c,$(O)/obj/%.o,$(CLI_SRC))
TEST_SRC  = $(wildcard tests/unit/test_*.c)
TEST_BIN  = $(patsubst tests/unit/%.c,$(O)/tests/%,$(TEST_SRC))
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)

SO  = $(O)/bounceguide.so
CLI = $(O)/bounceguide
LIB = $(O)/libbgcore.a

.PHONY: all deps check test unit unit-asan corpus e2e demo bench fuzz clean check-exports
all: $(SO) $(CLI)

$(O)/obj/%.o: plugin/%.c $(wildcard include/*.h) | $(O)/obj $(O)/gen/bg_embedded.h
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

$(O)/obj/bg_embedded.o: $(GEN_SRC) | $(O)/obj
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<

$(GEN_SRC) $(O)/gen/bg_embedded.h &: $(EMBED) tools/embed.sh | $(O)/gen
	sh tools/embed.sh $(O)/gen $(EMBED)

$(LIB): $(CORE_OBJ)
	rm -f $@; ar rcs $@ $^

# The built-in rules compiled at build time, and the catalogues' section
# index (tools/rulesgen.c): linked into
# the .so, the CLI and the unit tests; without it the core parses the text.
IMAGE = $(O)/obj/bg_rules_image.o
$(O)/rulesgen: tools/rulesgen.c $(LIB) plugin/bg_rules_int.h plugin/bg_catalog_int.h
	$(CC) $(CPPFLAGS) -Iplugin $(ALLCFLAGS) -o $@ $< $(LIB) $(SANLD) $(LDLIBS)

$(O)/gen/bg_rules_image.c: $(O)/rulesgen
	$(O)/rulesgen $@ $(patsubst conf/%,%,$(wildcard conf/guidance/*.conf))

$(IMAGE): $(O)/gen/bg_rules_image.c plugin/bg_rules_int.h plugin/bg_catalog_int.h | $(O)/obj
	$(CC) $(CPPFLAGS) -Iplugin $(ALLCFLAGS) -c -o $@ $<

# The Exim object: only the entry points in plugin/bounceguide.map are exported.
$(SO): $(EXIM_OBJ) $(IMAGE) $(LIB) plugin/bounceguide.map
	$(CC) -shared $(SANLD) -Wl,--version-script=plugin/bounceguide.map -o $@ $(EXIM_OBJ) $(IMAGE) $(LIB) $(LDLIBS)

$(CLI): $(CLI_OBJ) $(IMAGE) $(LIB)
	$(CC) $(SANLD) -o $@ $(CLI_OBJ) $(IMAGE) $(LIB) $(LDLIBS)

$(O)/tests/%: tests/unit/%.c $(IMAGE) $(LIB) $(wildcard tests/unit/*.h) | $(O)/tests
	$(CC) $(CPPFLAGS) -Itests/unit $(ALLCFLAGS) -Wno-unused-parameter -o $@ $< $(IMAGE) $(LIB) $(SANLD) -lcmocka $(LDLIBS)

$(O)/obj $(O)/gen $(O)/tests:
	mkdir -p $@

deps:
	sh tools/deps.sh

unit: $(TEST_BIN) $(CLI)
	sh tests/run-unit.sh $(O) $(TEST_BIN)

unit-asan:
	$(MAKE) O=build-asan SAN=1 OPT=-O1 unit

corpus: $(CLI)
	sh tests/corpus/run.sh $(CLI)

e2e: all
	sh tests/e2e/run.sh

# The suites are listed in tests/suites; tests/run-all.sh runs them, two
# side by side, after everything they need is built (mk/check.mk).
# check installs nothing (tools/deps.sh --check only names what is missing).
check:
	@sh tools/deps.sh --check || true
	$(MAKE) --no-print-directory -j2 check-build
	sh tests/run-all.sh --tier check

# test and demo install what they need first (tools/deps.sh is a no-op when
# everything is present), so they work on a fresh Debian 12 machine.
test:
	sh tools/deps.sh
	$(MAKE) --no-print-directory -j2 test-build
	sh tests/run-all.sh --tier test

demo:
	sh tools/deps.sh
	$(MAKE) --no-print-directory all
	sh tools/demo.sh

bench: all
	sh bench/run.sh

check-exports: $(SO)
	sh tools/check-exports.sh $(SO)

clean:
	rm -rf build build-asan build-fuzz

-include $(wildcard $(O)/obj/*.d)
# Each area may add its own targets in mk/AREA.mk (fuzz, bench, deb, ...).
-include $(wildcard mk/*.mk)
