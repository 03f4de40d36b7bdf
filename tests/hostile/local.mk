# tests/hostile/: attackers and robustness.
#   ctl, ctl-fuzz    hostile clients on the control socket: out-of-range
#                    values, SCM_RIGHTS abuse, a client that never reads,
#                    connection storms, the fd limit; `ctl fuzz` a mutation
#                    fuzzer
#   robust           broken peers: wrong versions, garbage, oversized
#                    datagrams, unexpected fds
#   rings, scribble  rings written by hand and at random (they reach into
#                    libclient/client.h)
#   mr               shrinking and punching the memfd behind registered memory
#   crash-loop(-valgrind), restart
#                    clients SIGKILLed at random points (and with the daemon
#                    under valgrind); the daemon SIGKILLed, restarted and
#                    SIGTERMed under load.  RB_SOAK_ITERS and
#                    RB_SOAK_RESTARTS make them soaks.
check_PROGRAMS += tests/hostile/ctl tests/hostile/robust tests/hostile/rings \
	tests/hostile/scribble tests/hostile/mr tests/hostile/crash-loop \
	tests/hostile/restart
hostile_tests = tests/hostile/ctl.sh tests/hostile/ctl-fuzz.sh \
	tests/hostile/robust.sh tests/hostile/rings.sh tests/hostile/scribble.sh \
	tests/hostile/mr.sh tests/hostile/crash-loop.sh \
	tests/hostile/crash-loop-valgrind.sh tests/hostile/restart.sh
TESTS += $(hostile_tests)
EXTRA_DIST += $(hostile_tests)

tests_hostile_ctl_SOURCES = tests/hostile/ctl.c
tests_hostile_ctl_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(IBVERBS_CFLAGS)
tests_hostile_ctl_LDADD = proto/libproto.la $(PROTOBUF_C_LIBS)
tests_hostile_robust_SOURCES = tests/hostile/robust.c
tests_hostile_robust_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_hostile_robust_LDADD = proto/libproto.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS)
tests_hostile_rings_SOURCES = tests/hostile/rings.c
tests_hostile_rings_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_hostile_rings_LDADD = $(data_test_ldadd)
tests_hostile_scribble_SOURCES = tests/hostile/scribble.c
tests_hostile_scribble_CFLAGS = $(data_test_cflags) $(PROTOBUF_C_CFLAGS)
tests_hostile_scribble_LDADD = $(data_test_ldadd)
tests_hostile_mr_SOURCES = tests/hostile/mr.c
tests_hostile_mr_CFLAGS = $(data_test_cflags)
tests_hostile_mr_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_hostile_mr_LDADD = $(data_test_ldadd)
tests_hostile_crash_loop_SOURCES = tests/hostile/crash-loop.c
tests_hostile_crash_loop_CFLAGS = $(data_test_cflags)
tests_hostile_crash_loop_LDADD = $(data_test_ldadd)
tests_hostile_restart_SOURCES = tests/hostile/restart.c
tests_hostile_restart_CFLAGS = $(data_test_cflags)
tests_hostile_restart_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_hostile_restart_LDADD = $(data_test_ldadd)
