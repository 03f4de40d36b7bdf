# tests/integration/verbs.mk: the device and context verbs through
# librdmabroker: queries, verbs not implemented yet, no daemon or a lost
# one, rdmab-run, control-path polling, the semantics the RDMA software
# stack relies on, and the soft device's verbs features (softfeat-*:
# completion timestamps, ATOMIC_WRITE, FLUSH, memory windows, XRC; they
# share softfeat-lib.[ch]).
check_PROGRAMS += tests/integration/query tests/integration/unsupported \
	tests/integration/nodaemon tests/integration/stack-semantics \
	tests/integration/softfeat-timestamps tests/integration/softfeat-atomic-write \
	tests/integration/softfeat-flush tests/integration/softfeat-mw \
	tests/integration/softfeat-xrc
verbs_tests = tests/integration/query.sh tests/integration/unsupported.sh \
	tests/integration/nodaemon.sh tests/integration/rdmab-run.sh \
	tests/integration/rpc-spin.sh tests/integration/stack-semantics.sh \
	tests/integration/softfeat-timestamps.sh \
	tests/integration/softfeat-atomic-write.sh \
	tests/integration/softfeat-flush.sh tests/integration/softfeat-mw.sh \
	tests/integration/softfeat-xrc.sh
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
check_LTLIBRARIES += tests/integration/libsoftfeat.la
tests_integration_libsoftfeat_la_SOURCES = tests/integration/softfeat-lib.c \
	tests/integration/softfeat-lib.h
tests_integration_libsoftfeat_la_CFLAGS = $(data_test_cflags)
softfeat_ldadd = tests/integration/libsoftfeat.la $(data_test_ldadd)
tests_integration_softfeat_timestamps_SOURCES = tests/integration/softfeat-timestamps.c
tests_integration_softfeat_timestamps_CFLAGS = $(data_test_cflags)
tests_integration_softfeat_timestamps_LDADD = $(softfeat_ldadd)
tests_integration_softfeat_atomic_write_SOURCES = tests/integration/softfeat-atomic-write.c
tests_integration_softfeat_atomic_write_CFLAGS = $(data_test_cflags)
tests_integration_softfeat_atomic_write_LDADD = $(softfeat_ldadd)
tests_integration_softfeat_flush_SOURCES = tests/integration/softfeat-flush.c
tests_integration_softfeat_flush_CFLAGS = $(data_test_cflags)
tests_integration_softfeat_flush_LDADD = $(softfeat_ldadd)
tests_integration_softfeat_mw_SOURCES = tests/integration/softfeat-mw.c
tests_integration_softfeat_mw_CFLAGS = $(data_test_cflags)
tests_integration_softfeat_mw_LDADD = $(softfeat_ldadd)
tests_integration_softfeat_xrc_SOURCES = tests/integration/softfeat-xrc.c
tests_integration_softfeat_xrc_CFLAGS = $(data_test_cflags)
tests_integration_softfeat_xrc_LDADD = $(softfeat_ldadd)
