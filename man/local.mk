# man/: every page is generated from man/NAME.SECTION.in with the
# configured paths (@sysconfdir@, @rundir@, @PACKAGE_VERSION@, ...).
rb_man_pages = man/rdmabrokerd.8 man/rdmabrokerd.conf.5 man/rdmactl.8 \
	man/rdmab-run.1 man/librdmabroker.7 man/rdmab-perf.1 man/librdmabroker-cm.7
man_MANS += $(rb_man_pages)
EXTRA_DIST += man/rdmabrokerd.8.in man/rdmabrokerd.conf.5.in \
	man/rdmactl.8.in man/rdmab-run.1.in man/librdmabroker.7.in \
	man/rdmab-perf.1.in man/librdmabroker-cm.7.in
CLEANFILES += $(rb_man_pages)

# $< is the .in file wherever VPATH found it.
rb_man_gen = $(AM_V_GEN)$(MKDIR_P) man && $(do_subst) < $< > $@.tmp && mv -f $@.tmp $@
man/rdmabrokerd.8: man/rdmabrokerd.8.in Makefile
	$(rb_man_gen)
man/rdmabrokerd.conf.5: man/rdmabrokerd.conf.5.in Makefile
	$(rb_man_gen)
man/rdmactl.8: man/rdmactl.8.in Makefile
	$(rb_man_gen)
man/rdmab-perf.1: man/rdmab-perf.1.in Makefile
	$(rb_man_gen)
man/rdmab-run.1: man/rdmab-run.1.in Makefile
	$(rb_man_gen)
man/librdmabroker.7: man/librdmabroker.7.in Makefile
	$(rb_man_gen)
man/librdmabroker-cm.7: man/librdmabroker-cm.7.in Makefile
	$(rb_man_gen)
