# More than 0x7ffff000 bytes through /proc/PID/mem in one WR (issue 14).
check_PROGRAMS += tests/hostile/cma-large
tests_hostile_cma_large_SOURCES = tests/hostile/cma-large.c
tests_hostile_cma_large_CFLAGS = $(data_test_cflags)
tests_hostile_cma_large_LDADD = $(data_test_ldadd)
TESTS += tests/hostile/cma-large.sh
EXTRA_DIST += tests/hostile/cma-large.sh
