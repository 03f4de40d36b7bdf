# Hostile tenants (issue 14): a helper speaking the protocol as an attacker
# would (tests/hostile/tenant.c) and the tests that use it, run as an
# unprivileged user with setpriv; and the config and socket file tests.
check_PROGRAMS += tests/hostile/tenant
tests_hostile_tenant_SOURCES = tests/hostile/tenant.c
tests_hostile_tenant_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_hostile_tenant_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
hostile_tenant_tests = tests/hostile/conn-flood.sh tests/hostile/ctl-escape.sh \
	tests/hostile/log-flood.sh tests/hostile/socket-symlink.sh \
	tests/hostile/config-file.sh
TESTS += $(hostile_tenant_tests)
EXTRA_DIST += $(hostile_tenant_tests)
