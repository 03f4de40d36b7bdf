# tests/pkg.mk: installable and operable like a real service (issue 19).
# tests/rootless.sh: unmodified verbs programs in unprivileged containers
# that get only the daemon's socket.  The package build and the systemd
# container test are not make check tests: scripts/check.sh runs them once
# (scripts/pkg-check.sh), from the packages, not from a build tree.
check_PROGRAMS += tests/rootless-regmr
tests_rootless_regmr_SOURCES = tests/rootless-regmr.c
tests_rootless_regmr_CFLAGS = $(AM_CFLAGS) $(IBVERBS_CFLAGS)
tests_rootless_regmr_LDADD = $(IBVERBS_LIBS)
TESTS += tests/rootless.sh
EXTRA_DIST += tests/rootless.sh

# The packaging and the scripts that build and test it.
EXTRA_DIST += debian/changelog debian/control debian/copyright debian/rules \
	debian/source/format debian/not-installed debian/README.Debian \
	debian/lintian-notes.md debian/librdmabroker1.symbols \
	debian/rdmabroker.postinst debian/rdmabroker.docs \
	debian/rdmabroker.install debian/librdmabroker1.install \
	debian/librdmabroker-dev.install debian/rdmabroker-tools.install \
	scripts/pkg-build.sh scripts/pkg-systemd.sh scripts/sysroot.sh \
	docs/containers.md
