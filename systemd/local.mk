# systemd/: the service and socket units, and the example configuration.
# The units are generated with the configured paths and installed into
# $(systemdsystemunitdir); --with-systemdsystemunitdir=no installs none
# (distcheck redirects the directory under its own prefix).
rb_systemd_units = systemd/rdmabrokerd.service systemd/rdmabrokerd.socket
EXTRA_DIST += systemd/rdmabrokerd.service.in systemd/rdmabrokerd.socket.in
CLEANFILES += $(rb_systemd_units)
ALL_LOCAL += $(rb_systemd_units)

systemd/rdmabrokerd.service: systemd/rdmabrokerd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/rdmabrokerd.service.in > $@.tmp && mv -f $@.tmp $@
systemd/rdmabrokerd.socket: systemd/rdmabrokerd.socket.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(do_subst) < $(srcdir)/systemd/rdmabrokerd.socket.in > $@.tmp && mv -f $@.tmp $@

INSTALL_DATA_HOOKS += systemd-units-install
systemd-units-install: $(rb_systemd_units)
	@if test -n '$(systemdsystemunitdir)' && test 'x$(systemdsystemunitdir)' != xno; then \
		echo " $(MKDIR_P) '$(DESTDIR)$(systemdsystemunitdir)'"; \
		$(MKDIR_P) '$(DESTDIR)$(systemdsystemunitdir)' || exit 1; \
		echo " $(INSTALL_DATA) $(rb_systemd_units) '$(DESTDIR)$(systemdsystemunitdir)'"; \
		$(INSTALL_DATA) $(rb_systemd_units) '$(DESTDIR)$(systemdsystemunitdir)' || exit 1; \
	fi
UNINSTALL_HOOKS += systemd-units-uninstall
systemd-units-uninstall:
	@if test -n '$(systemdsystemunitdir)' && test 'x$(systemdsystemunitdir)' != xno; then \
		for f in $(rb_systemd_units); do \
			echo " rm -f '$(DESTDIR)$(systemdsystemunitdir)/'`basename $$f`"; \
			rm -f "$(DESTDIR)$(systemdsystemunitdir)/`basename $$f`"; \
		done; \
	fi
.PHONY: systemd-units-install systemd-units-uninstall

# The example configuration, at the path rdmabrokerd reads by default
# (RB_DEFAULT_CONFIG in daemon/cfg.h).  Every key in it is commented out,
# so installing it changes nothing.
rbconfdir = $(sysconfdir)/rdmabroker
dist_rbconf_DATA = systemd/rdmabrokerd.conf
