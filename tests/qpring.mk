# tests/qpring.mk: kept QP rings (daemon/qp.c, libclient/qp.c): reuse,
# data on reused rings, scribbles over kept rings, threads, and cleanup at
# close and at a crash (tests/qp-ring-cache.sh; it reaches into
# libclient/client.h).
check_PROGRAMS += tests/qp-ring-cache
tests_qp_ring_cache_SOURCES = tests/qp-ring-cache.c
tests_qp_ring_cache_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_qp_ring_cache_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_qp_ring_cache_LDADD = $(data_test_ldadd)
TESTS += tests/qp-ring-cache.sh
EXTRA_DIST += tests/qp-ring-cache.sh
