# mk/install.mk -- make install / make uninstall into Debian's places
# (auto-included by the Makefile). The .deb (mk/deb.mk) is built with these.
#
#   make install   [DESTDIR=/stage] [PREFIX=/usr]
#   make uninstall [DESTDIR=/stage] [PREFIX=/usr]
#
# Files under /etc are the administrator's once installed: install never
# overwrites one that differs, uninstall removes only those still equal to
# what install would put there. Directories install had to create are listed
# in $(DATADIR)/installed-dirs, so uninstall removes exactly those (when
# empty) and never a directory that was there before (e.g. Exim's own
# /usr/lib/exim4/local_scan). The database directory is created, owned by
# Debian-exim, but the database in it is data: uninstall keeps it.

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
DATADIR    ?= $(PREFIX)/share/bounceguide
SBINDIR    ?= $(PREFIX)/sbin
PLUGINDIR  ?= $(PREFIX)/lib/exim4/local_scan
MANDIR     ?= $(PREFIX)/share/man
EXIMCONFDIR ?= $(SYSCONFDIR)/exim4
CRONDIR    ?= $(SYSCONFDIR)/cron.d
SPOOLDIR   ?= /var/spool/exim4/bounceguide
EXIM_USER  ?= Debian-exim

BG_ROOT    := $(abspath $(DESTDIR))
BG_STAGE    = $(O)/install
BG_MANIFEST = $(BG_ROOT)$(DATADIR)/installed-dirs
BG_CONFD    = conf/exim/conf.d
BG_SNIPPETS = $(patsubst $(BG_CONFD)/%,%,$(wildcard $(BG_CONFD)/main/* $(BG_CONFD)/acl/* \
                $(BG_CONFD)/router/* $(BG_CONFD)/transport/*))
BG_CATALOGS = $(notdir $(wildcard conf/guidance/*.conf))
BG_MANPAGES = $(wildcard man/*.[0-9])

# The shipped files name Debian's paths; other PREFIXes get them rewritten.
BG_SED = sed -e 's|/usr/lib/exim4/local_scan/bounceguide.so|$(PLUGINDIR)/bounceguide.so|g' \
             -e 's|/usr/share/bounceguide|$(DATADIR)|g' \
             -e 's|/usr/sbin/bounceguide|$(SBINDIR)/bounceguide|g' \
             -e 's|/etc/exim4/|$(EXIMCONFDIR)/|g'

# Installed path (without DESTDIR) <- staged source, one "dest:src" per file.
BG_FILES_ETC = \
  $(EXIMCONFDIR)/bounceguide.conf:$(BG_STAGE)/bounceguide.conf \
  $(foreach s,$(BG_SNIPPETS),$(EXIMCONFDIR)/conf.d/$(s):$(BG_STAGE)/conf.d/$(s)) \
  $(CRONDIR)/bounceguide:$(BG_STAGE)/cron.d/bounceguide
BG_FILES_USR = \
  $(PLUGINDIR)/bounceguide.so:$(SO) \
  $(SBINDIR)/bounceguide:$(CLI) \
  $(DATADIR)/rules.conf:conf/rules.conf \
  $(foreach c,$(BG_CATALOGS),$(DATADIR)/guidance/$(c):conf/guidance/$(c)) \
  $(DATADIR)/exim/installed:$(BG_STAGE)/exim/installed \
  $(DATADIR)/exim/check_rcpt_hook:$(BG_STAGE)/exim/check_rcpt_hook \
  $(foreach m,$(BG_MANPAGES),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)):$(m))

.PHONY: install uninstall install-stage

# The files as they will be installed (paths rewritten for PREFIX).
install-stage:
	rm -rf $(BG_STAGE)
	mkdir -p $(BG_STAGE)/cron.d $(BG_STAGE)/exim $(addprefix $(BG_STAGE)/conf.d/,main acl router transport)
	$(BG_SED) conf/bounceguide.conf > $(BG_STAGE)/bounceguide.conf
	$(BG_SED) conf/cron.d/bounceguide > $(BG_STAGE)/cron.d/bounceguide
	$(BG_SED) $(BG_CONFD)/hooks/installed > $(BG_STAGE)/exim/installed
	$(BG_SED) $(BG_CONFD)/hooks/check_rcpt_hook > $(BG_STAGE)/exim/check_rcpt_hook
	for s in $(BG_SNIPPETS); do $(BG_SED) $(BG_CONFD)/$$s > $(BG_STAGE)/conf.d/$$s || exit 1; done

# mkdir one component at a time, noting each directory we had to create.
# $(1) is a path below DESTDIR; DESTDIR itself is never recorded.
define bg_mkdir
d="$(BG_ROOT)"; for c in $$(echo "$(1)" | tr / ' '); do d="$$d/$$c"; \
  if [ ! -d "$$d" ]; then mkdir -m 0755 "$$d" && echo "$$d" >> "$(BG_STAGE)/dirs.new" || exit 1; fi; done
endef

install: all install-stage
	@set -e; [ -z "$(BG_ROOT)" ] || mkdir -p "$(BG_ROOT)"; : > "$(BG_STAGE)/dirs.new"; \
	$(call bg_mkdir,$(DATADIR)); \
	for f in $(BG_FILES_USR) $(BG_FILES_ETC); do \
	  $(call bg_mkdir,$$(dirname "$${f%%:*}")); done; \
	for f in $(BG_FILES_USR); do \
	  dest="$(BG_ROOT)$${f%%:*}"; src="$${f#*:}"; mode=0644; \
	  case "$$dest" in *.so|*/sbin/*) mode=0755;; esac; \
	  install -m $$mode "$$src" "$$dest"; echo "  installed $$dest"; done; \
	for f in $(BG_FILES_ETC); do \
	  dest="$(BG_ROOT)$${f%%:*}"; src="$${f#*:}"; \
	  if [ -e "$$dest" ] && ! cmp -s "$$src" "$$dest"; then echo "  kept your $$dest (differs from $$src)"; \
	  else install -m 0644 "$$src" "$$dest"; echo "  installed $$dest"; fi; done; \
	$(call bg_mkdir,$(EXIMCONFDIR)/bounceguide.d); \
	$(call bg_mkdir,$(SPOOLDIR)); chmod 0750 "$(BG_ROOT)$(SPOOLDIR)"; \
	if [ -z "$(BG_ROOT)" ] && [ "$$(id -u)" = 0 ] && getent passwd $(EXIM_USER) >/dev/null; then \
	  chown $(EXIM_USER):$(EXIM_USER) "$(SPOOLDIR)"; echo "  $(SPOOLDIR) owned by $(EXIM_USER)"; fi; \
	{ cat "$(BG_MANIFEST)" 2>/dev/null || true; cat "$(BG_STAGE)/dirs.new"; } | sort -u > "$(BG_STAGE)/dirs.all"; \
	install -m 0644 "$(BG_STAGE)/dirs.all" "$(BG_MANIFEST)"; \
	echo "install: done. Debian split config: update-exim4.conf && invoke-rc.d exim4 restart"

uninstall: install-stage
	@set -e; dirs=$$(cat "$(BG_MANIFEST)" 2>/dev/null || true); rm -f "$(BG_MANIFEST)"; \
	for f in $(BG_FILES_USR); do rm -f "$(BG_ROOT)$${f%%:*}"; done; \
	for f in $(BG_FILES_ETC); do \
	  dest="$(BG_ROOT)$${f%%:*}"; src="$${f#*:}"; \
	  if [ -e "$$dest" ] && ! cmp -s "$$src" "$$dest"; then echo "  kept your edited $$dest"; else rm -f "$$dest"; fi; done; \
	for d in $$(printf '%s\n' $$dirs | sort -r); do \
	  rmdir "$$d" 2>/dev/null || { [ -d "$$d" ] && echo "  kept $$d (not empty)"; } || true; done; \
	echo "uninstall: done"
