# Tests of issue 16: the RDMA software stack (rdma-core's providers,
# perftest, UCX, libfabric, pyverbs) runs unmodified under rdmab-run.
check_PROGRAMS += tests/client-providers
tests_client_providers_SOURCES = tests/client-providers.c
tests_client_providers_CFLAGS = $(client_test_cflags)
tests_client_providers_LDADD = $(client_test_ldadd) -ldl

stack_shell_tests = tests/client-private-abi.sh tests/stack-device.sh \
	tests/stack-perftest.sh tests/stack-ucx.sh tests/stack-fabric.sh \
	tests/stack-pyverbs.sh tests/stack-engine-gaps.sh
TESTS += $(stack_shell_tests)
EXTRA_DIST += $(stack_shell_tests) tests/stack-lib.sh

check_PROGRAMS += tests/client-stack
tests_client_stack_SOURCES = tests/client-stack.c
tests_client_stack_CFLAGS = $(client_test_cflags)
tests_client_stack_LDADD = $(client_test_ldadd)
TESTS += tests/stack-semantics.sh
EXTRA_DIST += tests/stack-semantics.sh
