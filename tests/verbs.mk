# tests/verbs.mk: the verbs pass-through driver, by nesting one broker in
# another (tests/verbs-nest.sh).
check_PROGRAMS += tests/verbs-mixed tests/verbs-holder
tests_verbs_mixed_SOURCES = tests/verbs-mixed.c
tests_verbs_mixed_CFLAGS = $(data_test_cflags)
tests_verbs_mixed_LDADD = $(data_test_ldadd)
tests_verbs_holder_SOURCES = tests/verbs-holder.c
tests_verbs_holder_CFLAGS = $(client_test_cflags)
tests_verbs_holder_LDADD = $(client_test_ldadd)
TESTS += tests/verbs-nest.sh
EXTRA_DIST += tests/verbs-nest.sh
