# Hostile clients on the control socket (issue 6): a mutation fuzzer,
# out-of-range values, SCM_RIGHTS abuse, a client that never reads,
# connection storms, the daemon at its fd limit.  See tests/hostile-ctl.c.
check_PROGRAMS += tests/hostile-ctl
tests_hostile_ctl_SOURCES = tests/hostile-ctl.c
tests_hostile_ctl_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(IBVERBS_CFLAGS)
tests_hostile_ctl_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
TESTS += tests/hostile-ctl.sh tests/hostile-fuzz.sh
EXTRA_DIST += tests/hostile-ctl.sh tests/hostile-fuzz.sh

# Shrinking and punching the memfd behind registered memory (data path).
check_PROGRAMS += tests/hostile-mr
tests_hostile_mr_SOURCES = tests/hostile-mr.c
tests_hostile_mr_CFLAGS = $(data_test_cflags)
tests_hostile_mr_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_hostile_mr_LDADD = $(data_test_ldadd)
TESTS += tests/hostile-mr.sh
EXTRA_DIST += tests/hostile-mr.sh
