# tests/integration/systemd.mk: the daemon's life outside systemd, socket
# activation and sd_notify, and the hardened unit (systemd-security needs
# root; it skips without).  The static checks of the units are
# tests/unit/systemd-verify.sh.
systemd_tests = tests/integration/systemd-activate.sh \
	tests/integration/systemd-lifecycle.sh \
	tests/integration/systemd-security.sh
TESTS += $(systemd_tests)
EXTRA_DIST += $(systemd_tests)
