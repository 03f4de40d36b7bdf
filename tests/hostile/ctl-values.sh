#!/bin/sh
# Out-of-range values on the control socket (tests/hostile/ctl-values.c):
# valid protobufs with out-of-range values for each request, other
# clients' handles, QP transitions out of order, requests before the
# handshake, without a device, after the daemon closed the conversation:
# each refused with a reason and a log line.  Afterwards the daemon is
# alive, holds no object and no more fds than before.
. "$top_srcdir/tests/lib/lib.sh"

export RB_LOG
printf '[daemon]\nlog_level = debug\n[limits]\nconnections = 0\n' > "$RB_CONF"
rb_daemon_start
export RB_DAEMON_PID
fds0=$(rb_fd_count "$RB_DAEMON_PID")
"$top_builddir/tests/hostile/ctl-values" || rb_fail "ctl-values"
rb_settled values "$fds0"
grep -q 'disconnecting\|refused' "$RB_LOG" || rb_fail "no refusal logged"
rb_daemon_stop
rb_pass
