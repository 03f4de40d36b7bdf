# Bounded memory (issue 14): one user creates CQs and QPs up to its
# `memory` limit; the daemon's RSS stays under it plus a constant.
check_PROGRAMS += tests/hostile/mem-limit
tests_hostile_mem_limit_SOURCES = tests/hostile/mem-limit.c
tests_hostile_mem_limit_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_hostile_mem_limit_LDADD = libclient/librdmabroker.la
TESTS += tests/hostile/mem-limit.sh
EXTRA_DIST += tests/hostile/mem-limit.sh
