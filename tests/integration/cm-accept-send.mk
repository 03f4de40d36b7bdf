# A SEND posted as rdma_accept returns (the accept not waited for) arrives.
check_PROGRAMS += tests/integration/cm-accept-send
tests_integration_cm_accept_send_SOURCES = tests/integration/cm-accept-send.c
tests_integration_cm_accept_send_CFLAGS = $(cm_test_cflags)
tests_integration_cm_accept_send_LDADD = $(cm_test_ldadd)
TESTS += tests/integration/cm-accept-send.sh
EXTRA_DIST += tests/integration/cm-accept-send.sh
