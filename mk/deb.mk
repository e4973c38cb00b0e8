# mk/deb.mk -- the Debian package and its tests (auto-included by the Makefile).
#
#   make deb        build/bounceguide_<version>_<arch>.deb with dpkg-buildpackage
#   make docs       regenerate docs/categories.md from the plugin's data
#   make pkg-test   deb + lintian (errors and warnings fail) + man pages + categories check + make install/uninstall
#                   into a DESTDIR + install/remove/purge test
#                   on this machine's real Exim (root; tests/pkg/deb-install.sh)
#
# The package is built from a copy of the working tree in build/deb/, so
# debhelper's files never land in the source tree and dpkg-buildpackage's
# output (written to the parent directory) stays under build/.

BG_DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
BG_DEB_ARCH    = $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
BG_DEB         = $(O)/bounceguide_$(BG_DEB_VERSION)_$(BG_DEB_ARCH).deb
BG_DEB_TOP     = $(O)/deb
BG_DEB_SRC     = $(BG_DEB_TOP)/bounceguide-$(BG_DEB_VERSION)

.PHONY: deb docs check-categories man-check pkg-test

deb:
	rm -rf $(BG_DEB_TOP)
	mkdir -p $(BG_DEB_SRC)
	tar -c --exclude=./build --exclude=./build-asan --exclude=./build-fuzz \
	  --exclude=./.git --exclude=__pycache__ -f - . | tar -x -C $(BG_DEB_SRC) -f -
	cd $(BG_DEB_SRC) && dpkg-buildpackage -b -us -uc -j2 > ../build.log 2>&1 \
	  || { tail -40 ../build.log; echo "deb: dpkg-buildpackage failed; full log in $(BG_DEB_TOP)/build.log"; exit 1; }
	cp $(BG_DEB_TOP)/bounceguide_$(BG_DEB_VERSION)_$(BG_DEB_ARCH).deb $(BG_DEB)
	@echo "deb: $(BG_DEB)"
	@dpkg-deb -f $(BG_DEB) Package Version Depends

docs:
	python3 tools/gen-categories.py > docs/categories.md.new && mv docs/categories.md.new docs/categories.md

check-categories:
	sh tests/pkg/categories.sh
	sh tests/pkg/install-destdir.sh

man-check:
	sh tests/pkg/man.sh

pkg-test: deb
	sh tests/pkg/lintian.sh
	sh tests/pkg/man.sh
	sh tests/pkg/categories.sh
	sh tests/pkg/install-destdir.sh
	sh tests/pkg/deb-install.sh $(BG_DEB)
