# tests/integration/daemon.mk: the daemon over the raw protocol: who sees
# whom (admin), connection limits (connlimit), device queries (devices).
check_PROGRAMS += tests/integration/admin tests/integration/connlimit \
	tests/integration/devices
daemon_tests = tests/integration/admin.sh tests/integration/connlimit.sh \
	tests/integration/devices.sh
TESTS += $(daemon_tests)
EXTRA_DIST += $(daemon_tests)

tests_integration_admin_SOURCES = tests/integration/admin.c
tests_integration_admin_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_integration_admin_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
tests_integration_connlimit_SOURCES = tests/integration/connlimit.c
tests_integration_connlimit_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_integration_connlimit_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
tests_integration_devices_SOURCES = tests/integration/devices.c
tests_integration_devices_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_integration_devices_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
