# drivers/: device back-ends behind one contract (drivers/driver.h),
# built into the daemon: daemon/local.mk compiles DRIVERS_SRC into
# daemon/librbd.la with DRIVERS_CFLAGS and links DRIVERS_LIBS.  A driver
# adds its files here (+=) and one line to drivers/registry.c.
DRIVERS_SRC = drivers/driver.h drivers/driver.c drivers/registry.c \
	drivers/hash.c drivers/hash.h drivers/memio.c drivers/memio.h \
	drivers/prefault.c drivers/prefault.h \
	drivers/soft/soft.h drivers/soft/soft-int.h drivers/soft/soft.c \
	drivers/soft/soft-qp.c drivers/soft/soft-req.c drivers/soft/soft-resp.c \
	drivers/soft/soft-comp.c drivers/soft/soft-mem.c drivers/soft/soft-mem.h \
	drivers/soft/soft-keys.c drivers/soft/soft-mw.c drivers/soft/soft-sched.c \
	drivers/soft/ids.h drivers/soft/soft-mcast.c \
	drivers/soft/roce-wire.c drivers/soft/roce-wire.h \
	drivers/soft/roce.h drivers/soft/roce-dev.c drivers/soft/roce-gid.c \
	drivers/soft/roce-io.c drivers/soft/roce-ud.c drivers/soft/roce-qp.c \
	drivers/soft/roce-req.c drivers/soft/roce-resp.c drivers/soft/roce-rc.c \
	drivers/soft/roce-rd.c \
	drivers/soft/roce-gsi.c \
	drivers/verbs/verbs.h drivers/verbs/verbs.c drivers/verbs/verbs-obj.c \
	drivers/verbs/verbs-post.c drivers/verbs/verbs-sched.c
DRIVERS_CFLAGS = $(IBVERBS_CFLAGS) $(ZLIB_CFLAGS) $(LIBMNL_CFLAGS)
# The verbs driver opens the host's devices through libibverbs; the soft
# device's RoCEv2 ICRC is zlib's crc32(), its GID table comes from
# rtnetlink through libmnl.
DRIVERS_LIBS = $(IBVERBS_LIBS) $(ZLIB_LIBS) $(LIBMNL_LIBS)
