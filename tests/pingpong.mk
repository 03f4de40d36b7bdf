# tests/pingpong.mk: unmodified rdma-core pingpong examples moving data
# through the broker, the daemon under valgrind doing the same, and the
# short benchmark in a quick mode.
pingpong_shell_tests = tests/data-pingpong.sh tests/data-pingpong-valgrind.sh \
	tests/data-valgrind.sh \
	tests/bench-quick.sh
TESTS += $(pingpong_shell_tests)
EXTRA_DIST += $(pingpong_shell_tests) tests/pingpong-lib.sh
