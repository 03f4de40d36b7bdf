# tests/: one directory per kind of test, one fragment per directory or
# subject (tests/README.md says where a new test goes):
#   lib/          helpers shared by several tests (shell libraries, the
#                 C helper libraries, programs several runners use)
#   unit/         no daemon: functions of the daemon, the protocol and the
#                 library, and static checks of what the build made
#   integration/  a private daemon and real clients
#   hostile/      attackers and robustness: hand-written rings, mutated
#                 requests, clients and daemons killed at random
#   fuzz/         libFuzzer targets on the daemon
#   peers/        unmodified third-party programs under rdmab-run
#   bench/        the benchmarks in a quick mode (speed never asserted)
# A test NAME is the program tests/KIND/NAME (if any) and its runner
# tests/KIND/NAME.sh; a helper program of one runner only is NAME-ROLE.
# Every test runs with absolute top_srcdir/top_builddir in its environment;
# shell tests source tests/lib/lib.sh.
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	IBVERBS_PRIVATE_NN='$(IBVERBS_PRIVATE_NN)'; export IBVERBS_PRIVATE_NN; \
	RDMACM_NODES='$(RDMACM_NODES)'; export RDMACM_NODES; \
	MANDOC='$(MANDOC)'; export MANDOC; \
	RB_SANITIZERS='$(enable_sanitizers)'; export RB_SANITIZERS; \
	CC='$(CC)'; export CC; \
	RB_HAVE_CMOCKA='$(have_cmocka)'; export RB_HAVE_CMOCKA;
# Tools found by configure (empty when missing: those tests skip), and the
# version --version must print.
AM_TESTS_ENVIRONMENT += \
	SYSTEMD_ANALYZE='$(SYSTEMD_ANALYZE)'; export SYSTEMD_ANALYZE; \
	SYSTEMD_SOCKET_ACTIVATE='$(SYSTEMD_SOCKET_ACTIVATE)'; export SYSTEMD_SOCKET_ACTIVATE; \
	PYTHON3='$(PYTHON3)'; export PYTHON3; \
	PACKAGE_VERSION='$(PACKAGE_VERSION)'; export PACKAGE_VERSION;

# No test may hang the suite: past 10 minutes it is killed and fails
# (timeout exits 124).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = timeout 600 $(SHELL)
LOG_COMPILER = timeout 600

include $(srcdir)/tests/lib/local.mk
include $(srcdir)/tests/unit/local.mk
include $(srcdir)/tests/integration/objects.mk
include $(srcdir)/tests/integration/verbs.mk
include $(srcdir)/tests/integration/data.mk
include $(srcdir)/tests/integration/daemon.mk
include $(srcdir)/tests/integration/rdmactl.mk
include $(srcdir)/tests/integration/systemd.mk
include $(srcdir)/tests/integration/ident.mk
include $(srcdir)/tests/integration/verbs-nest.mk
include $(srcdir)/tests/integration/rootless.mk
include $(srcdir)/tests/hostile/local.mk
include $(srcdir)/tests/fuzz/local.mk
include $(srcdir)/tests/peers/local.mk
include $(srcdir)/tests/bench/local.mk

# New tests: tests/KIND/NAME.mk, one include line each, below.
include $(srcdir)/tests/integration/sched-share.mk
include $(srcdir)/tests/integration/sched-config.mk
include $(srcdir)/tests/unit/conv.mk
include $(srcdir)/tests/unit/proto-table.mk
include $(srcdir)/tests/integration/proto-compat.mk
include $(srcdir)/tests/integration/list-paging.mk
include $(srcdir)/tests/integration/xrc-share.mk
include $(srcdir)/tests/peers/cm-rdmacm-utils.mk
include $(srcdir)/tests/integration/cm-events.mk
include $(srcdir)/tests/unit/cm-abi.mk
include $(srcdir)/tests/hostile/cm.mk
include $(srcdir)/tests/hostile/fuse-hang.mk
include $(srcdir)/tests/hostile/tenant.mk
include $(srcdir)/tests/hostile/mem-limit.mk
include $(srcdir)/tests/hostile/cma-large.mk
include $(srcdir)/tests/integration/tenant-stat.mk
include $(srcdir)/tests/integration/verbs-sched.mk
include $(srcdir)/tests/hostile/cm-limit.mk
include $(srcdir)/tests/peers/ucx-sockaddr.mk
include $(srcdir)/tests/lib/impair.mk
include $(srcdir)/tests/integration/send-parts.mk
include $(srcdir)/tests/unit/roce-wire.mk
include $(srcdir)/tests/fuzz/fuzz-roce.mk
include $(srcdir)/tests/peers/roce-pingpong.mk
include $(srcdir)/tests/hostile/roce-garbage.mk
include $(srcdir)/tests/peers/roce-lossy.mk
include $(srcdir)/tests/peers/roce-three.mk
include $(srcdir)/tests/peers/roce-data.mk
include $(srcdir)/tests/hostile/roce-live.mk
include $(srcdir)/tests/peers/roce-mtu.mk
include $(srcdir)/tests/bench/roce.mk
include $(srcdir)/tests/integration/mr-hooks.mk
include $(srcdir)/tests/peers/cm-roce.mk
include $(srcdir)/tests/unit/daemon-memio.mk
include $(srcdir)/tests/hostile/verbs-rkey.mk
include $(srcdir)/tests/integration/cm-qp-attr.mk
include $(srcdir)/tests/peers/roce-gso.mk
include $(srcdir)/tests/peers/cm-roce-mra.mk
include $(srcdir)/tests/integration/cm-accept-send.mk
include $(srcdir)/tests/unit/roce-icrc-id.mk
