# tests/hostile/roce-live.sh: hostile packets aimed at a live RC
# connection between two daemons in two network namespaces (root; skips
# without).
check_PROGRAMS += tests/hostile/roce-live
tests_hostile_roce_live_SOURCES = tests/hostile/roce-live.c
tests_hostile_roce_live_CFLAGS = $(data_test_cflags)
tests_hostile_roce_live_LDADD = $(data_test_ldadd)
TESTS += tests/hostile/roce-live.sh
EXTRA_DIST += tests/hostile/roce-live.sh
