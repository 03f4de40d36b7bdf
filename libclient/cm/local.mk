# libclient/cm/: librdmabroker-cm, the librdmacm ABI (rdma_cm) served by
# rdmabrokerd's connection manager (docs/cm.md, librdmabroker-cm(7)).
lib_LTLIBRARIES += libclient/cm/librdmabroker-cm.la
libclient_cm_librdmabroker_cm_la_SOURCES = libclient/cm/cm.h libclient/cm/cm.c \
	libclient/cm/cm-addr.c libclient/cm/cm-unsupported.c
libclient_cm_librdmabroker_cm_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS) \
	$(RDMACM_CFLAGS) $(PROTOBUF_C_CFLAGS) -pthread
# Verbs through librdmabroker, never the real libibverbs; its own
# connection to the daemon through proto/ (linked in, hidden).
libclient_cm_librdmabroker_cm_la_LIBADD = libclient/librdmabroker.la \
	proto/libproto.la $(PROTOBUF_C_LIBS)
libclient_cm_librdmabroker_cm_la_LDFLAGS = $(AM_LDFLAGS) -version-info 1:0:0 \
	-no-undefined -pthread -Wl,--version-script=libclient/cm/librdmabroker-cm.map
EXTRA_libclient_cm_librdmabroker_cm_la_DEPENDENCIES = libclient/cm/librdmabroker-cm.map

# One node per RDMACM_1.N of rdmacm-abi.txt, each inheriting the last.
libclient/cm/librdmabroker-cm.map: libclient/cm/rdmacm-abi.txt Makefile
	$(AM_V_GEN)$(MKDIR_P) libclient/cm && \
	$(AWK) '/^#/ || NF != 2 { next } \
	  $$1 != node { if (node != "") { print (first ? "\tlocal:\n\t\t*;\n" : "") "}" (prev ? " " prev : "") ";\n"; prev = node; first = 0 } \
	    else first = 1; node = $$1; print node " {\n\tglobal:" } \
	  { print "\t\t" $$2 ";" } \
	  END { print (first ? "\tlocal:\n\t\t*;\n" : "") "}" (prev ? " " prev : "") ";" }' \
	  $(srcdir)/libclient/cm/rdmacm-abi.txt > $@.tmp && mv -f $@.tmp $@

pkgconfig_DATA += libclient/cm/rdmabroker-cm.pc
libclient/cm/rdmabroker-cm.pc: libclient/cm/rdmabroker-cm.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) libclient/cm && $(do_subst) < $(srcdir)/libclient/cm/rdmabroker-cm.pc.in > $@

EXTRA_DIST += libclient/cm/rdmacm-abi.txt libclient/cm/rdmabroker-cm.pc.in docs/cm.md \
	debian/librdmabroker-cm1.install debian/librdmabroker-cm1.symbols
CLEANFILES += libclient/cm/librdmabroker-cm.map libclient/cm/rdmabroker-cm.pc

# Its librdmacm.so.1 name beside the libibverbs.so.1 one (rdmab-run).
ALL_LOCAL += libclient-cm-compat-build
libclient-cm-compat-build: libclient/cm/librdmabroker-cm.la libclient-compat-build
	@$(MKDIR_P) libclient/compat && \
	ln -sf ../cm/.libs/librdmabroker-cm.so.1 libclient/compat/librdmacm.so.1
INSTALL_EXEC_HOOKS += libclient-cm-compat-install
libclient-cm-compat-install: libclient-compat-install
	$(MKDIR_P) '$(DESTDIR)$(pkglibdir)/compat'
	ln -sf '$(libdir)/librdmabroker-cm.so.1' '$(DESTDIR)$(pkglibdir)/compat/librdmacm.so.1'
UNINSTALL_HOOKS += libclient-cm-compat-uninstall
libclient-cm-compat-uninstall:
	-rm -f '$(DESTDIR)$(pkglibdir)/compat/librdmacm.so.1'
# Before librdmabroker's hook, which removes the directory once empty.
libclient-compat-uninstall: libclient-cm-compat-uninstall

.PHONY: libclient-cm-compat-build libclient-cm-compat-install \
	libclient-cm-compat-uninstall

# make bench also measures the CM (scripts/bench-cm.sh); make bench-cm alone.
EXTRA_DIST += scripts/bench-cm.sh scripts/bench-cm-readlat.sh scripts/bench-lib.sh
.PHONY: bench-cm
bench-cm: all
	RB_BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/bench-cm.sh' \
		--out '$(abs_top_builddir)/bench-results' $(BENCH_CM_FLAGS)
bench: bench-cm
# Where ib_read_lat -R's extra latency comes from (docs/cm.md); by hand.
.PHONY: bench-cm-readlat
bench-cm-readlat: all
	RB_BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/bench-cm-readlat.sh'
