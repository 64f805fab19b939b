# `make install` (PREFIX, DESTDIR, and the directories below) and `make deb`.
# Included by the Makefile; the files themselves are in packaging/ and docs/man/.

PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

MANPAGES    := $(wildcard docs/man/*.5 docs/man/*.8)
# the rules the binary embeds, installed to read (and to load with --no-builtin-rules --rules)
RULE_FILES  := $(shell find rules -type f \( -name '*.yml' -o -name LICENSE -o -name '*.md' \) 2>/dev/null | sort)
SUBST        = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: install uninstall deb check-packaging

install: $(BUILD)/immuned $(BUILD)/immunectl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/immune/rules.d
	install -m 0755 $(BUILD)/immuned $(BUILD)/immunectl $(DESTDIR)$(SBINDIR)/
	for f in $(RULE_FILES); do install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/immune/$$f" || exit 1; done
	install -m 0644 $(filter %.5,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man8/
	$(SUBST) packaging/immuned.service.in > $(DESTDIR)$(UNITDIR)/immuned.service
	$(SUBST) packaging/immune-hive.service.in > $(DESTDIR)$(UNITDIR)/immune-hive.service
	install -m 0644 packaging/immune.tmpfiles $(DESTDIR)$(TMPFILESDIR)/immune.conf
	@# an operator's config is never overwritten
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/immune/immuned.conf ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/immune/immuned.conf (the example is packaging/immuned.conf)"; \
	else \
		install -m 0644 packaging/immuned.conf $(DESTDIR)$(SYSCONFDIR)/immune/immuned.conf; \
	fi

# Everything install put there but the config and its rules.d.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/immuned $(DESTDIR)$(SBINDIR)/immunectl \
		$(DESTDIR)$(UNITDIR)/immuned.service $(DESTDIR)$(UNITDIR)/immune-hive.service \
		$(DESTDIR)$(TMPFILESDIR)/immune.conf \
		$(patsubst docs/man/%,$(DESTDIR)$(MANDIR)/man5/%,$(filter %.5,$(MANPAGES))) \
		$(patsubst docs/man/%,$(DESTDIR)$(MANDIR)/man8/%,$(filter %.8,$(MANPAGES)))
	rm -rf $(DESTDIR)$(DATADIR)/immune

# build/immune_VERSION_ARCH.deb, from `make install` into a staging root.
deb: $(BUILD)/immuned $(BUILD)/immunectl
	@packaging/mkdeb $(BUILD)

# Units, man pages and the package, as CI checks them.
check-packaging: deb
	@packaging/check $(BUILD)
