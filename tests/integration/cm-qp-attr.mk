# rdma_create_qp's QPs as ibv_query_qp sees them, created and moved by the
# daemon in one request or by the library one state at a time.
check_PROGRAMS += tests/integration/cm-qp-attr
tests_integration_cm_qp_attr_SOURCES = tests/integration/cm-qp-attr.c
tests_integration_cm_qp_attr_CFLAGS = $(AM_CFLAGS) $(RDMACM_CFLAGS) $(IBVERBS_CFLAGS)
tests_integration_cm_qp_attr_LDADD = libclient/cm/librdmabroker-cm.la \
	libclient/librdmabroker.la
TESTS += tests/integration/cm-qp-attr.sh
EXTRA_DIST += tests/integration/cm-qp-attr.sh
