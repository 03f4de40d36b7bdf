# tests/integration/verbs.mk: the device and context verbs through
# librdmabroker: queries, verbs not implemented yet, no daemon or a lost
# one, rdmab-run, control-path polling, the semantics the RDMA software
# stack relies on, and the soft device's verbs features (completion
# timestamps, ATOMIC_WRITE, FLUSH, memory windows).
check_PROGRAMS += tests/integration/query tests/integration/unsupported \
	tests/integration/nodaemon tests/integration/stack-semantics \
	tests/integration/softfeat
verbs_tests = tests/integration/query.sh tests/integration/unsupported.sh \
	tests/integration/nodaemon.sh tests/integration/rdmab-run.sh \
	tests/integration/rpc-spin.sh tests/integration/stack-semantics.sh \
	tests/integration/softfeat.sh
TESTS += $(verbs_tests)
EXTRA_DIST += $(verbs_tests)

tests_integration_query_SOURCES = tests/integration/query.c
tests_integration_query_CFLAGS = $(client_test_cflags)
tests_integration_query_LDADD = $(client_test_ldadd)
tests_integration_unsupported_SOURCES = tests/integration/unsupported.c
tests_integration_unsupported_CFLAGS = $(client_test_cflags)
tests_integration_unsupported_LDADD = $(client_test_ldadd)
tests_integration_nodaemon_SOURCES = tests/integration/nodaemon.c
tests_integration_nodaemon_CFLAGS = $(client_test_cflags)
tests_integration_nodaemon_LDADD = $(client_test_ldadd)
tests_integration_stack_semantics_SOURCES = tests/integration/stack-semantics.c
tests_integration_stack_semantics_CFLAGS = $(client_test_cflags)
tests_integration_stack_semantics_LDADD = $(client_test_ldadd)
tests_integration_softfeat_SOURCES = tests/integration/softfeat.c
tests_integration_softfeat_CFLAGS = $(data_test_cflags)
tests_integration_softfeat_LDADD = $(data_test_ldadd)
