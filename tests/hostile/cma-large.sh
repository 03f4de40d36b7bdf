#!/bin/sh
# A transfer of more than 0x7ffff000 bytes through /proc/PID/mem (issue
# 14): a 2 GiB RDMA WRITE into a CMA region (tests/hostile/cma-large.c).
. "$top_srcdir/tests/lib/lib.sh"

avail=$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)
[ "$avail" -ge 8 ] || rb_skip "needs 8 GiB of free memory ($avail GiB available)"
shm=$(df --output=fstype /dev/shm 2>/dev/null | tail -1)
[ "$shm" = tmpfs ] || rb_skip "/dev/shm is not a tmpfs"
printf '[daemon]\nlog_level = info\n[limits]\npinned_bytes = 8G\n' > "$RB_CONF"
rb_daemon_start
"$top_builddir/tests/hostile/cma-large" "/dev/shm/rbtest-cma-large.$$" ||
	rb_fail "the 2 GiB transfer into a CMA region failed"
rb_daemon_stop
rb_pass
