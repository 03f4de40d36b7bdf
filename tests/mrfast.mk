# The fast registration path of libclient/mr.c: PROCMAP_QUERY and its
# text fallback, every kind of memory, overlapping and repeated regions,
# fork.  See tests/mr-fast.c.
check_PROGRAMS += tests/mr-fast
tests_mr_fast_SOURCES = tests/mr-fast.c
tests_mr_fast_CFLAGS = $(client_test_cflags)
tests_mr_fast_LDADD = $(client_test_ldadd)
TESTS += tests/mr-fast.sh
EXTRA_DIST += tests/mr-fast.sh
