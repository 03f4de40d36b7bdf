# tests/dataerr.mk: error semantics of the data path (tests/client-dataerr.c
# through tests/client-dataerr.sh) and the idle daemon's CPU use
# (tests/data-idle.sh, with `client-dataerr hold idle`).
check_PROGRAMS += tests/client-dataerr
tests_client_dataerr_SOURCES = tests/client-dataerr.c
tests_client_dataerr_CFLAGS = $(client_test_cflags)
tests_client_dataerr_LDADD = $(client_test_ldadd)
TESTS += tests/client-dataerr.sh tests/data-idle.sh
EXTRA_DIST += tests/client-dataerr.sh tests/data-idle.sh
