# Tests of systemd/ and man/: the units, the example configuration, socket
# activation and sd_notify, the daemon's lifecycle, and the man pages.
rb_systemd_tests = tests/systemd-verify.sh tests/systemd-activate.sh \
	tests/systemd-lifecycle.sh tests/man-lint.sh
TESTS += $(rb_systemd_tests)
EXTRA_DIST += $(rb_systemd_tests)
# Tools found by configure (empty when missing: those tests skip), and the
# version --version must print.
AM_TESTS_ENVIRONMENT += \
	SYSTEMD_ANALYZE='$(SYSTEMD_ANALYZE)'; export SYSTEMD_ANALYZE; \
	SYSTEMD_SOCKET_ACTIVATE='$(SYSTEMD_SOCKET_ACTIVATE)'; export SYSTEMD_SOCKET_ACTIVATE; \
	PYTHON3='$(PYTHON3)'; export PYTHON3; \
	PACKAGE_VERSION='$(PACKAGE_VERSION)'; export PACKAGE_VERSION;
