# tests/integration/verbs-sched.mk: the verbs driver's fair share of its
# device (weights, caps, a stuck user) and its per-client counters, by
# nesting; verbs-sched-stuck is its client whose sends never complete.
check_PROGRAMS += tests/integration/verbs-sched-stuck
tests_integration_verbs_sched_stuck_SOURCES = tests/integration/verbs-sched-stuck.c
tests_integration_verbs_sched_stuck_CFLAGS = $(data_test_cflags)
tests_integration_verbs_sched_stuck_LDADD = $(data_test_ldadd)
TESTS += tests/integration/verbs-sched.sh
EXTRA_DIST += tests/integration/verbs-sched.sh
