# tests/crash.mk: clients SIGKILLed at random points (tests/crash-loop.sh,
# and with the daemon under valgrind), the daemon SIGKILLed, restarted and
# SIGTERMed under load (tests/restart.sh).  RB_SOAK_ITERS and
# RB_SOAK_RESTARTS make them soaks.
check_PROGRAMS += tests/crash-loop tests/restart
tests_crash_loop_SOURCES = tests/crash-loop.c
tests_crash_loop_CFLAGS = $(data_test_cflags)
tests_crash_loop_LDADD = $(data_test_ldadd)
tests_restart_SOURCES = tests/restart.c
tests_restart_CFLAGS = $(data_test_cflags)
tests_restart_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_restart_LDADD = $(data_test_ldadd)
TESTS += tests/crash-loop.sh tests/crash-loop-valgrind.sh tests/restart.sh
EXTRA_DIST += tests/crash-loop.sh tests/crash-loop-valgrind.sh tests/restart.sh
