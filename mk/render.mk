# mk/render.mk -- renderer targets (auto-included by the Makefile).
#
#   make screenshot     render SCREENSHOT_IN with the CLI, take the HTML part and
#                       photograph it in headless Chromium -> docs/bounce-html.png
#                       (installs Debian's chromium on demand; not a build dependency)
#   make golden-update  regenerate tests/golden/*.ref from the current renderer
#   make golden-check   parse every rendered golden output with Python's email
#                       package and fail on any MIME defect

SCREENSHOT_IN     ?= tests/golden/exim-three-rcpts.eml
SCREENSHOT_CONFIG ?= tests/golden/screenshot.conf
SCREENSHOT_OUT    ?= docs/bounce-html.png

.PHONY: screenshot golden-update golden-check

screenshot: $(CLI)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "screenshot: installing Debian's chromium (once)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium; \
	  else sudo apt-get install -y chromium; fi; }
	@set -e; d=$$(mktemp -d); \
	$(CLI) render --config $(SCREENSHOT_CONFIG) $(SCREENSHOT_IN) > $$d/bounce.eml; \
	python3 tests/golden/html-part.py $$d/bounce.eml > $$d/bounce.html; \
	mkdir -p $(dir $(SCREENSHOT_OUT)); \
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
	  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
	  --user-data-dir=$$d/profile --screenshot=$(CURDIR)/$(SCREENSHOT_OUT) \
	  --window-size=1000,1400 file://$$d/bounce.html 2>$$d/chromium.log \
	  || { cat $$d/chromium.log; rm -rf $$d; exit 1; }; \
	rm -rf $$d; echo "screenshot: $(SCREENSHOT_OUT)"

golden-update: $(O)/tests/test_render
	BG_UPDATE_GOLDEN=1 BG_TOP=$(CURDIR) $(O)/tests/test_render

golden-check: $(CLI)
	@set -e; d=$$(mktemp -d); for f in tests/golden/*.eml; do \
	  c=$${f%.eml}.conf; [ -f $$c ] || c=/dev/null; \
	  $(CLI) render --config $$c $$f > $$d/out.eml 2>/dev/null; \
	  python3 tests/golden/html-part.py --check $$d/out.eml || { echo "golden-check: $$f"; rm -rf $$d; exit 1; }; \
	done; rm -rf $$d; echo "golden-check: all rendered golden messages parse without MIME defects"
