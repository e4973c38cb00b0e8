# mk/soak.mk -- the load run of issue 6 (auto-included by the Makefile).
#
#   make soak        3000 messages (~6500 recipients) through a real Exim
#                    sandbox with the plugin and the suppression store:
#                    accepted, rejected at RCPT / after DATA, deferred then
#                    timed out; full accounting at the end (tests/soak/soak.py).
#                    Figures in build/soak-figures.txt. SOAK_MESSAGES=N to change.
#   make soak-quick  the same with 200 messages (part of make test).

SOAK_MESSAGES ?= 3000
SOAK_THREADS  ?= 4

.PHONY: soak soak-quick

soak: all
	PATH="$$PATH:/usr/sbin" python3 tests/soak/soak.py --messages $(SOAK_MESSAGES) \
	  --threads $(SOAK_THREADS) --figures $(O)/soak-figures.txt

soak-quick: all
	PATH="$$PATH:/usr/sbin" python3 tests/soak/soak.py --messages 200 --threads 4 \
	  --figures $(O)/soak-quick-figures.txt
