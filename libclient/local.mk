# libclient/: librdmabroker, the libibverbs ABI on top of rdmabrokerd, and
# rdmab-run, which runs unmodified binaries on it.
lib_LTLIBRARIES += libclient/librdmabroker.la
libclient_librdmabroker_la_SOURCES = libclient/client.h libclient/device.c \
	libclient/strings.c libclient/compat.c libclient/unsupported.c \
	libclient/pd.c libclient/cq.c libclient/qp.c libclient/post.c libclient/srq.c \
	libclient/ah.c libclient/mr.c libclient/mw.c libclient/async.c libclient/version.c \
	libclient/private.c libclient/mcast.c
libclient_librdmabroker_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS) \
	$(PROTOBUF_C_CFLAGS)
libclient_librdmabroker_la_LIBADD = proto/libproto.la $(PROTOBUF_C_LIBS)
# The soname is librdmabroker.so.1; exports come from the version script
# only.  It must never link the real libibverbs.
libclient_librdmabroker_la_LDFLAGS = $(AM_LDFLAGS) -version-info 1:0:0 \
	-no-undefined -Wl,--version-script=libclient/librdmabroker.map
EXTRA_libclient_librdmabroker_la_DEPENDENCIES = libclient/librdmabroker.map
include_HEADERS = libclient/rdmabroker.h

# The private node's names are the lines of ibverbs-private.txt.
libclient/librdmabroker.map: libclient/librdmabroker.map.in \
		libclient/ibverbs-private.txt Makefile
	$(AM_V_GEN)$(MKDIR_P) libclient && { \
	  $(SED) -n '/@IBVERBS_PRIVATE_SYMBOLS@/q;p' $(srcdir)/libclient/librdmabroker.map.in; \
	  $(SED) -e '/^#/d' -e '/^$$/d' -e 's/.*/		&;/' $(srcdir)/libclient/ibverbs-private.txt; \
	  $(SED) -e '1,/@IBVERBS_PRIVATE_SYMBOLS@/d' $(srcdir)/libclient/librdmabroker.map.in; \
	} | $(do_subst) > $@.tmp && mv -f $@.tmp $@

# pkg-config librdmabroker, or rdmabroker (the name DESIGN.md uses).
pkgconfig_DATA += libclient/librdmabroker.pc libclient/rdmabroker.pc
libclient/librdmabroker.pc: libclient/librdmabroker.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) libclient && $(do_subst) < $(srcdir)/libclient/librdmabroker.pc.in > $@
libclient/rdmabroker.pc: libclient/rdmabroker.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) libclient && $(do_subst) < $(srcdir)/libclient/rdmabroker.pc.in > $@

bin_SCRIPTS += libclient/rdmab-run
libclient/rdmab-run: libclient/rdmab-run.in Makefile
	$(AM_V_GEN)$(MKDIR_P) libclient && $(do_subst) < $(srcdir)/libclient/rdmab-run.in > $@.tmp && \
	chmod +x $@.tmp && mv -f $@.tmp $@

EXTRA_DIST += libclient/librdmabroker.map.in libclient/ibverbs-private.txt libclient/librdmabroker.pc.in \
	libclient/rdmabroker.pc.in libclient/rdmab-run.in
CLEANFILES += libclient/librdmabroker.map libclient/librdmabroker.pc \
	libclient/rdmabroker.pc libclient/rdmab-run

# The libibverbs.so.1 name rdmab-run puts first on LD_LIBRARY_PATH: in the
# build tree for the tests, and in $(pkglibdir)/compat when installed.
ALL_LOCAL += libclient-compat-build
libclient-compat-build: libclient/librdmabroker.la
	@$(MKDIR_P) libclient/compat && \
	ln -sf ../.libs/librdmabroker.so.1 libclient/compat/libibverbs.so.1
CLEAN_LOCAL += libclient-compat-clean
libclient-compat-clean:
	-rm -rf libclient/compat

INSTALL_EXEC_HOOKS += libclient-compat-install
libclient-compat-install:
	$(MKDIR_P) '$(DESTDIR)$(pkglibdir)/compat'
	ln -sf '$(libdir)/librdmabroker.so.1' '$(DESTDIR)$(pkglibdir)/compat/libibverbs.so.1'
UNINSTALL_HOOKS += libclient-compat-uninstall
libclient-compat-uninstall:
	-rm -f '$(DESTDIR)$(pkglibdir)/compat/libibverbs.so.1'
	-rmdir '$(DESTDIR)$(pkglibdir)/compat' '$(DESTDIR)$(pkglibdir)' 2>/dev/null

.PHONY: libclient-compat-build libclient-compat-clean \
	libclient-compat-install libclient-compat-uninstall
