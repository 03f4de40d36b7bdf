# Issue 13: the connection manager's events and failures.
check_PROGRAMS += tests/integration/cm-events
tests_integration_cm_events_SOURCES = tests/integration/cm-events.c
tests_integration_cm_events_CFLAGS = $(cm_test_cflags)
tests_integration_cm_events_LDADD = $(cm_test_ldadd)
TESTS += tests/integration/cm-events.sh
EXTRA_DIST += tests/integration/cm-events.sh
