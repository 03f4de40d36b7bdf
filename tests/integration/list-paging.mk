# tests/integration/list-paging: 10,000 PDs and 1,000 connections listed
# exactly once, page by page under churn, and by rdmactl.
check_PROGRAMS += tests/integration/list-paging
tests_integration_list_paging_SOURCES = tests/integration/list-paging.c
tests_integration_list_paging_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_integration_list_paging_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/integration/list-paging.sh
EXTRA_DIST += tests/integration/list-paging.sh
