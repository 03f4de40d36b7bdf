#!/bin/sh
# Hostile and broken peers on the control socket (tests/hostile/robust.c).
. "$top_srcdir/tests/lib/lib.sh"

# Unlimited connections per user: the storm opens 200 at once.
printf '[daemon]\nlog_level = debug\n[limits]\nconnections = 0\n' > "$RB_CONF"
rb_daemon_start
RB_DAEMON_PID=$RB_DAEMON_PID; export RB_DAEMON_PID
"$top_builddir/tests/hostile/robust" ||
	rb_fail "daemon-robust reported failures"
rb_daemon_alive || rb_fail "daemon died"
grep -q 'protocol version .* not supported' "$RB_LOG" ||
	rb_fail "no log line for the refused protocol version"
grep -q 'bad datagram' "$RB_LOG" || rb_fail "no log line for garbage"
rb_daemon_stop
rb_pass
