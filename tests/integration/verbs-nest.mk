# tests/integration/verbs-nest.mk: the verbs pass-through driver, by
# nesting one broker in another; verbs-nest-mixed and verbs-nest-holder
# are its clients.
check_PROGRAMS += tests/integration/verbs-nest-mixed \
	tests/integration/verbs-nest-holder
tests_integration_verbs_nest_mixed_SOURCES = tests/integration/verbs-nest-mixed.c
tests_integration_verbs_nest_mixed_CFLAGS = $(data_test_cflags)
tests_integration_verbs_nest_mixed_LDADD = $(data_test_ldadd)
tests_integration_verbs_nest_holder_SOURCES = tests/integration/verbs-nest-holder.c
tests_integration_verbs_nest_holder_CFLAGS = $(client_test_cflags)
tests_integration_verbs_nest_holder_LDADD = $(client_test_ldadd)
TESTS += tests/integration/verbs-nest.sh tests/integration/verbs-nest-cpu.sh
EXTRA_DIST += tests/integration/verbs-nest.sh tests/integration/verbs-nest-cpu.sh
