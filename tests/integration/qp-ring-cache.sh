#!/bin/sh
# Kept QP rings (tests/integration/qp-ring-cache.c), which RDMABROKER_QP_RING_CACHE
# turns on (tests/integration/qp.c checks that by default a destroy unmaps and
# closes everything), through the real daemon and library: reuse with fds and mappings flat over 1,000 cycles, data on
# reused RC and UD rings, scribbles over kept rings, no sharing between
# connections, both sides in step, threads, and nothing left after a
# close or a crash.  The daemon must log no fault and hold, at the end,
# what it held at the start.
. "$top_srcdir/tests/lib/lib.sh"

rb_daemon_start
fds0=$(rb_fd_count "$RB_DAEMON_PID")
rings() { grep -c '/memfd:rdmabroker-ring' "/proc/$RB_DAEMON_PID/maps"; }
rings0=$(rings)
RDMABROKER_QP_RING_CACHE=16 RB_QPRING_DAEMON=$RB_DAEMON_PID "$top_builddir/tests/integration/qp-ring-cache" ||
	rb_fail "qp-ring-cache reported failures"
rb_daemon_alive || rb_fail "the daemon died"
if grep -E 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error|SIGSEGV|SIGBUS' "$RB_LOG" >&2; then
	rb_fail "the daemon reported a fault (above)"
fi
left=$("$RB_RDMACTL" -j res show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$left" = 0 ] || rb_fail "the daemon still holds $left objects"
rb_wait_daemon_fds_le "$fds0" || rb_fail "daemon fds: $fds0 before, $(rb_fd_count "$RB_DAEMON_PID") after"
[ "$(rings)" -eq "$rings0" ] || rb_fail "daemon ring maps: $rings0 before, $(rings) after"
rb_daemon_stop
rb_pass
