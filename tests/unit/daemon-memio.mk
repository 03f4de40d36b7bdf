# Issue 12: daemon/ holds no /proc/PID/mem copies (drivers/memio.c does).
TESTS += tests/unit/daemon-memio.sh
unit_tests += tests/unit/daemon-memio.sh
EXTRA_DIST += tests/unit/daemon-memio.sh
