# Tests of rdmactl/ (the CLI) against a private daemon.
check_PROGRAMS += tests/rdmactl-holder
tests_rdmactl_holder_SOURCES = tests/rdmactl-holder.c
tests_rdmactl_holder_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_rdmactl_holder_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)

TESTS += tests/rdmactl-cli.sh tests/rdmactl-dev.sh tests/rdmactl-client.sh \
	tests/rdmactl-devinfo.sh tests/rdmactl-limits.sh
EXTRA_DIST += tests/rdmactl-cli.sh tests/rdmactl-dev.sh tests/rdmactl-client.sh \
	tests/rdmactl-devinfo.sh tests/rdmactl-limits.sh
