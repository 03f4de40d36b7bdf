# tests/integration/data.mk: the data path through a real daemon (data),
# its error semantics (dataerr), the idle daemon's CPU use (dataerr-idle,
# with `dataerr hold idle`), and data, dataerr and hostile/rings with the
# daemon under valgrind (data-valgrind).
check_PROGRAMS += tests/integration/data tests/integration/dataerr
data_tests = tests/integration/data.sh tests/integration/dataerr.sh \
	tests/integration/dataerr-idle.sh tests/integration/data-valgrind.sh
TESTS += $(data_tests)
EXTRA_DIST += $(data_tests)

tests_integration_data_SOURCES = tests/integration/data.c
tests_integration_data_CFLAGS = $(data_test_cflags)
tests_integration_data_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_LDADD = $(data_test_ldadd)
tests_integration_dataerr_SOURCES = tests/integration/dataerr.c
tests_integration_dataerr_CFLAGS = $(client_test_cflags)
tests_integration_dataerr_LDADD = $(client_test_ldadd)
