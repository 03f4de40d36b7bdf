# daemon/: rdmabrokerd.
sbin_PROGRAMS += daemon/rdmabrokerd
daemon_rdmabrokerd_SOURCES = daemon/main.c daemon/daemon.h \
	daemon/log.c daemon/log.h daemon/cfg.c daemon/cfg.h \
	daemon/listener.c daemon/session.c daemon/dispatch.c daemon/dispatch.h \
	daemon/device.c daemon/admin.c daemon/notify.c \
	daemon/res.c daemon/res.h daemon/pd.c daemon/cq.c daemon/qp.c \
	daemon/srq.c daemon/ah.c daemon/mr.c \
	daemon/ring.c daemon/ring.h daemon/objects.h \
	daemon/engine.c daemon/engine.h daemon/hash.c daemon/hash.h \
	daemon/mem.c daemon/mem.h
daemon_rdmabrokerd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBSYSTEMD_CFLAGS) \
	$(PROTOBUF_C_CFLAGS) $(IBVERBS_CFLAGS)
daemon_rdmabrokerd_LDADD = drivers/libdrivers.la proto/libproto.la \
	$(LIBEVENT_LIBS) $(LIBSYSTEMD_LIBS) $(PROTOBUF_C_LIBS)
