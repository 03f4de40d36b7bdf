# tests/lib/: what several tests share.
#   lib.sh          the shell helpers every runner sources (a private
#                   daemon, logs, skips); pingpong-lib.sh, stack-lib.sh and
#                   ident-lib.sh for the pingpong, software-stack and
#                   identity tests
#   libclienttest   C helpers of the librdmabroker tests (clienttest.h):
#                   link with $(client_test_ldadd)
#   libdatatest     C helpers of the data-path tests (datatest.h): link
#                   with $(data_test_ldadd)
#   libcmtest       C helpers of the connection manager's tests
#                   (cmtest.h): link with $(cm_test_ldadd)
#   rng.h           the tests' seeded random numbers
#   check.h         CHECK() and its counters for tests with no test library
#   nocmocka/       the stand-in for <cmocka.h> when configure finds no
#                   cmocka: the tests that need it skip
#   ident-client    the roles of the identity tests (victim, attacker, ...)
#   rdmactl-holder  a long-lived client over the raw protocol
#   pd-holder       a client holding N PDs (`pd-holder hold N`)
#   roce-lib.sh     the cross-host tests' namespaces, daemons and GIDs
#   tenant-lib.sh   other users' WRITE streams and the per-user counters
#                   (sched-share, verbs-sched, tenant-stat)
#   nest-lib.sh     a broker nested in another, the verbs driver's test
#                   bed (verbs-nest, verbs-sched, verbs-rkey)
#   impair          a seeded impaired link between network namespaces
#                   (impair.mk; loss, duplication, reordering, corruption
#                   of UDP 4791) for the cross-host tests
EXTRA_DIST += tests/README.md tests/lib/lib.sh tests/lib/pingpong-lib.sh \
	tests/lib/stack-lib.sh tests/lib/ident-lib.sh tests/lib/roce-lib.sh tests/lib/tenant-lib.sh tests/lib/rng.h tests/lib/check.h \
	tests/lib/nest-lib.sh \
	tests/lib/nocmocka/cmocka.h

# The C tests of librdmabroker link -lrdmabroker (never the real
# libibverbs) and use the installed <infiniband/verbs.h>.
client_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(IBVERBS_CFLAGS)
client_test_ldadd = tests/lib/libclienttest.la libclient/librdmabroker.la $(CMOCKA_LIBS)
data_test_cflags = $(client_test_cflags) -pthread
data_test_ldadd = tests/lib/libdatatest.la $(client_test_ldadd)
# ... and those of the connection manager -lrdmabroker-cm (never the
# real librdmacm) with the installed <rdma/rdma_cma.h>.
cm_test_cflags = $(AM_CFLAGS) $(RDMACM_CFLAGS) $(IBVERBS_CFLAGS)
cm_test_ldadd = tests/lib/libcmtest.la libclient/cm/librdmabroker-cm.la \
	libclient/librdmabroker.la

check_LTLIBRARIES += tests/lib/libclienttest.la tests/lib/libdatatest.la
tests_lib_libclienttest_la_SOURCES = tests/lib/clienttest.c tests/lib/clienttest.h
tests_lib_libclienttest_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_lib_libclienttest_la_LIBADD = libclient/librdmabroker.la
tests_lib_libdatatest_la_SOURCES = tests/lib/datatest.c tests/lib/datatest.h
tests_lib_libdatatest_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_lib_libdatatest_la_LIBADD = libclient/librdmabroker.la
check_LTLIBRARIES += tests/lib/libcmtest.la
tests_lib_libcmtest_la_SOURCES = tests/lib/cmtest.c tests/lib/cmtest.h
tests_lib_libcmtest_la_CFLAGS = $(cm_test_cflags)
tests_lib_libcmtest_la_LIBADD = libclient/cm/librdmabroker-cm.la

check_PROGRAMS += tests/lib/ident-client
tests_lib_ident_client_SOURCES = tests/lib/ident-client.c
tests_lib_ident_client_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_lib_ident_client_LDADD = $(data_test_ldadd) proto/libproto.la $(PROTOBUF_C_LIBS)

check_PROGRAMS += tests/lib/rdmactl-holder
tests_lib_rdmactl_holder_SOURCES = tests/lib/rdmactl-holder.c
tests_lib_rdmactl_holder_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_lib_rdmactl_holder_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)

check_PROGRAMS += tests/lib/pd-holder
tests_lib_pd_holder_SOURCES = tests/lib/pd-holder.c
tests_lib_pd_holder_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_lib_pd_holder_LDADD = tests/lib/libclienttest.la libclient/librdmabroker.la
