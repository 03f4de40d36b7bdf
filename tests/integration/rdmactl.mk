# tests/integration/rdmactl.mk: rdmactl/ (the CLI) against a private
# daemon (rdmactl-client.sh holds a client with tests/lib/rdmactl-holder).
rdmactl_tests = tests/integration/rdmactl-cli.sh \
	tests/integration/rdmactl-dev.sh tests/integration/rdmactl-client.sh \
	tests/integration/rdmactl-devinfo.sh tests/integration/rdmactl-limits.sh
TESTS += $(rdmactl_tests)
EXTRA_DIST += $(rdmactl_tests)
