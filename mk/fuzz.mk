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
#   make fuzz-quick            regressions, then ~20 s per target over its
#                              seeds; fails on any crash (part of make test)
#   make fuzz-long             sh tests/fuzz/long.sh: long runs, figures
#                              for tests/fuzz/README.md
#   make robust                the ASan CLI over corpus variants and junk
FUZZ_O       ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECS    ?= 600
FUZZ_QUICK   ?= 20
FUZZ_TARGETS ?= read classify rewrite rules config
FUZZ_CORPUS  ?= $(CURDIR)/../shared/corpus/sisimai
FUZZ_FLAGS    = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -Iinclude -I$(FUZZ_O)/gen -D_GNU_SOURCE -DBG_TOP=\"$(CURDIR)\"
FUZZ_OBJ      = $(patsubst plugin/%.c,$(FUZZ_O)/obj/%.o,$(CORE_SRC)) $(FUZZ_O)/obj/bg_embedded.o
FUZZ_BIN      = $(patsubst %,$(FUZZ_O)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_RUNOPTS  = -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1

# per-target input bound (bytes)
FUZZ_LEN_read     = 131072
FUZZ_LEN_rewrite  = 131072
FUZZ_LEN_classify = 4096
FUZZ_LEN_rules    = 32768
FUZZ_LEN_config   = 16384

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

# One target: regressions first (each file run once), then fuzzing into
# build-fuzz/work/TARGET from the seeds. Crashes land in
# build-fuzz/crash/TARGET/ (copy them to tests/fuzz/regress/TARGET/).
# usage: $(call bg_fuzz_run,TARGET,SECONDS,WORKDIR)
define bg_fuzz_run
	@set -e; t=$(1); bin=$(FUZZ_O)/fuzz_$$t; mkdir -p $(3) $(FUZZ_O)/crash/$$t; \
	if ls tests/fuzz/regress/$$t/* >/dev/null 2>&1; then \
	  echo "fuzz: $$t: regressions"; \
	  $$bin $(FUZZ_RUNOPTS) -max_len=$(FUZZ_LEN_$(1)) tests/fuzz/regress/$$t/* >$(FUZZ_O)/crash/$$t/regress.log 2>&1 \
	    || { tail -40 $(FUZZ_O)/crash/$$t/regress.log; echo "fuzz: $$t: a regression input fails"; exit 1; }; fi; \
	dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	echo "fuzz: $$t for $(2)s"; \
	$$bin $(FUZZ_RUNOPTS) -max_len=$(FUZZ_LEN_$(1)) -max_total_time=$(2) $$dict \
	  -artifact_prefix=$(FUZZ_O)/crash/$$t/ $(3) $(FUZZ_O)/seeds/$$t >$(FUZZ_O)/crash/$$t/run.log 2>&1 \
	  || { tail -60 $(FUZZ_O)/crash/$$t/run.log; echo "fuzz: $$t: CRASH (see $(FUZZ_O)/crash/$$t/)"; exit 1; }; \
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' $(FUZZ_O)/crash/$$t/run.log | tr '\n' ' '; echo
endef

fuzz: $(FUZZ_BIN) fuzz-seeds
	$(foreach t,$(FUZZ_TARGETS),$(call bg_fuzz_run,$(t),$(FUZZ_SECS),$(FUZZ_O)/work/$(t))
	)

# Fast version for make test: a fresh work directory each time, so the run
# covers the seeds themselves and then mutates for the rest of the time.
fuzz-quick: $(FUZZ_BIN) fuzz-seeds
	rm -rf $(FUZZ_O)/quick
	$(foreach t,$(FUZZ_TARGETS),$(call bg_fuzz_run,$(t),$(FUZZ_QUICK),$(FUZZ_O)/quick/$(t))
	)
	@echo "fuzz-quick: $(words $(FUZZ_TARGETS)) targets, no crash"

fuzz-long: $(FUZZ_BIN) fuzz-seeds
	sh tests/fuzz/long.sh $(FUZZ_SECS)

.PHONY: fuzz fuzz-quick fuzz-long fuzz-seeds

# make robust: the ASan+UBSan CLI over the corpus and its CRLF, CR-only,
# truncated and junk variants (tests/corpus/robust.sh).
robust:
	$(MAKE) --no-print-directory O=build-asan SAN=1 OPT=-O1 build-asan/bounceguide
	sh tests/corpus/robust.sh build-asan/bounceguide

.PHONY: robust
