# make fuzz: libFuzzer over the reader (tests/fuzz/fuzz_*.c), clang with
# ASan+UBSan, seeded at run time from the shared corpus (copied into
# build-fuzz/, never into git). FUZZ_SECS=600 by default. Also: make robust.
#   make fuzz FUZZ_SECS=60
FUZZ_O     ?= build-fuzz
FUZZ_CC    ?= clang
FUZZ_SECS  ?= 600
FUZZ_SEEDS ?= $(CURDIR)/../shared/corpus/sisimai
FUZZ_FLAGS  = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined -Iinclude -I$(FUZZ_O)/gen -D_GNU_SOURCE -DBG_TOP=\"$(CURDIR)\"
FUZZ_OBJ    = $(patsubst plugin/%.c,$(FUZZ_O)/obj/%.o,$(CORE_SRC)) $(FUZZ_O)/obj/bg_embedded.o
FUZZ_BIN    = $(patsubst tests/fuzz/%.c,$(FUZZ_O)/%,$(FUZZ_SRC))

$(FUZZ_O)/obj/%.o: plugin/%.c $(wildcard include/*.h) | $(FUZZ_O)/obj $(FUZZ_O)/gen/bg_embedded.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_O)/gen/bg_embedded.c $(FUZZ_O)/gen/bg_embedded.h: $(EMBED) tools/embed.sh | $(FUZZ_O)/gen
	sh tools/embed.sh $(FUZZ_O)/gen $(EMBED)

$(FUZZ_O)/obj/bg_embedded.o: $(FUZZ_O)/gen/bg_embedded.c | $(FUZZ_O)/obj
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_O)/libbgcore.a: $(FUZZ_OBJ)
	rm -f $@; ar rcs $@ $^

$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_O)/libbgcore.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_O)/libbgcore.a $(LDLIBS)

$(FUZZ_O)/obj $(FUZZ_O)/gen:
	mkdir -p $@

# Seeds: every corpus message, plus CRLF and CR-only copies of a few.
fuzz-seeds: | $(FUZZ_O)/obj
	rm -rf $(FUZZ_O)/seeds; mkdir -p $(FUZZ_O)/seeds $(FUZZ_O)/work
	cp $(FUZZ_SEEDS)/eml/*.eml $(FUZZ_SEEDS)/not-bounce/*.eml $(FUZZ_O)/seeds/ 2>/dev/null || true
	for f in $(FUZZ_SEEDS)/eml/lhost-exim-0*.eml; do \
	  sed 's/$$/\r/' "$$f" > $(FUZZ_O)/seeds/crlf-$${f##*/}; \
	  tr '\n' '\r' < "$$f" > $(FUZZ_O)/seeds/cr-$${f##*/}; done

fuzz: $(FUZZ_BIN) fuzz-seeds
	@for t in $(FUZZ_BIN); do \
	  echo "fuzz: $$t for $(FUZZ_SECS)s"; \
	  $$t -max_total_time=$(FUZZ_SECS) -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
	      -print_final_stats=1 $(FUZZ_O)/work $(FUZZ_O)/seeds || exit 1; \
	done

.PHONY: fuzz-seeds

# make robust: the ASan+UBSan CLI over the corpus and its CRLF, CR-only,
# truncated and junk variants (tests/corpus/robust.sh).
robust:
	$(MAKE) --no-print-directory O=build-asan SAN=1 OPT=-O1 build-asan/bounceguide
	sh tests/corpus/robust.sh build-asan/bounceguide

.PHONY: robust
