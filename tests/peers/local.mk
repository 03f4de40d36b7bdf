# tests/peers/: unmodified third-party programs under rdmab-run: rdma-core's
# ibverbs-utils (devinfo, device, pingpong, pingpong-valgrind with the
# daemon under valgrind, engine-gaps) and providers (providers, with the
# private ABI they import), perftest, UCX, libfabric, pyverbs.
check_PROGRAMS += tests/peers/providers
tests_peers_providers_SOURCES = tests/peers/providers.c
tests_peers_providers_CFLAGS = $(client_test_cflags)
tests_peers_providers_LDADD = $(client_test_ldadd) -ldl

peers_tests = tests/peers/devinfo.sh tests/peers/device.sh \
	tests/peers/pingpong.sh tests/peers/pingpong-valgrind.sh \
	tests/peers/engine-gaps.sh tests/peers/providers.sh \
	tests/peers/perftest.sh tests/peers/ucx.sh tests/peers/libfabric.sh \
	tests/peers/pyverbs.sh
TESTS += $(peers_tests)
EXTRA_DIST += $(peers_tests)
