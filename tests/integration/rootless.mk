# tests/integration/rootless.mk: unmodified verbs programs in unprivileged
# containers that get only the daemon's socket; rootless-regmr is a plain
# -libverbs program they run.  The package build and the systemd
# container test are not make check tests: scripts/check.sh runs them once
# (scripts/pkg-check.sh), from the packages, not from a build tree.
check_PROGRAMS += tests/integration/rootless-regmr
tests_integration_rootless_regmr_SOURCES = tests/integration/rootless-regmr.c
tests_integration_rootless_regmr_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_integration_rootless_regmr_LDADD = $(IBVERBS_LIBS)
TESTS += tests/integration/rootless.sh
EXTRA_DIST += tests/integration/rootless.sh
