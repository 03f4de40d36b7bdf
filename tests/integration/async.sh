#!/bin/sh
# IBV_EVENT_DEVICE_FATAL on the async fd when the daemon stops (SIGTERM:
# it says so) or dies (SIGKILL: end of file); tests/integration/async.c.
. "$top_srcdir/tests/lib/lib.sh"

for sig in 15 9; do
	: > "$RB_LOG"
	rb_daemon_start
	RB_KILL_SIGNAL=$sig RB_DAEMON_PID=$RB_DAEMON_PID "$top_builddir/tests/integration/async" ||
		rb_fail "client-async with signal $sig reported failures"
	wait "$RB_DAEMON_PID"; rc=$?
	RB_DAEMON_PID=
	if [ "$sig" = 15 ]; then
		[ "$rc" -eq 0 ] || rb_fail "daemon exited $rc after SIGTERM"
	else
		[ "$rc" -eq 137 ] || rb_fail "daemon exited $rc after SIGKILL"
		rm -f "$RB_SOCK"
	fi
done
rb_pass
