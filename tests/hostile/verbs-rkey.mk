# tests/hostile/verbs-rkey.mk: issue 12, rkeys stopped by a nested
# broker when the responder is a QP of the same device.
check_PROGRAMS += tests/hostile/verbs-rkey
tests_hostile_verbs_rkey_SOURCES = tests/hostile/verbs-rkey.c
tests_hostile_verbs_rkey_CFLAGS = $(data_test_cflags)
tests_hostile_verbs_rkey_LDADD = $(data_test_ldadd)
TESTS += tests/hostile/verbs-rkey.sh
EXTRA_DIST += tests/hostile/verbs-rkey.sh
