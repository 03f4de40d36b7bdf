# tests/unit/: no daemon.  C unit tests (cmocka) of the daemon's functions
# (linked from daemon/librbd.la), the protocol's and the library's; and
# static checks of what the build made (exported ABI, units, man pages).
unit_c_tests = tests/unit/cfg tests/unit/wire tests/unit/drivers \
	tests/unit/client-helpers tests/unit/res tests/unit/hash \
	tests/unit/ring tests/unit/qp-state tests/unit/wqe
check_PROGRAMS += $(unit_c_tests)
TESTS += $(unit_c_tests)

# The daemon's own functions, from daemon/librbd.la (no copies).
unit_rbd_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS) $(PROTOBUF_C_CFLAGS)
unit_rbd_ldadd = $(RBD_LIBS) $(CMOCKA_LIBS)
# The registry (daemon/res.c): handles, dependencies, per-user limits.
tests_unit_res_SOURCES = tests/unit/res.c
tests_unit_res_CFLAGS = $(unit_rbd_cflags)
tests_unit_res_LDADD = $(unit_rbd_ldadd)
# The key hash of QP numbers and memory keys (drivers/hash.c).
tests_unit_hash_SOURCES = tests/unit/hash.c
tests_unit_hash_CFLAGS = $(unit_rbd_cflags)
tests_unit_hash_LDADD = $(unit_rbd_ldadd)
# The shared rings, daemon side (daemon/ring.c).
tests_unit_ring_SOURCES = tests/unit/ring.c
tests_unit_ring_CFLAGS = $(unit_rbd_cflags)
tests_unit_ring_LDADD = $(unit_rbd_ldadd)
# The QP state machine table (daemon/qp.c, daemon/qp-state.h).
tests_unit_qp_state_SOURCES = tests/unit/qp-state.c
tests_unit_qp_state_CFLAGS = $(unit_rbd_cflags)
tests_unit_qp_state_LDADD = $(unit_rbd_ldadd)
# What the soft engine checks in a WQE: opcodes, local SGEs, remote keys.
tests_unit_wqe_SOURCES = tests/unit/wqe.c
tests_unit_wqe_CFLAGS = $(unit_rbd_cflags)
tests_unit_wqe_LDADD = $(unit_rbd_ldadd)

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

# Every unit test (each fragment below adds its own): `make check-unit`
# runs them alone, as debian/rules does at package build (no root, no
# daemon).
unit_tests = $(unit_c_tests) $(unit_shell_tests)
check-unit:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(unit_tests)'
.PHONY: check-unit
