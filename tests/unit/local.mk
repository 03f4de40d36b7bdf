# tests/unit/: no daemon.  C unit tests (cmocka) of the daemon's functions
# (linked from daemon/librbd.la), the protocol's and the library's; and
# static checks of what the build made (exported ABI, units, man pages).
check_PROGRAMS += tests/unit/cfg tests/unit/wire tests/unit/drivers \
	tests/unit/client-helpers
TESTS += tests/unit/cfg tests/unit/wire tests/unit/drivers \
	tests/unit/client-helpers

# rdmabrokerd.conf parsing (daemon/cfg.c).
tests_unit_cfg_SOURCES = tests/unit/cfg.c
tests_unit_cfg_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS)
tests_unit_cfg_LDADD = $(RBD_LIBS) $(CMOCKA_LIBS)

# Framing and fd passing (proto/wire.c).
tests_unit_wire_SOURCES = tests/unit/wire.c
tests_unit_wire_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_wire_LDADD = proto/libproto.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS)

# The driver boundary (drivers/driver.h).
tests_unit_drivers_SOURCES = tests/unit/drivers.c
tests_unit_drivers_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS) \
	$(PROTOBUF_C_CFLAGS)
tests_unit_drivers_LDADD = $(RBD_LIBS) $(CMOCKA_LIBS)

# The daemon-free entry points of librdmabroker.
tests_unit_client_helpers_SOURCES = tests/unit/client-helpers.c
tests_unit_client_helpers_CFLAGS = $(client_test_cflags)
tests_unit_client_helpers_LDADD = $(client_test_ldadd)

# The exported ABI; the systemd units and example configuration; the man
# pages.
unit_shell_tests = tests/unit/abi.sh tests/unit/systemd-verify.sh \
	tests/unit/man-lint.sh
TESTS += $(unit_shell_tests)
EXTRA_DIST += $(unit_shell_tests)
