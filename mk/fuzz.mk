# make fuzz / make fuzz-quick: libFuzzer over the core (tests/fuzz/fuzz_*.c),
# clang with ASan+UBSan, one target at a time (the machine is shared).
#
# Targets: read (bg_bounce_read), classify (bg_classify_*), rewrite (read +
# classify + bg_render + bg_render_apply, with property checks), rules
# (bg_rules_parse), config (bg_config_parse). Each has its own seed
# directory, built at run time into build-fuzz/seeds/TARGET from
# ../shared/corpus, conf/ and the tests (never committed), plus the small
# hand-made seeds in tests/fuzz/seeds/TARGET. Crash reproducers are kept in
# tests/fuzz/regress/TARGET and always run first.
#
#   make fuzz                  every target for FUZZ_SECS (600) seconds
#   make fuzz FUZZ_SECS=60 FUZZ_TARGETS="rewrite"
#   make fuzz-quick            regressions, then a fixed run (seed 1) per target over its
#                              seeds; fails on any crash (part of make test)
#   make fuzz-long             sh tests/fuzz/long.sh: long runs, figures
#                              for tests/fuzz/README.md
#   make robust                the ASan CLI over corpus variants and junk
FUZZ_O       ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECS    ?= 600
# fuzz-quick's time cap per target; the run itself is a fixed seed and count (run.sh)
FUZZ_QUICK   ?= 120
FUZZ_TARGETS ?= read classify rewrite rules config
FUZZ_CORPUS  ?= $(CURDIR)/../shared/corpus/sisimai
FUZZ_FLAGS    = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -Iinclude -I$(FUZZ_O)/gen -D_GNU_SOURCE -DBG_TOP=\"$(CURDIR)\"
FUZZ_OBJ      = $(patsubst plugin/%.c,$(FUZZ_O)/obj/%.o,$(CORE_SRC)) $(FUZZ_O)/obj/bg_embedded.o
FUZZ_BIN      = $(patsubst %,$(FUZZ_O)/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_O)/obj/%.o: plugin/%.c $(wildcard include/*.h) | $(FUZZ_O)/obj $(FUZZ_O)/gen/bg_embedded.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_O)/gen/bg_embedded.c $(FUZZ_O)/gen/bg_embedded.h &: $(EMBED) tools/embed.sh | $(FUZZ_O)/gen
	sh tools/embed.sh $(FUZZ_O)/gen $(EMBED)

$(FUZZ_O)/obj/bg_embedded.o: $(FUZZ_O)/gen/bg_embedded.c | $(FUZZ_O)/obj
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_O)/libbgcore.a: $(FUZZ_OBJ)
	rm -f $@; ar rcs $@ $^

$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_O)/libbgcore.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wall -Wextra -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_O)/libbgcore.a $(LDLIBS)

$(FUZZ_O)/obj $(FUZZ_O)/gen:
	mkdir -p $@

# Seeds, one directory per target (see tests/fuzz/seeds.sh).
fuzz-seeds: | $(FUZZ_O)/obj
	sh tests/fuzz/seeds.sh $(FUZZ_O)/seeds $(FUZZ_CORPUS)

# Each target: its regressions first, then fuzzing (tests/fuzz/run.sh).
# Crash inputs land in build-fuzz/crash/TARGET/ (once fixed, keep a minimal
# one in tests/fuzz/regress/TARGET/).
fuzz: $(FUZZ_BIN) fuzz-seeds
	@for t in $(FUZZ_TARGETS); do \
	  FUZZ_O=$(FUZZ_O) sh tests/fuzz/run.sh $$t $(FUZZ_SECS) $(FUZZ_O)/work/$$t || exit 1; done

# Fast version for make test: a fresh work directory each time, the seeds
# themselves and then a fixed number of mutations from a fixed seed (the
# same tree gives the same run, so make test is repeatable).
fuzz-quick: $(FUZZ_BIN) fuzz-seeds
	@rm -rf $(FUZZ_O)/quick; for t in $(FUZZ_TARGETS); do \
	  FUZZ_O=$(FUZZ_O) sh tests/fuzz/run.sh $$t $(FUZZ_QUICK) $(FUZZ_O)/quick/$$t quick || exit 1; done; \
	echo "fuzz-quick: $(words $(FUZZ_TARGETS)) targets, regressions pass, no crash"

fuzz-long: $(FUZZ_BIN) fuzz-seeds
	FUZZ_O=$(FUZZ_O) sh tests/fuzz/long.sh $(FUZZ_SECS) $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-quick fuzz-long fuzz-seeds

# make robust: the ASan+UBSan CLI over the corpus and its CRLF, CR-only,
# truncated and junk variants (tests/corpus/robust.sh).
robust:
	$(MAKE) --no-print-directory O=build-asan SAN=1 OPT=-O1 build-asan/bounceguide
	sh tests/corpus/robust.sh build-asan/bounceguide

.PHONY: robust
