# Issue 13: the connection manager's events and failures.
check_PROGRAMS += tests/integration/cm-events
tests_integration_cm_events_SOURCES = tests/integration/cm-events.c
tests_integration_cm_events_CFLAGS = $(AM_CFLAGS) $(RDMACM_CFLAGS) $(IBVERBS_CFLAGS)
tests_integration_cm_events_LDADD = libclient/cm/librdmabroker-cm.la \
	libclient/librdmabroker.la
TESTS += tests/integration/cm-events.sh
EXTRA_DIST += tests/integration/cm-events.sh
