# daemon/: rdmabrokerd.  Everything but main() is the convenience library
# daemon/librbd.la, the drivers included (drivers/local.mk), so that tests
# link the daemon as it runs: the unit tests link the library, the fuzz
# targets compile its source list (tests/fuzz/local.mk) with coverage.
noinst_LTLIBRARIES += daemon/librbd.la
daemon_librbd_la_SOURCES = daemon/daemon.h \
	daemon/log.c daemon/log.h daemon/cfg.c daemon/cfg.h \
	daemon/listener.c daemon/session.c daemon/dispatch.c daemon/dispatch.h \
	daemon/device.c daemon/admin.c daemon/notify.c daemon/loop.c daemon/loop.h \
	daemon/res.c daemon/res.h daemon/pd.c daemon/cq.c daemon/qp.c \
	daemon/srq.c daemon/ah.c daemon/mr.c daemon/mw.c daemon/xrcd.c \
	daemon/ring.c daemon/ring.h daemon/objects.h daemon/qp-state.h \
	daemon/sched.c daemon/sched.h \
	daemon/cm.c daemon/cm-msg.c daemon/cm-mad.c daemon/cm.h \
	daemon/stat.c daemon/stat.h \
	$(DRIVERS_SRC)
daemon_librbd_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBSYSTEMD_CFLAGS) \
	$(PROTOBUF_C_CFLAGS) $(IBVERBS_CFLAGS) $(DRIVERS_CFLAGS)
RBD_LIBS = daemon/librbd.la proto/libproto.la $(DRIVERS_LIBS) \
	$(LIBEVENT_LIBS) $(LIBSYSTEMD_LIBS) $(PROTOBUF_C_LIBS)

sbin_PROGRAMS += daemon/rdmabrokerd
daemon_rdmabrokerd_SOURCES = daemon/main.c
daemon_rdmabrokerd_CFLAGS = $(daemon_librbd_la_CFLAGS)
daemon_rdmabrokerd_LDADD = $(RBD_LIBS)
