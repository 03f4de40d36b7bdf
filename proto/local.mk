# proto/: the control schema, its version (version.h), framing and fd
# passing, and the protobuf <-> verbs conversions, shared by every binary.
noinst_LTLIBRARIES += proto/libproto.la
proto_libproto_la_SOURCES = proto/wire.c proto/wire.h proto/rpc.c proto/rpc.h proto/spin.h \
	proto/shm.h proto/version.h proto/conv.c proto/conv.h proto/cm-qp.c proto/cm-qp.h
nodist_proto_libproto_la_SOURCES = proto/rdmabroker.pb-c.c proto/rdmabroker.pb-c.h
# conv.c needs the libibverbs headers (the structs), not the library.
proto_libproto_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(IBVERBS_CFLAGS) $(RDMACM_CFLAGS) -Wno-redundant-decls
proto_libproto_la_LIBADD = $(PROTOBUF_C_LIBS)
BUILT_SOURCES += proto/rdmabroker.pb-c.c proto/rdmabroker.pb-c.h
CLEANFILES += proto/rdmabroker.pb-c.c proto/rdmabroker.pb-c.h
# The schema of each earlier version, for the compatibility tests.
EXTRA_DIST += proto/rdmabroker.proto proto/history/rdmabroker-v1.proto

proto/rdmabroker.pb-c.h: proto/rdmabroker.pb-c.c
proto/rdmabroker.pb-c.c: proto/rdmabroker.proto
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) --proto_path=$(srcdir)/proto --c_out=proto $(srcdir)/proto/rdmabroker.proto
