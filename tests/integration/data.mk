# tests/integration/data.mk: the data path through a real daemon (data-*:
# RC opcodes, work request features, UC and UD, SRQ, completions, threads,
# the ibv_wr_* API; sharing data-lib.[ch]),
# its error semantics (dataerr-status, -retry, -flush and -procs, sharing
# dataerr-lib.[ch]), the idle daemon's CPU use (idle), and the data and
# error tests and hostile/rings with the daemon under valgrind
# (data-valgrind).
dataerr_programs = tests/integration/dataerr-status \
	tests/integration/dataerr-retry tests/integration/dataerr-flush \
	tests/integration/dataerr-procs
data_programs = tests/integration/data-rc tests/integration/data-wr \
	tests/integration/data-uc-ud tests/integration/data-srq \
	tests/integration/data-cq tests/integration/data-threads \
	tests/integration/data-wr-api tests/integration/cq-sleep \
	tests/integration/engine-signs
check_PROGRAMS += $(data_programs) $(dataerr_programs) \
	tests/integration/idle
data_tests = tests/integration/data-rc.sh tests/integration/data-wr.sh \
	tests/integration/data-uc-ud.sh tests/integration/data-srq.sh \
	tests/integration/data-cq.sh tests/integration/data-threads.sh \
	tests/integration/data-wr-api.sh tests/integration/dataerr-status.sh \
	tests/integration/dataerr-retry.sh tests/integration/dataerr-flush.sh \
	tests/integration/dataerr-procs.sh tests/integration/idle.sh \
	tests/integration/data-valgrind.sh tests/integration/cq-sleep.sh \
	tests/integration/poll-yield.sh tests/integration/poll-move.sh \
	tests/integration/engine-signs.sh tests/integration/stream-share.sh
TESTS += $(data_tests)
EXTRA_DIST += $(data_tests)
# rb_cpu_lock's lock file (tests/lib/lib.sh)
CLEANFILES += tests/.cpu-lock

check_LTLIBRARIES += tests/integration/libdata.la
tests_integration_libdata_la_SOURCES = tests/integration/data-lib.c \
	tests/integration/data-lib.h
tests_integration_libdata_la_CFLAGS = $(data_test_cflags)
data_ldadd = tests/integration/libdata.la $(data_test_ldadd)
tests_integration_data_rc_SOURCES = tests/integration/data-rc.c
tests_integration_data_rc_CFLAGS = $(data_test_cflags)
tests_integration_data_rc_LDADD = $(data_ldadd)
tests_integration_data_rc_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_wr_SOURCES = tests/integration/data-wr.c
tests_integration_data_wr_CFLAGS = $(data_test_cflags)
tests_integration_data_wr_LDADD = $(data_ldadd)
tests_integration_data_wr_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_uc_ud_SOURCES = tests/integration/data-uc-ud.c
tests_integration_data_uc_ud_CFLAGS = $(data_test_cflags)
tests_integration_data_uc_ud_LDADD = $(data_ldadd)
tests_integration_data_uc_ud_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_srq_SOURCES = tests/integration/data-srq.c
tests_integration_data_srq_CFLAGS = $(data_test_cflags)
tests_integration_data_srq_LDADD = $(data_ldadd)
tests_integration_data_srq_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_cq_SOURCES = tests/integration/data-cq.c
tests_integration_data_cq_CFLAGS = $(data_test_cflags)
tests_integration_data_cq_LDADD = $(data_ldadd)
tests_integration_data_cq_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_threads_SOURCES = tests/integration/data-threads.c
tests_integration_data_threads_CFLAGS = $(data_test_cflags)
tests_integration_data_threads_LDADD = $(data_ldadd)
tests_integration_data_threads_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_integration_data_wr_api_SOURCES = tests/integration/data-wr-api.c
tests_integration_data_wr_api_CFLAGS = $(data_test_cflags)
tests_integration_data_wr_api_LDADD = $(data_ldadd)
tests_integration_data_wr_api_LDFLAGS = $(AM_LDFLAGS) -pthread
# A poller asleep on its CQ, woken by the engine (libclient/cq.c, daemon/cq.c).
tests_integration_cq_sleep_SOURCES = tests/integration/cq-sleep.c
tests_integration_cq_sleep_CFLAGS = $(data_test_cflags)
tests_integration_cq_sleep_LDADD = $(data_test_ldadd)
tests_integration_cq_sleep_LDFLAGS = $(AM_LDFLAGS) -pthread
# The engine's sleep and its pollers' CPUs in the CQ ring (proto/shm.h);
# it reaches into librdmabroker's objects for the rings.
tests_integration_engine_signs_SOURCES = tests/integration/engine-signs.c
tests_integration_engine_signs_CFLAGS = $(data_test_cflags)
tests_integration_engine_signs_LDADD = $(data_test_ldadd)
tests_integration_engine_signs_LDFLAGS = $(AM_LDFLAGS) -pthread
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
