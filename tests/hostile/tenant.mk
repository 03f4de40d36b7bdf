# Hostile tenants (issue 14): a client speaking the protocol as an
# attacker would (tests/lib/tenant.c, also used by
# integration/tenant-stat), and the tests that run it as an unprivileged
# user with setpriv; and the config and socket file tests.
check_PROGRAMS += tests/lib/tenant
tests_lib_tenant_SOURCES = tests/lib/tenant.c
tests_lib_tenant_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_lib_tenant_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
hostile_tenant_tests = tests/hostile/conn-flood.sh tests/hostile/ctl-escape.sh \
	tests/hostile/log-flood.sh tests/hostile/socket-symlink.sh \
	tests/hostile/config-file.sh
TESTS += $(hostile_tenant_tests)
EXTRA_DIST += $(hostile_tenant_tests)
