# make fuzz-auth: libFuzzer over the auth diagnosis's text parsers
# (tests/fuzz/fuzz_auth.c: reply addresses, DKIM key records, Debian's
# exim config files), with a 1 s per-input timeout so that a loop which
# never ends is a failure. Builds on mk/fuzz.mk's core library and flags.
#
#   make fuzz-auth                   FUZZ_AUTH_SECS (60) seconds from the hand-made seeds
FUZZ_AUTH_SECS ?= 60
# the same default as mk/fuzz.mk, which is included after this file
FUZZ_O ?= build-fuzz

fuzz-auth: $(FUZZ_O)/fuzz_auth
	@rm -rf $(FUZZ_O)/work/auth && mkdir -p $(FUZZ_O)/work/auth $(FUZZ_O)/crash/auth
	$(FUZZ_O)/fuzz_auth -max_total_time=$(FUZZ_AUTH_SECS) -timeout=1 -rss_limit_mb=1024 \
	  -artifact_prefix=$(FUZZ_O)/crash/auth/ $(FUZZ_O)/work/auth tests/fuzz/seeds/auth

.PHONY: fuzz-auth
