# Issue 13: per-user limits of CM ids and event channels.
check_PROGRAMS += tests/hostile/cm-limit
tests_hostile_cm_limit_SOURCES = tests/hostile/cm-limit.c
tests_hostile_cm_limit_CFLAGS = $(cm_test_cflags)
tests_hostile_cm_limit_LDADD = $(cm_test_ldadd)
TESTS += tests/hostile/cm-limit.sh
EXTRA_DIST += tests/hostile/cm-limit.sh
