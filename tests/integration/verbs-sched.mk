# tests/integration/verbs-sched.mk: the verbs driver's fair share of its
# device (weights, caps) and its per-client counters, by nesting.
TESTS += tests/integration/verbs-sched.sh
EXTRA_DIST += tests/integration/verbs-sched.sh
