# Tests of issue 16 part 4: verbs features of the soft device
# (completion timestamps, ATOMIC_WRITE, FLUSH, memory windows), through a
# real daemon.
check_PROGRAMS += tests/softfeat
tests_softfeat_SOURCES = tests/softfeat.c
tests_softfeat_CFLAGS = $(data_test_cflags)
tests_softfeat_LDADD = $(data_test_ldadd)
TESTS += tests/softfeat.sh
EXTRA_DIST += tests/softfeat.sh
