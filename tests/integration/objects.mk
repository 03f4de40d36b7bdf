# tests/integration/objects.mk: the verbs objects through librdmabroker
# and a private daemon (each runner sets the limits its program checks),
# and the registry through the raw protocol.
check_PROGRAMS += tests/integration/pd tests/integration/registry \
	tests/integration/cq tests/integration/qp tests/integration/srq-ah \
	tests/integration/mr tests/integration/async \
	tests/integration/mr-fast tests/integration/qp-ring-cache \
	tests/integration/mr-prefault
objects_tests = tests/integration/pd.sh tests/integration/registry.sh \
	tests/integration/cq.sh \
	tests/integration/qp.sh tests/integration/srq-ah.sh \
	tests/integration/mr.sh tests/integration/async.sh \
	tests/integration/mr-fast.sh tests/integration/qp-ring-cache.sh \
	tests/integration/mr-prefault.sh
TESTS += $(objects_tests)
EXTRA_DIST += $(objects_tests)

tests_integration_pd_SOURCES = tests/integration/pd.c
tests_integration_pd_CFLAGS = $(client_test_cflags)
tests_integration_pd_LDADD = $(client_test_ldadd)
tests_integration_registry_SOURCES = tests/integration/registry.c
tests_integration_registry_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_integration_registry_LDADD = proto/libproto.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS)
tests_integration_cq_SOURCES = tests/integration/cq.c
tests_integration_cq_CFLAGS = $(client_test_cflags)
tests_integration_cq_LDADD = $(client_test_ldadd)
tests_integration_qp_SOURCES = tests/integration/qp.c
tests_integration_qp_CFLAGS = $(client_test_cflags)
tests_integration_qp_LDADD = $(client_test_ldadd)
tests_integration_srq_ah_SOURCES = tests/integration/srq-ah.c
tests_integration_srq_ah_CFLAGS = $(client_test_cflags)
tests_integration_srq_ah_LDADD = $(client_test_ldadd)
tests_integration_mr_SOURCES = tests/integration/mr.c
tests_integration_mr_CFLAGS = $(client_test_cflags)
tests_integration_mr_LDADD = $(client_test_ldadd)
tests_integration_async_SOURCES = tests/integration/async.c
tests_integration_async_CFLAGS = $(client_test_cflags)
tests_integration_async_LDADD = $(client_test_ldadd)

# The fast registration path of libclient/mr.c: PROCMAP_QUERY and its
# text fallback, every kind of memory, overlapping and repeated regions,
# fork.
tests_integration_mr_fast_SOURCES = tests/integration/mr-fast.c
tests_integration_mr_fast_CFLAGS = $(client_test_cflags)
tests_integration_mr_fast_LDADD = $(client_test_ldadd)

# The soft device's regions touched ahead of its first copy, and the
# registration's reply held for it (daemon/mr.c, drivers/prefault.c).
tests_integration_mr_prefault_SOURCES = tests/integration/mr-prefault.c
tests_integration_mr_prefault_CFLAGS = $(client_test_cflags)
tests_integration_mr_prefault_LDADD = $(client_test_ldadd)

# Kept QP rings (daemon/qp.c, libclient/qp.c); it reaches into
# libclient/client.h.
tests_integration_qp_ring_cache_SOURCES = tests/integration/qp-ring-cache.c
tests_integration_qp_ring_cache_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_integration_qp_ring_cache_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_qp_ring_cache_LDADD = $(data_test_ldadd)
