# Tests of librdmabroker and rdmab-run.  The C tests link -lrdmabroker
# (never the real libibverbs) and use the installed <infiniband/verbs.h>.
client_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS)
client_test_ldadd = tests/libclienttest.la libclient/librdmabroker.la $(CMOCKA_LIBS)

# Helpers shared by the client tests.
check_LTLIBRARIES += tests/libclienttest.la
tests_libclienttest_la_SOURCES = tests/clienttest.c tests/clienttest.h
tests_libclienttest_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_libclienttest_la_LIBADD = libclient/librdmabroker.la

check_PROGRAMS += tests/client-helpers tests/client-query \
	tests/client-unsupported tests/client-nodaemon
tests_client_helpers_SOURCES = tests/client-helpers.c
tests_client_helpers_CFLAGS = $(client_test_cflags)
tests_client_helpers_LDADD = $(client_test_ldadd)
tests_client_query_SOURCES = tests/client-query.c
tests_client_query_CFLAGS = $(client_test_cflags)
tests_client_query_LDADD = $(client_test_ldadd)
tests_client_unsupported_SOURCES = tests/client-unsupported.c
tests_client_unsupported_CFLAGS = $(client_test_cflags)
tests_client_unsupported_LDADD = $(client_test_ldadd)
tests_client_nodaemon_SOURCES = tests/client-nodaemon.c
tests_client_nodaemon_CFLAGS = $(client_test_cflags)
tests_client_nodaemon_LDADD = $(client_test_ldadd)

client_shell_tests = tests/client-abi.sh tests/client-query.sh \
	tests/client-unsupported.sh tests/client-nodaemon.sh \
	tests/client-devinfo.sh tests/client-rdmab-run.sh tests/rpc-spin.sh
TESTS += tests/client-helpers $(client_shell_tests)
EXTRA_DIST += $(client_shell_tests)

# Objects: the registry through the protocol and through the verbs.
check_PROGRAMS += tests/daemon-res tests/client-pd
tests_daemon_res_SOURCES = tests/daemon-res.c
tests_daemon_res_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_daemon_res_LDADD = proto/libproto.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS)
tests_client_pd_SOURCES = tests/client-pd.c
tests_client_pd_CFLAGS = $(client_test_cflags)
tests_client_pd_LDADD = $(client_test_ldadd)
TESTS += tests/res-pd.sh
EXTRA_DIST += tests/res-pd.sh

check_PROGRAMS += tests/client-cq
tests_client_cq_SOURCES = tests/client-cq.c
tests_client_cq_CFLAGS = $(client_test_cflags)
tests_client_cq_LDADD = $(client_test_ldadd)
TESTS += tests/res-cq.sh
EXTRA_DIST += tests/res-cq.sh

check_PROGRAMS += tests/client-qp
tests_client_qp_SOURCES = tests/client-qp.c
tests_client_qp_CFLAGS = $(client_test_cflags)
tests_client_qp_LDADD = $(client_test_ldadd)
TESTS += tests/res-qp.sh
EXTRA_DIST += tests/res-qp.sh

check_PROGRAMS += tests/client-srq-ah
tests_client_srq_ah_SOURCES = tests/client-srq-ah.c
tests_client_srq_ah_CFLAGS = $(client_test_cflags)
tests_client_srq_ah_LDADD = $(client_test_ldadd)
TESTS += tests/res-srq-ah.sh
EXTRA_DIST += tests/res-srq-ah.sh

check_PROGRAMS += tests/client-mr
tests_client_mr_SOURCES = tests/client-mr.c
tests_client_mr_CFLAGS = $(client_test_cflags)
tests_client_mr_LDADD = $(client_test_ldadd)
TESTS += tests/res-mr.sh
EXTRA_DIST += tests/res-mr.sh

check_PROGRAMS += tests/client-async
tests_client_async_SOURCES = tests/client-async.c
tests_client_async_CFLAGS = $(client_test_cflags)
tests_client_async_LDADD = $(client_test_ldadd)
TESTS += tests/res-async.sh
EXTRA_DIST += tests/res-async.sh
