# mk/render.mk -- renderer targets (auto-included by the Makefile).
#
#   make screenshot     render SCREENSHOT_IN in every shipped language with the CLI
#                       and photograph the HTML part in headless Chromium:
#                       docs/bounce-LANG-375.png (the first screen of a phone) and
#                       docs/bounce-LANG-1200.png (the whole page on a desktop)
#   make phone-check    every failure category, failed and delayed, in every shipped
#                       language, laid out at 375 x 667 px: fails when a recipient's
#                       sender part is taller than that screen or the page scrolls
#                       sideways (tests/golden/phone.py)
#   make guidance-check `bounceguide guidance check --full` over every shipped catalogue
#   make golden-update  regenerate tests/golden/*.ref from the current renderer
#   make golden-check   parse every rendered golden output with Python's email
#                       package and fail on any MIME defect
#
# screenshot and phone-check need Debian's chromium and fonts-roboto-unhinted
# (tools/deps.sh); neither is a build dependency.

SCREENSHOT_IN     ?= tests/golden/screenshot.eml
SCREENSHOT_CONFIG ?= tests/golden/screenshot.conf
SCREENSHOT_DIR    ?= docs
BG_LANGS           = $(sort $(basename $(notdir $(wildcard conf/guidance/*.conf))))

.PHONY: screenshot phone-check guidance-check golden-update golden-check

$(O)/phone-samples: tests/golden/phone-samples.c $(IMAGE) $(LIB) | $(O)/obj
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -o $@ $< $(IMAGE) $(LIB) $(SANLD) $(LDLIBS)

screenshot: $(CLI)
	@set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; for l in $(BG_LANGS); do \
	  $(CLI) render --config $(SCREENSHOT_CONFIG) --lang $$l $(SCREENSHOT_IN) > $$d/$$l.eml; \
	  python3 tests/golden/phone.py shot $$d/$$l.eml $(SCREENSHOT_DIR)/bounce-$$l; \
	done

phone-check: $(O)/phone-samples
	@set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	$(O)/phone-samples tests/golden/screenshot.eml tests/golden/screenshot.conf $$d $(BG_LANGS); \
	python3 tests/golden/phone.py check $$d

guidance-check: $(CLI)
	@set -e; for f in conf/guidance/*.conf; do $(CLI) guidance check --full $$f; done

golden-update: $(O)/tests/test_render
	BG_UPDATE_GOLDEN=1 BG_TOP=$(CURDIR) $(O)/tests/test_render

golden-check: $(CLI)
	@set -e; d=$$(mktemp -d); for f in tests/golden/*.eml; do \
	  c=$${f%.eml}.conf; [ -f $$c ] || c=/dev/null; \
	  $(CLI) render --config $$c $$f > $$d/out.eml 2>/dev/null; \
	  python3 tests/golden/html-part.py --check $$d/out.eml || { echo "golden-check: $$f"; rm -rf $$d; exit 1; }; \
	done; rm -rf $$d; echo "golden-check: all rendered golden messages parse without MIME defects"
