# rdma_create_qp's QPs as ibv_query_qp sees them, created and moved by the
# daemon in one request or by the library one state at a time.
check_PROGRAMS += tests/integration/cm-qp-attr
tests_integration_cm_qp_attr_SOURCES = tests/integration/cm-qp-attr.c
tests_integration_cm_qp_attr_CFLAGS = $(cm_test_cflags)
tests_integration_cm_qp_attr_LDADD = $(cm_test_ldadd)
TESTS += tests/integration/cm-qp-attr.sh
EXTRA_DIST += tests/integration/cm-qp-attr.sh
