# tests/integration/data.mk: the data path through a real daemon (data),
# its error semantics (dataerr-status, -retry, -flush and -procs, sharing
# dataerr-lib.[ch]), the idle daemon's CPU use (idle), and the data and
# error tests and hostile/rings with the daemon under valgrind
# (data-valgrind).
dataerr_programs = tests/integration/dataerr-status \
	tests/integration/dataerr-retry tests/integration/dataerr-flush \
	tests/integration/dataerr-procs
check_PROGRAMS += tests/integration/data $(dataerr_programs) \
	tests/integration/idle
data_tests = tests/integration/data.sh tests/integration/dataerr-status.sh \
	tests/integration/dataerr-retry.sh tests/integration/dataerr-flush.sh \
	tests/integration/dataerr-procs.sh tests/integration/idle.sh \
	tests/integration/data-valgrind.sh
TESTS += $(data_tests)
EXTRA_DIST += $(data_tests)

tests_integration_data_SOURCES = tests/integration/data.c
tests_integration_data_CFLAGS = $(data_test_cflags)
tests_integration_data_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_LDADD = $(data_test_ldadd)
check_LTLIBRARIES += tests/integration/libdataerr.la
tests_integration_libdataerr_la_SOURCES = tests/integration/dataerr-lib.c \
	tests/integration/dataerr-lib.h
tests_integration_libdataerr_la_CFLAGS = $(client_test_cflags)
dataerr_ldadd = tests/integration/libdataerr.la $(client_test_ldadd)
tests_integration_dataerr_status_SOURCES = tests/integration/dataerr-status.c
tests_integration_dataerr_status_CFLAGS = $(client_test_cflags)
tests_integration_dataerr_status_LDADD = $(dataerr_ldadd)
tests_integration_dataerr_retry_SOURCES = tests/integration/dataerr-retry.c
tests_integration_dataerr_retry_CFLAGS = $(client_test_cflags)
tests_integration_dataerr_retry_LDADD = $(dataerr_ldadd)
tests_integration_dataerr_flush_SOURCES = tests/integration/dataerr-flush.c
tests_integration_dataerr_flush_CFLAGS = $(client_test_cflags)
tests_integration_dataerr_flush_LDADD = $(dataerr_ldadd)
tests_integration_dataerr_procs_SOURCES = tests/integration/dataerr-procs.c
tests_integration_dataerr_procs_CFLAGS = $(client_test_cflags)
tests_integration_dataerr_procs_LDADD = $(dataerr_ldadd)
tests_integration_idle_SOURCES = tests/integration/idle.c
tests_integration_idle_CFLAGS = $(client_test_cflags)
tests_integration_idle_LDADD = $(dataerr_ldadd)
