# tests/: unit tests (cmocka), integration tests against a real daemon.
# Every test runs with absolute top_srcdir/top_builddir in its environment;
# shell tests source tests/lib.sh.
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	IBVERBS_PRIVATE_NN='$(IBVERBS_PRIVATE_NN)'; export IBVERBS_PRIVATE_NN; \
	MANDOC='$(MANDOC)'; export MANDOC; \
	RB_SANITIZERS='$(enable_sanitizers)'; export RB_SANITIZERS; \
	CC='$(CC)'; export CC;
EXTRA_DIST += tests/lib.sh tests/rng.h

# No test may hang the suite: past 10 minutes it is killed and fails
# (timeout exits 124).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = timeout 600 $(SHELL)
LOG_COMPILER = timeout 600

include $(srcdir)/tests/libclient.mk
include $(srcdir)/tests/rdmactl.mk
include $(srcdir)/tests/systemd.mk
include $(srcdir)/tests/data.mk
include $(srcdir)/tests/dataerr.mk
include $(srcdir)/tests/pingpong.mk
include $(srcdir)/tests/baselines.mk
include $(srcdir)/tests/perf.mk
include $(srcdir)/tests/hostilectl.mk
include $(srcdir)/tests/scale.mk
include $(srcdir)/tests/ident.mk
include $(srcdir)/tests/benchmake.mk
include $(srcdir)/tests/crash.mk
include $(srcdir)/tests/fuzz.mk
include $(srcdir)/tests/drivers.mk
include $(srcdir)/tests/mrfast.mk
include $(srcdir)/tests/qpring.mk
include $(srcdir)/tests/verbs.mk

check_PROGRAMS += tests/daemon-robust
tests_daemon_robust_SOURCES = tests/daemon-robust.c
tests_daemon_robust_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_daemon_robust_LDADD = proto/libproto.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS)
TESTS += tests/daemon-robust.sh
EXTRA_DIST += tests/daemon-robust.sh

check_PROGRAMS += tests/unit-cfg tests/unit-wire
TESTS += tests/unit-cfg tests/unit-wire
tests_unit_cfg_SOURCES = tests/unit-cfg.c
tests_unit_cfg_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS)
tests_unit_cfg_LDADD = $(RBD_LIBS) $(CMOCKA_LIBS)
tests_unit_wire_SOURCES = tests/unit-wire.c
tests_unit_wire_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_wire_LDADD = proto/libproto.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS)

check_PROGRAMS += tests/daemon-connlimit
tests_daemon_connlimit_SOURCES = tests/daemon-connlimit.c
tests_daemon_connlimit_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_daemon_connlimit_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/daemon-connlimit.sh
EXTRA_DIST += tests/daemon-connlimit.sh

check_PROGRAMS += tests/daemon-admin
tests_daemon_admin_SOURCES = tests/daemon-admin.c
tests_daemon_admin_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_daemon_admin_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/daemon-admin.sh
EXTRA_DIST += tests/daemon-admin.sh

check_PROGRAMS += tests/daemon-devices
tests_daemon_devices_SOURCES = tests/daemon-devices.c
tests_daemon_devices_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_daemon_devices_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/daemon-devices.sh
EXTRA_DIST += tests/daemon-devices.sh
include $(srcdir)/tests/stack.mk
include $(srcdir)/tests/pkg.mk
include $(srcdir)/tests/softfeat.mk
include $(srcdir)/tests/integration/sched-share.mk
include $(srcdir)/tests/integration/sched-config.mk
