#!/bin/sh
# The fast registration path (tests/integration/mr-fast.c), with PROCMAP_QUERY and
# with the text of /proc/self/maps (the ioctl filtered out, as on an older
# kernel): then the daemon holds no more fds than before, lists no object
# and logged no error.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\nmrs = 0\npinned_bytes = 0\n' > "$RB_CONF"
rb_daemon_start
export RB_DAEMON_PID
fds0=$(rb_fd_count "$RB_DAEMON_PID")
for mode in query text; do
	"$top_builddir/tests/integration/mr-fast" "$mode" || rb_fail "mr-fast $mode reported failures"
	rb_daemon_alive || rb_fail "the daemon died ($mode)"
	rb_wait_daemon_fds_le "$fds0" ||
		rb_fail "daemon fds $fds0 -> $(rb_fd_count "$RB_DAEMON_PID") after mr-fast $mode"
	res=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl res failed"
	[ "$res" = "[]" ] || rb_fail "objects left after mr-fast $mode: $res"
done
if grep -E '^<[0-3]>' "$RB_LOG" >&2; then
	rb_fail "the daemon logged errors (above)"
fi
rb_daemon_stop
rb_pass
