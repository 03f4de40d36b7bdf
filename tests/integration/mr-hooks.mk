# tests/integration/mr-hooks.mk: registration in a program that hooks its
# own mmap and mremap (UCX's ucm), with UCX's rendezvous READs.
check_PROGRAMS += tests/integration/mr-hooks
tests_integration_mr_hooks_SOURCES = tests/integration/mr-hooks.c
tests_integration_mr_hooks_CFLAGS = $(data_test_cflags)
tests_integration_mr_hooks_LDADD = $(data_ldadd)
# The hooks must be what the library calls: exported, as a preload would be.
tests_integration_mr_hooks_LDFLAGS = -export-dynamic
TESTS += tests/integration/mr-hooks.sh
EXTRA_DIST += tests/integration/mr-hooks.sh
