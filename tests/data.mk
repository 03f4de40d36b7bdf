# tests/data.mk: the data path through a real daemon (tests/client-data.sh).
# tests/libdatatest.la holds the helpers every data-path test may share
# (tests/datatest.h): link it with $(data_test_ldadd).
data_test_cflags = $(client_test_cflags) -pthread
data_test_ldadd = tests/libdatatest.la $(client_test_ldadd)

check_LTLIBRARIES += tests/libdatatest.la
tests_libdatatest_la_SOURCES = tests/datatest.c tests/datatest.h
tests_libdatatest_la_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_libdatatest_la_LIBADD = libclient/librdmabroker.la

check_PROGRAMS += tests/client-data
tests_client_data_SOURCES = tests/client-data.c
tests_client_data_CFLAGS = $(data_test_cflags)
tests_client_data_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_client_data_LDADD = $(data_test_ldadd)
TESTS += tests/client-data.sh
EXTRA_DIST += tests/client-data.sh

# A client that writes its rings by hand (it reaches into libclient/client.h).
check_PROGRAMS += tests/client-hostile
tests_client_hostile_SOURCES = tests/client-hostile.c
tests_client_hostile_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_client_hostile_LDADD = $(data_test_ldadd)
TESTS += tests/client-hostile.sh
EXTRA_DIST += tests/client-hostile.sh

# Random writes over a client's shared rings, in children, beside an
# honest pair (it reaches into libclient/client.h).
check_PROGRAMS += tests/client-scribble
tests_client_scribble_SOURCES = tests/client-scribble.c
tests_client_scribble_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_client_scribble_LDADD = $(data_test_ldadd)
TESTS += tests/client-scribble.sh
EXTRA_DIST += tests/client-scribble.sh
