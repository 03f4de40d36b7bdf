# tests/lib/impair: the seeded impaired link (loss, duplication,
# reordering, corruption of UDP 4791) between network namespaces that the
# cross-host tests build; tests/unit/impair.sh checks it.
check_PROGRAMS += tests/lib/impair
tests_lib_impair_SOURCES = tests/lib/impair.c
tests_lib_impair_CFLAGS = $(AM_CFLAGS)
TESTS += tests/unit/impair.sh
EXTRA_DIST += tests/unit/impair.sh
