# tests/integration/proto-compat: version 1 clients (built from
# proto/history/rdmabroker-v1.proto), feature bits, unknown fields and
# version ranges against the daemon.
check_PROGRAMS += tests/integration/proto-compat
tests_integration_proto_compat_SOURCES = tests/integration/proto-compat.c
nodist_tests_integration_proto_compat_SOURCES = \
	tests/integration/rdmabroker-v1.pb-c.c tests/integration/rdmabroker-v1.pb-c.h
tests_integration_proto_compat_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(IBVERBS_CFLAGS) -Wno-redundant-decls
tests_integration_proto_compat_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
BUILT_SOURCES += tests/integration/rdmabroker-v1.pb-c.c tests/integration/rdmabroker-v1.pb-c.h
CLEANFILES += tests/integration/rdmabroker-v1.pb-c.c tests/integration/rdmabroker-v1.pb-c.h
EXTRA_DIST += tests/integration/proto-compat.sh
TESTS += tests/integration/proto-compat.sh

tests/integration/rdmabroker-v1.pb-c.h: tests/integration/rdmabroker-v1.pb-c.c
tests/integration/rdmabroker-v1.pb-c.c: proto/history/rdmabroker-v1.proto
	$(AM_V_GEN)$(MKDIR_P) tests/integration && \
	$(PROTOC_C) --proto_path=$(srcdir)/proto/history --c_out=tests/integration \
		$(srcdir)/proto/history/rdmabroker-v1.proto
